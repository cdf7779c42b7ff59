/**
 * The device decider: given(history).when(command).then(events), one suite per command, then evolve and fold.
 * Numbers are worked out by hand. Settings: z-score window 10, threshold 2.5, critical 5, minSamples 3;
 * a training window of 4 readings; device "dev-1"; model kind autoencoder.
 */
import { suite } from 'uvu';
import { isRight } from 'fp-ts/Either';
import * as assert from 'uvu/assert';
import { fold } from '../../src/actors/runtime/decider';
import { decodeOrThrow } from '../../src/actors/runtime/decode';
import { deviceDecider, EVENT_BUDGET_BYTES, READINGS_PER_EVENT } from '../../src/actors/trainer/device.decider';
import { alertCounts, anomaliesOf, DeviceEvent, type Alert, type DeviceCommand, type IncomingReading, type ScoredReading } from '../../src/actors/trainer/device.events';
import { decodeDeviceState, deviceSummary, type DeviceSettings, type DeviceState } from '../../src/actors/trainer/device.state';
import type { Anomaly } from '../../src/protocols/readings';
import { deepFreeze, given } from '../support/given';

const SETTINGS: DeviceSettings = {
  deviceId: 'dev-1',
  zscore: { window: 10, threshold: 2.5, critical: 5, minSamples: 3 },
  window: 4,
  trainEvery: 3,
  thresholdEvery: 1000,
  minTrainSamples: 2,
  trainIntervalMs: 60_000,
  features: null,
  modelKind: 'autoencoder',
};
const decider = deviceDecider(SETTINGS);

const T0 = 1_700_000_000_000;
const NOW = T0 + 1_000;
const W = 'AAAAAAAAgD8='; // two float32s, 0 and 1, base64
const W_LOCAL = 'AACAPwAAAEA='; // 1 and 2
const hash = (c: string): string => c.repeat(64);

// ---------------------------------------------------------------------------------------------------------
// Readings, commands and events, written out

/** Reading n: id "r<n>", ts T0 + n, partition 0, offset "<n>", unlabelled (unless overridden). */
const rd = (n: number, features: Record<string, number>, o: Partial<IncomingReading> = {}): IncomingReading =>
  ({ readingId: `r${n}`, ts: T0 + n, partition: 0, offset: String(n), features, label: null, ...o });
const v = (n: number, value: number, o: Partial<IncomingReading> = {}): IncomingReading => rd(n, { v: value }, o);
const scoreBatch = (readings: IncomingReading[], modelScores: Array<number | null> | null = null, now = NOW): DeviceCommand =>
  ({ type: 'ScoreBatch', readings, modelScores, now });
const scored = (r: IncomingReading, x: number[], z: number | null = null, m: number | null = null): ScoredReading =>
  ({ readingId: r.readingId, ts: r.ts, partition: r.partition, offset: r.offset, x, label: r.label, z, m });
const fixed = (...names: string[]): DeviceEvent => ({ type: 'FeaturesFixed', featureNames: names });
/** ReadingsScored with these anomalies, written as the event holds them: alerts pointing at their readings. */
const readingsScored = (readings: ScoredReading[], anomalies: Anomaly[] = [], duplicates = 0, at = NOW): DeviceEvent => {
  const model = anomalies.find((a) => a.detector !== 'zscore');
  return {
    type: 'ReadingsScored', readings, duplicates, at, zThreshold: SETTINGS.zscore.threshold,
    alerts: anomalies.map((a): Alert => [readings.findIndex((r) => r.readingId === a.readingId), a.detector === 'zscore' ? 0 : 1, a.severity === 'critical' ? 1 : 0]),
    model: model ? { detector: model.detector as 'autoencoder' | 'classifier', threshold: model.threshold, version: model.modelVersion } : null,
  };
};
/** The form journals written before 2026-12-02 hold: the anomalies in full. */
const legacyReadingsScored = (readings: ScoredReading[], anomalies: Anomaly[] = [], duplicates = 0, at = NOW): DeviceEvent =>
  ({ type: 'ReadingsScored', readings, anomalies, duplicates, at });
/** Readings of the one feature "v" already applied (z and m are not used by evolve). */
const history = (values: Array<[n: number, value: number]>, o: Partial<IncomingReading> = {}): DeviceEvent[] =>
  [fixed('v'), readingsScored(values.map(([n, x]) => scored(v(n, x, o), [x])), [], 0, T0 + 500)];
const zAnomaly = (r: IncomingReading, score: number, severity: 'warning' | 'critical'): Anomaly =>
  ({ deviceId: 'dev-1', readingId: r.readingId, ts: r.ts, score, threshold: 2.5, detector: 'zscore', modelVersion: null, severity });

/** `merged`: the model's lineage names this device */
const applyGlobal = (version: number, threshold: number | null = null, now = NOW, merged = false): DeviceCommand =>
  ({ type: 'ApplyGlobal', version, hash: hash(String(version % 10)), weights: W, threshold, merged, now });
/** `merged` null: an event written before the field existed */
const globalApplied = (version: number, threshold: number | null = null, at = T0, merged: boolean | null = false): DeviceEvent =>
  ({ type: 'GlobalModelApplied', version, hash: hash(String(version % 10)), weights: W, threshold, at, ...(merged === null ? {} : { merged }) });
const joinRound = (round: number, baseVersion: number, deadline: number, now = NOW): DeviceCommand => ({ type: 'JoinRound', round, baseVersion, deadline, now });
const roundJoined = (round: number, baseVersion: number, deadline: number, at = T0): DeviceEvent => ({ type: 'RoundJoined', round, baseVersion, deadline, at });
/** `seen`: the device's reading count when the training took its window */
const recordTraining = (baseVersion: number, now: number, seen = 0): DeviceCommand =>
  ({ type: 'RecordTraining', baseVersion, weights: W_LOCAL, hash: hash('e'), loss: 0.25, samples: 4, threshold: 0.75, seen, now });
/** `seen` null: an event written before the field existed */
const trained = (baseVersion: number, sentForRound: number | null, updateId: string | null, at: number, seen: number | null = 0): DeviceEvent =>
  ({ type: 'LocalModelTrained', baseVersion, weights: W_LOCAL, hash: hash('e'), loss: 0.25, samples: 4, threshold: 0.75, sentForRound, updateId, at, ...(seen === null ? {} : { seen }) });

