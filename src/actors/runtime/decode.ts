import * as t from 'io-ts';
import { isLeft } from 'fp-ts/Either';
import { decodeWith } from '../../protocols/codec';

/** Decode a value we wrote ourselves (journal, snapshots); a failure means corruption or a bug: throw. */
export function decodeOrThrow<A, O>(codec: t.Type<A, O, unknown>, value: unknown): A {
  const r = decodeWith(codec, value);
  if (isLeft(r)) throw new Error(`corrupt record: ${r.left}`);
  return r.right;
}
