/** The z-score baseline detector: hand-computed z, boundaries, warm-up, self-exclusion, std 0, drift, snapshots. */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ZScoreDetector, severityOf, ZSCORE_DEFAULTS } from '../../src/actors/trainer/zscore';
import { mulberry32 } from '../../src/actors/aggregator/initial-model';

/** The classic example: mean 5, population std 2. */
const EIGHT = [2, 4, 4, 4, 5, 5, 7, 9];

function filled(values: readonly number[], config: ConstructorParameters<typeof ZScoreDetector>[0] = {}): ZScoreDetector {
  const d = new ZScoreDetector({ window: values.length, minSamples: values.length, ...config });
  for (const v of values) d.add({ t: v });
  return d;
}

/** Population mean and std of the last `w` values, computed naively. */
function brute(values: readonly number[], w: number): { mean: number; std: number } {
  const win = values.slice(-w);
  const mean = win.reduce((a, b) => a + b, 0) / win.length;
  return { mean, std: Math.sqrt(win.reduce((a, b) => a + (b - mean) ** 2, 0) / win.length) };
}

// ---------------------------------------------------------------------------------------------------------------
const Severity = suite('severityOf');

Severity('not above the threshold → null; above → warning; above critical (default 2×threshold) → critical', () => {
  assert.is(severityOf(2.5, 2.5), null);
  assert.is(severityOf(2.4, 2.5), null);
  assert.is(severityOf(2.5000001, 2.5), 'warning');
  assert.is(severityOf(5, 2.5), 'warning');
  assert.is(severityOf(5.0000001, 2.5), 'critical');
  assert.is(severityOf(4, 2.5, 3.5), 'critical');
  assert.is(severityOf(Number.NaN, 2.5), null);
});

Severity.run();

// ---------------------------------------------------------------------------------------------------------------
const Hand = suite('hand-computed z-scores');

Hand('window [2,4,4,4,5,5,7,9]: mean 5, std 2; z of 11 is 3 (warning), of -1 is -3', () => {
  const d = filled(EIGHT);
  assert.equal(d.stats('t'), { count: 8, mean: 5, std: 2 });
  const r = d.score({ t: 11 });
  assert.equal(r, { score: 3, feature: 't', severity: 'warning', z: { t: 3 } });
  const low = d.score({ t: -1 });
  assert.equal(low, { score: 3, feature: 't', severity: 'warning', z: { t: -3 } });
});

Hand('boundaries on the same window: z 2.5 → none, z 5 → warning, just above 5 → critical', () => {
  const d = filled(EIGHT);
  assert.is(d.score({ t: 10 }).score, 2.5);
  assert.is(d.score({ t: 10 }).severity, null);
  assert.is(d.score({ t: 0 }).severity, null); // z = -2.5
  assert.is(d.score({ t: 15 }).score, 5);
  assert.is(d.score({ t: 15 }).severity, 'warning');
  assert.is(d.score({ t: 15.001 }).severity, 'critical');
  assert.is(d.score({ t: -5.001 }).severity, 'critical');
});

Hand('defaults: window 100, threshold 2.5, critical 5, minSamples 30', () => {
  assert.equal({ ...new ZScoreDetector().config }, { window: 100, threshold: 2.5, critical: 5, minSamples: 30 });
  assert.equal({ ...ZSCORE_DEFAULTS }, { window: 100, threshold: 2.5, critical: 5, minSamples: 30 });
});

Hand('score = max |z| over features, naming the feature', () => {
  const d = new ZScoreDetector({ window: 8, minSamples: 8 });
  EIGHT.forEach((v) => d.add({ a: v, b: v * 10 }));
  const r = d.score({ a: 8, b: 10 }); // z_a = 1.5, z_b = (10 - 50) / 20 = -2
  assert.equal(r, { score: 2, feature: 'b', severity: null, z: { a: 1.5, b: -2 } });
});

Hand.run();

// ---------------------------------------------------------------------------------------------------------------
const Self = suite('the scored reading is not in its own statistics');

Self('observe scores against the window before adding the reading, then adds it (evicting the oldest)', () => {
  const d = filled(EIGHT);
  const r = d.observe({ t: 11 });
  // had 11 been included first: mean 56/9, std ≈ 2.62, z ≈ 1.82 (no alarm)
  assert.is(r.score, 3);
  assert.is(r.severity, 'warning');
  const s = d.stats('t')!;
  assert.is(s.count, 8);
  const b = brute([4, 4, 4, 5, 5, 7, 9, 11], 8);
  assert.ok(Math.abs(s.mean - b.mean) < 1e-12, `mean ${s.mean} vs ${b.mean}`);
  assert.ok(Math.abs(s.std - b.std) < 1e-12, `std ${s.std} vs ${b.std}`);
});

