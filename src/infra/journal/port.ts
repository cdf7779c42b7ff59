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
 *
 * Transactional outbox: `append(key, expectedSeq, events, outbox)` also publishes the messages the events
 * cause (e.g. a producer journals its file offsets and publishes the readings it read).
 * - The outbox messages are published if and only if the events are appended: an append that rejects before
 *   its commit publishes none of them; an appended record's outbox is published even when the process dies
 *   right after the commit. A reader of their topics never sees one of them twice (read_committed consumers on
 *   Kafka; consumers of the bus the embedded engines relay to).
 * - Each message gets the header `flead-outbox-id` = `${key}#${seq of the first event}#${index in outbox}`
 *   (set by the engine, overriding one the caller set). Since seq numbers of a key are never reused, the id
 *   names one message for good: it is what the embedded bus deduplicates on.
 * - An outbox needs at least one event (its ids derive from the first event's seq). Each message is at most
 *   maxEventBytes encoded, or the whole append rejects with InfraError('too-large') before anything is written.
 * - Kafka engine: the messages are sent in the same Kafka transaction as the events (any topic).
 * - Embedded engines (file, memory), configured with `relay` (a function that publishes to the bus): the
 *   outbox is stored in the same atomic record as the events, then relayed; `append` resolves after the relay
 *   resolved. When the relay fails the events are nevertheless durable: `append` rejects with
 *   InfraError('unavailable', retriable) like any append of unknown outcome (re-learn with `highestSeq`; a
 *   blind retry is a 'conflict'), and the engine relays that outbox again before the next append of that key
 *   (which rejects, writing nothing, while the relay keeps failing) and, for the file engine, on the next open.
 *   Re-relayed messages keep their ids, so the bus drops the copies it already has.
 */
import type { JournalEnvelope, SnapshotEnvelope } from '../../protocols/journal';

export type JournalEvent = Omit<JournalEnvelope, 'key' | 'seq'>;

export interface ReadOptions {
  afterSeq?: number;
  untilSeq?: number;
  untilTime?: number;
}

/** A message to publish when (and only when) the events of the same `append` are appended. */
export interface OutboxMessage {
  topic: string;
  key: string | null;
  value: string;
  headers?: Record<string, string>;
}

/** Header the engine sets on every outbox message: `${key}#${seq of the first event}#${index}`. */
export const outboxIdHeader = 'flead-outbox-id';

export const outboxId = (key: string, firstSeq: number, index: number): string => `${key}#${firstSeq}#${index}`;

/** Publishes outbox messages for an embedded engine (the embedded profile: `bus.publish` grouped by topic). */
export type OutboxRelay = (messages: readonly OutboxMessage[]) => Promise<void>;

export interface Journal {
  /** Human name of the engine, e.g. "kafka 127.0.0.1:9092" or "file ./data/journal". */
  readonly describe: string;
  /** Appends events at expectedSeq… and publishes `outbox` with them, atomically (see the file comment). */
  append(
    key: string,
    expectedSeq: number,
    events: readonly JournalEvent[],
    outbox?: readonly OutboxMessage[],
  ): Promise<readonly JournalEnvelope[]>;
  read(key: string, options?: ReadOptions): AsyncIterable<JournalEnvelope>;
  /** Highest sequence number written for key, 0 when none. */
  highestSeq(key: string): Promise<number>;
  latestSnapshot(key: string): Promise<SnapshotEnvelope | undefined>;
  saveSnapshot(snapshot: SnapshotEnvelope): Promise<void>;
  /** Persistence keys that have events, optionally those starting with prefix. */
  keys(prefix?: string): Promise<string[]>;
  close(): Promise<void>;
}
