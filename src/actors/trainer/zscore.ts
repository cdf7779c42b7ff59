/**
 * The z-score baseline detector: a rolling window of the last `window` values of every feature, and the score of
 * a reading = max over its features of |x − mean| / std, mean and std (population, divide by n) taken over the
 * window BEFORE the reading is added. Pure TypeScript, no TensorFlow.js.
 *
 * What the seed got wrong, and this does not:
 * - warm-up: a feature is scored only once its window holds `minSamples` values; until then it gives no score;
 * - self-inclusion: `observe` scores a reading against the window, then adds it (the reading never dilutes its
 *   own z);
 * - constant features: std 0 means the feature is skipped (no infinite or NaN z).
 *
 * Updates are O(1): Welford's mean and sum of squared deviations (M2), updated by adding the new value and
 * removing the value it evicts. To stop rounding drift, they are recomputed exactly (two passes over the window,
 * oldest value first) after every `window` evictions, and set to exactly (value, 0) when the whole window holds
 * one repeated value. Everything is deterministic, and `toJSON()` keeps the running sums themselves, so a
 * detector restored from a snapshot scores bit-identically to the live one.
 *
 * Non-finite feature values are ignored: they are neither scored nor added.
 */
import * as t from 'io-ts';
import { isLeft } from 'fp-ts/Either';
import { FiniteNumber, NonNegativeInt, PositiveInt, decodeWith } from '../../protocols/codec';

export type Severity = 'warning' | 'critical';

/**
 * Severity of a score: `null` at or below `threshold`, `'warning'` above it, `'critical'` above `critical`
 * (default twice the threshold: 2.5 → 5). Works for any "higher is more anomalous" score.
 */
export function severityOf(score: number, threshold: number, critical: number = 2 * threshold): Severity | null {
  if (!(score > threshold)) return null;
  return score > critical ? 'critical' : 'warning';
}

export const ZScoreConfig = t.type({ window: PositiveInt, threshold: FiniteNumber, critical: FiniteNumber, minSamples: PositiveInt }, 'ZScoreConfig');
export type ZScoreConfig = t.TypeOf<typeof ZScoreConfig>;

export const ZSCORE_DEFAULTS: Readonly<ZScoreConfig> = { window: 100, threshold: 2.5, critical: 5, minSamples: 30 };

/** Cross-field checks; throws a sentence saying why. */
function checkConfig(c: ZScoreConfig): ZScoreConfig {
  const why = (m: string): never => {
    throw new Error(`z-score config: ${m}`);
  };
  if (!(Number.isSafeInteger(c.window) && c.window > 0)) why(`window must be a positive integer, not ${c.window}`);
  if (!(Number.isSafeInteger(c.minSamples) && c.minSamples >= 2 && c.minSamples <= c.window)) {
    why(`minSamples must be an integer from 2 to window (${c.window}), not ${c.minSamples}`);
  }
  if (!(c.threshold > 0 && Number.isFinite(c.threshold))) why(`threshold must be a positive number, not ${c.threshold}`);
  if (!(c.critical >= c.threshold && Number.isFinite(c.critical))) why(`critical (${c.critical}) must be a number at least the threshold (${c.threshold})`);
  return c;
}

export interface ZScoreResult {
  /** max |z| over the features that could be scored; `null` when none could (warm-up, std 0, or no features). */
  score: number | null;
  /** The feature that gave `score`, `null` with it. */
  feature: string | null;
  /** `severityOf(score, threshold, critical)`; `null` when `score` is `null` or not above the threshold. */
  severity: Severity | null;
  /** Signed z of every feature that was scored (features in warm-up or with std 0 are absent). */
  z: Record<string, number>;
}

export interface FeatureStats {
  count: number;
  mean: number;
  /** population standard deviation; 0 for a constant window */
  std: number;
}

const FeatureSnapshot = t.type({
  /** window contents, oldest first */
  values: t.array(FiniteNumber),
  mean: FiniteNumber,
  m2: FiniteNumber,
  /** evictions since the last exact recomputation */
  sinceExact: NonNegativeInt,
  /** how many of the newest values equal the newest one */
  run: NonNegativeInt,
});

export const ZScoreSnapshot = t.type({ version: t.literal(1), config: ZScoreConfig, features: t.record(t.string, FeatureSnapshot) }, 'ZScoreSnapshot');
export type ZScoreSnapshot = t.TypeOf<typeof ZScoreSnapshot>;

/** Rolling mean and M2 over a ring buffer of one feature. */
class Rolling {
  readonly ring: Float64Array;
  count = 0;
  /** next write position */
  head = 0;
  mean = 0;
  m2 = 0;
  sinceExact = 0;
  run = 0;

  constructor(readonly size: number) {
    this.ring = new Float64Array(size);
  }

  std(): number {
    return this.count === 0 ? 0 : Math.sqrt(this.m2 / this.count);
  }

  newest(): number {
    return this.ring[(this.head + this.size - 1) % this.size]!;
  }

  add(x: number): void {
    // the run of equal newest values never exceeds the window (older equal values have left it)
    this.run = this.count > 0 && x === this.newest() ? Math.min(this.run + 1, this.size) : 1;
    if (this.count < this.size) {
      this.ring[this.head] = x;
      this.count++;
      const d = x - this.mean;
      this.mean += d / this.count;
      this.m2 += d * (x - this.mean);
    } else {
      const y = this.ring[this.head]!;
      this.ring[this.head] = x;
      const oldMean = this.mean;
      this.mean += (x - y) / this.count;
      this.m2 += (x - y) * (x - this.mean + y - oldMean);
      this.sinceExact++;
    }
    this.head = (this.head + 1) % this.size;
    if (this.m2 < 0) this.m2 = 0;
    if (this.run >= this.count) {
      this.mean = x;
      this.m2 = 0;
    } else if (this.sinceExact >= this.size) {
      this.exact();
    }
  }

