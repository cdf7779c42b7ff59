/**
 * The round decider, one suite per phase: given(history).when(command).then(events).
 * Numbers are written out by hand: settings quorum 3, minUpdates 2, deadline 60 s, max update 1000 bytes.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { fold } from '../../src/actors/runtime/decider';
import { evolveRound, roundDecider } from '../../src/actors/aggregator/round.decider';
import type { RoundCommand, RoundEvent, UpdateFacts } from '../../src/actors/aggregator/round.events';
import { initialRoundState, roundHistory, type RoundSettings, type RoundState } from '../../src/actors/aggregator/round.state';
import { deepFreeze, given } from '../support/given';

const SETTINGS: RoundSettings = { quorum: 3, minUpdates: 2, deadlineMs: 60_000, maxUpdateBytes: 1000, strategy: { name: 'fedavg', trimRatio: null } };
const decider = roundDecider(SETTINGS);

const LAYERS = [{ name: 'dense/kernel', shape: [2, 2] }, { name: 'dense/bias', shape: [2] }];
const hash = (c: string): string => c.repeat(64);
const H0 = hash('0');
const H1 = hash('1');
const H2 = hash('2');

const T0 = 1_700_000_000_000;
const OPEN1 = T0 + 1_000; // round 1 opens here …
const DEADLINE1 = OPEN1 + 60_000; // … and its deadline is 60 s later

// ---------------------------------------------------------------------------------------------------------
// Events and commands, written out

const initialised: RoundEvent = { type: 'ModelInitialised', version: 0, hash: H0, layers: LAYERS, seed: 42, at: T0 };
const opened = (round: number, baseVersion: number, at: number): RoundEvent =>
  ({ type: 'RoundOpened', round, baseVersion, quorum: 3, minUpdates: 2, deadline: at + 60_000, openedAt: at });
const accepted = (round: number, client: string, at: number, sampleCount = 10): RoundEvent =>
  ({ type: 'UpdateAccepted', round, clientId: `c-${client}`, updateId: `u-${client}-${round}`, hash: hash(client), sampleCount, receivedAt: at });

function facts(client: string, patch: Partial<UpdateFacts> = {}): UpdateFacts {
  return { clientId: `c-${client}`, updateId: `u-${client}-1`, round: 1, baseVersion: 0, sampleCount: 10, layers: LAYERS, hash: hash(client), nonFiniteCount: 0, payloadBytes: 500, ...patch };
}
const submit = (u: UpdateFacts, now: number): RoundCommand => ({ type: 'SubmitUpdate', update: u, now });
const rejected = (round: number | null, u: UpdateFacts, reason: string, detail: string, at: number): RoundEvent =>
  ({ type: 'UpdateRejected', round, claimedRound: u.round, clientId: u.clientId, updateId: u.updateId, reason, detail, receivedAt: at } as RoundEvent);

/** Round 1 on version 0 open, nothing received yet. */
const COLLECTING1: RoundEvent[] = [initialised, opened(1, 0, OPEN1)];

/** Round 1 aggregated into version 1 and published; round 2 open on version 1. */
const PUBLISHED1: RoundEvent[] = [
  ...COLLECTING1,
  accepted(1, 'c', OPEN1 + 10), accepted(1, 'a', OPEN1 + 20), accepted(1, 'b', OPEN1 + 30),
  { type: 'RoundClosed', round: 1, reason: 'quorum', accepted: 3, closedAt: OPEN1 + 30 },
  { type: 'ModelAggregated', round: 1, version: 1, parentVersion: 0, hash: H1, strategy: { name: 'fedavg', trimRatio: null }, updates: [
    { clientId: 'c-a', updateId: 'u-a-1', hash: hash('a'), sampleCount: 10 },
    { clientId: 'c-b', updateId: 'u-b-1', hash: hash('b'), sampleCount: 10 },
    { clientId: 'c-c', updateId: 'u-c-1', hash: hash('c'), sampleCount: 10 },
  ], createdAt: OPEN1 + 40 },
  { type: 'ModelPublished', version: 1, publishedAt: OPEN1 + 50 },
];
const OPEN2 = OPEN1 + 2_000;
const COLLECTING2: RoundEvent[] = [...PUBLISHED1, opened(2, 1, OPEN2)];

