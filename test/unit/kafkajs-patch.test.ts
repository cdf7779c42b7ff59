/**
 * The linear grouping of a send's messages by partition that replaces kafkajs's quadratic one
 * (src/infra/kafka/kafkajs.ts): same output as the original on random sends, and it is what kafkajs loads.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import vm from 'node:vm';
import { createRequire } from 'node:module';
import { randomBytes } from 'node:crypto';
import { crc32c, crcFile, decodeRecordV0, recordDecoderFile, encodeRecord, encodeRequestFrame, encoderFile, produceV3File, requestFrameFile, type ProduceArgs, groupByPartition, groupingFile, kafkajsVersion, KeyedPartitioner, Partitioners, patched, recordFile, type RecordInput } from '../../src/infra/kafka/kafkajs';
import { mulberry32 } from '../../src/actors/aggregator/initial-model';

const Patch = suite('kafkajs grouping by partition');

/**
 * kafkajs's own module, evaluated from its file (the module cache holds ours); `originals` are files it gets
 * as evaluated here too (kafkajs's own encoder, not the patched one in the cache).
 */
function originalOf<F>(file: string, originals: readonly string[] = []): F {
  const m = { exports: {} as unknown };
  const req = createRequire(file);
  const load = ((spec: string) => {
    const resolved = req.resolve(spec);
    return originals.includes(resolved) ? originalOf(resolved, originals) : req(spec);
  }) as NodeJS.Require;
  vm.runInThisContext(`(function (module, exports, require) {${readFileSync(file, 'utf8')}\n})`)(m, m.exports, load);
  return m.exports as F;
}
const original = () => originalOf<typeof groupByPartition>(groupingFile);

Patch('the installed kafkajs is the version the replacements copy (2.2.4): upgrading it turns them off, and this test says so', () => {
  assert.is(kafkajsVersion, '2.2.4');
  assert.ok(patched);
});

Patch('kafkajs resolves its grouping module to ours', () => {
  // loading kafkajs through the wrapper made its producer require the cached module
  assert.is(require(groupingFile), groupByPartition);
});

Patch('same partition → messages object as kafkajs, messages in send order, on 200 random sends', () => {
  const kafkajs = original();
  assert.is.not(kafkajs, groupByPartition);
  const rnd = mulberry32(7);
  for (let run = 0; run < 200; run++) {
    const partitions = 1 + Math.floor(rnd() * 8);
    const partitionMetadata = Array.from({ length: partitions }, (_, p) => ({ partitionId: p, leader: 0 }));
    const messages = Array.from({ length: Math.floor(rnd() * 300) }, (_, i) => ({ key: `k${Math.floor(rnd() * 20)}`, value: `v${i}` }));
    const partitioner = ({ message }: { message: { key: string } }) => Number(message.key.slice(1)) % partitions;
    const args = { topic: 't', partitionMetadata, messages, partitioner };
    assert.equal(groupByPartition(args), kafkajs(args));
  }
  const none = { topic: 't', partitionMetadata: [], messages: [{ key: 'k1', value: 'v' }], partitioner: () => 0 };
  assert.equal(groupByPartition(none), kafkajs(none));
});

Patch('KeyedPartitioner picks what DefaultPartitioner picks: keyed (string and Buffer keys, any partition count), explicit partitions, round robin', () => {
  const ours = KeyedPartitioner();
  const theirs = Partitioners.DefaultPartitioner();
  const rnd = mulberry32(11);
  const meta = (n: number) => Array.from({ length: n }, (_, p) => ({ partitionId: p, leader: 0, partitionErrorCode: 0, replicas: [], isr: [] }));
  for (let i = 0; i < 5_000; i++) {
    const n = 1 + Math.floor(rnd() * 12);
    const raw = `device-${Math.floor(rnd() * 300)}-é${Math.floor(rnd() * 3)}`;
    const key = rnd() < 0.3 ? Buffer.from(raw) : raw;
    const args = { topic: rnd() < 0.5 ? 'a' : 'b', partitionMetadata: meta(n), message: { key, value: 'v' } };
    assert.is(ours(args), theirs(args), `key ${raw} on ${n} partitions`);
  }
  assert.is(ours({ topic: 'a', partitionMetadata: meta(6), message: { key: 'k', value: 'v', partition: 4 } }), 4);
  const rr = Array.from({ length: 12 }, () => ours({ topic: 'a', partitionMetadata: meta(6), message: { key: null, value: 'v' } }));
  assert.equal(new Set(rr).size, 6, 'messages without a key go round robin over the partitions');
});

