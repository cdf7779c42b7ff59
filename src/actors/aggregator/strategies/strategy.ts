/**
 * The aggregation strategy seam: a round folds the accepted local updates of one round into a global model
 * through a `Strategy`, over plain `Float32Array`s (TensorFlow.js stays at the trainer's edge).
 *
 * Contract, for every strategy:
 * - `start(parameterCount)` opens a fresh `Accumulator`; accumulators share nothing and may be used at once.
 * - `add(weights, sampleCount)` folds one update in. It never keeps a reference to `weights`: the caller may
 *   reuse or mutate the array as soon as `add` returns. It throws (a bug in the caller) when `weights.length`
 *   is not `parameterCount` or `sampleCount` is not a positive safe integer.
 * - Weights must be finite. The weights codec does not check the float values, so the caller rejects an update
 *   holding NaN or ±Infinity before `add` (a domain rejection; `nonFiniteIndex` finds the first bad value). If
 *   one slips through, the accumulator throws, at `add` or at the latest at `result`; it never returns NaN.
 * - `result()` returns a new `Float32Array` of `parameterCount` values; it does not end the accumulator (more
 *   updates may be added and `result` called again). With `count === 0` it throws: aggregating nothing is a bug.
 * - Determinism: the same updates added in the same order give a bit-identical result, on every run and
 *   platform (IEEE-754 float64 arithmetic in a fixed order, one final round-to-nearest-even to float32).
 *   Each strategy file documents its order of accumulation and whether the result depends on the add order.
 */
import type { StrategyConfig } from '../../../protocols/models';

/**
 * `{ name: 'fedavg' | 'median' | 'trimmed-mean'; trimRatio: number | null }`, derived from the codec in
 * `src/protocols/models.ts` (it travels in a model's lineage). `trimRatio` is used by `trimmed-mean` only,
 * must be in [0, 0.5) there, and `null` for the other strategies.
 */
export type { StrategyConfig };

export interface Accumulator {
  /** Fold one update in; `sampleCount` is the number of training samples behind it (FedAvg's weight). */
  add(weights: Float32Array, sampleCount: number): void;
  /** Number of updates added so far. */
  readonly count: number;
  /** The aggregate of the updates added so far; throws when none was added. */
  result(): Float32Array;
}

export interface Strategy {
  readonly config: StrategyConfig;
  start(parameterCount: number): Accumulator;
}

/** Index of the first NaN or ±Infinity in `weights`, or `null` when every value is finite. */
export function nonFiniteIndex(weights: Float32Array): number | null {
  for (let i = 0; i < weights.length; i++) {
    // x - x is 0 for finite x and NaN for NaN and ±Infinity
    if (weights[i]! - weights[i]! !== 0) return i;
  }
  return null;
}

/** Throws (a bug) unless `parameterCount` is a non-negative safe integer. */
export function checkParameterCount(strategy: string, parameterCount: number): void {
  if (!Number.isSafeInteger(parameterCount) || parameterCount < 0) {
    throw new Error(`${strategy}: parameterCount must be a non-negative integer, got ${parameterCount}`);
  }
}

/** Throws (a bug) unless the update has `parameterCount` values and a positive safe-integer sample count. */
export function checkUpdate(strategy: string, parameterCount: number, weights: Float32Array, sampleCount: number): void {
  if (!(weights instanceof Float32Array)) {
    throw new Error(`${strategy}: an update's weights must be a Float32Array`);
  }
  if (weights.length !== parameterCount) {
    throw new Error(`${strategy}: an update has ${weights.length} parameters, the accumulator was started with ${parameterCount}`);
  }
  if (!Number.isSafeInteger(sampleCount) || sampleCount <= 0) {
    throw new Error(`${strategy}: sampleCount must be a positive integer, got ${sampleCount}`);
  }
}

/** Throws (a bug) when `result()` is called before any update was added. */
export function checkNotEmpty(strategy: string, count: number): void {
  if (count === 0) {
    throw new Error(`${strategy}: result() was called before any update was added; a round must not aggregate zero updates`);
  }
}

/** Throws (a bug) naming the first non-finite coordinate of an update or of an aggregate. */
export function checkFinite(strategy: string, what: string, values: ArrayLike<number>): void {
  for (let i = 0; i < values.length; i++) {
    if (values[i]! - values[i]! !== 0) {
      throw new Error(`${strategy}: ${what} has a non-finite value (${values[i]}) at parameter ${i}; the caller must reject updates with non-finite weights`);
    }
  }
}

/**
 * Accumulator for coordinate-wise order statistics (median, trimmed mean). It holds a copy of every update
 * (memory O(updates × parameters), inherent to these statistics) and, for each parameter, gathers that
 * coordinate of every update into a Float64Array, sorts it ascending (numeric order, -0 before +0) and hands
 * it to `reduce`, whose float64 value is rounded once to float32. Because the values are sorted first, the
 * result does not depend on the order the updates were added in.
 */
export function sortedColumnAccumulator(
  strategy: string,
  parameterCount: number,
  reduce: (sorted: Float64Array) => number,
): Accumulator {
  checkParameterCount(strategy, parameterCount);
  const held: Float32Array[] = [];
  return {
    add(weights: Float32Array, sampleCount: number): void {
      checkUpdate(strategy, parameterCount, weights, sampleCount);
      checkFinite(strategy, `update ${held.length}`, weights);
      held.push(weights.slice());
    },
    get count(): number {
      return held.length;
    },
    result(): Float32Array {
      checkNotEmpty(strategy, held.length);
      const out = new Float32Array(parameterCount);
      const column = new Float64Array(held.length);
      for (let j = 0; j < parameterCount; j++) {
        for (let k = 0; k < held.length; k++) column[k] = held[k]![j]!;
        column.sort();
        out[j] = reduce(column);
      }
      return out;
    },
  };
}
