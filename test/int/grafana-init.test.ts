/**
 * `flead init grafana` against a fake Grafana (below): node:http on an ephemeral port with in-memory state,
 * implementing the endpoints the client uses as Grafana's HTTP API documents them, including start-up 503s,
 * 409/412 conflicts and 5xx in the middle of a run. The CLI succeeds twice (the second run updates, never
 * duplicates), and fails with exit 1 and a sentence when Grafana never becomes healthy within the budget.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createServer, type IncomingMessage, type ServerResponse, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isLeft } from 'fp-ts/Either';
import { createLogger, silentLogger, type Logger } from '../../src/infra/log';
import { dashboards } from '../../src/infra/grafana/dashboards';
import type { RetryPolicy } from '../../src/infra/grafana/client';
import { grafanaSettingsFromEnv, type GrafanaSettings } from '../../src/infra/grafana/settings';
import { initGrafana } from '../../src/cli/grafana-init';
import { freePort, runFlead } from '../support/procs';

/**
 * The fake Grafana: node:http on an ephemeral port, in-memory state, the endpoints `flead init
 * grafana` uses, answering as Grafana's HTTP API documents them (basic auth admin:admin; 409 for an existing
 * datasource name or uid; 409 for an existing folder title, 412 for an existing folder uid; 412
 * version-mismatch / name-exists for a dashboard saved without overwrite; 403 on updating a read-only
 * datasource; 400 on saving a provisioned dashboard). `startupFailures` requests answer 503 first (Grafana
 * starting); `failNext(method, prefix, n)` makes the next n matching requests answer 502.
 */
interface FakeDatasource { id: number; uid: string; name: string; type: string; url: string; user: string; database: string; readOnly: boolean; isDefault: boolean; jsonData: Record<string, unknown>; secureJsonFields: Record<string, boolean>; version: number }
interface FakeDashboard { id: number; uid: string; version: number; folderUid: string; provisioned: boolean; json: Record<string, unknown> }

interface FakeGrafanaOptions {
  /** this many requests answer 503 before the server works (default 0); Infinity = never healthy */
  startupFailures?: number;
  user?: string;
  password?: string;
  /** listen on this port (default 0 = ephemeral) */
  port?: number;
}

class FakeGrafana {
  readonly datasources = new Map<number, FakeDatasource>();
  readonly folders = new Map<string, { id: number; uid: string; title: string }>();
  readonly dashboards = new Map<string, FakeDashboard>();
  /** every request: method, path, status answered, body received */
  readonly log: Array<{ method: string; path: string; status: number; body: unknown }> = [];
  private nextId = 1;
  private startupLeft: number;
  private failures: Array<{ method: string; prefix: string; left: number }> = [];
  private server: Server | undefined;
  url = '';
  port = 0;

