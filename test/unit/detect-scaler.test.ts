/** The online standardiser (Welford) and the model-score threshold rules, with hand-computed numbers. */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Scaler } from '../../src/actors/trainer/scaler';
import { modelThreshold, quantileSorted } from '../../src/actors/trainer/threshold';
import { mulberry32 } from '../../src/actors/aggregator/initial-model';

const close = (a: number, b: number, eps = 1e-12): boolean => Math.abs(a - b) <= eps * Math.max(1, Math.abs(b));

// ---------------------------------------------------------------------------------------------------------------
const Hand = suite('scaler: hand-computed');

Hand('rows [1,10] [2,20] [3,30] [4,40]: mean [2.5, 25], population std [√1.25, √125]', () => {
  const s = new Scaler(2);
  for (const r of [[1, 10], [2, 20], [3, 30], [4, 40]]) s.update(r);
  assert.is(s.count, 4);
  assert.equal(s.mean(), [2.5, 25]);
  assert.ok(close(s.std()[0]!, Math.sqrt(1.25)) && close(s.std()[1]!, Math.sqrt(125)), `std ${s.std()}`);
  const z = s.transform([2.5 + Math.sqrt(1.25), 25 - 2 * Math.sqrt(125)]);
  assert.ok(close(z[0]!, 1) && close(z[1]!, -2), `transform ${z}`);
});

Hand('transform does not update the statistics', () => {
  const s = new Scaler(1);
  s.update([1]);
  s.update([3]);
  assert.equal(s.transform([5]), [3]); // (5 - 2) / 1
  assert.equal(s.transform([5]), [3]);
  assert.is(s.count, 2);
});

Hand('std 0 (constant feature, or fewer than 2 values) only centres: 0 or the offset, never NaN or Infinity', () => {
  const s = new Scaler(2);
  assert.equal(s.transform([4, 5]), [4, 5]); // nothing seen: mean 0, divide by 1
  s.update([7, 1]);
  assert.equal(s.transform([7, 3]), [0, 2]);
  for (let i = 0; i < 10; i++) s.update([7, i]);
  const z = s.transform([8, 1]);
  assert.is(z[0], 1);
  assert.ok(Number.isFinite(z[1]!));
  assert.is(s.std()[0], 0);
});

Hand('wrong length and non-finite values fail with a sentence and change nothing', () => {
  const s = new Scaler(2);
  s.update([1, 2]);
  assert.throws(() => s.update([1]), /scaler: update got 1 features, the scaler has 2/);
  assert.throws(() => s.transform([1, 2, 3]), /scaler: transform got 3 features, the scaler has 2/);
  assert.throws(() => s.update([1, Number.NaN]), /non-finite value/);
  assert.is(s.count, 1);
  assert.equal(s.mean(), [1, 2]);
  assert.throws(() => new Scaler(0), /size must be a positive integer, not 0/);
});

Hand.run();

// ---------------------------------------------------------------------------------------------------------------
const Online = suite('scaler: online = batch');

Online('50,000 values around 1e6 agree with a two-pass mean and std; fitTransform gives mean 0, std 1', () => {
  const rnd = mulberry32(3);
  const rows = Array.from({ length: 50_000 }, () => [1e6 + (rnd() - 0.5) * 0.01, -3 + rnd() * 8]);
  const s = new Scaler(2);
  const z = s.fitTransform(rows);
  for (let f = 0; f < 2; f++) {
    const col = rows.map((r) => r[f]!);
    const mean = col.reduce((a, b) => a + b, 0) / col.length;
    const std = Math.sqrt(col.reduce((a, b) => a + (b - mean) ** 2, 0) / col.length);
    assert.ok(close(s.mean()[f]!, mean, 1e-13), `mean ${s.mean()[f]} vs ${mean}`);
    assert.ok(close(s.std()[f]!, std, 1e-6), `std ${s.std()[f]} vs ${std}`);
    const zc = z.map((r) => r[f]!);
    const zm = zc.reduce((a, b) => a + b, 0) / zc.length;
    const zs = Math.sqrt(zc.reduce((a, b) => a + (b - zm) ** 2, 0) / zc.length);
    assert.ok(Math.abs(zm) < 1e-6 && Math.abs(zs - 1) < 1e-6, `feature ${f}: mean ${zm}, std ${zs}`);
  }
});

