/**
 * Kafka helpers shared by the Kafka benchmarks: the WSN readings as messages, topics made and removed, and the
 * pipeline's two hops done by raw kafkajs: exactly-once (its ceiling) and plainly (the bound of any design whose
 * second service writes every reading again).
 */
import { randomBytes } from 'node:crypto';
import type { Consumer, ConsumerRunConfig, Kafka, Producer } from 'kafkajs';
import { kafkaBusDefaults } from '../../src/infra/bus/kafka-bus';
import { kafkaJournalDefaults } from '../../src/infra/journal/kafka-journal';
import { collectRows, isBadRow, openDataset, toSensorReading, type DatasetAdapter } from '../../src/infra/datasets';
import { encodeJson } from '../../src/protocols/codec';
import { SensorReading } from '../../src/protocols/readings';
import { isLeft } from 'fp-ts/Either';
import { loadConfig } from '../../src/config';

/** One message of `edge-iiot-stream`, as the producer sends it. */
export interface Message { key: string; value: string }

/**
 * The WSN data set streamed `times` times over (1: as it is), for steady-state runs: round k's readings get
 * ids `<id>#k` and times shifted by k·10^10 ms (the data set spans far less), so each is a new reading.
 */
export function wsnRepeated(times = 1): DatasetAdapter {
  const base = openDataset('wsn', {});
  if (times === 1) return base;
  return {
    name: base.name,
    get featureNames() { return base.featureNames; },
    classes: base.classes,
    async *rows() {
      for (let k = 0; k < times; k++) {
        for await (const r of base.rows()) yield isBadRow(r) ? r : { ...r, readingId: `${r.readingId}#${k}`, ts: r.ts + k * 1e10 };
      }
    },
  };
}

/** The WSN readings (`times` over) encoded exactly as the producer service encodes them (toOutbox: source = service name). */
export async function wsnMessages(times = 1): Promise<Message[]> {
  const { rows } = await collectRows(wsnRepeated(times));
  return rows.map((r) => ({ key: r.deviceId, value: encodeJson(SensorReading, toSensorReading(r, 'producer')) }));
}

/**
 * Partitions of every raw topic: as many as the pipeline's readings topic (READINGS_PARTITIONS, default 12), so
 * the baselines spread the same keys over the same partitions as the pipeline does.
 */
export function rawPartitions(): number {
  const c = loadConfig();
  if (isLeft(c)) throw new Error(c.left);
  return c.right.readingsPartitions;
}

export async function createTopic(kafka: Kafka, topic: string, partitions: number): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createTopics({ topics: [{ topic, numPartitions: partitions }], waitForLeaders: true });
  } finally {
    await admin.disconnect();
  }
}

export async function deleteTopicsWithPrefix(kafka: Kafka, prefix: string): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const topics = (await admin.listTopics()).filter((t) => t.startsWith(prefix));
    if (topics.length) await admin.deleteTopics({ topics });
  } catch {
    // leftovers are harmless (unique prefix)
  } finally {
    await admin.disconnect();
  }
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Connects `consumer`, subscribes it to `topic` from the beginning and runs it; resolves after its first fetch (group joined). */
async function runJoined(consumer: Consumer, topic: string, config: ConsumerRunConfig): Promise<void> {
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  let fetched!: () => void;
  const ready = new Promise<void>((r) => { fetched = r; });
  consumer.on(consumer.events.FETCH, () => fetched());
  await consumer.run(config);
  await ready;
}

/** Hop 2's count of messages written: `done` resolves, and `doneAt` is set, when it reaches `n`. */
function written(n: number): { add: (k: number) => void; count: () => number; done: Promise<void>; doneAt: () => number } {
  let count = 0;
  let at = 0;
  let finished!: () => void;
  const done = new Promise<void>((r) => { finished = r; });
  return {
    add: (k) => { count += k; if (count >= n && !at) { at = Date.now(); finished(); } },
    count: () => count,
    done,
    doneAt: () => at,
  };
}

/**
 * Sends the messages into hop 1 in batches (`send`, each awaited), waits for hop 2 to have written them all
 * (120 s at most), then disconnects the chain's clients; ms from the first send to hop 2's last write.
 */
async function driveChain(what: string, messages: readonly Message[], batch: number, send: (ms: Array<{ key: string; value: string }>) => Promise<void>, out: ReturnType<typeof written>, clients: ReadonlyArray<Producer | Consumer>): Promise<number> {
  try {
    const t0 = Date.now();
    for (let i = 0; i < messages.length; i += batch) await send(messages.slice(i, i + batch).map((m) => ({ key: m.key, value: m.value })));
    await Promise.race([out.done, sleep(120_000).then(() => { throw new Error(`${what} wrote ${out.count()} of ${messages.length}`); })]);
    return out.doneAt() - t0;
  } finally {
    for (const c of clients) await c.disconnect();
  }
}

/**
 * Raw kafkajs, the pipeline's two exactly-once hops and nothing else: a transactional producer sends the messages
 * to topic A (a transaction per `batch`, each awaited); a read_committed group consumes A and writes every batch
 * to topic B in a transaction that also commits the group's offsets (sendOffsets), batches arriving while one
 * transaction is in flight joined into the next (the journal's group commit). No journal events, no decoding, no
 * scoring, no anomalies. Timed from the first send to the commit of the transaction that brings B to N; ms.
 */