Patch('encodeRecord writes the bytes kafkajs writes: 3,000 random records (string, Buffer and null keys and values, 0 to 3 headers, repeated and null header values)', () => {
  const kafkajs = originalOf<(r: RecordInput) => { buffer: Buffer }>(recordFile, [encoderFile]);
  assert.is(require(recordFile), encodeRecord, 'kafkajs resolves its record module to ours');
  const rnd = mulberry32(5);
  const text = (n: number) => Array.from({ length: n }, () => String.fromCharCode(rnd() < 0.1 ? 0x4e00 + Math.floor(rnd() * 100) : 32 + Math.floor(rnd() * 90))).join('');
  const bytesOrText = (n: number): Buffer | string | null => { const r = rnd(); return r < 0.1 ? null : r < 0.4 ? Buffer.from(text(n)) : text(n); };
  let refused = 0;
  for (let i = 0; i < 3_000; i++) {
    const headers: RecordInput['headers'] = {};
    const count = Math.floor(rnd() * 4);
    for (let h = 0; h < count; h++) {
      const r = rnd();
      headers[`h${h}-${text(3)}`] = r < 0.2 ? [text(5), Buffer.from(text(7))] : r < 0.3 ? null : r < 0.6 ? Buffer.from(text(20)) : text(Math.floor(rnd() * 60));
    }
    const size = rnd() < 0.05 ? 70_000 : Math.floor(rnd() * 600);
    const input: RecordInput = { offsetDelta: Math.floor(rnd() * 100_000), timestampDelta: Math.floor(rnd() * 2 ** 40), key: bytesOrText(12), value: bytesOrText(size), ...(rnd() < 0.2 ? {} : { headers }) };
    let theirs: Buffer | Error;
    try { theirs = kafkajs(input).buffer; } catch (e) { theirs = e as Error; }
    if (theirs instanceof Error) {
      // a null header value: kafkajs refuses it with a TypeError, and so do we
      assert.throws(() => encodeRecord(input), (e: Error) => e.message === (theirs as Error).message);
      refused++;
      continue;
    }
    const ours = encodeRecord(input);
    assert.ok(Buffer.from(ours.buf.subarray(0, ours.offset)).equals(theirs), `record ${i}: ${JSON.stringify(input).slice(0, 200)}`);
    assert.is(ours.offset, ours.buf.length, 'sized exactly');
  }
  assert.ok(refused > 0 && refused < 1_000, `${refused} records with a null header value compared as refused`);
});

interface EncoderLike { buffer: Buffer; writeVarInt(n: number): EncoderLike; writeUVarInt(n: number): EncoderLike; writeVarLong(n: unknown): EncoderLike; writeInt32(n: number): EncoderLike }
interface EncoderClassLike { new (): EncoderLike; sizeOfVarLong(n: unknown): number }