/** The same value with every non-integer rounded to 9 decimals (hand-computed z values vs floating point). */
const rounded = <T>(x: T): T => JSON.parse(JSON.stringify(x, (_k, n: unknown) => (typeof n === 'number' && !Number.isInteger(n) ? Number(n.toFixed(9)) : n)));
const near = (actual: unknown, expected: unknown, message?: string): void => assert.equal(rounded(actual), rounded(expected), message);

// ---------------------------------------------------------------------------------------------------------

const Score = suite('ScoreBatch');

Score('on a fresh device: FeaturesFixed with the sorted keys of the first reading, then ReadingsScored', () => {
  const r1 = rd(1, { temp: 21, hum: 40, co2: 400 });
  const r2 = rd(2, { hum: 41, temp: 22, co2: 410 }, { label: 1 });
  given(decider, [])
    .when(scoreBatch([r1, r2]))
    .then([fixed('co2', 'hum', 'temp'), readingsScored([scored(r1, [400, 40, 21]), scored(r2, [410, 41, 22])])])
    .thenState({ featureNames: ['co2', 'hum', 'temp'], seen: 2, lastOffsets: { 0: '2' }, window: [[400, 40, 21, 410, 41, 22]], windowLabels: [null, 1], sinceTraining: 2 });
});

Score('settings.features fixes the order: a missing feature reads 0, an extra one is left out', () => {
  const d = deviceDecider({ ...SETTINGS, features: ['temp', 'hum', 'pressure'] });
  const r1 = rd(1, { co2: 400, hum: 40, temp: 21 });
  given(d, []).when(scoreBatch([r1])).then([fixed('temp', 'hum', 'pressure'), readingsScored([scored(r1, [21, 40, 0])])]);
});

Score('once fixed, the feature order is that of the history, whatever the order of the keys', () => {
  const r3 = rd(3, { b: 2, c: 3, a: 1 });
  given(decider, [fixed('c', 'a', 'b')]).when(scoreBatch([r3])).then([readingsScored([scored(r3, [3, 1, 2])])]);
});

Score('an empty batch causes nothing, before and after the features are fixed', () => {
  given(decider, []).when(scoreBatch([])).then([]);
  given(decider, history([[1, 10]])).when(scoreBatch([])).then([]);
});

Score('readings at or below the last offset of their partition are dropped and counted as duplicates', () => {
  // applied: partition 0 up to offset 5, partition 1 up to offset 7
  const h: DeviceEvent[] = [fixed('v'), readingsScored([scored(v(5, 1), [1]), scored(v(7, 1, { partition: 1 }), [1])], [], 0, T0)];
  // (one constant value, so that no z-score gets in the way)
  const batch = [
    v(5, 1), // = last of partition 0
    v(4, 1), // below it
    v(8, 1, { partition: 1 }), // fresh on partition 1
    v(6, 1), // fresh on partition 0
    v(6, 1), // the same offset again within the batch
    v(3, 1, { partition: 2 }), // a partition never seen: fresh
  ];
  given(decider, h)
    .when(scoreBatch(batch))
    .then([readingsScored([scored(batch[2]!, [1]), scored(batch[3]!, [1]), scored(batch[5]!, [1])], [], 3)])
    .thenState({ seen: 5, lastOffsets: { 0: '6', 1: '8', 2: '3' } })
    .thenState((s) => s.counters.duplicates === 3);
});

Score('a batch of only duplicates: ReadingsScored without readings, duplicates = n; only the counter moves', () => {
  const h = history([[1, 10], [2, 11], [3, 12]]);
  const r = given(decider, h)
    .when(scoreBatch([v(1, 10), v(2, 11), v(3, 12)], [0.1, 0.2, 0.3]))
    .then([readingsScored([], [], 3)]);
  assert.equal({ ...r.state, counters: { ...r.state.counters, duplicates: 0 } }, r.before, 'nothing but the duplicate counter changed');
  assert.is(r.state.counters.duplicates, 3);
});

Score('offsets compare as integers (BigInt), not as strings or doubles', () => {
  // "10" > "9" numerically although "10" < "9" as text
  given(decider, history([[9, 1]]))
    .when(scoreBatch([v(10, 2)]))
    .then([readingsScored([scored(v(10, 2), [2])])])
    .thenState({ lastOffsets: { 0: '10' } });
  // and "9" after "10" is a duplicate
  given(decider, history([[10, 1]])).when(scoreBatch([v(9, 2)])).then([readingsScored([], [], 1)]);
  // beyond 2^53, doubles cannot tell 9007199254740993 from 9007199254740992; BigInt can
  const h = [fixed('v'), readingsScored([scored(v(1, 1, { offset: '9007199254740992' }), [1])], [], 0, T0)];
  const next = v(2, 2, { offset: '9007199254740993' });
  given(decider, h).when(scoreBatch([next])).then([readingsScored([scored(next, [2])])]).thenState({ lastOffsets: { 0: '9007199254740993' } });
});

Score('z-scores, by hand: 10, 10, 11, 9, 10, then 30 (window 10, threshold 2.5, critical 5, minSamples 3)', () => {
  const rs = [v(1, 10), v(2, 10), v(3, 11), v(4, 9), v(5, 10), v(6, 30)];
  // r1..r3: fewer than 3 values in the window before them → no score
  // r4 = 9 against [10, 10, 11]: mean 31/3, population variance (1/9 + 1/9 + 4/9)/3 = 2/9, std √2/3,
  //      |z| = (4/3)/(√2/3) = 2√2 ≈ 2.828 > 2.5 → warning
  // r5 = 10 against [10, 10, 11, 9]: mean 10 → z = 0
  // r6 = 30 against [10, 10, 11, 9, 10]: mean 10, variance 2/5, z = 20/√0.4 = 10√10 ≈ 31.62 > 5 → critical
  const z4 = 2 * Math.SQRT2;
  const z6 = 10 * Math.sqrt(10);
  const r = given(decider, []).when(scoreBatch(rs));
  near(r.events, [fixed('v'), readingsScored(
    [scored(rs[0]!, [10]), scored(rs[1]!, [10]), scored(rs[2]!, [11]), scored(rs[3]!, [9], z4), scored(rs[4]!, [10], 0), scored(rs[5]!, [30], z6)],
    [zAnomaly(rs[3]!, z4, 'warning'), zAnomaly(rs[5]!, z6, 'critical')],
  )]);
  assert.is(r.state.counters.zscoreAnomalies, 2);
  assert.is(r.state.counters.modelAnomalies, 0);
});

