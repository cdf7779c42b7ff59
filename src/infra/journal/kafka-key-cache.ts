/**
 * What the Kafka journal engine (see `kafka-journal.ts`) knows about keys, and how it learns it:
 * - the index (key → position of its first event) and the latest snapshots, loaded at start and topped up from
 *   their compacted topics (from where the engine left off);
 * - each key's highest seq (and the offset of that event), learned from the journal on first use or after a
 *   failure made it stale, and kept up to date by the engine's own appends;
 * - per journal partition, the offset after the last event this engine committed (read-your-writes).
 * Only the engine's writer (one group at a time) changes `states`; reads use it for where to start.
 */
import type { Admin, KafkaMessage } from 'kafkajs';
import { InfraError } from '../errors';
import { SnapshotEnvelope } from '../../protocols/journal';
import { decodeEnvelope } from './shared';
import { mutex, type PartitionScanner } from './kafka-scanner';

export interface Position {
  partition: number;
  offset: number;
}
export interface KeyState {
  highest: number;
  /** offset of the event with seq `highest`, when known */
  lastOffset?: number;
  /** set when the outcome of a write of the key is unknown: learn it again before the next append */
  stale: boolean;
}
export interface SnapshotRecord {
  snapshot: SnapshotEnvelope;
  position?: Position;
}

export interface CacheTopics {
  journal: string;
  index: string;
  snapshots: string;
}

export class KeyCache {
  readonly index = new Map<string, Position>();
  readonly snapshots = new Map<string, SnapshotRecord>();
  readonly states = new Map<string, KeyState>();
  /**
   * journal partition → offset after the last event this engine committed. Commit markers are written after
   * commit() resolves, so the partition's last stable offset may lag our own write for a moment; reads wait
   * for it instead of stopping short (read-your-writes).
   */
  readonly writtenUpTo = new Map<number, number>();
  /** topic → next offset per partition, for the index and snapshot topics */
  private readonly consumedUpTo = new Map<string, number[]>();
  private readonly refreshLocks: Map<string, <T>(op: () => Promise<T>) => Promise<T>>;

  constructor(
    private readonly admin: Admin,
    private readonly scanner: PartitionScanner,
    private readonly topics: CacheTopics,
    private readonly unavailable: (what: string, e: unknown) => InfraError,
  ) {
    this.refreshLocks = new Map([[topics.index, mutex()], [topics.snapshots, mutex()]]);
  }

  async highWatermarks(topic: string): Promise<Map<number, number>> {
    try {
      const offsets = await this.admin.fetchTopicOffsets(topic);
      return new Map(offsets.map((o) => [o.partition, Number(o.high)]));
    } catch (e) {
      throw this.unavailable(`offsets of ${topic}`, e);
    }
  }

  /** Reads what was added to a compacted topic since the last refresh. */
  private refresh(topic: string, apply: (m: KafkaMessage, partition: number, offset: number) => void): Promise<void> {
    return this.refreshLocks.get(topic)!(async () => {
      const hw = await this.highWatermarks(topic);
      const from = this.consumedUpTo.get(topic) ?? [];
      await Promise.all(
        [...hw].map(async ([p, until]) => {
          for await (const chunk of this.scanner.scan(topic, p, from[p] ?? 0, until)) {
            for (const m of chunk) apply(m, p, Number(m.offset));
          }
          from[p] = Math.max(from[p] ?? 0, until);
        }),
      );
      this.consumedUpTo.set(topic, from);
    });
  }

  refreshIndex(): Promise<void> {
    return this.refresh(this.topics.index, (m) => {
      if (!m.key || !m.value) return;
      const pos = JSON.parse(m.value.toString()) as Position;
      this.index.set(m.key.toString(), pos);
    });
  }

  refreshSnapshots(): Promise<void> {
    return this.refresh(this.topics.snapshots, (m, p, o) => {
      if (!m.key || !m.value) return;
      const rec = JSON.parse(m.value.toString()) as SnapshotRecord;
      if (!SnapshotEnvelope.is(rec.snapshot)) throw new InfraError('corrupt', `${this.topics.snapshots}/${p}@${o}: not a snapshot record`, false);
      const current = this.snapshots.get(rec.snapshot.key);
      if (!current || current.snapshot.seq <= rec.snapshot.seq) this.snapshots.set(rec.snapshot.key, rec);
    });
  }

