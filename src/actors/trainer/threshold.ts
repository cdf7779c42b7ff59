/**
 * The alarm threshold of the model score, fitted on the scores of the model's own training window (pure).
 *
 * Rules:
 * - `{ kind: 'quantile', q }`: the q-quantile of the scores, linear interpolation between order statistics
 *   (NumPy's default, Hyndman–Fan type 7): position (n − 1)·q in the sorted scores. Default q = 0.99.
 * - `{ kind: 'mean-std', k }`: mean + k·std (population std).
 * Non-finite scores are ignored; with no finite score there is no threshold (`null`).
 */
import * as t from 'io-ts';
import { FiniteNumber } from '../../protocols/codec';

export const ThresholdRule = t.union(
  [t.type({ kind: t.literal('quantile'), q: FiniteNumber }), t.type({ kind: t.literal('mean-std'), k: FiniteNumber })],
  'ThresholdRule',
);
export type ThresholdRule = t.TypeOf<typeof ThresholdRule>;

export const DEFAULT_THRESHOLD_RULE: Readonly<ThresholdRule> = { kind: 'quantile', q: 0.99 };

/** Threshold of `scores` under `rule`; `null` when no score is finite. Throws a sentence on an invalid rule. */
export function modelThreshold(scores: ArrayLike<number>, rule: Readonly<ThresholdRule> = DEFAULT_THRESHOLD_RULE): number | null {
  const finite: number[] = [];
  for (let i = 0; i < scores.length; i++) if (Number.isFinite(scores[i])) finite.push(scores[i]!);
  switch (rule.kind) {
    case 'quantile': {
      if (!(rule.q >= 0 && rule.q <= 1)) throw new Error(`threshold rule: q must be in [0, 1], not ${rule.q}`);
      if (finite.length === 0) return null;
      return quantileSorted(finite.sort((a, b) => a - b), rule.q);
    }
    case 'mean-std': {
      if (!(rule.k >= 0 && Number.isFinite(rule.k))) throw new Error(`threshold rule: k must be a non-negative number, not ${rule.k}`);
      if (finite.length === 0) return null;
      const { mean, std } = meanStd(finite);
      return mean + rule.k * std;
    }
    default: {
      const never: never = rule;
      throw new Error(`threshold rule: unknown kind in ${JSON.stringify(never)}`);
    }
  }
}

/** q-quantile of ascending `sorted` (non-empty), type 7 linear interpolation. */
export function quantileSorted(sorted: readonly number[], q: number): number {
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, sorted.length - 1);
  const frac = pos - lo;
  return frac === 0 ? sorted[lo]! : sorted[lo]! + (sorted[hi]! - sorted[lo]!) * frac;
}

/** Mean and population standard deviation (two passes). */
export function meanStd(xs: readonly number[]): { mean: number; std: number } {
  let sum = 0;
  for (const x of xs) sum += x;
  const mean = sum / xs.length;
  let ss = 0;
  for (const x of xs) ss += (x - mean) * (x - mean);
  return { mean, std: Math.sqrt(ss / xs.length) };
}
