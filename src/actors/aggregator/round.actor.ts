/**
 * Wiring of the round actor: the decider plus its effects. Effects are driven by the phase the actor is in
 * after a transition (and again after every recovery), so a crash between persisting an event and finishing
 * its effect only repeats an idempotent effect:
 *   Uninitialised → create version 0 · Idle → open the next round · Collecting → arm the deadline timer and
 *   announce the round · Aggregating → fold the accepted updates (read back from the model store) ·
 *   Aggregated → publish.
 *
 * The deadline is the service clock's (the wall clock); timers run on the monotonic clock, and the two drift
 * apart (on the 2-core VM the wall clock moved 12 ms against it in 5.5 minutes) or the wall clock is stepped
 * back. A timer that fires while the service clock still reads before the deadline is armed again for the
 * rest, so the round's DeadlineReached is never lost (the decider ignores one that comes early).
 * The announcement is sent outside the actor's mailbox and retried until it is sent or the round has ended: a
 * broker slow to take it must not hold the round open past its deadline (seen in a CI run: a round still open
 * 30 s after an 8 s deadline).
 */
import type { Bus } from '../../infra/bus/port';
import type { Logger } from '../../infra/log';
import type { ModelStore } from '../../infra/model-store';
import { encodeJson } from '../../protocols/codec';
import { GlobalModel, RoundNotice } from '../../protocols/models';
import type { TopicSet } from '../../protocols/topics';
import { encodeWeights, parameterCount, type LayerShape } from '../../protocols/weights';
import { decodeOrThrow } from '../runtime/decode';
import { spawnEventSourced, type ActorWiring, type EffectContext, type EventSourcedRef } from '../runtime/event-sourced';
import type { Ref } from '../runtime/nact';
import { initialWeights } from './initial-model';
import { roundDecider } from './round.decider';
import { RoundEvent, type RoundCommand } from './round.events';
import { canonicalUpdates, currentRound, roundKey, type RoundRecord, type RoundSettings, type RoundState } from './round.state';
import { summarizeRounds } from './round.view';
import { createStrategy } from './strategies';

export interface RoundActorDeps extends ActorWiring {
  service: string;
  settings: RoundSettings;
  model: { layers: LayerShape[]; seed: number };
  /** pause between a round's end and the next round's start */
  roundIntervalMs: number;
  store: ModelStore;
  bus: Bus;
  topics: TopicSet;
  log: Logger;
  clock: () => number;
}

export interface RoundActor extends EventSourcedRef<RoundCommand, RoundEvent> {
  /** clear pending timers (service shutdown) */
  stopTimers(): void;
}

/** waits between attempts to announce a round: doubling from `first` up to `max` */
const ANNOUNCE_RETRY_MS = { first: 500, max: 30_000 };

const transitions = new Set<RoundEvent['type']>(['ModelInitialised', 'RoundOpened', 'RoundClosed', 'RoundAbandoned', 'ModelAggregated', 'ModelPublished']);