Patch('kafkajs\'s Encoder writes varints and varlongs as kafkajs does: 20,000 random values of every magnitude, negative, fractional, Long and bigint', () => {
  const Theirs = originalOf<EncoderClassLike>(encoderFile);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const Ours = require(encoderFile) as EncoderClassLike;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const Long = require('kafkajs/src/utils/long') as { fromNumber(n: number): unknown; fromString(s: string): unknown };
  assert.is.not(Ours.prototype.writeUVarInt, Theirs.prototype.writeUVarInt, 'the cached encoder is the patched one');
  const rnd = mulberry32(13);
  const magnitude = () => Math.floor(rnd() * 2 ** Math.floor(rnd() * 64)) * (rnd() < 0.3 ? -1 : 1);
  const special = [0, 1, -1, 63, 64, -64, -65, 127, 128, 2 ** 31 - 1, -(2 ** 31), 2 ** 31, 2 ** 32, 2 ** 51, -(2 ** 51), 2 ** 51 + 2, 2 ** 53, -(2 ** 53), 1.5, -0.5];
  const values = [...special, ...Array.from({ length: 20_000 }, magnitude)];
  const bytes = (e: EncoderLike) => Buffer.from(e.buffer).toString('hex');
  /** the result, or the error's message (kafkajs refuses a fractional varlong, and so must we) */
  const outcome = <T>(f: () => T): T | string => { try { return f(); } catch (e) { return `error: ${(e as Error).message}`; } };
  let refused = 0;
  for (const v of values) {
    assert.is(bytes(new Ours().writeVarInt(v).writeUVarInt(v)), bytes(new Theirs().writeVarInt(v).writeUVarInt(v)), `varint ${v}`);
    const theirs = outcome(() => bytes(new Theirs().writeVarLong(v)));
    if (theirs.startsWith('error')) refused++;
    assert.is(outcome(() => bytes(new Ours().writeVarLong(v))), theirs, `varlong ${v}`);
    assert.is(outcome(() => Ours.sizeOfVarLong(v)), outcome(() => Theirs.sizeOfVarLong(v)), `size of varlong ${v}`);
  }
  assert.is(refused, 2, 'the two fractional values are refused by both');
  for (const v of [Long.fromNumber(-5), Long.fromString('9223372036854775807'), 12345678901234567n, '42']) {
    assert.is(bytes(new Ours().writeVarLong(v)), bytes(new Theirs().writeVarLong(v)), `varlong ${String(v)}`);
    assert.is(Ours.sizeOfVarLong(v), Theirs.sizeOfVarLong(v));
  }
  // within one buffer that grows: what was written before stays
  const ours = new Ours(); const theirs = new Theirs();
  for (let i = 0; i < 2_000; i++) { const v = magnitude(); ours.writeInt32(i).writeVarInt(v).writeVarLong(v); theirs.writeInt32(i).writeVarInt(v).writeVarLong(v); }
  assert.is(bytes(ours), bytes(theirs));
});

/** every file of kafkajs's produce request encoding, so that "theirs" is kafkajs as shipped */
const produceFiles = [encoderFile, recordFile, crcFile, require.resolve('kafkajs/src/protocol/recordBatch/crc32C'), require.resolve('kafkajs/src/protocol/recordBatch/v0'), produceV3File];

