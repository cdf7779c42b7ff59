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
 * (idempotent, maxInFlightRequests 1), and one transaction at a time. Group commit (`kafka-group-commit.ts`):
 * the appends and snapshots that arrive while a transaction is in flight queue up, and the next transaction
 * takes all of them (for any keys, with their outboxes; at most `groupMaxAppends` operations and about
 * `groupMaxBytes`). Each append is checked on its own before the transaction: its expectedSeq against its
 * key's highest seq plus the appends of that key accepted earlier in the group (so appends of one key chain
 * within a group); a conflicting or invalid append rejects alone and the others go on. A group commits or
 * aborts as a whole, so each append stays atomic. Starting an engine with the same writerId fences the older
 * one: its next transaction rejects every append of it with InfraError('fenced', retriable=false). Broker
 * failures and timeouts reject every append of the group with the same InfraError('unavailable',
 * retriable=true) and make the engine re-learn each of their keys' highest seq from the log before the key's
 * next append (the outcome of a failed commit may be unknown). Events over `maxEventBytes` reject with
 * InfraError('too-large') before anything is sent. `groupCommit: false` makes every append (and snapshot) a
 * transaction of its own. `highestSeq` is answered by the writer too, after the transaction in flight.
 *
 * Outbox (see the port): an append's outbox messages are sent in the append's transaction, after the group's
 * events (any topics; keyed messages are placed by the Java-compatible murmur2 partitioner, like the Kafka
 * bus), so they are committed or aborted with the events. Consumers that read with isolation read_committed
 * (the kafkajs default, and the Kafka bus's consumers) see them exactly when the events are committed, and
 * never see an aborted attempt; a retry after an unknown outcome is a 'conflict' once the events are there, so
 * it sends nothing again. Idempotence on the bus side is not needed (nor done) for Kafka.
 *
 * Reads (`kafka-scanner.ts`): one long-lived read_committed consumer per engine with all partitions paused;
 * a scan reads one partition from a start offset up to the partition's high watermark taken at the start of
 * the call. The start offset is the snapshot's position when the caller reads after the snapshot, else the
 * key's first offset from the index. Readers drop a repeated seq and stop at untilSeq/untilTime.
 *
 * Caches: the index and the snapshots are loaded at start and topped up from their topics (from where the
 * engine left off) on a miss, on `keys()` and on `latestSnapshot()`; the highest seq of a key is learned on
 * first use and kept up to date by this engine's own appends (one writer per key is the deployment's job).
 */
import { randomBytes } from 'node:crypto';
import { KeyedPartitioner, type Admin, type Kafka, type PartitionMetadata, type Producer, type Transaction } from '../kafka/kafkajs';
import { InfraError } from '../errors';
import { createKafka, kafkaDefaults } from '../kafka/client';
import { SnapshotEnvelope, type JournalEnvelope } from '../../protocols/journal';
import type { Journal } from './port';
import { ReadFilter, buildEnvelopes, closedError, decodeEnvelope, encodeEnvelope, encodeSnapshot, stampOutbox, type FaultHook } from './shared';
import { PartitionScanner } from './kafka-scanner';
import { KeyCache, type Position, type SnapshotRecord } from './kafka-key-cache';
import { describeGroup, groupRecords, GroupQueue, planAppends, sendChunked, type GroupOp, type OutRecord, type PreparedAppend } from './kafka-group-commit';
import { journalTopics } from './kafka-admin';
import { createTopicsSettled } from '../kafka/create-topics';
import { isFencing, needsNewProducer } from '../kafka/producer-errors';

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
  /**
   * Group commit (default true): the writes that arrive while a transaction is in flight share the next one.
   * false: one transaction per append / snapshot. An object sets the group bounds.
   */
  groupCommit?: boolean | { maxAppends?: number; maxBytes?: number };
  /** called after every write transaction (committed or failed): metrics, tests */
  onTransaction?: (report: TransactionReport) => void;
  /** called once, when this engine learns that another one with its writerId took over (every write fails from then on) */
  onFenced?: (error: InfraError) => void;
  /** test hook, see FaultHook: called once per transaction (a group), so one armed fault fails a whole group */
  fault?: FaultHook;
}

/** One write transaction of the engine (a group). */
export interface TransactionReport {
  /** appends (with events) and snapshots in the transaction */
  appends: number;
  snapshots: number;
  events: number;
  outbox: number;
  /** 'failed' also when the commit went through but the after-commit fault hook threw */
  outcome: 'committed' | 'failed';
  ms: number;
  error?: InfraError;
}

