/**
 * The journal port: an append-only log of events per persistence key, plus snapshots.
 * Adapters: Kafka (`kafka-journal.ts`, topic `flead-journal` keyed by persistence key, snapshots in the
 * compacted topic `flead-snapshots`) and embedded (`file-journal.ts`, durable on local disk). Both pass the
 * contract suite in `test/int/journal.contract.ts`.
 *
 * Semantics (the contract):
 * - Sequence numbers per key start at 1 and are contiguous. `append(key, expectedSeq, events)` writes events
 *   with seq expectedSeq, expectedSeq+1, …; it rejects with InfraError('conflict', retriable=false) when
 *   expectedSeq is not highestSeq(key)+1 as known to this writer (duplicate or out-of-order write) and with
 *   InfraError('fenced') when another writer has taken over the key's writer id since this one started.
 * - `append` is atomic: after it rejects, none or all of its events are visible, and a later read never shows
 *   an event twice (readers drop a repeated seq).
 * - `read(key, { afterSeq })` yields the events with seq > afterSeq in order (the "seq > offset" semantics of
 *   nact's `events(key, offset)`), optionally stopping at `untilSeq` (inclusive) or `untilTime` (inclusive).
 * - A snapshot at seq s holds the state after events 1..s; `latestSnapshot` returns the newest one, or
 *   undefined when none was saved. Recovery = latest snapshot + read(afterSeq = snapshot.seq).
 */
import type { JournalEnvelope, SnapshotEnvelope } from '../../protocols/journal';

export type JournalEvent = Omit<JournalEnvelope, 'key' | 'seq'>;

export interface ReadOptions {
  afterSeq?: number;
  untilSeq?: number;
  untilTime?: number;
}

export interface Journal {
  /** Human name of the engine, e.g. "kafka 127.0.0.1:9092" or "file ./data/journal". */
  readonly describe: string;
  append(key: string, expectedSeq: number, events: readonly JournalEvent[]): Promise<readonly JournalEnvelope[]>;
  read(key: string, options?: ReadOptions): AsyncIterable<JournalEnvelope>;
  /** Highest sequence number written for key, 0 when none. */
  highestSeq(key: string): Promise<number>;
  latestSnapshot(key: string): Promise<SnapshotEnvelope | undefined>;
  saveSnapshot(snapshot: SnapshotEnvelope): Promise<void>;
  /** Persistence keys that have events, optionally those starting with prefix. */
  keys(prefix?: string): Promise<string[]>;
  close(): Promise<void>;
}
