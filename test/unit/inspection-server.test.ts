/** The inspection endpoint over real loopback HTTP on an ephemeral port. */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { request } from 'node:http';
import { fetchJson, startInspectionServer, TextBody, type InspectionServer } from '../../src/infra/http/inspection-server';
import type { Logger } from '../../src/infra/log';
import { InfraError } from '../../src/infra/errors';

const actors: Record<string, { state: string; seq: number }> = {
  'aggregator/round': { state: 'Collecting', seq: 7 },
  'trainer/client-1': { state: 'Idle', seq: 2 },
  'weird name/ü': { state: 'Idle', seq: 1 },
};
const models: Record<string, { version: number; events: bigint }> = { '3': { version: 3, events: 12345678901234567890n } };
let flakyCalls = 0;
const logged: string[] = [];
const recordingLog: Logger = {
  debug() {}, info() {}, warn() {},
  error: (m) => { logged.push(m); },
  child: () => recordingLog,
};

let server: InspectionServer;

/** Raw request with node:http, to see headers and bodies exactly as sent (fetch hides HEAD bodies). */
function raw(method: string, path: string, body?: string): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${server.url}${path}`, { method }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => { text += d; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const S = suite('inspection server');

S.before(async () => {
  server = await startInspectionServer({
    port: 0,
    log: recordingLog,
    routes: [
      { pattern: '/health', handler: () => ({ status: 'ok' }) },
      { pattern: '/actors', handler: (_p, q) => Object.keys(actors).filter((k) => k.startsWith(q.get('prefix') ?? '')) },
      { pattern: '/actors/*path', handler: (p) => actors[p.path!] },
      { pattern: '/models/:version', handler: async (p) => models[p.version!] },
      { pattern: '/models/:version/lineage/:client', handler: (p) => (p.version === '3' ? undefined : { p }), notFound: (p) => `model 3 has no update from ${p.client}` },
      { pattern: '/boom', handler: () => { throw new Error('projection store is closed'); } },
      { pattern: '/flaky', handler: async () => { flakyCalls += 1; if (flakyCalls === 1) throw new Error('first call fails'); return { calls: flakyCalls }; } },
      { pattern: '/circular', handler: () => { const o: Record<string, unknown> = {}; o.self = o; return o; } },
      { pattern: '/nothing', handler: () => undefined },
      { pattern: '/metrics', handler: () => new TextBody('# TYPE up gauge\nup 1\n', 'text/plain; version=0.0.4; charset=utf-8') },
    ],
  });
});

S.after(async () => {
  await server.close();
});

S('listens on loopback with an ephemeral port', () => {
  assert.ok(server.port > 0);
  assert.is(server.url, `http://127.0.0.1:${server.port}`);
});

S('GET /health: 200, JSON with charset, 2-space pretty print and trailing newline', async () => {
  const r = await raw('GET', '/health');
  assert.is(r.status, 200);
  assert.is(r.headers['content-type'], 'application/json; charset=utf-8');
  assert.is(r.text, '{\n  "status": "ok"\n}\n');
  assert.is(r.headers['content-length'], String(Buffer.byteLength(r.text)));
});

