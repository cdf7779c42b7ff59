/**
 * `flead init topics`: every topic of the system with its partitions and configuration, created when
 * missing (existing topics are left alone). The journal topics get the journal engine's own settings.
 */
import { createKafka } from './client';
import { createTopicsSettled } from './create-topics';
import { journalTopics } from '../journal/kafka-admin';
import { kafkaJournalDefaults } from '../journal/kafka-journal';
import { dataTopicPartitions, dataTopics, type DataTopic, type TopicSet } from '../../protocols/topics';

export interface TopicPlan { topic: string; partitions: number; config: Record<string, string> }

/** The data topics (the journal topics and their settings come from the journal's own `journalTopics`). */
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
    const data = topicPlan(t, readingsPartitions).map((p) => ({ topic: p.topic, numPartitions: p.partitions, configEntries: Object.entries(p.config).map(([name, value]) => ({ name, value })) }));
    const counts = await createTopicsSettled(admin, [...data, ...journalTopics(t.journal, t.snapshots, `${t.journal}-index`, kafkaJournalDefaults.partitions)]);
    return counts.map((c) => ({ ...c, created: !before.has(c.topic) }));
  } finally {
    await admin.disconnect();
  }
}
