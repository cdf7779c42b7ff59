/**
 * In-memory journal engine, for pure unit tests. It passes the same contract as the durable engines
 * (`test/int/journal.contract.ts`): events and snapshots go through a JSON round trip, so what a test reads
 * back is what a durable engine would have stored.
 *
 * Several engines may share one `MemoryStore` (that is how the contract's `reopen` and `second` work):
 * each new engine on a store becomes its writer, and appends of an older engine on that store reject with
 * InfraError('fenced').
 *
 * This file also holds the small helpers every engine shares (envelope building, the size limit, the
 * read filter), so the three engines enforce the contract with the same code.
 */
import { InfraError } from '../errors';
import { JournalEnvelope, SnapshotEnvelope } from '../../protocols/journal';
import type { Journal, JournalEvent, ReadOptions } from './port';

// ---------------------------------------------------------------------------------------------------------
// Shared by the engines

/** Largest encoded event (JSON bytes) an engine accepts: below Kafka's default 1 MB message limit. */
export const maxEventBytes = 1_000_000;

/**
 * Test hook: called by an engine at a point of `append`; throwing there simulates a failure.
 * 'before-commit': after the events were handed to storage, before they are committed (nothing must show).
 * 'after-commit': after the commit succeeded (the caller sees a failure, yet all events are visible).
 */
export type FaultPoint = 'before-commit' | 'after-commit';
export type FaultHook = (point: FaultPoint) => void;

export function conflictError(key: string, expectedSeq: number, highest: number): InfraError {
  return new InfraError(
    'conflict',
    `journal ${key}: expected seq ${expectedSeq} but the next seq is ${highest + 1} (highest written is ${highest})`,
    false,
  );
}

export const closedError = (describe: string): InfraError =>
  new InfraError('closed', `journal ${describe} is closed`, false);

/** Envelopes for events appended at expectedSeq…; throws (a bug) when an event does not match the codec. */
export function buildEnvelopes(key: string, expectedSeq: number, events: readonly JournalEvent[]): JournalEnvelope[] {
  return events.map((e, i) => {
    const env = { type: e.type, schemaVersion: e.schemaVersion, key, seq: expectedSeq + i, timestamp: e.timestamp, data: e.data };
    if (!JournalEnvelope.is(env)) throw new TypeError(`journal ${key}: event ${i} (${String(e.type)}) is not a valid JournalEnvelope`);
    return env;
  });
}

/** JSON text of an envelope; InfraError('too-large') when it is over maxEventBytes (never truncated). */
export function encodeEnvelope(env: JournalEnvelope): string {
  const text = JSON.stringify(env);
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > maxEventBytes) {
    throw new InfraError(
      'too-large',
      `journal ${env.key}: event seq ${env.seq} (${env.type}) is ${bytes} bytes encoded, over the limit of ${maxEventBytes} bytes; keep large payloads out of events (hash + pointer)`,
      false,
    );
  }
  return text;
}

export function encodeSnapshot(s: SnapshotEnvelope, extra: Record<string, unknown> = {}): string {
  if (!SnapshotEnvelope.is(s)) throw new TypeError(`snapshot for ${String((s as { key?: unknown }).key)} is not a valid SnapshotEnvelope`);
  const text = JSON.stringify({ ...extra, snapshot: s });
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > maxEventBytes) {
    throw new InfraError('too-large', `snapshot ${s.key} at seq ${s.seq} is ${bytes} bytes encoded, over the limit of ${maxEventBytes} bytes`, false);
  }
  return text;
}

/**
 * Applies ReadOptions to envelopes arriving in log order: skips seq <= afterSeq and repeated seqs, and says
 * when to stop (past untilSeq or untilTime).
 */
export class ReadFilter {
  private last: number;
  private readonly untilSeq: number;
  private readonly untilTime: number;

  constructor(options: ReadOptions = {}) {
    this.last = options.afterSeq ?? 0;
    this.untilSeq = options.untilSeq ?? Number.POSITIVE_INFINITY;
    this.untilTime = options.untilTime ?? Number.POSITIVE_INFINITY;
  }

  /** 'yield' the envelope, 'skip' it, or 'stop' reading. */
  accept(env: JournalEnvelope): 'yield' | 'skip' | 'stop' {
    if (env.seq <= this.last) return 'skip';
    if (env.seq > this.untilSeq || env.timestamp > this.untilTime) return 'stop';
    this.last = env.seq;
    return 'yield';
  }

  /** True when no later envelope can be yielded. */
  get done(): boolean {
    return this.last >= this.untilSeq;
  }
}

/** Decodes one stored envelope; InfraError('corrupt') when it is not one. */
export function decodeEnvelope(text: string, where: string): JournalEnvelope {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new InfraError('corrupt', `${where}: not valid JSON (${(e as Error).message})`, false, e);
  }
  if (!JournalEnvelope.is(value)) throw new InfraError('corrupt', `${where}: not a JournalEnvelope`, false);
  return value;
}

// ---------------------------------------------------------------------------------------------------------
// The memory engine

export interface MemoryStore {
  /** epoch of the engine that currently owns the store */
  epoch: number;
  readonly logs: Map<string, JournalEnvelope[]>;
  readonly snapshots: Map<string, SnapshotEnvelope>;
}

export const createMemoryStore = (): MemoryStore => ({ epoch: 0, logs: new Map(), snapshots: new Map() });

export interface MemoryJournalOptions {
  /** share a store between engines (reopen, a second writer); a fresh one by default */
  store?: MemoryStore;
  /** test hook, see FaultHook */
  fault?: FaultHook;
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

  return {
    describe,
    async append(key, expectedSeq, events) {
      check();
      if (store.epoch !== epoch) {
        throw new InfraError('fenced', `journal ${describe}: writer ${store.epoch} has taken over this store`, false);
      }
      const log = store.logs.get(key) ?? [];
      if (expectedSeq !== log.length + 1) throw conflictError(key, expectedSeq, log.length);
      const stored = buildEnvelopes(key, expectedSeq, events).map((e) => JSON.parse(encodeEnvelope(e)) as JournalEnvelope);
      try {
        fault('before-commit');
      } catch (e) {
        throw new InfraError('unavailable', `journal ${key}: append failed (${(e as Error).message})`, true, e);
      }
      if (stored.length > 0) store.logs.set(key, [...log, ...stored]);
      try {
        fault('after-commit');
      } catch (e) {
        throw new InfraError('unavailable', `journal ${key}: append outcome unknown (${(e as Error).message})`, true, e);
      }
      return stored.map((e) => ({ ...e }));
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
