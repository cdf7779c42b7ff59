/** The journal envelope (one record on `flead-journal`) and the snapshot record (`flead-snapshots`). */
import * as t from 'io-ts';
import { EpochMillis, NonEmptyString, NonNegativeInt, PositiveInt } from './codec';

export const JournalEnvelope = t.type(
  {
    /** event type, past tense: "RoundOpened" */
    type: NonEmptyString,
    schemaVersion: PositiveInt,
    /** persistence key, e.g. "aggregator/round" */
    key: NonEmptyString,
    /** 1, 2, 3 … contiguous per key */
    seq: PositiveInt,
    timestamp: EpochMillis,
    /** the event payload, decoded by the actor's own event codec */
    data: t.unknown,
  },
  'JournalEnvelope',
);
export type JournalEnvelope = t.TypeOf<typeof JournalEnvelope>;

export const SnapshotEnvelope = t.type(
  {
    key: NonEmptyString,
    /** the state includes every event up to and including this sequence number */
    seq: NonNegativeInt,
    timestamp: EpochMillis,
    schemaVersion: PositiveInt,
    data: t.unknown,
  },
  'SnapshotEnvelope',
);
export type SnapshotEnvelope = t.TypeOf<typeof SnapshotEnvelope>;