export function spawnRoundActor(parent: Ref<unknown>, deps: RoundActorDeps): RoundActor {
  const { store, log, clock, settings } = deps;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const clear = () => { if (timer) clearTimeout(timer); timer = undefined; };
  const later = (ms: number, f: () => void) => { clear(); if (!stopped) timer = setTimeout(f, Math.max(0, ms)); };
  /** the round being announced (null when none is open) and the timer of its next attempt */
  let announcing: number | null = null;
  let retry: NodeJS.Timeout | undefined;

  /** DeadlineReached for round r once the service clock reads its deadline (see the file comment). */
  function armDeadline(ctx: EffectContext<RoundCommand, RoundEvent>, r: RoundRecord): void {
    const fire = () => {
      const now = clock();
      if (now < r.deadline) later(r.deadline - now, fire);
      else ctx.tell({ type: 'DeadlineReached', round: r.round, now });
    };
    later(r.deadline - clock(), fire);
  }

  async function aggregate(ctx: EffectContext<RoundCommand, RoundEvent>, state: RoundState): Promise<void> {
    const r = currentRound(state)!;
    const updates = canonicalUpdates(r);
    const acc = createStrategy(settings.strategy).start(parameterCount(state.layers ?? []));
    for (const u of updates) {
      const w = await store.getBlob(u.hash);
      if (!w) throw new Error(`round ${r.round}: update ${u.updateId} (${u.hash}) is missing from the model store ${store.dir}`);
      acc.add(w, u.sampleCount);
    }
    const hash = await store.putBlob(acc.result());
    ctx.tell({ type: 'RecordAggregate', round: r.round, hash, now: clock() });
  }

  async function publish(ctx: EffectContext<RoundCommand, RoundEvent>, state: RoundState & { phase: 'Aggregated' }): Promise<void> {
    const m = state.models.find((v) => v.version === state.pendingVersion)!;
    const flat = await store.getBlob(m.hash);
    if (!flat) throw new Error(`version ${m.version}: weights ${m.hash} are missing from the model store ${store.dir}`);
    const lineage = { parentVersion: m.parentVersion, round: m.round, strategy: m.strategy ?? settings.strategy, updates: m.updates };
    await store.writeVersion(m.version, { version: m.version, hash: m.hash, layers: state.layers, lineage, createdAt: m.createdAt });
    const message: GlobalModel = { kind: 'global-model', version: m.version, hash: m.hash, weights: encodeWeights(state.layers ?? [], flat), lineage, createdAt: m.createdAt };
    await deps.bus.publish(deps.topics.globalModels, [{ key: 'global', value: encodeJson(GlobalModel, message), headers: { version: String(m.version) } }]);
    const r = currentRound(state)!;
    const rejected = Object.entries(r.rejected).map(([k, n]) => `${n} ${k}`).join(', ');
    log.info(`round ${r.round}: ${r.accepted.length} of ${r.quorum} updates (${r.closeReason}), ${rejected || 'none rejected'}; published version ${m.version} ${m.hash.slice(0, 12)}`);
    ctx.tell({ type: 'ConfirmPublished', version: m.version, now: clock() });
  }

  /** Publish the open round with its base model (again after a recovery: trainers ignore repeats). */
  async function announce(r: RoundRecord, state: RoundState): Promise<void> {
    const base = state.models.find((m) => m.version === r.baseVersion)!;
    const flat = await store.getBlob(base.hash);
    if (!flat) throw new Error(`version ${base.version}: weights ${base.hash} are missing from the model store ${store.dir}`);
    const model: GlobalModel = {
      kind: 'global-model', version: base.version, hash: base.hash, weights: encodeWeights(state.layers ?? [], flat),
      lineage: { parentVersion: base.parentVersion, round: base.round, strategy: base.strategy ?? settings.strategy, updates: base.updates }, createdAt: base.createdAt,
    };
    const notice: RoundNotice = { kind: 'round-opened', round: r.round, baseVersion: r.baseVersion, deadline: r.deadline, openedAt: r.openedAt, model };
    await deps.bus.publish(deps.topics.globalModels, [{ key: 'global', value: encodeJson(RoundNotice, notice), headers: { round: String(r.round) } }]);
  }

  /** Announces round r in the background, again after each failure (backing off) while r is the open round. */
  function announceUntilSent(r: RoundRecord, state: RoundState): void {
    announcing = r.round;
    if (retry) clearTimeout(retry);
    const attempt = (delay: number): void => {
      if (stopped || announcing !== r.round) return;
      announce(r, state).catch((e: unknown) => {
        if (stopped || announcing !== r.round) return;
        log.warn(`round ${r.round}: announcing it failed (${(e as Error).message}); trying again in ${delay} ms`);
        retry = setTimeout(() => attempt(Math.min(delay * 2, ANNOUNCE_RETRY_MS.max)), delay);
      });
    };
    attempt(ANNOUNCE_RETRY_MS.first);
  }

  async function drive(ctx: EffectContext<RoundCommand, RoundEvent>, state: RoundState): Promise<void> {
    if (state.phase !== 'Collecting') announcing = null;
    switch (state.phase) {
      case 'Uninitialised': {
        const flat = initialWeights(deps.model.layers, deps.model.seed);
        const hash = await store.putBlob(flat);
        await store.writeVersion(0, { version: 0, hash, layers: deps.model.layers, lineage: { parentVersion: null, round: 0, strategy: settings.strategy, updates: [] }, seed: deps.model.seed });
        ctx.tell({ type: 'Initialise', hash, layers: deps.model.layers, seed: deps.model.seed, now: clock() });
        return;
      }
      case 'Idle':
        later(deps.roundIntervalMs, () => ctx.tell({ type: 'OpenRound', now: clock() }));
        return;
      case 'Collecting': {
        const r = currentRound(state)!;
        armDeadline(ctx, r);
        announceUntilSent(r, state);
        return;
      }
      case 'Aggregating':
        clear();
        await aggregate(ctx, state);
        return;
      case 'Aggregated':
        clear();
        await publish(ctx, state);
        return;
      default: {
        const never: never = state;
        throw new Error(`unknown phase ${JSON.stringify(never)}`);
      }
    }
  }

  const actor = spawnEventSourced(parent, {
    kind: 'round',
    name: 'round',
    persistenceKey: roundKey(deps.service),
    decider: roundDecider(settings),
    decodeEvent: (data) => decodeOrThrow(RoundEvent, data),
    snapshotEvery: deps.snapshotEvery,
    summarize: summarizeRounds,
    effects: async (ctx, events, state) => {
      for (const e of events) {
        if (e.type === 'UpdateRejected') log.info(`round ${e.round ?? '-'}: rejected update ${e.updateId} from ${e.clientId}: ${e.reason} (${e.detail})`);
        if (e.type === 'RoundAbandoned') log.warn(`round ${e.round}: abandoned, ${e.reason}; keeping version ${state.version}`);
        if (e.type === 'RoundOpened') log.info(`round ${e.round}: opened on version ${e.baseVersion}, quorum ${e.quorum}, deadline in ${e.deadline - e.openedAt} ms`);
      }
      if (events.some((e) => transitions.has(e.type))) await drive(ctx, state);
    },
    onRecovered: (ctx, state) => drive(ctx, state),
    policy: deps.policy,
    supervisionLog: deps.supervisionLog,
    registry: deps.registry,
  });
  return { ...actor, stopTimers: () => { stopped = true; clear(); if (retry) clearTimeout(retry); } };
}