Online.run();

// ---------------------------------------------------------------------------------------------------------------
const Json = suite('scaler: snapshots');

Json('JSON round trip restores the sums bit for bit and continues identically', () => {
  const rnd = mulberry32(11);
  const live = new Scaler(3);
  for (let i = 0; i < 777; i++) live.update([rnd(), rnd() * 100, 42]);
  const restored = Scaler.fromJSON(JSON.parse(JSON.stringify(live)));
  assert.equal(restored.toJSON(), live.toJSON());
  for (let i = 0; i < 100; i++) {
    const x = [rnd(), rnd() * 100, 42 + i];
    live.update(x);
    restored.update(x);
    assert.equal(restored.transform(x), live.transform(x));
  }
  assert.equal(restored.toJSON(), live.toJSON());
});

Json('a malformed snapshot is refused with a sentence', () => {
  const good = new Scaler(2).toJSON();
  assert.throws(() => Scaler.fromJSON({ ...good, mean: [0] }), /scaler snapshot: size 2 but 1 means and 2 M2 values/);
  assert.throws(() => Scaler.fromJSON({ ...good, m2: [0, -1] }), /negative/);
  assert.throws(() => Scaler.fromJSON({ ...good, count: -1 }), /scaler snapshot: .*at count: expected a non-negative integer, got -1/);
});

Json.run();

// ---------------------------------------------------------------------------------------------------------------
const Threshold = suite('model threshold');

Threshold('default: the 99th percentile, linear interpolation (1..100 → 99.01)', () => {
  const scores = Float32Array.from({ length: 100 }, (_, i) => 100 - i); // order does not matter
  assert.ok(close(modelThreshold(scores)!, 99.01), `${modelThreshold(scores)}`);
});

Threshold('quantiles: median of [1,2,3,4] is 2.5; q 0 is the min, q 1 the max', () => {
  assert.is(modelThreshold([4, 1, 3, 2], { kind: 'quantile', q: 0.5 }), 2.5);
  assert.is(modelThreshold([4, 1, 3, 2], { kind: 'quantile', q: 0 }), 1);
  assert.is(modelThreshold([4, 1, 3, 2], { kind: 'quantile', q: 1 }), 4);
  assert.is(quantileSorted([10, 20, 30], 0.75), 25);
  assert.is(modelThreshold([7], { kind: 'quantile', q: 0.99 }), 7);
});

Threshold('mean + k·std: [2,4,4,4,5,5,7,9] with k 2 → 5 + 2·2 = 9', () => {
  assert.is(modelThreshold([2, 4, 4, 4, 5, 5, 7, 9], { kind: 'mean-std', k: 2 }), 9);
  assert.is(modelThreshold([2, 4, 4, 4, 5, 5, 7, 9], { kind: 'mean-std', k: 0 }), 5);
});

Threshold('non-finite scores are ignored; no finite score → null', () => {
  assert.is(modelThreshold([1, Number.NaN, 3, Number.POSITIVE_INFINITY], { kind: 'quantile', q: 0.5 }), 2);
  assert.is(modelThreshold([]), null);
  assert.is(modelThreshold([Number.NaN], { kind: 'mean-std', k: 3 }), null);
});

Threshold('an invalid rule fails with a sentence', () => {
  assert.throws(() => modelThreshold([1], { kind: 'quantile', q: 1.5 }), /q must be in \[0, 1\], not 1.5/);
  assert.throws(() => modelThreshold([1], { kind: 'mean-std', k: -1 }), /k must be a non-negative number, not -1/);
});

Threshold.run();