export interface KafkaJournalStats {
  /** write transactions begun (committed + failed) */
  transactions: number;
  committed: number;
  failed: number;
  /** appends (with events) / snapshots / events written by committed transactions */
  appends: number;
  snapshots: number;
  events: number;
  /** most appends in one transaction */
  largestGroup: number;
  /** transactional producers made: 1, plus one after each failure that left the last one unusable */
  producers: number;
}

/** The Kafka engine: a Journal, plus its write statistics. */
export interface KafkaJournal extends Journal {
  stats(): KafkaJournalStats;
}

export const kafkaJournalDefaults = {
  journalTopic: 'flead-journal',
  snapshotTopic: 'flead-snapshots',
  partitions: 6,
  readTimeoutMs: 30_000,
  /** a writer killed mid-transaction blocks read_committed readers of its partitions until this passes */
  transactionTimeoutMs: 10_000,
  /** back-to-back transactions meet CONCURRENT_TRANSACTIONS while the last commit's markers are written */
  transactionRetry: { initialRetryTime: 10, maxRetryTime: 2000, retries: 10 },
  /** bytes / records per produce request inside one transaction (kafkajs encodes big requests slowly) */
  sendChunkBytes: 512 * 1024,
  sendChunkEvents: 1000,
  /** bounds of a group commit: operations, estimated bytes (a group always takes one at least) */
  groupMaxAppends: 1000,
  groupMaxBytes: 4 * 1024 * 1024,
  /** buffered messages above which a scan pauses its partition until the reader catches up */
  scanHighWater: 50_000,
} as const;

/** A queued write (or `highestSeq`), settled by the group that takes it. */
type WriteOp = GroupOp &
  (
    | { kind: 'append'; key: string; expectedSeq: number; prepared: PreparedAppend | { error: unknown }; resolve: (envs: JournalEnvelope[]) => void }
    | { kind: 'snapshot'; snapshot: SnapshotEnvelope; invalid?: { error: unknown }; resolve: () => void }
    | { kind: 'highest'; key: string; resolve: (seq: number) => void }
  );
type AppendOp = Extract<WriteOp, { kind: 'append' }> & { prepared: PreparedAppend };
type SnapshotOp = Extract<WriteOp, { kind: 'snapshot' }>;

/** The longest position a snapshot record can carry: validating with it bounds the real record's size. */
const longestPosition = { position: { partition: 2 ** 31 - 1, offset: Number.MAX_SAFE_INTEGER } };

