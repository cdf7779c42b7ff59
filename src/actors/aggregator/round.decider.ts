/**
 * The round decider: opens round r on the current global version, accepts or rejects local updates (the
 * reason is an event), closes on quorum or deadline, records the aggregate computed by the wiring, and
 * records its publication. Pure: time arrives in commands, floats arrive as content hashes.
 */
import type { Decider } from '../runtime/decider';
import type { EventOf, RoundCommand, RoundEvent, UpdateFacts } from './round.events';
import { canonicalUpdates, currentRound, initialRoundState, roundHistory, type RoundRecord, type RoundSettings, type RoundState } from './round.state';

const sameShape = (a: UpdateFacts['layers'], b: UpdateFacts['layers']): boolean =>
  a.length === b.length && a.every((l, i) => l.name === b[i]!.name && l.shape.length === b[i]!.shape.length && l.shape.every((d, j) => d === b[i]!.shape[j]));

const describeShape = (ls: UpdateFacts['layers']): string => ls.map((l) => `${l.name}[${l.shape.join('x')}]`).join(', ');

function reject(state: RoundState, u: UpdateFacts, now: number, reason: EventOf<'UpdateRejected'>['reason'], detail: string): RoundEvent[] {
  const round = 'current' in state ? state.current : null;
  return [{ type: 'UpdateRejected', round, claimedRound: u.round, clientId: u.clientId, updateId: u.updateId, reason, detail, receivedAt: now }];
}

function rejectOutsideCollecting(state: RoundState, u: UpdateFacts, now: number): RoundEvent[] {
  if (state.phase === 'Uninitialised') return reject(state, u, now, 'no-open-round', 'the aggregator has no initial model yet');
  if (u.round < state.nextRound) return reject(state, u, now, 'closed-round', `round ${u.round} is closed`);
  return reject(state, u, now, 'unknown-round', `round ${u.round} is not open (next round is ${state.nextRound})`);
}

function judge(state: RoundState & { phase: 'Collecting' }, r: RoundRecord, u: UpdateFacts, now: number, settings: RoundSettings): RoundEvent[] {
  if (u.round < r.round) return reject(state, u, now, 'closed-round', `round ${u.round} is closed; round ${r.round} is open`);
  if (u.round > r.round) return reject(state, u, now, 'unknown-round', `round ${u.round} does not exist; round ${r.round} is open`);
  if (u.payloadBytes > settings.maxUpdateBytes) return reject(state, u, now, 'oversized-payload', `${u.payloadBytes} bytes exceed the limit of ${settings.maxUpdateBytes}`);
  if (u.baseVersion !== r.baseVersion) return reject(state, u, now, 'stale-base-version', `trained on version ${u.baseVersion}, round ${r.round} aggregates on version ${r.baseVersion}`);
  if (r.accepted.some((a) => a.updateId === u.updateId)) return reject(state, u, now, 'duplicate-update', `update ${u.updateId} was already accepted`);
  if (r.accepted.some((a) => a.clientId === u.clientId)) return reject(state, u, now, 'client-already-counted', `client ${u.clientId} already has an update in round ${r.round}`);
  if (!sameShape(u.layers, state.layers ?? [])) return reject(state, u, now, 'wrong-shape', `got ${describeShape(u.layers)}, expected ${describeShape(state.layers ?? [])}`);
  if (u.nonFiniteCount > 0) return reject(state, u, now, 'non-finite-weights', `${u.nonFiniteCount} weights are NaN or infinite`);
  const accepted: RoundEvent = { type: 'UpdateAccepted', round: r.round, clientId: u.clientId, updateId: u.updateId, hash: u.hash, sampleCount: u.sampleCount, receivedAt: now };
  if (r.accepted.length + 1 >= r.quorum) {
    return [accepted, { type: 'RoundClosed', round: r.round, reason: 'quorum', accepted: r.accepted.length + 1, closedAt: now }];
  }
  return [accepted];
}

export function decideRound(settings: RoundSettings) {
  return (command: RoundCommand, state: RoundState): readonly RoundEvent[] => {
    switch (state.phase) {
      case 'Uninitialised':
        if (command.type === 'Initialise') return [{ type: 'ModelInitialised', version: 0, hash: command.hash, layers: command.layers, seed: command.seed, at: command.now }];
        if (command.type === 'SubmitUpdate') return rejectOutsideCollecting(state, command.update, command.now);
        return [];
      case 'Idle':
        if (command.type === 'OpenRound') {
          return [{ type: 'RoundOpened', round: state.nextRound, baseVersion: state.version ?? 0, quorum: settings.quorum, minUpdates: settings.minUpdates, deadline: command.now + settings.deadlineMs, openedAt: command.now }];
        }
        if (command.type === 'SubmitUpdate') return rejectOutsideCollecting(state, command.update, command.now);
        return [];
      case 'Collecting': {
        const r = currentRound(state)!;
        if (command.type === 'SubmitUpdate') return judge(state, r, command.update, command.now, settings);
        if (command.type === 'DeadlineReached' && command.round === r.round && command.now >= r.deadline) {
          const n = r.accepted.length;
          return n >= r.minUpdates
            ? [{ type: 'RoundClosed', round: r.round, reason: 'deadline', accepted: n, closedAt: command.now }]
            : [{ type: 'RoundAbandoned', round: r.round, reason: `deadline passed with ${n} of the ${r.minUpdates} updates needed`, accepted: n, closedAt: command.now }];
        }
        return [];
      }
      case 'Aggregating': {
        if (command.type === 'SubmitUpdate') return rejectOutsideCollecting(state, command.update, command.now);
        if (command.type === 'RecordAggregate' && command.round === state.current) {
          const r = currentRound(state)!;
          const updates = canonicalUpdates(r);
          return [{ type: 'ModelAggregated', round: r.round, version: (state.version ?? 0) + 1, parentVersion: state.version ?? 0, hash: command.hash, strategy: settings.strategy, updates, createdAt: command.now }];
        }
        return [];
      }
      case 'Aggregated':
        if (command.type === 'SubmitUpdate') return rejectOutsideCollecting(state, command.update, command.now);
        if (command.type === 'ConfirmPublished' && command.version === state.pendingVersion) return [{ type: 'ModelPublished', version: command.version, publishedAt: command.now }];
        return [];
      default: {
        const never: never = state;
        throw new Error(`unknown phase ${JSON.stringify(never)}`);
      }
    }
  };
}

