/**
 * Supervision policies: small named functions (Erlang/OTP style restart intensity within a period, with
 * exponential backoff). `decideRestart` is pure and unit-tested with fake errors; `supervise` turns a policy
 * into nact's onCrash, recording every decision (crashed, restarted, stopped, escalated) as an event.
 */
import type { OnCrash, Ref } from './nact';
import { dispatch, isAlive, pathOf } from './nact';
import type { SupervisionLog } from './supervision-log';
import type { ActorRegistry } from './registry';

export interface RestartPolicy {
  readonly name: string;
  /** at most this many restarts … */
  readonly maxRestarts: number;
  /** … within this sliding window; one more crash and the policy gives up */
  readonly withinMs: number;
  readonly backoff: { readonly initialMs: number; readonly factor: number; readonly maxMs: number };
  /** what happens when the restart budget is spent */
  readonly whenExhausted: 'escalate' | 'stop';
}

export type SupervisionDecision =
  | { action: 'restart'; delayMs: number; restartsInWindow: number }
  | { action: 'escalate' | 'stop'; reason: string };

/** Restart with backoff, at most 5 times a minute, then escalate to the parent. */
export const restartWithBackoff = (overrides: Partial<Omit<RestartPolicy, 'name'>> = {}): RestartPolicy => ({
  name: 'restart-with-backoff',
  maxRestarts: 5,
  withinMs: 60_000,
  backoff: { initialMs: 100, factor: 2, maxMs: 5_000 },
  whenExhausted: 'escalate',
  ...overrides,
});

/** Never restart: stop the actor on its first crash. */
export const stopOnCrash = (): RestartPolicy => ({ name: 'stop-on-crash', maxRestarts: 0, withinMs: 1, backoff: { initialMs: 0, factor: 1, maxMs: 0 }, whenExhausted: 'stop' });

/** Never restart here: hand the crash to the parent. */
export const escalateOnCrash = (): RestartPolicy => ({ name: 'escalate', maxRestarts: 0, withinMs: 1, backoff: { initialMs: 0, factor: 1, maxMs: 0 }, whenExhausted: 'escalate' });

/**
 * Given the times of earlier crashes (restarts granted) and now, decide. Pure.
 * Returns the decision and the crash history to keep (only crashes inside the window).
 */
export function decideRestart(policy: RestartPolicy, earlier: readonly number[], now: number): { decision: SupervisionDecision; history: number[] } {
  const recent = earlier.filter((t) => now - t < policy.withinMs);
  if (recent.length >= policy.maxRestarts) {
    const reason = policy.maxRestarts === 0
      ? `policy ${policy.name} does not restart`
      : `${recent.length} restarts within ${policy.withinMs} ms reached the limit of ${policy.maxRestarts}`;
    return { decision: { action: policy.whenExhausted, reason }, history: recent };
  }
  const n = recent.length; // restarts already granted in the window
  const delayMs = Math.min(policy.backoff.maxMs, Math.round(policy.backoff.initialMs * policy.backoff.factor ** n));
  return { decision: { action: 'restart', delayMs, restartsInWindow: n + 1 }, history: [...recent, now] };
}

export interface SuperviseOptions {
  policy: RestartPolicy;
  log: SupervisionLog;
  registry?: ActorRegistry;
  /** clock, injectable for tests */
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  /** whether the crashed actor still runs (default: nact's own view; injectable for tests with fake refs) */
  alive?: (ref: Ref<unknown>) => boolean;
}

const errorText = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/**
 * nact onCrash for one actor. A message carrying `replyTo` gets `{ ok: false, error }` so a waiting caller
 * does not hang until its timeout. Restart = nact reset: the actor re-recovers from its journal.
 *
 * An actor stopped while its crash is being decided (the service stopping during the backoff, its journal
 * closed) is left stopped: nothing more is recorded and nact is told to resume, which a stopped actor ignores.
 * A restart would recover it again against the closed journal, crash again and finally escalate to a parent
 * nact has already let go of (a TypeError that ended the process).
 */
export function supervise<M>(opts: SuperviseOptions): OnCrash<M> {
  let history: number[] = [];
  const now = opts.now ?? Date.now;
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const alive = opts.alive ?? isAlive;
  return async (msg, err, ctx, child) => {
    const path = child ? pathOf(child) : pathOf(ctx.self);
    const replyTo = (msg as { replyTo?: Ref<unknown> } | undefined)?.replyTo;
    if (replyTo) dispatch(replyTo, { ok: false, error: errorText(err) });
    const target = child ?? ctx.self;
    if (!alive(target)) return ctx.resume;
    const at = now();
    await opts.log.record({ type: 'ActorCrashed', path, error: errorText(err), at });
    opts.registry?.crashed(path, errorText(err));
    const { decision, history: kept } = decideRestart(opts.policy, history, at);
    history = kept;
    switch (decision.action) {
      case 'restart':
        await sleep(decision.delayMs);
        if (!alive(target)) return ctx.resume;
        await opts.log.record({ type: 'ActorRestarted', path, at: now(), delayMs: decision.delayMs, restartsInWindow: decision.restartsInWindow });
        opts.registry?.restarting(path);
        return child ? ctx.resetChild : ctx.reset;
      case 'stop':
        await opts.log.record({ type: 'ActorStopped', path, at: now(), reason: decision.reason });
        opts.registry?.stopped(path);
        return child ? ctx.stopChild : ctx.stop;
      case 'escalate':
        await opts.log.record({ type: 'SupervisionEscalated', path, at: now(), reason: decision.reason });
        return ctx.escalate;
      default: {
        const never: never = decision;
        throw new Error(`unknown supervision decision ${JSON.stringify(never)}`);
      }
    }
  };
}
