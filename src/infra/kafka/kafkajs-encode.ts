/**
 * kafkajs's produce-side encoding, the same bytes written with fewer copies (see kafkajs.ts): Record v0, the
 * uncompressed Produce request v3-v7, the request frame, varints and varlongs (patched on kafkajs's Encoder
 * when this module loads), and the record batch checksum.
 */
import { Encoder, patched, type KafkajsEncoder } from './kafkajs-internals';

type HeaderValue = Buffer | string | null;
export interface RecordInput {
  offsetDelta?: number;
  timestampDelta?: number | object;
  key?: Buffer | string | null;
  value?: Buffer | string | null;
  headers?: Record<string, HeaderValue | HeaderValue[] | undefined>;
}

interface HeaderPair { key: string; value: HeaderValue | undefined }

function headerPairs(headers: NonNullable<RecordInput['headers']>): HeaderPair[] {
  const pairs: HeaderPair[] = [];
  for (const k of Object.keys(headers)) {
    const v = headers[k];
    if (Array.isArray(v)) for (const one of v) pairs.push({ key: k, value: one });
    else pairs.push({ key: k, value: v });
  }
  return pairs;
}

/** The size of a Record v0's body (all but its leading length varint). */
function recordBodySize(offsetDelta: number, timestampDelta: number | object, key: RecordInput['key'], value: RecordInput['value'], pairs: readonly HeaderPair[]): number {
  let sizeOfHeaders = Encoder.sizeOfVarInt(pairs.length);
  for (const h of pairs) {
    const keySize = Buffer.byteLength(h.key);
    const valueSize = Buffer.byteLength(h.value as string | Buffer); // throws on null/undefined, as kafkajs's does
    sizeOfHeaders += Encoder.sizeOfVarInt(keySize) + keySize + Encoder.sizeOfVarInt(valueSize) + valueSize;
  }
  return 1 + Encoder.sizeOfVarLong(timestampDelta) + Encoder.sizeOfVarInt(offsetDelta) + Encoder.sizeOfVarIntBytes(key) + Encoder.sizeOfVarIntBytes(value) + sizeOfHeaders;
}

function writeRecord(e: KafkajsEncoder, sizeOfBody: number, offsetDelta: number, timestampDelta: number | object, key: RecordInput['key'], value: RecordInput['value'], pairs: readonly HeaderPair[]): void {
  e.writeVarInt(sizeOfBody).writeInt8(0).writeVarLong(timestampDelta).writeVarInt(offsetDelta).writeVarIntBytes(key).writeVarIntBytes(value).writeVarInt(pairs.length);
  for (const h of pairs) e.writeVarIntString(h.key).writeVarIntBytes(h.value);
}

/** An encoder over a buffer of exactly `size` bytes from the shared pool (unzeroed: every byte is written). */
function exactEncoder(size: number): KafkajsEncoder {
  const e = Object.create(Encoder.prototype) as KafkajsEncoder;
  e.buf = Buffer.allocUnsafe(size);
  e.offset = 0;
  return e;
}

/** kafkajs's Record v0 (length, attributes, timestamp and offset deltas, key, value, headers), same bytes. */
export function encodeRecord({ offsetDelta = 0, timestampDelta = 0, key, value, headers = {} }: RecordInput): KafkajsEncoder {
  const pairs = headerPairs(headers);
  const sizeOfBody = recordBodySize(offsetDelta, timestampDelta, key, value, pairs);
  // Exactly the bytes written below: nothing of the unzeroed buffer is ever read (the record is buf[0, offset)).
  // Were a size wrong, the encoder's own bounds check would grow the buffer: slower, never wrong.
  const e = exactEncoder(Encoder.sizeOfVarInt(sizeOfBody) + sizeOfBody);
  writeRecord(e, sizeOfBody, offsetDelta, timestampDelta, key, value, pairs);
  return e;
}

/**
 * kafkajs's Encoder writes each varint through a temporary array and a Buffer.from of it, and each varlong
 * through Long objects (the produce request has 3 to 5 varints and a varlong per record). These write the same
 * bytes into the encoder's buffer directly. A varlong given as anything but a number of at most 2^51 in
 * magnitude (a Long, a bigint, a string) takes kafkajs's own path.
 */
