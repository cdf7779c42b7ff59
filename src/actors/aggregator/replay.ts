/**
 * Replay: rebuild an actor's state from its journal through `evolve` only (no snapshot, no effects), up to a
 * sequence number or a time. Used by `flead replay` and by tests that compare replayed with live state.
 */
import type { Journal } from '../../infra/journal/port';
import { decodeOrThrow } from '../runtime/decode';
import { fold } from '../runtime/decider';
import { roundDecider } from './round.decider';
import { RoundEvent } from './round.events';
import type { RoundState } from './round.state';
import { summarizeRounds } from './round.view';

export interface Replayed<S> { key: string; path: string; seq: number; lastEventAt: number | null; state: S }

export async function replayRound(journal: Journal, service: string, until: { untilSeq?: number; untilTime?: number } = {}): Promise<Replayed<RoundState>> {
  const key = `${service}/round`;
  // evolve does not depend on settings; decide does.
  const decider = roundDecider({ quorum: 1, minUpdates: 1, deadlineMs: 1, maxUpdateBytes: 1, strategy: { name: 'fedavg', trimRatio: null } });
  const events: RoundEvent[] = [];
  let seq = 0;
  let lastEventAt: number | null = null;
  for await (const env of journal.read(key, { afterSeq: 0, ...until })) {
    events.push(decodeOrThrow(RoundEvent, env.data));
    seq = env.seq;
    lastEventAt = env.timestamp;
  }
  return { key, path: `${service}/round`, seq, lastEventAt, state: summarizeRounds(fold(decider, events)) };
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
