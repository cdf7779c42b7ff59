/**
 * The compose provisioning files under grafana/ are exactly what src/infra/grafana generates (dashboards
 * defined once, in TypeScript), and the dashboard JSON is well formed for Grafana: unique panel ids, every
 * panel and query variable on the flead-postgres datasource, panels inside the 24-column grid and not
 * overlapping, raw SQL targets.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { provisioningFiles, datasourceBody } from '../../src/infra/grafana/provisioning';
import { dashboards, datasourceUid } from '../../src/infra/grafana/dashboards';
import { grafanaDashboard } from '../../src/infra/grafana/dashboard-json';

const root = path.resolve(__dirname, '../../..');
const regenerate = 'regenerate with: npx tsc -p . && node dist/src/infra/grafana/provisioning.js';

test('the committed grafana/ files equal the generated ones', () => {
  for (const f of provisioningFiles()) {
    const file = path.join(root, f.path);
    assert.ok(existsSync(file), `${f.path} is missing; ${regenerate}`);
    assert.ok(readFileSync(file, 'utf8') === f.content, `${f.path} differs from the generated file; ${regenerate}`);
  }
  const generated = new Set(provisioningFiles().map((f) => f.path));
  const extra = readdirSync(path.join(root, 'grafana/dashboards')).map((n) => `grafana/dashboards/${n}`).filter((p) => !generated.has(p));
  assert.equal(extra, [], 'dashboard files that no definition generates');
});

test('the dashboard JSON is well formed', () => {
  const uids = new Set<string>();
  for (const def of dashboards) {
    const d = grafanaDashboard(def) as { uid: string; id?: unknown; panels: Array<{ id: number; gridPos: { x: number; y: number; w: number; h: number }; datasource: { uid: string }; targets: Array<{ rawQuery: boolean; rawSql: string; datasource: { uid: string } }> }>; templating: { list: Array<{ type: string; datasource?: { uid: string } }> } };
    assert.ok(!uids.has(d.uid) && d.uid.length <= 40, `uid ${d.uid}`);
    uids.add(d.uid);
    assert.is(d.id, undefined);
    assert.equal(d.panels.map((p) => p.id), d.panels.map((_, i) => i + 1));
    const cells = new Set<string>();
    for (const p of d.panels) {
      assert.is(p.datasource.uid, datasourceUid);
      assert.is(p.targets.length, 1);
      assert.ok(p.targets[0]!.rawQuery && p.targets[0]!.rawSql.trim().length > 0);
      assert.is(p.targets[0]!.datasource.uid, datasourceUid);
      const g = p.gridPos;
      assert.ok(g.x >= 0 && g.w > 0 && g.x + g.w <= 24 && g.h > 0, `${def.uid}: panel ${p.id} outside the grid`);
      for (let x = g.x; x < g.x + g.w; x++) for (let y = g.y; y < g.y + g.h; y++) {
        assert.ok(!cells.has(`${x},${y}`), `${def.uid}: panel ${p.id} overlaps another`);
        cells.add(`${x},${y}`);
      }
    }
    for (const v of d.templating.list) if (v.type === 'query') assert.is(v.datasource!.uid, datasourceUid);
  }
  assert.equal([...uids], ['flead-pipeline', 'flead-devices', 'flead-federation', 'flead-analytics']);
});

test('the API datasource and the provisioned one share uid, name and type', () => {
  const api = datasourceBody({ pgHostPort: 'db:5432', pg: { host: 'db', port: 5432, user: 'u', password: undefined, database: 'flead' } }, {});
  assert.equal(api.secureJsonData, {});
  assert.is(api.jsonData.sslmode, 'disable');
  const yaml = provisioningFiles().find((f) => f.path === 'grafana/provisioning/datasources/flead.yaml')!.content;
  for (const v of [api.uid, api.name, api.type]) assert.ok(yaml.includes(`"${v}"`), `${v} in the provisioning file`);
});

test.run();
