/**
 * Opens the ports for a run profile: `local` (and compose) = Kafka journal + Kafka bus; `embedded` = file
 * journal + durable in-process bus under FLEAD_DATA_DIR. The model store is on disk in both (MODELS_DIR).
 */
import path from 'node:path';
import type { Config } from '../config';
import type { Bus } from './bus/port';
import { createKafkaBus } from './bus/kafka-bus';
import { createMemoryBus } from './bus/memory-bus';
import type { Journal } from './journal/port';
import { createFileJournal } from './journal/file-journal';
import { createKafkaJournal } from './journal/kafka-journal';
import { createModelStore, type ModelStore } from './model-store';

export interface Infra {
  journal: Journal;
  bus: Bus;
  store: ModelStore;
  close(): Promise<void>;
}

export async function openInfra(config: Config, service: string): Promise<Infra> {
  const store = await createModelStore(config.modelsDir);
  if (config.profile === 'embedded') {
    const journal = await createFileJournal(path.join(config.dataDir, 'journal'));
    const bus = createMemoryBus({ dir: path.join(config.dataDir, 'bus') });
    return { journal, bus, store, close: async () => { await bus.close(); await journal.close(); } };
  }
  const journal = await createKafkaJournal({
    brokers: config.kafkaBrokers,
    writerId: `${config.topicPrefix}${service}`,
    journalTopic: config.topics.journal,
    snapshotTopic: config.topics.snapshots,
  });
  const bus = createKafkaBus({ brokers: config.kafkaBrokers, clientId: `flead-${service}` });
  return { journal, bus, store, close: async () => { await bus.close(); await journal.close(); } };
}