Patch('the produce request (v3 to v7) has kafkajs\'s bytes: 400 random requests (topics, partitions, keys, values, headers, timestamps; transactional, idempotent or neither); compressed ones are kafkajs\'s own', async () => {
  type Factory = (args: ProduceArgs) => { apiKey: number; apiVersion: number; apiName: string; encode(): Promise<{ buffer: Buffer }> };
  const theirs = originalOf<Factory>(produceV3File, produceFiles);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const ours = require(produceV3File) as Factory;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { protocol } = require('kafkajs/src/protocol/requests/produce') as { protocol: (v: { version: number }) => (a: ProduceArgs) => { request: { apiVersion: number; encode(): Promise<{ buffer: Buffer }> } } };
  assert.is.not(ours, theirs);
  const rnd = mulberry32(17);
  const text = (n: number) => Array.from({ length: n }, () => String.fromCharCode(rnd() < 0.1 ? 0x4e00 + Math.floor(rnd() * 100) : 32 + Math.floor(rnd() * 90))).join('');
  const bytesOrText = (n: number): Buffer | string | null => { const r = rnd(); return r < 0.1 ? null : r < 0.4 ? Buffer.from(text(n)) : text(n); };
  const realNow = Date.now;
  Date.now = () => 1_764_000_000_000; // kafkajs stamps messages without a timestamp with Date.now()
  try {
    for (let run = 0; run < 400; run++) {
      const stamped = rnd();
      const args: ProduceArgs = {
        acks: rnd() < 0.5 ? -1 : 1,
        timeout: Math.floor(rnd() * 60_000),
        // transactional, idempotent only (a producer id, no transactional id), or neither
        ...(rnd() < 0.4 ? { transactionalId: `flead-journal-${text(6)}` } : {}),
        ...(rnd() < 0.7 ? { producerId: Math.floor(rnd() * 10_000), producerEpoch: Math.floor(rnd() * 5) } : {}),
        topicData: Array.from({ length: 1 + Math.floor(rnd() * 3) }, (_, t) => ({
          topic: `topic-${t}-${text(4)}`,
          partitions: Array.from({ length: 1 + Math.floor(rnd() * 4) }, (_, p) => ({
            partition: p,
            ...(rnd() < 0.7 ? { firstSequence: Math.floor(rnd() * 100_000) } : {}),
            messages: Array.from({ length: Math.floor(rnd() * 40) }, () => {
              const headers: Record<string, string | Buffer | string[]> = {};
              for (let h = Math.floor(rnd() * 3); h > 0; h--) headers[`h${h}`] = rnd() < 0.2 ? [text(3), text(4)] : rnd() < 0.5 ? Buffer.from(text(10)) : text(30);
              return {
                key: bytesOrText(10), value: bytesOrText(rnd() < 0.02 ? 20_000 : Math.floor(rnd() * 400)), ...(rnd() < 0.8 ? { headers } : {}),
                ...(stamped < 0.3 ? {} : stamped < 0.6 ? { timestamp: 1_700_000_000_000 + Math.floor(rnd() * 1e6) } : { timestamp: String(1_700_000_000_000 + Math.floor(rnd() * 1e6)) }),
              };
            }),
          })),
        })),
      };
      const a = await ours(args).encode();
      const b = await theirs(args).encode();
      assert.ok(Buffer.from(a.buffer).equals(b.buffer), `request ${run}`);
      const version = 3 + (run % 5);
      const viaKafkajs = protocol({ version })(args).request;
      assert.is(viaKafkajs.apiVersion, version);
      assert.ok(Buffer.from((await viaKafkajs.encode()).buffer).equals(b.buffer), `kafkajs's Produce v${version} uses ours`);
    }
    const gzip: ProduceArgs = { acks: -1, timeout: 1000, compression: 1, topicData: [{ topic: 't', partitions: [{ partition: 0, messages: [{ key: 'k', value: 'v'.repeat(100), timestamp: 1 }] }] }] };
    assert.ok(Buffer.from((await ours(gzip).encode()).buffer).equals((await theirs(gzip).encode()).buffer), 'gzip: kafkajs\'s own encoding');
  } finally {
    Date.now = realNow;
  }
});

Patch('the request frame has kafkajs\'s bytes: 500 random frames', async () => {
  type Frame = (r: { correlationId: number; clientId: string; request: { apiKey: number; apiVersion: number; encode(): Promise<unknown> } }) => Promise<{ buffer: Buffer }>;
  const theirs = originalOf<Frame>(requestFrameFile, [encoderFile]);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  assert.is(require(requestFrameFile), encodeRequestFrame, 'kafkajs resolves its request frame module to ours');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const Enc = require(encoderFile) as new () => { writeBuffer(b: Buffer): unknown };
  const rnd = mulberry32(19);
  for (let i = 0; i < 500; i++) {
    const payload = randomBytes(Math.floor(rnd() * (rnd() < 0.05 ? 300_000 : 2_000)));
    const frame = { correlationId: Math.floor(rnd() * 2 ** 31), clientId: `flead-${'é'.repeat(Math.floor(rnd() * 5))}`, request: { apiKey: Math.floor(rnd() * 60), apiVersion: Math.floor(rnd() * 12), encode: async () => { const e = new Enc(); e.writeBuffer(payload); return e; } } };
    assert.ok(Buffer.from((await encodeRequestFrame(frame as never)).buffer).equals((await theirs(frame)).buffer), `frame ${i}`);
  }
});

