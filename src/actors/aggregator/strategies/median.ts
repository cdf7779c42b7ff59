/**
 * FedMedian (Yin et al. 2018): the coordinate-wise median of the updates, unweighted (sample counts are
 * checked but ignored). With an even count it is the mean of the two middle values, (a + b) / 2 in float64,
 * rounded once to float32. It holds a copy of every update (O(updates × parameters)); the result does not
 * depend on the add order (see `sortedColumnAccumulator`).
 */
import { sortedColumnAccumulator, type Strategy, type StrategyConfig } from './strategy';

const NAME = 'median';

export function medianOfSorted(sorted: Float64Array): number {
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function median(config: StrategyConfig = { name: NAME, trimRatio: null }): Strategy {
  return { config, start: (parameterCount) => sortedColumnAccumulator(NAME, parameterCount, medianOfSorted) };
}