export function writeUVarInt(this: KafkajsEncoder, value: number): KafkajsEncoder {
  let v = value;
  if (this.offset + 5 > this.buf.length) {
    // near the end of the buffer (an exact-size one: encodeRecord's): grow it only when the bytes need it
    let n = 1;
    for (let t = v; (t & 0xffffff80) !== 0; t >>>= 7) n++;
    this.ensureAvailable(n);
  }
  const buf = this.buf;
  let o = this.offset;
  while ((v & 0xffffff80) !== 0) {
    buf[o++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  buf[o++] = v & 0x7f;
  this.offset = o;
  return this;
}

const VARLONG_FAST_MAX = 2 ** 51;
const fastVarLong = (value: unknown): value is number => typeof value === 'number' && Number.isInteger(value) && Math.abs(value) <= VARLONG_FAST_MAX;
/** the zigzag encoding of a fast varlong, as a non-negative number */
const zigzag = (v: number): number => (v >= 0 ? 2 * v : -2 * v - 1);

export function makeWriteVarLong(original: (this: KafkajsEncoder, value: number | bigint | object) => KafkajsEncoder) {
  return function writeVarLong(this: KafkajsEncoder, value: number | bigint | object): KafkajsEncoder {
    if (!fastVarLong(value)) return original.call(this, value);
    let z = zigzag(value);
    if (this.offset + 8 > this.buf.length) this.ensureAvailable(varLongSize(z));
    const buf = this.buf;
    let o = this.offset;
    while (z >= 0x80) {
      buf[o++] = (z % 0x80) | 0x80;
      z = Math.floor(z / 0x80);
    }
    buf[o++] = z;
    this.offset = o;
    return this;
  };
}

function varLongSize(zigzagged: number): number {
  let z = zigzagged;
  let bytes = 1;
  while (z >= 0x80) {
    bytes++;
    z = Math.floor(z / 0x80);
  }
  return bytes;
}

export function makeSizeOfVarLong(original: (value: number | bigint | object) => number) {
  return (value: number | bigint | object): number => (fastVarLong(value) ? varLongSize(zigzag(value)) : original(value));
}

if (patched) {
  const proto = Encoder.prototype as KafkajsEncoder & { writeVarLong: KafkajsEncoder['writeVarLong'] };
  const originalWriteVarLong = proto.writeVarLong;
  const originalSizeOfVarLong = Encoder.sizeOfVarLong.bind(Encoder);
  proto.writeUVarInt = writeUVarInt;
  proto.writeVarLong = makeWriteVarLong(originalWriteVarLong);
  Encoder.sizeOfVarLong = makeSizeOfVarLong(originalSizeOfVarLong);
}

/** A message of a produce request, as kafkajs's producer hands it over (partition and topic already settled). */
export interface ProduceMessage {
  key?: Buffer | string | null;
  value?: Buffer | string | null;
  headers?: RecordInput['headers'];
  timestamp?: number | string | null;
}
export interface ProduceArgs {
  acks: number;
  timeout: number;
  transactionalId?: string | null;
  producerId?: number | object;
  producerEpoch?: number;
  compression?: number;
  topicData: Array<{ topic: string; partitions: Array<{ partition: number; firstSequence?: number; messages: ProduceMessage[] }> }>;
}
export interface KafkajsRequest { apiKey: number; apiVersion: number; apiName: string; encode(): Promise<KafkajsEncoder> }

/**
 * kafkajs's Produce request v3 (v4 to v7 are v3 with another version number) without compression: the same
 * bytes as kafkajs's, written into one buffer of the exact size. kafkajs encodes each record into its own
 * buffer, copies them into the batch body, the body into the batch, the batch into the partition, the
 * partition into the topic and the topic into the request, each growing by doubling from 512 zeroed bytes.
 * A compressed request is kafkajs's own.
 */
export function encodeProduceV3({ acks, timeout, transactionalId = null, producerId = -1, producerEpoch = 0, topicData }: ProduceArgs): KafkajsEncoder {
  const plans = topicData.map(({ topic, partitions }) => ({
    topic,
    partitions: partitions.map(({ partition, firstSequence = 0, messages }) => {
      // kafkajs's timestamps: the present ones sorted as strings, the first and the last; Date.now() without any
      const dateNow = Date.now();
      const present = messages.map((m) => m.timestamp).filter((ts) => ts != null).sort();
      const timestamps = present.length === 0 ? [dateNow] : present;
      const firstTimestamp = timestamps[0]!;
      const maxTimestamp = timestamps[timestamps.length - 1]!;
      let recordsSize = 0;
      const records = messages.map((m, i) => {
        const pairs = headerPairs(m.headers === undefined ? {} : m.headers);
        const timestampDelta = ((m.timestamp || dateNow) as number) - (firstTimestamp as number);
        const body = recordBodySize(i, timestampDelta, m.key, m.value, pairs);
        recordsSize += Encoder.sizeOfVarInt(body) + body;
        return { m, i, pairs, timestampDelta, body };
      });
      // batch: leader epoch, magic, crc, then the body: attributes … first sequence, the record count, the records
      const bodySize = 2 + 4 + 8 + 8 + 8 + 2 + 4 + 4 + recordsSize;
      const batchSize = 4 + 1 + 4 + bodySize;
      return { partition, firstSequence, firstTimestamp, maxTimestamp, records, batchSize };
    }),
  }));
  let size = (transactionalId == null ? 2 : 2 + Buffer.byteLength(transactionalId, 'utf8')) + 2 + 4 + 4;
  for (const t of plans) {
    size += 2 + Buffer.byteLength(t.topic, 'utf8') + 4;
    for (const p of t.partitions) size += 4 + 4 + 8 + 4 + p.batchSize;
  }
  const attributes = transactionalId ? 16 : 0; // no compression, create time, the transactional bit
  const e = exactEncoder(size);
  e.writeString(transactionalId).writeInt16(acks).writeInt32(timeout).writeInt32(plans.length);
  for (const t of plans) {
    e.writeString(t.topic).writeInt32(t.partitions.length);
    for (const p of t.partitions) {
      // partition, the record batch's size, then kafkajs's RecordBatch: first offset, length, the batch
      e.writeInt32(p.partition).writeInt32(8 + 4 + p.batchSize).writeInt64(0).writeInt32(p.batchSize);
      e.writeInt32(0).writeInt8(2);
      const crcAt = e.offset;
      e.writeUInt32(0);
      const bodyStart = e.offset;
      e.writeInt16(attributes).writeInt32(p.records.length - 1).writeInt64(p.firstTimestamp).writeInt64(p.maxTimestamp);
      e.writeInt64(producerId).writeInt16(producerEpoch).writeInt32(p.firstSequence).writeInt32(p.records.length);
      for (const r of p.records) writeRecord(e, r.body, r.i, r.timestampDelta, r.m.key, r.m.value, r.pairs);
      e.buf.writeUInt32BE(crc32c(e.buf.subarray(bodyStart, e.offset)), crcAt);
    }
  }
  return e;
}

export function makeProduceRequestV3(original: (args: ProduceArgs) => KafkajsRequest) {
  return (args: ProduceArgs): KafkajsRequest => {
    const request = original(args);
    if ((args.compression ?? 0) !== 0) return request;
    return { ...request, encode: async () => encodeProduceV3(args) };
  };
}

/**
 * kafkajs's request frame (size, api key and version, correlation id, client id, the payload), written into
 * one buffer of the exact size; kafkajs copies the payload twice, into encoders grown by doubling.
 */
export async function encodeRequestFrame({ correlationId, clientId, request: { apiKey, apiVersion, encode } }: { correlationId: number; clientId: string | null; request: Pick<KafkajsRequest, 'apiKey' | 'apiVersion' | 'encode'> }): Promise<KafkajsEncoder> {
  const payload = await encode();
  if (payload == null || !Buffer.isBuffer(payload.buf)) throw new Error('value should be an instance of Encoder');
  const bytes = payload.buffer;
  const inner = 2 + 2 + 4 + (clientId == null ? 2 : 2 + Buffer.byteLength(clientId, 'utf8')) + bytes.length;
  const e = exactEncoder(4 + inner);
  e.writeInt32(inner).writeInt16(apiKey).writeInt16(apiVersion).writeInt32(correlationId).writeString(clientId);
  bytes.copy(e.buf, e.offset);
  e.offset += bytes.length;
  return e;
}

// CRC-32C (Castagnoli, reflected polynomial 0x82f63b78), slicing by 8: table s maps a byte s positions ahead.
const CRC_TABLES = Array.from({ length: 8 }, () => new Int32Array(256));
for (let n = 0; n < 256; n++) {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  CRC_TABLES[0]![n] = c;
}
for (let n = 0; n < 256; n++) for (let s = 1; s < 8; s++) CRC_TABLES[s]![n] = CRC_TABLES[0]![CRC_TABLES[s - 1]![n]! & 0xff]! ^ (CRC_TABLES[s - 1]![n]! >>> 8);
const [C0, C1, C2, C3, C4, C5, C6, C7] = CRC_TABLES as [Int32Array, Int32Array, Int32Array, Int32Array, Int32Array, Int32Array, Int32Array, Int32Array];

/** kafkajs's crc32C: the CRC-32C of `buf` as an unsigned 32-bit number. */
export function crc32c(buf: Uint8Array): number {
  let crc = -1;
  let i = 0;
  const n = buf.length;
  const end = n - (n % 8);
  for (; i < end; i += 8) {
    const a = crc ^ (buf[i]! | (buf[i + 1]! << 8) | (buf[i + 2]! << 16) | (buf[i + 3]! << 24));
    crc = C7[a & 0xff]! ^ C6[(a >>> 8) & 0xff]! ^ C5[(a >>> 16) & 0xff]! ^ C4[a >>> 24]! ^ C3[buf[i + 4]!]! ^ C2[buf[i + 5]!]! ^ C1[buf[i + 6]!]! ^ C0[buf[i + 7]!]!;
  }
  for (; i < n; i++) crc = C0[(crc ^ buf[i]!) & 0xff]! ^ (crc >>> 8);
  return (crc ^ -1) >>> 0;
}
