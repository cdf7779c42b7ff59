/**
 * The generic event-sourced actor on real nact, over the in-memory journal: persist before apply, replay through
 * evolve only, snapshots, crashes and persist failures under supervision, and what the registry shows.
 *
 * The actor under test is a counter: `Add { n }` → `Added { n }`, `Nothing` → no event, `Fail` → decide throws
 * (a bug). Every decider call, journal call, effect and recovery is traced, so the order of things is checked.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { fold, type Decider } from '../../src/actors/runtime/decider';
import { spawnEventSourced, type EventSourcedRef } from '../../src/actors/runtime/event-sourced';
import { nactEngine } from '../../src/actors/runtime/journal-engine';
import { isAlive, startSystem, stop, type SystemRef } from '../../src/actors/runtime/nact';
import { ActorRegistry } from '../../src/actors/runtime/registry';
import { escalateOnCrash, restartWithBackoff, type RestartPolicy } from '../../src/actors/runtime/supervision';
import { memorySupervisionLog, type SupervisionLog } from '../../src/actors/runtime/supervision-log';
import { InfraError } from '../../src/infra/errors';
import { createMemoryJournal, createMemoryStore, type FaultHook, type MemoryStore } from '../../src/infra/journal/memory-journal';
import type { Journal } from '../../src/infra/journal/port';

type Cmd = { type: 'Add'; n: number } | { type: 'AddTwice'; n: number } | { type: 'Nothing' } | { type: 'Fail' };
type Ev = { type: 'Added'; n: number };
interface St { total: number; count: number }

const KEY = 'test/counter';

/** The counter decider; evolve and decide calls are written to `trace`. */
function counter(trace: string[]): Decider<Cmd, Ev, St> {
  return {
    initialState: { total: 0, count: 0 },
    decide(c, s) {
      trace.push(`decide ${c.type}`);
      switch (c.type) {
        case 'Add': return [{ type: 'Added', n: c.n }];
        case 'AddTwice': return [{ type: 'Added', n: c.n }, { type: 'Added', n: c.n }];
        case 'Nothing': return [];
        case 'Fail': throw new Error(`Fail is a bug (total was ${s.total})`);
      }
    },
    evolve(s, e) {
      trace.push(`evolve ${e.n}`);
      return { total: s.total + e.n, count: s.count + 1 };
    },
  };
}

let systems = 0;

interface Harness {
  system: SystemRef;
  actor: EventSourcedRef<Cmd, Ev>;
  path: string;
  journal: Journal;
  registry: ActorRegistry;
  log: SupervisionLog;
  trace: string[];
  /** afterSeq of every journal read of KEY */
  reads: number[];
  effects: Array<{ events: readonly Ev[]; state: St }>;
  recovered: St[];
  /** make the next `n` appends of KEY reject before they reach the journal */
  failAppends(n: number): void;
  /** make the first append of KEY that would write this seq reject before it reaches the journal */
  failAppendAt(seq: number): void;
  stop(): void;
}

