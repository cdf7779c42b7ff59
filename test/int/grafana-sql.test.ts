/**
 * Every SQL text of the Grafana dashboards (panels and query variables of src/infra/grafana/dashboards.ts),
 * with Grafana's macros and variables expanded as Grafana would (src/infra/grafana/macros.ts), runs on a
 * database migrated by src/infra/db (a unique database, dropped at the end): first empty (no error, at least
 * one column), then holding sample rows of every table (rows, the right column types for time series, and
 * non-null values in the stat panels).
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { randomBytes } from 'node:crypto';
import { isLeft } from 'fp-ts/Either';
import type { FieldDef } from 'pg';
import { withDb } from '../../src/infra/db/open';
import { createPool, ensureDatabase, pgSettingsFromEnv, quoteIdent, type PgSettings, type Pool } from '../../src/infra/db/pg';
import { migrate } from '../../src/infra/db/migrations';
import { silentLogger } from '../../src/infra/log';
import { dashboards, queriesOf, type DashboardDef } from '../../src/infra/grafana/dashboards';
import { expandGrafanaSql, MacroError, type MacroContext } from '../../src/infra/grafana/macros';

const env = pgSettingsFromEnv(process.env);
if (isLeft(env)) throw new Error(env.left);
const settings: PgSettings = { ...env.right, database: `flead_test_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}_grafana` };
let pool: Pool;

const HOUR = 3_600_000;
const now = Date.now();
const devices = ['mote-1', 'mote-2', 'mote-3'];
const detectors = ['zscore', 'autoencoder', 'classifier'];

/** Time range and variables as the dashboards open: the last 2 days, every device, one detector. */
function context(detector: string, extra: Partial<MacroContext> = {}): MacroContext {
  return {
    from: new Date(now - 48 * HOUR),
    to: new Date(now + HOUR),
    intervalMs: 60_000,
    variables: { device: { values: devices, multi: true }, detector: { values: [detector], multi: false } },
    ...extra,
  };
}

// pg type oids
const TIMESTAMPTZ = 1184; const TIMESTAMP = 1114;
const numericTypes = new Set([20, 21, 23, 700, 701, 1700]);
const TEXT = new Set([25, 1043]);

async function run(sql: string): Promise<{ fields: FieldDef[]; rows: Record<string, unknown>[] }> {
  const r = await pool.query(sql);
  return { fields: r.fields, rows: r.rows };
}

const all = dashboards.flatMap((d: DashboardDef) => queriesOf(d).map((q) => ({ ...q, kind: d.panels.find((p) => p.sql === q.sql)?.kind })));

const test = suite('grafana dashboards: every panel query runs on the migrated schema');

test.before(async () => {
  assert.is(await ensureDatabase(settings), true);
  pool = createPool(settings, { max: 2 });
  await withDb({ kind: 'postgresql', settings }, (d) => migrate(d, { log: silentLogger }));
});

test.after(async () => {
  await pool?.end().catch(() => undefined);
  const admin = createPool({ ...settings, database: 'postgres' }, { max: 1 });
  try {
    await admin.query(`drop database if exists ${quoteIdent(settings.database)} with (force)`);
  } finally {
    await admin.end();
  }
});

test('the macro expander does what Grafana documents for PostgreSQL', () => {
  const ctx: MacroContext = { from: new Date('2024-05-01T10:00:00Z'), to: new Date('2024-05-01T12:00:00Z'), intervalMs: 300_000, variables: { device: { values: ["a", "o'b"], multi: true }, detector: { values: ['zscore'], multi: false } } };
  assert.is(expandGrafanaSql('where $__timeFilter(ts)', ctx), "where ts BETWEEN '2024-05-01T10:00:00Z' AND '2024-05-01T12:00:00Z'");
  assert.is(expandGrafanaSql('select $__timeGroupAlias(ts, $__interval)', ctx), 'select floor(extract(epoch from ts)/300)*300 AS "time"');
  assert.is(expandGrafanaSql("select $__timeGroup(ts, '1h')", { ...ctx, timescaledb: true }), "select time_bucket('3600s', ts)");
  assert.is(expandGrafanaSql('select $__time(at), $__timeFrom(), $__timeTo()', ctx), `select at AS "time", '2024-05-01T10:00:00Z', '2024-05-01T12:00:00Z'`);
  assert.is(expandGrafanaSql('where $__unixEpochFilter(t)', ctx), 'where t >= 1714557600 AND t <= 1714564800');
  assert.is(expandGrafanaSql("device_id in ($device) and detector = '${detector}' and x = $__interval_ms", ctx), "device_id in ('a','o''b') and detector = 'zscore' and x = 300000");
  assert.throws(() => expandGrafanaSql('where $__timeFilterr(ts)', ctx), (e: unknown) => e instanceof MacroError && /unknown Grafana macro \$__timeFilterr/.test((e as Error).message));
  assert.throws(() => expandGrafanaSql('where device_id = $devise', ctx), /unknown dashboard variable "\$devise"/);
  assert.throws(() => expandGrafanaSql('select $__timeGroup(ts)', ctx), /takes 2 to 3 argument/);
});