  constructor(private readonly options: FakeGrafanaOptions = {}) {
    this.startupLeft = options.startupFailures ?? 0;
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => { void this.handle(req, res); });
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(this.options.port ?? 0, '127.0.0.1', () => resolve());
    });
    this.port = (this.server.address() as AddressInfo).port;
    this.url = `http://127.0.0.1:${this.port}`;
    return this;
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
  }

  failNext(method: string, prefix: string, count: number): void {
    this.failures.push({ method, prefix, left: count });
  }

  /** Add a datasource as if someone (or provisioning) had created it. */
  seedDatasource(ds: Partial<FakeDatasource> & { name: string; uid: string }): FakeDatasource {
    const full: FakeDatasource = { id: this.nextId++, type: 'postgres', url: 'elsewhere:5432', user: 'someone', database: 'other', readOnly: false, isDefault: false, jsonData: {}, secureJsonFields: {}, version: 1, ...ds };
    this.datasources.set(full.id, full);
    return full;
  }

  seedFolder(uid: string, title: string): void {
    this.folders.set(uid, { id: this.nextId++, uid, title });
  }

  seedDashboard(json: Record<string, unknown> & { uid: string }, folderUid: string, provisioned: boolean): void {
    this.dashboards.set(json.uid, { id: this.nextId++, uid: json.uid, version: 1, folderUid, provisioned, json });
  }

  count(method: string, prefix: string): number {
    return this.log.filter((l) => l.method === method && l.path.startsWith(prefix)).length;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    let body: unknown;
    try { body = raw ? JSON.parse(raw) : undefined; } catch { body = raw; }
    const method = req.method ?? 'GET';
    const url = new URL(req.url ?? '/', 'http://fake');
    const path = url.pathname;
    const send = (status: number, payload: unknown) => {
      this.log.push({ method, path: path + url.search, status, body });
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(payload));
    };
    if (this.startupLeft > 0) {
      this.startupLeft--;
      return send(503, { message: 'Grafana is starting' });
    }
    const failure = this.failures.find((f) => f.left > 0 && f.method === method && path.startsWith(f.prefix));
    if (failure) {
      failure.left--;
      return send(502, { message: 'Bad Gateway' });
    }
    if (path === '/api/health' && method === 'GET') return send(200, { commit: 'fake', database: 'ok', version: '11.0.0' });
    const expected = `Basic ${Buffer.from(`${this.options.user ?? 'admin'}:${this.options.password ?? 'admin'}`).toString('base64')}`;
    if (req.headers.authorization !== expected) return send(401, { message: 'Invalid username or password' });
    try {
      return this.route(method, path, url.searchParams, body as Record<string, unknown> | undefined, send);
    } catch (e) {
      return send(500, { message: (e as Error).message });
    }
  }

  private route(method: string, path: string, _query: URLSearchParams, body: Record<string, unknown> | undefined, send: (status: number, payload: unknown) => void): void {
    const b = body ?? {};
    let m: RegExpExecArray | null;
    // datasources
    if (path === '/api/datasources' && method === 'GET') return send(200, [...this.datasources.values()]);
    if (path === '/api/datasources' && method === 'POST') {
      const name = b.name as string | undefined;
      if (!name || !b.type) return send(400, { message: 'Required fields missing: name, type' });
      const all = [...this.datasources.values()];
      if (all.some((d) => d.name === name)) return send(409, { message: 'data source with the same name already exists' });
      if (b.uid && all.some((d) => d.uid === b.uid)) return send(409, { message: 'data source with the same uid already exists' });
      const ds = this.toDatasource(this.nextId++, b, 1);
      this.datasources.set(ds.id, ds);
      return send(200, { datasource: ds, id: ds.id, message: 'Datasource added', name: ds.name });
    }
    if ((m = /^\/api\/datasources\/name\/([^/]+)$/.exec(path)) && method === 'GET') {
      const ds = [...this.datasources.values()].find((d) => d.name === decodeURIComponent(m![1]!));
      return ds ? send(200, ds) : send(404, { message: 'Data source not found' });
    }
    if ((m = /^\/api\/datasources\/uid\/([^/]+)$/.exec(path)) && method === 'GET') {
      const ds = [...this.datasources.values()].find((d) => d.uid === decodeURIComponent(m![1]!));
      return ds ? send(200, ds) : send(404, { message: 'Data source not found' });
    }
    if ((m = /^\/api\/datasources\/(\d+)$/.exec(path)) && method === 'PUT') {
      const old = this.datasources.get(Number(m[1]));
      if (!old) return send(404, { message: 'Data source not found' });
      if (old.readOnly) return send(403, { message: 'Cannot update read-only data source' });
      if ([...this.datasources.values()].some((d) => d.id !== old.id && d.name === b.name)) return send(409, { message: 'data source with the same name already exists' });
      const ds = this.toDatasource(old.id, { ...b, uid: b.uid ?? old.uid }, old.version + 1, old.secureJsonFields);
      this.datasources.set(ds.id, ds);
      return send(200, { datasource: ds, id: ds.id, message: 'Datasource updated', name: ds.name });
    }
    // folders
    if (path === '/api/folders' && method === 'GET') return send(200, [...this.folders.values()].map(({ id, uid, title }) => ({ id, uid, title })));
    if (path === '/api/folders' && method === 'POST') {
      const title = b.title as string | undefined;
      if (!title) return send(400, { message: 'folder title cannot be empty' });
      if (b.uid && this.folders.has(b.uid as string)) return send(412, { message: 'a folder with the same uid already exists' });
      if ([...this.folders.values()].some((f) => f.title === title)) return send(409, { message: 'a folder or dashboard in the general folder with the same name already exists' });
      const folder = { id: this.nextId++, uid: (b.uid as string) ?? `gen${this.nextId}`, title };
      this.folders.set(folder.uid, folder);
      return send(200, { ...folder, url: `/dashboards/f/${folder.uid}/`, version: 1 });
    }
    if ((m = /^\/api\/folders\/([^/]+)$/.exec(path)) && method === 'GET') {
      const f = this.folders.get(decodeURIComponent(m[1]!));
      return f ? send(200, f) : send(404, { message: 'folder not found' });
    }
    // dashboards
    if ((m = /^\/api\/dashboards\/uid\/([^/]+)$/.exec(path)) && method === 'GET') {
      const d = this.dashboards.get(decodeURIComponent(m[1]!));
      if (!d) return send(404, { message: 'Dashboard not found' });
      return send(200, { dashboard: { ...d.json, id: d.id, uid: d.uid, version: d.version }, meta: { folderUid: d.folderUid, provisioned: d.provisioned, version: d.version, slug: d.uid } });
    }
    if (path === '/api/dashboards/db' && method === 'POST') {
      const dash = b.dashboard as Record<string, unknown> | undefined;
      if (!dash || typeof dash.title !== 'string' || !dash.title) return send(400, { message: 'Dashboard title cannot be empty' });
      const folderUid = (b.folderUid as string | undefined) ?? '';
      if (folderUid && !this.folders.has(folderUid)) return send(400, { message: 'folder not found' });
      const uid = (dash.uid as string | undefined) ?? `gen${this.nextId}`;
      const existing = this.dashboards.get(uid);
      if (existing?.provisioned) return send(400, { message: 'Cannot save provisioned dashboard' });
      if (!b.overwrite) {
        if (existing && dash.version !== existing.version) return send(412, { message: 'The dashboard has been changed by someone else', status: 'version-mismatch' });
        const sameName = [...this.dashboards.values()].find((d) => d.uid !== uid && d.folderUid === folderUid && d.json.title === dash.title);
        if (sameName) return send(412, { message: 'A dashboard with the same name in the folder already exists', status: 'name-exists' });
      }
      const { id: _id, version: _v, ...json } = dash;
      const saved: FakeDashboard = { id: existing?.id ?? this.nextId++, uid, version: (existing?.version ?? 0) + 1, folderUid, provisioned: false, json: { ...json, uid } };
      this.dashboards.set(uid, saved);
      return send(200, { id: saved.id, uid, url: `/d/${uid}/x`, status: 'success', version: saved.version, slug: uid });
    }
    return send(404, { message: `Not found: ${method} ${path}` });
  }

  private toDatasource(id: number, b: Record<string, unknown>, version: number, secure: Record<string, boolean> = {}): FakeDatasource {
    const secureJsonFields = { ...secure };
    for (const k of Object.keys((b.secureJsonData as object | undefined) ?? {})) secureJsonFields[k] = true;
    return {
      id, version, readOnly: false, secureJsonFields,
      uid: (b.uid as string | undefined) ?? `gen${id}`,
      name: b.name as string, type: b.type as string, url: (b.url as string) ?? '', user: (b.user as string) ?? '',
      database: (b.database as string) ?? '', isDefault: Boolean(b.isDefault), jsonData: (b.jsonData as Record<string, unknown>) ?? {},
    };
  }
}