Patch('records decode as kafkajs decodes them: 5,000 random records (offsets and timestamps past 2^53, negative and 9-byte deltas, log-append time, repeated and __proto__ headers)', () => {
  type Dec = (d: unknown, ctx?: unknown) => Record<string, unknown>;
  const theirs = originalOf<Dec>(recordDecoderFile);
  assert.is(require(recordDecoderFile), decodeRecordV0, 'kafkajs resolves its record decoder module to ours');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const Decoder = require('kafkajs/src/protocol/decoder') as new (b: Buffer) => unknown;
  const rnd = mulberry32(31);
  const big = () => (rnd() < 0.5 ? String(Math.floor(rnd() * 1e6)) : `${Math.floor(rnd() * 9e5)}${String(Math.floor(rnd() * 1e13)).padStart(13, '0')}${rnd() < 0.3 ? '123' : ''}`);
  for (let i = 0; i < 5_000; i++) {
    const headers: Record<string, string | string[]> = {};
    for (let h = Math.floor(rnd() * 4); h > 0; h--) {
      const value = rnd() < 0.3 ? ['a', 'b', 'c'].slice(0, 1 + Math.floor(rnd() * 3)) : `v${h}`;
      if (rnd() < 0.1) Object.defineProperty(headers, '__proto__', { value, enumerable: true, writable: true, configurable: true });
      else headers[`h${Math.floor(rnd() * 2)}`] = value;
    }
    const r = rnd();
    const timestampDelta = r < 0.1 ? -Math.floor(rnd() * 1e6) : r < 0.2 ? Math.floor(rnd() * 2 ** 60) : r < 0.25 ? 2 ** 48 + Math.floor(rnd() * 2 ** 50) : Math.floor(rnd() * 5_000);
    const bytes = Buffer.from(encodeRecord({ offsetDelta: Math.floor(rnd() * 100_000), timestampDelta, key: rnd() < 0.2 ? null : `k${i}`, value: rnd() < 0.1 ? null : `value ${i}`, headers }).buffer);
    const ctx = { firstOffset: big(), firstTimestamp: rnd() < 0.05 ? '-1' : big(), magicByte: 2, ...(rnd() < 0.5 ? { isControlBatch: rnd() < 0.5 } : {}), timestampType: rnd() < 0.2 ? 1 : 0, maxTimestamp: rnd() < 0.1 ? '0' : big() };
    // kafkajs reads a record from its own buffer, after the length varint
    const at = (b: Buffer) => { const d = new Decoder(b) as { readVarInt(): number }; d.readVarInt(); return d; };
    const a = decodeRecordV0(at(bytes) as never, ctx);
    const b = theirs(at(bytes), ctx);
    assert.equal(Object.keys(a), Object.keys(b));
    for (const k of Object.keys(b)) if (k !== 'headers') assert.equal(a[k], b[k], `record ${i}: ${k}`);
    const ha = a.headers as Record<string, unknown>;
    const hb = b.headers as Record<string, unknown>;
    assert.equal(Object.keys(ha), Object.keys(hb), `record ${i}: header names`);
    for (const k of Object.keys(hb)) assert.equal(Object.getOwnPropertyDescriptor(ha, k)!.value, Object.getOwnPropertyDescriptor(hb, k)!.value, `record ${i}: header ${k}`);
    assert.is(Object.getPrototypeOf(ha), Object.getPrototypeOf(hb));
  }
});

Patch('crc32c gives kafkajs\'s CRC-32C on 2,000 random buffers of 0 to 3,000 bytes, at any alignment, and the known check value', () => {
  const kafkajs = originalOf<(b: Buffer) => number>(crcFile);
  assert.is(require(crcFile), crc32c, 'kafkajs resolves its checksum module to ours');
  const rnd = mulberry32(3);
  for (let i = 0; i < 2_000; i++) {
    const whole = randomBytes(3_008);
    const from = Math.floor(rnd() * 8);
    const b = whole.subarray(from, from + Math.floor(rnd() * 3_000));
    assert.is(crc32c(b), kafkajs(b), `${b.length} bytes at offset ${from}`);
  }
  assert.is(crc32c(Buffer.from('123456789')), 0xe3069283, 'CRC-32C check value');
  assert.is(crc32c(Buffer.alloc(0)), 0);
});

Patch.run();