Score('the window carries over commands: after 10, 10, 11, 9, 10 in the history, 30 scores 10√10 (critical)', () => {
  const r6 = v(6, 30);
  const r = given(decider, history([[1, 10], [2, 10], [3, 11], [4, 9], [5, 10]])).when(scoreBatch([r6]));
  near(r.events, [readingsScored([scored(r6, [30], 10 * Math.sqrt(10))], [zAnomaly(r6, 10 * Math.sqrt(10), 'critical')])]);
});

Score('the scored reading is not in its own statistics (with it, 30 would score only √5 ≈ 2.24, no anomaly)', () => {
  const r6 = v(6, 30);
  const r = given(decider, history([[1, 10], [2, 10], [3, 11], [4, 9], [5, 10]])).when(scoreBatch([r6]));
  const z = (r.events[0] as Extract<DeviceEvent, { type: 'ReadingsScored' }>).readings[0]!.z!;
  assert.ok(Math.abs(z - Math.sqrt(5)) > 1, `z ${z} looks self-included`);
  assert.ok(Math.abs(z - 10 * Math.sqrt(10)) < 1e-9, `z ${z} is not 10√10`);
  // and it is in the window afterwards: a second 30 now scores against [10, 10, 11, 9, 10, 30]:
  // mean 80/6 = 40/3, variance (3·(10/3)² + (7/3)² + (13/3)² + (50/3)²)/6 = (300+49+169+2500)/54 = 3018/54
  const r7 = v(7, 30);
  const next = given(decider, [...history([[1, 10], [2, 10], [3, 11], [4, 9], [5, 10]]), ...r.events]).when(scoreBatch([r7]));
  const z7 = (50 / 3) / Math.sqrt(3018 / 54);
  near(next.events, [readingsScored([scored(r7, [30], z7)], [])], 'z7 ≈ 2.23: below the threshold');
});

Score('an outlier before minSamples values is not scored at all', () => {
  const rs = [v(1, 10), v(2, 10), v(3, 30)]; // only 2 values before r3
  given(decider, []).when(scoreBatch(rs)).then([fixed('v'), readingsScored([scored(rs[0]!, [10]), scored(rs[1]!, [10]), scored(rs[2]!, [30])])]);
});

Score('a constant feature (std 0) gives no score and no anomaly, even for a jump', () => {
  const r6 = v(6, 11);
  given(decider, history([[1, 10], [2, 10], [3, 10], [4, 10], [5, 10]])).when(scoreBatch([r6])).then([readingsScored([scored(r6, [11])])]);
});

const CONST5: Array<[number, number]> = [[1, 5], [2, 5], [3, 5], [4, 5], [5, 5]]; // constant: no z-score anomaly can interfere

Score('model anomalies: command.modelScores against state.model.threshold (0.5: warning above, critical above 1)', () => {
  const rs = [v(6, 5), v(7, 5), v(8, 5), v(9, 5), v(10, 5)];
  const model = (r: IncomingReading, score: number, severity: 'warning' | 'critical'): Anomaly =>
    ({ deviceId: 'dev-1', readingId: r.readingId, ts: r.ts, score, threshold: 0.5, detector: 'autoencoder', modelVersion: 3, severity });
  given(decider, [...history(CONST5), globalApplied(3, 0.5)])
    .when(scoreBatch(rs, [0.4, 0.5, 0.6, 1.2, null]))
    .then([readingsScored(
      [scored(rs[0]!, [5], null, 0.4), scored(rs[1]!, [5], null, 0.5), scored(rs[2]!, [5], null, 0.6), scored(rs[3]!, [5], null, 1.2), scored(rs[4]!, [5], null, null)],
      [model(rs[2]!, 0.6, 'warning'), model(rs[3]!, 1.2, 'critical')],
    )])
    .thenState((s) => s.counters.modelAnomalies === 2 && s.counters.zscoreAnomalies === 0);
});

Score('the detector is settings.modelKind and the version that of the current model (a local one too)', () => {
  const d = deviceDecider({ ...SETTINGS, modelKind: 'classifier' });
  const r6 = v(6, 5);
  given(d, [...history(CONST5), globalApplied(2, 0.5), roundJoined(1, 2, T0 + 60_000), trained(2, 1, 'dev-1-r1-v2', T0 + 10)])
    .when(scoreBatch([r6], [0.9]))
    .then([readingsScored([scored(r6, [5], null, 0.9)], [{ deviceId: 'dev-1', readingId: 'r6', ts: r6.ts, score: 0.9, threshold: 0.75, detector: 'classifier', modelVersion: 2, severity: 'warning' }])]);
});

Score('no model anomaly without a threshold, however high the score', () => {
  const r6 = v(6, 5);
  given(decider, history(CONST5)).when(scoreBatch([r6], [1e6])).then([readingsScored([scored(r6, [5], null, 1e6)])]);
  given(decider, [...history(CONST5), globalApplied(0, null)]).when(scoreBatch([r6], [1e6])).then([readingsScored([scored(r6, [5], null, 1e6)])]);
});

Score('model scores stay aligned with the command readings when duplicates are dropped', () => {
  const rs = [v(5, 5), v(6, 5)]; // r5 is a duplicate
  given(decider, [...history(CONST5), globalApplied(1, 0.5)])
    .when(scoreBatch(rs, [9, 0.2]))
    .then([readingsScored([scored(rs[1]!, [5], null, 0.2)], [], 1)]);
});

Score('a reading that is a z-score and a model outlier gives both anomalies, z-score first', () => {
  const r6 = v(6, 30);
  const r = given(decider, [...history([[1, 10], [2, 10], [3, 11], [4, 9], [5, 10]]), globalApplied(4, 0.5)]).when(scoreBatch([r6], [0.7]));
  near(r.events, [readingsScored([scored(r6, [30], 10 * Math.sqrt(10), 0.7)], [
    zAnomaly(r6, 10 * Math.sqrt(10), 'critical'),
    { deviceId: 'dev-1', readingId: 'r6', ts: r6.ts, score: 0.7, threshold: 0.5, detector: 'autoencoder', modelVersion: 4, severity: 'warning' },
  ])]);
  assert.equal([r.state.counters.zscoreAnomalies, r.state.counters.modelAnomalies], [1, 1]);
});

