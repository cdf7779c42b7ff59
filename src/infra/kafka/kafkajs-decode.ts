/** kafkajs's Record v0 decoding, the same records without a BigInt per record (see kafkajs.ts). */
import { HeaderDecoder, LOG_APPEND_TIME, Long, type KafkajsDecoder } from './kafkajs-internals';

interface BatchContext { firstOffset: string; firstTimestamp: string; magicByte: number; isControlBatch?: boolean; timestampType: number; maxTimestamp: string }

/** a decimal integer string whose number is exact, with room for any 49-bit delta (see addDecimal) */
const SMALL_DECIMAL = /^-?\d{1,15}$/;
const parsedBases = new Map<string, number | null>();
/** kafkajs's `Long.fromValue(base).add(delta).toString()`: with numbers when the base is a short decimal string */
function addDecimal(base: unknown, delta: number | object): string {
  if (typeof base !== 'string' || typeof delta !== 'number') return Long.fromValue(base).add(delta).toString();
  let n = parsedBases.get(base);
  if (n === undefined) {
    n = SMALL_DECIMAL.test(base) ? Number(base) : null;
    if (parsedBases.size > 64) parsedBases.clear(); // a batch's two bases are looked up per record
    parsedBases.set(base, n);
  }
  return n === null ? Long.fromValue(base).add(delta).toString() : String(n + delta);
}

/** A varlong of at most 7 bytes (49 bits) as a number; anything longer through kafkajs's own (a Long). */
function readVarLongFast(d: KafkajsDecoder): number | object {
  const buf = d.buffer;
  const start = d.offset;
  let z = 0;
  let scale = 1;
  for (let o = start; o < start + 7; o++) {
    const b = buf[o];
    z += ((b ?? 0) & 0x7f) * scale;
    if (!(b! >= 0x80)) {
      d.offset = o + 1;
      return z % 2 === 0 ? z / 2 : -(z + 1) / 2;
    }
    scale *= 0x80;
  }
  d.offset = start;
  return d.readVarLong();
}

/**
 * kafkajs's Record v0 decoder, the same record: its offset and timestamp are the batch's first ones plus the
 * record's deltas, which kafkajs computes through a BigInt parsed from the batch's decimal strings for every
 * record, and its headers are folded without a copy of the object per header.
 */
export function decodeRecordV0(decoder: KafkajsDecoder, batchContext: Partial<BatchContext> = {}): Record<string, unknown> {
  const { firstOffset, firstTimestamp, magicByte, isControlBatch = false, timestampType, maxTimestamp } = batchContext;
  const attributes = decoder.readInt8();
  const timestampDelta = readVarLongFast(decoder);
  const timestamp = timestampType === LOG_APPEND_TIME && maxTimestamp ? maxTimestamp : addDecimal(firstTimestamp, timestampDelta);
  const offsetDelta = decoder.readVarInt();
  const offset = addDecimal(firstOffset, offsetDelta);
  const key = decoder.readVarIntBytes();
  const value = decoder.readVarIntBytes();
  const headers: Record<string, unknown> = {};
  for (const h of decoder.readVarIntArray(HeaderDecoder)) {
    const known = headers[h.key];
    const next = known === undefined ? h.value : Array.isArray(known) ? known.concat([h.value]) : [known, h.value];
    if (h.key === '__proto__') Object.defineProperty(headers, h.key, { value: next, enumerable: true, writable: true, configurable: true });
    else headers[h.key] = next;
  }
  return { magicByte, attributes, timestamp, offset, key, value, headers, isControlRecord: isControlBatch, batchContext };
}
