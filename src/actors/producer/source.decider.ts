/**
 * A producer source: one device's (or the dead-letter pass's) position in its data. The pump publishes a
 * batch and the batch's new position atomically (journal outbox), so after a crash the source resumes at the
 * recorded position: no reading lost, none published twice. A batch whose `from` is not the recorded
 * position comes from a stale pump (before a restart) and is refused (no events, nothing published).
 */
import * as t from 'io-ts';
import { EpochMillis, NonNegativeInt } from '../../protocols/codec';
import type { Decider } from '../runtime/decider';

/** What a source reads, recorded before its first batch: the records' digest, a description, their number. */
export const SourceOpened = t.type({ type: t.literal('SourceOpened'), digest: t.string, origin: t.string, records: NonNegativeInt, at: EpochMillis });
export const BatchPublished = t.type({ type: t.literal('BatchPublished'), from: NonNegativeInt, to: NonNegativeInt, published: NonNegativeInt, bad: NonNegativeInt, at: EpochMillis });
export const SourceExhausted = t.type({ type: t.literal('SourceExhausted'), position: NonNegativeInt, at: EpochMillis });
export const SourceEvent = t.union([SourceOpened, BatchPublished, SourceExhausted], 'SourceEvent');
export type SourceEvent = t.TypeOf<typeof SourceEvent>;

export interface OutboxMessage { topic: string; key: string | null; value: string; headers?: Record<string, string> }

export interface SourceData { digest: string; origin: string; records: number }

export type SourceCommand =
  | ({ type: 'Open'; now: number } & SourceData)
  | { type: 'RecordBatch'; from: number; to: number; published: number; bad: number; outbox: readonly OutboxMessage[]; now: number }
  | { type: 'MarkExhausted'; position: number; now: number };

export interface SourceState {
  /** records (rows and bad rows) consumed from the start of this source */
  position: number;
  published: number;
  bad: number;
  batches: number;
  exhausted: boolean;
  lastBatchAt: number | null;
  /** what the positions count records of (null: not recorded yet, or a journal from before it was) */
  data: SourceData | null;
}

/** Persistence keys of a producer's source actors: `<service>/source/<source id>`. */
export const sourceKeyPrefix = (service: string): string => `${service}/source/`;

export const initialSourceState: SourceState = { position: 0, published: 0, bad: 0, batches: 0, exhausted: false, lastBatchAt: null, data: null };

/**
 * Why this run's data cannot continue the journaled positions (another data set, other generator settings, a
 * changed file: its records differ), or null when it can. A source whose journal predates the record has
 * nothing to check against.
 */
export function dataMismatch(s: SourceState, id: string, now: SourceData): string | null {
  const was = s.data ?? null;
  if (was === null || was.digest === now.digest) return null;
  return `source ${id} has its position journaled over other data: then ${was.origin}, ${was.records} records, digest ${was.digest.slice(0, 12)}; now ${now.origin}, ` +
    `${now.records} records, digest ${now.digest.slice(0, 12)}. Its journaled position (record ${s.position}) counts records of the other data, so resuming would skip rows never ` +
    'published or publish rows again. Run the producer with the data set and settings it had, or on new topics for new data (another FLEAD_TOPIC_PREFIX; embedded: another FLEAD_DATA_DIR)';
}

export const sourceDecider: Decider<SourceCommand, SourceEvent, SourceState> = {
  initialState: initialSourceState,
  decide(c, s) {
    switch (c.type) {
      case 'Open':
        return (s.data ?? null) === null ? [{ type: 'SourceOpened', digest: c.digest, origin: c.origin, records: c.records, at: c.now }] : [];
      case 'RecordBatch':
        if (s.exhausted || c.from !== s.position || c.to <= c.from) return [];
        return [{ type: 'BatchPublished', from: c.from, to: c.to, published: c.published, bad: c.bad, at: c.now }];
      case 'MarkExhausted':
        return !s.exhausted && c.position === s.position ? [{ type: 'SourceExhausted', position: c.position, at: c.now }] : [];
      default: {
        const never: never = c;
        throw new Error(`unknown command ${JSON.stringify(never)}`);
      }
    }
  },
  evolve(s, e) {
    switch (e.type) {
      case 'SourceOpened':
        return { ...s, data: { digest: e.digest, origin: e.origin, records: e.records } };
      case 'BatchPublished':
        return { ...s, position: e.to, published: s.published + e.published, bad: s.bad + e.bad, batches: s.batches + 1, lastBatchAt: e.at };
      case 'SourceExhausted':
        return { ...s, exhausted: true };
      default: {
        const never: never = e;
        throw new Error(`unknown event ${JSON.stringify(never)}`);
      }
    }
  },
};