Score('a batch larger than READINGS_PER_EVENT is recorded as several ReadingsScored events, in order, each with its own anomalies', () => {
  const n = 2 * READINGS_PER_EVENT + 7;
  // value 10 throughout, except one outlier per event-sized slice (z-score anomalies) and a redelivered offset 0
  // (after a history of 10 readings cycling 10, 11, 12, offsets 1..10)
  const outliers = new Set([15, READINGS_PER_EVENT + 15, 2 * READINGS_PER_EVENT + 15]);
  const readings = Array.from({ length: n }, (_, i) => v(i + 11, outliers.has(i + 11) ? 50 : 10 + ((i + 10) % 3)));
  const past = Array.from({ length: 10 }, (_, i): [number, number] => [i + 1, 10 + (i % 3)]);
  const r = given(decider, history(past)).when(scoreBatch([v(10, 11), ...readings]));
  const scoredEvents = r.events.filter((e): e is Extract<DeviceEvent, { type: 'ReadingsScored' }> => e.type === 'ReadingsScored');
  assert.equal(scoredEvents.map((e) => e.readings.length), [READINGS_PER_EVENT, READINGS_PER_EVENT, 7]);
  assert.equal(scoredEvents.flatMap((e) => e.readings.map((x) => x.readingId)), readings.map((x) => x.readingId));
  assert.equal(scoredEvents.map((e) => anomaliesOf('dev-1', e).map((a) => a.readingId)), [['r15'], [`r${READINGS_PER_EVENT + 15}`], [`r${2 * READINGS_PER_EVENT + 15}`]]);
  assert.equal(scoredEvents.map((e) => e.duplicates), [1, 0, 0], 'the dropped duplicate is counted once');
  assert.equal([r.state.seen, r.state.counters.zscoreAnomalies, r.state.counters.duplicates, r.state.lastOffsets], [n + 10, 3, 1, { 0: String(n + 10) }]);
  for (const e of r.events) decodeOrThrow(DeviceEvent, JSON.parse(JSON.stringify(e)));
});

Score('readings with many features: as many events as their size needs, each under EVENT_BUDGET_BYTES as JSON', () => {
  // 300 readings of 400 features with long decimals (about 10 KiB each as JSON): 200 in one event would be 2 MB
  let seed = 1;
  const rnd = () => { seed = (seed * 16807) % 2147483647; return seed / 2147483647; };
  const names = Array.from({ length: 400 }, (_, i) => `f${String(i).padStart(3, '0')}`);
  const readings = Array.from({ length: 300 }, (_, i) => rd(i + 1, Object.fromEntries(names.map((n) => [n, (rnd() - 0.5) * 1e-7]))));
  const r = given(decider, []).when(scoreBatch(readings));
  const scoredEvents = r.events.filter((e): e is Extract<DeviceEvent, { type: 'ReadingsScored' }> => e.type === 'ReadingsScored');
  assert.ok(scoredEvents.length > 10, `${scoredEvents.length} events`);
  scoredEvents.forEach((e, i) => {
    const bytes = Buffer.byteLength(JSON.stringify(e));
    assert.ok(bytes <= EVENT_BUDGET_BYTES, `an event of ${e.readings.length} readings is ${bytes} bytes`);
    if (i < scoredEvents.length - 1) assert.ok(bytes > EVENT_BUDGET_BYTES / 4, `events but the last are not needlessly small (${bytes} bytes)`);
  });
  assert.equal(scoredEvents.flatMap((e) => e.readings.map((x) => x.readingId)), readings.map((x) => x.readingId));
  assert.is(r.state.seen, 300);
});

Score.run();

// ---------------------------------------------------------------------------------------------------------

const Apply = suite('ApplyGlobal');

Apply('on a fresh device, version 0 is applied with its hash, weights and threshold', () => {
  given(decider, [])
    .when(applyGlobal(0, 0.3))
    .then([globalApplied(0, 0.3, NOW)])
    .thenState({ model: { version: 0, hash: hash('0'), weights: W, source: 'global', threshold: 0.3 } });
});

Apply('a newer version is applied', () => {
  given(decider, [globalApplied(1, 0.3)]).when(applyGlobal(2, 0.4)).then([globalApplied(2, 0.4, NOW)]).thenState((s) => s.model.version === 2 && s.model.threshold === 0.4);
});

Apply('the same or an older version causes nothing', () => {
  given(decider, [globalApplied(2, 0.3)]).when(applyGlobal(2, 0.4)).then([]);
  given(decider, [globalApplied(2, 0.3)]).when(applyGlobal(1, 0.4)).then([]);
});

Apply('after a local training on base 2, global 2 causes nothing and global 3 replaces the local model', () => {
  const h = [globalApplied(2, 0.3), trained(2, null, null, T0 + 5)];
  given(decider, h).when(applyGlobal(2)).then([]);
  given(decider, h).when(applyGlobal(3, 0.6)).then([globalApplied(3, 0.6, NOW)]).thenState({ model: { version: 3, hash: hash('3'), weights: W, source: 'global', threshold: 0.6 } });
});

Apply.run();

// ---------------------------------------------------------------------------------------------------------

const Join = suite('JoinRound');

Join('on a fresh device the round is joined, not yet sent', () => {
  given(decider, []).when(joinRound(1, 0, T0 + 60_000)).then([roundJoined(1, 0, T0 + 60_000, NOW)]).thenState({ round: { round: 1, baseVersion: 0, deadline: T0 + 60_000, sent: false } });
});

Join('a newer round is joined (and may be sent to again)', () => {
  given(decider, [roundJoined(1, 0, T0 + 60_000), trained(0, 1, 'dev-1-r1-v0', T0 + 10)])
    .when(joinRound(2, 1, T0 + 120_000))
    .then([roundJoined(2, 1, T0 + 120_000, NOW)])
    .thenState({ round: { round: 2, baseVersion: 1, deadline: T0 + 120_000, sent: false } });
});

Join('the same or an older round causes nothing', () => {
  given(decider, [roundJoined(2, 1, T0 + 60_000)]).when(joinRound(2, 1, T0 + 99_000)).then([]);
  given(decider, [roundJoined(2, 1, T0 + 60_000)]).when(joinRound(1, 0, T0 + 99_000)).then([]);
});

Join.run();

// ---------------------------------------------------------------------------------------------------------

const Record = suite('RecordTraining');

const DEADLINE = T0 + 60_000;
/** Global version 2 applied, round 4 open on version 2 until DEADLINE. */
const OPEN4: DeviceEvent[] = [globalApplied(2, 0.3), roundJoined(4, 2, DEADLINE)];