Self('score() alone does not change the window', () => {
  const d = filled(EIGHT);
  d.score({ t: 1000 });
  assert.equal(d.stats('t'), { count: 8, mean: 5, std: 2 });
});

Self.run();

// ---------------------------------------------------------------------------------------------------------------
const Warmup = suite('minimum samples');

Warmup('no score until the window holds minSamples values (default 30), however extreme the reading', () => {
  const d = new ZScoreDetector();
  const rnd = mulberry32(1);
  for (let i = 0; i < 30; i++) {
    const r = d.observe({ t: i === 29 ? 1e9 : rnd() });
    assert.is(r.score, null, `reading ${i}`);
    assert.is(r.severity, null);
  }
  // 30 values now (one of them 1e9): the 31st reading is scored
  const r = d.observe({ t: 0.5 });
  assert.type(r.score, 'number');
});

Warmup('a feature in warm-up is skipped while another one is scored', () => {
  const d = filled(EIGHT);
  const r = d.observe({ t: 11, late: 1e6 });
  assert.equal(r.z, { t: 3 });
  assert.is(r.feature, 't');
  assert.is(d.stats('late')!.count, 1);
});

Warmup.run();

// ---------------------------------------------------------------------------------------------------------------
const Zero = suite('std 0');

Zero('a constant feature is skipped, not infinite: no score when it is the only feature', () => {
  const d = new ZScoreDetector({ window: 10, minSamples: 5 });
  for (let i = 0; i < 10; i++) d.add({ t: 21.5 });
  const r = d.score({ t: 30 });
  assert.equal(r, { score: null, feature: null, severity: null, z: {} });
});

Zero('the other features still score', () => {
  const d = new ZScoreDetector({ window: 8, minSamples: 8 });
  EIGHT.forEach((v) => d.add({ flat: 1, t: v }));
  assert.equal(d.score({ flat: 99, t: 13 }), { score: 4, feature: 't', severity: 'warning', z: { t: 4 } });
});

Zero('a window that becomes constant by eviction has std exactly 0 (no rounding residue)', () => {
  const d = new ZScoreDetector({ window: 10, minSamples: 5 });
  const rnd = mulberry32(9);
  for (let i = 0; i < 37; i++) d.add({ t: 20 + rnd() * 3.7 });
  for (let i = 0; i < 10; i++) d.add({ t: 0.1 });
  assert.equal(d.stats('t'), { count: 10, mean: 0.1, std: 0 });
  assert.is(d.score({ t: 0.2 }).score, null);
});

Zero.run();

// ---------------------------------------------------------------------------------------------------------------
const Rolling = suite('rolling window');

Rolling('O(1) updates match a naive recomputation over 20,000 readings (no drift)', () => {
  const d = new ZScoreDetector({ window: 100, minSamples: 30 });
  const rnd = mulberry32(42);
  const seen: number[] = [];
  let worst = 0;
  for (let i = 0; i < 20_000; i++) {
    // a drifting level with bursts, far from zero (1e6): the hard case for running sums
    const x = 1e6 + Math.sin(i / 500) * 50 + (rnd() - 0.5) * (i % 3000 < 200 ? 40 : 2);
    const r = d.observe({ t: x });
    if (seen.length >= 30) {
      const b = brute(seen, 100);
      const z = (x - b.mean) / b.std;
      worst = Math.max(worst, Math.abs(r.z['t']! - z) / Math.max(1, Math.abs(z)));
    } else {
      assert.is(r.score, null);
    }
    seen.push(x);
  }
  const s = d.stats('t')!;
  const b = brute(seen, 100);
  assert.is(s.count, 100);
  assert.ok(Math.abs(s.mean - b.mean) < 1e-6, `mean ${s.mean} vs ${b.mean}`);
  assert.ok(Math.abs(s.std - b.std) / b.std < 1e-7, `std ${s.std} vs ${b.std}`);
  // drift-free: about 3e-9 here; with the running sums never recomputed it grows past 1e-6
  assert.ok(worst < 1e-7, `largest relative z error ${worst}`);
});

Rolling('non-finite values are ignored: neither scored nor added', () => {
  const d = filled(EIGHT);
  const r = d.observe({ t: Number.NaN });
  assert.is(r.score, null);
  assert.equal(d.stats('t'), { count: 8, mean: 5, std: 2 });
});

Rolling('config checks fail with a sentence', () => {
  assert.throws(() => new ZScoreDetector({ window: 10, minSamples: 20 }), /minSamples must be an integer from 2 to window \(10\), not 20/);
  assert.throws(() => new ZScoreDetector({ threshold: 3, critical: 2 }), /critical \(2\) must be a number at least the threshold \(3\)/);
  assert.throws(() => new ZScoreDetector({ window: 0 }), /window must be a positive integer/);
});

Rolling.run();

