/**
 * Supervision policies with fake clocks and fake errors: `decideRestart` (pure) and `supervise` (nact's onCrash)
 * with a memory supervision log, a fake sleep and a fake supervision context. Dispatching `{ ok: false }` to a
 * caller is tested through the event-sourced helper (event-sourced.test.ts), where a real nact actor crashes.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Ref, SupervisionContext } from '../../src/actors/runtime/nact';
import { ActorRegistry } from '../../src/actors/runtime/registry';
import { decideRestart, escalateOnCrash, restartWithBackoff, stopOnCrash, supervise, type RestartPolicy } from '../../src/actors/runtime/supervision';
import { memorySupervisionLog, type SupervisionLog } from '../../src/actors/runtime/supervision-log';
import { deepFreeze } from '../support/given';

/** 3 restarts within 1 s, backoff 100 · 2^n capped at 300 ms, then stop. */
const THREE_A_SECOND: RestartPolicy = restartWithBackoff({ maxRestarts: 3, withinMs: 1_000, backoff: { initialMs: 100, factor: 2, maxMs: 300 }, whenExhausted: 'stop' });

/** Feed crash times through decideRestart as a supervisor would, keeping the returned history. */
function crashesAt(policy: RestartPolicy, times: number[]) {
  let history: number[] = [];
  return times.map((t) => {
    const r = decideRestart(policy, deepFreeze([...history]), t);
    history = r.history;
    return { ...r.decision, history: [...r.history] };
  });
}

// ---------------------------------------------------------------------------------------------------------

const Decide = suite('decideRestart');

Decide('restarts are granted up to maxRestarts within the window, then the policy gives up', () => {
  assert.equal(crashesAt(THREE_A_SECOND, [0, 10, 20, 30]), [
    { action: 'restart', delayMs: 100, restartsInWindow: 1, history: [0] },
    { action: 'restart', delayMs: 200, restartsInWindow: 2, history: [0, 10] },
    { action: 'restart', delayMs: 300, restartsInWindow: 3, history: [0, 10, 20] }, // 400 capped at 300
    { action: 'stop', reason: '3 restarts within 1000 ms reached the limit of 3', history: [0, 10, 20] },
  ]);
});

Decide('backoff doubles from initialMs and is capped at maxMs', () => {
  const policy = restartWithBackoff({ maxRestarts: 10, withinMs: 60_000 });
  const delays = crashesAt(policy, [0, 1, 2, 3, 4, 5, 6, 7]).map((d) => (d.action === 'restart' ? d.delayMs : d.action));
  assert.equal(delays, [100, 200, 400, 800, 1_600, 3_200, 5_000, 5_000]);
});

Decide('a fractional factor is rounded to whole milliseconds', () => {
  const policy = restartWithBackoff({ maxRestarts: 5, backoff: { initialMs: 100, factor: 1.5, maxMs: 10_000 } });
  const delays = crashesAt(policy, [0, 1, 2, 3]).map((d) => (d.action === 'restart' ? d.delayMs : d.action));
  assert.equal(delays, [100, 150, 225, 338]); // 100 · 1.5³ = 337.5 → 338
});

Decide('the window slides: crashes older than withinMs are forgotten and the backoff starts lower again', () => {
  const r = crashesAt(THREE_A_SECOND, [0, 10, 20, 1_000, 1_015, 1_019]);
  assert.equal(r[3], { action: 'restart', delayMs: 300, restartsInWindow: 3, history: [10, 20, 1_000] }, 'at 1000 the crash at 0 is exactly 1000 ms old: out of the window');
  assert.equal(r[4], { action: 'restart', delayMs: 300, restartsInWindow: 3, history: [20, 1_000, 1_015] }, 'at 1015 the crash at 10 is out');
  assert.equal(r[5], { action: 'stop', reason: '3 restarts within 1000 ms reached the limit of 3', history: [20, 1_000, 1_015] }, 'at 1019 three crashes are still in the window');
  const later = decideRestart(THREE_A_SECOND, [20, 1_000, 1_015], 5_000);
  assert.equal(later, { decision: { action: 'restart', delayMs: 100, restartsInWindow: 1 }, history: [5_000] }, 'after a quiet period everything is forgotten');
});

Decide('a crash one millisecond inside the window still counts', () => {
  assert.equal(decideRestart(THREE_A_SECOND, [0, 10, 20], 999).decision.action, 'stop');
  assert.equal(decideRestart(THREE_A_SECOND, [0, 10, 20], 1_000).decision.action, 'restart');
});

Decide('exhausted: escalate when the policy says so', () => {
  const policy = restartWithBackoff({ maxRestarts: 1, withinMs: 500 });
  assert.equal(crashesAt(policy, [0, 100]).map((d) => d.action), ['restart', 'escalate']);
  assert.equal(decideRestart(policy, [0], 100).decision, { action: 'escalate', reason: '1 restarts within 500 ms reached the limit of 1' });
});

