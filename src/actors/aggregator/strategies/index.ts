/**
 * `createStrategy(config)`: the one place a `StrategyConfig` becomes a `Strategy`. A bad config throws an
 * Error whose message says why (config is decoded and checked once, at start-up, so this is fatal there).
 */
import { fedAvg } from './fedavg';
import { median } from './median';
import type { Strategy, StrategyConfig } from './strategy';
import { trimmedMean } from './trimmed-mean';

export type { Accumulator, Strategy, StrategyConfig } from './strategy';
export { nonFiniteIndex } from './strategy';

const NAMES: readonly string[] = ['fedavg', 'median', 'trimmed-mean'];

export function createStrategy(config: StrategyConfig): Strategy {
  const name: unknown = (config as { name?: unknown } | null | undefined)?.name;
  if (typeof name !== 'string' || !NAMES.includes(name)) {
    throw new Error(`strategy: unknown strategy name ${JSON.stringify(name)}; expected one of ${NAMES.join(', ')}`);
  }
  const trimRatio: unknown = config.trimRatio;
  if (config.name === 'trimmed-mean') {
    if (typeof trimRatio !== 'number') {
      throw new Error(`strategy: trimmed-mean needs a trimRatio in [0, 0.5), got ${JSON.stringify(trimRatio) ?? 'nothing'}`);
    }
    if (!(trimRatio >= 0 && trimRatio < 0.5)) {
      throw new Error(`strategy: trimmed-mean's trimRatio must be in [0, 0.5) so at least one value per parameter is kept, got ${trimRatio}`);
    }
    return trimmedMean(Object.freeze({ name: 'trimmed-mean', trimRatio }));
  }
  if (trimRatio !== null) {
    throw new Error(`strategy: trimRatio applies to trimmed-mean only; ${config.name} needs trimRatio null, got ${JSON.stringify(trimRatio) ?? 'nothing'}`);
  }
  const frozen = Object.freeze({ name: config.name, trimRatio: null });
  return config.name === 'fedavg' ? fedAvg(frozen) : median(frozen);
}
