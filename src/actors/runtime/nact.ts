/**
 * The nact seam: nact 7.6's typings are thin, so this module declares the part of nact we use and is the only
 * place that casts. Nothing else imports 'nact'.
 */
// eslint-disable-next-line @typescript-eslint/no-var-requires
const nact = require('nact') as NactModule;

/** An opaque reference to an actor that accepts messages of type M. */
export interface Ref<M> {
  readonly __msg?: M;
  readonly path: { parts: string[]; system: string };
  readonly name?: string;
  readonly type: 'actor' | 'system' | 'temp' | 'nobody';
  readonly system: { name: string };
}
export type SystemRef = Ref<never>;

export interface ActorContext<M> {
  self: Ref<M>;
  parent: Ref<unknown>;
  name: string;
  path: { parts: string[]; toString(): string };
  children: Map<string, Ref<unknown>>;
  /** set by nact while a persistent actor replays its journal */
  recovering?: boolean;
  persist?: (event: unknown) => Promise<void>;
}

export interface SupervisionDirectives {
  stop: symbol;
  stopAll: symbol;
  stopChild: symbol;
  stopAllChildren: symbol;
  escalate: symbol;
  resume: symbol;
  reset: symbol;
  resetAll: symbol;
  resetChild: symbol;
  resetAllChildren: symbol;
}
export type SupervisionContext<M> = ActorContext<M> & SupervisionDirectives & { mailbox: M[] };
export type OnCrash<M> = (msg: M | undefined, err: unknown, ctx: SupervisionContext<M>, child?: Ref<unknown>) => symbol | Promise<symbol>;

/** What nact expects of a persistence engine (see nact/lib/persistence/persistence-engine.js). */
export interface NactPersistedEvent { data: unknown; sequenceNumber: number; key: string; createdAt: number; isDeleted: boolean; tags: string[] }
export interface NactPersistedSnapshot { data: unknown; sequenceNumber: number; key: string; createdAt: number }
export interface NactEventStream {
  reduce<U>(f: (acc: U, event: NactPersistedEvent, index: number) => U, init: U): Promise<U>;
}
export interface NactPersistenceEngine {
  events(key: string, offset: number, limit?: number, tags?: string[]): NactEventStream;
  latestSnapshot(key: string): Promise<NactPersistedSnapshot | undefined>;
  takeSnapshot(snapshot: NactPersistedSnapshot): Promise<void>;
  persist(event: NactPersistedEvent): Promise<void>;
}

type ActorFn<S, M> = (this: ActorContext<M>, state: S, msg: M, ctx: ActorContext<M>) => S | Promise<S>;
interface ActorProps<S, M> {
  initialState?: S;
  onCrash?: OnCrash<M>;
  shutdownAfter?: number;
  afterStop?: (state: S) => void;
}
interface PersistentProps<S, M> extends ActorProps<S, M> {
  snapshotEvery?: number;
  snapshotEncoder?: (state: S) => unknown;
  snapshotDecoder?: (data: unknown) => S;
  encoder?: (msg: unknown) => unknown;
  decoder?: (data: unknown) => unknown;
}
interface NactModule {
  start(...plugins: unknown[]): SystemRef;
  spawn<S, M>(parent: Ref<unknown>, f: ActorFn<S, M>, name?: string, props?: ActorProps<S, M>): Ref<M>;
  spawnStateless<M>(parent: Ref<unknown>, f: (msg: M, ctx: ActorContext<M>) => unknown, name?: string, props?: { onCrash?: OnCrash<M> }): Ref<M>;
  spawnPersistent<S, M>(parent: Ref<unknown>, f: ActorFn<S, M>, key: string, name?: string, props?: PersistentProps<S, M>): Ref<M>;
  dispatch<M>(ref: Ref<M>, msg: M): void;
  query<M, R>(ref: Ref<M>, factory: (tmp: Ref<R>) => M, timeoutMs: number): Promise<R>;
  stop(ref: Ref<unknown>): void;
  configurePersistence(engine: NactPersistenceEngine): unknown;
}

interface ConcreteActor {
  mailbox?: { length: number; toArray?(): unknown[] };
  busy?: boolean;
  stopped?: boolean;
  children?: Map<string, ConcreteActor>;
  // persistent actors only
  key?: string;
  sequenceNumber?: number;
  messagesToNextSnapshot?: number;
  persistenceEngine?: NactPersistenceEngine & Partial<BatchPersistence>;
}

/** An engine that can append several events atomically (our journal engine does). */
export interface BatchPersistence {
  /** `outbox`: messages published if and only if the events are appended (the journal's transactional outbox) */
  persistBatch(key: string, fromSeq: number, events: readonly unknown[], outbox?: readonly OutboxLike[]): Promise<void>;
}
export interface OutboxLike { topic: string; key: string | null; value: string; headers?: Record<string, string> }
// eslint-disable-next-line @typescript-eslint/no-var-requires
const systemMap = require('nact/lib/system-map') as { find(systemName: string, ref?: unknown): ConcreteActor | undefined };

