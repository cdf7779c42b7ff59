/** Kafka helpers of the journal engine (see `kafka-journal.ts`): its topics. */
import type { Admin, ITopicConfig } from 'kafkajs';
import { createTopicsSettled } from '../kafka/create-topics';

/** The journal, snapshot and index topics with their partitions and settings. */
export function journalTopics(journal: string, snapshots: string, index: string, partitions: number): ITopicConfig[] {
  const compact = [{ name: 'cleanup.policy', value: 'compact' }];
  return [
    { topic: journal, numPartitions: partitions, configEntries: [{ name: 'retention.ms', value: '-1' }, { name: 'retention.bytes', value: '-1' }] },
    { topic: snapshots, numPartitions: 1, configEntries: compact },
    { topic: index, numPartitions: 1, configEntries: compact },
  ];
}

/** Creates the journal, snapshot and index topics when missing, and waits until the broker serves them. */
export async function ensureTopics(admin: Admin, journal: string, snapshots: string, index: string, partitions: number): Promise<void> {
  await createTopicsSettled(admin, journalTopics(journal, snapshots, index, partitions));
}
