/**
 * Group commit for the Kafka journal engine (see `kafka-journal.ts`).
 *
 * - `GroupQueue`: write operations queue up while a group is running; when it ends, the queued operations
 *   (from the head, up to `maxOps` of them and about `maxBytes`, at least one) form the next group. A burst of
 *   calls made in one synchronous run (e.g. `Promise.all(keys.map(append))`) joins one group, since the first
 *   group starts on a microtask.
 * - `planAppends`: the per-append checks of a group, in queue order, against each key's highest seq plus the
 *   appends of the same key accepted earlier in the group (so two appends of a key chain within a group).
 * - `groupRecords`: the records of a group's appends: their events, each on its key's partition, then their
 *   outbox messages; `describeGroup` names a group in errors.
 * - `sendChunked`: sends records in a transaction in produce requests of bounded size and tells the offset of
 *   every record sent to an explicit partition.
 */
import type { Message, RecordMetadata, Transaction } from 'kafkajs';
import type { JournalEnvelope, SnapshotEnvelope } from '../../protocols/journal';
import type { OutboxMessage } from './port';
import { conflictError } from './shared';

/** An operation of a group: settled by the group runner; `fail` also settles it when the runner throws. */
export interface GroupOp {
  /** estimated bytes it adds to a transaction */
  readonly bytes: number;
  fail(e: unknown): void;
}

export interface GroupLimits {
  /** operations per group (1 disables grouping: one transaction per append) */
  maxOps: number;
  /** estimated bytes per group (a group always takes at least one operation) */
  maxBytes: number;
}

/** Runs queued operations one group at a time (see the file comment). */
export class GroupQueue<Op extends GroupOp> {
  private readonly queue: Op[] = [];
  private running: Promise<void> | undefined;

  constructor(
    private readonly limits: GroupLimits,
    /** runs one group; must settle every op of it (a throw fails the ops still pending) */
    private readonly runGroup: (group: Op[]) => Promise<void>,
  ) {}

  push(op: Op): void {
    this.queue.push(op);
    this.running ??= new Promise<void>((r) => queueMicrotask(r)).then(() => this.drain());
  }

  /** Resolves when nothing is queued or running. */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  private async drain(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const group = this.queue.splice(0, this.take());
        try {
          await this.runGroup(group);
        } catch (e) {
          for (const op of group) op.fail(e);
        }
      }
    } finally {
      this.running = undefined;
    }
  }

  private take(): number {
    let n = 0;
    let bytes = 0;
    while (n < this.queue.length && n < this.limits.maxOps && (n === 0 || bytes + this.queue[n]!.bytes <= this.limits.maxBytes)) {
      bytes += this.queue[n]!.bytes;
      n++;
    }
    return n;
  }
}

/** An append, encoded when it was called (encoding errors are reported after the seq check, like before). */
export interface PreparedAppend {
  key: string;
  expectedSeq: number;
  envs: JournalEnvelope[];
  values: string[];
  outbox: OutboxMessage[];
}

export type AppendVerdict =
  | { verdict: 'accept' }
  /** valid but without events: resolves with [] and writes nothing */
  | { verdict: 'empty' }
  | { verdict: 'reject'; error: unknown };

/**
 * Checks the appends of a group in queue order. `highest(key)` is the key's highest seq before the group (or
 * the error that kept it from being learned); `prepared` is the encoded append or the error encoding it threw.
 * An accepted append moves its key's expected seq on for the later appends of the group.
 */
export function planAppends(
  appends: ReadonlyArray<{ key: string; expectedSeq: number; prepared: PreparedAppend | { error: unknown } }>,
  highest: (key: string) => number | { error: unknown },
): AppendVerdict[] {
  const projected = new Map<string, number>();
  return appends.map(({ key, expectedSeq, prepared }): AppendVerdict => {
    let h = projected.get(key);
    if (h === undefined) {
      const known = highest(key);
      if (typeof known !== 'number') return { verdict: 'reject', error: known.error };
      h = known;
    }
    if (expectedSeq !== h + 1) return { verdict: 'reject', error: conflictError(key, expectedSeq, h) };
    if ('error' in prepared) return { verdict: 'reject', error: prepared.error };
    if (prepared.envs.length === 0) return { verdict: 'empty' };
    projected.set(key, h + prepared.envs.length);
    return { verdict: 'accept' };
  });
}