test('every dashboard has panels, and every query expands without leftovers', () => {
  assert.is(dashboards.length, 4);
  for (const d of dashboards) assert.ok(d.panels.length >= 4, `${d.uid} has ${d.panels.length} panels`);
  for (const q of all) for (const det of detectors) assert.not.throws(() => expandGrafanaSql(q.sql, context(det)), q.where);
});

test('on the empty database every query runs and returns at least one column', async () => {
  for (const q of all) {
    for (const det of detectors) {
      let r;
      try {
        r = await run(expandGrafanaSql(q.sql, context(det)));
      } catch (e) {
        throw new Error(`${q.where} (detector ${det}) fails on the empty schema: ${(e as Error).message}`);
      }
      assert.ok(r.fields.length >= 1, `${q.where}: no columns`);
    }
  }
});

test('with sample rows every query returns rows; time series have a time column and numeric values; stats are not null', async () => {
  await insertSample();
  const failures: string[] = [];
  for (const q of all) {
    for (const det of ['autoencoder', 'zscore']) {
      const where = `${q.where} (detector ${det})`;
      let r;
      try {
        r = await run(expandGrafanaSql(q.sql, context(det)));
      } catch (e) {
        failures.push(`${where}: ${(e as Error).message}`);
        continue;
      }
      if (!r.fields.length) failures.push(`${where}: no columns`);
      if (!r.rows.length) failures.push(`${where}: no rows although the sample has data for it`);
      if (q.format === 'time_series') {
        const time = r.fields.find((f) => f.name === 'time');
        if (!time || ![TIMESTAMPTZ, TIMESTAMP, ...numericTypes].includes(time.dataTypeID)) failures.push(`${where}: a time series needs a "time" column of a time or epoch type, got ${time ? time.dataTypeID : 'none'}`);
        for (const f of r.fields) {
          if (f.name === 'time') continue;
          if (f.name === 'metric' ? !TEXT.has(f.dataTypeID) : !numericTypes.has(f.dataTypeID)) failures.push(`${where}: column ${f.name} has type oid ${f.dataTypeID}`);
        }
        const times = r.rows.map((row) => Number(row.time instanceof Date ? row.time.getTime() : row.time));
        if (times.some((t, i) => i > 0 && t < times[i - 1]!)) failures.push(`${where}: rows are not ordered by time`);
      }
      if (q.kind === 'stat') {
        for (const [k, v] of Object.entries(r.rows[0] ?? {})) if (v === null) failures.push(`${where}: stat value ${k} is null`);
      }
    }
  }
  assert.equal(failures, [], failures.join('\n'));
});

test('the numbers are right: detection quality per model version and per device', async () => {
  const federation = dashboards.find((d) => d.uid === 'flead-federation')!;
  const counts = federation.panels.find((p) => p.title === 'Detection counts per model version')!;
  const rows = (await run(expandGrafanaSql(counts.sql, context('autoencoder')))).rows;
  const expected = expectedQuality();
  assert.equal(rows.map((r) => ({ version: r.version, labelled: Number(r.labelled), positives: Number(r.positives), flagged: Number(r.flagged), tp: Number(r.true_positives) })), expected);
  const analytics = dashboards.find((d) => d.uid === 'flead-analytics')!;
  const perDevice = analytics.panels.find((p) => p.title === 'Detection quality per device')!;
  const dev = (await run(expandGrafanaSql(perDevice.sql, context('autoencoder')))).rows;
  assert.equal(dev.map((r) => r.device_id), devices);
  const totals = dev.reduce<{ flagged: number; tp: number }>((a, r) => ({ flagged: a.flagged + Number(r.flagged), tp: a.tp + Number(r.true_positives) }), { flagged: 0, tp: 0 });
  assert.equal(totals, { flagged: expected.reduce((a, e) => a + e.flagged, 0), tp: expected.reduce((a, e) => a + e.tp, 0) });
  // one device selected: only its rows
  const one = (await run(expandGrafanaSql(perDevice.sql, { ...context('autoencoder'), variables: { device: { values: ['mote-2'], multi: true }, detector: { values: ['autoencoder'], multi: false } } }))).rows;
  assert.equal(one.map((r) => r.device_id), ['mote-2']);
});

// ---------------------------------------------------------------------------------------------------------
// sample data: 3 devices, one reading every 10 minutes over the last 12 hours, every 7th labelled anomalous;
// global versions 0 (13 h ago), 1 (8 h ago), 2 (3 h ago); the autoencoder flags every 7th and every 11th
// reading (true and false positives) with the version current at the reading, z-score every 5th.

