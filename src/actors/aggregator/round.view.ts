/** Read models of the round actor's state for the inspection endpoint and replay (plain JSON). */
import type { RoundState } from './round.state';

/** The actor's state summary: the whole state, which is small JSON (lineage metadata, never weights). */
export const summarizeRounds = (s: RoundState): RoundState => s;

export const roundsView = (s: RoundState) => ({
  phase: s.phase,
  current: 'current' in s ? s.current : null,
  nextRound: s.nextRound,
  rounds: s.rounds.map((r) => ({
    round: r.round,
    status: r.status,
    baseVersion: r.baseVersion,
    quorum: r.quorum,
    minUpdates: r.minUpdates,
    openedAt: r.openedAt,
    deadline: r.deadline,
    closedAt: r.closedAt,
    closeReason: r.closeReason,
    accepted: r.accepted.length,
    rejected: r.rejected,
    version: r.version,
  })),
});

export const modelsView = (s: RoundState) => ({
  current: s.version,
  versions: s.models.map((m) => ({ version: m.version, hash: m.hash, parentVersion: m.parentVersion, round: m.round, strategy: m.strategy, createdAt: m.createdAt, publishedAt: m.publishedAt, updates: m.updates })),
});
