/**
 * Kafka clients compared (the "faster client behind the port" option of issue 3 §7, measured): FLEAD's kafkajs
 * (2.2.4 with the fixes of `src/infra/kafka/kafkajs.ts`, what every service runs) against @platformatic/kafka
 * (1.35, pure JavaScript, maintained, transactions; the last line that supports Node.js 20 — 2.x needs 22),
 * on the same broker in the same process. Prints exactly three lines:
 *
 *   bench kafka-client-platformatic-raw: <msg/s> msg/s (<ratio>x flead-kafkajs-raw)
 *   bench kafka-client-platformatic-exactly-once: <msg/s> msg/s (<ratio>x flead-kafkajs-exactly-once)
 *   bench kafka-client-platformatic-chain: <msg/s> msg/s (<ratio>x flead-kafkajs-chain)
 *
 * Each measure sends the WSN readings (18,914, as the producer service encodes them) to a fresh 6-partition topic
 * in batches of 500, each send awaited, while a consumer in a fresh group reads them; timed from the first send
 * to the last message consumed (a warm-up message sent and consumed first, so both consumers have joined and
 * fetched). raw: a plain producer (acks=-1) and a read_uncommitted consumer, as the pipeline bench's raw
 * baseline. exactly-once: a transactional producer (a transaction per batch) and a read_committed consumer, the
 * delivery guarantee of one hop of the pipeline. chain: the pipeline's two exactly-once hops and nothing else,
 * the ceiling line of the pipeline bench (`rawExactlyOnceChain`): transactions of 500 into topic A; a
 * read_committed group copies A to B in transactions that carry its offsets, what arrives during one
 * transaction joining the next; timed from the first send to the commit that brings B to N. Both clients retry
 * CONCURRENT_TRANSACTIONS after 5-10 ms (kafkajs: the journal's retry settings). Runs interleaved, RUNS of
 * each; the best counts (the first runs are slower while V8 compiles). The absolute numbers go to stderr.
 */
import { randomBytes } from 'node:crypto';
import { Consumer as PConsumer, MessagesStreamModes, Producer as PProducer, type Message as PMessage } from '@platformatic/kafka';
import type { Kafka } from 'kafkajs';
import { brokerList, brokersFromEnv, createKafka } from '../src/infra/kafka/client';
import { kafkaJournalDefaults } from '../src/infra/journal/kafka-journal';
import { createTopic, rawPartitions, deleteTopicsWithPrefix, rawExactlyOnceChain, wsnMessages, type Message } from './lib/kafka';

const RUNS = 3;
const BATCH = 500;
const WARM = { key: 'warm-up', value: '{}' };
/** KAFKA_BROKERS as @platformatic/kafka takes it */
const bootstrapBrokers = (): string[] => brokerList(brokersFromEnv());

const fmt = (n: number): string => n.toFixed(0);
const ratio = (a: number, b: number): string => (b > 0 ? (a / b).toFixed(2) : 'n/a');
const note = (line: string): void => void process.stderr.write(`bench kafka-clients: ${line}\n`);

/**
 * `reached(k)` resolves (with the time) once `count()` reaches k, checked on every `tick()`; it rejects after
 * 120 s, or with the error given to `fail` (the consuming side broke).
 */
function counter(count: () => number, what: string): { tick: () => void; fail: (e: unknown) => void; reached: (k: number) => Promise<number> } {
  let waiting: { k: number; resolve: (at: number) => void; reject: (e: unknown) => void } | undefined;
  let failure: { error: unknown } | undefined;
  return {
    tick: () => { if (waiting && count() >= waiting.k) { const w = waiting; waiting = undefined; w.resolve(performance.now()); } },
    fail: (error) => { failure = { error }; const w = waiting; waiting = undefined; w?.reject(error); },
    reached: (k) => new Promise<number>((resolve, reject) => {
      if (failure) return reject(failure.error);
      if (count() >= k) return resolve(performance.now());
      const timer = setTimeout(() => reject(new Error(`${what}: consumed ${count()} of ${k} after 120 s`)), 120_000);
      const settle = <T>(f: (v: T) => void) => (v: T) => { clearTimeout(timer); f(v); };
      waiting = { k, resolve: settle(resolve), reject: settle(reject) };
    }),
  };
}

