/** The round actor's state: a tagged union of lifecycle phases plus what every phase keeps. */
import type { LayerShape } from '../../protocols/weights';
import type { StrategyConfig } from '../../protocols/models';
import type { RejectionReason, UsedUpdate } from './round.events';

/** The persistence key of a service's round actor. */
export const roundKey = (service: string): string => `${service}/round`;

export interface RoundSettings {
  /** close as soon as this many updates were accepted */
  quorum: number;
  /** at the deadline, aggregate when at least this many were accepted, else abandon the round */
  minUpdates: number;
  /** how long a round stays open */
  deadlineMs: number;
  /** bigger local-update messages are rejected */
  maxUpdateBytes: number;
  strategy: StrategyConfig;
}

export interface ModelVersion {
  version: number;
  hash: string;
  parentVersion: number | null;
  round: number;
  strategy: StrategyConfig | null;
  updates: UsedUpdate[];
  createdAt: number;
  publishedAt: number | null;
}

export interface RoundRecord {
  round: number;
  baseVersion: number;
  quorum: number;
  minUpdates: number;
  deadline: number;
  openedAt: number;
  status: 'collecting' | 'aggregating' | 'aggregated' | 'published' | 'abandoned';
  accepted: Array<UsedUpdate & { receivedAt: number }>;
  rejected: Partial<Record<RejectionReason, number>>;
  closedAt: number | null;
  closeReason: string | null;
  version: number | null;
}

interface Common {
  /** the newest published global version, null before the initial model */
  version: number | null;
  layers: LayerShape[] | null;
  nextRound: number;
  models: ModelVersion[];
  rounds: RoundRecord[];
  rejectedOutsideRounds: number;
}

export type RoundState =
  | (Common & { phase: 'Uninitialised' })
  | (Common & { phase: 'Idle' })
  | (Common & { phase: 'Collecting'; current: number })
  | (Common & { phase: 'Aggregating'; current: number })
  | (Common & { phase: 'Aggregated'; current: number; pendingVersion: number });

/**
 * Rounds and model versions the state keeps (the newest ones; older ones stay in the journal: `flead replay
 * --service aggregator --events`). Unbounded, a run of ~700 rounds made the round actor's snapshot exceed the
 * journal's 1 MB limit, so snapshots failed and a recovery replayed ever more events. The decisions only
 * need the open round and the newest versions.
 */
export const roundHistory = 100;

export const initialRoundState: RoundState = { phase: 'Uninitialised', version: null, layers: null, nextRound: 1, models: [], rounds: [], rejectedOutsideRounds: 0 };

export const roundOf = (s: RoundState, round: number): RoundRecord | undefined => s.rounds.find((r) => r.round === round);
export const currentRound = (s: RoundState): RoundRecord | undefined => ('current' in s ? roundOf(s, s.current) : undefined);

/** Accepted updates in the canonical aggregation order (by client id), so the aggregate depends only on the set. */
export const canonicalUpdates = (r: RoundRecord): UsedUpdate[] =>
  [...r.accepted]
    .sort((a, b) => (a.clientId < b.clientId ? -1 : a.clientId > b.clientId ? 1 : 0))
    .map(({ clientId, updateId, hash, sampleCount }) => ({ clientId, updateId, hash, sampleCount }));
