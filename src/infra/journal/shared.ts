/**
 * Helpers every journal engine shares (envelope building and decoding, the event size limit, the read
 * filter, outbox stamping, error sentences), so the engines enforce the contract with the same code.
 */
import { InfraError } from '../errors';
import { JournalEnvelope, SnapshotEnvelope } from '../../protocols/journal';
import { outboxId, outboxIdHeader, type JournalEvent, type OutboxMessage, type OutboxRelay, type ReadOptions } from './port';

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

/**
 * The outbox of an append at firstSeq with `eventCount` events, each message stamped with its
 * `flead-outbox-id` header (copies: the caller's objects are not touched). Throws a TypeError (a bug) for an
 * outbox without events or a malformed message, InfraError('too-large') for a message over maxEventBytes.
 */
export function stampOutbox(key: string, firstSeq: number, eventCount: number, outbox: readonly OutboxMessage[] | undefined): OutboxMessage[] {
  if (!outbox || outbox.length === 0) return [];
  if (eventCount === 0) throw new TypeError(`journal ${key}: an outbox of ${outbox.length} message(s) needs at least one event to append`);
  return outbox.map((m, i) => {
    const headersOk = m.headers === undefined || (typeof m.headers === 'object' && m.headers !== null && Object.values(m.headers).every((h) => typeof h === 'string'));
    if (typeof m.topic !== 'string' || m.topic.length === 0 || typeof m.value !== 'string' || (m.key !== null && typeof m.key !== 'string') || !headersOk) {
      throw new TypeError(`journal ${key}: outbox message ${i} is not { topic, key: string | null, value: string, headers?: Record<string, string> }`);
    }
    const stamped: OutboxMessage = { topic: m.topic, key: m.key, value: m.value, headers: { ...(m.headers ?? {}), [outboxIdHeader]: outboxId(key, firstSeq, i) } };
    // Exact size (JSON text) only when a cheap bound says it could be over: a character takes at most 6
    // bytes in JSON text (\u00XX), and the braces, quotes, names and the header's id stay under 512 + 6x.
    let chars = m.topic.length + m.value.length + (m.key?.length ?? 0) + key.length;
    for (const [k, v] of Object.entries(m.headers ?? {})) chars += k.length + v.length;
    const bytes = chars * 6 + 512 <= maxEventBytes ? 0 : Buffer.byteLength(JSON.stringify(stamped), 'utf8');
    if (bytes > maxEventBytes) {
      throw new InfraError(
        'too-large',
        `journal ${key}: outbox message ${i} for topic ${m.topic} is ${bytes} bytes encoded, over the limit of ${maxEventBytes} bytes; nothing was appended`,
        false,
      );
    }
    return stamped;
  });
}

/** Refuses an outbox given to an embedded engine that was opened without a relay (a wiring bug). */
export function requireRelay(describe: string, relay: OutboxRelay | undefined, outbox: readonly OutboxMessage[]): void {
  if (outbox.length > 0 && !relay) {
    throw new TypeError(`journal ${describe} was opened without a relay, so it cannot publish an outbox (pass { relay } when creating it)`);
  }
}

/**
 * The rejection of an append whose events are durable but whose outbox could not be relayed (yet), or, with
 * `blockedSeq`, of a later append at that seq that wrote nothing because that outbox still cannot be relayed.
 */
export function relayError(key: string, firstSeq: number, lastSeq: number, e: unknown, blockedSeq?: number): InfraError {
  const why = `relaying the outbox of seq ${firstSeq}..${lastSeq} failed (${(e as Error)?.message ?? String(e)})`;
  return new InfraError(
    'unavailable',
    blockedSeq === undefined
      ? `journal ${key}: seq ${firstSeq}..${lastSeq} are appended, but ${why}; it is relayed again before the next append of this key`
      : `journal ${key}: the append at seq ${blockedSeq} wrote nothing: ${why}, and it must go out first`,
    true,
    e,
  );
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

