/**
 * The Kafka adapter of the Bus port (kafkajs stays behind this file and `../kafka/client.ts`).
 *
 * - publish: one idempotent producer (acks=all, one request in flight, Java-compatible murmur2 partitioner),
 *   connected on first use, and made again after the broker answered that its sequence numbers are out of
 *   step (../kafka/producer-errors.ts). Errors become InfraError: 'too-large' (not retriable) when the broker
 *   refuses a message over its `message.max.bytes`; 'unavailable' (retriable) when it cannot be reached.
 * - subscribe: one kafkajs consumer per subscription (a member of `groupId`; partitions in sorted contiguous
 *   ranges, the same on every broker version: ../kafka/assigner.ts). Each batch is one partition's
 *   messages; its offset is resolved and committed only after the handler resolves. A handler that throws
 *   leaves the batch uncommitted: kafkajs fetches it again (and restarts the consumer when its retries run
 *   out; after a crash kafkajs does not restart, such as a handler error marked not retriable, the bus runs
 *   the consumer again itself). `subscribe` resolves once the member joined the group and fixed its start
 *   offsets, so with `fromBeginning: false` every message published after it resolves is seen.
 * - Consumers read with isolation read_committed, so messages the Kafka journal sent in an append's
 *   transaction (its outbox, see journal/port.ts) are seen only once that transaction committed, and never
 *   when it aborted. That is what makes the outbox exactly-once on Kafka: this adapter does not deduplicate
 *   by `flead-outbox-id` (the memory bus does, for the embedded journal's relay).
 */
import { KeyedPartitioner, PartitionAssigners, type Admin, type Consumer, type EachBatchPayload, type IHeaders, type Producer } from '../kafka/kafkajs';
import { InfraError } from '../errors';
import { createKafka, kafkaDefaults } from '../kafka/client';
import { SortedRangeAssigner } from '../kafka/assigner';
import { createTopicsSettled } from '../kafka/create-topics';
import { needsNewProducer } from '../kafka/producer-errors';
import type { Bus, BusMessage, OutgoingMessage, SubscribeOptions, Subscription, TopicPartitions } from './port';

export interface KafkaBusOptions {
  brokers: string;
  clientId: string;
  /** retries of connect/send/fetch before an error surfaces (default kafkaDefaults.retry.retries) */
  retries?: number;
  /** where operational lines go (default: stderr) */
  log?: (line: string) => void;
}

/** Consumer timings: short enough that group joins and rebalances take a few seconds, not half a minute. */
export const kafkaBusDefaults = {
  sessionTimeoutMs: 10_000,
  heartbeatIntervalMs: 1_000,
  /** long-poll wait of an idle fetch */
  maxWaitTimeMs: 1_000,
  /**
   * batches of different partitions handled at once (per-partition order is kept): the handlers' journal
   * appends then share Kafka transactions (group commit) instead of waiting for each other
   */
  partitionsConsumedConcurrently: 8,
  /** longest wait in `subscribe` for the group join and the first fetch */
  readyTimeoutMs: 30_000,
  /** wait before running a consumer again that kafkajs will not restart (a crash on a non-retriable error) */
  restartDelayMs: 2_000,
} as const;

const defaultLog = (line: string): void => {
  process.stderr.write(`${line}\n`);
};