const other: RoundCommand[] = [
  { type: 'Initialise', hash: H2, layers: LAYERS, seed: 7, now: T0 + 5 },
  { type: 'OpenRound', now: T0 + 5 },
  { type: 'DeadlineReached', round: 1, now: DEADLINE1 + 5 },
  { type: 'RecordAggregate', round: 1, hash: H2, now: T0 + 5 },
  { type: 'ConfirmPublished', version: 1, now: T0 + 5 },
];
const ignored = (history: RoundEvent[], except: RoundCommand['type'][]) => {
  for (const c of other.filter((c) => !except.includes(c.type))) {
    const r = given(decider, history).when(c);
    assert.equal(r.events, [], `${c.type} should cause no events in phase ${r.before.phase}`);
  }
};

// ---------------------------------------------------------------------------------------------------------

const Uninitialised = suite('Uninitialised');

Uninitialised('Initialise records version 0 with its hash, layers, seed and time', () => {
  given(decider, [])
    .when({ type: 'Initialise', hash: H0, layers: LAYERS, seed: 42, now: T0 })
    .then([{ type: 'ModelInitialised', version: 0, hash: H0, layers: LAYERS, seed: 42, at: T0 }])
    .thenState({ phase: 'Idle', version: 0, layers: LAYERS, nextRound: 1, models: [{ version: 0, hash: H0, parentVersion: null, round: 0, strategy: null, updates: [], createdAt: T0, publishedAt: T0 }] });
});

Uninitialised('an update before the initial model is rejected as no-open-round, outside any round', () => {
  const u = facts('a');
  given(decider, [])
    .when(submit(u, T0))
    .then([rejected(null, u, 'no-open-round', 'the aggregator has no initial model yet', T0)])
    .thenState({ phase: 'Uninitialised', rejectedOutsideRounds: 1, rounds: [] });
});

Uninitialised('every other command causes nothing', () => ignored([], ['Initialise']));

Uninitialised.run();

// ---------------------------------------------------------------------------------------------------------

const Idle = suite('Idle');

Idle('OpenRound opens round 1 on version 0 with deadline = now + deadlineMs', () => {
  given(decider, [initialised])
    .when({ type: 'OpenRound', now: OPEN1 })
    .then([{ type: 'RoundOpened', round: 1, baseVersion: 0, quorum: 3, minUpdates: 2, deadline: T0 + 61_000, openedAt: T0 + 1_000 }])
    .thenState((s) => s.phase === 'Collecting' && s.current === 1 && s.nextRound === 2 && s.rounds[0]!.status === 'collecting');
});

Idle('after a published version, OpenRound bases the next round on it', () => {
  given(decider, PUBLISHED1)
    .when({ type: 'OpenRound', now: OPEN2 })
    .then([{ type: 'RoundOpened', round: 2, baseVersion: 1, quorum: 3, minUpdates: 2, deadline: OPEN2 + 60_000, openedAt: OPEN2 }]);
});

Idle('the quorum and minUpdates of the round come from the settings at opening', () => {
  const other = roundDecider({ ...SETTINGS, quorum: 5, minUpdates: 4, deadlineMs: 250 });
  given(other, [initialised])
    .when({ type: 'OpenRound', now: 100 })
    .then([{ type: 'RoundOpened', round: 1, baseVersion: 0, quorum: 5, minUpdates: 4, deadline: 350, openedAt: 100 }]);
});

Idle('an update for a round already over is rejected as closed-round', () => {
  const u = facts('d', { round: 1, baseVersion: 0 });
  given(decider, PUBLISHED1)
    .when(submit(u, OPEN2))
    .then([rejected(null, u, 'closed-round', 'round 1 is closed', OPEN2)])
    .thenState({ rejectedOutsideRounds: 1 });
});

