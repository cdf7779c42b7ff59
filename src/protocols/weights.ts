/**
 * Model weights on the wire. Encoding is explicit: dtype float32, little-endian byte order, one shape per
 * layer, all layers concatenated in order into one base64 payload. Hash = sha256 of the raw bytes.
 */
import * as t from 'io-ts';
import { createHash } from 'node:crypto';
import { Base64, NonEmptyString, NonNegativeInt } from './codec';

export const LayerShape = t.type({ name: NonEmptyString, shape: t.array(NonNegativeInt) }, 'LayerShape');
export type LayerShape = t.TypeOf<typeof LayerShape>;

/** "dense_1 2x8, dense_1_bias 8, …": layer shapes in a sentence (and a key to compare them by) */
export const layersText = (ls: ReadonlyArray<{ name: string; shape: readonly number[] }>): string => ls.map((l) => `${l.name} ${l.shape.join('x')}`).join(', ');

export const EncodedWeights = t.type(
  {
    dtype: t.literal('float32'),
    byteOrder: t.literal('little'),
    layers: t.array(LayerShape),
    data: Base64,
  },
  'EncodedWeights',
);
export type EncodedWeights = t.TypeOf<typeof EncodedWeights>;

export const parameterCount = (layers: readonly LayerShape[]): number =>
  layers.reduce((n, l) => n + l.shape.reduce((a, b) => a * b, 1), 0);

/** Encode a flat parameter vector (little-endian float32) with its layer shapes. */
export function encodeWeights(layers: readonly LayerShape[], flat: Float32Array): EncodedWeights {
  if (parameterCount(layers) !== flat.length) {
    throw new Error(`encodeWeights: shapes hold ${parameterCount(layers)} parameters, vector has ${flat.length}`);
  }
  return { dtype: 'float32', byteOrder: 'little', layers: layers.map((l) => ({ name: l.name, shape: [...l.shape] })), data: Buffer.from(toLittleEndianBytes(flat)).toString('base64') };
}

/** Decode to a flat vector; Left-style error string when the byte length does not match the shapes. */
export function decodeWeights(w: EncodedWeights): { ok: true; flat: Float32Array } | { ok: false; reason: string } {
  const bytes = Buffer.from(w.data, 'base64');
  const expected = parameterCount(w.layers) * 4;
  if (bytes.length !== expected) return { ok: false, reason: `weights hold ${bytes.length} bytes, shapes need ${expected}` };
  return { ok: true, flat: fromLittleEndianBytes(bytes) };
}

const littleEndianHost = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export function toLittleEndianBytes(flat: Float32Array): Uint8Array {
  if (littleEndianHost) return new Uint8Array(flat.buffer, flat.byteOffset, flat.byteLength);
  const out = new DataView(new ArrayBuffer(flat.length * 4));
  flat.forEach((v, i) => out.setFloat32(i * 4, v, true));
  return new Uint8Array(out.buffer);
}

export function fromLittleEndianBytes(bytes: Uint8Array): Float32Array {
  const out = new Float32Array(bytes.length / 4);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(i * 4, true);
  return out;
}

export const hashWeights = (flat: Float32Array): string =>
  createHash('sha256').update(toLittleEndianBytes(flat)).digest('hex');
