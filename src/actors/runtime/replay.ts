/**
 * Replay: rebuild an actor's state from its journal through `evolve` only (no snapshot, no effects, no clock),
 * up to a sequence number or a time. `flead replay` and the tests that compare replayed with live state use it.
 */
import type { Journal } from '../../infra/journal/port';

export interface Until { untilSeq?: number; untilTime?: number }

/** One actor rebuilt: its persistence key, its path on the inspection endpoint, where the replay stopped. */
export interface Replayed<S> { key: string; path: string; seq: number; lastEventAt: number | null; state: S }

/** Folds the events of `key` (seq 1 on, up to `until`) from `initial`; seq 0 and the initial state when it has none. */
export async function replayKey<E, S>(
  journal: Journal, key: string, initial: S, evolve: (s: S, e: E) => S, decodeEvent: (data: unknown) => E, until: Until = {},
): Promise<{ seq: number; lastEventAt: number | null; state: S }> {
  let state = initial;
  let seq = 0;
  let lastEventAt: number | null = null;
  for await (const env of journal.read(key, { afterSeq: 0, ...until })) {
    state = evolve(state, decodeEvent(env.data));
    seq = env.seq;
    lastEventAt = env.timestamp;
  }
  return { seq, lastEventAt, state };
}

/**
 * The ids of the actors whose keys are `<prefix><id>`: the one asked for, or every one with events in the
 * journal (sorted).
 */
export async function actorIds(journal: Journal, prefix: string, only?: string): Promise<string[]> {
  if (only !== undefined) return [only];
  return (await journal.keys(prefix)).map((k) => k.slice(prefix.length)).sort();
}

/** Differences between two JSON values, as "path: a ≠ b" lines (empty when equal). */
export function jsonDiff(a: unknown, b: unknown, path = '$', out: string[] = [], limit = 50): string[] {
  if (out.length >= limit) return out;
  if (a === b) return out;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== 'object') {
    out.push(`${path}: ${JSON.stringify(a)?.slice(0, 120)} ≠ ${JSON.stringify(b)?.slice(0, 120)}`);
    return out;
  }
  if (Array.isArray(a) !== Array.isArray(b)) { out.push(`${path}: array ≠ object`); return out; }
  const keys = new Set([...Object.keys(a as object), ...Object.keys(b as object)]);
  for (const k of keys) jsonDiff((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], Array.isArray(a) ? `${path}[${k}]` : `${path}.${k}`, out, limit);
  return out;
}