Idle('an update for a round not yet opened is rejected as unknown-round', () => {
  const u = facts('d', { round: 2, baseVersion: 1 });
  given(decider, PUBLISHED1)
    .when(submit(u, OPEN2))
    .then([rejected(null, u, 'unknown-round', 'round 2 is not open (next round is 2)', OPEN2)]);
});

Idle('Initialise, DeadlineReached, RecordAggregate and ConfirmPublished cause nothing', () => ignored([initialised], ['OpenRound']));

Idle.run();

// ---------------------------------------------------------------------------------------------------------

const Collecting = suite('Collecting');

Collecting('an update that passes every check is accepted', () => {
  given(decider, COLLECTING1)
    .when(submit(facts('a', { sampleCount: 25 }), OPEN1 + 5))
    .then([{ type: 'UpdateAccepted', round: 1, clientId: 'c-a', updateId: 'u-a-1', hash: hash('a'), sampleCount: 25, receivedAt: OPEN1 + 5 }])
    .thenState((s) => s.phase === 'Collecting' && s.rounds[0]!.accepted.length === 1 && s.rounds[0]!.accepted[0]!.receivedAt === OPEN1 + 5);
});

Collecting('the update that reaches the quorum is accepted and closes the round on quorum', () => {
  given(decider, [...COLLECTING1, accepted(1, 'a', OPEN1 + 1), accepted(1, 'b', OPEN1 + 2)])
    .when(submit(facts('c'), OPEN1 + 3))
    .then([
      { type: 'UpdateAccepted', round: 1, clientId: 'c-c', updateId: 'u-c-1', hash: hash('c'), sampleCount: 10, receivedAt: OPEN1 + 3 },
      { type: 'RoundClosed', round: 1, reason: 'quorum', accepted: 3, closedAt: OPEN1 + 3 },
    ])
    .thenState((s) => s.phase === 'Aggregating' && s.current === 1 && s.rounds[0]!.status === 'aggregating' && s.rounds[0]!.closeReason === 'quorum' && s.rounds[0]!.closedAt === OPEN1 + 3);
});

Collecting('one update short of the quorum does not close the round', () => {
  given(decider, [...COLLECTING1, accepted(1, 'a', OPEN1 + 1)])
    .when(submit(facts('b'), OPEN1 + 2))
    .then([accepted(1, 'b', OPEN1 + 2)]);
});

const rejections: Array<{ name: string; history: RoundEvent[]; u: UpdateFacts; reason: string; detail: string; round: number }> = [
  { name: 'an update for an older round', history: COLLECTING2, u: facts('d', { round: 1 }), reason: 'closed-round', detail: 'round 1 is closed; round 2 is open', round: 2 },
  { name: 'an update for a future round', history: COLLECTING1, u: facts('d', { round: 2 }), reason: 'unknown-round', detail: 'round 2 does not exist; round 1 is open', round: 1 },
  { name: 'an update trained on an older version', history: COLLECTING2, u: facts('d', { round: 2, baseVersion: 0, updateId: 'u-d-2' }), reason: 'stale-base-version', detail: 'trained on version 0, round 2 aggregates on version 1', round: 2 },
  { name: 'the same update twice', history: [...COLLECTING1, accepted(1, 'a', OPEN1 + 1)], u: facts('a'), reason: 'duplicate-update', detail: 'update u-a-1 was already accepted', round: 1 },
  { name: 'a second update from a counted client', history: [...COLLECTING1, accepted(1, 'a', OPEN1 + 1)], u: facts('a', { updateId: 'u-a-1-retrained' }), reason: 'client-already-counted', detail: 'client c-a already has an update in round 1', round: 1 },
  { name: 'an update of another shape', history: COLLECTING1, u: facts('d', { layers: [{ name: 'dense/kernel', shape: [2, 3] }] }), reason: 'wrong-shape', detail: 'got dense/kernel[2x3], expected dense/kernel[2x2], dense/bias[2]', round: 1 },
  { name: 'an update with a renamed layer', history: COLLECTING1, u: facts('d', { layers: [{ name: 'dense/kernel', shape: [2, 2] }, { name: 'dense/b', shape: [2] }] }), reason: 'wrong-shape', detail: 'got dense/kernel[2x2], dense/b[2], expected dense/kernel[2x2], dense/bias[2]', round: 1 },
  { name: 'an update holding NaN or infinite weights', history: COLLECTING1, u: facts('d', { nonFiniteCount: 3 }), reason: 'non-finite-weights', detail: '3 weights are NaN or infinite', round: 1 },
  { name: 'an update over the size limit', history: COLLECTING1, u: facts('d', { payloadBytes: 1001 }), reason: 'oversized-payload', detail: '1001 bytes exceed the limit of 1000', round: 1 },
];

