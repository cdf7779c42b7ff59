/**
 * The sink in-process on the real Kafka broker and PostgreSQL (a database of its own, migrated, dropped at the
 * end; a topic prefix of its own): every message becomes exactly one row (readings, anomalies, local update
 * metadata with the sha256 of the weights bytes, global model versions, the aggregator's round events), round
 * notices and other journal keys are ignored, garbage goes to the dead-letter topic with its reason; a lost
 * Kafka commit (a fresh consumer group re-reading everything) writes nothing twice; and a database outage
 * (connections refused and the sink's backends terminated) makes the sink back off with /health degraded,
 * then catch up with every row and no duplicate once the database is back.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { randomBytes } from 'node:crypto';
import { isLeft } from 'fp-ts/Either';
import { loadConfig, type Config } from '../../src/config';
import { startSink, type SinkService } from '../../src/actors/sink/service';
import type { SinkSettings } from '../../src/actors/sink/settings';
import { createKafkaBus } from '../../src/infra/bus/kafka-bus';
import type { Bus, BusMessage, Subscription } from '../../src/infra/bus/port';
import { withDb } from '../../src/infra/db/open';
import { createPgDb, createPool, ensureDatabase, pgSettingsFromEnv, quoteIdent, type PgSettings, type Pool } from '../../src/infra/db/pg';
import { migrate } from '../../src/infra/db/migrations';
import { createSinkStore, type SinkStore } from '../../src/infra/db/sink-store';
import { fetchJson, startInspectionServer, type InspectionServer } from '../../src/infra/http/inspection-server';
import { createLogger, silentLogger } from '../../src/infra/log';
import { decodeJson, encodeJson } from '../../src/protocols/codec';
import { DeadLetter } from '../../src/protocols/dead-letter';
import { examples, exampleWeights } from '../../src/protocols/examples';
import { JournalEnvelope } from '../../src/protocols/journal';
import { GlobalModel, LocalModelUpdate, RoundNotice } from '../../src/protocols/models';
import { Anomaly, SensorReading } from '../../src/protocols/readings';
import { hashWeights } from '../../src/protocols/weights';
import { waitFor } from '../support/procs';
import { parsePrometheus } from '../support/metrics';

const test = suite('sink: Kafka → PostgreSQL, exactly once, through a database outage');
const runId = `${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
const prefix = `int-sink-${runId}-`;
const brokers = process.env.KAFKA_BROKERS ?? '127.0.0.1:9092';
const pgEnv = pgSettingsFromEnv(process.env);
if (isLeft(pgEnv)) throw new Error(pgEnv.left);
const db: PgSettings = { ...pgEnv.right, database: `flead_test_sink_${runId}` };
const settings: SinkSettings = { consumer: 'sink-int', roundEvents: true, backoff: { minMs: 100, maxMs: 800 }, poolSize: 6 };
const log = process.env.FLEAD_TEST_LOG ? createLogger('sink', 'debug') : silentLogger;

let config: Config;
let bus: Bus;
let store: SinkStore;
let pool: Pool;
let admin: Pool;
let svc: SinkService;
let http: InspectionServer;
const letters: DeadLetter[] = [];
let letterSub: Subscription;

const reading = (i: number, device = `dev-${i % 4}`): SensorReading => ({
  deviceId: device, readingId: `${device}/${i}`, ts: 1_718_000_000_000 + i * 1000, features: { temperature: 20 + (i % 7), humidity: 40 + (i % 5) }, label: i % 50 === 0 ? 1 : 0,
});
const anomaly = (i: number): Anomaly => ({ ...examples.anomaly, readingId: `dev-${i % 4}/${i}`, deviceId: `dev-${i % 4}`, ts: 1_718_000_000_000 + i * 1000, detector: i % 2 ? 'zscore' : 'autoencoder' });
const update = (i: number): LocalModelUpdate => ({ ...examples.localModelUpdate, updateId: `trainer-${i}/round-1`, clientId: `trainer-${i}`, round: 1 });
const model = (v: number): GlobalModel => ({ ...examples.globalModel, version: v, lineage: { ...examples.globalModel.lineage, parentVersion: v === 0 ? null : v - 1, round: v } });
const envelope = (seq: number, type: string, data: unknown): JournalEnvelope => ({ type, schemaVersion: 1, key: 'aggregator/round', seq, timestamp: 1_718_000_000_000 + seq, data });

const q = async <T>(sql: string, params: unknown[] = []): Promise<T[]> => (await pool.query(sql, params)).rows as T[];
const countOf = async (table: string): Promise<number> => Number((await q<{ n: string }>(`select count(*) as n from ${table}`))[0]!.n);
const health = async () => (await fetchJson(`${http.url}/health`, { timeoutMs: 2000 })).body as { status: string; problems: string[] };

async function startService(b: Bus = bus): Promise<SinkService> {
  const s = await startSink({ config, bus: b, store, settings, log });
  await s.ready;
  return s;
}

test.before(async () => {
  const c = loadConfig(process.env, { FLEAD_PROFILE: 'local', FLEAD_TOPIC_PREFIX: prefix, KAFKA_BROKERS: brokers });
  if (isLeft(c)) throw new Error(c.left);
  config = c.right;
  assert.ok(await ensureDatabase(db), `${db.database} is new`);
  pool = createPool(db, { max: 2 });
  admin = createPool({ ...db, database: 'postgres' }, { max: 1 });
  await withDb({ kind: 'postgresql', settings: db }, (d) => migrate(d, { log: silentLogger }));
  bus = createKafkaBus({ brokers, clientId: 'sink-int-test', log: () => undefined });
  // the journal topic exists before the sink subscribes (as `flead sink` makes sure of through the journal engine)
  await bus.ensureTopics([{ topic: config.topics.journal, partitions: 2 }, { topic: config.topics.deadLetters, partitions: 1 }]);
  letterSub = await bus.subscribe({
    groupId: `${prefix}letters`, topics: [config.topics.deadLetters], fromBeginning: true,
    eachBatch: async (ms: readonly BusMessage[]) => {
      for (const m of ms) {
        const d = decodeJson(DeadLetter, m.value);
        if (isLeft(d)) throw new Error(d.left);
        letters.push(d.right);
      }
    },
  });
  store = createSinkStore(createPgDb(db, { max: settings.poolSize }));
  svc = await startService();
  http = await startInspectionServer({ port: 0, routes: svc.routes });
});

test.after(async () => {
  await svc?.stop().catch(() => undefined);
  await http?.close().catch(() => undefined);
  await letterSub?.stop().catch(() => undefined);
  await bus?.close().catch(() => undefined);
  await store?.close().catch(() => undefined);
  await pool?.end().catch(() => undefined);
  await admin.query(`alter database ${quoteIdent(db.database)} allow_connections true`).catch(() => undefined);
  await admin.query(`drop database if exists ${quoteIdent(db.database)} with (force)`);
  await admin.end();
});

const N = { readings: 600, anomalies: 80, updates: 12, models: 3, rounds: 5 };

test('every message becomes one row; notices and other journal keys are ignored; garbage and refused rows are dead-lettered with their reason', async () => {
  await bus.publish(config.topics.readings, [
    ...Array.from({ length: N.readings }, (_, i) => reading(i)).map((r) => ({ key: r.deviceId, value: encodeJson(SensorReading, r) })),
    { key: 'dev-0', value: '{"deviceId":"dev-0","readingId":"x","ts":"yesterday","features":{}}' },
    // decodes, but PostgreSQL refuses it (label is a smallint): dead-lettered with the database's reason
    { key: 'dev-1', value: encodeJson(SensorReading, { ...reading(1), readingId: 'overflow', label: 40_000 }) },
  ]);
  await bus.publish(config.topics.anomalies, Array.from({ length: N.anomalies }, (_, i) => anomaly(i)).map((a) => ({ key: a.deviceId, value: encodeJson(Anomaly, a) })));
  await bus.publish(config.topics.localUpdates, [
    ...Array.from({ length: N.updates }, (_, i) => update(i)).map((u) => ({ key: u.clientId, value: encodeJson(LocalModelUpdate, u) })),
    { key: 'trainer-x', value: 'not json at all' },
  ]);
  await bus.publish(config.topics.globalModels, [
    ...Array.from({ length: N.models }, (_, v) => ({ key: 'global', value: encodeJson(GlobalModel, model(v)) })),
    { key: 'global', value: encodeJson(RoundNotice, examples.roundNotice) },
  ]);
  await bus.publish(config.topics.journal, [
    { key: 'aggregator/round', value: encodeJson(JournalEnvelope, envelope(1, 'ModelInitialised', { type: 'ModelInitialised', version: 0 })) },
    ...[2, 3, 4, 5].map((seq) => ({ key: 'aggregator/round', value: encodeJson(JournalEnvelope, envelope(seq, 'RoundOpened', { type: 'RoundOpened', round: seq - 1 })) })),
    { key: 'trainer-1/device/dev-0', value: encodeJson(JournalEnvelope, { ...envelope(1, 'ReadingScored', {}), key: 'trainer-1/device/dev-0' }) },
    { key: 'aggregator/supervision', value: 'whatever the supervision log writes' },
  ]);

  await waitFor('every row in PostgreSQL', async () => {
    const s = svc.stats();
    return s.written.readings === N.readings && s.written.anomalies === N.anomalies && s.written.local_updates === N.updates
      && s.written.global_models === N.models && s.written.round_events === N.rounds ? true : undefined;
  }, 60_000);
  assert.is(await countOf('readings'), N.readings);
  assert.is(await countOf('anomalies'), N.anomalies);
  assert.is(await countOf('local_updates'), N.updates);
  assert.is(await countOf('global_models'), N.models);
  assert.is(await countOf('round_events'), N.rounds);

  const [u] = await q<{ hash: string; metrics: unknown; sample_count: number; base_version: number }>(`select hash, metrics, sample_count, base_version from local_updates where update_id = 'trainer-3/round-1'`);
  assert.is(u!.hash, hashWeights(exampleWeights.local), 'hash = sha256 of the weights bytes');
  assert.equal(u!.metrics, examples.localModelUpdate.metrics);
  assert.is(u!.sample_count, 512);
  const [g] = await q<{ parent_version: number; round: number; hash: string }>('select parent_version, round, hash from global_models where version = 2');
  assert.equal(g, { parent_version: 1, round: 2, hash: examples.globalModel.hash });
  const rounds = await q<{ seq: string; type: string; round: number | null; service: string }>('select seq, type, round, service from round_events order by seq');
  assert.equal(rounds.map((r) => [Number(r.seq), r.type, r.round, r.service]), [[1, 'ModelInitialised', null, 'aggregator'], [2, 'RoundOpened', 1, 'aggregator'], [3, 'RoundOpened', 2, 'aggregator'], [4, 'RoundOpened', 3, 'aggregator'], [5, 'RoundOpened', 4, 'aggregator']]);
  const [r] = await q<{ features: unknown; label: number; topic_offset: string }>(`select features, label, topic_offset from readings where reading_id = 'dev-0/0'`);
  assert.equal(r!.features, reading(0).features);
  assert.is(r!.label, 1);

  await waitFor('three dead letters', async () => (letters.length >= 3 ? true : undefined), 30_000);
  const bySource = new Map(letters.map((l) => [l.reason.startsWith('PostgreSQL') ? 'db' : l.source.topic, l]));
  assert.is(letters.length, 3, 'only the garbage and the refused row are dead-lettered');
  assert.match(bySource.get(config.topics.readings)!.reason, /SensorReading: at ts/);
  assert.match(bySource.get('db')!.reason, /PostgreSQL refused the rows .*out of range for type smallint \(22003\)/);
  assert.is(bySource.get('db')!.source.topic, config.topics.readings);
  assert.match(bySource.get(config.topics.localUpdates)!.reason, /LocalModelUpdate: not valid JSON/);
  assert.is(Buffer.from(bySource.get(config.topics.localUpdates)!.raw, 'base64').toString(), 'not json at all');
  assert.is(bySource.get(config.topics.readings)!.service, 'sink');

  // positions in sink_offsets = messages per topic (the database is the source of truth for positions)
  const pos = await q<{ topic: string; n: string }>('select topic, sum(next_offset) as n from sink_offsets where consumer = $1 group by topic', [settings.consumer]);
  const byTopic = Object.fromEntries(pos.map((p) => [p.topic, Number(p.n)]));
  assert.is(byTopic[config.topics.readings], N.readings + 2);
  assert.is(byTopic[config.topics.localUpdates], N.updates + 1);
  assert.is(byTopic[config.topics.globalModels], N.models + 1);
  assert.is(byTopic[config.topics.journal], N.rounds + 2);

  assert.is((await health()).status, 'ok');
  const actors = (await fetchJson(`${http.url}/actors`)).body as Array<{ path: string; kind: string; status: string }>;
  assert.equal(actors.map((a) => [a.path, a.kind, a.status]), [['sink/consumer', 'consumer', 'running']]);
  const sink = (await fetchJson(`${http.url}/sink`)).body as { written: Record<string, number>; deadLettered: number; ignored: number };
  assert.is(sink.written.readings, N.readings);
  assert.is(sink.deadLettered, 3);
  assert.is(sink.ignored, 3, 'the round notice and two other journal keys');
  const rows = (await fetchJson(`${http.url}/sink/rows`)).body as Record<string, number>;
  assert.is(rows.readings, N.readings);
  const metrics = parsePrometheus(await (await fetch(`${http.url}/metrics`)).text());
  assert.is(metrics.get('flead_sink_rows_written_total', { table: 'readings' }), N.readings);
  assert.is(metrics.get('flead_sink_rows_written_total', { table: 'anomalies' }), sink.written.anomalies);
  assert.is(metrics.get('flead_sink_dead_letters_total'), 3);
  assert.is(metrics.get('flead_actors', { kind: 'consumer', status: 'running' }), 1);
});

test('a lost Kafka commit (everything delivered again) writes nothing twice', async () => {
  await svc.stop();
  // the same sink consumer in a fresh Kafka group: Kafka redelivers every message, sink_offsets says applied
  const fresh: Bus = { ...bus, subscribe: (o) => bus.subscribe({ ...o, groupId: `${o.groupId}-commit-lost` }) };
  const again = await startService(fresh);
  try {
    const total = N.readings + 2 + N.anomalies + N.updates + 1 + N.models + 1 + N.rounds + 2;
    await waitFor('all messages seen again', async () => (again.stats().messages >= total ? true : undefined), 60_000);
    const s = again.stats();
    assert.equal(s.written, { readings: 0, anomalies: 0, local_updates: 0, global_models: 0, round_events: 0 });
    assert.is(s.skipped, N.readings + 1 + N.anomalies + N.updates + N.models + N.rounds, 'every row, the refused one included');
    assert.is(s.deadLettered, 0, 'applied garbage is not dead-lettered again');
    assert.is(await countOf('readings'), N.readings);
  } finally {
    await again.stop();
  }
  svc = await startService();
  await http.close();
  http = await startInspectionServer({ port: 0, routes: svc.routes });
});

test('database outage: the sink backs off, /health is degraded, then it catches up with no loss and no duplicate', async () => {
  const name = quoteIdent(db.database);
  await pool.end(); // the test's own connections go too; a new pool after the outage
  await admin.query(`alter database ${name} allow_connections false`);
  await admin.query('select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()', [db.database]);
  const more = 400;
  const outageStarted = Date.now();
  try {
    await bus.publish(config.topics.readings, Array.from({ length: more }, (_, i) => reading(N.readings + i)).map((r) => ({ key: r.deviceId, value: encodeJson(SensorReading, r) })));
    await bus.publish(config.topics.anomalies, [{ key: 'dev-1', value: encodeJson(Anomaly, anomaly(9999)) }]);
    const h = await waitFor('health degraded', async () => { const x = await health(); return x.status === 'degraded' ? x : undefined; }, 30_000);
    assert.ok(h.problems.some((p) => /PostgreSQL unavailable/.test(p) && /not currently accepting connections|terminat/i.test(p)), h.problems.join(' | '));
    await new Promise((r) => setTimeout(r, 2500)); // several backoff rounds
    assert.is((await health()).status, 'degraded', 'still degraded while the database is away');
    assert.ok(svc.stats().dbFailures >= 2, `failed attempts: ${svc.stats().dbFailures}`);
  } finally {
    await admin.query(`alter database ${name} allow_connections true`);
  }
  pool = createPool(db, { max: 2 });
  await waitFor('all rows after the outage', async () => ((await countOf('readings')) === N.readings + more && (await countOf('anomalies')) === N.anomalies + 1 ? true : undefined), 60_000, 200);
  await waitFor('health ok again', async () => ((await health()).status === 'ok' ? true : undefined), 10_000);
  const [dups] = await q<{ n: string; d: string }>('select count(*) as n, count(distinct reading_id) as d from readings');
  assert.is(Number(dups!.n), Number(dups!.d), 'no duplicate reading');
  assert.is(Number(dups!.n), N.readings + more);
  const pos = await q<{ n: string }>('select sum(next_offset) as n from sink_offsets where consumer = $1 and topic = $2', [settings.consumer, config.topics.readings]);
  assert.is(Number(pos[0]!.n), N.readings + 2 + more, 'positions moved past every message');
  log.info(`outage test: ${((Date.now() - outageStarted) / 1000).toFixed(1)} s, ${svc.stats().dbFailures} failed attempts`);
});

test('a database that is not there while no message comes: /health is degraded from the start, ok once it is there', async () => {
  const late: PgSettings = { ...db, database: `${db.database}_late` };
  const c = loadConfig(process.env, { FLEAD_PROFILE: 'local', FLEAD_TOPIC_PREFIX: `${prefix}late-`, KAFKA_BROKERS: brokers });
  if (isLeft(c)) throw new Error(c.left);
  const lateStore = createSinkStore(createPgDb(late, { max: 2 }));
  const s = await startSink({ config: c.right, bus, store: lateStore, settings: { ...settings, consumer: 'sink-late', roundEvents: false }, log });
  try {
    await s.ready;
    const h = await waitFor('degraded without any message', async () => { const x = s.health(); return x.status === 'degraded' ? x : undefined; }, 20_000);
    assert.is(s.stats().messages, 0);
    assert.match(h.problems.join(' | '), /^positions: PostgreSQL unavailable for [\d.]+ s \(\d+ attempt\(s\)\): .*database \S+_late does not exist \(3D000\); flead init db creates it/);
    assert.ok(await ensureDatabase(late));
    await withDb({ kind: 'postgresql', settings: late }, (d) => migrate(d, { log: silentLogger }));
    await waitFor('ok once the database is there', async () => (s.health().status === 'ok' ? true : undefined), 20_000);
  } finally {
    await s.stop();
    await lateStore.close();
    await admin.query(`drop database if exists ${quoteIdent(late.database)} with (force)`);
  }
});

test.run();
