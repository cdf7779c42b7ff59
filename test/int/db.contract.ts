/**
 * The database port's contract (src/infra/db/sql.ts), run by db.test.ts against every adapter: node-postgres on
 * the real server and PGlite in a temporary directory. One database per suite, migrated by its first test;
 * each later test uses keys of its own, so the tests do not depend on each other's rows.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { randomBytes } from 'node:crypto';
import { InfraError } from '../../src/infra/errors';
import { silentLogger } from '../../src/infra/log';
import { latestVersion, migrate, migrations } from '../../src/infra/db/migrations';
import { createSinkStore, type SinkBatch, type SinkRow } from '../../src/infra/db/sink-store';
import { createAnalyticsStore } from '../../src/infra/db/analytics-store';
import { inTransaction, isRefusedData, sqlState, type SqlDb } from '../../src/infra/db/sql';

export interface DbHarness {
  /** a new, empty database */
  db: SqlDb;
  /** close it (if the test did not) and remove it */
  drop(): Promise<void>;
}

const T0 = 1_718_000_000_000;
const tag = (): string => randomBytes(3).toString('hex');

const reading = (id: string, i: number, label: number | null = i % 10 === 0 ? 1 : 0): SinkRow => ({
  table: 'readings',
  row: { readingId: `${id}/${i}`, deviceId: id, ts: T0 + i * 1000, features: { temperature: 20 + i / 100, humidity: 40 }, label, attackType: label ? 'DDoS_UDP' : null, partition: 0, offset: String(i) },
});
const anomaly = (id: string, i: number, severity = 'warning'): SinkRow => ({
  table: 'anomalies',
  row: { readingId: `${id}/${i}`, detector: 'zscore', deviceId: id, ts: T0 + i * 1000, score: 3.5, threshold: 2.5, severity, modelVersion: null },
});
const batchOf = (consumer: string, rows: SinkRow[], from = 0n, partition = 0): SinkBatch => ({
  consumer, topic: 'edge-iiot-stream', partition,
  rows: rows.map((row, i) => ({ offset: from + BigInt(i), row })),
  nextOffset: from + BigInt(rows.length),
});

