/**
 * `flead init topics`: every topic of the system with its partitions and configuration, created when
 * missing (existing topics are left alone). The journal topics get the journal engine's own settings.
 */
import { createKafka } from './client';
import { createTopicsSettled } from './create-topics';
import { ensureTopics as ensureJournalTopics } from '../journal/kafka-admin';
import { kafkaJournalDefaults } from '../journal/kafka-journal';
import { dataTopicPartitions, dataTopics, type DataTopic, type TopicSet } from '../../protocols/topics';

export interface TopicPlan { topic: string; partitions: number; config: Record<string, string> }

/** The data topics (journal topics are created by the journal's own helper). */
export function topicPlan(t: TopicSet, readingsPartitions: number): TopicPlan[] {
  const all = Object.keys(dataTopicPartitions(readingsPartitions)) as DataTopic[];
  // dead letters are kept for good (retention.ms -1)
  return dataTopics(t, readingsPartitions, all).map((d): TopicPlan => ({ ...d, config: d.topic === t.deadLetters ? { 'retention.ms': '-1' } : {} }));
}

/** Create what is missing; returns every topic with its partition count as the broker reports it. */
export async function initTopics(brokers: string, t: TopicSet, readingsPartitions: number): Promise<Array<{ topic: string; partitions: number; created: boolean }>> {
  const admin = createKafka({ brokers, clientId: 'flead-init-topics' }).admin();
  await admin.connect();
  try {
    const before = new Set(await admin.listTopics());
    const plan = topicPlan(t, readingsPartitions);
    await createTopicsSettled(admin, plan.map((p) => ({ topic: p.topic, numPartitions: p.partitions, configEntries: Object.entries(p.config).map(([name, value]) => ({ name, value })) })));
    await ensureJournalTopics(admin, t.journal, t.snapshots, `${t.journal}-index`, kafkaJournalDefaults.partitions);
    const names = [...plan.map((p) => p.topic), t.journal, t.snapshots, `${t.journal}-index`];
    const meta = await admin.fetchTopicMetadata({ topics: names });
    return meta.topics.map((m) => ({ topic: m.name, partitions: m.partitions.length, created: !before.has(m.name) }))
      .sort((a, b) => names.indexOf(a.topic) - names.indexOf(b.topic));
  } finally {
    await admin.disconnect();
  }
}
