/** Kafka helpers of the journal engine (see `kafka-journal.ts`): its topics. */
import type { ITopicConfig } from 'kafkajs';

/** The journal, snapshot and index topics with their partitions and settings. */
export function journalTopics(journal: string, snapshots: string, index: string, partitions: number): ITopicConfig[] {
  const compact = [{ name: 'cleanup.policy', value: 'compact' }];
  return [
    { topic: journal, numPartitions: partitions, configEntries: [{ name: 'retention.ms', value: '-1' }, { name: 'retention.bytes', value: '-1' }] },
    { topic: snapshots, numPartitions: 1, configEntries: compact },
    { topic: index, numPartitions: 1, configEntries: compact },
  ];
}
