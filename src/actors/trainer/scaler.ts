/**
 * Online standardiser for the model's input: per feature, Welford's running mean and M2 over every value seen
 * (not windowed), and `transform(x)[i] = (x[i] − mean[i]) / std[i]` with the population std.
 *
 * A feature whose std is 0 (fewer than 2 values, or all equal) is only centred (divided by 1), so a constant
 * sensor gives 0, never ±Infinity or NaN. Pure TypeScript; deterministic; `toJSON()` keeps the running sums, so
 * a restored scaler transforms bit-identically.
 */
import * as t from 'io-ts';
import { isLeft } from 'fp-ts/Either';
import { FiniteNumber, NonNegativeInt, PositiveInt, decodeWith } from '../../protocols/codec';

export const ScalerSnapshot = t.type(
  { version: t.literal(1), size: PositiveInt, count: NonNegativeInt, mean: t.array(FiniteNumber), m2: t.array(FiniteNumber) },
  'ScalerSnapshot',
);
export type ScalerSnapshot = t.TypeOf<typeof ScalerSnapshot>;

export class Scaler {
  /** Number of vectors added. */
  count = 0;
  private readonly means: Float64Array;
  private readonly m2s: Float64Array;

  /** `size`: the number of features of every vector. */
  constructor(readonly size: number) {
    if (!(Number.isSafeInteger(size) && size > 0)) throw new Error(`scaler: size must be a positive integer, not ${size}`);
    this.means = new Float64Array(size);
    this.m2s = new Float64Array(size);
  }

  /** Add one vector to the statistics; throws on a wrong length or a non-finite value (nothing is added then). */
  update(x: readonly number[]): void {
    this.check(x, 'update');
    this.add(x, 0);
  }

  /** update() with every vector of `flat`, `size` numbers each, in order; throws before the first non-finite one. */
  updateFlat(flat: ArrayLike<number>): void {
    if (flat.length % this.size !== 0) throw new Error(`scaler: updateFlat got ${flat.length} numbers, not vectors of ${this.size}`);
    for (let at = 0; at < flat.length; at += this.size) this.add(flat, at);
  }

  private add(x: ArrayLike<number>, at: number): void {
    for (let i = 0; i < this.size; i++) {
      if (!Number.isFinite(x[at + i])) throw new Error(`scaler: update got a non-finite value in [${Array.from({ length: this.size }, (_, j) => x[at + j]).join(', ')}]`);
    }
    this.count++;
    for (let i = 0; i < this.size; i++) {
      const v = x[at + i]!;
      const d = v - this.means[i]!;
      this.means[i] = this.means[i]! + d / this.count;
      this.m2s[i] = this.m2s[i]! + d * (v - this.means[i]!);
    }
  }

  /** Standardise a vector with the current statistics (does not update them). */
  transform(x: readonly number[]): number[] {
    this.check(x, 'transform');
    const out = new Array<number>(this.size);
    for (let i = 0; i < this.size; i++) {
      const s = this.stdAt(i);
      out[i] = (x[i]! - this.means[i]!) / (s > 0 ? s : 1);
    }
    return out;
  }

  /** Update with every row, then transform every row with the final statistics. */
  fitTransform(rows: readonly (readonly number[])[]): number[][] {
    for (const r of rows) this.update(r);
    return rows.map((r) => this.transform(r));
  }

  mean(): number[] {
    return Array.from(this.means);
  }

  /** Population standard deviations (0 before two values). */
  std(): number[] {
    return Array.from({ length: this.size }, (_, i) => this.stdAt(i));
  }

  toJSON(): ScalerSnapshot {
    return { version: 1, size: this.size, count: this.count, mean: Array.from(this.means), m2: Array.from(this.m2s) };
  }

  /** Restore from `toJSON()` output; throws a sentence on a malformed snapshot. */
  static fromJSON(json: unknown): Scaler {
    const d = decodeWith(ScalerSnapshot, json);
    if (isLeft(d)) throw new Error(`scaler snapshot: ${d.left}`);
    const s = d.right;
    if (s.mean.length !== s.size || s.m2.length !== s.size) {
      throw new Error(`scaler snapshot: size ${s.size} but ${s.mean.length} means and ${s.m2.length} M2 values`);
    }
    if (s.m2.some((v) => v < 0)) throw new Error('scaler snapshot: a sum of squared deviations is negative');
    const out = new Scaler(s.size);
    out.count = s.count;
    out.means.set(s.mean);
    out.m2s.set(s.m2);
    return out;
  }

  private stdAt(i: number): number {
    return this.count < 2 ? 0 : Math.sqrt(Math.max(0, this.m2s[i]!) / this.count);
  }

  private check(x: readonly number[], op: string): void {
    if (x.length !== this.size) throw new Error(`scaler: ${op} got ${x.length} features, the scaler has ${this.size}`);
  }
}
