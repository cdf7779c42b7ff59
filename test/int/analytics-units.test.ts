/**
 * Analytics without I/O: the analytics-results codec round-trips its example and rejects bad messages with a
 * sentence; ROC-AUC by ranks with ties; hour-over-hour change and top-N ranking; the message's bounded list.
 * (Pure tests; they live under test/int only because that is where analytics tests are filed for now.)
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { isLeft, isRight } from 'fp-ts/Either';
import { AnalyticsResult, exampleAnalyticsResult } from '../../src/protocols/analytics';
import { decodeJson, decodeWith, encodeJson } from '../../src/protocols/codec';
import { rocAuc } from '../../src/actors/analytics/roc-auc';
import { hourOverHour, topDevices } from '../../src/actors/analytics/trends';
import { evaluateGroups, messageEntries } from '../../src/actors/analytics/model-evaluation';
import { selectJobs } from '../../src/actors/analytics/settings';

const close = (a: number | null, b: number, what: string) => {
  assert.ok(a !== null && Math.abs(a - b) < 1e-12, `${what}: expected ${b}, got ${a}`);
};

const Codec = suite('analytics-results codec');

Codec('the example round-trips through JSON', () => {
  const decoded = decodeJson(AnalyticsResult, encodeJson(AnalyticsResult, exampleAnalyticsResult));
  assert.ok(isRight(decoded));
  if (isRight(decoded)) assert.equal(decoded.right, exampleAnalyticsResult);
});

Codec('a failed run has no summary and an error', () => {
  const failed = { ...exampleAnalyticsResult, status: 'failed', rows: 0, error: 'relation "readings" does not exist', summary: null };
  assert.ok(isRight(decodeWith(AnalyticsResult, failed)));
});

Codec('bad messages are refused with a sentence', () => {
  const r = decodeWith(AnalyticsResult, { ...exampleAnalyticsResult, job: 'spark' });
  assert.ok(isLeft(r));
  if (isLeft(r)) assert.is(r.left, 'AnalyticsResult: at job: expected one of "anomaly-rates", "trends", "model-evaluation", got "spark"');
  const n = decodeWith(AnalyticsResult, { ...exampleAnalyticsResult, rows: -1 });
  assert.ok(isLeft(n) && /at rows: expected a non-negative integer, got -1/.test(n.left));
});

const Auc = suite('ROC-AUC by ranks');

Auc('scores [0.9 pos, 0.8 neg, 0.7 pos, 0.1 neg] give 0.75', () => {
  const g = (score: number, positive: boolean) => ({ score, positive, count: 1 });
  close(rocAuc([g(0.9, true), g(0.8, false), g(0.7, true), g(0.1, false)]), 0.75, 'AUC');
});

Auc('a tie between a positive and a negative counts one half', () => {
  close(rocAuc([{ score: 0.5, positive: true, count: 1 }, { score: 0.5, positive: false, count: 1 }]), 0.5, 'tied');
  // pos 0.9 beats both; pos 0.5 ties neg 0.5 (1/2) and beats neg 0.1: (2 + 1.5) / 4
  close(rocAuc([
    { score: 0.9, positive: true, count: 1 }, { score: 0.5, positive: true, count: 1 },
    { score: 0.5, positive: false, count: 1 }, { score: 0.1, positive: false, count: 1 },
  ]), 0.875, 'partly tied');
});

Auc('unscored readings rank below every score and tie with each other; grouped counts equal repeated rows', () => {
  // pos 0.9 beats 3 negatives; unscored pos ties 2 unscored negatives (1) and loses to neg 0.2: (3 + 1) / 6
  close(rocAuc([
    { score: 0.9, positive: true, count: 1 }, { score: 0.2, positive: false, count: 1 },
    { score: null, positive: true, count: 1 }, { score: null, positive: false, count: 2 },
  ]), 4 / 6, 'unscored');
  close(rocAuc([{ score: 0.9, positive: true, count: 3 }, { score: 0.1, positive: false, count: 2 }]), 1, 'grouped');
});

Auc('undefined without a positive or a negative: null, not NaN', () => {
  assert.is(rocAuc([]), null);
  assert.is(rocAuc([{ score: 0.3, positive: true, count: 4 }]), null);
  assert.is(rocAuc([{ score: null, positive: false, count: 4 }, { score: 0.2, positive: true, count: 0 }]), null);
});

Auc('confusion counts from score groups: scored = flagged', () => {
  const e = evaluateGroups('autoencoder', 3, [
    { score: 0.9, positive: true, count: 1 }, { score: 0.8, positive: false, count: 1 },
    { score: null, positive: true, count: 2 }, { score: null, positive: false, count: 5 },
  ]);
  assert.equal({ tp: e.tp, fp: e.fp, fn: e.fn, tn: e.tn, readings: e.readings, positives: e.positives }, { tp: 1, fp: 1, fn: 2, tn: 5, readings: 9, positives: 3 });
  close(e.precision, 0.5, 'precision');
  close(e.recall, 1 / 3, 'recall');
  close(e.f1, 0.4, 'f1');
});

const Trends = suite('trends: hour-over-hour and top-N');
const H = (h: number) => new Date(Date.UTC(2024, 5, 10, h));

Trends('change from the previous clock hour of the same device; a gap gives null', () => {
  const rows = hourOverHour([
    { deviceId: 'b', hour: H(9), readings: 4, anomalies: 1 },
    { deviceId: 'a', hour: H(10), readings: 2, anomalies: 2 },
    { deviceId: 'a', hour: H(8), readings: 4, anomalies: 2 },
    { deviceId: 'a', hour: H(9), readings: 5, anomalies: 0 },
    { deviceId: 'b', hour: H(11), readings: 1, anomalies: 1 },
  ]);
  assert.equal(rows.map((r) => [r.deviceId, r.hour.getUTCHours(), r.rate, r.previousRate, r.change]), [
    ['a', 8, 0.5, null, null],
    ['a', 9, 0, 0.5, -0.5],
    ['a', 10, 1, 0, 1],
    ['b', 9, 0.25, null, null],
    ['b', 11, 1, null, null],
  ]);
});

Trends('top-N by rate, then by more anomalies, then by device id; fewer devices give fewer rows', () => {
  const hours = [
    { deviceId: 'd', hour: H(8), readings: 10, anomalies: 5 },
    { deviceId: 'c', hour: H(8), readings: 2, anomalies: 1 },
    { deviceId: 'b', hour: H(8), readings: 2, anomalies: 1 },
    { deviceId: 'a', hour: H(8), readings: 1, anomalies: 1 },
    { deviceId: 'e', hour: H(8), readings: 3, anomalies: 0 },
    { deviceId: 'a', hour: H(9), readings: 1, anomalies: 0 },
  ];
  assert.equal(topDevices(hours, 3).map((d) => [d.rank, d.deviceId, d.rate]), [[1, 'd', 0.5], [2, 'a', 0.5], [3, 'b', 0.5]]);
  assert.is(topDevices(hours, 10).length, 5);
  assert.equal(topDevices(hours, 0), []);
  assert.equal(topDevices([], 5), []);
});

const Misc = suite('job selection and the bounded message');

Misc('"all" selects every job in order; unknown names give null', () => {
  assert.equal(selectJobs('all')!.map((j) => j.name), ['anomaly-rates', 'trends', 'model-evaluation']);
  assert.equal(selectJobs('trends')!.map((j) => j.name), ['trends']);
  assert.is(selectJobs('spark'), null);
});

Misc('the message keeps pooled rows first, then the newest versions, and counts the rest', () => {
  const row = (detector: string, modelVersion: number | null) => ({ ...evaluateGroups(detector, modelVersion, []), detector, modelVersion });
  const rows = [row('autoencoder', null), row('autoencoder', 1), row('autoencoder', 2), row('autoencoder', 3), row('zscore', null)];
  const m = messageEntries(rows, 3);
  assert.equal(m.evaluations.map((e) => [e.detector, e.modelVersion]), [['autoencoder', null], ['zscore', null], ['autoencoder', 3]]);
  assert.is(m.omitted, 2);
  assert.not.ok('readings' in m.evaluations[0]!, 'the message carries the codec\'s fields only');
});

Codec.run();
Auc.run();
Trends.run();
Misc.run();