Record('with round 4 open on the same base, not sent, before its deadline: sent for round 4 with updateId dev-1-r4-v2', () => {
  given(decider, OPEN4)
    .when(recordTraining(2, DEADLINE - 1))
    .then([trained(2, 4, 'dev-1-r4-v2', DEADLINE - 1)])
    .thenState({ round: { round: 4, baseVersion: 2, deadline: DEADLINE, sent: true }, sinceTraining: 0, lastTrainedAt: DEADLINE - 1 })
    .thenState({ model: { version: 2, hash: hash('e'), weights: W_LOCAL, source: 'local', threshold: 0.75 } })
    .thenState((s) => s.counters.trainings === 1 && s.counters.updatesSent === 1);
});

Record('the updateId is deterministic: the same facts give the same id, another device another id', () => {
  const a = given(decider, OPEN4).when(recordTraining(2, T0 + 7)).events;
  const b = given(decider, OPEN4).when(recordTraining(2, T0 + 9)).events;
  const other = given(deviceDecider({ ...SETTINGS, deviceId: 'dev-2' }), OPEN4).when(recordTraining(2, T0 + 7)).events;
  const id = (es: readonly DeviceEvent[]) => (es[0] as Extract<DeviceEvent, { type: 'LocalModelTrained' }>).updateId;
  assert.is(id(a), 'dev-1-r4-v2');
  assert.is(id(b), id(a));
  assert.is(id(other), 'dev-2-r4-v2');
});

Record('exactly at the deadline the update is still sent (deadline inclusive)', () => {
  given(decider, OPEN4).when(recordTraining(2, DEADLINE)).then([trained(2, 4, 'dev-1-r4-v2', DEADLINE)]);
});

Record('after the deadline: trained, not sent', () => {
  given(decider, OPEN4)
    .when(recordTraining(2, DEADLINE + 1))
    .then([trained(2, null, null, DEADLINE + 1)])
    .thenState({ round: { round: 4, baseVersion: 2, deadline: DEADLINE, sent: false } })
    .thenState((s) => s.counters.trainings === 1 && s.counters.updatesSent === 0);
});

Record('on a different base version than the round: trained, not sent; from an older base than the model: discarded', () => {
  given(decider, OPEN4).when(recordTraining(1, T0 + 5)).then([]);
  given(decider, OPEN4).when(recordTraining(3, T0 + 5)).then([trained(3, null, null, T0 + 5)]);
});

Record('once sent for the round, a later training is not sent again', () => {
  given(decider, [...OPEN4, trained(2, 4, 'dev-1-r4-v2', T0 + 5)])
    .when(recordTraining(2, T0 + 6))
    .then([trained(2, null, null, T0 + 6)])
    .thenState((s) => s.counters.trainings === 2 && s.counters.updatesSent === 1 && s.round!.sent);
});

Record('without a round: trained, not sent', () => {
  given(decider, [globalApplied(2, 0.3)]).when(recordTraining(2, T0 + 5)).then([trained(2, null, null, T0 + 5)]).thenState({ round: null });
});

Record('a training from a base older than the current model (a newer global arrived meanwhile) does not replace it', () => {
  // The actor trains in its effects and tells itself RecordTraining when done; an ApplyGlobal queued during the
  // training is handled first. The stale result must not take the device back to a model based on version 2.
  given(decider, [...OPEN4, globalApplied(3, 0.4)])
    .when(recordTraining(2, T0 + 5))
    .thenState({ model: { version: 3, hash: hash('3'), weights: W, source: 'global', threshold: 0.4 } }, 'model after a stale RecordTraining (base 2) on global 3');
});

Record('a training without a threshold keeps the previous one', () => {
  const c: DeviceCommand = { type: 'RecordTraining', baseVersion: 2, weights: W_LOCAL, hash: hash('e'), loss: 0.25, samples: 4, threshold: null, seen: 0, now: T0 + 5 };
  given(decider, OPEN4).when(c).thenState((s) => s.model.threshold === 0.3 && s.model.source === 'local');
});

Record.run();

// ---------------------------------------------------------------------------------------------------------

const Resend = suite('ResendUpdate, and what a global model holds');

const resend = (round: number, baseVersion: number, h = hash('e'), now = NOW): DeviceCommand => ({ type: 'ResendUpdate', round, baseVersion, hash: h, weights: W_LOCAL, now });
const resent = (round: number, baseVersion: number, at = NOW): DeviceEvent =>
  ({ type: 'UpdateResent', round, baseVersion, hash: hash('e'), samples: 4, loss: 0.25, updateId: `dev-1-r${round}-v${baseVersion}`, at });
/** 3 readings, version 2, round 4 on it; trained at 3 readings and sent for round 4 (round 4 is then abandoned) */
const SENT4: DeviceEvent[] = [...history([[1, 1], [2, 2], [3, 3]]), globalApplied(2, 0.3), roundJoined(4, 2, DEADLINE), trained(2, 4, 'dev-1-r4-v2', T0 + 5, 3)];

Resend('after round 4 was abandoned, round 5 on the same model: the update goes again, as it was, with its own updateId', () => {
  given(decider, [...SENT4, roundJoined(5, 2, DEADLINE)])
    .when(resend(5, 2))
    .then([resent(5, 2)])
    .thenState({ round: { round: 5, baseVersion: 2, deadline: DEADLINE, sent: true }, lastUpdate: { baseVersion: 2, hash: hash('e'), samples: 4, loss: 0.25 } })
    .thenState((s) => s.counters.updatesSent === 2 && s.counters.trainings === 1 && s.sentUpTo === 3 && s.mergedUpTo === 0 && deviceSummary(s).unmerged === 3);
  assert.ok(isRight(DeviceEvent.decode(resent(5, 2))), 'the event decodes');
});

Resend('not to a round already sent to, another round, another base, after its deadline, or with another model', () => {
  given(decider, SENT4).when(resend(4, 2)).then([]); // round 4 already has it
  given(decider, [...SENT4, roundJoined(5, 2, DEADLINE)]).when(resend(6, 2)).then([]); // round 6 is not the open one
  given(decider, [...SENT4, roundJoined(5, 2, DEADLINE)]).when(resend(5, 2, hash('f'))).then([]); // not the update the device holds
  given(decider, [...SENT4, roundJoined(5, 2, DEADLINE)]).when(resend(5, 2, hash('e'), DEADLINE + 1)).then([]); // after the deadline
  given(decider, [...SENT4, globalApplied(3, 0.3), roundJoined(5, 3, DEADLINE)]).when(resend(5, 3)).then([]); // trained on version 2, the model is 3
  given(decider, [...SENT4, roundJoined(5, 2, DEADLINE), { ...trained(2, null, null, T0 + 9, 3), hash: hash('f') } as DeviceEvent]).when(resend(5, 2)).then([]); // a training since replaced the model
  given(decider, [...SENT4, globalApplied(2, 0.3, T0 + 9, true), roundJoined(5, 2, DEADLINE)]).when(resend(5, 2)).then([]); // merged already
});