  /** Where a read of a journal partition stops: its last stable offset now, or past our own last write. */
  async journalEnd(partition: number): Promise<number> {
    const lso = (await this.highWatermarks(this.topics.journal)).get(partition) ?? 0;
    return Math.max(lso, this.writtenUpTo.get(partition) ?? 0);
  }

  async positionOf(key: string): Promise<Position | undefined> {
    if (!this.index.has(key)) await this.refreshIndex();
    return this.index.get(key);
  }

  /** Where reading `key` after `afterSeq` may start, with what is known below it. */
  startOffset(key: string, first: Position, afterSeq: number): { offset: number; seq: number } {
    let start = { offset: first.offset, seq: 0 };
    const snap = this.snapshots.get(key);
    if (snap?.position && snap.position.partition === first.partition && snap.snapshot.seq <= afterSeq && snap.position.offset > start.offset) {
      start = { offset: snap.position.offset, seq: snap.snapshot.seq };
    }
    const st = this.states.get(key);
    if (st && !st.stale && st.lastOffset !== undefined && st.highest <= afterSeq && st.lastOffset > start.offset) {
      start = { offset: st.lastOffset, seq: st.highest - 1 };
    }
    return start;
  }

  /** Records a committed append of `key` whose last event (seq `highest`) is at partition/lastOffset. */
  written(key: string, partition: number, firstOffset: number, lastOffset: number, highest: number): void {
    const st = this.states.get(key);
    if (st) Object.assign(st, { highest, lastOffset });
    else this.states.set(key, { highest, lastOffset, stale: false });
    this.writtenUpTo.set(partition, Math.max(this.writtenUpTo.get(partition) ?? 0, lastOffset + 1));
    if (!this.index.has(key)) this.index.set(key, { partition, offset: firstOffset });
  }

  /**
   * Learns the highest seq of the keys whose highest seq is not known or stale, from the log (one scan per
   * partition for all of them), and caches it. Returns the keys that could not be learned, with the error.
   */
  async learn(keys: Iterable<string>): Promise<Map<string, unknown>> {
    const unknown = [...new Set(keys)].filter((k) => !this.states.get(k) || this.states.get(k)!.stale);
    const failed = new Map<string, unknown>();
    if (unknown.some((k) => !this.index.has(k))) {
      try {
        await this.refreshIndex();
      } catch (e) {
        for (const k of unknown) failed.set(k, e);
        return failed;
      }
    }
    const perPartition = new Map<number, Map<string, { from: number; st: KeyState }>>();
    for (const key of unknown) {
      const first = this.index.get(key);
      if (!first) {
        this.states.set(key, { highest: 0, stale: false });
        continue;
      }
      const known = this.states.get(key);
      const start = this.startOffset(key, first, Math.max(known?.highest ?? 0, this.snapshots.get(key)?.snapshot.seq ?? 0));
      let wanted = perPartition.get(first.partition);
      if (!wanted) perPartition.set(first.partition, (wanted = new Map()));
      wanted.set(key, { from: start.offset, st: { highest: start.seq, stale: false } });
    }
    await Promise.all(
      [...perPartition].map(async ([partition, wanted]) => {
        try {
          await this.scanHighest(partition, wanted);
          for (const [key, w] of wanted) this.states.set(key, w.st);
        } catch (e) {
          for (const key of wanted.keys()) failed.set(key, this.unavailable(`learning the highest seq of ${key}`, e));
        }
      }),
    );
    return failed;
  }

  private async scanHighest(partition: number, wanted: Map<string, { from: number; st: KeyState }>): Promise<void> {
    const until = await this.journalEnd(partition);
    const from = Math.min(...[...wanted.values()].map((w) => w.from));
    const only = wanted.size === 1 ? Buffer.from([...wanted.keys()][0]!) : undefined;
    for await (const chunk of this.scanner.scan(this.topics.journal, partition, from, until)) {
      for (const m of chunk) {
        if (!m.key || (only && !m.key.equals(only))) continue;
        const w = wanted.get(m.key.toString());
        if (!w || Number(m.offset) < w.from) continue;
        const h = m.headers?.seq;
        const seq = h ? Number(h.toString()) : decodeEnvelope(m.value?.toString() ?? '', `${this.topics.journal}/${partition}@${m.offset}`).seq;
        if (seq >= w.st.highest) {
          w.st.highest = seq;
          w.st.lastOffset = Number(m.offset);
        }
      }
    }
  }
}
