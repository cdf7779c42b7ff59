/**
 * The compose stack without Docker (issue 5 §4): compose/docker-compose.yml is read and every service built
 * from our image (`build`) is started as its own OS process (`flead <command>`), with the service's compose
 * environment (`${VAR:-default}` interpolated), in `depends_on` order, against the real Kafka and PostgreSQL.
 *
 * What differs from `docker compose up`, and why:
 * - kafka and timescaledb are the machine's Kafka and PostgreSQL (their `service_healthy` is taken as given);
 *   grafana and kafka-ui are not ours and there is no Grafana here, so `init-grafana` (which needs grafana
 *   healthy) is skipped. Everything else built from our image runs.
 * - host names are mapped to loopback: KAFKA_BROKERS `kafka:29092` → the real broker, PGHOST `timescaledb` →
 *   127.0.0.1; PG credentials are the test server's (postgres, trust); PGDATABASE and FLEAD_TOPIC_PREFIX are
 *   unique to the run; each process gets its own free INSPECT_PORT on 127.0.0.1 (in compose every container
 *   has 8090 on its own address); MODELS_DIR (the shared `models` volume) and FLEAD_DATA_DIR are temp dirs.
 * - compose variables (what compose/.env would set), everything else at its compose default:
 *   PRODUCER_RATE=500 (the default 10/s would take half an hour for the 18,914 WSN rows; 500/s ≈ 38 s) and
 *   ROUND_DEADLINE_MS=10000 (default 60 s).
 * - the scaled trainer runs twice, `trainer --id t1` and `trainer --id t2`.
 * - health: one-shot services (restart "no") must exit 0 before their dependents start
 *   (service_completed_successfully); long-running ones must answer GET /health with status "ok" ("starting" is
 *   waited for) before theirs start (service_healthy, with the compose check's budget: start_period + retries ×
 *   interval).
 *
 * Checked: the aggregator publishes global models; `readings` in the run's database holds exactly as many rows
 * as the producer published; every service's /health answers; both trainers get partitions of the readings
 * topic and own devices (the WSN motes hash to partitions 1 (mote-1, -3, -4) and 5 (mote-2); the group's
 * assignment gives the two members [0, 1, 2] and [3, 4, 5]); t1 is SIGKILLed mid-stream and t2 takes over its
 * devices with their state (`seen` continues from t1's count and ends at the producer's per-device count).
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createPool, type PgSettings } from '../../src/infra/db/pg';
import { topicNames } from '../../src/protocols/topics';
import { exitedWithin, freePort, getJson, startFlead, waitFor, type Proc } from '../support/procs';
import { dependsOn, readCompose, serviceCommand, serviceEnv, startWaves, type ComposeService } from '../support/compose';

const brokers = process.env.KAFKA_BROKERS ?? '127.0.0.1:9092';
const pgHost = '127.0.0.1';
const test = suite('compose equivalent: our compose services as processes on real Kafka + PostgreSQL (no Grafana here: init-grafana skipped)');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'flead-compose-'));

/** what compose/.env would set for this run; every other variable takes its compose default */
const composeVars: Record<string, string> = { PRODUCER_RATE: '500', ROUND_DEADLINE_MS: '10000' };
/** services that need what is not here (grafana) */
const SKIPPED = new Set(['init-grafana']);
/** the scaled service and its replicas' extra arguments */
const SCALED: Record<string, string[][]> = { trainer: [['--id', 't1'], ['--id', 't2']] };
/** kill t1 once each of its devices scored this many readings */
const KILL_AFTER_SEEN = 400;

interface HealthView { status: string; devices?: number; problems?: string[] }
interface ModelsView { current: number | null; versions: Array<{ version: number; publishedAt: number | null }> }
interface DeviceView { deviceId: string; seen: number; counters: Record<string, number> }
type ActorsView = Array<{ path: string; status: string; persistenceKey: string | null }>;
type SourcesView = Array<{ id: string; total: number; published?: number; exhausted?: boolean }>;

interface Running { name: string; service: string; proc: Proc; url: string; log: string }

const since = (t0: number) => `${((Date.now() - t0) / 1000).toFixed(1)} s`;
const isAlive = (p: Proc) => p.child.exitCode === null && p.child.signalCode === null;