interface SampleReading { id: string; device: string; ts: number; label: number }
const versionTimes = [now - 13 * HOUR, now - 8 * HOUR, now - 3 * HOUR];
const versionAt = (ts: number) => versionTimes.reduce((v, t, i) => (ts >= t ? i : v), -1);

function sampleReadings(): SampleReading[] {
  const out: SampleReading[] = [];
  devices.forEach((device, d) => {
    for (let i = 0; i < 72; i++) {
      const ts = now - 12 * HOUR + i * 600_000 + d * 1000;
      out.push({ id: `${device}-${i}`, device, ts, label: i % 7 === 0 ? 1 : 0 });
    }
  });
  return out;
}
const flaggedByModel = (r: SampleReading) => { const i = Number(r.id.split('-').pop()); return i % 7 === 0 || i % 11 === 0; };

function expectedQuality(): Array<{ version: number; labelled: number; positives: number; flagged: number; tp: number }> {
  return [0, 1, 2].map((version) => {
    const rs = sampleReadings().filter((r) => versionAt(r.ts) === version);
    const flagged = rs.filter(flaggedByModel);
    return { version, labelled: rs.length, positives: rs.filter((r) => r.label === 1).length, flagged: flagged.length, tp: flagged.filter((r) => r.label === 1).length };
  }).filter((e) => e.labelled > 0);
}

async function insertSample(): Promise<void> {
  const readings = sampleReadings();
  let offset = 0;
  for (const r of readings) {
    await pool.query(`insert into readings (reading_id, device_id, ts, features, label, attack_type, topic_partition, topic_offset) values ($1, $2, $3, $4, $5, $6, 0, $7)`,
      [r.id, r.device, new Date(r.ts), JSON.stringify({ temperature: 20 + (offset % 5), humidity: 40 }), r.label, r.label ? 'DDoS_UDP' : 'Normal', offset++]);
    const i = Number(r.id.split('-').pop());
    if (flaggedByModel(r)) {
      await pool.query(`insert into anomalies (reading_id, detector, device_id, ts, score, threshold, severity, model_version) values ($1, 'autoencoder', $2, $3, $4, 0.5, $5, $6)`,
        [r.id, r.device, new Date(r.ts), 0.6 + (i % 3) / 10, i % 2 ? 'critical' : 'warning', versionAt(r.ts)]);
    }
    if (i % 5 === 0) {
      await pool.query(`insert into anomalies (reading_id, detector, device_id, ts, score, threshold, severity, model_version) values ($1, 'zscore', $2, $3, 3.5, 3, 'warning', null)`, [r.id, r.device, new Date(r.ts)]);
    }
  }
  for (const [version, t] of versionTimes.entries()) {
    await pool.query(`insert into global_models (version, hash, parent_version, round, strategy, updates, created_at) values ($1, $2, $3, $4, $5, $6, $7)`,
      [version, `${String(version).repeat(64)}`.slice(0, 64), version ? version - 1 : null, version, JSON.stringify({ name: 'fedavg', trimRatio: null }),
        JSON.stringify(version ? devices.map((c) => ({ clientId: c, updateId: `${c}-r${version}`, hash: 'a'.repeat(64), sampleCount: 10 })) : []), new Date(t)]);
  }
  let seq = 0;
  const event = (type: string, round: number | null, data: object, at: number) =>
    pool.query('insert into round_events (service, seq, type, round, data, at) values ($1, $2, $3, $4, $5, $6)', ['aggregator', ++seq, type, round, JSON.stringify({ type, ...data }), new Date(at)]);
  await event('ModelInitialised', null, { version: 0 }, versionTimes[0]!);
  for (const round of [1, 2]) {
    const closedAt = versionTimes[round]!;
    await event('RoundOpened', round, { round, baseVersion: round - 1, quorum: 3 }, closedAt - 30 * 60_000);
    for (const c of devices) {
      await pool.query('insert into local_updates (update_id, client_id, round, base_version, sample_count, hash, metrics, sent_at) values ($1, $2, $3, $4, 10, $5, $6, $7)',
        [`${c}-r${round}`, c, round, round - 1, 'b'.repeat(64), JSON.stringify({ loss: 0.5 / round }), new Date(closedAt - 10 * 60_000)]);
      await event('UpdateAccepted', round, { round, clientId: c }, closedAt - 10 * 60_000);
    }
    await event('UpdateRejected', round, { round, clientId: 'mote-9', reason: 'stale-base' }, closedAt - 5 * 60_000);
    await event('RoundClosed', round, { round, reason: 'quorum', accepted: 3 }, closedAt);
    await event('ModelAggregated', round, { round, version: round }, closedAt);
  }
  await pool.query(`insert into sink_offsets (consumer, topic, partition, next_offset) values ('flead-sink', 'edge-iiot-stream', 0, $1), ('flead-sink', 'anomalies', 0, 42)`, [offset]);
}

test.run();