export function createKafkaBus(opts: KafkaBusOptions): Bus {
  const log = opts.log ?? defaultLog;
  const kafka = createKafka(
    { brokers: opts.brokers, clientId: opts.clientId },
    opts.retries === undefined ? {} : { retry: { ...kafkaDefaults.retry, retries: opts.retries } },
  );
  let producer: Promise<Producer> | null = null;
  const consumers = new Set<Consumer>();
  let closed = false;

  const checkOpen = (what: string): void => {
    if (closed) throw new InfraError('closed', `kafka-bus: ${what} after close()`, false);
  };

  function getProducer(): Promise<Producer> {
    if (!producer) {
      const p = kafka.producer({
        idempotent: true,
        maxInFlightRequests: 1,
        createPartitioner: KeyedPartitioner,
      });
      producer = p.connect().then(
        () => p,
        (e: unknown) => {
          producer = null;
          throw e;
        },
      );
    }
    return producer;
  }

  async function publish(topic: string, messages: readonly OutgoingMessage[]): Promise<void> {
    checkOpen(`publish to ${topic}`);
    if (messages.length === 0) return;
    let used: Promise<Producer> | undefined;
    try {
      used = getProducer();
      const p = await used;
      await p.send({
        topic,
        acks: -1,
        messages: messages.map((m) => ({ key: m.key, value: m.value, headers: m.headers ?? {} })),
      });
    } catch (e) {
      // out of step with the broker (e.g. after it restarted): the next publish gets a new producer
      if (needsNewProducer(e) && used && producer === used) {
        producer = null;
        void used.then((p) => p.disconnect()).catch(() => undefined);
      }
      const largest = Math.max(...messages.map((m) => Buffer.byteLength(m.value)));
      throw toInfraError(e, `publish of ${messages.length} message(s) to ${topic} (largest ${largest} bytes)`);
    }
  }

  async function subscribe(options: SubscribeOptions): Promise<Subscription> {
    checkOpen(`subscribe of group ${options.groupId}`);
    const { groupId, topics, eachBatch, onAssignment } = options;
    let stopping: Promise<void> | null = null;
    const consumer = kafka.consumer({
      // kafkajs schedules its restart after a crash even when the crash raced our disconnect (a broker away while
      // the service stops): such a consumer would go on reconnecting after stop() and close(), and its timers
      // keep the process from exiting. No restart once the subscription or the bus is closing.
      retry: { retries: 5, restartOnFailure: async () => stopping === null && !closed },
      groupId,
      sessionTimeout: kafkaBusDefaults.sessionTimeoutMs,
      heartbeatInterval: kafkaBusDefaults.heartbeatIntervalMs,
      maxWaitTimeInMs: kafkaBusDefaults.maxWaitTimeMs,
      readUncommitted: false, // read_committed (the kafkajs default, spelled out): see the file comment
      // the same assignment on every broker version (see assigner.ts); round robin for members of an older FLEAD
      partitionAssigners: [SortedRangeAssigner, PartitionAssigners.roundRobin],
    });
    consumers.add(consumer);
    let failures = 0;

    consumer.on(consumer.events.GROUP_JOIN, (e) => {
      const assigned = Object.entries(e.payload.memberAssignment).flatMap(([topic, partitions]) =>
        partitions.map((partition) => ({ topic, partition })),
      );
      onAssignment?.(assigned);
    });
    let markReady: () => void = () => undefined;
    const ready = new Promise<void>((resolve) => {
      markReady = resolve;
    });
    consumer.on(consumer.events.FETCH, () => markReady());
    // kafkajs restarts a consumer after a retriable crash only; after any other (a handler that threw an error
    // marked not retriable, or a TypeError) the member would stay stopped for good: run it again here, so the
    // batch comes back as for any throwing handler (see the file comment)
    consumer.on(consumer.events.CRASH, (e) => {
      const byBus = !e.payload.restart && stopping === null && !closed;
      log(`kafka-bus: group ${groupId} consumer crashed (${e.payload.error.message}); ${e.payload.restart ? 'kafkajs restarts it' : byBus ? `running it again in ${kafkaBusDefaults.restartDelayMs} ms` : 'stopped'}`);
      if (!byBus) return;
      setTimeout(() => {
        if (stopping || closed) return;
        consumer.run(runOptions).catch((err: unknown) => log(`kafka-bus: group ${groupId}: running the consumer again failed (${(err as Error).message})`));
      }, kafkaBusDefaults.restartDelayMs).unref();
    });

    const handle = async ({ batch, resolveOffset, heartbeat, commitOffsetsIfNecessary, isRunning, isStale }: EachBatchPayload) => {
      if (batch.isEmpty() || !isRunning() || isStale()) return;
      const messages = batch.messages.map((m): BusMessage => ({
        topic: batch.topic,
        partition: batch.partition,
        offset: m.offset,
        key: m.key ? m.key.toString('utf8') : null,
        value: m.value ?? Buffer.alloc(0),
        headers: headersToStrings(m.headers),
        timestamp: Number(m.timestamp),
      }));
      const last = messages[messages.length - 1]!.offset;
      const beat = setInterval(() => {
        heartbeat().catch(() => undefined); // a rebalance in progress: the commit below will tell
      }, kafkaBusDefaults.heartbeatIntervalMs);
      try {
        await eachBatch(messages);
      } catch (e) {
        failures += 1;
        log(
          `kafka-bus: group ${groupId}: handler failed on ${batch.topic}[${batch.partition}] batch of ${messages.length} ` +
            `(offsets ${messages[0]!.offset}..${last}); not committed, will be redelivered ` +
            `(${failures} failure(s) in this subscription): ${(e as Error)?.message ?? String(e)}`,
        );
        throw e;
      } finally {
        clearInterval(beat);
      }
      resolveOffset(last);
      await commitOffsetsIfNecessary({
        topics: [{ topic: batch.topic, partitions: [{ partition: batch.partition, offset: (BigInt(last) + 1n).toString() }] }],
      });
    };

    const runOptions = { autoCommit: false, eachBatchAutoResolve: false, partitionsConsumedConcurrently: kafkaBusDefaults.partitionsConsumedConcurrently, eachBatch: handle };
    let timer: NodeJS.Timeout | undefined;
    try {
      await consumer.connect();
      await consumer.subscribe({ topics: [...topics], fromBeginning: options.fromBeginning ?? true });
      await consumer.run(runOptions);
      await Promise.race([
        ready,
        new Promise<void>((resolve) => {
          timer = setTimeout(resolve, kafkaBusDefaults.readyTimeoutMs);
        }),
      ]);
    } catch (e) {
      consumers.delete(consumer);
      await consumer.disconnect().catch(() => undefined);
      throw toInfraError(e, `subscribe of group ${groupId} to ${topics.join(', ')}`);
    } finally {
      clearTimeout(timer);
    }

    return {
      stop: () => {
        stopping ??= consumer.disconnect().finally(() => consumers.delete(consumer));
        return stopping;
      },
    };
  }

  /** One admin connection for `fn`, closed afterwards; a failure becomes an InfraError saying what was being done. */
  async function withAdmin<T>(what: string, fn: (admin: Admin) => Promise<T>): Promise<T> {
    const admin = kafka.admin();
    try {
      await admin.connect();
      return await fn(admin);
    } catch (e) {
      throw toInfraError(e, what);
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  }

  async function ensureTopics(topics: ReadonlyArray<{ topic: string; partitions: number; compacted?: boolean }>): Promise<TopicPartitions> {
    checkOpen('ensureTopics');
    if (topics.length === 0) return [];
    return withAdmin(`creating topics ${topics.map((t) => t.topic).join(', ')}`, (admin) => createTopicsSettled(admin, topics.map((t) => ({
      topic: t.topic,
      numPartitions: t.partitions,
      configEntries: t.compacted ? [{ name: 'cleanup.policy', value: 'compact' }] : [],
    }))));
  }

  async function partitionCount(topic: string): Promise<number | null> {
    checkOpen('partitionCount');
    return withAdmin(`reading the partitions of ${topic}`, async (admin) => {
      // listTopics first: a metadata request for a missing topic could create it (auto.create.topics.enable)
      if (!(await admin.listTopics()).includes(topic)) return null;
      const meta = await admin.fetchTopicMetadata({ topics: [topic] });
      return meta.topics[0]?.partitions.length ?? null;
    });
  }

  async function close(): Promise<void> {
    if (closed) return;
    closed = true;
    const p = producer;
    producer = null;
    await Promise.all([
      ...[...consumers].map((c) => c.disconnect().catch(() => undefined)),
      p?.then((x) => x.disconnect()).catch(() => undefined),
    ]);
    consumers.clear();
  }

  return { describe: `kafka ${opts.brokers} (client ${opts.clientId})`, publish, subscribe, ensureTopics, partitionCount, close };
}

function headersToStrings(headers: IHeaders | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, v] of Object.entries(headers ?? {})) {
    const first = Array.isArray(v) ? v[0] : v;
    if (first !== undefined) out[name] = first.toString();
  }
  return out;
}

