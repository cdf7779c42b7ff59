/**
 * A decider (Chassaing / Emmett style): pure functions, no clock, no randomness, no I/O.
 * - decide(command, state) → the events it causes (empty: nothing happens). Domain rejections are events.
 * - evolve(state, event) → the next state. Must not mutate `state`. Replay runs only this.
 */
export interface Decider<C, E extends { type: string }, S> {
  readonly initialState: S;
  decide(command: C, state: S): readonly E[];
  evolve(state: S, event: E): S;
}

/** Fold events from a state: what replay does. */
export const fold = <C, E extends { type: string }, S>(d: Decider<C, E, S>, events: Iterable<E>, from: S = d.initialState): S => {
  let s = from;
  for (const e of events) s = d.evolve(s, e);
  return s;
};
