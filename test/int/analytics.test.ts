/**
 * `flead analytics` on the real PostgreSQL: every job on empty tables gives empty results without error; with
 * hand-made readings and anomalies (4 devices, 2 hours, labels, attack types, scores, 3 model versions) the
 * rates, trends, top-N, precision/recall/F1 and ROC-AUC equal the numbers computed by hand below; a run's rows
 * and its run record are in the tables, older runs are pruned; one analytics-results message per job run
 * (failures too); the service's /health, /actors and /jobs; the CLI `run all` exits 0 on an empty database.
 * Each test database has a unique name and is dropped at the end.
 */
import { suite } from 'uvu';
import { parsePrometheus } from '../support/metrics';
import * as assert from 'uvu/assert';
import { randomBytes } from 'node:crypto';
import { isLeft, isRight } from 'fp-ts/Either';
import { withDb } from '../../src/infra/db/open';
import { createPgDb, createPool, ensureDatabase, pgSettingsFromEnv, quoteIdent, type PgSettings, type Pool } from '../../src/infra/db/pg';
import { latestVersion, migrate, migrations } from '../../src/infra/db/migrations';
import { analyticsMigration, createAnalyticsStore, type AnalyticsStore } from '../../src/infra/db/analytics-store';
import { createMemoryBus } from '../../src/infra/bus/memory-bus';
import type { Bus, BusMessage } from '../../src/infra/bus/port';
import { fetchJson, startInspectionServer } from '../../src/infra/http/inspection-server';
import { silentLogger } from '../../src/infra/log';
import { AnalyticsResult } from '../../src/protocols/analytics';
import { decodeJson } from '../../src/protocols/codec';
import { anomalyRates, anomalyRatesJob } from '../../src/actors/analytics/anomaly-rates';
import { deviceHours, hourOverHour, topDevices, trendsJob } from '../../src/actors/analytics/trends';
import { modelEvaluation, modelEvaluationJob } from '../../src/actors/analytics/model-evaluation';
import { analyticsJobs } from '../../src/actors/analytics/settings';
import { runJob } from '../../src/actors/analytics/runner';
import { startAnalytics } from '../../src/actors/analytics/service';
import type { AnalyticsJob } from '../../src/actors/analytics/job';
import { freePort, getJson, runFlead, startFlead, waitFor } from '../support/procs';