/** The warm-up message sent and consumed, then the messages sent in batches; ms from the first batch to the last one consumed. */
async function timedSends(send: (ms: readonly Message[]) => Promise<void>, c: ReturnType<typeof counter>, messages: readonly Message[]): Promise<number> {
  await send([WARM]);
  await c.reached(1);
  const t0 = performance.now();
  for (let i = 0; i < messages.length; i += BATCH) await send(messages.slice(i, i + BATCH));
  return (await c.reached(messages.length + 1)) - t0;
}

async function kafkajsRun(kafka: Kafka, topic: string, messages: readonly Message[], exactlyOnce: boolean): Promise<number> {
  let seen = 0;
  const c = counter(() => seen, `kafkajs ${topic}`);
  const consumer = kafka.consumer({ groupId: `${topic}-g`, maxWaitTimeInMs: 100, readUncommitted: !exactlyOnce });
  const producer = exactlyOnce
    ? kafka.producer({ idempotent: true, maxInFlightRequests: 1, transactionalId: `${topic}-tx`, retry: { ...kafkaJournalDefaults.transactionRetry } })
    : kafka.producer();
  await consumer.connect();
  await producer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({ autoCommit: true, eachBatch: async ({ batch }) => { seen += batch.messages.length; c.tick(); } });
    const send = async (ms: readonly Message[]) => {
      if (!exactlyOnce) return void (await producer.send({ topic, acks: -1, messages: [...ms] }));
      const txn = await producer.transaction();
      await txn.send({ topic, acks: -1, messages: [...ms] });
      await txn.commit();
    };
    return await timedSends(send, c, messages);
  } finally {
    await producer.disconnect();
    await consumer.disconnect();
  }
}

async function platformaticRun(topic: string, messages: readonly Message[], exactlyOnce: boolean): Promise<number> {
  let seen = 0;
  const c = counter(() => seen, `@platformatic/kafka ${topic}`);
  const consumer = new PConsumer({ clientId: 'flead-bench-clients', bootstrapBrokers: bootstrapBrokers(), groupId: `${topic}-g`, maxWaitTime: 100 });
  const producer = new PProducer({
    clientId: 'flead-bench-clients', bootstrapBrokers: bootstrapBrokers(),
    ...(exactlyOnce ? { idempotent: true, transactionalId: `${topic}-tx`, retryDelay: 5, retries: 400 } : { acks: -1 }),
  });
  try {
    const stream = await consumer.consume({ topics: [topic], mode: MessagesStreamModes.EARLIEST, autocommit: true, isolationLevel: exactlyOnce ? 1 : 0 });
    stream.on('data', () => { seen++; c.tick(); });
    const send = async (ms: readonly Message[]) => {
      const records = ms.map((m) => ({ topic, key: Buffer.from(m.key), value: Buffer.from(m.value) }));
      if (!exactlyOnce) return void (await producer.send({ messages: records, acks: -1 }));
      const txn = await producer.beginTransaction();
      await txn.send({ messages: records });
      await txn.commit();
    };
    const ms = await timedSends(send, c, messages);
    await stream.close();
    return ms;
  } finally {
    await producer.close().catch(() => undefined);
    await new Promise<void>((resolve) => consumer.close(true, () => resolve()));
  }
}