/** A new nact system on a new memory journal engine over `store` (a reopen when the store has data). */
function start(opts: { store?: MemoryStore; fault?: FaultHook; snapshotEvery?: number; policy?: RestartPolicy } = {}): Harness {
  const store = opts.store ?? createMemoryStore();
  const inner = createMemoryJournal({ store, ...(opts.fault ? { fault: opts.fault } : {}) });
  const trace: string[] = [];
  const reads: number[] = [];
  let failing = 0;
  const failAt = new Set<number>();
  const journal: Journal = {
    ...inner,
    describe: `traced ${inner.describe}`,
    async append(key, expectedSeq, events) {
      const hit = events.map((_, i) => expectedSeq + i).find((s) => failAt.has(s));
      if (key === KEY && (failing > 0 || hit !== undefined)) {
        if (hit === undefined || !failAt.delete(hit)) failing--;
        trace.push(`append ${expectedSeq} failed`);
        throw new InfraError('unavailable', `journal ${key}: injected append failure at seq ${expectedSeq}`, true);
      }
      const stored = await inner.append(key, expectedSeq, events);
      if (key === KEY) trace.push(`appended ${stored.map((e) => e.seq).join(',')}`);
      return stored;
    },
    read(key, o) {
      if (key === KEY) reads.push(o?.afterSeq ?? 0);
      return inner.read(key, o);
    },
  };
  const registry = new ActorRegistry();
  const log = memorySupervisionLog();
  const name = `es-${process.pid}-${++systems}`;
  const system = startSystem(name, nactEngine(journal, { onSnapshot: (k, seq) => registry.snapshotAt(k, seq) }));
  const effects: Harness['effects'] = [];
  const recovered: St[] = [];
  const actor = spawnEventSourced<Cmd, Ev, St>(system, {
    kind: 'counter',
    name: 'counter',
    persistenceKey: KEY,
    decider: counter(trace),
    decodeEvent: (data) => {
      const e = data as Ev;
      if (e?.type !== 'Added' || typeof e.n !== 'number') throw new Error(`corrupt event ${JSON.stringify(data)}`);
      return e;
    },
    snapshotEvery: opts.snapshotEvery,
    summarize: (s) => s,
    effects: (_ctx, events, state) => {
      trace.push(`effects ${events.map((e) => e.n).join(',')}`);
      effects.push({ events, state });
    },
    onRecovered: (_ctx, state) => {
      trace.push(`recovered ${state.total}`);
      recovered.push(state);
    },
    policy: opts.policy ?? restartWithBackoff({ backoff: { initialMs: 10, factor: 2, maxMs: 50 } }),
    supervisionLog: log,
    registry,
  });
  return {
    system, actor, path: `${name}/counter`, journal, registry, log, trace, reads, effects, recovered,
    failAppends: (n) => { failing = n; },
    failAppendAt: (seq) => { failAt.add(seq); },
    stop: () => stop(system),
  };
}