Resend('a global model whose lineage names the device holds its readings up to the last update sent; one that does not, none', () => {
  const merged = fold(decider, [...SENT4, globalApplied(3, 0.3, T0 + 9, true)]);
  assert.equal([merged.sentUpTo, merged.mergedUpTo, deviceSummary(merged).unmerged], [3, 3, 0]);
  const not = fold(decider, [...SENT4, globalApplied(3, 0.3, T0 + 9, false)]);
  assert.equal([not.sentUpTo, not.mergedUpTo, deviceSummary(not).unmerged], [3, 0, 3]);
  given(decider, SENT4).when(applyGlobal(3, 0.3, NOW, true)).then([globalApplied(3, 0.3, NOW, true)]);
  given(decider, [...SENT4, roundJoined(5, 2, DEADLINE)]).when(resend(5, 2)).then([resent(5, 2)]);
  assert.is(fold(decider, [...SENT4, globalApplied(3, 0.3, T0 + 9, true), globalApplied(4, 0.3, T0 + 10, false)]).mergedUpTo, 3, 'a later model without the device takes nothing back');
});

Resend('journals and snapshots written before: an event without `merged` counts as merged; an old snapshot takes what it sent as merged', () => {
  const old = fold(decider, [...SENT4, globalApplied(3, 0.3, T0 + 9, null)]);
  assert.equal([old.sentUpTo, old.mergedUpTo], [3, 3]);
  assert.ok(isRight(DeviceEvent.decode(globalApplied(3, 0.3, T0 + 9, null))), 'a journaled event without `merged` still decodes');
  const { mergedUpTo: _m, lastUpdate: _l, ...snap } = { ...decider.initialState, seen: 10, sentUpTo: 8, sinceTraining: 2 };
  const s = decodeDeviceState(JSON.parse(JSON.stringify(snap)));
  assert.equal([s.sentUpTo, s.mergedUpTo, s.lastUpdate], [8, 8, null]);
});

Resend.run();

// ---------------------------------------------------------------------------------------------------------

const Threshold = suite('RecordThreshold');

const recordThreshold = (version: number, h: string, threshold: number, now = NOW): DeviceCommand => ({ type: 'RecordThreshold', version, hash: h, threshold, samples: 4, now });

Threshold('for the current model: ThresholdCalibrated; the model keeps its weights and takes the threshold; sinceThreshold restarts', () => {
  given(decider, [globalApplied(2), ...history([[1, 10], [2, 11], [3, 12]]).slice(1)])
    .when(recordThreshold(2, hash('2'), 0.42))
    .then([{ type: 'ThresholdCalibrated', version: 2, hash: hash('2'), threshold: 0.42, samples: 4, at: NOW }])
    .thenState({ sinceThreshold: 0, model: { version: 2, hash: hash('2'), weights: W, source: 'global', threshold: 0.42 } });
});

Threshold('readings count towards the next calibration; a global model with a threshold or a training restarts the count', () => {
  given(decider, [globalApplied(2), fixed('v'), readingsScored([scored(v(1, 10), [10]), scored(v(2, 10), [10])])]).when(scoreBatch([])).thenState({ sinceThreshold: 2 });
  given(decider, [fixed('v'), readingsScored([scored(v(1, 10), [10])]), globalApplied(3, 0.2)]).when(scoreBatch([])).thenState({ sinceThreshold: 0 });
  given(decider, [fixed('v'), readingsScored([scored(v(1, 10), [10])]), globalApplied(3)]).when(scoreBatch([])).thenState({ sinceThreshold: 1 });
  given(decider, [...OPEN4, fixed('v'), readingsScored([scored(v(1, 10), [10])]), trained(2, 4, 'dev-1-r4-v2', T0 + 9)]).when(scoreBatch([])).thenState({ sinceThreshold: 0 });
});

Threshold('computed on a model the device no longer holds (a newer global model, or a training since): nothing', () => {
  given(decider, [globalApplied(2), globalApplied(3)]).when(recordThreshold(2, hash('2'), 0.42)).then([]);
  given(decider, [...OPEN4, trained(2, 4, 'dev-1-r4-v2', T0 + 9)]).when(recordThreshold(2, hash('2'), 0.42)).then([]);
  given(decider, []).when(recordThreshold(0, hash('0'), 0.42)).then([]);
});

Threshold('a snapshot from before sinceThreshold existed decodes with it at 0; a newer one keeps its count', () => {
  const { sinceThreshold: _dropped, ...old } = { ...decider.initialState, seen: 7 };
  assert.equal(decodeDeviceState(JSON.parse(JSON.stringify(old))), { ...decider.initialState, seen: 7, sinceThreshold: 0 });
  assert.is(decodeDeviceState(JSON.parse(JSON.stringify({ ...decider.initialState, sinceThreshold: 42 }))).sinceThreshold, 42);
});

Threshold.run();

// ---------------------------------------------------------------------------------------------------------

const Evolve = suite('evolve and fold');

Evolve('the training window keeps the last `window` (4) readings and their labels', () => {
  const a = [1, 2, 3].map((n) => v(n, n * 10, { label: n % 2 }));
  const b = [4, 5, 6].map((n) => v(n, n * 10, { label: null }));
  given(decider, [fixed('v'), readingsScored(a.map((r) => scored(r, [r.features['v']!])))])
    .when(scoreBatch(b))
    .thenState({ window: [[30, 40, 50, 60]], windowLabels: [1, null, null, null], seen: 6, sinceTraining: 6 });
});

Evolve('sinceTraining counts fresh readings only and resets on LocalModelTrained; lastTrainedAt is the event time', () => {
  const h = [...history([[1, 1], [2, 2], [3, 3]]), globalApplied(0, null)];
  const s1 = given(decider, h).when(scoreBatch([v(3, 3), v(4, 4)])).state; // one duplicate
  assert.is(s1.sinceTraining, 4);
  const s2 = given(decider, h).when(recordTraining(0, T0 + 77, 3)).state;
  assert.equal([s2.sinceTraining, s2.lastTrainedAt], [0, T0 + 77]);
});