for (const r of rejections) {
  Collecting(`${r.name} is rejected as ${r.reason}, counted on the open round`, () => {
    const before = given(decider, r.history).state;
    const acceptedBefore = before.rounds.find((x) => x.round === r.round)!.accepted.length;
    given(decider, r.history)
      .when(submit(r.u, OPEN2 + 7))
      .then([rejected(r.round, r.u, r.reason, r.detail, OPEN2 + 7)])
      .thenState((s) => {
        const rec = s.rounds.find((x) => x.round === r.round)!;
        assert.equal(rec.rejected, { [r.reason]: 1 });
        assert.is(rec.accepted.length, acceptedBefore);
        assert.is(s.phase, 'Collecting');
      });
  });
}

Collecting('an update exactly at the size limit is accepted', () => {
  given(decider, COLLECTING1).when(submit(facts('a', { payloadBytes: 1000 }), OPEN1 + 5)).then([accepted(1, 'a', OPEN1 + 5)]);
});

Collecting('rejections of one reason add up on the round', () => {
  const u = facts('d', { nonFiniteCount: 1 });
  const history = [...COLLECTING1, rejected(1, facts('e'), 'non-finite-weights', '1 weights are NaN or infinite', OPEN1 + 1)];
  given(decider, history)
    .when(submit(u, OPEN1 + 2))
    .thenState((s) => { assert.equal(s.rounds[0]!.rejected, { 'non-finite-weights': 2 }); });
});

Collecting('DeadlineReached before the deadline causes nothing', () => {
  given(decider, [...COLLECTING1, accepted(1, 'a', OPEN1 + 1), accepted(1, 'b', OPEN1 + 2)])
    .when({ type: 'DeadlineReached', round: 1, now: DEADLINE1 - 1 })
    .then([]);
});

Collecting('at the deadline with at least minUpdates accepted, the round closes on its deadline', () => {
  given(decider, [...COLLECTING1, accepted(1, 'a', OPEN1 + 1), accepted(1, 'b', OPEN1 + 2)])
    .when({ type: 'DeadlineReached', round: 1, now: DEADLINE1 })
    .then([{ type: 'RoundClosed', round: 1, reason: 'deadline', accepted: 2, closedAt: DEADLINE1 }])
    .thenState((s) => s.phase === 'Aggregating' && s.rounds[0]!.closeReason === 'deadline');
});

Collecting('a DeadlineReached arriving late still closes the round, at the time it arrived', () => {
  given(decider, [...COLLECTING1, accepted(1, 'a', OPEN1 + 1), accepted(1, 'b', OPEN1 + 2)])
    .when({ type: 'DeadlineReached', round: 1, now: DEADLINE1 + 4_000 })
    .then([{ type: 'RoundClosed', round: 1, reason: 'deadline', accepted: 2, closedAt: DEADLINE1 + 4_000 }]);
});