S('a TextBody (e.g. /metrics) is served as is with its content type; HEAD sends the headers only', async () => {
  const r = await raw('GET', '/metrics');
  assert.is(r.status, 200);
  assert.is(r.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8');
  assert.is(r.text, '# TYPE up gauge\nup 1\n');
  assert.is(r.headers['content-length'], String(Buffer.byteLength(r.text)));
  const h = await raw('HEAD', '/metrics');
  assert.is(h.status, 200);
  assert.is(h.text, '');
  assert.is(h.headers['content-length'], String(Buffer.byteLength(r.text)));
});

S('query parameters reach the handler', async () => {
  assert.equal(await fetchJson(`${server.url}/actors`), { status: 200, body: Object.keys(actors) });
  assert.equal(await fetchJson(`${server.url}/actors?prefix=trainer`), { status: 200, body: ['trainer/client-1'] });
});

S('*path captures the rest of the path, slashes included', async () => {
  assert.equal(await fetchJson(`${server.url}/actors/aggregator/round`), { status: 200, body: { state: 'Collecting', seq: 7 } });
  assert.equal((await fetchJson(`${server.url}/actors/trainer/client-1`)).body, { state: 'Idle', seq: 2 });
});

S('*path is URL-decoded (spaces, UTF-8, encoded slashes)', async () => {
  assert.equal((await fetchJson(`${server.url}/actors/weird%20name/%C3%BC`)).body, { state: 'Idle', seq: 1 });
  assert.equal((await fetchJson(`${server.url}/actors/aggregator%2Fround`)).body, { state: 'Collecting', seq: 7 });
});

S(':param matches one segment; bigints are strings', async () => {
  const r = await fetchJson(`${server.url}/models/3`);
  assert.equal(r, { status: 200, body: { version: 3, events: '12345678901234567890' } });
});

S('a trailing slash is the same path', async () => {
  assert.is((await fetchJson(`${server.url}/health/`)).status, 200);
  assert.equal((await fetchJson(`${server.url}/actors/`)).body, Object.keys(actors), '/actors/ is /actors, not an empty *path');
});

S('repeated slashes are one (a base URL ending in "/" + "/devices"); the query stays the query', async () => {
  const r = await raw('GET', '//health');
  assert.is(r.status, 200, r.text);
  assert.is(r.text, '{\n  "status": "ok"\n}\n');
  assert.equal(JSON.parse((await raw('GET', '//actors//?prefix=trainer//x')).text), [], 'the query is not collapsed');
  assert.equal(JSON.parse((await raw('GET', '//actors?prefix=trainer')).text), ['trainer/client-1']);
  assert.equal(JSON.parse((await raw('GET', '/actors//aggregator%2Fround')).text), { state: 'Collecting', seq: 7 });
  assert.equal(JSON.parse((await raw('GET', '///x')).text), { error: 'no such path /x; known: /health, /actors, /actors/*path, /models/:version, /models/:version/lineage/:client, /boom, /flaky, /circular, /nothing, /metrics' });
});

S('unknown path: 404 listing the known patterns', async () => {
  const r = await fetchJson(`${server.url}/x`);
  assert.is(r.status, 404);
  assert.equal(r.body, { error: 'no such path /x; known: /health, /actors, /actors/*path, /models/:version, /models/:version/lineage/:client, /boom, /flaky, /circular, /nothing, /metrics' });
  assert.match(((await fetchJson(`${server.url}/models/3/extra`)).body as { error: string }).error, /^no such path \/models\/3\/extra;/);
});

S('handler returns undefined: 404 naming what is missing', async () => {
  assert.equal(await fetchJson(`${server.url}/actors/aggregator/round-9`), { status: 404, body: { error: 'no actor at path aggregator/round-9' } });
  assert.equal(await fetchJson(`${server.url}/models/7`), { status: 404, body: { error: 'no model with version 7' } });
  assert.equal(await fetchJson(`${server.url}/models/3/lineage/c9`), { status: 404, body: { error: 'model 3 has no update from c9' } });
  assert.equal(await fetchJson(`${server.url}/nothing`), { status: 404, body: { error: 'nothing at /nothing' } });
});

for (const method of ['POST', 'PUT', 'DELETE', 'PATCH']) {
  S(`${method} is refused with 405 and Allow: GET, HEAD`, async () => {
    const r = await raw(method, '/health', method === 'DELETE' ? undefined : '{"x":1}');
    assert.is(r.status, 405);
    assert.is(r.headers.allow, 'GET, HEAD');
    assert.is(r.headers['content-type'], 'application/json; charset=utf-8');
    assert.equal(JSON.parse(r.text), { error: `method ${method} not allowed: the inspection endpoint is read-only` });
  });
}

S('405 applies to unknown paths too (the method is checked first)', async () => {
  const r = await fetchJson(`${server.url}/nope`, { method: 'POST' });
  assert.is(r.status, 405);
});

S('handler throws: 500 with its message, logged, and the server keeps serving', async () => {
  const before = logged.length;
  assert.equal(await fetchJson(`${server.url}/boom`), { status: 500, body: { error: 'projection store is closed' } });
  assert.is(logged.length, before + 1);
  assert.match(logged[logged.length - 1]!, /GET \/boom: .*projection store is closed/);
  assert.equal(await fetchJson(`${server.url}/health`), { status: 200, body: { status: 'ok' } });
});

S('a rejected promise is a 500, the next call succeeds', async () => {
  assert.equal(await fetchJson(`${server.url}/flaky`), { status: 500, body: { error: 'first call fails' } });
  assert.equal(await fetchJson(`${server.url}/flaky`), { status: 200, body: { calls: 2 } });
});

S('a value that cannot be JSON is a 500 with a sentence', async () => {
  const r = await fetchJson(`${server.url}/circular`);
  assert.is(r.status, 500);
  assert.match((r.body as { error: string }).error, /^the value for \/circular cannot be written as JSON/);
});

S('malformed percent-encoding is a 400', async () => {
  const r = await fetchJson(`${server.url}/actors/%E0%A4%A`);
  assert.is(r.status, 400);
  assert.match((r.body as { error: string }).error, /malformed percent-encoding/);
});

S('HEAD: same status and headers as GET, no body', async () => {
  const get = await raw('GET', '/actors/aggregator/round');
  const head = await raw('HEAD', '/actors/aggregator/round');
  assert.is(head.status, 200);
  assert.is(head.text, '');
  assert.is(head.headers['content-type'], 'application/json; charset=utf-8');
  assert.is(head.headers['content-length'], get.headers['content-length']);
  const missing = await raw('HEAD', '/actors/none');
  assert.is(missing.status, 404);
  assert.is(missing.text, '');
});

S('fetchJson rejects with a sentence when nothing listens', async () => {
  const other = await startInspectionServer({ port: 0, routes: [] });
  const url = `${other.url}/health`;
  await other.close();
  try {
    await fetchJson(url);
    assert.unreachable('should have failed');
  } catch (e) {
    assert.match((e as Error).message, new RegExp(`^GET ${url.replace(/[.]/g, '\\.')} failed`));
  }
});

S('bad route patterns are refused at start', async () => {
  for (const [pattern, why] of [['health', /must start with "\/"/], ['/a/*rest/b', /must be the last segment/], ['/a/:x/:x', /appears twice/]] as const) {
    try {
      await startInspectionServer({ port: 0, routes: [{ pattern, handler: () => 1 }] });
      assert.unreachable(`accepted ${pattern}`);
    } catch (e) {
      assert.match((e as Error).message, why);
    }
  }
});

S('a port in use or a foreign address: an InfraError saying what to set, not a bare listen error', async () => {
  const busy = await startInspectionServer({ port: 0, routes: [{ pattern: '/health', handler: () => 'ok' }] });
  try {
    const e = await startInspectionServer({ port: busy.port, routes: [] }).then(() => undefined, (x: unknown) => x as InfraError);
    assert.instance(e, InfraError);
    assert.is(e!.message, `inspection endpoint: 127.0.0.1:${busy.port} is in use (another process listens there: another flead service, or one left running); set INSPECT_PORT (or --inspect-port) to a free port, or 0 for any free one`);
  } finally {
    await busy.close();
  }
  const away = await startInspectionServer({ host: '192.0.2.1', port: 0, routes: [] }).then(() => undefined, (x: unknown) => x as InfraError);
  assert.match(away?.message ?? 'listened', /^inspection endpoint: 192\.0\.2\.1 is not an address of this machine; set INSPECT_HOST/);
});

S('close() resolves even with a keep-alive connection open', async () => {
  const s = await startInspectionServer({ port: 0, routes: [{ pattern: '/health', handler: () => 'ok' }] });
  assert.equal(await fetchJson(`${s.url}/health`), { status: 200, body: 'ok' });
  await s.close();
  try {
    await fetchJson(`${s.url}/health`);
    assert.unreachable('still serving after close');
  } catch (e) {
    assert.match((e as Error).message, /failed/);
  }
});

S.run();