Evolve('readings scored while a training ran (after it took its window) still count as new, for training and for rounds', () => {
  const h = [...history([[1, 1], [2, 2], [3, 3], [4, 4], [5, 5]]), globalApplied(0, null), roundJoined(1, 0, DEADLINE)];
  // the training took its window at 2 readings; 3 more were scored before its RecordTraining was handled
  const s = given(decider, h).when(recordTraining(0, T0 + 5, 2)).then([trained(0, 1, 'dev-1-r1-v0', T0 + 5, 2)]).state;
  assert.equal([s.seen, s.sinceTraining, s.sentUpTo, deviceSummary(s).unsent], [5, 3, 2, 3]);
});

Evolve('sentUpTo moves only with a training sent to a round; an event from before `seen` existed counts up to the readings then seen', () => {
  const h = [...history([[1, 1], [2, 2], [3, 3]]), globalApplied(0, null)];
  const notSent = given(decider, h).when(recordTraining(0, T0 + 5, 3)).state;
  assert.equal([notSent.sinceTraining, notSent.sentUpTo, deviceSummary(notSent).unsent], [0, 0, 3], 'no round open: trained, nothing sent');
  const sent = fold(decider, [...h, roundJoined(1, 0, DEADLINE), trained(0, 1, 'dev-1-r1-v0', T0 + 6, 3)]);
  assert.equal([sent.sentUpTo, deviceSummary(sent).unsent], [3, 0]);
  const old = fold(decider, [...h, roundJoined(1, 0, DEADLINE), trained(0, 1, 'dev-1-r1-v0', T0 + 6, null)]);
  assert.equal([old.sinceTraining, old.sentUpTo], [0, 3]);
  assert.ok(isRight(DeviceEvent.decode(trained(0, 1, 'dev-1-r1-v0', T0 + 6, null))), 'a journaled event without `seen` still decodes');
  assert.not.ok(isRight(DeviceEvent.decode(trained(0, 1, 'dev-1-r1-v0', T0 + 6, -1))), 'a negative `seen` does not');
});

Evolve('a snapshot from before sentUpTo existed takes the readings since the last training as not sent yet', () => {
  const { sentUpTo: _dropped, ...old } = { ...decider.initialState, seen: 10, sinceTraining: 4 };
  assert.is(decodeDeviceState(JSON.parse(JSON.stringify(old))).sentUpTo, 6);
  assert.is(decodeDeviceState(JSON.parse(JSON.stringify({ ...decider.initialState, seen: 10, sentUpTo: 9 }))).sentUpTo, 9);
});

Evolve('round.sent becomes true only for a training sent for that very round', () => {
  const s = fold(decider, [roundJoined(5, 1, DEADLINE), trained(1, 4, 'dev-1-r4-v1', T0 + 1)]);
  assert.equal(s.round, { round: 5, baseVersion: 1, deadline: DEADLINE, sent: false });
  assert.is(s.counters.updatesSent, 1, 'the event still counts as sent');
});

/** A device's life: features, readings with anomalies, a duplicate batch, a model, a round, two trainings, a newer model and round. */
function life(): DeviceCommand[] {
  const values = [10, 10, 11, 9, 10, 30, 10, 11];
  return [
    scoreBatch(values.slice(0, 3).map((x, i) => v(i + 1, x)), null, T0 + 1),
    applyGlobal(0, 0.5, T0 + 2),
    joinRound(1, 0, DEADLINE, T0 + 3),
    scoreBatch(values.slice(3).map((x, i) => v(i + 4, x)), [0.1, 0.2, 0.9, 0.3, 1.5], T0 + 4),
    scoreBatch([v(7, 10), v(8, 11)], [0.1, 0.2], T0 + 5), // duplicates only
    recordTraining(0, T0 + 6, 8),
    scoreBatch([v(9, 10, { partition: 1, offset: '10' }), v(10, 12, { partition: 1, offset: '11' })], [0.1, 0.6], T0 + 7),
    recordTraining(0, T0 + 8, 10), // not sent again
    applyGlobal(1, null, T0 + 9),
    joinRound(2, 1, DEADLINE + 60_000, T0 + 10),
    applyGlobal(1, 0.9, T0 + 11), // same version: nothing
    recordTraining(1, T0 + 12, 10),
  ];
}

function run(commands: readonly DeviceCommand[]): { journal: DeviceEvent[]; live: DeviceState } {
  let live: DeviceState = decider.initialState;
  const journal: DeviceEvent[] = [];
  for (const c of commands) {
    for (const e of decider.decide(c, live)) {
      journal.push(e);
      live = decider.evolve(live, e);
    }
  }
  return { journal, live };
}

Evolve('a whole life, step by step: the counters add up by hand', () => {
  const { journal, live } = run(life());
  assert.equal(journal.map((e) => e.type), [
    'FeaturesFixed', 'ReadingsScored', 'GlobalModelApplied', 'RoundJoined', 'ReadingsScored', 'ReadingsScored', 'LocalModelTrained',
    'ReadingsScored', 'LocalModelTrained', 'GlobalModelApplied', 'RoundJoined', 'LocalModelTrained',
  ]);
  // z-score: r4 (2√2, warning) and r6 (10√10, critical). Model, against 0.5: r6 0.9 (warning), r8 1.5 (critical);
  // after the first training the threshold is 0.75, so r10's 0.6 is none. Trainings: 3, sent for rounds 1 and 2.
  assert.equal(live.counters, { zscoreAnomalies: 2, modelAnomalies: 2, trainings: 3, updatesSent: 2, duplicates: 2 });
  assert.equal(live.lastOffsets, { 0: '8', 1: '11' });
  assert.equal([live.seen, live.windowLabels.length, live.sinceTraining, live.lastTrainedAt, live.sentUpTo], [10, 4, 0, T0 + 12, 10]);
  assert.equal(live.round, { round: 2, baseVersion: 1, deadline: DEADLINE + 60_000, sent: true });
  assert.equal(live.model, { version: 1, hash: hash('e'), weights: W_LOCAL, source: 'local', threshold: 0.75 });
});

Evolve('every event decide produces decodes with the DeviceEvent codec (replay reads them back through it)', () => {
  const { journal } = run(life());
  for (const e of journal) assert.equal(decodeOrThrow(DeviceEvent, JSON.parse(JSON.stringify(e))), e, e.type);
});

Evolve('evolve never mutates the state it is given (deep-frozen input, every event of a life)', () => {
  const { journal } = run(life());
  let s: DeviceState = deepFreeze(structuredClone(decider.initialState));
  for (const e of journal) {
    const copy = structuredClone(s);
    const next = decider.evolve(s, deepFreeze(structuredClone(e)));
    assert.equal(s, copy, `evolve(${e.type}) changed its input`);
    assert.ok(next !== s, `evolve(${e.type}) returns a new state`);
    s = deepFreeze(next);
  }
});

