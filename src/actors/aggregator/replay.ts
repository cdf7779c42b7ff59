/** Replay of the aggregator's round actor (see runtime/replay.ts). */
import type { Journal } from '../../infra/journal/port';
import { decodeOrThrow } from '../runtime/decode';
import { replayKey, type Replayed, type Until } from '../runtime/replay';
import { roundDecider } from './round.decider';
import { RoundEvent } from './round.events';
import type { RoundState } from './round.state';
import { summarizeRounds } from './round.view';

export async function replayRound(journal: Journal, service: string, until: Until = {}): Promise<Replayed<RoundState>> {
  const key = `${service}/round`;
  // evolve does not depend on settings; decide does.
  const decider = roundDecider({ quorum: 1, minUpdates: 1, deadlineMs: 1, maxUpdateBytes: 1, strategy: { name: 'fedavg', trimRatio: null } });
  const r = await replayKey(journal, key, decider.initialState, decider.evolve, (d) => decodeOrThrow(RoundEvent, d), until);
  return { key, path: `${service}/round`, ...r, state: summarizeRounds(r.state) };
}
