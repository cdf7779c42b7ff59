/**
 * The linear grouping of a send's messages by partition that replaces kafkajs's quadratic one
 * (src/infra/kafka/kafkajs.ts): same output as the original on random sends, and it is what kafkajs loads.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import vm from 'node:vm';
import { groupByPartition, groupingFile, KeyedPartitioner, Partitioners } from '../../src/infra/kafka/kafkajs';
import { mulberry32 } from '../../src/actors/aggregator/initial-model';

const Patch = suite('kafkajs grouping by partition');

/** kafkajs's own function, evaluated from its file (the module cache holds ours). */
function original(): typeof groupByPartition {
  const m = { exports: {} as unknown };
  vm.runInThisContext(`(function (module, exports) {${readFileSync(groupingFile, 'utf8')}\n})`)(m, m.exports);
  return m.exports as typeof groupByPartition;
}

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

Patch.run();
