/**
 * Sink throughput (issue 4 §2): readings from Kafka into PostgreSQL through the sink service (in this process,
 * the real broker on KAFKA_BROKERS and PostgreSQL on PG*), against a plain `COPY readings FROM STDIN` of the
 * same rows into the same table, measured in the same run. Prints one line:
 *
 *   bench sink-rows: <rows/s> rows/s (<ratio>x copy)
 *
 * Set-up: a fresh database (migrated, dropped at the end) and a fresh topic prefix (topics deleted by nobody:
 * they are small); N readings (FLEAD_BENCH_SINK_ROWS, default 100,000; 8 devices, two features) are published
 * to a 6-partition `edge-iiot-stream` before the sink starts. The sink is timed from its first database
 * transaction to the moment its counters show N rows inserted (decode, row mapping, one transaction per
 * partition batch with the sink_offsets upsert, Kafka commit); the consumer group join before it is not counted.
 * Baseline: the same N rows (same column values, text format prepared beforehand) sent by one COPY on one
 * connection; timed twice (before and after the sink, the table truncated in between), the best counts.
 * The sink runs with its defaults (SINK_DB_POOL etc., overridable through the environment). Goal ≥ 0.5x.
 *
 * The same measure for the embedded profile (second line): the sink on the in-process bus into PGlite in a
 * temporary directory, against one COPY of the same rows into the same PGlite (FLEAD_BENCH_SINK_EMBEDDED_ROWS,
 * default 50,000):
 *
 *   bench sink-rows-embedded: <rows/s> rows/s (<ratio>x copy)
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isLeft } from 'fp-ts/Either';
import { loadConfig } from '../src/config';
import { startSink } from '../src/actors/sink/service';
import { sinkSettingsFromEnv } from '../src/actors/sink/settings';
import { createKafkaBus } from '../src/infra/bus/kafka-bus';
import { createMemoryBus } from '../src/infra/bus/memory-bus';
import type { Bus } from '../src/infra/bus/port';
import type { Config } from '../src/config';
import { openPgliteDb } from '../src/infra/db/pglite';
import { withDb } from '../src/infra/db/open';
import { createPgDb, createPool, ensureDatabase, pgSettingsFromEnv, quoteIdent } from '../src/infra/db/pg';
import { migrate } from '../src/infra/db/migrations';
import { copyLines, copyRows } from '../src/infra/db/copy';
import { createSinkStore, type SinkStore } from '../src/infra/db/sink-store';
import { silentLogger } from '../src/infra/log';
import { encodeJson } from '../src/protocols/codec';
import { SensorReading } from '../src/protocols/readings';
import { dataTopics } from '../src/protocols/topics';

const readingsOf = (n: number): SensorReading[] => Array.from({ length: n }, (_, i) => ({
  deviceId: `dev-${i % 8}`, readingId: `dev-${i % 8}/${i}`, ts: 1_718_000_000_000 + i * 10, features: { temperature: 20 + (i % 17) / 4, humidity: 40 + (i % 11) / 3 }, label: i % 97 === 0 ? 1 : 0,
}));

/** The COPY baseline's input: the same column values as the sink writes (partition/offset: as a 6-partition topic would give). */
const copyDataOf = (readings: readonly SensorReading[]): string =>
  copyLines(readings.map((r, i) => [r.readingId, r.deviceId, new Date(r.ts).toISOString(), JSON.stringify(r.features), r.label ?? null, r.attackType ?? null, i % 6, Math.floor(i / 6)]));

const readingColumns = 'readings (reading_id, device_id, ts, features, label, attack_type, topic_partition, topic_offset)';

/**
 * Publish the readings, run the sink until it has inserted them all, and print its rate against the COPY
 * baseline (`timeCopy`: ms of one COPY into an emptied table; run before and after, the best counts).
 */
async function measure(name: string, n: number, readings: readonly SensorReading[], deps: {
  config: Config; bus: Bus; store: SinkStore; timeCopy: () => Promise<number>; countRows: () => Promise<number>;
}, print: (line: string) => void): Promise<void> {
  const { config, bus, store: inner } = deps;
  const copyMs1 = await deps.timeCopy();
  await bus.ensureTopics(dataTopics(config.topics, config.readingsPartitions, ['readings']));
  for (let i = 0; i < n; i += 2000) {
    await bus.publish(config.topics.readings, readings.slice(i, i + 2000).map((r) => ({ key: r.deviceId, value: encodeJson(SensorReading, r) })));
  }
  const settings = sinkSettingsFromEnv(process.env);
  if (isLeft(settings)) throw new Error(settings.left);
  let firstAt: bigint | undefined;
  let applyMs = 0;
  let applies = 0;
  const timed: SinkStore = {
    ...inner,
    apply: async (b) => {
      const t0 = process.hrtime.bigint();
      firstAt ??= t0;
      try { return await inner.apply(b); } finally { applyMs += Number(process.hrtime.bigint() - t0) / 1e6; applies++; }
    },
  };
  const svc = await startSink({ config, bus, store: timed, settings: { ...settings.right, consumer: 'bench-sink', roundEvents: false }, log: silentLogger });
  await svc.ready;
  const deadline = Date.now() + 600_000;
  while (svc.stats().written.readings < n) {
    if (Date.now() > deadline) throw new Error(`the sink wrote ${svc.stats().written.readings} of ${n} rows in 10 minutes`);
    await new Promise((r) => setTimeout(r, 2));
  }
  const sinkMs = Number(process.hrtime.bigint() - firstAt!) / 1e6;
  await svc.stop();
  const rowsInDb = await deps.countRows();
  if (rowsInDb !== n) throw new Error(`readings holds ${rowsInDb} rows, expected ${n}`);
  const copyMs = Math.min(copyMs1, await deps.timeCopy());
  const sinkRate = (n / sinkMs) * 1000;
  const copyRate = (n / copyMs) * 1000;
  process.stderr.write(`${name}: ${n} rows in ${sinkMs.toFixed(0)} ms (${applies} transactions, ${applyMs.toFixed(0)} ms in them, summed over concurrent partitions); copy: ${copyMs.toFixed(0)} ms (${copyRate.toFixed(0)} rows/s)\n`);
  print(`bench ${name}: ${sinkRate.toFixed(0)} rows/s (${(sinkRate / copyRate).toFixed(2)}x copy, ${copyRate.toFixed(0)} rows/s; ${n} readings from ${bus.describe.split(' ')[0]})`);
}