// ---------------------------------------------------------------------------------------------------------
// tests

const test = suite('flead init grafana: idempotent datasource, folder and dashboards through the HTTP API');
const servers: FakeGrafana[] = [];
const fake = async (options: FakeGrafanaOptions = {}) => { const f = await new FakeGrafana(options).start(); servers.push(f); return f; };
const pgEnv = { PGHOST: '10.1.2.3', PGPORT: '5433', PGDATABASE: 'flead_metrics', PGUSER: 'grafana_reader', PGPASSWORD: 's3cret' };
const fast: RetryPolicy = { waitMs: 3000, firstDelayMs: 20, maxDelayMs: 100, requestTimeoutMs: 2000 };

function settingsFor(f: FakeGrafana, extra: Record<string, string> = {}): GrafanaSettings {
  const s = grafanaSettingsFromEnv({ ...pgEnv, GRAFANA_URL: f.url, ...extra });
  if (isLeft(s)) throw new Error(s.left);
  return s.right;
}

function capture(): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  return { log: createLogger('test', 'debug', (l) => lines.push(l)), lines };
}

test.after(async () => {
  for (const s of servers) await s.stop();
});

test('settings: defaults, GRAFANA_PG_HOST, token auth, and a sentence for a bad URL', () => {
  const d = grafanaSettingsFromEnv({});
  assert.ok(!isLeft(d));
  if (!isLeft(d)) {
    assert.is(d.right.url, 'http://127.0.0.1:3001');
    assert.equal(d.right.auth, { kind: 'basic', user: 'admin', password: 'admin' });
    assert.is(d.right.pgHostPort, '127.0.0.1:5432');
  }
  const c = grafanaSettingsFromEnv({ GRAFANA_URL: 'http://grafana:3000/', GRAFANA_PG_HOST: 'timescaledb', GRAFANA_TOKEN: 'glsa_x' });
  assert.ok(!isLeft(c));
  if (!isLeft(c)) {
    assert.is(c.right.url, 'http://grafana:3000');
    assert.is(c.right.pgHostPort, 'timescaledb:5432');
    assert.equal(c.right.auth, { kind: 'token', token: 'glsa_x' });
  }
  const bad = grafanaSettingsFromEnv({ GRAFANA_URL: 'grafana:3000' });
  assert.ok(isLeft(bad) && /GRAFANA_URL must use http or https|GRAFANA_URL must be an absolute/.test(bad.left));
  const bad2 = grafanaSettingsFromEnv({ GRAFANA_PG_HOST: 'a b' });
  assert.ok(isLeft(bad2) && /GRAFANA_PG_HOST must be host or host:port/.test(bad2.left));
});

