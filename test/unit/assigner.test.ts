/**
 * The consumer groups' partition assigner (src/infra/kafka/assigner.ts): sorted contiguous ranges, whatever
 * order the broker lists partitions in.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { sortedRangeAssignment, SortedRangeAssigner, SORTED_RANGE_ASSIGNER } from '../../src/infra/kafka/assigner';
import { AssignerProtocol } from '../../src/infra/kafka/kafkajs';
import { mulberry32 } from '../../src/actors/aggregator/initial-model';

const A = suite('sorted range assigner');

const subs = (members: string[], topics: string[]) => new Map(members.map((m) => [m, topics]));
const plain = (m: Map<string, Record<string, number[]>>) => Object.fromEntries([...m].map(([k, v]) => [k, v]));

A('6 partitions over 2 members: [0,1,2] and [3,4,5] whether the broker lists them 1,3,2,5,0,4 (Kafka 3.9) or 0..5 (4.x)', () => {
  for (const order of [[1, 3, 2, 5, 0, 4], [0, 1, 2, 3, 4, 5], [5, 4, 3, 2, 1, 0]]) {
    const got = sortedRangeAssignment(subs(['m-b', 'm-a'], ['readings']), new Map([['readings', order]]));
    assert.equal(plain(got), { 'm-a': { readings: [0, 1, 2] }, 'm-b': { readings: [3, 4, 5] } }, `listed ${order}`);
  }
});

A('uneven counts: the first members by id take one more; members beyond the partitions get none of that topic', () => {
  const seven = sortedRangeAssignment(subs(['c', 'a', 'b'], ['t']), new Map([['t', [6, 5, 4, 3, 2, 1, 0]]]));
  assert.equal(plain(seven), { a: { t: [0, 1, 2] }, b: { t: [3, 4] }, c: { t: [5, 6] } });
  const two = sortedRangeAssignment(subs(['c', 'a', 'b'], ['t']), new Map([['t', [1, 0]]]));
  assert.equal(plain(two), { a: { t: [0] }, b: { t: [1] }, c: {} });
});

A('a topic goes only to the members that subscribed to it; each topic is ranged on its own', () => {
  const s = new Map([['a', ['x', 'y']], ['b', ['y']], ['c', ['x']]]);
  const got = sortedRangeAssignment(s, new Map([['x', [0, 1, 2, 3]], ['y', [0, 1, 2]]]));
  assert.equal(plain(got), { a: { x: [0, 1], y: [0, 1] }, b: { y: [2] }, c: { x: [2, 3] } });
});

A('random groups: every partition of every topic to exactly one subscriber, ranges contiguous, sizes differ by at most one, the result independent of listing order', () => {
  const rnd = mulberry32(7);
  for (let trial = 0; trial < 300; trial++) {
    const members = Array.from({ length: 1 + Math.floor(rnd() * 6) }, (_, i) => `member-${Math.floor(rnd() * 1e6)}-${i}`);
    const topics = new Map(Array.from({ length: 1 + Math.floor(rnd() * 3) }, (_, t) => {
      const ids = Array.from({ length: 1 + Math.floor(rnd() * 12) }, (_, i) => i);
      return [`t${t}`, ids] as const;
    }));
    const s = new Map(members.map((m) => [m, [...topics.keys()].filter(() => rnd() < 0.8)]));
    const shuffled = new Map([...topics].map(([t, ids]) => [t, [...ids].sort(() => rnd() - 0.5)]));
    const got = sortedRangeAssignment(s, topics);
    assert.equal(plain(sortedRangeAssignment(s, shuffled)), plain(got), 'listing order does not matter');
    for (const [t, ids] of topics) {
      const subscribers = members.filter((m) => s.get(m)!.includes(t)).sort();
      const parts = subscribers.map((m) => got.get(m)![t] ?? []);
      const all = parts.flat();
      if (subscribers.length === 0) { assert.equal(all, []); continue; }
      assert.equal(all, ids, `${t}: every partition once, in order over the sorted subscribers`);
      const sizes = parts.map((p) => p.length);
      assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 1, `${t}: sizes ${sizes}`);
      for (const m of members) if (!s.get(m)!.includes(t)) assert.is(got.get(m)![t], undefined);
    }
  }
});

A('as a kafkajs assigner: reads each member\'s subscription from its metadata, answers decodable assignments', async () => {
  const cluster = { findTopicPartitionMetadata: (t: string) => (t === 'r' ? [4, 0, 5, 1, 3, 2] : [1, 0]).map((partitionId) => ({ partitionId })) };
  const assigner = SortedRangeAssigner({ cluster } as never);
  assert.is(assigner.name, SORTED_RANGE_ASSIGNER);
  const meta = (topics: string[]) => AssignerProtocol.MemberMetadata.encode({ version: 0, topics, userData: Buffer.alloc(0) });
  assert.equal(AssignerProtocol.MemberMetadata.decode(assigner.protocol({ topics: ['r'] }).metadata)!.topics, ['r']);
  const out = await assigner.assign({ members: [{ memberId: 'b', memberMetadata: meta(['r']) }, { memberId: 'a', memberMetadata: meta(['r', 'q']) }], topics: ['r', 'q'] } as never);
  const decoded = Object.fromEntries(out.map((o) => [o.memberId, AssignerProtocol.MemberAssignment.decode(o.memberAssignment)!.assignment]));
  assert.equal(decoded, { a: { r: [0, 1, 2], q: [0, 1] }, b: { r: [3, 4, 5] } });
});

A.run();