/** The newest `roundHistory` entries (see round.state.ts). */
const newest = <T>(list: T[]): T[] => (list.length > roundHistory ? list.slice(list.length - roundHistory) : list);

const patchRound = (rounds: RoundRecord[], round: number, patch: (r: RoundRecord) => RoundRecord): RoundRecord[] =>
  rounds.map((r) => (r.round === round ? patch(r) : r));

export function evolveRound(state: RoundState, e: RoundEvent): RoundState {
  switch (e.type) {
    case 'ModelInitialised':
      return { ...state, phase: 'Idle', version: e.version, layers: e.layers, models: newest([...state.models, { version: e.version, hash: e.hash, parentVersion: null, round: 0, strategy: null, updates: [], createdAt: e.at, publishedAt: e.at }]) };
    case 'RoundOpened': {
      const record: RoundRecord = { round: e.round, baseVersion: e.baseVersion, quorum: e.quorum, minUpdates: e.minUpdates, deadline: e.deadline, openedAt: e.openedAt, status: 'collecting', accepted: [], rejected: {}, closedAt: null, closeReason: null, version: null };
      const { phase: _p, ...common } = state;
      return { ...common, phase: 'Collecting', current: e.round, nextRound: e.round + 1, rounds: newest([...state.rounds, record]) };
    }
    case 'UpdateAccepted':
      return { ...state, rounds: patchRound(state.rounds, e.round, (r) => ({ ...r, accepted: [...r.accepted, { clientId: e.clientId, updateId: e.updateId, hash: e.hash, sampleCount: e.sampleCount, receivedAt: e.receivedAt }] })) };
    case 'UpdateRejected':
      if (e.round === null || !state.rounds.some((r) => r.round === e.round)) return { ...state, rejectedOutsideRounds: state.rejectedOutsideRounds + 1 };
      return { ...state, rounds: patchRound(state.rounds, e.round, (r) => ({ ...r, rejected: { ...r.rejected, [e.reason]: (r.rejected[e.reason] ?? 0) + 1 } })) };
    case 'RoundClosed':
      return { ...state, phase: 'Aggregating', current: e.round, rounds: patchRound(state.rounds, e.round, (r) => ({ ...r, status: 'aggregating', closedAt: e.closedAt, closeReason: e.reason })) };
    case 'RoundAbandoned': {
      const { phase: _p, ...common } = state;
      const rest = { ...common } as Record<string, unknown>;
      delete rest.current;
      return { ...(rest as unknown as Omit<RoundState, 'phase'>), phase: 'Idle', rounds: patchRound(state.rounds, e.round, (r) => ({ ...r, status: 'abandoned', closedAt: e.closedAt, closeReason: e.reason })) } as RoundState;
    }
    case 'ModelAggregated':
      return {
        ...state,
        phase: 'Aggregated',
        current: e.round,
        pendingVersion: e.version,
        models: newest([...state.models, { version: e.version, hash: e.hash, parentVersion: e.parentVersion, round: e.round, strategy: e.strategy, updates: e.updates, createdAt: e.createdAt, publishedAt: null }]),
        rounds: patchRound(state.rounds, e.round, (r) => ({ ...r, status: 'aggregated', version: e.version })),
      };
    case 'ModelPublished': {
      const round = state.models.find((m) => m.version === e.version)?.round ?? -1;
      const { phase: _p, ...common } = state;
      const rest = { ...common } as Record<string, unknown>;
      delete rest.current;
      delete rest.pendingVersion;
      return {
        ...(rest as unknown as Omit<RoundState, 'phase'>),
        phase: 'Idle',
        version: e.version,
        models: state.models.map((m) => (m.version === e.version ? { ...m, publishedAt: e.publishedAt } : m)),
        rounds: patchRound(state.rounds, round, (r) => ({ ...r, status: 'published' })),
      } as RoundState;
    }
    default: {
      const never: never = e;
      throw new Error(`unknown event ${JSON.stringify(never)}`);
    }
  }
}

export const roundDecider = (settings: RoundSettings): Decider<RoundCommand, RoundEvent, RoundState> => ({
  initialState: initialRoundState,
  decide: decideRound(settings),
  evolve: evolveRound,
});