test('the CLI waits through connection refused and 503s at start-up, then creates datasource, folder and 4 dashboards (exit 0)', async () => {
  const port = await freePort();
  const f = new FakeGrafana({ startupFailures: 3, port });
  servers.push(f);
  const late = setTimeout(() => { void f.start(); }, 700);
  try {
    const r = await runFlead(['init', 'grafana', '--wait-seconds', '20'], { ...pgEnv, GRAFANA_URL: `http://127.0.0.1:${port}`, LOG_LEVEL: 'info' });
    assert.is(r.code, 0, r.stderr);
    assert.match(r.stderr, new RegExp(`Grafana at http://127\\.0\\.0\\.1:${port} is not ready \\(attempt 1\\): connection refused`));
    assert.match(r.stderr, /answered 503 \(Grafana is starting\)/);
    assert.match(r.stdout, /^flead init grafana: Grafana 11\.0\.0 at admin@http:\/\/127\.0\.0\.1:\d+: datasource "FLEAD PostgreSQL" \(uid flead-postgres, grafana_reader@10\.1\.2\.3:5433\/flead_metrics\) created; folder "FLEAD" created; 4 dashboards: 4 created\n$/);
  } finally {
    clearTimeout(late);
  }
  const [ds, ...more] = [...f.datasources.values()];
  assert.is(more.length, 0);
  assert.equal({ uid: ds!.uid, name: ds!.name, type: ds!.type, url: ds!.url, user: ds!.user, database: ds!.database, isDefault: ds!.isDefault, password: ds!.secureJsonFields.password },
    { uid: 'flead-postgres', name: 'FLEAD PostgreSQL', type: 'postgres', url: '10.1.2.3:5433', user: 'grafana_reader', database: 'flead_metrics', isDefault: true, password: true });
  assert.equal(ds!.jsonData.database, 'flead_metrics');
  assert.equal([...f.folders.values()].map((x) => [x.uid, x.title]), [['flead', 'FLEAD']]);
  assert.equal([...f.dashboards.keys()].sort(), dashboards.map((d) => d.uid).sort());
  for (const d of f.dashboards.values()) {
    assert.is(d.folderUid, 'flead');
    assert.is(d.version, 1);
    const panels = d.json.panels as Array<{ datasource: { uid: string }; targets: Array<{ rawSql: string }> }>;
    assert.ok(panels.length >= 4);
    for (const p of panels) assert.is(p.datasource.uid, 'flead-postgres');
  }
  // every save asked to overwrite (Grafana answers 412 to a conflicting save without it)
  for (const l of f.log.filter((x) => x.path === '/api/dashboards/db')) assert.is((l.body as { overwrite: boolean }).overwrite, true);

  // second run: updates the datasource (by id), finds the folder (412), leaves identical dashboards alone
  const again = await runFlead(['init', 'grafana', '--wait-seconds', '5'], { ...pgEnv, GRAFANA_URL: f.url });
  assert.is(again.code, 0, again.stderr);
  assert.match(again.stdout, /datasource "FLEAD PostgreSQL" \(uid flead-postgres, [^)]*\) updated; folder "FLEAD" exists; 4 dashboards: 4 unchanged\n$/);
  assert.is(f.datasources.size, 1);
  assert.is(f.folders.size, 1);
  assert.is(f.dashboards.size, 4);
  assert.is([...f.datasources.values()][0]!.version, 2);
  assert.is(f.count('PUT', '/api/datasources/'), 1);
  assert.ok(f.log.some((l) => l.method === 'POST' && l.path === '/api/folders' && l.status === 412));
  for (const d of f.dashboards.values()) assert.is(d.version, 1);

  // someone edits a dashboard in the UI: the next run puts FLEAD's version back (version 2, same id)
  const edited = f.dashboards.get('flead-analytics')!;
  const id = edited.id;
  f.dashboards.set('flead-analytics', { ...edited, version: 2, json: { ...edited.json, title: 'my analytics' } });
  const third = await runFlead(['init', 'grafana', '--wait-seconds', '5'], { ...pgEnv, GRAFANA_URL: f.url });
  assert.is(third.code, 0, third.stderr);
  assert.match(third.stdout, /4 dashboards: 1 updated, 3 unchanged\n$/);
  const restored = f.dashboards.get('flead-analytics')!;
  assert.equal([restored.id, restored.version, restored.json.title], [id, 3, 'FLEAD — analytics']);
  assert.is(f.dashboards.size, 4);
});

