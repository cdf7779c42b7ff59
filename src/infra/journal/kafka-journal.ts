/**
 * Kafka journal engine.
 *
 * Topics (created by the engine when missing, through the admin client):
 * - `journalTopic` (default `flead-journal`, `partitions` partitions, retention unlimited): one record per event,
 *   key = persistence key, value = JSON JournalEnvelope, header `seq`. All events of a key live in one partition.
 * - `indexTopic` (default `<journalTopic>-index`, compacted): key → `{ partition, offset }` of the key's first
 *   event, written in the same transaction as that event. It is what lets recovery of one key skip the rest
 *   of the topic, and what `keys()` lists.
 * - `snapshotTopic` (default `flead-snapshots`, compacted): key → `{ position, snapshot }`, where position is
 *   the partition offset just after the snapshot's last event (when this engine knows it), so a recovery reads
 *   only the tail.
 *
 * Writes: one kafkajs transactional producer per engine, transactionalId `flead-journal-<writerId>`
 * (idempotent, maxInFlightRequests 1). Each `append` (and each `saveSnapshot`) is one transaction, so it is
 * atomic; any failure aborts it. Starting an engine with the same writerId fences the older one: its next
 * append rejects with InfraError('fenced', retriable=false). Broker failures and timeouts reject with
 * InfraError('unavailable', retriable=true) and make the engine re-learn the key's highest seq from the log
 * before its next append (the outcome of a failed commit may be unknown). Events over `maxEventBytes` reject
 * with InfraError('too-large') before anything is sent. Appends of one engine are serialised.
 *
 * Outbox (see the port): an append's outbox messages are sent in the append's transaction, after its events
 * (any topics; keyed messages are placed by the Java-compatible murmur2 partitioner, like the Kafka bus), so
 * they are committed or aborted with the events. Consumers that read with isolation read_committed (the
 * kafkajs default, and the Kafka bus's consumers) see them exactly when the events are committed, and never
 * see an aborted attempt; a retry after an unknown outcome is a 'conflict' once the events are there, so it
 * sends nothing again. Idempotence on the bus side is not needed (nor done) for Kafka.
 *
 * Reads: one long-lived read_committed consumer per engine (unique groupId, so it owns every partition) with
 * all partitions paused. A scan seeks one partition to a start offset, resumes it, and takes batches until the
 * partition's high watermark taken at the start of the call; other partitions stay paused. Scans of one
 * partition are serialised; a slow reader pauses its partition instead of buffering without bound. The start
 * offset is the snapshot's position when the caller reads after the snapshot, else the key's first offset from
 * the index. Readers drop a repeated seq and stop at untilSeq/untilTime.
 *
 * Caches: the index and the snapshots are loaded at start and topped up from their topics (from where the
 * engine left off) on a miss, on `keys()` and on `latestSnapshot()`; the highest seq of a key is learned on
 * first use and kept up to date by this engine's own appends (one writer per key is the deployment's job).
 */
import { randomBytes } from 'node:crypto';
import { Partitioners, type Admin, type Consumer, type Kafka, type KafkaMessage, type Producer, type Transaction } from 'kafkajs';
import { InfraError } from '../errors';
import { createKafka } from '../kafka/client';
import { SnapshotEnvelope } from '../../protocols/journal';
import type { Journal, OutboxMessage } from './port';
import {
  ReadFilter,
  buildEnvelopes,
  closedError,
  conflictError,
  decodeEnvelope,
  encodeEnvelope,
  encodeSnapshot,
  stampOutbox,
  type FaultHook,
} from './memory-journal';

export interface KafkaJournalOptions {
  /** comma-separated host:port list */
  brokers: string;
  /** names the transactional producer: a second engine with the same writerId fences the first */
  writerId: string;
  journalTopic?: string;
  snapshotTopic?: string;
  /** default `<journalTopic>-index` */
  indexTopic?: string;
  /** partitions of the journal topic when the engine creates it */
  partitions?: number;
  /** a scan that makes no progress for this long rejects with InfraError('unavailable') */
  readTimeoutMs?: number;
  /** test hook, see FaultHook */
  fault?: FaultHook;
}

export const kafkaJournalDefaults = {
  journalTopic: 'flead-journal',
  snapshotTopic: 'flead-snapshots',
  partitions: 6,
  readTimeoutMs: 30_000,
  transactionTimeoutMs: 15_000,
  /** bytes / events per produce request inside one append transaction (kafkajs encodes big requests slowly) */
  sendChunkBytes: 512 * 1024,
  sendChunkEvents: 1000,
  /** buffered messages above which a scan pauses its partition until the reader catches up */
  scanHighWater: 50_000,
} as const;

