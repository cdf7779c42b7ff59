/**
 * Decider tests in the shape `given(decider, events).when(command).then(expectedEvents)`.
 *
 * - `given` folds the history with `evolve`, deep-freezing every intermediate state, so a decider that mutates
 *   its input state fails every test with a TypeError instead of passing by accident.
 * - `then(expected)` deep-equals the events `decide` returned (order matters).
 * - `thenState(check)` looks at the state after the produced events were applied: either a predicate (return
 *   false or throw to fail) or an expected partial state whose keys are each deep-equalled.
 * Both return the same chain, so `.then([...]).thenState({...})` reads as one sentence.
 */
import * as assert from 'uvu/assert';
import { fold, type Decider } from '../../src/actors/runtime/decider';

/** Recursively freeze a plain value (objects and arrays); typed arrays and already-frozen values are left alone. */
export function deepFreeze<T>(value: T): T {
  if (value === null || typeof value !== 'object' || Object.isFrozen(value) || ArrayBuffer.isView(value)) return value;
  for (const v of Object.values(value as Record<string, unknown>)) deepFreeze(v);
  return Object.freeze(value);
}

export interface Then<E, S> {
  /** what decide returned */
  readonly events: readonly E[];
  /** the state before the command */
  readonly before: S;
  /** the state after the produced events */
  readonly state: S;
  then(expected: readonly E[]): Then<E, S>;
  thenState(check: ((state: S) => boolean | void) | Partial<S>, message?: string): Then<E, S>;
}

export function given<C, E extends { type: string }, S>(decider: Decider<C, E, S>, history: readonly E[] = []) {
  const before = history.reduce<S>((s, e) => deepFreeze(decider.evolve(s, deepFreeze(e))), deepFreeze(decider.initialState));
  return {
    /** the state the history folds to */
    state: before,
    when(command: C): Then<E, S> {
      const events = decider.decide(deepFreeze(command), before);
      const state = fold(decider, events, before);
      const chain: Then<E, S> = {
        events,
        before,
        state,
        then(expected) {
          assert.equal(events, expected);
          return chain;
        },
        thenState(check, message) {
          if (typeof check === 'function') {
            const ok = (check as (s: S) => boolean | void)(state);
            assert.ok(ok !== false, message ?? `the state after ${JSON.stringify(events.map((e) => e.type))} does not satisfy the predicate`);
          } else {
            for (const [k, v] of Object.entries(check as Record<string, unknown>)) {
              assert.equal((state as Record<string, unknown>)[k], v, message ?? `state.${k}`);
            }
          }
          return chain;
        },
      };
      return chain;
    },
  };
}
