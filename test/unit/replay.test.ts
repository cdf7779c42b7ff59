/**
 * replayRound over a memory journal holding a hand-written round history; replaySources and replayDevices over
 * journals written by their deciders; jsonDiff.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { fold, type Decider } from '../../src/actors/runtime/decider';
import { replayRound } from '../../src/actors/aggregator/replay';
import { jsonDiff } from '../../src/actors/runtime/replay';
import { roundDecider } from '../../src/actors/aggregator/round.decider';
import type { RoundEvent } from '../../src/actors/aggregator/round.events';
import { initialRoundState } from '../../src/actors/aggregator/round.state';
import { createMemoryJournal } from '../../src/infra/journal/memory-journal';
import { isLeft } from 'fp-ts/Either';
import { loadConfig, type Config } from '../../src/config';
import { journaledPart, replaySources } from '../../src/actors/producer/replay';
import { sourceDecider } from '../../src/actors/producer/source.decider';
import { replayDevices } from '../../src/actors/trainer/replay';
import { deviceDecider } from '../../src/actors/trainer/device.decider';
import type { DeviceCommand, DeviceEvent } from '../../src/actors/trainer/device.events';
import { deviceSettings, deviceSummary, type DeviceState } from '../../src/actors/trainer/device.state';
import type { Journal } from '../../src/infra/journal/port';

const decider = roundDecider({ quorum: 3, minUpdates: 2, deadlineMs: 60_000, maxUpdateBytes: 1000, strategy: { name: 'fedavg', trimRatio: null } });
const hash = (c: string): string => c.repeat(64);
const T0 = 1_700_000_000_000;
const LAYERS = [{ name: 'dense/kernel', shape: [2, 2] }, { name: 'dense/bias', shape: [2] }];
const fedavg = { name: 'fedavg' as const, trimRatio: null };

/** Round 1 aggregated and published as version 1; round 2 abandoned. Journal timestamps are T0 + seq seconds. */
const HISTORY: RoundEvent[] = [
  { type: 'ModelInitialised', version: 0, hash: hash('0'), layers: LAYERS, seed: 42, at: T0 },
  { type: 'RoundOpened', round: 1, baseVersion: 0, quorum: 3, minUpdates: 2, deadline: T0 + 61_000, openedAt: T0 + 1_000 },
  { type: 'UpdateAccepted', round: 1, clientId: 'c-b', updateId: 'u-b', hash: hash('b'), sampleCount: 20, receivedAt: T0 + 2_000 },
  { type: 'UpdateRejected', round: 1, claimedRound: 1, clientId: 'c-x', updateId: 'u-x', reason: 'stale-base-version', detail: 'trained on version 3, round 1 aggregates on version 0', receivedAt: T0 + 3_000 },
  { type: 'UpdateAccepted', round: 1, clientId: 'c-a', updateId: 'u-a', hash: hash('a'), sampleCount: 10, receivedAt: T0 + 4_000 },
  { type: 'UpdateAccepted', round: 1, clientId: 'c-c', updateId: 'u-c', hash: hash('c'), sampleCount: 30, receivedAt: T0 + 5_000 },
  { type: 'RoundClosed', round: 1, reason: 'quorum', accepted: 3, closedAt: T0 + 5_000 },
  { type: 'ModelAggregated', round: 1, version: 1, parentVersion: 0, hash: hash('1'), strategy: fedavg, updates: [
    { clientId: 'c-a', updateId: 'u-a', hash: hash('a'), sampleCount: 10 },
    { clientId: 'c-b', updateId: 'u-b', hash: hash('b'), sampleCount: 20 },
    { clientId: 'c-c', updateId: 'u-c', hash: hash('c'), sampleCount: 30 },
  ], createdAt: T0 + 6_000 },
  { type: 'ModelPublished', version: 1, publishedAt: T0 + 7_000 },
  { type: 'RoundOpened', round: 2, baseVersion: 1, quorum: 3, minUpdates: 2, deadline: T0 + 68_000, openedAt: T0 + 8_000 },
  { type: 'UpdateAccepted', round: 2, clientId: 'c-a', updateId: 'u-a2', hash: hash('d'), sampleCount: 10, receivedAt: T0 + 9_000 },
  { type: 'RoundAbandoned', round: 2, reason: 'deadline passed with 1 of the 2 updates needed', accepted: 1, closedAt: T0 + 68_000 },
];

/** A memory journal with HISTORY under `<service>/round`, one append per event, timestamp T0 + seq·1000. */
async function journalWith(service: string, events: readonly unknown[] = HISTORY): Promise<Journal> {
  const j = createMemoryJournal();
  let seq = 1;
  for (const e of events) {
    await j.append(`${service}/round`, seq, [{ type: (e as { type: string }).type, schemaVersion: 1, timestamp: T0 + seq * 1_000, data: e }]);
    seq++;
  }
  return j;
}

