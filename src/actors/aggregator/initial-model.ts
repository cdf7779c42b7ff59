/** The initial global model (version 0): Glorot-uniform weights from a seeded PRNG, zero biases. */
import { parameterCount, type LayerShape } from '../../protocols/weights';

/** mulberry32: small, fast, deterministic. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

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
