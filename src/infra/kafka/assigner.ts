/**
 * The partition assigner of every FLEAD consumer group: contiguous ranges of sorted partition ids per topic,
 * over the members sorted by id (Java's RangeAssignor rule). The same assignment on every broker.
 *
 * Why not kafkajs's default (RoundRobinAssigner): it deals the partitions out in the order the broker's
 * metadata lists them, and that order is the broker's business. Measured 2026-12-03 on a 6-partition topic:
 * Kafka 3.9.1 lists 1,3,2,5,0,4 (so two members got [0,1,2] and [3,4,5]), Kafka 4.4.0 lists 0..5 (two members
 * got [0,2,4] and [1,3,5]). The four WSN motes hash to partitions 1, 5, 1 and 1 of 6, so on Kafka 4.x one of
 * two trainers owned no device at all while on 3.9 they split 3 + 1. Sorting first makes the split a property
 * of FLEAD (partition count, key hashes, member count), not of the broker version.
 *
 * Groups keep RoundRobinAssigner as their second protocol, so a member of an older FLEAD still joins a group
 * with new ones (the group then uses round robin until every member speaks this one).
 */
import { AssignerProtocol, type PartitionAssigner } from './kafkajs';

export const SORTED_RANGE_ASSIGNER = 'FleadSortedRange';

/**
 * member id → topic → partitions. `topics` maps each topic to its partition ids (any order); `subscriptions`
 * maps each member to the topics it asked for. A topic's sorted partitions are cut into contiguous ranges over
 * its subscribers sorted by id; the first (partitions mod subscribers) members get one more.
 */
export function sortedRangeAssignment(
  subscriptions: ReadonlyMap<string, readonly string[]>,
  topics: ReadonlyMap<string, readonly number[]>,
): Map<string, Record<string, number[]>> {
  const out = new Map<string, Record<string, number[]>>();
  const members = [...subscriptions.keys()].sort();
  for (const m of members) out.set(m, {});
  for (const [topic, ids] of topics) {
    const subscribers = members.filter((m) => subscriptions.get(m)!.includes(topic));
    if (subscribers.length === 0) continue;
    const sorted = [...new Set(ids)].sort((a, b) => a - b);
    const base = Math.floor(sorted.length / subscribers.length);
    const extra = sorted.length % subscribers.length;
    let at = 0;
    subscribers.forEach((m, i) => {
      const n = base + (i < extra ? 1 : 0);
      if (n > 0) out.get(m)![topic] = sorted.slice(at, at + n);
      at += n;
    });
  }
  return out;
}

/** kafkajs's assigner interface around `sortedRangeAssignment` (partition ids from kafkajs's cluster metadata). */
export const SortedRangeAssigner: PartitionAssigner = ({ cluster }) => ({
  name: SORTED_RANGE_ASSIGNER,
  version: 0,
  async assign({ members, topics }) {
    const subscriptions = new Map(members.map((m) => {
      const meta = m.memberMetadata ? AssignerProtocol.MemberMetadata.decode(m.memberMetadata) : null;
      return [m.memberId, meta?.topics ?? topics] as const;
    }));
    const partitions = new Map(topics.map((t) => [t, cluster.findTopicPartitionMetadata(t).map((p) => p.partitionId)] as const));
    return [...sortedRangeAssignment(subscriptions, partitions)].map(([memberId, assignment]) => ({
      memberId,
      memberAssignment: AssignerProtocol.MemberAssignment.encode({ version: 0, assignment, userData: Buffer.alloc(0) }),
    }));
  },
  protocol({ topics }) {
    return { name: SORTED_RANGE_ASSIGNER, metadata: AssignerProtocol.MemberMetadata.encode({ version: 0, topics, userData: Buffer.alloc(0) }) };
  },
});