const Replay = suite('replayRound');

Replay('replaying the whole journal equals folding the events', async () => {
  const r = await replayRound(await journalWith('agg'), 'agg');
  const expected = fold(decider, HISTORY);
  assert.equal(r.state, expected);
  assert.equal(jsonDiff(r.state, expected), []);
  assert.equal([r.key, r.path, r.seq, r.lastEventAt], ['agg/round', 'agg/round', 12, T0 + 12_000]);
  // and the folded state is the one written out by hand
  assert.is(r.state.phase, 'Idle');
  assert.is(r.state.version, 1);
  assert.is(r.state.nextRound, 3);
  assert.equal(r.state.rounds.map((x) => [x.round, x.status, x.accepted.length, x.rejected]), [[1, 'published', 3, { 'stale-base-version': 1 }], [2, 'abandoned', 1, {}]]);
});

Replay('untilSeq stops after that event (inclusive)', async () => {
  const j = await journalWith('agg');
  const r = await replayRound(j, 'agg', { untilSeq: 7 });
  assert.equal([r.seq, r.lastEventAt], [7, T0 + 7_000]);
  assert.equal(r.state, fold(decider, HISTORY.slice(0, 7)));
  assert.is(r.state.phase, 'Aggregating', 'seq 7 is RoundClosed');
  assert.equal((await replayRound(j, 'agg', { untilSeq: 1 })).state, fold(decider, HISTORY.slice(0, 1)));
});

Replay('untilTime stops after the last event at or before that time', async () => {
  const r = await replayRound(await journalWith('agg'), 'agg', { untilTime: T0 + 9_500 });
  assert.is(r.seq, 9);
  assert.equal(r.state, fold(decider, HISTORY.slice(0, 9)));
  assert.is(r.state.version, 1, 'seq 9 is ModelPublished');
});

Replay('an empty journal replays to the initial state', async () => {
  const r = await replayRound(createMemoryJournal(), 'agg');
  assert.equal([r.seq, r.lastEventAt], [0, null]);
  assert.equal(r.state, initialRoundState);
});

Replay('only the service\'s own key is read', async () => {
  const j = await journalWith('other');
  const r = await replayRound(j, 'agg');
  assert.is(r.seq, 0);
  assert.equal((await replayRound(j, 'other')).state, fold(decider, HISTORY));
});

Replay('a journaled event that is not a RoundEvent is corruption and throws', async () => {
  const j = await journalWith('agg', [HISTORY[0], { type: 'RoundOpened', round: 0, baseVersion: 0 }]);
  try {
    await replayRound(j, 'agg');
    assert.unreachable('replay should throw');
  } catch (e) {
    assert.match((e as Error).message, /^corrupt record: /);
  }
});

Replay.run();

// ---------------------------------------------------------------------------------------------------------

/** Appends each decision's events under key (one append per command, timestamp T0 + seq·1000), as an actor does. */
async function journalDecisions<C, E extends { type: string }, S>(j: Journal, key: string, d: Decider<C, E, S>, commands: C[], from = d.initialState): Promise<{ state: S; events: E[] }> {
  let state = from;
  let seq = 1;
  const all: E[] = [];
  for (const c of commands) {
    const events = d.decide(c, state);
    if (!events.length) continue;
    await j.append(key, seq, events.map((e, i) => ({ type: e.type, schemaVersion: 1, timestamp: T0 + (seq + i) * 1_000, data: e })));
    seq += events.length;
    for (const e of events) state = d.evolve(state, e);
    all.push(...events);
  }
  return { state, events: all };
}

const configWith = (env: Record<string, string> = {}): Config => {
  const c = loadConfig({}, env);
  if (isLeft(c)) throw new Error(c.left);
  return c.right;
};

const Sources = suite('replaySources');

Sources('every source with events, sorted, each equal to its decider\'s fold; --actor and --until-time narrow it', async () => {
  const j = createMemoryJournal();
  const batches = (n: number) => Array.from({ length: n }, (_, i) => ({ type: 'RecordBatch' as const, from: i * 10, to: i * 10 + 10, published: 9, bad: 1, outbox: [], now: T0 + i }));
  const b = await journalDecisions(j, 'producer/source/b', sourceDecider, [...batches(3), { type: 'MarkExhausted', position: 30, now: T0 + 9 }]);
  const a = await journalDecisions(j, 'producer/source/a', sourceDecider, batches(2));
  await journalDecisions(j, 'trainer/device/a', sourceDecider, batches(1)); // another service's key: not read
  const all = await replaySources(j, 'producer');
  assert.equal(all.map((r) => [r.key, r.path, r.seq]), [['producer/source/a', 'producer/a', 2], ['producer/source/b', 'producer/b', 4]]);
  assert.equal(all.map((r) => r.state), [a.state, b.state]);
  assert.equal(b.state, { position: 30, published: 27, bad: 3, batches: 3, exhausted: true, lastBatchAt: T0 + 2, data: null });
  const [early] = await replaySources(j, 'producer', { sourceId: 'b', untilTime: T0 + 2_000 });
  assert.equal([early!.seq, early!.state.position, early!.state.exhausted], [2, 20, false]);
  const [none] = await replaySources(j, 'producer', { sourceId: 'zz' });
  assert.equal([none!.seq, none!.state], [0, sourceDecider.initialState]);
  assert.equal(journaledPart({ ...b.state, total: 30 }), b.state, 'the live summary without the data set\'s total');
});