interface Position {
  partition: number;
  offset: number;
}
interface KeyState {
  highest: number;
  /** offset of the event with seq `highest`, when known */
  lastOffset?: number;
  stale: boolean;
}
interface SnapshotRecord {
  snapshot: SnapshotEnvelope;
  position?: Position;
}

const fencingTypes = new Set(['INVALID_PRODUCER_EPOCH', 'PRODUCER_FENCED', 'INVALID_PRODUCER_ID_MAPPING']);

/** True when e (or an error it wraps) says another producer with our transactionalId took over. */
function isFencing(e: unknown, depth = 0): boolean {
  if (!e || typeof e !== 'object' || depth > 5) return false;
  const x = e as { type?: string; code?: number; message?: string; cause?: unknown; originalError?: unknown; errors?: unknown[] };
  if ((x.type && fencingTypes.has(x.type)) || x.code === 47 || x.code === 90) return true;
  if (typeof x.message === 'string' && /fenced|producer epoch/i.test(x.message)) return true;
  return [x.cause, x.originalError, ...(Array.isArray(x.errors) ? x.errors : [])].some((c) => isFencing(c, depth + 1));
}

/** Serialises async operations. */
function mutex(): <T>(op: () => Promise<T>) => Promise<T> {
  let tail: Promise<unknown> = Promise.resolve();
  return <T>(op: () => Promise<T>) => {
    const run = tail.then(op, op);
    tail = run.catch(() => undefined);
    return run;
  };
}

interface ScanState {
  next: number;
  until: number;
  chunks: KafkaMessage[][];
  buffered: number;
  held: boolean;
  progressAt: number;
  wake?: () => void;
  error?: Error;
}

/** One paused read_committed consumer that scans single partitions on demand (see the file comment). */
class PartitionScanner {
  private readonly scans = new Map<string, ScanState>();
  private readonly locks = new Map<string, <T>(op: () => Promise<T>) => Promise<T>>();

  constructor(
    private readonly consumer: Consumer,
    private readonly partitions: ReadonlyMap<string, number[]>,
    private readonly timeoutMs: number,
    private readonly highWater: number,
  ) {}

  async start(): Promise<void> {
    for (const topic of this.partitions.keys()) await this.consumer.subscribe({ topic, fromBeginning: false });
    this.consumer.on(this.consumer.events.END_BATCH_PROCESS, ({ payload }) => {
      // batches of only control records / aborted messages never reach eachBatch, but still move us on
      const s = this.scans.get(`${payload.topic}:${payload.partition}`);
      if (s && payload.batchSize === 0) this.progress(s, Number(payload.lastOffset) + 1);
    });
    this.consumer.on(this.consumer.events.CRASH, ({ payload }) => {
      for (const s of this.scans.values()) {
        s.error = new InfraError('unavailable', `journal reader crashed: ${payload.error.message}`, true, payload.error);
        s.wake?.();
      }
    });
    await this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: true,
      eachBatch: async ({ batch }) => {
        const s = this.scans.get(`${batch.topic}:${batch.partition}`);
        if (!s) return;
        const fetched = Number((batch as unknown as { fetchedOffset: string }).fetchedOffset);
        if (fetched > s.next) return; // fetched before a seek
        const msgs = batch.messages.filter((m) => {
          const o = Number(m.offset);
          return o >= s.next && o < s.until;
        });
        if (msgs.length) {
          s.chunks.push(msgs);
          s.buffered += msgs.length;
        }
        this.progress(s, Number(batch.lastOffset()) + 1);
        if (s.buffered > this.highWater && s.next < s.until && !s.held) {
          s.held = true;
          this.consumer.pause([{ topic: batch.topic, partitions: [batch.partition] }]);
        }
      },
    });
    this.consumer.pause([...this.partitions].map(([topic, partitions]) => ({ topic, partitions })));
  }

  private progress(s: ScanState, next: number): void {
    if (next > s.next) s.next = next;
    s.progressAt = Date.now();
    s.wake?.();
  }

  /** Messages of topic/partition with from <= offset < until, in offset order, chunk by chunk. */
  async *scan(topic: string, partition: number, from: number, until: number): AsyncGenerator<KafkaMessage[]> {
    if (from >= until) return;
    const id = `${topic}:${partition}`;
    let lock = this.locks.get(id);
    if (!lock) this.locks.set(id, (lock = mutex()));
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    await new Promise<void>((acquired) => void lock!(() => (acquired(), released)));
    const s: ScanState = { next: from, until, chunks: [], buffered: 0, held: false, progressAt: Date.now() };
    this.scans.set(id, s);
    try {
      this.consumer.seek({ topic, partition, offset: String(from) });
      this.consumer.resume([{ topic, partitions: [partition] }]);
      for (;;) {
        const chunk = s.chunks.shift();
        if (chunk) {
          s.buffered -= chunk.length;
          if (s.held && s.buffered <= this.highWater / 2) {
            s.held = false;
            this.consumer.resume([{ topic, partitions: [partition] }]);
          }
          yield chunk;
          continue;
        }
        if (s.next >= s.until) return;
        if (s.error) throw s.error;
        const idle = Date.now() - s.progressAt;
        if (idle >= this.timeoutMs) {
          throw new InfraError('unavailable', `journal read of ${topic}/${partition} made no progress for ${idle} ms (at offset ${s.next}, until ${until})`, true);
        }
        await new Promise<void>((wake) => {
          const t = setTimeout(wake, this.timeoutMs - idle);
          s.wake = () => {
            clearTimeout(t);
            wake();
          };
        });
        s.wake = undefined;
      }
    } finally {
      this.scans.delete(id);
      this.consumer.pause([{ topic, partitions: [partition] }]);
      release();
    }
  }

  /** Fails the running scans (on close). */
  abort(error: Error): void {
    for (const s of this.scans.values()) {
      s.error = error;
      s.wake?.();
    }
  }
}