/** Poll until `cond` holds; fails naming `what` after timeoutMs. */
async function until(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function journalEvents(j: Journal): Promise<Array<{ seq: number; data: Ev }>> {
  const out: Array<{ seq: number; data: Ev }> = [];
  for await (const e of j.read(KEY)) out.push({ seq: e.seq, data: e.data as Ev });
  return out;
}

const stateOf = (h: Harness): St => h.registry.get(h.path)!.state as St;
const evolveCalls = (h: Harness): number => h.trace.filter((t) => t.startsWith('evolve')).length;

/** Run `f` with harnesses that are always stopped afterwards, so the process can exit. */
async function using(f: (open: (o?: Parameters<typeof start>[0]) => Harness) => Promise<void>): Promise<void> {
  const opened: Harness[] = [];
  try {
    await f((o) => { const h = start(o); opened.push(h); return h; });
  } finally {
    for (const h of opened) h.stop();
  }
}

// ---------------------------------------------------------------------------------------------------------

const Live = suite('live commands');

Live('each event is in the journal before evolve applies it, and effects run after both', () => using(async (open) => {
  const h = open();
  assert.equal(await h.actor.ask({ type: 'Add', n: 2 }), [{ type: 'Added', n: 2 }]);
  assert.equal((await journalEvents(h.journal)).map((e) => [e.seq, e.data.n]), [[1, 2]], 'persisted when the reply arrives');
  assert.equal(await h.actor.ask({ type: 'Add', n: 3 }), [{ type: 'Added', n: 3 }]);
  assert.equal((await journalEvents(h.journal)).map((e) => [e.seq, e.data.n]), [[1, 2], [2, 3]]);
  assert.equal(h.trace, ['recovered 0', 'decide Add', 'appended 1', 'evolve 2', 'effects 2', 'decide Add', 'appended 2', 'evolve 3', 'effects 3']);
  assert.equal(h.effects.map((e) => e.state), [{ total: 2, count: 1 }, { total: 5, count: 2 }], 'effects see the state after the events');
  assert.equal(stateOf(h), { total: 5, count: 2 });
}));

Live('a command that decides nothing persists nothing and runs no effect', () => using(async (open) => {
  const h = open();
  await h.actor.ask({ type: 'Add', n: 1 });
  assert.equal(await h.actor.ask({ type: 'Nothing' }), []);
  assert.is((await journalEvents(h.journal)).length, 1);
  assert.is(h.effects.length, 1);
  assert.equal(stateOf(h), { total: 1, count: 1 });
}));

Live('tell is handled in order with ask', () => using(async (open) => {
  const h = open();
  h.actor.tell({ type: 'Add', n: 10 });
  h.actor.tell({ type: 'Add', n: 20 });
  await h.actor.ask({ type: 'Add', n: 30 });
  assert.equal((await journalEvents(h.journal)).map((e) => e.data.n), [10, 20, 30]);
  assert.equal(stateOf(h), { total: 60, count: 3 });
}));

Live.run();

// ---------------------------------------------------------------------------------------------------------

const Recovery = suite('recovery');

Recovery('a respawn on the same journal recovers the state through evolve only: no effect, onRecovered once', () => using(async (open) => {
  const store = createMemoryStore();
  const a = open({ store });
  for (const n of [1, 2, 3]) await a.actor.ask({ type: 'Add', n });
  assert.is(a.effects.length, 3);
  a.stop();

  const b = open({ store });
  const reply = b.actor.ask({ type: 'Add', n: 4 }); // sent before recovery finished: waits behind it
  assert.equal(await reply, [{ type: 'Added', n: 4 }]);
  assert.equal(b.trace, ['evolve 1', 'evolve 2', 'evolve 3', 'recovered 6', 'decide Add', 'appended 4', 'evolve 4', 'effects 4']);
  assert.equal(b.recovered, [{ total: 6, count: 3 }]);
  assert.equal(b.effects.map((e) => e.events), [[{ type: 'Added', n: 4 }]], 'only the live command ran effects');
  assert.equal(b.reads, [0], 'no snapshot: the journal is read from the start');
  assert.equal(stateOf(b), { total: 10, count: 4 });
  assert.equal((await journalEvents(b.journal)).map((e) => e.seq), [1, 2, 3, 4]);
}));

Recovery('an idle respawn runs onRecovered exactly once with the recovered state', () => using(async (open) => {
  const store = createMemoryStore();
  const a = open({ store });
  await a.actor.ask({ type: 'Add', n: 7 });
  a.stop();
  const b = open({ store });
  await until('onRecovered', () => b.recovered.length > 0);
  assert.equal(await b.actor.ask({ type: 'Nothing' }), [], 'a later command does not run it again');
  assert.equal(b.recovered, [{ total: 7, count: 1 }]);
  assert.is(b.effects.length, 0);
  const info = b.registry.get(b.path)!.info;
  assert.equal([info.status, info.seq], ['running', 1]);
}));

Recovery('snapshots are taken every 3 events and recovery starts from the newest one', () => using(async (open) => {
  const store = createMemoryStore();
  const a = open({ store, snapshotEvery: 3 });
  for (const n of [1, 2, 3, 4, 5, 6, 7]) await a.actor.ask({ type: 'Add', n });
  await until('the snapshot at seq 6', async () => (await a.journal.latestSnapshot(KEY))?.seq === 6);
  const snap = (await a.journal.latestSnapshot(KEY))!;
  assert.equal(snap.data, { total: 21, count: 6 }, 'state after events 1..6: 1+2+3+4+5+6 = 21');
  assert.equal(snap.data, fold(counter([]), (await journalEvents(a.journal)).slice(0, 6).map((e) => e.data)));
  await until('lastSnapshotSeq 6 in the registry', () => a.registry.get(a.path)!.info.lastSnapshotSeq === 6);
  a.stop();

  const b = open({ store, snapshotEvery: 3 });
  await until('onRecovered', () => b.recovered.length > 0);
  assert.equal(b.reads, [6], 'the journal is read after the snapshot seq, never from 0');
  assert.is(evolveCalls(b), 1, 'only event 7 is replayed');
  assert.equal(b.recovered, [{ total: 28, count: 7 }]);
  const info = b.registry.get(b.path)!.info;
  assert.equal([info.seq, info.lastSnapshotSeq, info.status], [7, 6, 'running']);
}));

Recovery.run();

// ---------------------------------------------------------------------------------------------------------

const Crash = suite('crash and supervision');

Crash('a command that crashes the actor rejects its ask; the actor restarts from the journal and keeps working', () => using(async (open) => {
  const h = open();
  await h.actor.ask({ type: 'Add', n: 5 });
  const err = await h.actor.ask({ type: 'Fail' }).then(() => null, (e: Error) => e);
  assert.ok(err, 'ask rejects');
  assert.match(err!.message, `${h.path}: Fail is a bug (total was 5)`);
  await until('ActorRestarted', () => h.log.recent().some((e) => e.type === 'ActorRestarted'));
  assert.equal(h.log.recent().map((e) => [e.type, e.path]), [['ActorCrashed', h.path], ['ActorRestarted', h.path]]);
  assert.equal(h.log.recent()[0], { ...h.log.recent()[0]!, error: 'Fail is a bug (total was 5)' });

  assert.equal(await h.actor.ask({ type: 'Add', n: 1 }), [{ type: 'Added', n: 1 }]);
  assert.equal(stateOf(h), { total: 6, count: 2 }, 'the state before the crash is intact');
  assert.equal(h.reads, [0, 0], 'recovered from the journal again after the restart');
  assert.equal(h.recovered, [{ total: 0, count: 0 }, { total: 5, count: 1 }], 'onRecovered after the start and after the restart');
  assert.is(evolveCalls(h), 3, 'live Add 5, replay of Add 5, live Add 1');
  const info = h.registry.get(h.path)!.info;
  assert.equal([info.restarts, info.status, info.seq, info.lastError], [1, 'running', 2, 'Fail is a bug (total was 5)']);
}));

Crash('commands queued behind the crashing one are handled after the restart', () => using(async (open) => {
  const h = open();
  await h.actor.ask({ type: 'Add', n: 1 });
  const failed = h.actor.ask({ type: 'Fail' }).then(() => 'resolved', () => 'rejected');
  h.actor.tell({ type: 'Add', n: 2 });
  const last = h.actor.ask({ type: 'Add', n: 3 });
  assert.is(await failed, 'rejected');
  assert.equal(await last, [{ type: 'Added', n: 3 }]);
  assert.equal((await journalEvents(h.journal)).map((e) => [e.seq, e.data.n]), [[1, 1], [2, 2], [3, 3]]);
  assert.equal(stateOf(h), { total: 6, count: 3 });
}));

Crash('a failed persist loses nothing and duplicates nothing: contiguous seqs, state = fold of the journal', () => using(async (open) => {
  const h = open();
  await h.actor.ask({ type: 'Add', n: 1 });
  h.failAppends(1);
  const err = await h.actor.ask({ type: 'Add', n: 2 }).then(() => null, (e: Error) => e);
  assert.ok(err, 'the caller learns the command failed');
  assert.match(err!.message, 'injected append failure at seq 2');
  await until('ActorRestarted', () => h.log.recent().some((e) => e.type === 'ActorRestarted'));
  assert.equal(await h.actor.ask({ type: 'Add', n: 3 }), [{ type: 'Added', n: 3 }]);

  const events = await journalEvents(h.journal);
  assert.equal(events.map((e) => [e.seq, e.data.n]), [[1, 1], [2, 3]], 'Add 2 never reached the journal; Add 3 took seq 2');
  assert.equal(stateOf(h), fold(counter([]), events.map((e) => e.data)));
  assert.equal(stateOf(h), { total: 4, count: 2 });
  assert.ok(!h.trace.includes('evolve 2'), 'the event that was not persisted was never applied');
  assert.ok(!h.effects.some((e) => e.events.some((x) => x.n === 2)), 'nor its effects run');
  assert.is(h.registry.get(h.path)!.info.seq, 2);
}));

Crash('the events of one command are persisted all or none: a failure on the second leaves no half-applied command', () => using(async (open) => {
  const h = open();
  await h.actor.ask({ type: 'Add', n: 1 });
  h.failAppendAt(3); // AddTwice persists seq 2 and seq 3; the second append fails
  const err = await h.actor.ask({ type: 'AddTwice', n: 5 }).then(() => null, (e: Error) => e);
  assert.ok(err, 'the caller learns the command failed');
  await until('ActorRestarted', () => h.log.recent().some((e) => e.type === 'ActorRestarted'));
  await h.actor.ask({ type: 'Add', n: 100 });
  const fives = (await journalEvents(h.journal)).filter((e) => e.data.n === 5).length;
  assert.ok(fives === 0 || fives === 2, `AddTwice left ${fives} of its 2 events in the journal: the command was half applied`);
}));

Crash('an append whose outcome is unknown (committed, then failed) is recovered once, not twice', () => using(async (open) => {
  let armed = false;
  const h = open({ fault: (point) => { if (point === 'after-commit' && armed) { armed = false; throw new Error('acknowledgement lost'); } } });
  await h.actor.ask({ type: 'Add', n: 1 });
  armed = true;
  const err = await h.actor.ask({ type: 'Add', n: 2 }).then(() => null, (e: Error) => e);
  assert.ok(err);
  assert.match(err!.message, 'append outcome unknown (acknowledgement lost)');
  await until('ActorRestarted', () => h.log.recent().some((e) => e.type === 'ActorRestarted'));
  await h.actor.ask({ type: 'Add', n: 3 });
  const events = await journalEvents(h.journal);
  assert.equal(events.map((e) => [e.seq, e.data.n]), [[1, 1], [2, 2], [3, 3]]);
  assert.equal(stateOf(h), fold(counter([]), events.map((e) => e.data)));
  assert.equal(stateOf(h), { total: 6, count: 3 });
}));

Crash('a stop-on-crash policy stops the actor and records ActorStopped', () => using(async (open) => {
  const h = open({ policy: { name: 'stop-on-crash', maxRestarts: 0, withinMs: 1, backoff: { initialMs: 0, factor: 1, maxMs: 0 }, whenExhausted: 'stop' } });
  await h.actor.ask({ type: 'Add', n: 1 });
  await h.actor.ask({ type: 'Fail' }).then(() => assert.unreachable('ask should reject'), () => undefined);
  await until('ActorStopped', () => h.log.recent().some((e) => e.type === 'ActorStopped'));
  assert.equal(h.log.recent().map((e) => e.type), ['ActorCrashed', 'ActorStopped']);
  const info = h.registry.get(h.path)!.info;
  assert.equal([info.status, info.restarts, info.mailboxDepth], ['stopped', 0, null]);
}));

Crash('escalating a crash of a top-level actor: SupervisionEscalated, and the system stops the actor', () => using(async (open) => {
  const h = open({ policy: escalateOnCrash() });
  await h.actor.ask({ type: 'Add', n: 1 });
  await h.actor.ask({ type: 'Fail' }).then(() => assert.unreachable('ask should reject'), () => undefined);
  await until('SupervisionEscalated', () => h.log.recent().some((e) => e.type === 'SupervisionEscalated'));
  await until('the actor to be stopped', () => !isAlive(h.actor.ref), 2_000);
}));

Crash('a journal that cannot be replayed: restarts up to the limit, then escalation stops the actor (no zombie)', () => using(async (open) => {
  const store = createMemoryStore();
  const seed = createMemoryJournal({ store });
  await seed.append(KEY, 1, [{ type: 'Added', schemaVersion: 1, timestamp: 1, data: { type: 'Added', n: 1 } }]);
  await seed.append(KEY, 2, [{ type: 'Renamed', schemaVersion: 1, timestamp: 2, data: { type: 'Renamed' } }]);
  const h = open({ store, policy: restartWithBackoff({ maxRestarts: 2, backoff: { initialMs: 5, factor: 2, maxMs: 20 } }) });
  await until('SupervisionEscalated', () => h.log.recent().some((e) => e.type === 'SupervisionEscalated'));
  assert.equal(h.log.recent().map((e) => e.type), ['ActorCrashed', 'ActorRestarted', 'ActorCrashed', 'ActorRestarted', 'ActorCrashed', 'SupervisionEscalated']);
  assert.match(h.registry.get(h.path)!.info.lastError ?? '', 'corrupt event {"type":"Renamed"}');
  assert.equal(h.recovered, [], 'never recovered');
  await until('the actor to be stopped', () => !isAlive(h.actor.ref), 2_000);
}));

Crash.run();

// ---------------------------------------------------------------------------------------------------------

const Registry = suite('registry');

Registry('the registry shows the actor recovering, then running with its seq, snapshot and summary', () => using(async (open) => {
  const h = open({ snapshotEvery: 3 });
  const first = h.registry.get(h.path)!;
  assert.equal([first.info.status, first.info.seq, first.info.kind, first.info.persistenceKey], ['recovering', 0, 'counter', KEY]);
  assert.equal(first.state, { total: 0, count: 0 });
  for (const n of [1, 2, 3, 4]) await h.actor.ask({ type: 'Add', n });
  await until('lastSnapshotSeq 3', () => h.registry.get(h.path)!.info.lastSnapshotSeq === 3);
  const { info, state } = h.registry.get(h.path)!;
  assert.equal(info, { path: h.path, kind: 'counter', status: 'running', persistenceKey: KEY, seq: 4, lastSnapshotSeq: 3, restarts: 0, mailboxDepth: 0, lastError: null });
  assert.equal(state, { total: 10, count: 4 });
  assert.equal(h.registry.list().map((a) => a.path), [h.path]);
}));

Registry.run();
