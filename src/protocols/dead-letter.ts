/** `flead-dead-letters`: every input that failed to decode or validate, with the reason and the raw bytes. */
import * as t from 'io-ts';
import { Base64, EpochMillis, NonEmptyString } from './codec';

export const DeadLetter = t.type(
  {
    reason: NonEmptyString,
    service: NonEmptyString,
    source: t.type({
      topic: t.string,
      partition: t.union([t.number, t.null]),
      offset: t.union([t.string, t.null]),
      /** file and line when the input came from a file */
      file: t.union([t.string, t.null]),
      line: t.union([t.number, t.null]),
    }),
    key: t.union([t.string, t.null]),
    raw: Base64,
    at: EpochMillis,
  },
  'DeadLetter',
);
export type DeadLetter = t.TypeOf<typeof DeadLetter>;
