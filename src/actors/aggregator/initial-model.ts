/** The initial global model (version 0): Glorot-uniform weights from a seeded PRNG, zero biases. */
import { parameterCount, type LayerShape } from '../../protocols/weights';
import { mulberry32 } from '../../infra/prng';
export { mulberry32 };


export function initialWeights(layers: readonly LayerShape[], seed: number): Float32Array {
  const out = new Float32Array(parameterCount(layers));
  const rand = mulberry32(seed);
  let at = 0;
  for (const l of layers) {
    const n = l.shape.reduce((a, b) => a * b, 1);
    if (l.shape.length >= 2) {
      const fanIn = l.shape[0]!;
      const fanOut = l.shape[l.shape.length - 1]!;
      const limit = Math.sqrt(6 / (fanIn + fanOut));
      for (let i = 0; i < n; i++) out[at + i] = (rand() * 2 - 1) * limit;
    }
    at += n;
  }
  return out;
}
