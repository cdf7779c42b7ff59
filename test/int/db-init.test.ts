/**
 * `flead init db` on the real PostgreSQL (127.0.0.1:5432 here, without TimescaleDB): versioned, idempotent
 * migrations recorded in schema_migrations; concurrent runs apply each migration once; a tampered checksum or
 * a newer schema is refused with a sentence; the hourly views answer on an empty database and count right;
 * the CLI exits 0 when done, 1 with a sentence when PostgreSQL cannot be reached, and waits for a late one.
 * Every database is created with a unique name for this run and dropped at the end.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import net from 'node:net';
import { randomBytes } from 'node:crypto';
import { isLeft } from 'fp-ts/Either';
import { createPgDb, createPool, ensureDatabase, pgSettingsFromEnv, quoteIdent, withClient, type PgSettings, type Pool } from '../../src/infra/db/pg';
import type { SqlDb } from '../../src/infra/db/sql';
import { latestVersion, migrate, migrations, type Migration } from '../../src/infra/db/migrations';
import { createLogger, type Logger } from '../../src/infra/log';
import { freePort, runFlead } from '../support/procs';

const env = pgSettingsFromEnv(process.env);
if (isLeft(env)) throw new Error(env.left);
const base: PgSettings = env.right;
const runId = `${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
const databases: string[] = [];
const pools: Pool[] = [];
const N = latestVersion();

/** A database name unique to this run (created by the caller or by flead, dropped after the suite). */
function fresh(tag: string): PgSettings {
  const database = `flead_test_${runId}_${tag}`;
  databases.push(database);
  return { ...base, database };
}

const dbs: SqlDb[] = [];

/** A new database: a pool for the test's own queries, and the database port on it for `migrate`. */
async function openDb(tag: string): Promise<{ settings: PgSettings; pool: Pool; db: SqlDb }> {
  const settings = fresh(tag);
  assert.is(await ensureDatabase(settings), true, `${settings.database} is new`);
  const pool = createPool(settings);
  pools.push(pool);
  const db = createPgDb(settings, { max: 1 });
  dbs.push(db);
  return { settings, pool, db };
}

function capture(): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  return { log: createLogger('test', 'debug', (l) => lines.push(l)), lines };
}

/** Columns, indexes, views and schema_migrations rows: what a second run must leave as it was. */
async function dump(pool: Pool): Promise<unknown> {
  const q = async (sql: string) => (await pool.query(sql)).rows;
  return {
    columns: await q(`select table_name, column_name, data_type, is_nullable, column_default from information_schema.columns
      where table_schema = 'public' order by table_name, ordinal_position`),
    indexes: await q(`select tablename, indexname, indexdef from pg_indexes where schemaname = 'public' order by tablename, indexname`),
    views: await q(`select table_name, view_definition from information_schema.views where table_schema = 'public' order by table_name`),
    migrations: await q('select version, name, checksum, mode, applied_at from schema_migrations order by version'),
  };
}

const timescaleHere = async (pool: Pool) => (await pool.query(`select 1 from pg_available_extensions where name = 'timescaledb'`)).rowCount! > 0;

const test = suite('flead init db: versioned, idempotent migrations');

let main: { settings: PgSettings; pool: Pool; db: SqlDb };

test.before(async () => {
  main = await openDb('main');
});

test.after(async () => {
  await Promise.all([...pools.map((p) => p.end().catch(() => undefined)), ...dbs.map((d) => d.close().catch(() => undefined))]);
  const admin = createPool({ ...base, database: 'postgres' }, { max: 1 });
  try {
    for (const d of databases) await admin.query(`drop database if exists ${quoteIdent(d)} with (force)`);
  } finally {
    await admin.end();
  }
});