/** Compose host names → loopback (kafka:29092 → the real broker, timescaledb → 127.0.0.1). */
function toLoopback(env: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) out[k] = v.replace(/\bkafka:29092\b/g, brokers).replace(/\btimescaledb\b/g, pgHost);
  return out;
}

/** The partitions of the readings topic the trainer's log says it was assigned last (undefined: none yet). */
function lastAssignment(log: string, readingsTopic: string): number[] | undefined {
  const text = readFileSync(log, 'utf8');
  const re = new RegExp(`partitions of ${readingsTopic.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: \\[([^\\]]*)\\]`, 'g');
  let last: string | undefined;
  for (const m of text.matchAll(re)) last = m[1];
  return last === undefined ? undefined : last.split(',').map((s) => s.trim()).filter(Boolean).map(Number);
}

test('services start in depends_on order and become healthy; models published, readings stored, trainer failover keeps state', async () => {
  const t0 = Date.now();
  const timings: Record<string, string> = {};
  const run = Date.now().toString(36);
  const database = `flead_compose_${run}`;
  const prefix = `e2e-compose-${run}-`;
  const topics = topicNames(prefix);
  const modelsDir = path.join(tmp, 'models'); mkdirSync(modelsDir);
  const dataDir = path.join(tmp, 'data'); mkdirSync(dataDir);

  const compose = readCompose();
  const ours = Object.keys(compose.services).filter((n) => compose.services[n]!.build !== undefined);
  assert.ok(ours.length >= 7, `the services built from our image: ${ours.join(', ')}`);
  const chosen = ours.filter((n) => !SKIPPED.has(n));
  const waves = startWaves(compose, chosen);
  console.log(`start order: ${waves.map((w) => `[${w.join(', ')}]`).join(' → ')}; skipped: ${[...SKIPPED].join(', ')}`);
  for (const n of ['producer', 'trainer', 'aggregator', 'sink', 'analytics', 'init-db', 'init-topics']) assert.ok(chosen.includes(n), `${n} runs`);

  const pgAdmin: PgSettings = { host: pgHost, port: 5432, user: 'postgres', password: undefined, database: 'postgres' };
  const procs: Running[] = [];
  try {
    // ── start every wave; each service waits for its dependencies' conditions ─────────────────────────────
    const state = new Map<string, 'completed' | 'healthy'>();
    for (const wave of waves) {
      const started: Array<{ svc: ComposeService; name: string; running: Running[] }> = [];
      for (const name of wave) {
        const svc = compose.services[name]!;
        for (const [dep, condition] of Object.entries(dependsOn(svc))) {
          if (!chosen.includes(dep)) continue; // kafka / timescaledb: the machine's, up
          const want = condition === 'service_completed_successfully' ? 'completed' : condition === 'service_healthy' ? 'healthy' : undefined;
          if (want) assert.is(state.get(dep), want, `${name}: ${dep} ${condition}`);
        }
        const args = serviceCommand(svc, composeVars);
        const replicas = SCALED[name] ?? [[]];
        const running: Running[] = [];
        for (const [i, extra] of replicas.entries()) {
          const port = await freePort();
          const env: Record<string, string> = {
            ...toLoopback(serviceEnv(svc, composeVars)),
            KAFKA_BROKERS: brokers, PGHOST: pgHost, PGPORT: '5432', PGUSER: 'postgres', PGPASSWORD: '', PGDATABASE: database,
            FLEAD_TOPIC_PREFIX: prefix, INSPECT_PORT: String(port), INSPECT_HOST: '127.0.0.1', MODELS_DIR: modelsDir, FLEAD_DATA_DIR: dataDir,
          };
          const rname = replicas.length > 1 ? `${name}-${i + 1}` : name;
          const log = path.join(tmp, `${rname}.log`);
          const proc = startFlead([...args, ...extra], env, log);
          running.push({ name: rname, service: name, proc, url: `http://127.0.0.1:${port}`, log });
        }
        procs.push(...running);
        started.push({ svc, name, running });
      }
      for (const { svc, name, running } of started) {
        if (svc.restart === 'no') {
          for (const r of running) {
            const exit = await exitedWithin(r.proc, 90_000);
            assert.ok(exit !== 'running' && exit.code === 0, `${r.name} exits 0 (service_completed_successfully), got ${JSON.stringify(exit)} (log ${r.log})`);
          }
          state.set(name, 'completed');
        } else {
          for (const r of running) {
            await waitFor(`${r.name} healthy (log ${r.log})`, async () => {
              if (!isAlive(r.proc)) throw new Error(`${r.name} exited`);
              const h = await getJson<HealthView>(`${r.url}/health`);
              return h?.status === 'ok' ? true : undefined; // 'starting' (or no answer yet): wait
            }, 90_000, 250);
          }
          state.set(name, 'healthy');
        }
        timings[name] = since(t0);
      }
    }

    const by = (name: string) => procs.find((p) => p.name === name)!;
    const producer = by('producer'); const aggregator = by('aggregator');
    const trainers = procs.filter((p) => p.service === 'trainer');
    assert.is(trainers.length, 2);

    // ── both trainers get partitions of the readings topic (disjoint, together all of them) ───────────────
    // as many as init-topics was told to create (compose: ${READINGS_PARTITIONS:-12})
    const readingsPartitions = Number(serviceEnv(compose.services['init-topics']!, composeVars).READINGS_PARTITIONS);
    const assignment = await waitFor('both trainers assigned partitions', async () => {
      const a = trainers.map((t) => lastAssignment(t.log, topics.readings));
      if (a.some((x) => !x || x.length === 0)) return undefined;
      const all = a.flat();
      return new Set(all).size === all.length && all.length === readingsPartitions ? a : undefined;
    }, 60_000, 250);
    console.log(`partitions of ${topics.readings}: ${trainers.map((t, i) => `${t.name} [${assignment[i]!.join(', ')}]`).join('; ')}`);

    // ── both trainers own devices; t1 is SIGKILLed mid-stream once its devices scored some readings ─────────
    const owned = await waitFor('both trainers own devices', async () => {
      const d = await Promise.all(trainers.map((t) => getJson<DeviceView[]>(`${t.url}/devices`)));
      return d.every((x) => x && x.some((y) => y.seen > 0)) ? d.map((x) => x!) : undefined;
    }, 60_000, 200);
    const ids = owned.map((d) => new Set(d.map((x) => x.deviceId)));
    assert.ok([...ids[0]!].every((id) => !ids[1]!.has(id)), 'the trainers own disjoint devices');
    console.log(`devices: ${trainers.map((t, i) => `${t.name} [${[...ids[i]!].sort().join(', ')}]`).join('; ')}`);
    const sourcesNow = () => getJson<SourcesView>(`${producer.url}/sources`);
    const owner = by('trainer-1');
    const before = await waitFor(`t1's devices each scored ${KILL_AFTER_SEEN} readings`, async () => {
      const d = await getJson<DeviceView[]>(`${owner.url}/devices`);
      return d && d.length > 0 && d.every((x) => x.seen >= KILL_AFTER_SEEN) ? d : undefined;
    }, 90_000, 100);
    owner.proc.child.kill('SIGKILL');
    timings.killed = since(t0);
    const survivor = by('trainer-2');
    assert.is((await owner.proc.exited).signal, 'SIGKILL');
    const sourcesAtKill = await sourcesNow();
    assert.ok(sourcesAtKill && sourcesAtKill.some((s) => !s.exhausted), 'the kill lands while the producer is still streaming');
    const moved = before.map((d) => d.deviceId).sort();
    const lastSeen = new Map(before.map((d) => [d.deviceId, d.seen]));
    console.log(`SIGKILLed ${owner.name}; its last /devices: ${before.map((d) => `${d.deviceId} seen ${d.seen}`).join('; ')}`);

    // every moved device, once its actor in the survivor has recovered, continues from at least the last seen
    const firstRecovered = new Map<string, number>();
    await waitFor(`${survivor.name} recovered every moved device`, async () => {
      const actors = await getJson<ActorsView>(`${survivor.url}/actors`);
      const d = await getJson<DeviceView[]>(`${survivor.url}/devices`);
      if (!actors || !d) return undefined;
      const running = new Set(actors.filter((a) => a.status === 'running' && a.persistenceKey?.startsWith('trainer/device/')).map((a) => a.persistenceKey!.slice('trainer/device/'.length)));
      for (const x of d) if (lastSeen.has(x.deviceId) && running.has(x.deviceId) && !firstRecovered.has(x.deviceId)) firstRecovered.set(x.deviceId, x.seen);
      return moved.every((id) => firstRecovered.has(id)) ? true : undefined;
    }, 60_000, 100);
    timings.takeover = since(t0);
    for (const id of moved) assert.ok(firstRecovered.get(id)! >= lastSeen.get(id)!, `${id}: seen continues in ${survivor.name} (${firstRecovered.get(id)} ≥ ${lastSeen.get(id)}), not reset`);

    // ── the producer finishes; the survivor scored every published reading of every device ─────────────────
    const sources = await waitFor('the producer published every row', async () => {
      const s = await sourcesNow();
      return s && s.length > 0 && s.every((x) => x.exhausted) ? s : undefined;
    }, 90_000, 500);
    timings.producerDone = since(t0);
    const deviceSources = sources.filter((s) => s.id !== 'invalid');
    const publishedOf = new Map(deviceSources.map((s) => [s.id, s.published ?? 0]));
    const published = [...publishedOf.values()].reduce((a, b) => a + b, 0);
    assert.ok(published > 0);
    console.log(`producer published ${published} readings: ${deviceSources.map((s) => `${s.id} ${s.published}/${s.total}`).join(', ')}`);
    const final = await waitFor(`${survivor.name} scored every published reading`, async () => {
      const d = await getJson<DeviceView[]>(`${survivor.url}/devices`);
      return d && d.length === publishedOf.size && d.every((x) => x.seen >= (publishedOf.get(x.deviceId) ?? Infinity)) ? d : undefined;
    }, 60_000, 250);
    for (const d of final) assert.is(d.seen, publishedOf.get(d.deviceId), `${d.deviceId}: seen = readings published (none lost or counted twice over the move)`);
    assert.equal(final.map((d) => d.deviceId).sort(), [...publishedOf.keys()].sort(), `${survivor.name} owns every device`);

    // ── global models published ───────────────────────────────────────────────────────────────────────────
    const models = await waitFor('a global model version > 0', async () => {
      const m = await getJson<ModelsView>(`${aggregator.url}/models`);
      return m && m.versions.some((v) => v.version > 0) ? m : undefined;
    }, 60_000, 500);
    console.log(`aggregator: current version ${models.current}, ${models.versions.length} versions`);

    // ── rows reach the database: readings = what the producer published ──────────────────────────────────
    const pool = createPool({ ...pgAdmin, database });
    try {
      const rows = await waitFor(`${published} rows in readings`, async () => {
        const r = await pool.query<{ n: string }>('SELECT count(*)::text AS n FROM readings');
        const n = Number(r.rows[0]!.n);
        return n >= published ? n : undefined;
      }, 60_000, 500);
      await new Promise((r) => setTimeout(r, 1000)); // rows written twice would show here
      const again = Number((await pool.query<{ n: string }>('SELECT count(*)::text AS n FROM readings')).rows[0]!.n);
      assert.is(rows, published, 'readings rows = readings published');
      assert.is(again, published, 'and no more arrive');
    } finally {
      await pool.end();
    }

    // ── every running service's inspection endpoint answers /health ──────────────────────────────────────
    for (const p of procs.filter((x) => compose.services[x.service]!.restart !== 'no' && x !== owner)) {
      const h = await getJson<HealthView>(`${p.url}/health`);
      assert.ok(h, `${p.name}: /health answers`);
      assert.is(h!.status, 'ok', `${p.name}: /health ok (${(h!.problems ?? []).join('; ')})`);
    }
    timings.checked = since(t0);
    console.log(`timings: ${Object.entries(timings).map(([k, v]) => `${k} ${v}`).join(', ')}; logs in ${tmp}`);
  } finally {
    const alive = procs.filter((p) => isAlive(p.proc));
    for (const p of alive) p.proc.child.kill('SIGTERM');
    const hardKill = setTimeout(() => { for (const p of alive) if (isAlive(p.proc)) p.proc.child.kill('SIGKILL'); }, 20_000);
    await Promise.all(procs.map((p) => p.proc.exited));
    clearTimeout(hardKill);
    const admin = createPool(pgAdmin);
    try {
      await admin.query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
    } finally {
      await admin.end();
    }
  }
});

test.run();