export async function rawExactlyOnceChain(kafka: Kafka, prefix: string, messages: readonly Message[], batch: number): Promise<number> {
  const suffix = randomBytes(3).toString('hex');
  const [a, b] = [`${prefix}raw-chain-a-${suffix}`, `${prefix}raw-chain-b-${suffix}`];
  await createTopic(kafka, a, rawPartitions());
  await createTopic(kafka, b, rawPartitions());
  const transactional = (id: string) =>
    kafka.producer({ idempotent: true, maxInFlightRequests: 1, transactionalId: id, retry: { ...kafkaJournalDefaults.transactionRetry } });
  const [first, second] = [transactional(`${a}-tx`), transactional(`${b}-tx`)];
  await first.connect();
  await second.connect();
  const groupId = `bench-pipe-chain-${suffix}`;
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 1000, sessionTimeout: 10_000, heartbeatInterval: 1000, readUncommitted: false });
  const out = written(messages.length);
  // group commit of hop 2: one transaction in flight; what arrives meanwhile waits in `queue` for the next one
  type Pending = { messages: Array<{ key: Buffer | null; value: Buffer | null }>; partition: number; next: string; settle: (e?: unknown) => void };
  let queue: Pending[] = [];
  let committing = false;
  const commitQueued = async (): Promise<void> => {
    committing = true;
    while (queue.length) {
      const group = queue;
      queue = [];
      try {
        const txn = await second.transaction();
        await txn.send({ topic: b, acks: -1, messages: group.flatMap((g) => g.messages) });
        await txn.sendOffsets({ consumerGroupId: groupId, topics: [{ topic: a, partitions: group.map((g) => ({ partition: g.partition, offset: g.next })) }] });
        await txn.commit();
        out.add(group.reduce((k, g) => k + g.messages.length, 0));
        for (const g of group) g.settle();
      } catch (e) {
        for (const g of group) g.settle(e);
      }
    }
    committing = false;
  };
  await runJoined(consumer, a, {
    autoCommit: false,
    partitionsConsumedConcurrently: kafkaBusDefaults.partitionsConsumedConcurrently,
    eachBatch: ({ batch: got }) => new Promise<void>((resolve, reject) => {
      const next = (BigInt(got.messages[got.messages.length - 1]!.offset) + 1n).toString();
      queue.push({ messages: got.messages.map((m) => ({ key: m.key, value: m.value })), partition: got.partition, next, settle: (e) => (e ? reject(e) : resolve()) });
      if (!committing) void commitQueued();
    }),
  });
  return driveChain('raw chain', messages, batch, async (ms) => {
    const txn = await first.transaction();
    await txn.send({ topic: a, acks: -1, messages: ms });
    await txn.commit();
  }, out, [first, second, consumer]);
}

/**
 * Raw kafkajs, two hops with no guarantee and no work: a plain producer (acks=-1) sends the messages to topic A in
 * batches of `batch`, each awaited; a group (auto-commit) consumes A and sends every batch it gets to topic B with
 * a second plain producer (acks=-1), awaited before its next batch. `reencode`: each value is parsed and a JSON
 * object holding it is written instead (`{"reading":…,"score":…}`), the least any typed service in the middle
 * does. No transactions, journal, scoring or anomalies: what any design whose second service writes every reading
 * again costs at the least on this broker and these cores. Timed from the first send to the acknowledgement of
 * the send that brings B to N; ms.
 */
export async function rawPlainChain(kafka: Kafka, prefix: string, messages: readonly Message[], batch: number, reencode: boolean): Promise<number> {
  const suffix = randomBytes(3).toString('hex');
  const [a, b] = [`${prefix}plain-chain-a-${suffix}`, `${prefix}plain-chain-b-${suffix}`];
  await createTopic(kafka, a, rawPartitions());
  await createTopic(kafka, b, rawPartitions());
  const [first, second] = [kafka.producer(), kafka.producer()];
  await first.connect();
  await second.connect();
  const consumer = kafka.consumer({ groupId: `bench-pipe-plain-${suffix}`, maxWaitTimeInMs: 1000, sessionTimeout: 10_000, heartbeatInterval: 1000 });
  const out = written(messages.length);
  await runJoined(consumer, a, {
    autoCommit: true,
    partitionsConsumedConcurrently: kafkaBusDefaults.partitionsConsumedConcurrently,
    eachBatch: async ({ batch: got }) => {
      const copies = got.messages.map((m) => ({
        key: m.key,
        value: reencode ? JSON.stringify({ reading: JSON.parse(m.value!.toString('utf8')) as unknown, score: 0 }) : m.value,
      }));
      await second.send({ topic: b, acks: -1, messages: copies });
      out.add(copies.length);
    },
  });
  return driveChain('plain chain', messages, batch, async (ms) => {
    await first.send({ topic: a, acks: -1, messages: ms });
  }, out, [first, second, consumer]);
}
