/**
 * Creating topics that several clients may create at the same moment (services starting together, the journal
 * engines of one process, `flead init topics`), and waiting until the broker serves them.
 */
import type { Admin, ITopicConfig } from 'kafkajs';

/** True when every error kafkajs's createTopics reports is TOPIC_ALREADY_EXISTS (another client was first). */
const alreadyExists = (e: unknown): boolean => (e as { errors?: { type?: string }[] }).errors?.every((x) => x.type === 'TOPIC_ALREADY_EXISTS') === true;

/**
 * Create the missing topics (existing ones are left alone) and resolve, once the broker's metadata gives every
 * partition of every topic a leader, to each topic's partition count. kafkajs's createTopics alone does not
 * make that sure: when another client created one of the topics first it fails with TOPIC_ALREADY_EXISTS
 * without waiting for the leaders of the others, and its wait for leaders gives up on UNKNOWN_TOPIC_OR_PARTITION,
 * which a topic created a moment ago can still answer (seen in the suite: a trainer starting after its
 * aggregator). So retriable errors, and topics not served yet, are tried again every 100 ms for up to `waitMs`.
 */
export async function createTopicsSettled(admin: Admin, topics: readonly ITopicConfig[], waitMs = 10_000): Promise<Array<{ topic: string; partitions: number }>> {
  const names = topics.map((t) => t.topic);
  const until = Date.now() + waitMs;
  for (let attempt = 1; ; attempt++) {
    let pending: string[];
    try {
      const existing = new Set(await admin.listTopics());
      const missing = topics.filter((t) => !existing.has(t.topic));
      if (missing.length > 0) {
        await admin.createTopics({ topics: [...missing], waitForLeaders: true }).catch((e: unknown) => {
          if (!alreadyExists(e)) throw e;
        });
      }
      const meta = await admin.fetchTopicMetadata({ topics: names });
      const served = new Map(meta.topics.filter((m) => m.partitions.length > 0 && m.partitions.every((p) => p.leader >= 0)).map((m) => [m.name, m.partitions.length]));
      pending = names.filter((n) => !served.has(n));
      if (pending.length === 0) return names.map((topic) => ({ topic, partitions: served.get(topic)! }));
    } catch (e) {
      if ((e as { retriable?: boolean }).retriable !== true || Date.now() >= until) throw e;
      pending = names;
    }
    if (Date.now() >= until) throw new Error(`topics ${pending.join(', ')} have no leader for every partition after ${attempt} attempts in ${waitMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
