/**
 * Opens the ports for a run profile: `local` (and compose) = Kafka journal + Kafka bus; `embedded` = file
 * journal + durable in-process bus under FLEAD_DATA_DIR. The model store is on disk in both (MODELS_DIR).
 *
 * Journal outbox (see journal/port.ts): the Kafka journal publishes an append's outbox in its own transaction;
 * the embedded file journal relays it to the embedded bus (`relayToBus`), which drops re-relayed copies by
 * their `flead-outbox-id`. So the embedded bus is opened first, and closed after the journal.
 */
import * as fs from 'node:fs';
import path from 'node:path';
import type { Config } from '../config';
import type { Bus } from './bus/port';
import { createKafkaBus } from './bus/kafka-bus';
import { createMemoryBus } from './bus/memory-bus';
import type { Journal, OutboxRelay } from './journal/port';
import { createFileJournal } from './journal/file-journal';
import { createKafkaJournal } from './journal/kafka-journal';
import { createModelStore, type ModelStore } from './model-store';
import type { Logger } from './log';
import type { InfraError } from './errors';

export interface Infra {
  journal: Journal;
  bus: Bus;
  store: ModelStore;
  /**
   * Resolves when another process took over this service's journal writer id (Kafka: the same writerId, e.g.
   * two trainers started with one --id): this one can write nothing more and should stop. Never, embedded.
   */
  fenced: Promise<InfraError>;
  close(): Promise<void>;
}

/**
 * A journal relay that publishes outbox messages to bus, one publish per topic in first-seen order. A relay
 * may be repeated (after a failure, on open), so the bus must drop copies by `flead-outbox-id`: the memory
 * bus does; the Kafka bus does not (the Kafka journal needs no relay).
 */
export function relayToBus(bus: Bus): OutboxRelay {
  return async (messages) => {
    const byTopic = new Map<string, { key: string | null; value: string; headers?: Record<string, string> }[]>();
    for (const m of messages) {
      let list = byTopic.get(m.topic);
      if (!list) byTopic.set(m.topic, (list = []));
      list.push({ key: m.key, value: m.value, ...(m.headers ? { headers: m.headers } : {}) });
    }
    for (const [topic, list] of byTopic) await bus.publish(topic, list);
  };
}

/**
 * Removes the offsets of the live-evaluation groups earlier versions left on disk, one pair per `npm start`
 * (`embedded-<8 hex>-live-eval-*`): they would hold the bus's retention for good (the groups are transient now).
 */
function forgetLiveEvaluationGroups(busDir: string): void {
  const dir = path.join(busDir, 'groups');
  if (!fs.existsSync(dir)) return;
  for (const f of fs.readdirSync(dir)) if (/^embedded-[0-9a-f]{8}-live-eval-(readings|anomalies)\.log$/.test(f)) fs.rmSync(path.join(dir, f), { force: true });
}

/**
 * The embedded profile's bus under FLEAD_DATA_DIR/bus: it keeps the newest EMBEDDED_BUS_RETAIN messages a partition
 * (in memory and on disk, once every group consumed them), so a long run's memory and disk stay bounded (they grew
 * ~700 bytes a message for as long as it ran); dead letters are kept whole (no group here reads them, and the bus
 * is their only copy).
 */
export function openEmbeddedBus(config: Config): Bus {
  const busDir = path.join(config.dataDir, 'bus');
  forgetLiveEvaluationGroups(busDir);
  return createMemoryBus({ dir: busDir, retainMessages: config.busRetain, keepTopics: [config.topics.deadLetters] });
}

/** `log`: where the Kafka bus's operational lines (consumer crashes, handler failures) go, as warnings. */
export async function openInfra(config: Config, service: string, log?: Logger): Promise<Infra> {
  const store = await createModelStore(config.modelsDir);
  if (config.profile === 'embedded') {
    const bus = openEmbeddedBus(config);
    let journal: Journal;
    try {
      journal = await createFileJournal(path.join(config.dataDir, 'journal'), { relay: relayToBus(bus) });
    } catch (e) {
      await bus.close();
      throw e;
    }
    return { journal, bus, store, fenced: new Promise<never>(() => undefined), close: async () => { await journal.close(); await bus.close(); } };
  }
  let onFenced!: (e: InfraError) => void;
  const fenced = new Promise<InfraError>((resolve) => (onFenced = resolve));
  const journal = await createKafkaJournal({
    onFenced,
    brokers: config.kafkaBrokers,
    writerId: `${config.topicPrefix}${service}`,
    journalTopic: config.topics.journal,
    snapshotTopic: config.topics.snapshots,
    ...(process.env.FLEAD_TRACE_TXN ? { onTransaction: (t: { appends: number; snapshots: number; events: number; outbox: number; ms: number }) => process.stderr.write(`txn ${service} appends=${t.appends} snaps=${t.snapshots} events=${t.events} outbox=${t.outbox} ms=${t.ms}\n`) } : {}),
  });
  const bus = createKafkaBus({ brokers: config.kafkaBrokers, clientId: `flead-${service}`, ...(log ? { log: (l: string) => log.warn(l) } : {}) });
  return { journal, bus, store, fenced, close: async () => { await bus.close(); await journal.close(); } };
}