test(`the first run applies 1..${N} in plain mode and the log says so`, async () => {
  if (await timescaleHere(main.pool)) throw new Error('this suite expects a PostgreSQL without TimescaleDB (plain mode)');
  const { log, lines } = capture();
  const r = await migrate(main.db, { log });
  assert.equal(r, { mode: 'plain', applied: migrations.map((m) => m.version), current: N });
  assert.ok(lines.some((l) => l.includes('schema mode: plain PostgreSQL (TimescaleDB not available: plain tables, indexes, views)')), lines.join('\n'));
  assert.ok(lines.some((l) => l.includes(`schema at version ${N} (plain): applied ${N} migration(s)`)), lines.join('\n'));
  const tables = (await main.pool.query(`select table_name, table_type from information_schema.tables where table_schema = 'public' order by table_name`)).rows;
  assert.equal(tables, [
    { table_name: 'analytics_anomaly_rates', table_type: 'BASE TABLE' },
    { table_name: 'analytics_model_evaluation', table_type: 'BASE TABLE' },
    { table_name: 'analytics_runs', table_type: 'BASE TABLE' },
    { table_name: 'analytics_top_devices', table_type: 'BASE TABLE' },
    { table_name: 'analytics_trends', table_type: 'BASE TABLE' },
    { table_name: 'anomalies', table_type: 'BASE TABLE' },
    { table_name: 'anomalies_hourly', table_type: 'VIEW' },
    { table_name: 'global_models', table_type: 'BASE TABLE' },
    { table_name: 'local_updates', table_type: 'BASE TABLE' },
    { table_name: 'readings', table_type: 'BASE TABLE' },
    { table_name: 'readings_hourly', table_type: 'VIEW' },
    { table_name: 'round_events', table_type: 'BASE TABLE' },
    { table_name: 'schema_migrations', table_type: 'BASE TABLE' },
    { table_name: 'sink_offsets', table_type: 'BASE TABLE' },
  ]);
  const recorded = (await main.pool.query('select version, mode from schema_migrations order by version')).rows;
  assert.equal(recorded, migrations.map((m) => ({ version: m.version, mode: 'plain' })));
  const indexes = (await main.pool.query(`select indexname from pg_indexes where schemaname = 'public' and indexname like '%device_ts'`)).rows.map((r) => r.indexname);
  assert.equal(indexes.sort(), ['anomalies_device_ts', 'readings_device_ts']);
});

test('a second run applies nothing and changes nothing', async () => {
  const before = await dump(main.pool);
  const { log, lines } = capture();
  const r = await migrate(main.db, { log });
  assert.equal(r, { mode: 'plain', applied: [], current: N });
  assert.ok(lines.some((l) => l.includes(`schema at version ${N} (plain): up to date, nothing to apply`)), lines.join('\n'));
  assert.equal(await dump(main.pool), before);
});

test('the hourly views answer on an empty database with no rows', async () => {
  assert.equal((await main.pool.query('select * from anomalies_hourly')).rows, []);
  assert.equal((await main.pool.query('select * from readings_hourly')).rows, []);
  const cols = (await main.pool.query(`select table_name, column_name, data_type from information_schema.columns
    where table_name in ('anomalies_hourly', 'readings_hourly') order by table_name, ordinal_position`)).rows;
  assert.equal(cols, [
    { table_name: 'anomalies_hourly', column_name: 'device_id', data_type: 'text' },
    { table_name: 'anomalies_hourly', column_name: 'hour', data_type: 'timestamp with time zone' },
    { table_name: 'anomalies_hourly', column_name: 'detector', data_type: 'text' },
    { table_name: 'anomalies_hourly', column_name: 'anomalies', data_type: 'bigint' },
    { table_name: 'anomalies_hourly', column_name: 'critical', data_type: 'bigint' },
    { table_name: 'readings_hourly', column_name: 'device_id', data_type: 'text' },
    { table_name: 'readings_hourly', column_name: 'hour', data_type: 'timestamp with time zone' },
    { table_name: 'readings_hourly', column_name: 'readings', data_type: 'bigint' },
    { table_name: 'readings_hourly', column_name: 'labelled_anomalies', data_type: 'bigint' },
  ]);
});

