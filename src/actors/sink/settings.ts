/**
 * The sink's own settings, decoded once at start-up from environment variables (defaults in one object).
 * Shared settings (topics, brokers, inspection port) come from `src/config.ts`; PostgreSQL from the libpq
 * variables (`src/infra/db/pg.ts`).
 */
import { left, right, type Either } from 'fp-ts/Either';

/** Environment variable → default (README's configuration table lists these). */
export const sinkDefaults = {
  /** consumer name: the Kafka consumer group (after FLEAD_TOPIC_PREFIX) and the `sink_offsets.consumer` key */
  SINK_CONSUMER: 'flead-sink',
  /** also write the aggregator's journaled round events (`aggregator/round` on the journal topic) to round_events */
  SINK_ROUND_EVENTS: 'true',
  /** first wait after a failed database write; doubles on each further failure */
  SINK_BACKOFF_MIN_MS: '250',
  /** longest wait between two attempts while the database is unavailable */
  SINK_BACKOFF_MAX_MS: '10000',
  /**
   * PostgreSQL connections of the sink = partition batches written at once (the others wait for a connection).
   * 2 measured best with the database on the same 2-core machine (concurrent COPYs into one table contend);
   * raise it for a database server with more cores.
   */
  SINK_DB_POOL: '2',
} as const;
export type SinkEnvName = keyof typeof sinkDefaults;

export interface SinkSettings {
  consumer: string;
  roundEvents: boolean;
  backoff: { minMs: number; maxMs: number };
  poolSize: number;
}

/** Decode the sink settings; Left is one sentence naming every bad variable. */
export function sinkSettingsFromEnv(env: Record<string, string | undefined> = process.env): Either<string, SinkSettings> {
  const get = (n: SinkEnvName): string => {
    const v = env[n];
    return v === undefined || v === '' ? sinkDefaults[n] : v.trim();
  };
  const errors: string[] = [];
  const int = (n: SinkEnvName, min: number): number => {
    const raw = get(n);
    const v = /^\d+$/.test(raw) ? Number(raw) : NaN;
    if (!(Number.isSafeInteger(v) && v >= min)) errors.push(`${n} must be an integer ≥ ${min}, got "${raw}"`);
    return v;
  };
  const consumer = get('SINK_CONSUMER');
  if (!/^[A-Za-z0-9._-]{1,200}$/.test(consumer)) errors.push(`SINK_CONSUMER must be 1 to 200 letters, digits, ".", "_" or "-", got "${consumer}"`);
  const rawRounds = get('SINK_ROUND_EVENTS').toLowerCase();
  if (!['true', 'false'].includes(rawRounds)) errors.push(`SINK_ROUND_EVENTS must be true or false, got "${get('SINK_ROUND_EVENTS')}"`);
  const minMs = int('SINK_BACKOFF_MIN_MS', 1);
  const maxMs = int('SINK_BACKOFF_MAX_MS', 1);
  const poolSize = int('SINK_DB_POOL', 1);
  if (errors.length === 0 && maxMs < minMs) errors.push(`SINK_BACKOFF_MAX_MS (${maxMs}) cannot be below SINK_BACKOFF_MIN_MS (${minMs})`);
  if (errors.length) return left(errors.join('; '));
  return right({ consumer, roundEvents: rawRounds === 'true', backoff: { minMs, maxMs }, poolSize });
}

/** Wait before attempt `failures + 1`: min · 2^(failures − 1), capped at max (failures ≥ 1). */
export const backoffDelay = (backoff: SinkSettings['backoff'], failures: number): number =>
  Math.min(backoff.maxMs, backoff.minMs * 2 ** Math.min(30, Math.max(0, failures - 1)));