export function startSystem(name: string, engine?: NactPersistenceEngine): SystemRef {
  const plugins: unknown[] = [{ name }];
  if (engine) plugins.push(nact.configurePersistence(engine));
  return nact.start(...plugins);
}

export const spawn = <S, M>(parent: Ref<unknown>, f: ActorFn<S, M>, name: string, props?: ActorProps<S, M>): Ref<M> =>
  nact.spawn(parent, f, name, props);

export const spawnPersistent = <S, M>(parent: Ref<unknown>, f: ActorFn<S, M>, key: string, name: string, props?: PersistentProps<S, M>): Ref<M> =>
  nact.spawnPersistent(parent, f, key, name, props);

export const dispatch = <M>(ref: Ref<M>, msg: M): void => nact.dispatch(ref, msg);

/** Ask and wait; rejects with "Query Timeout" after timeoutMs. */
export const query = <M, R>(ref: Ref<M>, factory: (replyTo: Ref<R>) => M, timeoutMs: number): Promise<R> =>
  nact.query<M, R>(ref, factory, timeoutMs);

export const stop = (ref: Ref<unknown>): void => nact.stop(ref);

/** Messages waiting in the actor's mailbox; undefined when the actor is not running. */
export function mailboxDepth(ref: Ref<unknown>): number | undefined {
  const actor = systemMap.find(ref.system.name, ref);
  return actor && !actor.stopped ? actor.mailbox?.length ?? 0 : undefined;
}

/** nact's sequence number for a persistent actor (highest persisted or recovered event), 0 when unknown. */
export function journalSeq(ref: Ref<unknown>): number {
  return systemMap.find(ref.system.name, ref)?.sequenceNumber ?? 0;
}

/**
 * Persist the events of one decision atomically, numbered after the actor's current sequence number, and
 * advance nact's counters (sequence number, messages to the next snapshot) as if each had gone through
 * nact's own persist. On failure nothing is advanced: the caller crashes and recovery re-reads the journal.
 */
export async function persistEvents(ref: Ref<unknown>, events: readonly unknown[], outbox?: readonly OutboxLike[]): Promise<void> {
  if (events.length === 0) return;
  const actor = systemMap.find(ref.system.name, ref);
  if (!actor || actor.key === undefined || actor.sequenceNumber === undefined) throw new Error(`persistEvents: ${pathOf(ref)} is not a running persistent actor`);
  const engine = actor.persistenceEngine;
  if (!engine?.persistBatch) throw new Error(`persistEvents: the persistence engine of ${pathOf(ref)} cannot append atomically`);
  await engine.persistBatch(actor.key, actor.sequenceNumber + 1, events, outbox);
  actor.sequenceNumber += events.length;
  if (actor.messagesToNextSnapshot !== undefined) actor.messagesToNextSnapshot -= events.length;
}

/** True when the actor handles no message and has none waiting (or is gone). */
export function isIdle(ref: Ref<unknown>): boolean {
  const actor = systemMap.find(ref.system.name, ref);
  return !actor || actor.stopped === true || (!actor.busy && (actor.mailbox?.length ?? 0) === 0);
}

/** Wait until every actor is idle (or timeoutMs passed), then stop them: no message is cut off mid-way. */
export async function stopWhenIdle(refs: ReadonlyArray<Ref<unknown>>, timeoutMs = 15_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until && !refs.every(isIdle)) await new Promise((r) => setTimeout(r, 20));
  for (const r of refs) nact.stop(r);
}

export const isAlive = (ref: Ref<unknown>): boolean => {
  const actor = systemMap.find(ref.system.name, ref);
  return !!actor && !actor.stopped;
};

/** "aggregator/round" for an actor spawned as round under the system aggregator. */
export const pathOf = (ref: Ref<unknown>): string => [ref.system.name, ...ref.path.parts].join('/');

/**
 * An actor name for any text, one-to-one: letters, digits, '-' and '.' stay, every other character becomes '_'
 * and its UTF-8 bytes in hex ('a/b' → 'a_2Fb', 'a_b' → 'a_5Fb'), so two texts never share a name (a lossy
 * mapping gave 'a/b' and 'a_b' one name, and spawning the second failed on every batch).
 */
export const escapeName = (text: string): string =>
  text.replace(/[^A-Za-z0-9.-]/gu, (c) => Array.from(Buffer.from(c, 'utf8'), (b) => `_${b.toString(16).toUpperCase().padStart(2, '0')}`).join(''));
