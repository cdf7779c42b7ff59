/**
 * Shared codec helpers: decoding that returns Either with a readable sentence, and small reusable codecs.
 * The codec is the source of truth; types are derived with t.TypeOf.
 */
import * as t from 'io-ts';
import { isLeft, left, right, type Either } from 'fp-ts/Either';

/** One readable sentence per failure: "at round.baseVersion: expected a non-negative integer, got -1". */
export function describeErrors(errors: t.Errors): string {
  const lines = errors.map((e) => {
    const path = e.context.map((c) => c.key).filter((k) => k !== '').join('.');
    const expected = e.context.length ? e.context[e.context.length - 1]!.type.name : 'value';
    const got = e.value === undefined ? 'nothing' : JSON.stringify(e.value)?.slice(0, 80);
    return e.message ?? `at ${path || '(root)'}: expected ${expected}, got ${got}`;
  });
  return [...new Set(lines)].slice(0, 5).join('; ');
}

export function decodeWith<A, O>(codec: t.Type<A, O, unknown>, input: unknown): Either<string, A> {
  const r = codec.decode(input);
  return isLeft(r) ? left(`${codec.name}: ${describeErrors(r.left)}`) : right(r.right);
}

/** Decode JSON bytes/string; a parse failure is a readable sentence too. */
export function decodeJson<A, O>(codec: t.Type<A, O, unknown>, raw: string | Uint8Array): Either<string, A> {
  let value: unknown;
  try {
    value = JSON.parse(typeof raw === 'string' ? raw : Buffer.from(raw).toString('utf8'));
  } catch (e) {
    return left(`${codec.name}: not valid JSON (${(e as Error).message})`);
  }
  return decodeWith(codec, value);
}

/** Throws (a bug) when a value we produce ourselves does not match its codec. */
export function encodeJson<A, O>(codec: t.Type<A, O, unknown>, value: A): string {
  return JSON.stringify(codec.encode(value));
}

const refine = <A>(base: t.Type<A>, pred: (a: A) => boolean, name: string) =>
  new t.Type<A, A, unknown>(
    name,
    (u): u is A => base.is(u) && pred(u),
    (u, c) => {
      const r = base.validate(u, c);
      if (isLeft(r)) return r;
      return pred(r.right) ? t.success(r.right) : t.failure(u, c);
    },
    (a) => a,
  );

export const NonNegativeInt = refine(t.number, (n) => Number.isInteger(n) && n >= 0, 'a non-negative integer');
export const PositiveInt = refine(t.number, (n) => Number.isInteger(n) && n > 0, 'a positive integer');
export const FiniteNumber = refine(t.number, (n) => Number.isFinite(n), 'a finite number');
export const NonEmptyString = refine(t.string, (s) => s.length > 0, 'a non-empty string');
/** Milliseconds since the Unix epoch. */
export const EpochMillis = refine(t.number, (n) => Number.isInteger(n) && n >= 0, 'epoch milliseconds');
export const Sha256Hex = refine(t.string, (s) => /^[0-9a-f]{64}$/.test(s), 'a sha256 hex digest');
export const Base64 = refine(t.string, (s) => /^[A-Za-z0-9+/]*={0,2}$/.test(s) && s.length % 4 === 0, 'base64 text');