test('an existing datasource with the same name (409) is updated in place; a folder with the same title and another uid (409) is reused', async () => {
  const f = await fake();
  const old = f.seedDatasource({ name: 'FLEAD PostgreSQL', uid: 'flead-postgres', url: 'old-host:5432' });
  f.seedFolder('abc123', 'FLEAD');
  const { log } = capture();
  const r = await initGrafana(settingsFor(f), fast, log, pgEnv);
  assert.is(r.datasource, 'updated');
  assert.equal(r.folder, { uid: 'abc123', outcome: 'exists' });
  assert.is(f.datasources.size, 1);
  assert.equal([f.datasources.get(old.id)!.url, f.datasources.get(old.id)!.version], ['10.1.2.3:5433', 2]);
  assert.ok(f.log.some((l) => l.method === 'POST' && l.path === '/api/datasources' && l.status === 409));
  assert.ok(f.log.some((l) => l.method === 'POST' && l.path === '/api/folders' && l.status === 409));
  for (const d of f.dashboards.values()) assert.is(d.folderUid, 'abc123');
});

test('a datasource with our name but another uid is a conflict with a sentence, not silently taken over', async () => {
  const f = await fake();
  f.seedDatasource({ name: 'FLEAD PostgreSQL', uid: 'someone-elses' });
  const e = await initGrafana(settingsFor(f), fast, silentLogger, pgEnv).then(() => undefined, (x: Error) => x);
  assert.ok(e, 'initGrafana should fail');
  assert.match(e!.message, /already has a datasource named "FLEAD PostgreSQL" with uid "someone-elses", not "flead-postgres": rename or delete it/);
  assert.is(f.count('PUT', '/api/datasources/'), 0);
});