export async function run(print: (line: string) => void): Promise<void> {
  await runPostgres(print);
  await runEmbedded(print);
}

async function runPostgres(print: (line: string) => void): Promise<void> {
  const n = Number(process.env.FLEAD_BENCH_SINK_ROWS ?? 100_000);
  const brokers = process.env.KAFKA_BROKERS ?? '127.0.0.1:9092';
  const runId = `${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  const pg = pgSettingsFromEnv(process.env);
  if (isLeft(pg)) throw new Error(pg.left);
  const db = { ...pg.right, database: `flead_bench_sink_${runId}` };
  const c = loadConfig(process.env, { FLEAD_PROFILE: 'local', FLEAD_TOPIC_PREFIX: `bench-sink-${runId}-`, KAFKA_BROKERS: brokers });
  if (isLeft(c)) throw new Error(c.left);
  await ensureDatabase(db);
  const pool = createPool(db, { max: 1 });
  const bus = createKafkaBus({ brokers, clientId: 'bench-sink', log: () => undefined });
  const settings = sinkSettingsFromEnv(process.env);
  if (isLeft(settings)) throw new Error(settings.left);
  const store = createSinkStore(createPgDb(db, { max: settings.right.poolSize }));
  try {
    await withDb({ kind: 'postgresql', settings: db }, (d) => migrate(d, { log: silentLogger }));
    const readings = readingsOf(n);
    const copyData = copyDataOf(readings);
    const timeCopy = async (): Promise<number> => {
      await pool.query('truncate readings');
      const t0 = process.hrtime.bigint();
      const rows = await copyRows(db, `copy ${readingColumns} from stdin`, copyData);
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      if (rows !== n) throw new Error(`COPY wrote ${rows} rows, expected ${n}`);
      await pool.query('truncate readings');
      return ms;
    };
    const countRows = async () => Number((await pool.query<{ n: string }>('select count(*) as n from readings')).rows[0]!.n);
    await measure('sink-rows', n, readings, { config: c.right, bus, store, timeCopy, countRows }, print);
  } finally {
    await store.close().catch(() => undefined);
    await bus.close().catch(() => undefined);
    await pool.end().catch(() => undefined);
    const admin = createPool({ ...db, database: 'postgres' }, { max: 1 });
    await admin.query(`drop database if exists ${quoteIdent(db.database)} with (force)`).catch(() => undefined);
    await admin.end();
  }
}

/** The embedded profile's sink: in-process bus, PGlite in a temporary directory (removed afterwards). */
async function runEmbedded(print: (line: string) => void): Promise<void> {
  const n = Number(process.env.FLEAD_BENCH_SINK_EMBEDDED_ROWS ?? 50_000);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flead-bench-sink-'));
  const c = loadConfig(process.env, { FLEAD_PROFILE: 'embedded', FLEAD_DATA_DIR: dir, FLEAD_TOPIC_PREFIX: '' });
  if (isLeft(c)) throw new Error(c.left);
  const db = await openPgliteDb(path.join(dir, 'db'));
  const bus = createMemoryBus({});
  try {
    await migrate(db, { log: silentLogger });
    const readings = readingsOf(n);
    const copyData = copyDataOf(readings);
    const timeCopy = async (): Promise<number> => {
      await db.session((s) => s.query('truncate readings'));
      const t0 = process.hrtime.bigint();
      const rows = await db.session((s) => s.copyFrom(readingColumns, copyData));
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      if (rows !== n) throw new Error(`COPY wrote ${rows} rows, expected ${n}`);
      await db.session((s) => s.query('truncate readings'));
      return ms;
    };
    const countRows = async () => Number((await db.session((s) => s.query<{ n: string }>('select count(*)::text as n from readings'))).rows[0]!.n);
    await measure('sink-rows-embedded', n, readings, { config: c.right, bus, store: createSinkStore(db), timeCopy, countRows }, print);
  } finally {
    await bus.close().catch(() => undefined);
    await db.close().catch(() => undefined);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