interface KafkaJsLikeError {
  name?: string;
  type?: string;
  retriable?: boolean;
  message?: string;
  cause?: unknown;
  originalError?: unknown;
}

/** The error and every error it wraps (kafkajs nests them in `cause` / `originalError`). */
function chainOf(e: unknown): KafkaJsLikeError[] {
  const out: KafkaJsLikeError[] = [];
  let cur: unknown = e;
  while (cur && typeof cur === 'object' && out.length < 10) {
    const err = cur as KafkaJsLikeError;
    out.push(err);
    cur = err.cause ?? err.originalError;
  }
  return out;
}

const tooLargeTypes = new Set(['MESSAGE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE']);
const unreachableNames = new Set([
  'KafkaJSConnectionError',
  'KafkaJSNumberOfRetriesExceeded',
  'KafkaJSRequestTimeoutError',
  'KafkaJSBrokerNotFound',
  'KafkaJSNoBrokerAvailableError',
  'KafkaJSConnectionClosedError',
]);

function toInfraError(e: unknown, what: string): InfraError {
  if (e instanceof InfraError) return e;
  const chain = chainOf(e);
  const detail = chain.map((c) => c.message).filter(Boolean).join(' <- ');
  if (chain.some((c) => c.type !== undefined && tooLargeTypes.has(c.type))) {
    return new InfraError(
      'too-large',
      `kafka-bus: ${what} was refused by the broker as too large (over its message.max.bytes); ` +
        `keep large payloads out of the bus and send a pointer instead (${detail})`,
      false,
      e,
    );
  }
  const unreachable = chain.some((c) => (c.name && unreachableNames.has(c.name)) || c.retriable === true);
  return new InfraError(
    'unavailable',
    `kafka-bus: ${what} failed${unreachable ? ': the broker is unreachable or not ready' : ''} (${detail || String(e)})`,
    unreachable,
    e,
  );
}
