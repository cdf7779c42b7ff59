/**
 * createTopicsSettled against a scripted kafkajs Admin: the answers a broker gives while other clients create the
 * same topics (the real broker's side is in test/int/bus.test.ts: buses ensuring the same topics at once).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Admin } from 'kafkajs';
import { createTopicsSettled } from '../../src/infra/kafka/create-topics';

type Meta = { name: string; partitions: { leader: number }[] };
const err = (type: string, retriable: boolean) => Object.assign(new Error(type), { type, retriable });
const exists = () => Object.assign(new Error('Topic with this name already exists'), { errors: [{ type: 'TOPIC_ALREADY_EXISTS' }] });

/** An Admin whose listTopics/createTopics/fetchTopicMetadata answer from scripts (one entry per call, the last repeats). */
function admin(script: { list?: string[][]; create?: Array<Error | null>; meta?: Array<Meta[] | Error> }) {
  const calls = { list: 0, create: [] as string[][], meta: 0 };
  const pick = <T>(xs: T[] | undefined, i: number, dflt: T): T => (xs && xs.length ? xs[Math.min(i, xs.length - 1)]! : dflt);
  const a = {
    listTopics: async () => pick(script.list, calls.list++, []),
    createTopics: async ({ topics }: { topics: { topic: string }[] }) => {
      const e = pick(script.create, calls.create.length, null);
      calls.create.push(topics.map((t) => t.topic));
      if (e) throw e;
      return true;
    },
    fetchTopicMetadata: async () => {
      const m = pick(script.meta, calls.meta++, [] as Meta[]);
      if (m instanceof Error) throw m;
      return { topics: m };
    },
  };
  return { admin: a as unknown as Admin, calls };
}
const served = (name: string, n: number): Meta => ({ name, partitions: Array.from({ length: n }, () => ({ leader: 1 })) });
const wanted = [{ topic: 'a', numPartitions: 12 }, { topic: 'b', numPartitions: 3 }];

test('creates only the missing topics and resolves to the counts the broker serves (an existing topic keeps its own)', async () => {
  const { admin: a, calls } = admin({ list: [['b']], meta: [[served('a', 12), served('b', 6)]] });
  assert.equal(await createTopicsSettled(a, wanted), [{ topic: 'a', partitions: 12 }, { topic: 'b', partitions: 6 }]);
  assert.equal(calls.create, [['a']]);
});

test('another client created a topic first: TOPIC_ALREADY_EXISTS is taken as done', async () => {
  const { admin: a } = admin({ create: [exists()], meta: [[served('a', 12), served('b', 3)]] });
  assert.equal(await createTopicsSettled(a, wanted), [{ topic: 'a', partitions: 12 }, { topic: 'b', partitions: 3 }]);
});

test('UNKNOWN_TOPIC_OR_PARTITION from kafkajs\'s wait for leaders, then a partition without a leader: asked again until served', async () => {
  const noLeader: Meta = { name: 'a', partitions: [{ leader: 1 }, { leader: -1 }] };
  const { admin: a, calls } = admin({
    list: [[], ['a', 'b'], ['a', 'b']],
    create: [err('UNKNOWN_TOPIC_OR_PARTITION', true)],
    meta: [[noLeader, served('b', 3)], [served('a', 2), served('b', 3)]],
  });
  assert.equal(await createTopicsSettled(a, wanted), [{ topic: 'a', partitions: 2 }, { topic: 'b', partitions: 3 }]);
  assert.equal(calls.create, [['a', 'b']], 'created once; later attempts find both listed');
  assert.is(calls.meta, 2);
});

test('a metadata answer that leaves a topic out, or a retriable metadata error, is asked again', async () => {
  const { admin: a, calls } = admin({ list: [['a', 'b']], meta: [[served('a', 12)], err('LEADER_NOT_AVAILABLE', true), [served('a', 12), served('b', 3)]] });
  assert.equal(await createTopicsSettled(a, wanted), [{ topic: 'a', partitions: 12 }, { topic: 'b', partitions: 3 }]);
  assert.is(calls.meta, 3);
});

test('a non-retriable error surfaces at once; never served within the wait: a sentence naming the topics', async () => {
  const { admin: a, calls } = admin({ create: [err('TOPIC_AUTHORIZATION_FAILED', false)] });
  try {
    await createTopicsSettled(a, wanted);
    assert.unreachable('should reject');
  } catch (e) {
    assert.is((e as { type?: string }).type, 'TOPIC_AUTHORIZATION_FAILED');
  }
  assert.is(calls.create.length, 1);
  const never = admin({ list: [['a', 'b']], meta: [[served('a', 12), { name: 'b', partitions: [{ leader: -1 }] }]] });
  const t0 = Date.now();
  try {
    await createTopicsSettled(never.admin, wanted, 350);
    assert.unreachable('should reject');
  } catch (e) {
    assert.match((e as Error).message, /^topics b have no leader for every partition after \d+ attempts in 350 ms$/);
  }
  assert.ok(Date.now() - t0 >= 350 && never.calls.meta >= 3, `${never.calls.meta} metadata requests`);
});

test.run();