test('with a few rows the views count per device, UTC hour and detector (whatever the session time zone)', async () => {
  const readings: Array<[string, string, string, number | null]> = [
    ['r1', 'a', '2026-11-25T10:05:00Z', 0],
    ['r2', 'a', '2026-11-25T10:40:00Z', 1],
    ['r3', 'a', '2026-11-25T11:10:00Z', 1],
    ['r4', 'b', '2026-11-25T10:20:00Z', null],
    ['r5', 'a', '2026-11-25T11:59:59Z', 0],
  ];
  for (const [id, device, ts, label] of readings) {
    await main.pool.query(`insert into readings (reading_id, device_id, ts, features, label, attack_type, topic_partition, topic_offset)
      values ($1, $2, $3, '{"temperature": 20.5}', $4, null, 0, $5)`, [id, device, ts, label, Number(id.slice(1))]);
  }
  const anomalies: Array<[string, string, string, string, string]> = [
    ['r1', 'zscore', 'a', '2026-11-25T10:05:00Z', 'warning'],
    ['r2', 'zscore', 'a', '2026-11-25T10:40:00Z', 'critical'],
    ['r3', 'zscore', 'a', '2026-11-25T11:10:00Z', 'warning'],
    ['r5', 'autoencoder', 'a', '2026-11-25T11:59:59Z', 'critical'],
    ['r4', 'zscore', 'b', '2026-11-25T10:20:00Z', 'warning'],
  ];
  for (const [id, detector, device, ts, severity] of anomalies) {
    await main.pool.query(`insert into anomalies (reading_id, detector, device_id, ts, score, threshold, severity, model_version)
      values ($1, $2, $3, $4, 3.5, 2.5, $5, null)`, [id, detector, device, ts, severity]);
  }
  await withClient(main.pool, main.settings, async (c) => {
    await c.query(`set time zone 'Asia/Kolkata'`); // +05:30: a session-local date_trunc would split hours differently
    try {
      const a = (await c.query('select device_id, hour, detector, anomalies, critical from anomalies_hourly order by device_id, hour, detector')).rows
        .map((r) => ({ ...r, hour: (r.hour as Date).toISOString(), anomalies: Number(r.anomalies), critical: Number(r.critical) }));
      assert.equal(a, [
        { device_id: 'a', hour: '2026-11-25T10:00:00.000Z', detector: 'zscore', anomalies: 2, critical: 1 },
        { device_id: 'a', hour: '2026-11-25T11:00:00.000Z', detector: 'autoencoder', anomalies: 1, critical: 1 },
        { device_id: 'a', hour: '2026-11-25T11:00:00.000Z', detector: 'zscore', anomalies: 1, critical: 0 },
        { device_id: 'b', hour: '2026-11-25T10:00:00.000Z', detector: 'zscore', anomalies: 1, critical: 0 },
      ]);
      const r = (await c.query('select device_id, hour, readings, labelled_anomalies from readings_hourly order by device_id, hour')).rows
        .map((x) => ({ ...x, hour: (x.hour as Date).toISOString(), readings: Number(x.readings), labelled_anomalies: Number(x.labelled_anomalies) }));
      assert.equal(r, [
        { device_id: 'a', hour: '2026-11-25T10:00:00.000Z', readings: 2, labelled_anomalies: 1 },
        { device_id: 'a', hour: '2026-11-25T11:00:00.000Z', readings: 2, labelled_anomalies: 1 },
        { device_id: 'b', hour: '2026-11-25T10:00:00.000Z', readings: 1, labelled_anomalies: 0 },
      ]);
    } finally {
      await c.query('reset time zone');
    }
  });
});

test('two concurrent runs apply each migration exactly once', async () => {
  const { settings } = await openDb('concurrent');
  const p1 = createPool(settings, { max: 1 });
  pools.push(p1);
  const d1 = createPgDb(settings, { max: 1 });
  const d2 = createPgDb(settings, { max: 1 });
  dbs.push(d1, d2);
  const [r1, r2] = await Promise.all([migrate(d1, { log: capture().log }), migrate(d2, { log: capture().log })]);
  assert.equal([...r1.applied, ...r2.applied].sort(), migrations.map((m) => m.version), `each once: ${JSON.stringify([r1.applied, r2.applied])}`);
  assert.is(r1.current, N);
  assert.is(r2.current, N);
  const rows = (await p1.query('select version from schema_migrations order by version')).rows.map((r) => r.version);
  assert.equal(rows, migrations.map((m) => m.version));
});