export interface ChunkLimits {
  bytes: number;
  records: number;
}

export interface OutRecord {
  topic: string;
  message: Message & { value: string };
}

/**
 * Sends records in txn, in order, in produce requests of at most `limits` (one record at least), each request
 * grouping its records by topic (order within a topic kept). Returns the offset of each record sent with an
 * explicit partition (undefined for the others); a topic-partition must not get records both ways.
 */
export async function sendChunked(txn: Transaction, records: readonly OutRecord[], limits: ChunkLimits): Promise<(number | undefined)[]> {
  const offsets: (number | undefined)[] = new Array(records.length).fill(undefined);
  for (let i = 0; i < records.length; ) {
    const start = i;
    const byTopic = new Map<string, Message[]>();
    for (let bytes = 0, n = 0; i < records.length && (n === 0 || (bytes + records[i]!.message.value.length <= limits.bytes && n < limits.records)); i++, n++) {
      const r = records[i]!;
      bytes += r.message.value.length;
      let list = byTopic.get(r.topic);
      if (!list) byTopic.set(r.topic, (list = []));
      list.push(r.message);
    }
    const metas: RecordMetadata[] = await txn.sendBatch({ topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })) });
    const next = new Map<string, number>();
    for (let k = start; k < i; k++) {
      const { topic, message } = records[k]!;
      if (message.partition === undefined) continue;
      const tp = `${topic}:${message.partition}`;
      let o = next.get(tp);
      if (o === undefined) {
        const meta = metas.find((m) => m.topicName === topic && m.partition === message.partition);
        if (!meta || meta.baseOffset === undefined) throw new Error(`no offset in the produce response for ${topic}/${message.partition}`);
        o = Number(meta.baseOffset);
      }
      offsets[k] = o;
      next.set(tp, o + 1);
    }
  }
  return offsets;
}

/**
 * The records of a group's appends: each append's events (with their seq header) on the partition
 * `partitionFor` gives its key, then every append's outbox messages, which ride in the same produce requests
 * (their offsets are not needed). `owner[k]` is the index of the append whose event records[k] is.
 */
export function groupRecords(appends: readonly PreparedAppend[], journalTopic: string, partitionFor: (key: string) => number): { records: OutRecord[]; owner: number[] } {
  const records: OutRecord[] = [];
  const owner: number[] = [];
  appends.forEach((a, i) => {
    const partition = partitionFor(a.key);
    a.values.forEach((value, k) => {
      records.push({ topic: journalTopic, message: { key: a.key, value, partition, headers: { seq: String(a.envs[k]!.seq) } } });
      owner.push(i);
    });
  });
  for (const a of appends) {
    for (const m of a.outbox) records.push({ topic: m.topic, message: { key: m.key, value: m.value, headers: { ...m.headers } } });
  }
  return { records, owner };
}

/** A group named in errors: its appends and snapshots, the first three shown. */
export function describeGroup(appends: readonly PreparedAppend[], snaps: readonly SnapshotEnvelope[]): string {
  const parts = [
    ...appends.map((a) => `append ${a.key} seq ${a.expectedSeq}..${a.expectedSeq + a.envs.length - 1}`),
    ...snaps.map((s) => `snapshot ${s.key} at seq ${s.seq}`),
  ];
  if (parts.length === 1) return parts[0]!;
  const shown = parts.slice(0, 3).join(', ') + (parts.length > 3 ? `, … (${parts.length - 3} more)` : '');
  return `group commit of ${appends.length} append(s) and ${snaps.length} snapshot(s): ${shown}`;
}
