/**
 * The one generic persistent-actor helper over nact persistent actors. It is the only place that knows
 * nact's replay flag: while recovering, journal events go through `evolve` only; live commands go through
 * `decide`, every event is persisted before it is applied, and effects run only after the persist resolved.
 *
 * Messages: `{ command, replyTo? }`. The reply is `{ ok: true, events }` after persist + effects, or
 * `{ ok: false, error }` when the actor crashed on it (see supervision.ts).
 */
import type { Decider } from './decider';
import type { ActorRegistry } from './registry';
import { dispatch, journalSeq, pathOf, persistEvents, query, spawnPersistent, type ActorContext, type OutboxLike, type Ref } from './nact';
import { supervise, type RestartPolicy } from './supervision';
import type { SupervisionLog } from './supervision-log';

/** What an actor's wiring needs from its service to be supervised and inspected. */
export interface ActorWiring {
  registry: ActorRegistry;
  supervisionLog: SupervisionLog;
  policy: RestartPolicy;
  /** events between snapshots (0 = none) */
  snapshotEvery: number;
}

export type Reply<E> = { ok: true; events: readonly E[] } | { ok: false; error: string };

export type Envelope<C, E> =
  | { kind: 'command'; command: C; replyTo?: Ref<Reply<E>> }
  | { kind: 'recovered' };

export interface EffectContext<C, E> {
  self: Ref<Envelope<C, E>>;
  path: string;
  /** send a command to this actor without waiting */
  tell(command: C): void;
}

export interface EventSourcedSpec<C, E extends { type: string }, S> {
  kind: string;
  name: string;
  persistenceKey: string;
  decider: Decider<C, E, S>;
  /** decodes a journaled event; throws on a corrupt journal (a crash, handled by supervision) */
  decodeEvent(data: unknown): E;
  /** JSON-safe state for snapshots (default: the state itself) */
  encodeState?(state: S): unknown;
  decodeState?(data: unknown): S;
  snapshotEvery?: number;
  /**
   * Live only (never on replay): complete a command with facts that need I/O or are not reproducible, such as
   * a model's scores; `decide` then records them in events.
   */
  enrich?(command: C, state: S): C | Promise<C>;
  /**
   * Messages to publish if and only if the command's events are persisted (the journal's transactional
   * outbox): e.g. the readings a producer batch publishes together with its new file offset.
   */
  outbox?(command: C, events: readonly E[]): readonly OutboxLike[];
  /** what the inspection endpoint shows for this actor */
  summarize(state: S): unknown;
  /** after events are persisted and applied (never during replay) */
  effects?(ctx: EffectContext<C, E>, events: readonly E[], state: S, command: C): void | Promise<void>;
  /** once after every recovery (start and restart), before the next command: re-arm timers, resume work */
  onRecovered?(ctx: EffectContext<C, E>, state: S): void | Promise<void>;
  policy: RestartPolicy;
  /** the actor was stopped for good (restart budget spent at the top of the tree) */
  onStopped?(path: string, error: unknown): void;
  supervisionLog: SupervisionLog;
  registry: ActorRegistry;
}

export interface EventSourcedRef<C, E> {
  ref: Ref<Envelope<C, E>>;
  path: string;
  tell(command: C): void;
  /** send and wait for persist + effects; rejects on timeout or when the actor crashed on the command */
  ask(command: C, timeoutMs?: number): Promise<readonly E[]>;
}

export function spawnEventSourced<C, E extends { type: string }, S>(parent: Ref<unknown>, spec: EventSourcedSpec<C, E, S>): EventSourcedRef<C, E> {
  const { decider, registry } = spec;
  let recoveredRan = false;
  let path = '';

  const effectCtx = (self: Ref<Envelope<C, E>>): EffectContext<C, E> => ({
    self,
    path,
    tell: (command) => dispatch(self, { kind: 'command', command }),
  });

  async function behaviour(this: ActorContext<Envelope<C, E>>, state: S, msg: unknown, ctx: ActorContext<Envelope<C, E>>): Promise<S> {
    if (ctx.recovering) {
      return decider.evolve(state, spec.decodeEvent(msg));
    }
    const self = ctx.self;
    if (!recoveredRan) {
      recoveredRan = true;
      registry.update(path, { status: 'running', seq: journalSeq(self) }, spec.summarize(state));
      await spec.onRecovered?.(effectCtx(self), state);
    }
    const m = msg as Envelope<C, E>;
    if (m.kind === 'recovered') return state;
    // Live only: facts that need I/O or are not reproducible (model scores) are added to the command here,
    // so the events record them and replay never recomputes them.
    const command = spec.enrich ? await spec.enrich(m.command, state) : m.command;
    const events = decider.decide(command, state);
    // One decision's events (and the messages they cause) are persisted atomically, then applied.
    await persistEvents(self, events, events.length && spec.outbox ? spec.outbox(command, events) : undefined);
    let next = state;
    for (const e of events) next = decider.evolve(next, e);
    registry.update(path, { status: 'running', seq: journalSeq(self) }, spec.summarize(next));
    if (events.length && spec.effects) await spec.effects(effectCtx(self), events, next, command);
    if (m.replyTo) dispatch(m.replyTo, { ok: true, events });
    return next;
  }

  const onCrash = supervise<Envelope<C, E>>({ policy: spec.policy, log: spec.supervisionLog, registry });
  const ref = spawnPersistent<S, Envelope<C, E>>(parent, behaviour, spec.persistenceKey, spec.name, {
    initialState: decider.initialState,
    snapshotEvery: spec.snapshotEvery,
    snapshotEncoder: spec.encodeState ?? ((s: S) => s),
    snapshotDecoder: spec.decodeState ?? ((d: unknown) => d as S),
    onCrash: async (msg, err, sctx, child) => {
      let directive = await onCrash(msg, err, sctx, child);
      if (directive === sctx.escalate && sctx.parent?.type === 'system') {
        // nact 7.6 cannot stop a top-level persistent actor that escalates during recovery (it hands the
        // system the actor instead of its reference): stop it here, and fail everyone still waiting.
        directive = sctx.stop;
        registry.stopped(path);
        for (const queued of sctx.mailbox ?? []) {
          const replyTo = (queued as { message?: { replyTo?: Ref<Reply<E>> } }).message?.replyTo;
          if (replyTo) dispatch(replyTo, { ok: false, error: `${path} stopped: ${err instanceof Error ? err.message : String(err)}` });
        }
        spec.onStopped?.(path, err);
      }
      if (directive === sctx.reset) {
        recoveredRan = false;
        registry.update(path, { status: 'recovering' });
        setImmediate(() => dispatch(sctx.self, { kind: 'recovered' }));
      }
      return directive;
    },
  });
  path = pathOf(ref);
  registry.register(path, spec.kind, ref, spec.persistenceKey);
  registry.update(path, {}, spec.summarize(decider.initialState));
  // Queued behind recovery: the first message handled after the journal replay.
  dispatch(ref, { kind: 'recovered' });

  return {
    ref,
    path,
    tell: (command) => dispatch(ref, { kind: 'command', command }),
    ask: async (command, timeoutMs = 30_000) => {
      const reply = await query<Envelope<C, E>, Reply<E>>(ref, (replyTo) => ({ kind: 'command', command, replyTo }), timeoutMs);
      if (!reply.ok) throw new Error(`${path}: ${reply.error}`);
      return reply.events;
    },
  };
}