Decide('restartWithBackoff defaults: 5 restarts a minute, 100 ms doubling to 5 s, then escalate', () => {
  assert.equal(restartWithBackoff(), { name: 'restart-with-backoff', maxRestarts: 5, withinMs: 60_000, backoff: { initialMs: 100, factor: 2, maxMs: 5_000 }, whenExhausted: 'escalate' });
  const d = crashesAt(restartWithBackoff(), [0, 1, 2, 3, 4, 5]);
  assert.equal(d.map((x) => x.action), ['restart', 'restart', 'restart', 'restart', 'restart', 'escalate']);
});

Decide('stopOnCrash stops on the first crash, escalateOnCrash escalates on it', () => {
  assert.equal(decideRestart(stopOnCrash(), [], 0), { decision: { action: 'stop', reason: 'policy stop-on-crash does not restart' }, history: [] });
  assert.equal(decideRestart(escalateOnCrash(), [], 0), { decision: { action: 'escalate', reason: 'policy escalate does not restart' }, history: [] });
});

Decide.run();

// ---------------------------------------------------------------------------------------------------------

interface Fake {
  ctx: SupervisionContext<unknown>;
  child: Ref<unknown>;
  log: SupervisionLog;
  registry: ActorRegistry;
  slept: number[];
  clock: { now: number };
  onCrash: ReturnType<typeof supervise<unknown>>;
}

const ref = (system: string, ...parts: string[]): Ref<unknown> => ({ path: { parts, system }, name: parts[parts.length - 1], type: 'actor', system: { name: system } });

/** A fake nact supervision context with a distinct symbol per directive; sleep advances the fake clock. */
function fake(policy: RestartPolicy, start = 1_000, running: { alive: boolean } = { alive: true }): Fake {
  const directives = {
    stop: Symbol('stop'), stopAll: Symbol('stopAll'), stopChild: Symbol('stopChild'), stopAllChildren: Symbol('stopAllChildren'),
    escalate: Symbol('escalate'), resume: Symbol('resume'), reset: Symbol('reset'), resetAll: Symbol('resetAll'),
    resetChild: Symbol('resetChild'), resetAllChildren: Symbol('resetAllChildren'),
  };
  const self = ref('svc', 'round');
  const ctx = { ...directives, self, parent: ref('svc'), name: 'round', path: { parts: ['round'], toString: () => 'svc/round' }, children: new Map(), mailbox: [] } as SupervisionContext<unknown>;
  const log = memorySupervisionLog();
  const registry = new ActorRegistry();
  registry.register('svc/round', 'round', null, 'svc/round');
  registry.register('svc/round/worker', 'worker', null);
  const slept: number[] = [];
  const clock = { now: start };
  const onCrash = supervise<unknown>({ policy, log, registry, now: () => clock.now, sleep: async (ms) => { slept.push(ms); clock.now += ms; }, alive: () => running.alive });
  return { ctx, child: ref('svc', 'round', 'worker'), log, registry, slept, clock, onCrash };
}

const Supervise = suite('supervise');

Supervise('an actor stopped before or during the decision stays stopped: resume (a no-op for nact), nothing more recorded', async () => {
  const gone = fake(THREE_A_SECOND, 1_000, { alive: false });
  assert.is(await gone.onCrash({ command: 'x' }, new Error('journal closed'), gone.ctx), gone.ctx.resume);
  assert.equal([gone.log.recent(), gone.slept], [[], []]);
  const running = { alive: true };
  const during = fake(THREE_A_SECOND, 1_000, running);
  const decided = during.onCrash({ command: 'x' }, new Error('journal closed'), during.ctx);
  running.alive = false; // the service stops while the actor waits out its backoff
  assert.is(await decided, during.ctx.resume);
  assert.equal(during.log.recent().map((e) => e.type), ['ActorCrashed'], 'no ActorRestarted: the actor was not restarted');
});

Supervise('a crash within budget: ActorCrashed, a backoff sleep, ActorRestarted, and nact reset', async () => {
  const f = fake(THREE_A_SECOND);
  const directive = await f.onCrash({ command: 'x' }, new Error('boom'), f.ctx);
  assert.is(directive, f.ctx.reset);
  assert.equal(f.slept, [100]);
  assert.equal(f.log.recent(), [
    { type: 'ActorCrashed', path: 'svc/round', error: 'boom', at: 1_000 },
    { type: 'ActorRestarted', path: 'svc/round', at: 1_100, delayMs: 100, restartsInWindow: 1 },
  ]);
  const info = f.registry.get('svc/round')!.info;
  assert.equal([info.status, info.restarts, info.lastError], ['restarting', 1, 'boom']);
});

