/**
 * Coordinate-wise trimmed mean (Yin et al. 2018), unweighted: per parameter, sort the updates' values, drop
 * k = floor(trimRatio × count) from each end (the product computed in float64), and average the rest: their
 * float64 sum in ascending order divided by (count − 2k), rounded once to float32. trimRatio ∈ [0, 0.5) keeps
 * at least one value; 0 is the plain unweighted mean. It holds a copy of every update; the result does not
 * depend on the add order (see `sortedColumnAccumulator`).
 */
import { sortedColumnAccumulator, type Strategy, type StrategyConfig } from './strategy';

const NAME = 'trimmed-mean';

export function trimmedMeanOfSorted(sorted: Float64Array, trimRatio: number): number {
  const k = Math.floor(trimRatio * sorted.length);
  let sum = 0;
  for (let i = k; i < sorted.length - k; i++) sum += sorted[i]!;
  return sum / (sorted.length - 2 * k);
}

/** `config.trimRatio` must already be checked (see `createStrategy`). */
export function trimmedMean(config: StrategyConfig & { trimRatio: number }): Strategy {
  const trimRatio = config.trimRatio;
  return {
    config,
    start: (parameterCount) => sortedColumnAccumulator(NAME, parameterCount, (sorted) => trimmedMeanOfSorted(sorted, trimRatio)),
  };
}