export function dbContract(name: string, make: () => Promise<DbHarness>): void {
  const test = suite(`database contract: ${name}`);
  let h: DbHarness;
  let db: SqlDb;

  test.before(async () => {
    h = await make();
    db = h.db;
  });
  test.after(async () => {
    await h?.drop();
  });

  /** A sink store on the suite's database, with a device and a consumer name of its own. */
  const sinkCase = () => {
    const dev = `dev-${tag()}`;
    return { store: createSinkStore(db), dev, consumer: `sink-${dev}` };
  };

  test('migrate: a new database gets every migration in plain mode; a second run applies nothing', async () => {
    const first = await migrate(db, { log: silentLogger });
    assert.equal(first, { mode: 'plain', applied: migrations.map((m) => m.version), current: latestVersion() });
    const again = await migrate(db, { log: silentLogger });
    assert.equal(again, { mode: 'plain', applied: [], current: latestVersion() });
    const rows = await db.session((s) => s.query<{ version: number; mode: string }>('select version, mode from schema_migrations order by version'));
    assert.equal(rows.rows.map((r) => [r.version, r.mode]), migrations.map((m) => [m.version, 'plain']));
  });

  test('query: parameters of every kind the stores use round-trip; rowCount counts selected and changed rows', async () => {
    const id = `q-${tag()}`;
    const ins = await db.session((s) => s.query(
      `insert into readings (reading_id, device_id, ts, features, label, attack_type, topic_partition, topic_offset)
       select * from unnest($1::text[], $2::text[], $3::timestamptz[], $4::jsonb[], $5::smallint[], $6::text[], $7::int[], $8::bigint[])`,
      [[`${id}/1`, `${id}/2`], [id, id], [new Date(T0).toISOString(), new Date(T0 + 1000).toISOString()], ['{"t":1.5}', '{"t":"x\\ty"}'], [1, null], ['Backdoor', null], [3, 3], ['9007199254740993', '7']],
    ));
    assert.is(ins.rowCount, 2);
    const got = await db.session((s) => s.query<{ reading_id: string; ts: Date; features: unknown; label: number | null; attack_type: string | null; off: string }>(
      'select reading_id, ts, features, label, attack_type, topic_offset::text as off from readings where device_id = $1 order by reading_id', [id]));
    assert.is(got.rowCount, 2);
    assert.equal(got.rows.map((r) => [r.reading_id, new Date(r.ts).getTime(), r.features, r.label, r.attack_type, r.off]), [
      [`${id}/1`, T0, { t: 1.5 }, 1, 'Backdoor', '9007199254740993'],
      [`${id}/2`, T0 + 1000, { t: 'x\ty' }, null, null, '7'],
    ]);
    const del = await db.session((s) => s.query('delete from readings where device_id = $1', [id]));
    assert.is(del.rowCount, 2);
  });

  test('copyFrom: text-format lines with nulls and escapes arrive as written; the count is the rows copied', async () => {
    const id = `c-${tag()}`;
    const lines = Array.from({ length: 1000 }, (_, i) => `${id}/${i}\t${id}\t${new Date(T0 + i).toISOString()}\t{"v":${i}}\t${i % 2 ? '\\N' : '0'}\t${i === 7 ? 'tab\\there' : '\\N'}\t1\t${i}\n`).join('');
    const n = await db.session((s) => s.copyFrom('readings (reading_id, device_id, ts, features, label, attack_type, topic_partition, topic_offset)', lines));
    assert.is(n, 1000);
    const r = await db.session((s) => s.query<{ n: string; nulls: string; odd: string | null }>(
      `select count(*)::text as n, count(*) filter (where label is null)::text as nulls, max(attack_type) as odd from readings where device_id = $1`, [id]));
    assert.equal(r.rows[0], { n: '1000', nulls: '500', odd: 'tab\there' });
  });

  test('a transaction that throws leaves nothing behind; a session left inside a transaction does not leak into the next', async () => {
    const id = `t-${tag()}`;
    const err = await inTransaction(db, async (s) => {
      await s.query(`insert into local_updates (update_id, client_id, round, base_version, sample_count, hash, metrics, sent_at) values ($1, 'c', 1, 0, 5, 'h', '{}', now())`, [id]);
      throw new Error('changed my mind');
    }).then(() => undefined, (e: Error) => e);
    assert.is(err?.message, 'changed my mind');
    await db.session(async (s) => {
      await s.query('begin');
      await s.query(`insert into local_updates (update_id, client_id, round, base_version, sample_count, hash, metrics, sent_at) values ($1, 'c', 1, 0, 5, 'h', '{}', now())`, [`${id}-open`]);
      throw new Error('left open');
    }).catch(() => undefined);
    const left = await db.session((s) => s.query(`select 1 from local_updates where update_id like $1`, [`${id}%`]));
    assert.is(left.rowCount, 0);
  });

  test('refused data carries its SQLSTATE (class 23) and the database stays usable', async () => {
    const err = await db.session((s) => s.query(`insert into anomalies (reading_id, detector, device_id, ts, score, threshold, severity) values ('x', 'zscore', 'd', now(), 1, 1, 'bogus')`))
      .then(() => undefined, (e: unknown) => e);
    assert.is(sqlState(err), '23514');
    assert.ok(isRefusedData(err));
    assert.is((await db.session((s) => s.query('select 1 as one'))).rows[0]!.one, 1);
  });

  test('sessions take turns: 20 concurrent transactions of read-modify-write on one row lose no update', async () => {
    const key = `turns-${tag()}`;
    await db.session((s) => s.query(`insert into sink_offsets (consumer, topic, partition, next_offset) values ($1, 't', 0, 0)`, [key]));
    await Promise.all(Array.from({ length: 20 }, () => inTransaction(db, async (s) => {
      const cur = await s.query<{ n: string }>('select next_offset::text as n from sink_offsets where consumer = $1 for update', [key]);
      await new Promise((r) => setImmediate(r));
      await s.query('update sink_offsets set next_offset = $2 where consumer = $1', [key, String(Number(cur.rows[0]!.n) + 1)]);
    })));
    const end = await db.session((s) => s.query<{ n: string }>('select next_offset::text as n from sink_offsets where consumer = $1', [key]));
    assert.is(end.rows[0]!.n, '20');
  });

  test('sink store: a batch is applied once with its position; a redelivered or overlapping batch writes nothing twice', async () => {
    const { store, dev, consumer } = sinkCase();
    const rows = [...Array.from({ length: 250 }, (_, i) => reading(dev, i)), anomaly(dev, 3), anomaly(dev, 4, 'critical')];
    const first = await store.apply(batchOf(consumer, rows));
    assert.equal(first, { previous: 0n, skipped: 0, advanced: true, inserted: { readings: 250, anomalies: 2, local_updates: 0, global_models: 0, round_events: 0 } });
    const again = await store.apply(batchOf(consumer, rows));
    assert.equal([again.advanced, again.skipped, again.previous], [false, 252, 252n]);
    // offsets 200..299: the first 52 were applied, the next 48 are new
    const overlap = [...rows.slice(200), ...Array.from({ length: 48 }, (_, i) => reading(dev, 1000 + i))];
    const third = await store.apply(batchOf(consumer, overlap, 200n));
    assert.equal([third.advanced, third.skipped, third.inserted.readings], [true, 52, 48]);
    assert.equal(await store.offsets(consumer), [{ topic: 'edge-iiot-stream', partition: 0, nextOffset: 300n }]);
    const n = await db.session((s) => s.query<{ n: string }>('select count(*)::text as n from readings where device_id = $1', [dev]));
    assert.is(n.rows[0]!.n, '298');
  });

  test('sink store: a reading published twice (same key, new offsets) is kept once, also on the COPY path', async () => {
    const { store, dev, consumer } = sinkCase();
    await store.apply(batchOf(consumer, Array.from({ length: 10 }, (_, i) => reading(dev, i))));
    const r = await store.apply(batchOf(consumer, Array.from({ length: 300 }, (_, i) => reading(dev, i)), 10n));
    assert.equal([r.advanced, r.inserted.readings], [true, 290]);
  });

  test('sink store: refused rows are a corrupt InfraError naming the batch, and the position does not move', async () => {
    const { store, dev, consumer } = sinkCase();
    const err = await store.apply(batchOf(consumer, [reading(dev, 1), anomaly(dev, 1, 'bogus')])).then(() => undefined, (e: unknown) => e);
    assert.instance(err, InfraError);
    assert.is((err as InfraError).kind, 'corrupt');
    assert.is((err as InfraError).retriable, false);
    assert.match((err as Error).message, /refused the rows of the batch of edge-iiot-stream\[0\] up to offset 1: .*anomalies_severity_check.* \(23514\)/);
    assert.equal(await store.offsets(consumer), []);
    const counts = await store.countRows();
    assert.ok(counts.readings >= 250, JSON.stringify(counts));
  });

  test('analytics store: a run and its rows in one transaction; runs beyond keepRuns are dropped with their rows', async () => {
    const store = createAnalyticsStore(db);
    const job = `job-${tag()}`;
    for (let i = 1; i <= 3; i++) {
      await store.writeRun(
        { runId: `${job}-${i}`, job, startedAt: T0 + i * 60_000, finishedAt: T0 + i * 60_000 + 5, rows: 1, status: 'ok', error: null, params: { i } },
        [{ table: 'analytics_top_devices', rows: [{ rank: 1, device_id: `dev-${i}`, readings: 10 * i, anomalies: i, rate: i / 10 }] }],
        2,
      );
    }
    const runs = await store.query<{ run_id: string; duration_ms: number }>('select run_id, duration_ms from analytics_runs where job = $1 order by run_id', [job]);
    assert.equal(runs.map((r) => [r.run_id, Number(r.duration_ms)]), [[`${job}-2`, 5], [`${job}-3`, 5]]);
    const top = await store.query<{ device_id: string }>('select device_id from analytics_top_devices where run_id like $1 order by device_id', [`${job}-%`]);
    assert.equal(top.map((r) => r.device_id), ['dev-2', 'dev-3']);
    const bad = await store.query('select * from no_such_table').then(() => undefined, (e: unknown) => e);
    assert.instance(bad, InfraError);
    assert.match((bad as Error).message, /no_such_table/);
  });

  test('close: the database refuses sessions afterwards with an error, not a hang', async () => {
    await db.close();
    const err = await db.session((s) => s.query('select 1')).then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof Error, String(err));
  });

  test.run();
}
