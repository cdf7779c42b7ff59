/**
 * kafkajs, with one measured fix, for every module of ours that uses its values (types may come from 'kafkajs').
 *
 * kafkajs 2.2.4 (unmaintained) groups a send's messages by partition with `[...current, message]` per message:
 * quadratic in the messages per partition. On the pipeline bench (1,000-record sends) it took 89 ms of 1,319 ms
 * of CPU. `groupByPartition` below returns the same object (partition → messages in send order) in linear time;
 * it is put in the module cache under kafkajs's own file name before kafkajs is loaded, so its producer picks it
 * up. If kafkajs was loaded before this module (a script importing 'kafkajs' first), the original stays in use:
 * same results, slower.
 *
 * `KeyedPartitioner` is kafkajs's DefaultPartitioner (Java-compatible murmur2 of the key, modulo the partition
 * count) with the answer per topic, partition count and key remembered: our keys (device ids, journal keys)
 * repeat, and hashing every record's key took another 37 ms of that bench.
 */
import Module from 'node:module';

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

/** the file kafkajs requires for the grouping */
export const groupingFile = require.resolve('kafkajs/src/producer/groupMessagesPerPartition');

if (!require.cache[groupingFile]) {
  const m = new Module(groupingFile);
  m.filename = groupingFile;
  m.loaded = true;
  m.exports = groupByPartition;
  require.cache[groupingFile] = m;
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