export async function createKafkaJournal(opts: KafkaJournalOptions): Promise<KafkaJournal> {
  const journalTopic = opts.journalTopic ?? kafkaJournalDefaults.journalTopic;
  const snapshotTopic = opts.snapshotTopic ?? kafkaJournalDefaults.snapshotTopic;
  const indexTopic = opts.indexTopic ?? `${journalTopic}-index`;
  const fault: FaultHook = opts.fault ?? (() => undefined);
  const describe = `kafka ${opts.brokers} ${journalTopic} (writer ${opts.writerId})`;
  const transactionalId = `flead-journal-${opts.writerId}`;
  const kafka: Kafka = createKafka({ brokers: opts.brokers, clientId: `flead-journal-${opts.writerId}` });
  const grouping = opts.groupCommit ?? true;
  const limits =
    grouping === false
      ? { maxOps: 1, maxBytes: 0 }
      : {
          maxOps: (grouping === true ? undefined : grouping.maxAppends) ?? kafkaJournalDefaults.groupMaxAppends,
          maxBytes: (grouping === true ? undefined : grouping.maxBytes) ?? kafkaJournalDefaults.groupMaxBytes,
        };
  const chunk = { bytes: kafkaJournalDefaults.sendChunkBytes, records: kafkaJournalDefaults.sendChunkEvents };

  const admin: Admin = kafka.admin();
  let producer: Producer | undefined;
  const unavailable = (what: string, e: unknown): InfraError =>
    e instanceof InfraError ? e : new InfraError('unavailable', `journal ${describe}: ${what} failed (${(e as Error).message})`, true, e);

  const newProducer = (): Producer =>
    kafka.producer({
      transactionalId,
      idempotent: true,
      maxInFlightRequests: 1,
      transactionTimeout: kafkaJournalDefaults.transactionTimeoutMs,
      createPartitioner: KeyedPartitioner,
      retry: { ...kafkaJournalDefaults.transactionRetry },
    });

  const partitions = new Map<string, number[]>();
  let scanner: PartitionScanner;
  try {
    await admin.connect();
    await createTopicsSettled(admin, journalTopics(journalTopic, snapshotTopic, indexTopic, opts.partitions ?? kafkaJournalDefaults.partitions));
    const meta = await admin.fetchTopicMetadata({ topics: [journalTopic, snapshotTopic, indexTopic] });
    for (const t of meta.topics) partitions.set(t.name, t.partitions.map((p) => p.partitionId).sort((a, b) => a - b));

    producer = newProducer();
    await producer.connect();
    const first = await producer.transaction(); // InitProducerId: fences an older engine with our writerId now
    await first.abort();

    // a fresh group per consumer (it owns every partition); the scanner rebuilds it after a crash
    const newConsumer = () =>
      kafka.consumer({
        groupId: `flead-journal-reader-${opts.writerId}-${randomBytes(6).toString('hex')}`,
        maxWaitTimeInMs: 50,
        maxBytesPerPartition: 8 << 20,
        maxBytes: 64 << 20,
        allowAutoTopicCreation: false,
        retry: { ...kafkaDefaults.retry, restartOnFailure: async () => false },
      });
    scanner = new PartitionScanner(newConsumer, partitions, opts.readTimeoutMs ?? kafkaJournalDefaults.readTimeoutMs, kafkaJournalDefaults.scanHighWater);
    await scanner.start();
  } catch (e) {
    await Promise.allSettled([admin.disconnect(), producer?.disconnect()]);
    throw unavailable('start', e);
  }

  const cache = new KeyCache(admin, scanner, { journal: journalTopic, index: indexTopic, snapshots: snapshotTopic }, unavailable);
  const { index, snapshots, states } = cache;
  let closed = false;
  let fenced: InfraError | undefined;
  let producerBroken = false;
  const stats: KafkaJournalStats = { transactions: 0, committed: 0, failed: 0, appends: 0, snapshots: 0, events: 0, largestGroup: 0, producers: 1 };

  // The partition of a key's first event is what the producer's partitioner would pick (we set it explicitly,
  // to know every record's offset in a produce response); later events go where the index says.
  const partitioner = KeyedPartitioner();
  const journalPartitions: PartitionMetadata[] = (partitions.get(journalTopic) ?? []).map((partitionId) => ({ partitionId, leader: 0, partitionErrorCode: 0, replicas: [], isr: [] }));
  const partitionFor = (key: string): number => index.get(key)?.partition ?? partitioner({ topic: journalTopic, partitionMetadata: journalPartitions, message: { key, value: null } });

  try {
    await Promise.all([cache.refreshIndex(), cache.refreshSnapshots()]);
  } catch (e) {
    await Promise.allSettled([admin.disconnect(), producer.disconnect(), scanner.close(closedError(describe))]);
    throw unavailable('loading the index and snapshots', e);
  }

  /** Runs body in one transaction; aborts it on any failure and maps the error. */
  async function inTransaction(what: string, body: (txn: Transaction) => Promise<void>): Promise<void> {
    if (producerBroken) {
      await producer!.disconnect().catch(() => undefined);
      producer = newProducer();
      stats.producers += 1;
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
      await body(txn);
      fault('before-commit');
      await txn.commit();
    } catch (e) {
      const fencing = isFencing(e);
      // a failed abort, no transaction, or a producer out of step with the broker: the next one is made anew
      if (txn) await txn.abort().catch(() => (producerBroken = !fencing));
      else producerBroken = !fencing;
      if (needsNewProducer(e) && !fencing) producerBroken = true;
      if (fencing) {
        if (!fenced) {
          fenced = new InfraError('fenced', `journal ${describe}: another engine with writer id ${opts.writerId} has taken over (${what} rejected)`, false, e);
          opts.onFenced?.(fenced);
        }
        throw fenced;
      }
      throw unavailable(what, e);
    }
  }

  /**
   * One group (see kafka-group-commit.ts): the checks, one transaction for the appends and snapshots that
   * passed, and the `highestSeq` answers (after the commit for the keys the group writes or must learn).
   */
  async function runGroup(group: WriteOp[]): Promise<void> {
    if (closed) {
      for (const op of group) op.fail(closedError(describe));
      return;
    }
    const appendOps = group.filter((op): op is Extract<WriteOp, { kind: 'append' }> => op.kind === 'append');
    const accepted: AppendOp[] = [];
    const acceptedSnaps: SnapshotOp[] = [];
    if (fenced) {
      for (const op of group) if (op.kind !== 'highest') op.fail(fenced);
    } else {
      const failed = new Map(await cache.learn(appendOps.map((op) => op.key)));
      // A writer that expects more events than this engine knows of (it recovered them after this engine
      // learned the key, e.g. once a dead writer's open transaction was resolved) makes the key stale: learn
      // it again before judging, so only a real conflict is rejected.
      const ahead = appendOps.filter((op) => !failed.has(op.key) && op.expectedSeq > states.get(op.key)!.highest + 1);
      if (ahead.length) {
        for (const op of ahead) states.get(op.key)!.stale = true;
        for (const [k, e] of await cache.learn(ahead.map((op) => op.key))) failed.set(k, e);
      }
      const verdicts = planAppends(appendOps, (key) => (failed.has(key) ? { error: failed.get(key) } : states.get(key)!.highest));
      appendOps.forEach((op, i) => {
        const v = verdicts[i]!;
        if (v.verdict === 'reject') op.fail(v.error);
        else if (v.verdict === 'empty') op.resolve([]);
        else accepted.push(op as AppendOp);
      });
      const snapSeq = new Map<string, number>();
      for (const op of group) {
        if (op.kind !== 'snapshot') continue;
        const current = snapSeq.get(op.snapshot.key) ?? snapshots.get(op.snapshot.key)?.snapshot.seq;
        if (current !== undefined && current > op.snapshot.seq) op.resolve(); // an older snapshot saved late: kept out
        else if (op.invalid) op.fail(op.invalid.error);
        else {
          acceptedSnaps.push(op);
          snapSeq.set(op.snapshot.key, op.snapshot.seq);
        }
      }
    }
    let highest = group.filter((op): op is Extract<WriteOp, { kind: 'highest' }> => op.kind === 'highest');
    if (accepted.length > 0 || acceptedSnaps.length > 0) {
      // a key this group does not write, and whose highest seq is known, need not wait for the commit
      const writing = new Set(accepted.map((a) => a.key));
      const now = (key: string): boolean => !writing.has(key) && states.get(key)?.stale === false;
      for (const op of highest) if (now(op.key)) op.resolve(states.get(op.key)!.highest);
      highest = highest.filter((op) => !now(op.key));
      await commitGroup(accepted, acceptedSnaps);
    }
    if (highest.length > 0) {
      const failed = await cache.learn(highest.map((op) => op.key));
      for (const op of highest) {
        if (failed.has(op.key)) op.fail(failed.get(op.key));
        else op.resolve(states.get(op.key)!.highest);
      }
    }
  }

  /** Writes the accepted appends and snapshots of a group in one transaction and settles them. */
  async function commitGroup(appends: AppendOp[], snaps: SnapshotOp[]): Promise<void> {
    const what = describeGroup(appends.map((a) => a.prepared), snaps.map((s) => s.snapshot));
    const t0 = Date.now();
    // where each append's events went: partition, offsets of its first and last event
    const written: { partition: number; first: number; last: number }[] = [];
    const texts: string[] = [];
    const events = appends.reduce((n, a) => n + a.prepared.envs.length, 0);
    const outbox = appends.reduce((n, a) => n + a.prepared.outbox.length, 0);
    let error: InfraError | undefined;
    try {
      await inTransaction(what, async (txn) => {
        // events and outbox first; only index records (a key's first event) and snapshots wait for the events'
        // offsets, in a second request
        const { records, owner } = groupRecords(appends.map((a) => a.prepared), journalTopic, partitionFor);
        const offsets = await sendChunked(txn, records, chunk);
        offsets.forEach((offset, k) => {
          const w = written[owner[k]!];
          if (w) w.last = offset!;
          else written[owner[k]!] = { partition: records[k]!.message.partition!, first: offset!, last: offset! };
        });
        const rest: OutRecord[] = [];
        const indexed = new Set<string>();
        appends.forEach(({ key }, i) => {
          if (index.has(key) || indexed.has(key)) return;
          indexed.add(key);
          const first: Position = { partition: written[i]!.partition, offset: written[i]!.first };
          rest.push({ topic: indexTopic, message: { key, value: JSON.stringify(first) } });
        });
        for (const { snapshot } of snaps) {
          const position = snapshotPosition(snapshot, appends, written);
          texts.push(encodeSnapshot(snapshot, position ? { position } : {}));
          rest.push({ topic: snapshotTopic, message: { key: snapshot.key, value: texts.at(-1)! } });
        }
        if (rest.length > 0) await sendChunked(txn, rest, chunk);
      });
    } catch (e) {
      error = unavailable(what, e);
    }
    if (!error) {
      appends.forEach(({ key, prepared }, i) => cache.written(key, written[i]!.partition, written[i]!.first, written[i]!.last, prepared.envs.at(-1)!.seq));
      snaps.forEach((s, i) => snapshots.set(s.snapshot.key, JSON.parse(texts[i]!) as SnapshotRecord));
      snaps.forEach((s) => s.resolve());
      if (appends.length > 0) {
        try {
          fault('after-commit');
        } catch (e) {
          error = unavailable(what, e);
        }
      }
    } else {
      snaps.forEach((s) => s.fail(error));
    }
    if (error) {
      for (const a of appends) states.get(a.key)!.stale = true;
      for (const a of appends) a.fail(error);
    } else {
      for (const a of appends) a.resolve(a.prepared.envs);
    }
    stats.transactions++;
    if (error) stats.failed++;
    else {
      stats.committed++;
      stats.appends += appends.length;
      stats.snapshots += snaps.length;
      stats.events += events;
    }
    stats.largestGroup = Math.max(stats.largestGroup, appends.length);
    opts.onTransaction?.({ appends: appends.length, snapshots: snaps.length, events, outbox, outcome: error ? 'failed' : 'committed', ms: Date.now() - t0, ...(error ? { error } : {}) });
  }

  /** The position of a snapshot: just after its last event, when that event's offset is known. */
  function snapshotPosition(snapshot: SnapshotEnvelope, appends: readonly AppendOp[], written: readonly { partition: number; last: number }[]): Position | undefined {
    for (let i = appends.length - 1; i >= 0; i--) {
      const a = appends[i]!;
      if (a.key === snapshot.key && a.prepared.envs.at(-1)!.seq === snapshot.seq) return { partition: written[i]!.partition, offset: written[i]!.last + 1 };
    }
    const st = states.get(snapshot.key);
    const first = index.get(snapshot.key);
    return st && !st.stale && st.highest === snapshot.seq && st.lastOffset !== undefined && first ? { partition: first.partition, offset: st.lastOffset + 1 } : undefined;
  }

  const queue = new GroupQueue<WriteOp>(limits, runGroup);
  const enqueue = <T>(make: (resolve: (v: T) => void, fail: (e: unknown) => void) => WriteOp): Promise<T> =>
    new Promise<T>((resolve, reject) => queue.push(make(resolve, reject)));

  const journal: KafkaJournal = {
    describe,

    append(key, expectedSeq, events, outbox) {
      let prepared: PreparedAppend | { error: unknown };
      let bytes = 0;
      try {
        const envs = buildEnvelopes(key, expectedSeq, events);
        const values = envs.map(encodeEnvelope);
        const messages = stampOutbox(key, expectedSeq, envs.length, outbox);
        prepared = { key, expectedSeq, envs, values, outbox: messages };
        for (const v of values) bytes += v.length;
        for (const m of messages) bytes += m.value.length;
      } catch (e) {
        prepared = { error: e }; // reported after the seq check, like a conflict would be first
      }
      return enqueue<readonly JournalEnvelope[]>((resolve, fail) => ({ kind: 'append', key, expectedSeq, prepared, bytes, resolve, fail }));
    },

    async *read(key, options = {}) {
      if (closed) throw closedError(describe);
      const first = await cache.positionOf(key);
      if (!first) return;
      const start = cache.startOffset(key, first, options.afterSeq ?? 0);
      const until = await cache.journalEnd(first.partition);
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
      return enqueue<number>((resolve, fail) => ({ kind: 'highest', key, bytes: 0, resolve, fail }));
    },

    async latestSnapshot(key) {
      if (closed) throw closedError(describe);
      await cache.refreshSnapshots();
      const rec = snapshots.get(key);
      return rec && { ...rec.snapshot };
    },

    saveSnapshot(snapshot) {
      let invalid: { error: unknown } | undefined;
      let bytes = 0;
      try {
        bytes = encodeSnapshot(snapshot, longestPosition).length;
      } catch (e) {
        invalid = { error: e };
      }
      return enqueue<void>((resolve, fail) => ({ kind: 'snapshot', snapshot, bytes, resolve, fail, ...(invalid ? { invalid } : {}) }));
    },

    async keys(prefix = '') {
      if (closed) throw closedError(describe);
      await cache.refreshIndex();
      return [...index.keys()].filter((k) => k.startsWith(prefix)).sort();
    },

    stats: () => ({ ...stats }),

    async close() {
      if (closed) return;
      closed = true;
      scanner.abort(closedError(describe));
      await queue.idle();
      await Promise.allSettled([scanner.close(closedError(describe)), producer!.disconnect(), admin.disconnect()]);
    },
  };
  return journal;
}
