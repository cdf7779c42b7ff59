/**
 * In-memory journal engine, for pure unit tests. It passes the same contract as the durable engines
 * (`test/int/journal.contract.ts`): events and snapshots go through a JSON round trip, so what a test reads
 * back is what a durable engine would have stored.
 *
 * Several engines may share one `MemoryStore` (that is how the contract's `reopen` and `second` work):
 * each new engine on a store becomes its writer, and appends of an older engine on that store reject with
 * InfraError('fenced').
 *
 * Outbox (see the port): with `relay`, an append's outbox is kept in the store as pending in the same step as
 * its events are stored, relayed, and dropped from the store once the relay resolved; a pending outbox (the
 * relay failed) is relayed before the next append of its key, by this engine or the next one on the store.
 *
 */
import { InfraError } from '../errors';
import { JournalEnvelope, SnapshotEnvelope } from '../../protocols/journal';
import type { Journal, JournalEvent, OutboxMessage, OutboxRelay } from './port';



export * from './shared';
import { ReadFilter, buildEnvelopes, closedError, conflictError, encodeEnvelope, encodeSnapshot, requireRelay, relayError, stampOutbox, type FaultHook } from './shared';

export interface MemoryStore {
  /** epoch of the engine that currently owns the store */
  epoch: number;
  readonly logs: Map<string, JournalEnvelope[]>;
  readonly snapshots: Map<string, SnapshotEnvelope>;
  /**
   * key → the outbox of its last append while it is not relayed yet. Set in the same step as the events are
   * stored (the memory engine's "same atomic record"), deleted once the relay resolved.
   */
  readonly pendingOutbox: Map<string, { firstSeq: number; lastSeq: number; messages: OutboxMessage[] }>;
}

export const createMemoryStore = (): MemoryStore => ({ epoch: 0, logs: new Map(), snapshots: new Map(), pendingOutbox: new Map() });

export interface MemoryJournalOptions {
  /** share a store between engines (reopen, a second writer); a fresh one by default */
  store?: MemoryStore;
  /** test hook, see FaultHook */
  fault?: FaultHook;
  /** publishes the outbox of each append (see the port); an append with an outbox needs it */
  relay?: OutboxRelay;
}

export function createMemoryJournal(options: MemoryJournalOptions = {}): Journal {
  const store = options.store ?? createMemoryStore();
  const fault: FaultHook = options.fault ?? (() => undefined);
  const epoch = ++store.epoch;
  const describe = `memory (writer ${epoch})`;
  let closed = false;

  const check = (): void => {
    if (closed) throw closedError(describe);
  };

  const queues = new Map<string, Promise<unknown>>();
  /** Serialises the appends of one key within this engine (a relay is awaited inside an append). */
  function serial<T>(key: string, op: () => Promise<T>): Promise<T> {
    const next = (queues.get(key) ?? Promise.resolve()).then(op, op);
    const tail = next.catch(() => undefined);
    queues.set(key, tail);
    void tail.then(() => {
      if (queues.get(key) === tail) queues.delete(key);
    });
    return next;
  }

  async function appendNow(
    key: string,
    expectedSeq: number,
    events: readonly JournalEvent[],
    outbox: readonly OutboxMessage[] | undefined,
  ): Promise<JournalEnvelope[]> {
    check();
    if (store.epoch !== epoch) {
      throw new InfraError('fenced', `journal ${describe}: writer ${store.epoch} has taken over this store`, false);
    }
    const pending = store.pendingOutbox.get(key);
    if (pending) {
      // an earlier append's outbox whose relay failed goes out first (and blocks this append until it does)
      requireRelay(describe, options.relay, pending.messages);
      try {
        await options.relay!(pending.messages.map((m) => ({ ...m, headers: { ...m.headers } })));
      } catch (e) {
        throw relayError(key, pending.firstSeq, pending.lastSeq, e, expectedSeq);
      }
      if (store.pendingOutbox.get(key) === pending) store.pendingOutbox.delete(key);
    }
    const log = store.logs.get(key) ?? [];
    if (expectedSeq !== log.length + 1) throw conflictError(key, expectedSeq, log.length);
    const stored = buildEnvelopes(key, expectedSeq, events).map((e) => JSON.parse(encodeEnvelope(e)) as JournalEnvelope);
    const messages = stampOutbox(key, expectedSeq, stored.length, outbox);
    requireRelay(describe, options.relay, messages);
    try {
      fault('before-commit');
    } catch (e) {
      throw new InfraError('unavailable', `journal ${key}: append failed (${(e as Error).message})`, true, e);
    }
    if (stored.length > 0) store.logs.set(key, [...log, ...stored]);
    if (messages.length > 0) {
      const record = { firstSeq: expectedSeq, lastSeq: expectedSeq + stored.length - 1, messages };
      store.pendingOutbox.set(key, record);
      try {
        await options.relay!(messages.map((m) => ({ ...m, headers: { ...m.headers } })));
      } catch (e) {
        throw relayError(key, record.firstSeq, record.lastSeq, e);
      }
      if (store.pendingOutbox.get(key) === record) store.pendingOutbox.delete(key);
    }
    try {
      fault('after-commit');
    } catch (e) {
      throw new InfraError('unavailable', `journal ${key}: append outcome unknown (${(e as Error).message})`, true, e);
    }
    return stored.map((e) => ({ ...e }));
  }

  return {
    describe,
    append(key, expectedSeq, events, outbox) {
      return serial(key, () => appendNow(key, expectedSeq, events, outbox));
    },
    async *read(key, opts) {
      check();
      const filter = new ReadFilter(opts);
      for (const env of store.logs.get(key) ?? []) {
        const verdict = filter.accept(env);
        if (verdict === 'stop') return;
        if (verdict === 'yield') yield JSON.parse(JSON.stringify(env)) as JournalEnvelope;
        if (filter.done) return;
      }
    },
    async highestSeq(key) {
      check();
      return store.logs.get(key)?.length ?? 0;
    },
    async latestSnapshot(key) {
      check();
      const s = store.snapshots.get(key);
      return s && (JSON.parse(JSON.stringify(s)) as SnapshotEnvelope);
    },
    async saveSnapshot(snapshot) {
      check();
      if (store.epoch !== epoch) {
        throw new InfraError('fenced', `journal ${describe}: writer ${store.epoch} has taken over this store`, false);
      }
      const text = encodeSnapshot(snapshot);
      const current = store.snapshots.get(snapshot.key);
      if (current && current.seq > snapshot.seq) return;
      store.snapshots.set(snapshot.key, (JSON.parse(text) as { snapshot: SnapshotEnvelope }).snapshot);
    },
    async keys(prefix = '') {
      check();
      return [...store.logs.keys()].filter((k) => k.startsWith(prefix) && store.logs.get(k)!.length > 0).sort();
    },
    async close() {
      closed = true;
    },
  };
}
