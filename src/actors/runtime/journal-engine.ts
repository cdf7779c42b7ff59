/**
 * Adapts the Journal port to nact's persistence-engine interface. nact numbers events itself
 * (`++sequenceNumber` before calling persist); the journal checks that number against the key's highest
 * sequence number, so a duplicate or concurrent writer is rejected instead of silently forking the log.
 * Events are the actor's own event objects; their `type` field names the envelope type.
 */
import type { Journal } from '../../infra/journal/port';
import type { BatchPersistence, OutboxLike, NactEventStream, NactPersistedEvent, NactPersistedSnapshot, NactPersistenceEngine } from './nact';

export interface SnapshotListener { (key: string, seq: number): void }

/**
 * `onSnapshotFailed`: a snapshot that could not be saved (the journal away or closed) is reported there and the
 * actor goes on (its events are journaled; recovery replays more of them); without it nact prints the error.
 */
export function nactEngine(journal: Journal, opts: { schemaVersion?: number; onSnapshot?: SnapshotListener; onSnapshotFailed?: (key: string, seq: number, e: unknown) => void } = {}): NactPersistenceEngine & BatchPersistence {
  const schemaVersion = opts.schemaVersion ?? 1;
  return {
    events(key: string, offset: number): NactEventStream {
      return {
        async reduce<U>(f: (acc: U, e: NactPersistedEvent, index: number) => U, init: U): Promise<U> {
          let acc = init;
          let index = 0;
          for await (const env of journal.read(key, { afterSeq: offset })) {
            const pe: NactPersistedEvent = { data: env.data, sequenceNumber: env.seq, key, createdAt: env.timestamp, isDeleted: false, tags: [] };
            // nact's reducer is async and expects the previous (possibly promised) accumulator; awaiting each
            // step keeps the chain flat for long journals.
            acc = await f(acc, pe, index++);
          }
          return acc;
        },
      };
    },
    async latestSnapshot(key: string): Promise<NactPersistedSnapshot | undefined> {
      const s = await journal.latestSnapshot(key);
      if (s) opts.onSnapshot?.(key, s.seq);
      return s && { data: s.data, sequenceNumber: s.seq, key, createdAt: s.timestamp };
    },
    async takeSnapshot(snapshot: NactPersistedSnapshot): Promise<void> {
      try {
        await journal.saveSnapshot({ key: snapshot.key, seq: snapshot.sequenceNumber, timestamp: snapshot.createdAt, schemaVersion, data: snapshot.data });
      } catch (e) {
        if (!opts.onSnapshotFailed) throw e;
        opts.onSnapshotFailed(snapshot.key, snapshot.sequenceNumber, e);
        return;
      }
      opts.onSnapshot?.(snapshot.key, snapshot.sequenceNumber);
    },
    async persistBatch(key: string, fromSeq: number, events: readonly unknown[], outbox?: readonly OutboxLike[]): Promise<void> {
      const now = Date.now();
      const envelopes = events.map((data) => ({ type: typeName(data), schemaVersion, timestamp: now, data }));
      // The journal's append takes an optional outbox (published iff the events are appended).
      await (journal.append as (k: string, s: number, e: typeof envelopes, o?: readonly OutboxLike[]) => Promise<unknown>)(key, fromSeq, envelopes, outbox);
    },
    async persist(event: NactPersistedEvent): Promise<void> {
      await journal.append(event.key, event.sequenceNumber, [{ type: typeName(event.data), schemaVersion, timestamp: event.createdAt, data: event.data }]);
    },
  };
}

const typeName = (data: unknown): string => {
  const t = (data as { type?: unknown } | null)?.type;
  return typeof t === 'string' ? t : 'Event';
};