test('5xx in the middle of a run (Grafana restarting) is retried; file-provisioned datasource and dashboards are left alone', async () => {
  const f = await fake();
  f.seedDatasource({ name: 'FLEAD PostgreSQL', uid: 'flead-postgres', readOnly: true });
  f.seedFolder('flead', 'FLEAD');
  f.seedDashboard({ uid: 'flead-pipeline', title: 'provisioned' }, 'flead', true);
  f.failNext('POST', '/api/dashboards/db', 2);
  f.failNext('GET', '/api/dashboards/uid/flead-devices', 1);
  const { log, lines } = capture();
  const r = await initGrafana(settingsFor(f), fast, log, pgEnv);
  assert.is(r.datasource, 'provisioned');
  assert.equal(r.dashboards.map((d) => d.outcome), ['provisioned', 'created', 'created', 'created']);
  assert.is(f.count('PUT', '/api/datasources/'), 0);
  assert.is(f.dashboards.get('flead-pipeline')!.json.title, 'provisioned');
  assert.is(f.log.filter((l) => l.status === 502).length, 3);
  assert.ok(lines.some((l) => /not ready \(attempt 1\): POST \/api\/dashboards\/db answered 502 \(Bad Gateway\); retrying/.test(l)), lines.join('\n'));
  assert.ok(lines.some((l) => /is provisioned from files \(read-only\): left as it is/.test(l)), lines.join('\n'));
});

test('a Grafana that never becomes healthy: exit 1 with a sentence once the retry budget is spent', async () => {
  const f = await fake({ startupFailures: Infinity });
  const started = Date.now();
  const r = await runFlead(['init', 'grafana', '--wait-seconds', '1'], { ...pgEnv, GRAFANA_URL: f.url });
  assert.is(r.code, 1, r.stderr);
  assert.ok(Date.now() - started < 10_000);
  assert.match(r.stderr, new RegExp(`flead init grafana: Grafana at ${f.url.replace(/\./g, '\\.')} is not available: GET /api/health answered 503 \\(Grafana is starting\\); gave up after \\d+ attempts in 1 s\\n$`));
  assert.is(r.stdout, '');
  assert.is(f.log.filter((l) => l.path !== '/api/health').length, 0);
});

test('nothing listening: exit 1 naming the URL and connection refused; --wait-seconds 0 tries once', async () => {
  const port = await freePort();
  const r = await runFlead(['init', 'grafana', '--wait-seconds', '0'], { ...pgEnv, GRAFANA_URL: `http://127.0.0.1:${port}` });
  assert.is(r.code, 1);
  assert.match(r.stderr, new RegExp(`flead init grafana: Grafana at http://127\\.0\\.0\\.1:${port} is not available: connection refused \\(is Grafana running and listening there\\?\\)\\n$`));
});

test('a port fetch never connects to (1): the reason says so, not just "fetch failed"', async () => {
  const r = await runFlead(['init', 'grafana', '--wait-seconds', '0'], { ...pgEnv, GRAFANA_URL: 'http://127.0.0.1:1' });
  assert.is(r.code, 1);
  assert.match(r.stderr, /flead init grafana: Grafana at http:\/\/127\.0\.0\.1:1 is not available: fetch failed: bad port\n$/);
});

test('wrong credentials: exit 1 at once with a hint; a bad GRAFANA_URL: exit 2', async () => {
  const f = await fake();
  const r = await runFlead(['init', 'grafana', '--wait-seconds', '30'], { ...pgEnv, GRAFANA_URL: f.url, GRAFANA_PASSWORD: 'wrong' });
  assert.is(r.code, 1);
  assert.match(r.stderr, /refused to create the datasource "FLEAD PostgreSQL": POST \/api\/datasources answered 401 \(Invalid username or password\): check GRAFANA_USER and GRAFANA_PASSWORD \(or GRAFANA_TOKEN\)/);
  assert.is(f.datasources.size, 0);
  const bad = await runFlead(['init', 'grafana'], { GRAFANA_URL: 'ftp://x' });
  assert.is(bad.code, 2);
  assert.match(bad.stderr, /flead init grafana: configuration error: GRAFANA_URL must use http or https, got "ftp:\/\/x"/);
  const unknown = await runFlead(['init', 'tables'], {});
  assert.is(unknown.code, 2);
  assert.match(unknown.stderr, /targets are db, topics, grafana/);
});

test.run();