export async function createKafkaJournal(opts: KafkaJournalOptions): Promise<Journal> {
  const journalTopic = opts.journalTopic ?? kafkaJournalDefaults.journalTopic;
  const snapshotTopic = opts.snapshotTopic ?? kafkaJournalDefaults.snapshotTopic;
  const indexTopic = opts.indexTopic ?? `${journalTopic}-index`;
  const fault: FaultHook = opts.fault ?? (() => undefined);
  const describe = `kafka ${opts.brokers} ${journalTopic} (writer ${opts.writerId})`;
  const transactionalId = `flead-journal-${opts.writerId}`;
  const kafka: Kafka = createKafka({ brokers: opts.brokers, clientId: `flead-journal-${opts.writerId}` });

  const admin: Admin = kafka.admin();
  let producer: Producer | undefined;
  let consumer: Consumer | undefined;
  const unavailable = (what: string, e: unknown): InfraError =>
    e instanceof InfraError ? e : new InfraError('unavailable', `journal ${describe}: ${what} failed (${(e as Error).message})`, true, e);

  const newProducer = (): Producer =>
    kafka.producer({
      transactionalId,
      idempotent: true,
      maxInFlightRequests: 1,
      transactionTimeout: kafkaJournalDefaults.transactionTimeoutMs,
      createPartitioner: Partitioners.DefaultPartitioner,
      // back-to-back transactions meet CONCURRENT_TRANSACTIONS while the last commit's markers are written
      retry: { initialRetryTime: 10, maxRetryTime: 2000, retries: 10 },
    });

  const partitions = new Map<string, number[]>();
  let scanner: PartitionScanner;
  try {
    await admin.connect();
    await ensureTopics(admin, journalTopic, snapshotTopic, indexTopic, opts.partitions ?? kafkaJournalDefaults.partitions);
    const meta = await admin.fetchTopicMetadata({ topics: [journalTopic, snapshotTopic, indexTopic] });
    for (const t of meta.topics) partitions.set(t.name, t.partitions.map((p) => p.partitionId).sort((a, b) => a - b));

    producer = newProducer();
    await producer.connect();
    const first = await producer.transaction(); // InitProducerId: fences an older engine with our writerId now
    await first.abort();

    consumer = kafka.consumer({
      groupId: `flead-journal-reader-${opts.writerId}-${randomBytes(6).toString('hex')}`,
      maxWaitTimeInMs: 50,
      maxBytesPerPartition: 8 << 20,
      maxBytes: 64 << 20,
      allowAutoTopicCreation: false,
    });
    await consumer.connect();
    scanner = new PartitionScanner(consumer, partitions, opts.readTimeoutMs ?? kafkaJournalDefaults.readTimeoutMs, kafkaJournalDefaults.scanHighWater);
    await scanner.start();
  } catch (e) {
    await Promise.allSettled([admin.disconnect(), producer?.disconnect(), consumer?.disconnect()]);
    throw unavailable('start', e);
  }

  const index = new Map<string, Position>();
  const snapshots = new Map<string, SnapshotRecord>();
  const states = new Map<string, KeyState>();
  const consumedUpTo = new Map<string, number[]>(); // topic → next offset per partition, for index/snapshots
  // journal partition → offset after the last event this engine committed. Commit markers are written after
  // commit() resolves, so the partition's last stable offset may lag our own write for a moment; reads wait
  // for it instead of stopping short (read-your-writes).
  const writtenUpTo = new Map<number, number>();
  const writeLock = mutex();
  const refreshLocks = new Map([[indexTopic, mutex()], [snapshotTopic, mutex()]]);
  let closed = false;
  let fenced: InfraError | undefined;
  let producerBroken = false;

  async function highWatermarks(topic: string): Promise<Map<number, number>> {
    try {
      const offsets = await admin.fetchTopicOffsets(topic);
      return new Map(offsets.map((o) => [o.partition, Number(o.high)]));
    } catch (e) {
      throw unavailable(`offsets of ${topic}`, e);
    }
  }

  /** Reads what was added to a compacted topic since the last refresh. */
  function refresh(topic: string, apply: (m: KafkaMessage, partition: number, offset: number) => void): Promise<void> {
    return refreshLocks.get(topic)!(async () => {
      const hw = await highWatermarks(topic);
      const from = consumedUpTo.get(topic) ?? [];
      await Promise.all(
        [...hw].map(async ([p, until]) => {
          for await (const chunk of scanner.scan(topic, p, from[p] ?? 0, until)) {
            for (const m of chunk) apply(m, p, Number(m.offset));
          }
          from[p] = Math.max(from[p] ?? 0, until);
        }),
      );
      consumedUpTo.set(topic, from);
    });
  }

  const refreshIndex = (): Promise<void> =>
    refresh(indexTopic, (m) => {
      if (!m.key || !m.value) return;
      const pos = JSON.parse(m.value.toString()) as Position;
      index.set(m.key.toString(), pos);
    });

  const refreshSnapshots = (): Promise<void> =>
    refresh(snapshotTopic, (m, p, o) => {
      if (!m.key || !m.value) return;
      const rec = JSON.parse(m.value.toString()) as SnapshotRecord;
      if (!SnapshotEnvelope.is(rec.snapshot)) throw new InfraError('corrupt', `${snapshotTopic}/${p}@${o}: not a snapshot record`, false);
      const current = snapshots.get(rec.snapshot.key);
      if (!current || current.snapshot.seq <= rec.snapshot.seq) snapshots.set(rec.snapshot.key, rec);
    });

  try {
    await Promise.all([refreshIndex(), refreshSnapshots()]);
  } catch (e) {
    await Promise.allSettled([admin.disconnect(), producer.disconnect(), consumer.disconnect()]);
    throw unavailable('loading the index and snapshots', e);
  }

  /** Where a read of a journal partition stops: its last stable offset now, or past our own last write. */
  async function journalEnd(partition: number): Promise<number> {
    const lso = (await highWatermarks(journalTopic)).get(partition) ?? 0;
    return Math.max(lso, writtenUpTo.get(partition) ?? 0);
  }

  async function positionOf(key: string): Promise<Position | undefined> {
    if (!index.has(key)) await refreshIndex();
    return index.get(key);
  }

  /** Where reading `key` after `afterSeq` may start, with what is known below it. */
  function startOffset(key: string, first: Position, afterSeq: number): { offset: number; seq: number } {
    let start = { offset: first.offset, seq: 0 };
    const snap = snapshots.get(key);
    if (snap?.position && snap.position.partition === first.partition && snap.snapshot.seq <= afterSeq && snap.position.offset > start.offset) {
      start = { offset: snap.position.offset, seq: snap.snapshot.seq };
    }
    const st = states.get(key);
    if (st && !st.stale && st.lastOffset !== undefined && st.highest <= afterSeq && st.lastOffset > start.offset) {
      start = { offset: st.lastOffset, seq: st.highest - 1 };
    }
    return start;
  }

  async function learn(key: string): Promise<KeyState> {
    const first = await positionOf(key);
    const st: KeyState = { highest: 0, stale: false };
    if (first) {
      const known = states.get(key);
      const start = startOffset(key, first, Math.max(known?.highest ?? 0, snapshots.get(key)?.snapshot.seq ?? 0));
      st.highest = start.seq;
      const until = await journalEnd(first.partition);
      const keyBuf = Buffer.from(key);
      for await (const chunk of scanner.scan(journalTopic, first.partition, start.offset, until)) {
        for (const m of chunk) {
          if (!m.key?.equals(keyBuf)) continue;
          const h = m.headers?.seq;
          const seq = h ? Number(h.toString()) : decodeEnvelope(m.value?.toString() ?? '', `${journalTopic}/${first.partition}@${m.offset}`).seq;
          if (seq >= st.highest) {
            st.highest = seq;
            st.lastOffset = Number(m.offset);
          }
        }
      }
    }
    states.set(key, st);
    return st;
  }

  const keyState = async (key: string): Promise<KeyState> => {
    const st = states.get(key);
    return st && !st.stale ? st : learn(key);
  };

  const check = (): void => {
    if (closed) throw closedError(describe);
    if (fenced) throw fenced;
  };

  /** Runs body in one transaction; aborts it on any failure and maps the error. */
  async function inTransaction<T>(what: string, body: (txn: Transaction) => Promise<T>): Promise<T> {
    if (producerBroken) {
      await producer!.disconnect().catch(() => undefined);
      producer = newProducer();
      try {
        await producer.connect();
        producerBroken = false;
      } catch (e) {
        throw unavailable(`reconnecting the producer for ${what}`, e);
      }
    }
    let txn: Transaction | undefined;
    try {
      txn = await producer!.transaction();
      const result = await body(txn);
      fault('before-commit');
      await txn.commit();
      return result;
    } catch (e) {
      if (txn) await txn.abort().catch(() => (producerBroken = !isFencing(e)));
      else producerBroken = !isFencing(e);
      if (isFencing(e)) {
        fenced = new InfraError('fenced', `journal ${describe}: another engine with writer id ${opts.writerId} has taken over (${what} rejected)`, false, e);
        throw fenced;
      }
      throw unavailable(what, e);
    }
  }

  /** Sends outbox messages in txn, topic by topic (first-seen order), in produce requests of bounded size. */
  async function sendOutbox(txn: Transaction, messages: readonly OutboxMessage[]): Promise<void> {
    const byTopic = new Map<string, OutboxMessage[]>();
    for (const m of messages) {
      let list = byTopic.get(m.topic);
      if (!list) byTopic.set(m.topic, (list = []));
      list.push(m);
    }
    for (const [topic, list] of byTopic) {
      for (let i = 0; i < list.length; ) {
        const chunk: { key: string | null; value: string; headers: Record<string, string> }[] = [];
        for (let bytes = 0; i < list.length && (chunk.length === 0 || (bytes + list[i]!.value.length <= kafkaJournalDefaults.sendChunkBytes && chunk.length < kafkaJournalDefaults.sendChunkEvents)); i++) {
          bytes += list[i]!.value.length;
          chunk.push({ key: list[i]!.key, value: list[i]!.value, headers: { ...list[i]!.headers } });
        }
        await txn.send({ topic, messages: chunk });
      }
    }
  }

  const journal: Journal = {
    describe,

    append(key, expectedSeq, events, outbox) {
      return writeLock(async () => {
        check();
        const st = await keyState(key);
        if (expectedSeq !== st.highest + 1) throw conflictError(key, expectedSeq, st.highest);
        const envs = buildEnvelopes(key, expectedSeq, events);
        const values = envs.map(encodeEnvelope);
        const messages = stampOutbox(key, expectedSeq, envs.length, outbox);
        if (envs.length === 0) return [];
        const known = index.get(key);
        const what = `append ${key} seq ${expectedSeq}..${expectedSeq + envs.length - 1}`;
        let first: Position | undefined;
        let lastOffset = -1;
        try {
          await inTransaction(what, async (txn) => {
            let partition = known?.partition;
            for (let i = 0; i < values.length; ) {
              const chunk: { key: string; value: string; partition?: number; headers: { seq: string } }[] = [];
              for (let bytes = 0; i < values.length && (chunk.length === 0 || (bytes + values[i]!.length <= kafkaJournalDefaults.sendChunkBytes && chunk.length < kafkaJournalDefaults.sendChunkEvents)); i++) {
                bytes += values[i]!.length;
                chunk.push({ key, value: values[i]!, partition, headers: { seq: String(envs[i]!.seq) } });
              }
              const [meta] = await txn.send({ topic: journalTopic, messages: chunk });
              if (!meta || meta.baseOffset === undefined) throw new Error(`no offset in the produce response for ${journalTopic}`);
              partition = meta.partition;
              const base = Number(meta.baseOffset);
              first ??= { partition, offset: base };
              lastOffset = base + chunk.length - 1;
            }
            if (!known) await txn.send({ topic: indexTopic, messages: [{ key, value: JSON.stringify(first) }] });
            await sendOutbox(txn, messages);
          });
        } catch (e) {
          st.stale = true;
          throw e;
        }
        st.highest += envs.length;
        st.lastOffset = lastOffset;
        if (first) writtenUpTo.set(first.partition, Math.max(writtenUpTo.get(first.partition) ?? 0, lastOffset + 1));
        if (!known && first) index.set(key, first);
        try {
          fault('after-commit');
        } catch (e) {
          st.stale = true;
          throw unavailable(what, e);
        }
        return envs;
      });
    },

    async *read(key, options = {}) {
      if (closed) throw closedError(describe);
      const first = await positionOf(key);
      if (!first) return;
      const start = startOffset(key, first, options.afterSeq ?? 0);
      const until = await journalEnd(first.partition);
      const filter = new ReadFilter(options);
      const keyBuf = Buffer.from(key);
      for await (const chunk of scanner.scan(journalTopic, first.partition, start.offset, until)) {
        for (const m of chunk) {
          if (!m.key?.equals(keyBuf)) continue;
          const env = decodeEnvelope(m.value?.toString() ?? '', `${journalTopic}/${first.partition}@${m.offset}`);
          const verdict = filter.accept(env);
          if (verdict === 'stop') return;
          if (verdict === 'yield') yield env;
          if (filter.done) return;
        }
      }
    },

    async highestSeq(key) {
      if (closed) throw closedError(describe);
      return writeLock(async () => (await keyState(key)).highest);
    },

    async latestSnapshot(key) {
      if (closed) throw closedError(describe);
      await refreshSnapshots();
      const rec = snapshots.get(key);
      return rec && { ...rec.snapshot };
    },

    saveSnapshot(snapshot) {
      return writeLock(async () => {
        check();
        const current = snapshots.get(snapshot.key);
        if (current && current.snapshot.seq > snapshot.seq) return;
        const st = states.get(snapshot.key);
        const first = index.get(snapshot.key);
        const position =
          st && !st.stale && st.highest === snapshot.seq && st.lastOffset !== undefined && first
            ? { partition: first.partition, offset: st.lastOffset + 1 }
            : undefined;
        const text = encodeSnapshot(snapshot, position ? { position } : {});
        await inTransaction(`snapshot ${snapshot.key} at seq ${snapshot.seq}`, async (txn) => {
          await txn.send({ topic: snapshotTopic, messages: [{ key: snapshot.key, value: text }] });
        });
        snapshots.set(snapshot.key, JSON.parse(text) as SnapshotRecord);
      });
    },

    async keys(prefix = '') {
      if (closed) throw closedError(describe);
      await refreshIndex();
      return [...index.keys()].filter((k) => k.startsWith(prefix)).sort();
    },

    async close() {
      if (closed) return;
      closed = true;
      scanner.abort(closedError(describe));
      await writeLock(async () => undefined).catch(() => undefined);
      await Promise.allSettled([consumer!.disconnect(), producer!.disconnect(), admin.disconnect()]);
    },
  };
  return journal;
}

async function ensureTopics(admin: Admin, journal: string, snapshots: string, index: string, partitions: number): Promise<void> {
  const existing = new Set(await admin.listTopics());
  const compact = [{ name: 'cleanup.policy', value: 'compact' }];
  const wanted = [
    { topic: journal, numPartitions: partitions, configEntries: [{ name: 'retention.ms', value: '-1' }, { name: 'retention.bytes', value: '-1' }] },
    { topic: snapshots, numPartitions: 1, configEntries: compact },
    { topic: index, numPartitions: 1, configEntries: compact },
  ].filter((t) => !existing.has(t.topic));
  if (wanted.length === 0) return;
  try {
    await admin.createTopics({ topics: wanted, waitForLeaders: true });
  } catch (e) {
    // another engine may have created them at the same moment
    const already = (e as { errors?: { type?: string }[] }).errors?.every((x) => x.type === 'TOPIC_ALREADY_EXISTS');
    if (!already) throw e;
  }
}