/** The two exactly-once hops with @platformatic/kafka (see the file comment); ms. */
async function platformaticChain(a: string, b: string, messages: readonly Message[]): Promise<number> {
  const transactional = (id: string) => new PProducer({ clientId: 'flead-bench-clients', bootstrapBrokers: bootstrapBrokers(), idempotent: true, transactionalId: id, retryDelay: 5, retries: 400 });
  const [first, second] = [transactional(`${a}-tx`), transactional(`${b}-tx`)];
  const consumer = new PConsumer({ clientId: 'flead-bench-clients', bootstrapBrokers: bootstrapBrokers(), groupId: `${a}-g`, maxWaitTime: 100 });
  let written = 0;
  const c = counter(() => written, `@platformatic/kafka chain ${a}`);
  try {
    const stream = await consumer.consume({ topics: [a], mode: MessagesStreamModes.EARLIEST, autocommit: false, isolationLevel: 1 });
    let queue: PMessage[] = [];
    let committing = false;
    const commitQueued = async (): Promise<void> => {
      committing = true;
      try {
        while (queue.length) {
          const group = queue;
          queue = [];
          const txn = await second.beginTransaction();
          await txn.send({ messages: group.map((m) => ({ topic: b, key: m.key, value: m.value })) });
          await txn.addConsumer(consumer);
          const last = new Map<number, PMessage>();
          for (const m of group) last.set(m.partition, m);
          for (const m of last.values()) await txn.addOffset(m);
          await txn.commit();
          written += group.length;
          c.tick();
        }
      } catch (e) {
        c.fail(e);
      } finally {
        committing = false;
      }
    };
    stream.on('data', (m) => { queue.push(m); if (!committing) void commitQueued(); });
    const send = async (ms: readonly Message[]) => {
      const txn = await first.beginTransaction();
      await txn.send({ messages: ms.map((m) => ({ topic: a, key: Buffer.from(m.key), value: Buffer.from(m.value) })) });
      await txn.commit();
    };
    const ms = await timedSends(send, c, messages);
    await stream.close();
    return ms;
  } finally {
    await first.close().catch(() => undefined);
    await second.close().catch(() => undefined);
    await new Promise<void>((resolve) => consumer.close(true, () => resolve()));
  }
}

export async function run(print: (line: string) => void): Promise<void> {
  const prefix = `bench-clients-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}-`;
  const kafka = createKafka({ brokers: brokersFromEnv(), clientId: 'flead-bench-clients' });
  const messages = await wsnMessages();
  const n = messages.length;
  const best = { kafkajs: { raw: Infinity, eos: Infinity, chain: Infinity }, platformatic: { raw: Infinity, eos: Infinity, chain: Infinity } };
  let k = 0;
  const topic = async () => { const t = `${prefix}${k++}`; await createTopic(kafka, t, rawPartitions()); return t; };
  try {
    for (let r = 0; r < RUNS; r++) {
      for (const mode of ['raw', 'eos'] as const) {
        best.kafkajs[mode] = Math.min(best.kafkajs[mode], await kafkajsRun(kafka, await topic(), messages, mode === 'eos'));
        best.platformatic[mode] = Math.min(best.platformatic[mode], await platformaticRun(await topic(), messages, mode === 'eos'));
      }
      best.kafkajs.chain = Math.min(best.kafkajs.chain, await rawExactlyOnceChain(kafka, `${prefix}${k++}-`, messages, BATCH));
      best.platformatic.chain = Math.min(best.platformatic.chain, await platformaticChain(await topic(), await topic(), messages));
    }
  } finally {
    await deleteTopicsWithPrefix(kafka, prefix);
  }
  const rate = (ms: number) => n / (ms / 1000);
  const [kr, ke, kc] = [rate(best.kafkajs.raw), rate(best.kafkajs.eos), rate(best.kafkajs.chain)];
  const [pr, pe, pc] = [rate(best.platformatic.raw), rate(best.platformatic.eos), rate(best.platformatic.chain)];
  print(`bench kafka-client-platformatic-raw: ${fmt(pr)} msg/s (${ratio(pr, kr)}x flead-kafkajs-raw)`);
  print(`bench kafka-client-platformatic-exactly-once: ${fmt(pe)} msg/s (${ratio(pe, ke)}x flead-kafkajs-exactly-once)`);
  print(`bench kafka-client-platformatic-chain: ${fmt(pc)} msg/s (${ratio(pc, kc)}x flead-kafkajs-chain)`);
  note(`${n} messages, best of ${RUNS}: flead kafkajs raw ${fmt(kr)} msg/s, exactly-once ${fmt(ke)} msg/s (${ratio(ke, kr)}x its raw), chain ${fmt(kc)} msg/s (${ratio(kc, kr)}x); @platformatic/kafka raw ${fmt(pr)} msg/s, exactly-once ${fmt(pe)} msg/s (${ratio(pe, kr)}x flead kafkajs raw), chain ${fmt(pc)} msg/s (${ratio(pc, kr)}x)`);
}

if (require.main === module) {
  run((line) => process.stdout.write(`${line}\n`)).then(
    () => process.exit(0),
    (e: unknown) => { process.stderr.write(`bench kafka-clients: ${(e as Error).stack ?? String(e)}\n`); process.exit(1); },
  );
}