Collecting('at the deadline with fewer than minUpdates, the round is abandoned and the previous version kept', () => {
  const r = given(decider, [...COLLECTING1, accepted(1, 'a', OPEN1 + 1)])
    .when({ type: 'DeadlineReached', round: 1, now: DEADLINE1 })
    .then([{ type: 'RoundAbandoned', round: 1, reason: 'deadline passed with 1 of the 2 updates needed', accepted: 1, closedAt: DEADLINE1 }])
    .thenState({ phase: 'Idle', version: 0, nextRound: 2 })
    .thenState((s) => !('current' in s) && s.rounds[0]!.status === 'abandoned' && s.rounds[0]!.closedAt === DEADLINE1 && s.models.length === 1);
  // the next round is opened on the same base
  given(decider, [...COLLECTING1, accepted(1, 'a', OPEN1 + 1), ...r.events])
    .when({ type: 'OpenRound', now: DEADLINE1 + 1_000 })
    .then([opened(2, 0, DEADLINE1 + 1_000)]);
});

Collecting('a round that received nothing is abandoned at its deadline', () => {
  given(decider, COLLECTING1)
    .when({ type: 'DeadlineReached', round: 1, now: DEADLINE1 })
    .then([{ type: 'RoundAbandoned', round: 1, reason: 'deadline passed with 0 of the 2 updates needed', accepted: 0, closedAt: DEADLINE1 }]);
});

Collecting('a stale DeadlineReached for another round causes nothing', () => {
  given(decider, COLLECTING2).when({ type: 'DeadlineReached', round: 1, now: OPEN2 + 70_000 }).then([]);
});

Collecting('OpenRound, Initialise, RecordAggregate and ConfirmPublished cause nothing', () => ignored(COLLECTING1, ['DeadlineReached']));

Collecting.run();

// ---------------------------------------------------------------------------------------------------------

const Aggregating = suite('Aggregating');

/** Round 1 closed on quorum with updates that arrived c, a, b. */
const CLOSED1: RoundEvent[] = [
  ...COLLECTING1,
  accepted(1, 'c', OPEN1 + 10, 30), accepted(1, 'a', OPEN1 + 20, 10), accepted(1, 'b', OPEN1 + 30, 20),
  { type: 'RoundClosed', round: 1, reason: 'quorum', accepted: 3, closedAt: OPEN1 + 30 },
];

Aggregating('RecordAggregate records version 1 on parent 0 with the updates sorted by client id, not arrival', () => {
  given(decider, CLOSED1)
    .when({ type: 'RecordAggregate', round: 1, hash: H1, now: OPEN1 + 40 })
    .then([{
      type: 'ModelAggregated', round: 1, version: 1, parentVersion: 0, hash: H1, strategy: { name: 'fedavg', trimRatio: null },
      updates: [
        { clientId: 'c-a', updateId: 'u-a-1', hash: hash('a'), sampleCount: 10 },
        { clientId: 'c-b', updateId: 'u-b-1', hash: hash('b'), sampleCount: 20 },
        { clientId: 'c-c', updateId: 'u-c-1', hash: hash('c'), sampleCount: 30 },
      ],
      createdAt: OPEN1 + 40,
    }])
    .thenState((s) => {
      assert.is(s.phase, 'Aggregated');
      assert.is(s.phase === 'Aggregated' && s.pendingVersion, 1);
      assert.is(s.version, 0, 'the published version moves only on ModelPublished');
      assert.is(s.rounds[0]!.status, 'aggregated');
      assert.is(s.rounds[0]!.version, 1);
      assert.equal(s.models.map((m) => [m.version, m.parentVersion, m.publishedAt]), [[0, null, T0], [1, 0, null]]);
    });
});

Aggregating('the strategy configured is recorded in the lineage', () => {
  const trimmed = roundDecider({ ...SETTINGS, strategy: { name: 'trimmed-mean', trimRatio: 0.25 } });
  const r = given(trimmed, CLOSED1).when({ type: 'RecordAggregate', round: 1, hash: H1, now: OPEN1 + 40 });
  assert.is(r.events.length, 1);
  assert.equal((r.events[0] as Extract<RoundEvent, { type: 'ModelAggregated' }>).strategy, { name: 'trimmed-mean', trimRatio: 0.25 });
});

