/** Replay of the aggregator's round actor (see runtime/replay.ts). */
import type { Journal } from '../../infra/journal/port';
import { decodeOrThrow } from '../runtime/decode';
import { replayKey, type Replayed, type Until } from '../runtime/replay';
import { roundDecider } from './round.decider';
import { RoundEvent } from './round.events';
import { roundKey, type RoundState } from './round.state';
import { summarizeRounds } from './round.view';

export const decodeRoundEvent = (data: unknown): RoundEvent => decodeOrThrow(RoundEvent, data);

export async function replayRound(journal: Journal, service: string, until: Until = {}): Promise<Replayed<RoundState>> {
  const key = roundKey(service);
  // evolve does not depend on settings; decide does.
  const decider = roundDecider({ quorum: 1, minUpdates: 1, deadlineMs: 1, maxUpdateBytes: 1, strategy: { name: 'fedavg', trimRatio: null } });
  const r = await replayKey(journal, key, decider.initialState, decider.evolve, decodeRoundEvent, until);
  return { key, path: `${service}/round`, ...r, state: summarizeRounds(r.state) };
}