Sources.run();

const Devices = suite('replayDevices');

const scoreBatch = (from: number, n: number): DeviceCommand => ({
  type: 'ScoreBatch', modelScores: null, now: T0 + from,
  readings: Array.from({ length: n }, (_, i) => ({ readingId: `r${from + i}`, ts: T0 + from + i, partition: 0, offset: String(from + i), features: { humidity: 40 + ((from + i) % 7), temperature: 20 + ((from + i) % 5) }, label: null })),
});

Devices('a device replays to the summary of its decider\'s fold, under the configuration\'s settings', async () => {
  const config = configWith({ TRAIN_WINDOW: '50', TRAIN_MIN_SAMPLES: '10' });
  const j = createMemoryJournal();
  const d = deviceDecider(deviceSettings(config, 'm-1'));
  const live = await journalDecisions<DeviceCommand, DeviceEvent, DeviceState>(j, 'trainer/device/m-1', d, [scoreBatch(0, 30), scoreBatch(30, 40), scoreBatch(60, 20)]);
  const [r] = await replayDevices(j, config, 'trainer');
  assert.equal([r!.key, r!.path, r!.seq], ['trainer/device/m-1', 'trainer/device-m-1', live.events.length]);
  assert.equal(r!.state, deviceSummary(live.state));
  assert.equal([r!.state.seen, r!.state.windowSize, r!.state.counters.duplicates], [80, 50, 10], 'readings 60-69 came twice');
  // the window is a setting: another TRAIN_WINDOW rebuilds another state (replay runs with the trainer's env)
  const [other] = await replayDevices(j, configWith({ TRAIN_WINDOW: '20', TRAIN_MIN_SAMPLES: '10' }), 'trainer');
  assert.is(other!.state.windowSize, 20);
  const [first] = await replayDevices(j, config, 'trainer', { deviceId: 'm-1', untilSeq: 2 });
  assert.equal([first!.seq, first!.state.seen], [2, 30], 'seq 1 fixes the features, seq 2 scores the first 30');
});

Devices.run();

// ---------------------------------------------------------------------------------------------------------

const Diff = suite('jsonDiff');

Diff('equal values give no lines, whatever the key order', () => {
  assert.equal(jsonDiff({ a: 1, b: [1, { c: null }] }, { b: [1, { c: null }], a: 1 }), []);
  assert.equal(jsonDiff(fold(decider, HISTORY), JSON.parse(JSON.stringify(fold(decider, HISTORY)))), []);
  assert.equal(jsonDiff(null, null), []);
});

Diff('a changed leaf is reported with its path and both values', () => {
  assert.equal(jsonDiff({ a: { b: 1, c: 'x' } }, { a: { b: 2, c: 'x' } }), ['$.a.b: 1 ≠ 2']);
  assert.equal(jsonDiff({ rounds: [{ status: 'published' }, { status: 'abandoned' }] }, { rounds: [{ status: 'published' }, { status: 'collecting' }] }), ['$.rounds[1].status: "abandoned" ≠ "collecting"']);
});

Diff('missing keys and elements show as undefined', () => {
  assert.equal(jsonDiff({ a: 1 }, {}), ['$.a: 1 ≠ undefined']);
  assert.equal(jsonDiff([1, 2, 3], [1, 5]), ['$[1]: 2 ≠ 5', '$[2]: 3 ≠ undefined']);
});

Diff('type changes: array against object, null against object, string against number', () => {
  assert.equal(jsonDiff({ v: [1] }, { v: { 0: 1 } }), ['$.v: array ≠ object']);
  assert.equal(jsonDiff(null, {}), ['$: null ≠ {}']);
  assert.equal(jsonDiff('1', 1), ['$: "1" ≠ 1']);
});

Diff('long values are cut to 120 characters and the list to the limit', () => {
  const [line] = jsonDiff('x'.repeat(200), 'y');
  assert.is(line, `$: "${'x'.repeat(119)} ≠ "y"`);
  const zeros = Array.from({ length: 100 }, () => 0);
  const ones = Array.from({ length: 100 }, () => 1);
  assert.is(jsonDiff(zeros, ones).length, 50);
  assert.equal(jsonDiff(zeros, ones, '$', [], 2), ['$[0]: 0 ≠ 1', '$[1]: 0 ≠ 1']);
});

Diff.run();