Supervise('repeated crashes back off 100, 200, 300 (capped) then stop: ActorStopped and nact stop', async () => {
  const f = fake(THREE_A_SECOND);
  const directives: symbol[] = [];
  for (let i = 0; i < 4; i++) {
    directives.push(await f.onCrash(undefined, new Error(`boom ${i + 1}`), f.ctx));
    f.clock.now += 10;
  }
  assert.equal(directives, [f.ctx.reset, f.ctx.reset, f.ctx.reset, f.ctx.stop]);
  assert.equal(f.slept, [100, 200, 300]);
  // clock: 1000 crash → 1100 restart, +10 → 1110 crash → 1310 restart, +10 → 1320 crash → 1620 restart, +10 → 1630 crash
  assert.equal(f.log.recent().map((e) => [e.type, e.at]), [
    ['ActorCrashed', 1_000], ['ActorRestarted', 1_100],
    ['ActorCrashed', 1_110], ['ActorRestarted', 1_310],
    ['ActorCrashed', 1_320], ['ActorRestarted', 1_620],
    ['ActorCrashed', 1_630], ['ActorStopped', 1_630],
  ]);
  assert.equal(f.log.recent().at(-1), { type: 'ActorStopped', path: 'svc/round', at: 1_630, reason: '3 restarts within 1000 ms reached the limit of 3' });
  const info = f.registry.get('svc/round')!.info;
  assert.equal([info.status, info.restarts, info.lastError], ['stopped', 3, 'boom 4']);
});

Supervise('after a quiet window the budget is back', async () => {
  const f = fake(THREE_A_SECOND);
  for (let i = 0; i < 3; i++) await f.onCrash(undefined, new Error('boom'), f.ctx);
  f.clock.now += 5_000;
  assert.is(await f.onCrash(undefined, new Error('boom'), f.ctx), f.ctx.reset);
  assert.equal(f.slept, [100, 200, 300, 100]);
});

Supervise('exhausted with an escalating policy: SupervisionEscalated and nact escalate', async () => {
  const f = fake(restartWithBackoff({ maxRestarts: 1, withinMs: 1_000, backoff: { initialMs: 50, factor: 2, maxMs: 1_000 } }));
  assert.is(await f.onCrash(undefined, new Error('first'), f.ctx), f.ctx.reset);
  assert.is(await f.onCrash(undefined, new Error('second'), f.ctx), f.ctx.escalate);
  assert.equal(f.log.recent().slice(2), [
    { type: 'ActorCrashed', path: 'svc/round', error: 'second', at: 1_050 },
    { type: 'SupervisionEscalated', path: 'svc/round', at: 1_050, reason: '1 restarts within 1000 ms reached the limit of 1' },
  ]);
  assert.equal(f.slept, [50]);
});

Supervise('stopOnCrash: ActorStopped on the first crash, no sleep, nact stop', async () => {
  const f = fake(stopOnCrash());
  assert.is(await f.onCrash(undefined, new Error('bad'), f.ctx), f.ctx.stop);
  assert.equal(f.slept, []);
  assert.equal(f.log.recent(), [
    { type: 'ActorCrashed', path: 'svc/round', error: 'bad', at: 1_000 },
    { type: 'ActorStopped', path: 'svc/round', at: 1_000, reason: 'policy stop-on-crash does not restart' },
  ]);
  assert.is(f.registry.get('svc/round')!.info.status, 'stopped');
});

Supervise('escalateOnCrash: SupervisionEscalated on the first crash, nact escalate', async () => {
  const f = fake(escalateOnCrash());
  assert.is(await f.onCrash(undefined, new Error('bad'), f.ctx), f.ctx.escalate);
  assert.equal(f.log.recent().map((e) => e.type), ['ActorCrashed', 'SupervisionEscalated']);
  assert.equal(f.registry.get('svc/round')!.info.restarts, 0);
});

Supervise('a crashed child is named by its own path and gets resetChild / stopChild', async () => {
  const f = fake(restartWithBackoff({ maxRestarts: 1, withinMs: 1_000, whenExhausted: 'stop' }));
  assert.is(await f.onCrash(undefined, new Error('child down'), f.ctx, f.child), f.ctx.resetChild);
  assert.is(await f.onCrash(undefined, new Error('child down again'), f.ctx, f.child), f.ctx.stopChild);
  assert.equal(new Set(f.log.recent().map((e) => e.path)), new Set(['svc/round/worker']));
  assert.equal(f.registry.get('svc/round/worker')!.info.status, 'stopped');
  assert.equal(f.registry.get('svc/round')!.info.restarts, 0, 'the parent was not restarted');
});

Supervise('a thrown non-Error is recorded as its text', async () => {
  const f = fake(stopOnCrash());
  await f.onCrash(undefined, 'plain string', f.ctx);
  assert.equal(f.log.recent()[0], { type: 'ActorCrashed', path: 'svc/round', error: 'plain string', at: 1_000 });
});

Supervise('ActorCrashed is recorded before the backoff sleep starts', async () => {
  const log = memorySupervisionLog();
  const seen: string[][] = [];
  const onCrash = supervise<unknown>({ policy: THREE_A_SECOND, log, now: () => 0, sleep: async () => { seen.push(log.recent().map((e) => e.type)); }, alive: () => true });
  const f = fake(THREE_A_SECOND);
  await onCrash(undefined, new Error('boom'), f.ctx);
  assert.equal(seen, [['ActorCrashed']]);
});

Supervise.run();