Aggregating('the second aggregate is version 2 on parent 1', () => {
  const history = [...COLLECTING2, accepted(2, 'a', OPEN2 + 1), accepted(2, 'b', OPEN2 + 2), { type: 'RoundClosed', round: 2, reason: 'deadline', accepted: 2, closedAt: OPEN2 + 60_000 } as RoundEvent];
  given(decider, history)
    .when({ type: 'RecordAggregate', round: 2, hash: H2, now: OPEN2 + 60_001 })
    .then([{
      type: 'ModelAggregated', round: 2, version: 2, parentVersion: 1, hash: H2, strategy: { name: 'fedavg', trimRatio: null },
      updates: [{ clientId: 'c-a', updateId: 'u-a-2', hash: hash('a'), sampleCount: 10 }, { clientId: 'c-b', updateId: 'u-b-2', hash: hash('b'), sampleCount: 10 }],
      createdAt: OPEN2 + 60_001,
    }]);
});

Aggregating('RecordAggregate for another round causes nothing', () => {
  given(decider, CLOSED1).when({ type: 'RecordAggregate', round: 2, hash: H1, now: OPEN1 + 40 }).then([]);
});

Aggregating('a late update for the closed round is rejected as closed-round and counted on it', () => {
  const u = facts('d');
  given(decider, CLOSED1)
    .when(submit(u, OPEN1 + 35))
    .then([rejected(1, u, 'closed-round', 'round 1 is closed', OPEN1 + 35)])
    .thenState((s) => { assert.equal(s.rounds[0]!.rejected, { 'closed-round': 1 }); assert.is(s.rounds[0]!.accepted.length, 3); });
});

Aggregating('OpenRound, Initialise, DeadlineReached and ConfirmPublished cause nothing', () => ignored(CLOSED1, ['RecordAggregate']));

Aggregating.run();

// ---------------------------------------------------------------------------------------------------------

const Aggregated = suite('Aggregated');

const AGGREGATED1 = PUBLISHED1.slice(0, -1);

Aggregated('ConfirmPublished records the publication; the version advances and the round is published', () => {
  given(decider, AGGREGATED1)
    .when({ type: 'ConfirmPublished', version: 1, now: OPEN1 + 50 })
    .then([{ type: 'ModelPublished', version: 1, publishedAt: OPEN1 + 50 }])
    .thenState({ phase: 'Idle', version: 1, nextRound: 2 })
    .thenState((s) => {
      assert.not.ok('current' in s, 'no current round once published');
      assert.not.ok('pendingVersion' in s, 'no pending version once published');
      assert.is(s.rounds[0]!.status, 'published');
      assert.is(s.models[1]!.publishedAt, OPEN1 + 50);
    });
});

Aggregated('ConfirmPublished for another version causes nothing', () => {
  given(decider, AGGREGATED1).when({ type: 'ConfirmPublished', version: 2, now: OPEN1 + 50 }).then([]);
  given(decider, AGGREGATED1).when({ type: 'ConfirmPublished', version: 0, now: OPEN1 + 50 }).then([]);
});

Aggregated('an update for the aggregated round is rejected as closed-round', () => {
  const u = facts('d');
  given(decider, AGGREGATED1).when(submit(u, OPEN1 + 45)).then([rejected(1, u, 'closed-round', 'round 1 is closed', OPEN1 + 45)]);
});

Aggregated('OpenRound, Initialise, DeadlineReached and RecordAggregate cause nothing', () => ignored(AGGREGATED1, ['ConfirmPublished']));

Aggregated.run();

// ---------------------------------------------------------------------------------------------------------

const Evolve = suite('evolve and fold');

