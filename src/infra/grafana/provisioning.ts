/**
 * The FLEAD datasource, and the compose provisioning files generated from the same definitions:
 *
 *   grafana/provisioning/datasources/flead.yaml   the datasource (uid flead-postgres) → /etc/grafana/provisioning/datasources
 *   grafana/provisioning/dashboards/flead.yaml    a file provider, folder FLEAD      → /etc/grafana/provisioning/dashboards
 *   grafana/dashboards/<uid>.json                 the dashboards of ./dashboards.ts  → /var/lib/grafana/dashboards/flead
 *
 * The committed files must equal `provisioningFiles()` (test/int/grafana-files.test.ts); after editing a
 * dashboard, regenerate them with `npx tsc -p . && node dist/src/infra/grafana/provisioning.js`.
 *
 * Provisioned objects are read-only in Grafana: `flead init grafana` leaves them as they are, so compose can
 * use the files, the init job, or both.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { dashboards, datasourceName, datasourceType, datasourceUid, folder } from './dashboards';
import { grafanaDashboard } from './dashboard-json';
import type { DatasourceBody } from './client';
import type { GrafanaSettings } from './settings';

/** The database as the compose Grafana container sees it (seed: TimescaleDB service `timescaledb`, flead/password). */
export const composeDatabase = { hostPort: 'timescaledb:5432', database: 'flead', user: 'flead', password: 'password', postgresVersion: 1600, timescaledb: true } as const;

/** Where the compose Grafana container finds the dashboard JSON files (mount grafana/dashboards there). */
export const composeDashboardsPath = '/var/lib/grafana/dashboards/flead';

const jsonData = (database: string, sslmode: string, postgresVersion: number, timescaledb: boolean) => ({
  database,
  sslmode,
  postgresVersion,
  timescaledb,
  maxOpenConns: 10,
  maxIdleConns: 2,
  connMaxLifetime: 14400,
});

/** POST/PUT /api/datasources body for the settings (PGSSLMODE, default disable, becomes jsonData.sslmode). */
export function datasourceBody(settings: Pick<GrafanaSettings, 'pgHostPort' | 'pg'>, env: Record<string, string | undefined> = process.env): DatasourceBody {
  return {
    name: datasourceName,
    uid: datasourceUid,
    type: datasourceType,
    access: 'proxy',
    url: settings.pgHostPort,
    user: settings.pg.user,
    database: settings.pg.database,
    basicAuth: false,
    isDefault: true,
    jsonData: jsonData(settings.pg.database, env.PGSSLMODE || 'disable', 1500, false),
    secureJsonData: settings.pg.password === undefined ? {} : { password: settings.pg.password },
  };
}

type Yaml = string | number | boolean | Yaml[] | { [k: string]: Yaml };

/** A small YAML emitter: block mappings and sequences, scalars as JSON (valid YAML flow scalars). */
function yaml(v: Yaml, indent = ''): string {
  if (Array.isArray(v)) return v.map((item) => `${indent}- ${yaml(item, `${indent}  `).trimStart()}`).join('');
  if (typeof v === 'object') {
    return Object.entries(v).map(([k, x]) => (typeof x === 'object'
      ? `${indent}${k}:\n${yaml(x, `${indent}  `)}`
      : `${indent}${k}: ${JSON.stringify(x)}\n`)).join('');
  }
  return `${indent}${JSON.stringify(v)}\n`;
}

const header = '# Generated from src/infra/grafana/ (provisioning.ts, dashboards.ts): do not edit by hand.\n';

export interface GeneratedFile { path: string; content: string }

/** Every provisioning file, with its path relative to the repository root. */
export function provisioningFiles(): GeneratedFile[] {
  const db = composeDatabase;
  const datasources = header + '# The FLEAD datasource as the compose Grafana container reaches TimescaleDB (docker-compose service "timescaledb").\n' + yaml({
    apiVersion: 1,
    datasources: [{
      name: datasourceName,
      uid: datasourceUid,
      type: datasourceType,
      access: 'proxy',
      url: db.hostPort,
      user: db.user,
      isDefault: true,
      editable: false,
      jsonData: jsonData(db.database, 'disable', db.postgresVersion, db.timescaledb),
      secureJsonData: { password: db.password },
    }],
  });
  const providers = header + `# Mount grafana/dashboards at ${composeDashboardsPath} in the Grafana container.\n` + yaml({
    apiVersion: 1,
    providers: [{
      name: 'flead',
      orgId: 1,
      folder: folder.title,
      folderUid: folder.uid,
      type: 'file',
      disableDeletion: false,
      allowUiUpdates: false,
      updateIntervalSeconds: 30,
      options: { path: composeDashboardsPath, foldersFromFilesStructure: false },
    }],
  });
  return [
    { path: 'grafana/provisioning/datasources/flead.yaml', content: datasources },
    { path: 'grafana/provisioning/dashboards/flead.yaml', content: providers },
    ...dashboards.map((d) => ({ path: `grafana/dashboards/${d.uid}.json`, content: `${JSON.stringify(grafanaDashboard(d), null, 2)}\n` })),
  ];
}

/** Write the files under `root` (the repository root); returns their paths. */
export function writeProvisioning(root: string): string[] {
  return provisioningFiles().map((f) => {
    const target = path.join(root, f.path);
    mkdirSync(path.dirname(target), { recursive: true });
    writeFileSync(target, f.content);
    return f.path;
  });
}

if (require.main === module) {
  const root = process.argv[2] ?? path.resolve(__dirname, '../../../..');
  for (const p of writeProvisioning(root)) process.stdout.write(`wrote ${p}\n`);
}
