/** Kafka helpers of the journal engine (see `kafka-journal.ts`): its topics, and telling a fenced producer. */
import type { Admin, ITopicConfig } from 'kafkajs';
import { createTopicsSettled } from '../kafka/create-topics';

const fencingTypes = new Set(['INVALID_PRODUCER_EPOCH', 'PRODUCER_FENCED', 'INVALID_PRODUCER_ID_MAPPING']);

/** True when e (or an error it wraps) says another producer with our transactionalId took over. */
export function isFencing(e: unknown, depth = 0): boolean {
  if (!e || typeof e !== 'object' || depth > 5) return false;
  const x = e as { type?: string; code?: number; message?: string; cause?: unknown; originalError?: unknown; errors?: unknown[] };
  if ((x.type && fencingTypes.has(x.type)) || x.code === 47 || x.code === 90) return true;
  if (typeof x.message === 'string' && /fenced|producer epoch/i.test(x.message)) return true;
  return [x.cause, x.originalError, ...(Array.isArray(x.errors) ? x.errors : [])].some((c) => isFencing(c, depth + 1));
}

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