/** Two rounds published, one abandoned between them, with a rejection in each phase. */
const LIFE: RoundEvent[] = [
  ...PUBLISHED1,
  rejected(null, facts('z', { round: 1 }), 'closed-round', 'round 1 is closed', OPEN1 + 60),
  opened(2, 1, OPEN2),
  accepted(2, 'a', OPEN2 + 1),
  { type: 'RoundAbandoned', round: 2, reason: 'deadline passed with 1 of the 2 updates needed', accepted: 1, closedAt: OPEN2 + 60_000 },
  opened(3, 1, OPEN2 + 61_000),
  accepted(3, 'b', OPEN2 + 61_001), accepted(3, 'a', OPEN2 + 61_002),
  { type: 'RoundClosed', round: 3, reason: 'deadline', accepted: 2, closedAt: OPEN2 + 121_000 },
  { type: 'ModelAggregated', round: 3, version: 2, parentVersion: 1, hash: H2, strategy: { name: 'fedavg', trimRatio: null }, updates: [
    { clientId: 'c-a', updateId: 'u-a-3', hash: hash('a'), sampleCount: 10 },
    { clientId: 'c-b', updateId: 'u-b-3', hash: hash('b'), sampleCount: 10 },
  ], createdAt: OPEN2 + 121_001 },
  { type: 'ModelPublished', version: 2, publishedAt: OPEN2 + 121_002 },
];

Evolve('evolve never mutates the state it is given (deep-frozen input, every event of a life)', () => {
  let s: RoundState = deepFreeze(structuredClone(initialRoundState));
  for (const e of LIFE) {
    const copy = structuredClone(s);
    const next = evolveRound(s, deepFreeze(structuredClone(e)));
    assert.equal(s, copy, `evolve(${e.type}) changed its input`);
    assert.ok(next !== s, `evolve(${e.type}) returns a new state`);
    s = deepFreeze(next);
  }
});

Evolve('folding the journal equals the state reached command by command', () => {
  const commands: RoundCommand[] = [
    { type: 'Initialise', hash: H0, layers: LAYERS, seed: 42, now: T0 },
    { type: 'OpenRound', now: OPEN1 },
    submit(facts('c'), OPEN1 + 10),
    submit(facts('c'), OPEN1 + 11), // duplicate
    submit(facts('a', { baseVersion: 3 }), OPEN1 + 12), // stale
    submit(facts('a'), OPEN1 + 20),
    submit(facts('b'), OPEN1 + 30), // quorum
    { type: 'RecordAggregate', round: 1, hash: H1, now: OPEN1 + 40 },
    { type: 'ConfirmPublished', version: 1, now: OPEN1 + 50 },
    { type: 'OpenRound', now: OPEN2 },
    submit(facts('a', { round: 2, baseVersion: 1, updateId: 'u-a-2' }), OPEN2 + 1),
    { type: 'DeadlineReached', round: 2, now: OPEN2 + 60_000 }, // abandoned
  ];
  let live: RoundState = initialRoundState;
  const journal: RoundEvent[] = [];
  for (const c of commands) {
    for (const e of decider.decide(c, live)) {
      journal.push(e);
      live = decider.evolve(live, e);
    }
  }
  assert.is(journal.length, 13, 'hand count: 1 + 1 + 1 + 2 rejections + 1 + 2 (quorum) + 1 + 1 + 1 + 1 + 1');
  assert.equal(fold(decider, journal), live);
  assert.equal(fold(decider, journal.slice(5), fold(decider, journal.slice(0, 5))), live, 'folding in two parts (snapshot + tail) gives the same state');
});