Evolve('decide is pure: twice on the same frozen state, the same events, and the state is untouched', () => {
  const { journal } = run(life().slice(0, 3));
  const s = deepFreeze(fold(decider, journal));
  const copy = structuredClone(s);
  const c = scoreBatch([v(4, 9), v(5, 10), v(6, 30)], [0.1, 0.2, 0.9]);
  assert.equal(decider.decide(c, s), decider.decide(c, s));
  assert.equal(s, copy);
});

Evolve('folding the journal equals the state reached command by command, also from a JSON snapshot', () => {
  const { journal, live } = run(life());
  assert.equal(fold(decider, journal), live);
  for (const cut of [1, 4, 7, 10]) {
    const snapshot = JSON.parse(JSON.stringify(fold(decider, journal.slice(0, cut)))) as DeviceState;
    assert.equal(fold(decider, journal.slice(cut), snapshot), live, `snapshot after ${cut} events + tail`);
  }
  assert.equal(deviceSummary(fold(decider, journal)), deviceSummary(live));
});

Evolve('scoring after a fold equals scoring after the live steps (the z-score window survives a snapshot)', () => {
  const { journal, live } = run(life());
  const snapshot = JSON.parse(JSON.stringify(fold(decider, journal.slice(0, 6)))) as DeviceState;
  const restored = fold(decider, journal.slice(6), snapshot);
  const c = scoreBatch([v(11, 40, { partition: 1, offset: '12' })], [0.2]);
  assert.equal(decider.decide(c, restored), decider.decide(c, live));
});

Evolve('an unknown command or event is a bug and throws', () => {
  assert.throws(() => decider.decide({ type: 'Reboot' } as unknown as DeviceCommand, decider.initialState), /unknown command/);
  assert.throws(() => decider.evolve(decider.initialState, { type: 'DeviceRenamed' } as unknown as DeviceEvent), /unknown event/);
});

Evolve.run();

// ---------------------------------------------------------------------------------------------------------

const Legacy = suite('ReadingsScored: alerts, and the full anomalies of journals written before 2026-12-02');

const mixed = (): { readings: ScoredReading[]; anomalies: Anomaly[] } => {
  const rs = [v(6, 5), v(7, 30), v(8, 5)];
  const readings = [scored(rs[0]!, [5], 0.1, 0.9), scored(rs[1]!, [30], 6.2, 1.7), scored(rs[2]!, [5], null, 0.2)];
  const anomalies: Anomaly[] = [
    { deviceId: 'dev-1', readingId: 'r6', ts: rs[0]!.ts, score: 0.9, threshold: 0.5, detector: 'autoencoder', modelVersion: 4, severity: 'warning' },
    { deviceId: 'dev-1', readingId: 'r7', ts: rs[1]!.ts, score: 6.2, threshold: 2.5, detector: 'zscore', modelVersion: null, severity: 'critical' },
    { deviceId: 'dev-1', readingId: 'r7', ts: rs[1]!.ts, score: 1.7, threshold: 0.5, detector: 'autoencoder', modelVersion: 4, severity: 'critical' },
  ];
  return { readings, anomalies };
};

Legacy('anomaliesOf gives the same Anomaly records from alerts as a legacy event holds, in order; alertCounts the same counts', () => {
  const { readings, anomalies } = mixed();
  const now = readingsScored(readings, anomalies) as Extract<DeviceEvent, { type: 'ReadingsScored' }>;
  const old = legacyReadingsScored(readings, anomalies) as Extract<DeviceEvent, { type: 'ReadingsScored' }>;
  assert.equal(anomaliesOf('dev-1', now), anomalies);
  assert.equal(anomaliesOf('dev-1', old), anomalies);
  assert.equal(alertCounts(now), { zscore: 1, model: 2 });
  assert.equal(alertCounts(old), { zscore: 1, model: 2 });
  assert.ok(JSON.stringify(now).length < JSON.stringify(old).length * 0.75, 'the alerts form is the smaller');
});

Legacy('a legacy event decodes and evolves to the state the alerts form gives', () => {
  const { readings, anomalies } = mixed();
  const past = [...history(CONST5), globalApplied(4, 0.5)];
  const viaAlerts = fold(decider, [...past, readingsScored(readings, anomalies)]);
  const legacyJson = JSON.parse(JSON.stringify(legacyReadingsScored(readings, anomalies))) as unknown;
  const viaLegacy = fold(decider, [...past, decodeOrThrow(DeviceEvent, legacyJson)]);
  assert.equal(viaLegacy, viaAlerts);
  assert.equal(viaAlerts.counters, { ...viaAlerts.counters, zscoreAnomalies: 1, modelAnomalies: 2 });
});

Legacy('the codec refuses alerts that point past the readings, at a missing score, or at a model the event lacks', () => {
  const { readings, anomalies } = mixed();
  const good = JSON.parse(JSON.stringify(readingsScored(readings, anomalies))) as { alerts: unknown[]; model: unknown };
  assert.ok(DeviceEvent.is(good));
  const bad = (f: (e: { alerts: unknown[]; model: unknown }) => void) => { const e = structuredClone(good); f(e); return DeviceEvent.decode(e)._tag; };
  assert.is(bad((e) => { e.alerts.push([3, 0, 0]); }), 'Left', 'index past the readings');
  assert.is(bad((e) => { e.alerts.push([2, 0, 0]); }), 'Left', 'r8 has no z-score');
  assert.is(bad((e) => { e.model = null; }), 'Left', 'model alerts without their model');
  assert.is(bad(() => undefined), 'Right');
});

type AlertsForm = { alerts: Alert[]; zThreshold: number; model: unknown };

Legacy('the decider writes alerts: one per anomaly, the model given only when a model alert is there', () => {
  const rs = [v(6, 5), v(7, 5)];
  const r = given(decider, [...history(CONST5), globalApplied(3, 0.5)]).when(scoreBatch(rs, [0.1, 0.2]));
  const e = r.events[0] as unknown as AlertsForm;
  assert.equal([e.alerts, e.zThreshold, e.model], [[], 2.5, null]);
  const r2 = given(decider, [...history(CONST5), globalApplied(3, 0.5)]).when(scoreBatch(rs, [0.1, 0.7]));
  const e2 = r2.events[0] as unknown as AlertsForm;
  assert.equal([e2.alerts, e2.model], [[[1, 1, 0]], { detector: 'autoencoder', threshold: 0.5, version: 3 }]);
});

Legacy.run();

