/**
 * FedAvg (McMahan et al. 2017): the sample-weighted mean of the updates, Σ(wᵢ·nᵢ) / Σnᵢ per parameter.
 *
 * Streaming: the accumulator holds one Float64Array of running sums Σ(wᵢ·nᵢ) and the running Σnᵢ, so its
 * memory is O(parameters) however many clients report; it keeps no reference to (and no copy of) an update.
 *
 * Precision and order: each wᵢ·nᵢ is formed in float64 (exact for float32 weights and nᵢ < 2²⁹) and added to
 * the parameter's float64 sum in add order; Σnᵢ is an exact integer sum. `result()` divides each sum by Σnᵢ in
 * float64 and rounds once to float32. Same updates in the same order → bit-identical result. A different
 * order can change a sum's last float64 bit and, rarely, the rounded float32; it cannot when the products are
 * exactly representable partial sums (e.g. small dyadic weights), which the tests use.
 *
 * Non-finite weights are not checked in `add` (it is the hot loop); they make a running sum non-finite, and
 * `result()` then throws naming the parameter.
 */
import { checkFinite, checkNotEmpty, checkParameterCount, checkUpdate, type Accumulator, type Strategy, type StrategyConfig } from './strategy';

const NAME = 'fedavg';

class FedAvgAccumulator implements Accumulator {
  private readonly sums: Float64Array;
  private totalSamples = 0;
  private added = 0;

  constructor(private readonly parameterCount: number) {
    checkParameterCount(NAME, parameterCount);
    this.sums = new Float64Array(parameterCount);
  }

  get count(): number {
    return this.added;
  }

  add(weights: Float32Array, sampleCount: number): void {
    checkUpdate(NAME, this.parameterCount, weights, sampleCount);
    const sums = this.sums;
    const n = sampleCount;
    for (let i = 0; i < sums.length; i++) sums[i] += weights[i]! * n;
    this.totalSamples += sampleCount;
    this.added++;
  }

  result(): Float32Array {
    checkNotEmpty(NAME, this.added);
    checkFinite(NAME, 'the weighted sum', this.sums);
    const out = new Float32Array(this.parameterCount);
    const total = this.totalSamples;
    for (let i = 0; i < out.length; i++) out[i] = this.sums[i]! / total;
    return out;
  }
}

export function fedAvg(config: StrategyConfig = { name: NAME, trimRatio: null }): Strategy {
  return { config, start: (parameterCount) => new FedAvgAccumulator(parameterCount) };
}
