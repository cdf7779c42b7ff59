/**
 * `flead init grafana`: make Grafana show FLEAD's data, idempotently. Waits (with backoff, up to
 * --wait-seconds) until Grafana's /api/health is ok, then upserts the PostgreSQL datasource (uid
 * flead-postgres), the FLEAD folder and the four dashboards of src/infra/grafana/dashboards.ts. A second run
 * updates what changed and creates nothing twice. Exit codes: 0 done, 1 Grafana unreachable or refusing
 * (with a sentence), 2 bad GRAFANA_* / PG* settings.
 *
 * Environment: GRAFANA_URL, GRAFANA_USER, GRAFANA_PASSWORD, GRAFANA_TOKEN, GRAFANA_PG_HOST
 * (src/infra/grafana/settings.ts), and PGHOST, PGPORT, PGDATABASE, PGUSER, PGPASSWORD, PGSSLMODE for the
 * datasource's connection.
 */
import { isLeft } from 'fp-ts/Either';
import type { Config } from '../config';
import { createLogger, type Logger } from '../infra/log';
import { describePg } from '../infra/db/pg';
import { GrafanaClient, grafanaRetryDefaults, type DashboardOutcome, type RetryPolicy } from '../infra/grafana/client';
import { dashboards, datasourceName, datasourceUid, folder } from '../infra/grafana/dashboards';
import { grafanaDashboard } from '../infra/grafana/dashboard-json';
import { datasourceBody } from '../infra/grafana/provisioning';
import { describeGrafana, grafanaSettingsFromEnv, type GrafanaSettings } from '../infra/grafana/settings';

export interface GrafanaInitResult {
  version: string;
  datasource: 'created' | 'updated' | 'provisioned';
  folder: { uid: string; outcome: 'created' | 'exists' };
  dashboards: Array<{ uid: string; outcome: DashboardOutcome }>;
}

/** Wait for Grafana, then upsert datasource, folder and dashboards. Throws `InfraError`s with a sentence. */
export async function initGrafana(settings: GrafanaSettings, policy: RetryPolicy, log: Logger, env: Record<string, string | undefined> = process.env): Promise<GrafanaInitResult> {
  const client = new GrafanaClient(settings.url, settings.auth, policy, log);
  const version = await client.waitHealthy();
  log.info(`Grafana ${version} at ${settings.url} is healthy`);
  const datasource = await client.upsertDatasource(datasourceBody(settings, env));
  log.info(`datasource "${datasourceName}" (uid ${datasourceUid}) → ${settings.pgHostPort}/${settings.pg.database}: ${datasource}`);
  const f = await client.ensureFolder(folder);
  log.info(`folder "${folder.title}" (uid ${f.uid}): ${f.outcome}`);
  const results: GrafanaInitResult['dashboards'] = [];
  for (const d of dashboards) {
    const outcome = await client.upsertDashboard(grafanaDashboard(d) as { uid: string; title: string }, f.uid);
    log.info(`dashboard "${d.title}" (uid ${d.uid}): ${outcome}`);
    results.push({ uid: d.uid, outcome });
  }
  return { version, datasource, folder: f, dashboards: results };
}

export async function runInitGrafana(values: Record<string, unknown>, config: Config, env: Record<string, string | undefined> = process.env): Promise<number> {
  const settings = grafanaSettingsFromEnv(env);
  if (isLeft(settings)) {
    process.stderr.write(`flead init grafana: configuration error: ${settings.left}\n`);
    return 2;
  }
  const s = settings.right;
  const log = createLogger('init-grafana', config.logLevel);
  const policy: RetryPolicy = { ...grafanaRetryDefaults, waitMs: Number(values['wait-seconds'] ?? 30) * 1000 };
  try {
    const r = await initGrafana(s, policy, log, env);
    const counts = (['created', 'updated', 'unchanged', 'provisioned'] as const)
      .map((o) => [o, r.dashboards.filter((d) => d.outcome === o).length] as const)
      .filter(([, n]) => n > 0)
      .map(([o, n]) => `${n} ${o}`);
    process.stdout.write(`flead init grafana: Grafana ${r.version} at ${describeGrafana(s)}: datasource "${datasourceName}" (uid ${datasourceUid}, ${describePg({ ...s.pg, host: s.pgHostPort.split(':')[0]!, port: Number(s.pgHostPort.split(':')[1]) })}) ${r.datasource}; folder "${folder.title}" ${r.folder.outcome}; ${r.dashboards.length} dashboards: ${counts.join(', ')}\n`);
    return 0;
  } catch (e) {
    process.stderr.write(`flead init grafana: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  }
}