// ---------------------------------------------------------------------------------------------------------------
const Json = suite('snapshots');

Json('toJSON → JSON text → fromJSON continues bit-identically to the live detector', () => {
  const live = new ZScoreDetector({ window: 50, minSamples: 10, threshold: 2 });
  const rnd = mulberry32(7);
  const next = () => ({ humidity: 40 + rnd() * 5, temperature: 25 + (rnd() - 0.5) * (rnd() < 0.02 ? 40 : 1) });
  for (let i = 0; i < 1234; i++) live.observe(next());
  const snapshot = JSON.parse(JSON.stringify(live));
  const restored = ZScoreDetector.fromJSON(snapshot);
  assert.equal(restored.toJSON(), live.toJSON());
  assert.equal({ ...restored.config }, { window: 50, minSamples: 10, threshold: 2, critical: 5 });
  for (let i = 0; i < 500; i++) {
    const reading = next();
    assert.equal(restored.observe(reading), live.observe(reading), `reading ${i} after restore`);
  }
  assert.equal(restored.toJSON(), live.toJSON());
});

Json('a partly filled window round-trips too', () => {
  const live = new ZScoreDetector({ window: 100, minSamples: 3 });
  [3, 1, 4, 1, 5].forEach((v) => live.add({ t: v }));
  const restored = ZScoreDetector.fromJSON(JSON.parse(JSON.stringify(live)));
  assert.equal(restored.stats('t'), live.stats('t'));
  assert.equal(restored.observe({ t: 9 }), live.observe({ t: 9 }));
  assert.equal(restored.toJSON().features['t']!.values, [3, 1, 4, 1, 5, 9]);
});

Json('a constant feature longer than the window still snapshots and restores (run capped at the window)', () => {
  const d = new ZScoreDetector({ window: 10, threshold: 2.5, critical: 5, minSamples: 3 });
  for (let i = 0; i < 25; i++) d.observe({ a: 0, b: i });
  const restored = ZScoreDetector.fromJSON(JSON.parse(JSON.stringify(d.toJSON())));
  assert.equal(restored.toJSON(), d.toJSON());
  assert.is(restored.score({ a: 0, b: 25 }).z.a, undefined, 'std 0: the constant feature is skipped');
});

Json('a malformed snapshot is refused with a sentence', () => {
  const good = filled(EIGHT).toJSON();
  assert.throws(() => ZScoreDetector.fromJSON({ ...good, version: 2 }), /z-score snapshot: .*at version: expected 1, got 2/);
  const tooMany = { ...good, features: { t: { ...good.features['t']!, values: [...EIGHT, 1] } } };
  assert.throws(() => ZScoreDetector.fromJSON(tooMany), /feature "t" holds 9 values, the window is 8/);
  const noMean = { ...good, features: { t: { values: EIGHT, m2: 32, sinceExact: 0, run: 1 } } };
  assert.throws(() => ZScoreDetector.fromJSON(noMean), /z-score snapshot: .*at features\.t\.mean: expected a finite number, got nothing/);
});

Json.run();

const Values = suite('observeValues / addValues (the device actor hot path)');

Values('same score, severity and windows as observe / add on records, over 3,000 random readings with NaN, ±Infinity and constant stretches', () => {
  const rnd = mulberry32(21);
  const names = ['humidity', 'temperature', 'co2'];
  const a = new ZScoreDetector({ window: 20, threshold: 2, critical: 4, minSamples: 5 });
  const b = new ZScoreDetector({ window: 20, threshold: 2, critical: 4, minSamples: 5 });
  let flagged = 0;
  for (let i = 0; i < 3_000; i++) {
    const x = names.map((_, k) => {
      const r = rnd();
      if (r < 0.01) return Number.NaN;
      if (r < 0.015) return r < 0.0125 ? Infinity : -Infinity;
      if (i % 500 < 40) return 7; // constant stretch: std 0
      return 10 * k + (rnd() - 0.5) * (r < 0.05 ? 40 : 4);
    });
    const record = Object.fromEntries(names.map((n, k) => [n, x[k]!]));
    const viaRecord = i % 7 === 0 ? (a.add(record), null) : a.observe(record);
    const viaValues = i % 7 === 0 ? (b.addValues(names, x), null) : b.observeValues(names, x);
    if (viaRecord && viaValues) {
      assert.equal([viaValues.score, viaValues.severity], [viaRecord.score, viaRecord.severity], `reading ${i}`);
      if (viaValues.severity) flagged++;
    }
    if (i % 250 === 0) assert.equal(b.toJSON(), a.toJSON(), `windows after reading ${i}`);
  }
  assert.equal(b.toJSON(), a.toJSON());
  assert.ok(flagged > 10, `${flagged} readings flagged: the comparison covered anomalies`);
});

Values.run();