Evolve('lineage: state.models holds every version with its parent, round, strategy and updates', () => {
  const s = fold(decider, LIFE);
  assert.is(s.version, 2);
  assert.equal(s.models, [
    { version: 0, hash: H0, parentVersion: null, round: 0, strategy: null, updates: [], createdAt: T0, publishedAt: T0 },
    { version: 1, hash: H1, parentVersion: 0, round: 1, strategy: { name: 'fedavg', trimRatio: null }, updates: [
      { clientId: 'c-a', updateId: 'u-a-1', hash: hash('a'), sampleCount: 10 },
      { clientId: 'c-b', updateId: 'u-b-1', hash: hash('b'), sampleCount: 10 },
      { clientId: 'c-c', updateId: 'u-c-1', hash: hash('c'), sampleCount: 10 },
    ], createdAt: OPEN1 + 40, publishedAt: OPEN1 + 50 },
    { version: 2, hash: H2, parentVersion: 1, round: 3, strategy: { name: 'fedavg', trimRatio: null }, updates: [
      { clientId: 'c-a', updateId: 'u-a-3', hash: hash('a'), sampleCount: 10 },
      { clientId: 'c-b', updateId: 'u-b-3', hash: hash('b'), sampleCount: 10 },
    ], createdAt: OPEN2 + 121_001, publishedAt: OPEN2 + 121_002 },
  ]);
  assert.equal(s.rounds.map((r) => [r.round, r.baseVersion, r.status, r.version]), [[1, 0, 'published', 1], [2, 1, 'abandoned', null], [3, 1, 'published', 2]]);
  assert.is(s.rejectedOutsideRounds, 1);
  assert.is(s.nextRound, 4);
});

Evolve(`a long run keeps the newest ${roundHistory} rounds and versions: the state (and its snapshot) stays bounded, decisions go on`, () => {
  let state = fold(decider, [initialised]);
  const sizes: number[] = [];
  for (let round = 1; round <= roundHistory * 3; round++) {
    const at = T0 + round * 10_000;
    for (const command of [
      { type: 'OpenRound', now: at },
      ...['a', 'b', 'c'].map((c) => submit(facts(c, { round, baseVersion: round - 1, updateId: `u-${c}-${round}` }), at + 1)),
    ] as RoundCommand[]) {
      for (const e of decider.decide(command, state)) state = decider.evolve(state, e);
    }
    assert.is(state.phase, 'Aggregating', `round ${round} closed on quorum`);
    for (const e of [
      { type: 'ModelAggregated', round, version: round, parentVersion: round - 1, hash: hash(String(round % 10)), strategy: { name: 'fedavg', trimRatio: null }, updates: [], createdAt: at + 2 },
      { type: 'ModelPublished', version: round, publishedAt: at + 3 },
    ] as RoundEvent[]) state = decider.evolve(state, e);
    if (round % roundHistory === 0) sizes.push(JSON.stringify(state).length);
  }
  assert.is(state.version, roundHistory * 3);
  assert.is(state.rounds.length, roundHistory);
  assert.equal([state.rounds[0]!.round, state.rounds.at(-1)!.round], [roundHistory * 2 + 1, roundHistory * 3]);
  assert.is(state.models.length, roundHistory);
  assert.equal([state.models[0]!.version, state.models.at(-1)!.version], [roundHistory * 2 + 1, roundHistory * 3]);
  assert.ok(sizes[2]! <= sizes[1]! * 1.05, `the state stops growing: ${sizes.join(', ')} characters after each ${roundHistory} rounds`);
  const next = decider.decide({ type: 'OpenRound', now: T0 + 10_000_000 }, state);
  assert.equal(next.map((e) => e.type), ['RoundOpened'], 'the next round opens on the newest version');
  assert.is((next[0] as Extract<RoundEvent, { type: 'RoundOpened' }>).baseVersion, roundHistory * 3);
});

Evolve('an unknown phase or event is a bug and throws', () => {
  assert.throws(() => decider.decide({ type: 'OpenRound', now: 1 }, { ...initialRoundState, phase: 'Closing' } as unknown as RoundState), /unknown phase/);
  assert.throws(() => decider.evolve(initialRoundState, { type: 'RoundRenamed' } as unknown as RoundEvent), /unknown event/);
});

Evolve.run();