const env = pgSettingsFromEnv(process.env);
if (isLeft(env)) throw new Error(env.left);
const base: PgSettings = env.right;
const runId = `${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
const databases: string[] = [];
const stores: AnalyticsStore[] = [];
const pools: Pool[] = [];

/** The schema with the analytics tables as the next migration (until it is in `migrations` itself). */
const schema = migrations.some((m) => m.name === analyticsMigration.name) ? migrations : [...migrations, { ...analyticsMigration, version: latestVersion() + 1 }];

async function freshDb(tag: string, withAnalytics = true): Promise<{ settings: PgSettings; pool: Pool; store: AnalyticsStore }> {
  const settings = { ...base, database: `flead_test_${runId}_an_${tag}` };
  databases.push(settings.database);
  await ensureDatabase(settings);
  const pool = createPool(settings, { max: 2 });
  pools.push(pool);
  const store = createAnalyticsStore(createPgDb(settings, { max: 2 }));
  await withDb({ kind: 'postgresql', settings }, (db) => migrate(db, { log: silentLogger, migrations: withAnalytics ? schema : migrations }));
  stores.push(store);
  return { settings, pool, store };
}

async function dropAll(): Promise<void> {
  await Promise.all([...stores.map((s) => s.close().catch(() => undefined)), ...pools.map((p) => p.end().catch(() => undefined))]);
  const admin = createPool({ ...base, database: 'postgres' }, { max: 1 });
  try {
    for (const d of databases) await admin.query(`drop database if exists ${quoteIdent(d)} with (force)`);
  } finally {
    await admin.end();
  }
}

const all = { since: null, topN: 10 };

// ---------------------------------------------------------------------------------------------------------------
// The hand-made data set. Hours H08 = 2024-06-10T08:00Z, H09 = 09:00Z.
//
//   id   device hour  label attack     autoencoder (score, version)   zscore
//   r1   d1     08    1     DDoS       0.9 v1                         3.1
//   r2   d1     08    0     -          0.8 v1
//   r3   d1     09    1     DDoS       0.7 v2
//   r4   d1     09    0     Normal
//   r5   d2     08    0     Normal
//   r6   d2     08    1     Backdoor                                  4.0
//   r7   d2     09    0     -                                         2.9
//   r8   d2     09    -     -                       (unlabelled)
//   r9   d3     09    0     Normal
//   r10  d4     08    1     DDoS       0.9 v3
//   r11  d4     08    0     Normal     0.8 v3
//   r12  d4     08    1     DDoS       0.7 v3
//   r13  d4     08    0     Normal     0.1 v3
//   r99  d1     09    (no reading: an orphan anomaly, counted nowhere)  5.0
// ---------------------------------------------------------------------------------------------------------------
const at = (h: number, m: number) => `2024-06-10T${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}:00Z`;
const readings: Array<[string, string, string, number | null, string | null]> = [
  ['r1', 'd1', at(8, 10), 1, 'DDoS'], ['r2', 'd1', at(8, 20), 0, null], ['r3', 'd1', at(9, 10), 1, 'DDoS'], ['r4', 'd1', at(9, 20), 0, 'Normal'],
  ['r5', 'd2', at(8, 5), 0, 'Normal'], ['r6', 'd2', at(8, 15), 1, 'Backdoor'], ['r7', 'd2', at(9, 5), 0, null], ['r8', 'd2', at(9, 15), null, null],
  ['r9', 'd3', at(9, 30), 0, 'Normal'],
  ['r10', 'd4', at(8, 1), 1, 'DDoS'], ['r11', 'd4', at(8, 2), 0, 'Normal'], ['r12', 'd4', at(8, 3), 1, 'DDoS'], ['r13', 'd4', at(8, 4), 0, 'Normal'],
];
const anomalies: Array<[string, string, string, string, number, number | null]> = [
  ['r1', 'autoencoder', 'd1', at(8, 10), 0.9, 1], ['r2', 'autoencoder', 'd1', at(8, 20), 0.8, 1], ['r3', 'autoencoder', 'd1', at(9, 10), 0.7, 2],
  ['r10', 'autoencoder', 'd4', at(8, 1), 0.9, 3], ['r11', 'autoencoder', 'd4', at(8, 2), 0.8, 3], ['r12', 'autoencoder', 'd4', at(8, 3), 0.7, 3], ['r13', 'autoencoder', 'd4', at(8, 4), 0.1, 3],
  ['r1', 'zscore', 'd1', at(8, 10), 3.1, null], ['r6', 'zscore', 'd2', at(8, 15), 4.0, null], ['r7', 'zscore', 'd2', at(9, 5), 2.9, null],
  ['r99', 'zscore', 'd1', at(9, 40), 5.0, null],
];

async function seed(pool: Pool): Promise<void> {
  for (const [i, [id, device, ts, label, attack]] of readings.entries()) {
    await pool.query(`insert into readings (reading_id, device_id, ts, features, label, attack_type, topic_partition, topic_offset)
      values ($1, $2, $3, '{"t": 1}', $4, $5, 0, $6)`, [id, device, ts, label, attack, i]);
  }
  for (const [id, detector, device, ts, score, version] of anomalies) {
    await pool.query(`insert into anomalies (reading_id, detector, device_id, ts, score, threshold, severity, model_version)
      values ($1, $2, $3, $4, $5, 0.05, 'warning', $6)`, [id, detector, device, ts, score, version]);
  }
}

const near = (a: number | null, b: number, what: string) => assert.ok(a !== null && Math.abs(a - b) < 1e-12, `${what}: expected ${b}, got ${a}`);

// ---------------------------------------------------------------------------------------------------------------
const Empty = suite('analytics on empty tables');
let empty: Awaited<ReturnType<typeof freshDb>>;
Empty.before(async () => { empty = await freshDb('empty'); });

Empty('every job gives empty results, not an error', async () => {
  assert.equal(await anomalyRates(empty.store, all), []);
  assert.equal(await deviceHours(empty.store, all), []);
  assert.equal(await modelEvaluation(empty.store, all), []);
  for (const job of analyticsJobs) {
    const run = await runJob(job, all, { store: empty.store, bus: null, topic: 'x', log: silentLogger, keepRuns: 5 });
    assert.is(run.status, 'ok', `${job.name}: ${run.error}`);
    assert.is(run.rows, 0);
  }
  const runs = await empty.pool.query(`select job, status, rows from analytics_runs order by job`);
  assert.equal(runs.rows, [{ job: 'anomaly-rates', status: 'ok', rows: 0 }, { job: 'model-evaluation', status: 'ok', rows: 0 }, { job: 'trends', status: 'ok', rows: 0 }]);
});

Empty('readings without any anomaly: zero rates, trends without change, no evaluation', async () => {
  const { pool, store } = await freshDb('quiet');
  await pool.query(`insert into readings (reading_id, device_id, ts, features, label, topic_partition, topic_offset) values ('q1', 'd1', '${at(8, 0)}', '{}', 0, 0, 0)`);
  assert.equal((await anomalyRates(store, all)).map((r) => [r.scope, r.key, r.detector, r.readings, r.anomalies, r.rate]), [
    ['device', 'd1', 'any', 1, 0, 0], ['hour', '2024-06-10T08:00:00.000Z', 'any', 1, 0, 0], ['attack_type', '(none)', 'any', 1, 0, 0],
  ]);
  assert.equal(await modelEvaluation(store, all), [], 'no detector has ever flagged anything: nothing to evaluate');
});

// ---------------------------------------------------------------------------------------------------------------
const Hand = suite('analytics on hand-made rows');
let db: Awaited<ReturnType<typeof freshDb>>;
Hand.before(async () => {
  db = await freshDb('hand');
  await seed(db.pool);
});

Hand('anomaly rates per device, hour and attack type, per detector and any', async () => {
  const rows = await anomalyRates(db.store, all);
  const pick = (scope: string, detector: string) => rows.filter((r) => r.scope === scope && r.detector === detector).map((r) => [r.key, r.readings, r.anomalies, r.rate]);
  assert.equal(pick('device', 'any'), [['d1', 4, 3, 0.75], ['d2', 4, 2, 0.5], ['d3', 1, 0, 0], ['d4', 4, 4, 1]]);
  assert.equal(pick('device', 'autoencoder'), [['d1', 4, 3, 0.75], ['d2', 4, 0, 0], ['d3', 1, 0, 0], ['d4', 4, 4, 1]]);
  assert.equal(pick('device', 'zscore'), [['d1', 4, 1, 0.25], ['d2', 4, 2, 0.5], ['d3', 1, 0, 0], ['d4', 4, 0, 0]], 'the orphan r99 counts nowhere');
  assert.equal(pick('hour', 'any'), [['2024-06-10T08:00:00.000Z', 8, 7, 0.875], ['2024-06-10T09:00:00.000Z', 5, 2, 0.4]]);
  assert.equal(pick('attack_type', 'any'), [['(none)', 3, 2, 2 / 3], ['Backdoor', 1, 1, 1], ['DDoS', 4, 4, 1], ['Normal', 5, 2, 0.4]]);
  assert.is(rows.length, 30, '(4 devices + 2 hours + 4 attack types) × (any, autoencoder, zscore)');
  const hourRow = rows.find((r) => r.scope === 'hour')!;
  assert.equal(hourRow.hour, new Date(at(8, 0)));
});

Hand('since: only readings from 09:00 on', async () => {
  const out = await anomalyRatesJob.run(db.store, { since: new Date(at(9, 0)), topN: 10 });
  assert.equal(out.summary, { job: 'anomaly-rates', overall: { readings: 5, anomalies: 2, rate: 0.4 }, rows: { device: 9, hour: 3, attackType: 9 } });
});

Hand('trends: hour-over-hour change per device and the top-N devices', async () => {
  const hours = await deviceHours(db.store, all);
  assert.equal(hourOverHour(hours).map((r) => [r.deviceId, r.hour.toISOString().slice(11, 13), r.readings, r.anomalies, r.rate, r.previousRate, r.change]), [
    ['d1', '08', 2, 2, 1, null, null],
    ['d1', '09', 2, 1, 0.5, 1, -0.5],
    ['d2', '08', 2, 1, 0.5, null, null],
    ['d2', '09', 2, 1, 0.5, 0.5, 0],
    ['d3', '09', 1, 0, 0, null, null],
    ['d4', '08', 4, 4, 1, null, null],
  ]);
  assert.equal(topDevices(hours, 2).map((d) => [d.rank, d.deviceId, d.rate]), [[1, 'd4', 1], [2, 'd1', 0.75]]);
  const out = await trendsJob.run(db.store, { since: null, topN: 3 });
  assert.equal(out.tables.map((t) => [t.table, t.rows.length]), [['analytics_trends', 6], ['analytics_top_devices', 3]]);
});

Hand('model evaluation per detector and version: precision, recall, F1, ROC-AUC', async () => {
  const rows = await modelEvaluation(db.store, all);
  assert.equal(rows.map((r) => [r.detector, r.modelVersion, r.readings, r.positives, r.tp, r.fp, r.fn, r.tn]), [
    ['autoencoder', null, 12, 5, 4, 3, 1, 4],
    ['autoencoder', 1, 2, 1, 1, 1, 0, 0],
    ['autoencoder', 2, 2, 1, 1, 0, 0, 1],
    ['autoencoder', 3, 4, 2, 2, 2, 0, 0],
    ['zscore', null, 12, 5, 2, 1, 3, 6],
  ]);
  const get = (d: string, v: number | null) => rows.find((r) => r.detector === d && r.modelVersion === v)!;
  // pooled autoencoder: pairs won 7 + 7 (0.9s) + 5 + 5 (0.7s) + 2 (unscored r6 ties 4 unscored negatives) of 5 × 7
  near(get('autoencoder', null).precision, 4 / 7, 'ae precision');
  near(get('autoencoder', null).recall, 4 / 5, 'ae recall');
  near(get('autoencoder', null).f1, 2 / 3, 'ae f1');
  near(get('autoencoder', null).rocAuc, 26 / 35, 'ae auc');
  near(get('autoencoder', 1).f1, 2 / 3, 'v1 f1');
  near(get('autoencoder', 1).rocAuc, 1, 'v1 auc');
  near(get('autoencoder', 2).precision, 1, 'v2 precision (r4 attributed to v2 by r3, before it on d1)');
  near(get('autoencoder', 2).rocAuc, 1, 'v2 auc');
  near(get('autoencoder', 3).rocAuc, 0.75, 'v3: scores [0.9 pos, 0.8 neg, 0.7 pos, 0.1 neg]');
  near(get('autoencoder', 3).precision, 0.5, 'v3 precision');
  // zscore: r6 and r1 beat r7 and 6 unscored negatives (7 each); r3, r10, r12 tie 6 unscored negatives (3 each)
  near(get('zscore', null).precision, 2 / 3, 'z precision');
  near(get('zscore', null).recall, 2 / 5, 'z recall');
  near(get('zscore', null).f1, 0.5, 'z f1');
  near(get('zscore', null).rocAuc, 23 / 35, 'z auc');
});

Hand('a run writes its rows and its run record in the tables, and older runs are pruned', async () => {
  const bus = createMemoryBus();
  try {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await runJob(modelEvaluationJob, all, { store: db.store, bus, topic: 'analytics-results', log: silentLogger, keepRuns: 2 })).runId);
    const runs = await db.pool.query(`select run_id, status, rows from analytics_runs where job = 'model-evaluation' order by started_at`);
    assert.equal(runs.rows.map((r) => r.run_id).sort(), ids.slice(1).sort(), 'the oldest run is gone');
    assert.ok(runs.rows.every((r) => r.status === 'ok' && r.rows === 5));
    const stored = await db.pool.query(`select run_id, detector, model_version, tp, fp, fn, tn, precision, roc_auc from analytics_model_evaluation where run_id = $1 order by detector, model_version nulls first`, [ids[2]]);
    assert.equal(stored.rows.map((r) => [r.detector, r.model_version, Number(r.tp), Number(r.fp), Number(r.fn), Number(r.tn)]), [
      ['autoencoder', null, 4, 3, 1, 4], ['autoencoder', 1, 1, 1, 0, 0], ['autoencoder', 2, 1, 0, 0, 1], ['autoencoder', 3, 2, 2, 0, 0], ['zscore', null, 2, 1, 3, 6],
    ]);
    near(stored.rows[3].roc_auc, 0.75, 'stored v3 auc');
    assert.is(Number((await db.pool.query(`select count(*) from analytics_model_evaluation`)).rows[0].count), 10, '2 runs kept × 5 rows');

    const r1 = await runJob(anomalyRatesJob, all, { store: db.store, bus, topic: 'analytics-results', log: silentLogger, keepRuns: 2 });
    const r2 = await runJob(trendsJob, { since: null, topN: 2 }, { store: db.store, bus, topic: 'analytics-results', log: silentLogger, keepRuns: 2 });
    assert.equal(r1.tables, { analytics_anomaly_rates: 30 });
    assert.equal(r2.tables, { analytics_trends: 6, analytics_top_devices: 2 });
    const top = await db.pool.query(`select rank, device_id, rate from analytics_top_devices where run_id = $1 order by rank`, [r2.runId]);
    assert.equal(top.rows, [{ rank: 1, device_id: 'd4', rate: 1 }, { rank: 2, device_id: 'd1', rate: 0.75 }]);
    const change = await db.pool.query(`select change from analytics_trends where run_id = $1 and device_id = 'd1' order by hour`, [r2.runId]);
    assert.equal(change.rows, [{ change: null }, { change: -0.5 }]);

    const messages = await readAll(bus, 'analytics-results', 5);
    assert.equal(messages.map((m) => m.key), ['model-evaluation', 'model-evaluation', 'model-evaluation', 'anomaly-rates', 'trends'], 'one message per job run, keyed by job');
    const decoded = messages.map((m) => decodeJson(AnalyticsResult, m.value));
    assert.ok(decoded.every(isRight));
    const last = decoded[4]!;
    if (isRight(last)) {
      assert.is(last.right.runId, r2.runId);
      assert.equal(last.right.summary, { job: 'trends', topN: 2, deviceHours: 6, top: [{ rank: 1, deviceId: 'd4', readings: 4, anomalies: 4, rate: 1 }, { rank: 2, deviceId: 'd1', readings: 4, anomalies: 3, rate: 0.75 }] });
    }
  } finally {
    await bus.close();
  }
});

Hand('a failing job is recorded and published as failed; its rows are not written', async () => {
  const broken: AnalyticsJob = { name: 'trends', tables: ['analytics_trends'], run: (q) => q.query('select * from no_such_table').then(() => { throw new Error('unreachable'); }) };
  const bus = createMemoryBus();
  try {
    const run = await runJob(broken, all, { store: db.store, bus, topic: 'analytics-results', log: silentLogger, keepRuns: 5 });
    assert.is(run.status, 'failed');
    assert.match(run.error!, /no_such_table/);
    const rec = await db.pool.query(`select status, rows, error from analytics_runs where run_id = $1`, [run.runId]);
    assert.equal(rec.rows[0].status, 'failed');
    assert.match(rec.rows[0].error, /no_such_table/);
    assert.is(Number((await db.pool.query(`select count(*) from analytics_trends where run_id = $1`, [run.runId])).rows[0].count), 0);
    const [m] = await readAll(bus, 'analytics-results', 1);
    const d = decodeJson(AnalyticsResult, m!.value);
    assert.ok(isRight(d) && d.right.status === 'failed' && d.right.summary === null && d.right.rows === 0);
  } finally {
    await bus.close();
  }
});

Hand('the service runs every job, and /health, /actors and /jobs show the last runs', async () => {
  const svc = startAnalytics({ store: db.store, bus: null, topic: 'analytics-results', jobs: analyticsJobs, settings: { intervalMs: 3_600_000, topN: 3, lookbackHours: 0, keepRuns: 3, publish: false }, log: silentLogger });
  const http = await startInspectionServer({ port: 0, routes: svc.routes });
  try {
    await svc.firstRound;
    const jobs = (await fetchJson(`${http.url}/jobs`)).body as Array<{ job: string; runs: number; lastRun: { status: string; rows: number; tables: Record<string, number>; durationMs: number; error: string | null } }>;
    assert.equal(jobs.map((j) => [j.job, j.runs, j.lastRun.status, j.lastRun.rows, j.lastRun.error]), [
      ['anomaly-rates', 1, 'ok', 30, null], ['trends', 1, 'ok', 9, null], ['model-evaluation', 1, 'ok', 5, null],
    ]);
    assert.ok(jobs.every((j) => typeof j.lastRun.durationMs === 'number'));
    const health = (await fetchJson(`${http.url}/health`)).body as { status: string; rounds: number; problems: string[] };
    assert.equal([health.status, health.rounds, health.problems], ['ok', 1, []]);
    const actors = (await fetchJson(`${http.url}/actors`)).body as Array<{ path: string; status: string }>;
    assert.equal(actors.map((a) => [a.path, a.status]), [['analytics/anomaly-rates', 'running'], ['analytics/model-evaluation', 'running'], ['analytics/trends', 'running']]);
    const one = await fetchJson(`${http.url}/jobs/trends`);
    assert.is(one.status, 200);
    assert.is((await fetchJson(`${http.url}/jobs/spark`)).status, 404);
    const metrics = parsePrometheus(await (await fetch(`${http.url}/metrics`)).text());
    assert.equal(jobs.map((j) => [metrics.get('flead_analytics_runs_total', { job: j.job, outcome: 'ok' }), metrics.get('flead_analytics_runs_total', { job: j.job, outcome: 'failed' }), metrics.get('flead_analytics_last_run_rows', { job: j.job })]), [[1, 0, 30], [1, 0, 9], [1, 0, 5]]);
  } finally {
    await svc.stop();
    await http.close();
  }
});

/** Every message of a topic of the memory bus, waiting until `count` arrived. */
async function readAll(bus: Bus, topic: string, count: number): Promise<BusMessage[]> {
  const got: BusMessage[] = [];
  const sub = await bus.subscribe({ groupId: `read-${randomBytes(3).toString('hex')}`, topics: [topic], fromBeginning: true, eachBatch: async (ms) => { got.push(...ms); } });
  try {
    await waitFor(`${count} message(s) on ${topic}`, async () => (got.length >= count ? true : undefined), 10_000, 20);
  } finally {
    await sub.stop();
  }
  return got;
}

// ---------------------------------------------------------------------------------------------------------------
const Cli = suite('flead analytics (CLI)');

Cli('run all exits 0 on an empty database migrated without the analytics tables, and publishes 3 messages', async () => {
  const { settings, pool } = await freshDb('cli', false);
  const prefix = `t-${runId}-`;
  const r = await runFlead(['analytics', 'run', 'all'], { PGDATABASE: settings.database, FLEAD_TOPIC_PREFIX: prefix, LOG_LEVEL: 'warn' });
  assert.is(r.code, 0, `stdout: ${r.stdout}\nstderr: ${r.stderr}`);
  for (const job of ['anomaly-rates', 'trends', 'model-evaluation']) assert.match(r.stdout, new RegExp(`^${job} \\(${job}-\\S+\\): ok, 0 row\\(s\\)`, 'm'));
  assert.match(r.stdout, /published/);
  const runs = await pool.query(`select job, status from analytics_runs order by job`);
  assert.equal(runs.rows.map((x) => x.job), ['anomaly-rates', 'model-evaluation', 'trends']);
});

Cli('run trends --no-publish on the hand-made rows prints the table; bad arguments exit 2 with a sentence', async () => {
  const r = await runFlead(['analytics', 'run', 'trends', '--no-publish', '--top-n', '2'], { PGDATABASE: db.settings.database, LOG_LEVEL: 'warn' });
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /analytics_top_devices\n\s+rank\s+device_id\s+readings\s+anomalies\s+rate\n\s+1\s+d4\s+4\s+4\s+1\n\s+2\s+d1\s+4\s+3\s+0\.7500/);
  assert.not.match(r.stdout, /published/);
  const bad = await runFlead(['analytics', 'run', 'spark'], { PGDATABASE: db.settings.database });
  assert.is(bad.code, 2);
  assert.match(bad.stderr, /unknown job "spark"; jobs are anomaly-rates, trends, model-evaluation or all/);
  const noJob = await runFlead(['analytics', 'run'], { PGDATABASE: db.settings.database });
  assert.is(noJob.code, 2);
  const interval = await runFlead(['analytics'], { PGDATABASE: db.settings.database, ANALYTICS_INTERVAL_MS: '10' });
  assert.is(interval.code, 2);
  assert.match(interval.stderr, /ANALYTICS_INTERVAL_MS \(--interval-ms\) must be at least 1000 ms, got 10/);
});

Cli('the service answers /jobs after its first round and exits 0 on SIGTERM', async () => {
  const port = await freePort();
  const proc = startFlead(['analytics', '--no-publish'], { PGDATABASE: db.settings.database, INSPECT_PORT: String(port), ANALYTICS_INTERVAL_MS: '60000' }, `/tmp/flead-analytics-${runId}.log`);
  try {
    const jobs = await waitFor('three finished jobs on /jobs', async () => {
      const j = await getJson<Array<{ lastRun: { status: string } | null }>>(`http://127.0.0.1:${port}/jobs`);
      return j && j.every((x) => x.lastRun?.status === 'ok') ? j : undefined;
    }, 30_000, 200);
    assert.is(jobs.length, 3);
  } finally {
    proc.child.kill('SIGTERM');
  }
  const { code } = await proc.exited;
  assert.is(code, 0);
});

// uvu runs the suites one after another in this process; the databases are dropped after the last one
Cli.after(dropAll);

Empty.run();
Hand.run();
Cli.run();
