/** Deterministic local model updates for aggregator tests, built on the configured initial model. */
import { initialWeights } from '../../src/actors/aggregator/initial-model';
import { mulberry32 } from '../../src/actors/aggregator/initial-model';
import type { LocalModelUpdate } from '../../src/protocols/models';
import { encodeWeights, type LayerShape } from '../../src/protocols/weights';
import { modelLayers } from '../../src/actors/trainer/model';

/** The default model's layers (MODEL_SPEC's default), as the aggregator derives them. */
export const testLayers: LayerShape[] = modelLayers({ kind: 'autoencoder', inputs: 2, hidden: [8, 3, 8] });

export function makeUpdate(opts: { client: number; round: number; baseVersion: number; seed?: number; layers?: LayerShape[]; base?: Float32Array; mutate?: (w: Float32Array) => void; sampleCount?: number; updateId?: string }): LocalModelUpdate {
  const layers = opts.layers ?? testLayers;
  const base = opts.base ?? initialWeights(layers, opts.seed ?? 42);
  const rand = mulberry32(1000 * opts.round + opts.client);
  const w = base.map((b) => b + (rand() - 0.5) * 0.2);
  opts.mutate?.(w);
  return {
    updateId: opts.updateId ?? `c${opts.client}-r${opts.round}`,
    clientId: `client-${opts.client}`,
    round: opts.round,
    baseVersion: opts.baseVersion,
    sampleCount: opts.sampleCount ?? 10 * opts.client + 5,
    weights: encodeWeights(layers, w),
    metrics: { loss: 0.5 },
    sentAt: 1_700_000_000_000,
  };
}
