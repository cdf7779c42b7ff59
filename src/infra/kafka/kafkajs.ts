/**
 * kafkajs, with measured fixes, for every module of ours that uses its values (types may come from 'kafkajs').
 *
 * kafkajs 2.2.4 (unmaintained) groups a send's messages by partition with `[...current, message]` per message:
 * quadratic in the messages per partition. On the pipeline bench (1,000-record sends) it took 89 ms of 1,319 ms
 * of CPU. `groupByPartition` below returns the same object (partition → messages in send order) in linear time;
 * it is put in the module cache under kafkajs's own file name before kafkajs is loaded, so its producer picks it
 * up. If kafkajs was loaded before this module (a script importing 'kafkajs' first), the original stays in use:
 * same results, slower.
 *
 * `encodeRecord` writes a record (the produce request's Record v0) into one buffer of its exact size from the
 * shared pool; kafkajs's own allocates a zero-filled 512-byte encoder per record and another per header, then
 * copies each header in: 114 ms against 55 ms for 18,914 reading-sized records with one header, the same bytes.
 * It is put in the module cache like the grouping.
 *
 * `encodeProduceV3` writes a whole uncompressed Produce request (v3 to v7) into one buffer of its exact size,
 * and `encodeRequestFrame` the frame around any request; kafkajs copies every record five times more, into
 * zeroed encoders grown by doubling. Its varints and varlongs are written without temporary arrays and Long
 * objects (patched on its Encoder). All the same bytes, checked against kafkajs's own code on random input.
 * On the pipeline bench these took the pipeline from 8,847 to ~16,000 readings/s and the raw kafkajs baseline
 * (the same patched client) from 40,000 to ~90,000-109,000 msg/s.
 *
 * `crc32c` is the record batch checksum (CRC-32C) computed 8 bytes at a step instead of 1: 0.65 against 2.44
 * ms per MiB, same values.
 *
 * `decodeRecordV0` decodes a fetched record with its offset and timestamp computed in numbers while they are
 * exact; kafkajs parses the batch's decimal base offset and timestamp into a BigInt for every record.
 *
 * The encoding replacements live in kafkajs-encode.ts, the decoding one in kafkajs-decode.ts, kafkajs's
 * internals they use in kafkajs-internals.ts; this module puts them in place and re-exports kafkajs.
 *
 * `KeyedPartitioner` is kafkajs's DefaultPartitioner (Java-compatible murmur2 of the key, modulo the partition
 * count) with the answer per topic, partition count and key remembered: our keys (device ids, journal keys)
 * repeat; 7 ms against 40 ms for 32,000 records over 8 keys (hashing every key took 37 ms of that bench).
 */
import Module from 'node:module';
import { crc32c, encodeRecord, encodeRequestFrame, makeProduceRequestV3, type KafkajsRequest, type ProduceArgs } from './kafkajs-encode';
import { decodeRecordV0 } from './kafkajs-decode';
import { patched } from './kafkajs-internals';

export { crc32c, encodeRecord, encodeRequestFrame, type ProduceArgs, type RecordInput } from './kafkajs-encode';
export { decodeRecordV0 } from './kafkajs-decode';
export { kafkajsVersion, patched } from './kafkajs-internals';

interface GroupArgs<M> {
  topic: string;
  partitionMetadata: readonly unknown[];
  messages: readonly M[];
  partitioner: (args: { topic: string; partitionMetadata: readonly unknown[]; message: M }) => number;
}

export function groupByPartition<M>({ topic, partitionMetadata, messages, partitioner }: GroupArgs<M>): Record<number, M[]> {
  const result: Record<number, M[]> = {};
  if (partitionMetadata.length === 0) return result;
  for (const message of messages) {
    const partition = partitioner({ topic, partitionMetadata, message });
    (result[partition] ??= []).push(message);
  }
  return result;
}

/** the files kafkajs requires for the grouping, the record, its encoder and the checksum */
export const groupingFile = patched ? require.resolve('kafkajs/src/producer/groupMessagesPerPartition') : '';
export const recordFile = patched ? require.resolve('kafkajs/src/protocol/recordBatch/record/v0') : '';
export const recordDecoderFile = patched ? require.resolve('kafkajs/src/protocol/recordBatch/record/v0/decoder') : '';
export const requestFrameFile = patched ? require.resolve('kafkajs/src/protocol/request') : '';
export const produceV3File = patched ? require.resolve('kafkajs/src/protocol/requests/produce/v3/request') : '';
export const encoderFile = patched ? require.resolve('kafkajs/src/protocol/encoder') : '';
export const crcFile = patched ? require.resolve('kafkajs/src/protocol/recordBatch/crc32C/crc32C') : '';

for (const [file, replacement] of [[groupingFile, groupByPartition], [recordFile, encodeRecord], [crcFile, crc32c], [requestFrameFile, encodeRequestFrame], [recordDecoderFile, decodeRecordV0]] as const) {
  if (!patched || require.cache[file]) continue;
  const m = new Module(file);
  m.filename = file;
  m.loaded = true;
  m.exports = replacement;
  require.cache[file] = m;
}

// The produce request module is loaded when a produce request is first made; its compressed path stays.
if (patched) {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const original = require(produceV3File) as (args: ProduceArgs) => KafkajsRequest;
  if ((original as { flead?: true }).flead !== true) require.cache[produceV3File]!.exports = Object.assign(makeProduceRequestV3(original), { flead: true as const });
}

// eslint-disable-next-line @typescript-eslint/no-require-imports
const kafkajs = require('kafkajs') as typeof import('kafkajs');

/** keys remembered per partitioner before it starts again (10,000 devices fit many times over) */
const MAX_REMEMBERED_KEYS = 200_000;

export const KeyedPartitioner: import('kafkajs').ICustomPartitioner = () => {
  const dflt = kafkajs.Partitioners.DefaultPartitioner();
  const known = new Map<string, number>();
  return (args) => {
    const { topic, partitionMetadata, message } = args;
    if (message.partition !== null && message.partition !== undefined) return message.partition;
    const key = message.key;
    if (key === null || key === undefined) return dflt(args); // round robin: nothing to remember
    const id = `${topic}\u0000${partitionMetadata.length}\u0000${typeof key === 'string' ? `s${key}` : `b${key.toString('latin1')}`}`;
    let partition = known.get(id);
    if (partition === undefined) {
      partition = dflt(args);
      if (known.size >= MAX_REMEMBERED_KEYS) known.clear();
      known.set(id, partition);
    }
    return partition;
  };
};

export * from 'kafkajs';