  /** Window contents, oldest first. */
  values(): number[] {
    const out: number[] = [];
    const start = this.count < this.size ? 0 : this.head;
    for (let i = 0; i < this.count; i++) out.push(this.ring[(start + i) % this.size]!);
    return out;
  }

  private exact(): void {
    const vs = this.values();
    let sum = 0;
    for (const v of vs) sum += v;
    const mean = sum / vs.length;
    let m2 = 0;
    for (const v of vs) m2 += (v - mean) * (v - mean);
    this.mean = mean;
    this.m2 = m2;
    this.sinceExact = 0;
  }

  static restore(size: number, s: t.TypeOf<typeof FeatureSnapshot>, name: string): Rolling {
    if (s.values.length > size) throw new Error(`z-score snapshot: feature "${name}" holds ${s.values.length} values, the window is ${size}`);
    if (s.run > s.values.length || (s.values.length > 0 && s.run === 0)) {
      throw new Error(`z-score snapshot: feature "${name}" has a run of ${s.run} in ${s.values.length} values`);
    }
    const r = new Rolling(size);
    s.values.forEach((v, i) => (r.ring[i] = v));
    r.count = s.values.length;
    r.head = r.count % size;
    r.mean = s.mean;
    r.m2 = s.m2;
    r.sinceExact = s.sinceExact;
    r.run = s.run;
    return r;
  }
}

export class ZScoreDetector {
  readonly config: Readonly<ZScoreConfig>;
  private readonly features = new Map<string, Rolling>();

  /** Defaults: `ZSCORE_DEFAULTS` (window 100, threshold 2.5, critical 5, minSamples 30). Throws on a bad config. */
  constructor(config: Partial<ZScoreConfig> = {}) {
    this.config = Object.freeze(checkConfig({ ...ZSCORE_DEFAULTS, ...config }));
  }

  /** Score a reading against the current windows, without changing them. */
  score(features: Readonly<Record<string, number>>): ZScoreResult {
    const z: Record<string, number> = {};
    const { score, feature } = this.scan(Object.keys(features), Object.values(features), z);
    return { score, feature, severity: this.severity(score), z };
  }

  /** Add a reading to the windows (evicting the oldest values of full windows). */
  add(features: Readonly<Record<string, number>>): void {
    this.addValues(Object.keys(features), Object.values(features));
  }

  /** Score, then add: the reading is not part of the statistics it is scored against. */
  observe(features: Readonly<Record<string, number>>): ZScoreResult {
    const result = this.score(features);
    this.add(features);
    return result;
  }

  /**
   * `observe` for a reading given as values in the order of `names` (distinct names), without the feature and
   * the per-feature z map: the device actor's hot path.
   */
  observeValues(names: readonly string[], x: readonly number[]): { score: number | null; severity: Severity | null } {
    const { score } = this.scan(names, x, null);
    this.addValues(names, x);
    return { score, severity: this.severity(score) };
  }

  /** `add` for a reading given as values in the order of `names` (distinct names). */
  addValues(names: readonly string[], x: readonly number[]): void {
    for (let i = 0; i < names.length; i++) {
      const v = x[i]!;
      if (!Number.isFinite(v)) continue;
      let r = this.features.get(names[i]!);
      if (!r) this.features.set(names[i]!, (r = new Rolling(this.config.window)));
      r.add(v);
    }
  }

  /** max |z| over the features that can be scored and the first feature giving it; each z into `z` when given */
  private scan(names: readonly string[], x: readonly number[], z: Record<string, number> | null): { score: number | null; feature: string | null } {
    let score: number | null = null;
    let feature: string | null = null;
    for (let i = 0; i < names.length; i++) {
      const v = x[i]!;
      const r = this.features.get(names[i]!);
      if (!r || r.count < this.config.minSamples || !Number.isFinite(v)) continue;
      const std = r.std();
      if (!(std > 0)) continue;
      const zi = (v - r.mean) / std;
      if (z) z[names[i]!] = zi;
      if (score === null || Math.abs(zi) > score) {
        score = Math.abs(zi);
        feature = names[i]!;
      }
    }
    return { score, feature };
  }

  private severity(score: number | null): Severity | null {
    return score === null ? null : severityOf(score, this.config.threshold, this.config.critical);
  }

  /** Current window statistics of a feature; `null` when it was never seen. */
  stats(feature: string): FeatureStats | null {
    const r = this.features.get(feature);
    return r ? { count: r.count, mean: r.mean, std: r.std() } : null;
  }

  toJSON(): ZScoreSnapshot {
    const features: ZScoreSnapshot['features'] = {};
    for (const [name, r] of this.features) {
      features[name] = { values: r.values(), mean: r.mean, m2: r.m2, sinceExact: r.sinceExact, run: r.run };
    }
    return { version: 1, config: { ...this.config }, features };
  }

  /** Restore from `toJSON()` output (possibly through JSON text); throws a sentence on a malformed snapshot. */
  static fromJSON(json: unknown): ZScoreDetector {
    const decoded = decodeWith(ZScoreSnapshot, json);
    if (isLeft(decoded)) throw new Error(`z-score snapshot: ${decoded.left}`);
    const d = new ZScoreDetector(decoded.right.config);
    for (const [name, s] of Object.entries(decoded.right.features)) d.features.set(name, Rolling.restore(d.config.window, s, name));
    return d;
  }
}