test('a recorded checksum that differs from the code is refused with a sentence, and nothing changes', async () => {
  const { pool, db } = await openDb('tampered');
  await migrate(db, { log: capture().log });
  await pool.query(`update schema_migrations set checksum = repeat('0', 64) where version = 1`);
  const before = await dump(pool);
  const err = await migrate(db, { log: capture().log }).then(() => undefined, (e: Error) => e);
  assert.ok(err, 'migrate must refuse');
  assert.match(err!.message, /^migration 1 \("tables: [^"]+"\) was applied with checksum 000000000000 but this flead's migration 1 has checksum [0-9a-f]{12}: it was edited after it was applied/);
  assert.equal(await dump(pool), before);
});

test('a database schema newer than the code is refused with the sentence', async () => {
  const { pool, db } = await openDb('future');
  await migrate(db, { log: capture().log });
  await pool.query(`insert into schema_migrations (version, name, checksum, mode) values (5, 'from the future', repeat('f', 64), 'plain')`);
  const err = await migrate(db, { log: capture().log }).then(() => undefined, (e: Error) => e);
  assert.ok(err, 'migrate must refuse');
  assert.is(err!.message, `the database schema is at version 5 but this flead knows only up to ${N}: upgrade flead or restore an older database`);
});

test('a failing migration is rolled back entirely and not recorded; the ones before it stay', async () => {
  const { pool, db } = await openDb('rollback');
  const broken: Migration[] = [
    migrations[0]!,
    { version: 2, name: 'broken', up: () => ['create table half_done (x int)', 'select no_such_function()'] },
  ];
  const err = await migrate(db, { log: capture().log, migrations: broken }).then(() => undefined, (e: Error) => e);
  assert.ok(err);
  assert.match(err!.message, /^migration 2 \(broken\) failed at statement 2 of 2 in plain mode and was rolled back: function no_such_function\(\) does not exist/);
  assert.equal((await pool.query('select version from schema_migrations')).rows, [{ version: 1 }]);
  assert.is((await pool.query(`select 1 from information_schema.tables where table_name = 'half_done'`)).rowCount, 0);
  const r = await migrate(db, { log: capture().log });
  assert.equal(r.applied, migrations.slice(1).map((m) => m.version));
});

test('flead init db creates the database, migrates, prints the mode, exits 0; again: nothing to apply', async () => {
  const { database } = fresh('cli');
  const first = await runFlead(['init', 'db'], { PGDATABASE: database, PGHOST: base.host, PGPORT: String(base.port), PGUSER: base.user });
  assert.is(first.code, 0, first.stderr);
  assert.match(first.stdout, new RegExp(`flead init db: ${base.user}@${base.host}:${base.port}/${database} \\(created\\): schema mode plain, applied migration\\(s\\) ${migrations.map((m) => m.version).join(', ')}; schema at version ${N}`));
  assert.match(first.stderr, /schema mode: plain PostgreSQL \(TimescaleDB not available/);
  const second = await runFlead(['init', 'db'], { PGDATABASE: database, PGHOST: base.host, PGPORT: String(base.port), PGUSER: base.user });
  assert.is(second.code, 0, second.stderr);
  assert.match(second.stdout, new RegExp(`${database}: schema mode plain, nothing to apply; schema at version ${N}`));
});

test('flead init db with a port where nothing listens exits 1 with a sentence naming host, port and reason', async () => {
  const port = await freePort();
  const r = await runFlead(['init', 'db', '--wait-seconds', '0'], { PGDATABASE: fresh('badport').database, PGHOST: '127.0.0.1', PGPORT: String(port) });
  assert.is(r.code, 1, r.stderr);
  assert.match(r.stderr, new RegExp(`flead init db: cannot connect to PostgreSQL at 127\\.0\\.0\\.1:${port} as user \\S+: connection refused`));
});

test('flead init db waits with backoff for a PostgreSQL that starts late', async () => {
  const port = await freePort();
  const { database } = fresh('late');
  // A TCP relay to the real server that starts listening 1.5 s after flead, like a database container booting.
  const open = new Set<net.Socket>();
  const relay = net.createServer((s) => {
    const up = net.connect({ host: base.host, port: base.port });
    open.add(s).add(up);
    s.pipe(up).pipe(s);
    s.on('error', () => up.destroy());
    up.on('error', () => s.destroy());
  });
  const timer = setTimeout(() => relay.listen(port, '127.0.0.1'), 1500);
  try {
    const r = await runFlead(['init', 'db', '--wait-seconds', '20'], { PGDATABASE: database, PGHOST: '127.0.0.1', PGPORT: String(port) });
    assert.is(r.code, 0, r.stderr);
    assert.match(r.stderr, new RegExp(`PostgreSQL at 127\\.0\\.0\\.1:${port} is not ready \\(attempt 1\\)`));
    assert.match(r.stdout, /schema mode plain, applied migration/);
  } finally {
    clearTimeout(timer);
    for (const s of open) s.destroy();
    await new Promise<void>((resolve) => relay.close(() => resolve()));
  }
});

test('flead init without a target, or with one not implemented yet, exits 2 with a sentence', async () => {
  const none = await runFlead(['init'], {});
  assert.is(none.code, 2);
  assert.match(none.stderr, /<what> is required/);
  const topics = await runFlead(['init', 'tables'], {});
  assert.is(topics.code, 2);
  assert.match(topics.stderr, /unknown target "tables"; targets are db, topics, grafana/);
  const badPort = await runFlead(['init', 'db'], { PGPORT: 'abc' });
  assert.is(badPort.code, 2);
  assert.match(badPort.stderr, /PGPORT must be a port number between 1 and 65535, got "abc"/);
});

test.run();
