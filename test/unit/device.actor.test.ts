/**
 * The device actor on a real nact system over the in-memory journal, whose relay collects the outbox, with a
 * real TensorFlow.js model pool (autoencoder 2 → 8 → 3 → 8 → 2): training and the local update it sends,
 * anomalies on their topic, and recovery that never trains again.
 *
 * Settings, by hand: z-score window 20, threshold 3, critical 6, minSamples 5; training window 24 readings;
 * train every 12 new readings once the window holds 16. Readings come in batches of 4, so the first training
 * follows batch 4 (16 readings), the second batch 7 (28), the third batch 10 (40).
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { isRight } from 'fp-ts/Either';
import { fold } from '../../src/actors/runtime/decider';
import { nactEngine } from '../../src/actors/runtime/journal-engine';
import { startSystem, stop, type SystemRef } from '../../src/actors/runtime/nact';
import { ActorRegistry } from '../../src/actors/runtime/registry';
import { restartWithBackoff } from '../../src/actors/runtime/supervision';
import { memorySupervisionLog } from '../../src/actors/runtime/supervision-log';
import { initialWeights } from '../../src/actors/aggregator/initial-model';
import { spawnDeviceActor, type DeviceActor } from '../../src/actors/trainer/device.actor';
import { deviceDecider } from '../../src/actors/trainer/device.decider';
import { anomaliesOf, type DeviceCommand, type DeviceEvent, type IncomingReading } from '../../src/actors/trainer/device.events';
import { deviceSummary, type DeviceSettings } from '../../src/actors/trainer/device.state';
import { modelLayers, type LocalModel, type ModelSpec } from '../../src/actors/trainer/model';
import { ModelPool } from '../../src/actors/trainer/model-pool';
import { silentLogger } from '../../src/infra/log';
import { createMemoryJournal, createMemoryStore, type MemoryStore } from '../../src/infra/journal/memory-journal';
import { outboxIdHeader, type Journal, type OutboxMessage } from '../../src/infra/journal/port';
import { decodeJson } from '../../src/protocols/codec';
import { LocalModelUpdate } from '../../src/protocols/models';
import { Anomaly } from '../../src/protocols/readings';
import { topicNames } from '../../src/protocols/topics';
import { decodeWeights, hashWeights, parameterCount, toLittleEndianBytes } from '../../src/protocols/weights';

const SPEC: ModelSpec = { kind: 'autoencoder', inputs: 2, hidden: [8, 3, 8] };
const LAYERS = modelLayers(SPEC);
const W0 = initialWeights(LAYERS, 42);
const W0_B64 = Buffer.from(toLittleEndianBytes(W0)).toString('base64');
const TOPICS = topicNames('test-');
const SERVICE = 'trainer-test';
const DEVICE = 'dev-1';
const KEY = `${SERVICE}/device/${DEVICE}`;
const SETTINGS: DeviceSettings = {
  deviceId: DEVICE,
  zscore: { window: 20, threshold: 3, critical: 6, minSamples: 5 },
  window: 24,
  trainEvery: 12,
  thresholdEvery: 1000,
  minTrainSamples: 16,
  trainIntervalMs: 3_600_000,
  features: null,
  modelKind: 'autoencoder',
};
const T0 = 1_700_000_000_000;
const DEADLINE = T0 + 600_000;

/** Counts its uses: scoring and training both go through `use`, replay must not. */
class CountingPool extends ModelPool {
  uses = 0;
  override use<T>(fn: (m: LocalModel) => Promise<T> | T): Promise<T> {
    this.uses++;
    return super.use(fn);
  }
}
const pool = new CountingPool(SPEC, 42);

/**
 * Normal reading i: a cycles 10.0 … 10.4, b cycles 20.0 … 19.4 (|z| stays below 1.6 once warm), on partition 0 at
 * offset i. The outlier has a = 1000.
 */
const reading = (i: number, a = 10 + (i % 5) * 0.1, b = 20 - (i % 4) * 0.2): IncomingReading =>
  ({ readingId: `${DEVICE}-${i}`, ts: T0 + i * 1_000, partition: 0, offset: String(i), features: { a, b }, label: null });
/** Batch k (1-based): readings 4k−3 … 4k. */
const batch = (k: number): IncomingReading[] => [1, 2, 3, 4].map((j) => reading(4 * (k - 1) + j));

let systems = 0;

interface Harness {
  system: SystemRef;
  actor: DeviceActor;
  registry: ActorRegistry;
  journal: Journal;
  relayed: OutboxMessage[];
  clock: { now: number };
  summary(): unknown;
  /** ask and wait; then wait for whatever the command made the actor tell itself (a training's RecordTraining) */
  send(c: DeviceCommand): Promise<readonly DeviceEvent[]>;
  score(k: number | IncomingReading[]): Promise<readonly DeviceEvent[]>;
  stop(): void;
}

/** A nact system over a memory journal engine on `store` (a respawn when the store has data). */
function start(store: MemoryStore, opts: { snapshotEvery?: number; settings?: Partial<DeviceSettings> } = {}): Harness {
  const relayed: OutboxMessage[] = [];
  const journal = createMemoryJournal({ store, relay: async (ms) => { relayed.push(...ms); } });
  const registry = new ActorRegistry();
  const system = startSystem(`device-${process.pid}-${++systems}`, nactEngine(journal, { onSnapshot: (k, seq) => registry.snapshotAt(k, seq) }));
  const clock = { now: T0 + 100_000 };
  const actor = spawnDeviceActor(system, {
    service: SERVICE,
    settings: { ...SETTINGS, ...opts.settings },
    training: { epochs: 2, batchSize: 8, learningRate: 0.01 },
    layers: LAYERS,
    pool,
    topics: TOPICS,
    log: silentLogger,
    clock: () => clock.now,
    registry,
    supervisionLog: memorySupervisionLog(),
    policy: restartWithBackoff(),
    snapshotEvery: opts.snapshotEvery ?? 0,
    actorName: DEVICE,
    transform: 'raw',
    residualWindow: 10,
    thresholdQuantile: 0.99,
  });
  // a command that decides nothing: once answered, every message queued before it was handled
  // (a threshold for a model version the device never holds)
  const barrier = () => actor.ask({ type: 'RecordThreshold', version: -1, hash: hashWeights(W0), threshold: 0, samples: 1, now: clock.now });
  const h: Harness = {
    system, actor, registry, journal, relayed, clock,
    summary: () => registry.get(actor.path)!.state,
    async send(c) {
      const events = await actor.ask(c, 60_000);
      await barrier();
      return events;
    },
    score(k) {
      clock.now += 1_000;
      return h.send({ type: 'ScoreBatch', readings: typeof k === 'number' ? batch(k) : k, modelScores: null, now: clock.now });
    },
    stop: () => stop(system),
  };
  return h;
}

async function journalEvents(j: Journal): Promise<DeviceEvent[]> {
  const out: DeviceEvent[] = [];
  for await (const e of j.read(KEY)) out.push(e.data as DeviceEvent);
  return out;
}
const trainedEvents = (es: readonly DeviceEvent[]) => es.filter((e): e is Extract<DeviceEvent, { type: 'LocalModelTrained' }> => e.type === 'LocalModelTrained');

/** the LocalModelUpdates relayed so far, decoded */
const sentUpdates = (h: Harness): LocalModelUpdate[] =>
  h.relayed.filter((m) => m.topic === TOPICS.localUpdates).map((m) => decodeJson(LocalModelUpdate, m.value)).map((d) => { if (!isRight(d)) throw new Error(`an update does not decode: ${JSON.stringify(d.left)}`); return d.right; });

/** Global version 0 applied, round 1 joined on it. */
async function joinRound1(h: Harness): Promise<void> {
  await h.send({ type: 'ApplyGlobal', version: 0, hash: hashWeights(W0), weights: W0_B64, threshold: null, merged: false, now: h.clock.now });
  await h.send({ type: 'JoinRound', round: 1, baseVersion: 0, deadline: DEADLINE, now: h.clock.now });
}

/** Run `f` with harnesses that are always stopped afterwards. */
async function using(f: (open: (store: MemoryStore, o?: { snapshotEvery?: number; settings?: Partial<DeviceSettings> }) => Harness) => Promise<void>): Promise<void> {
  const opened: Harness[] = [];
  try {
    await f((store, o) => { const h = start(store, o); opened.push(h); return h; });
  } finally {
    for (const h of opened) h.stop();
  }
}

// ---------------------------------------------------------------------------------------------------------

const Live = suite('device actor: live');

Live.before(async () => {
  const rt = await pool.init();
  assert.ok(['wasm', 'tensorflow', 'cpu'].includes(rt.backend));
});

Live('no training before the window holds minTrainSamples (16), although 12 new readings arrived', () => using(async (open) => {
  const h = open(createMemoryStore());
  await joinRound1(h);
  for (const k of [1, 2, 3]) await h.score(k);
  assert.is(trainedEvents(await journalEvents(h.journal)).length, 0);
  assert.is(h.relayed.filter((m) => m.topic === TOPICS.localUpdates).length, 0);
}));

Live('after ApplyGlobal and JoinRound, 40 readings: three trainings, exactly one LocalModelUpdate, for round 1', () => using(async (open) => {
  const h = open(createMemoryStore());
  await joinRound1(h);
  for (let k = 1; k <= 10; k++) await h.score(k);

  const events = await journalEvents(h.journal);
  const trained = trainedEvents(events);
  assert.equal(trained.map((e) => [e.baseVersion, e.samples, e.sentForRound, e.updateId]), [
    [0, 16, 1, `${DEVICE}-r1-v0`], // after batch 4: the window holds 16 readings
    [0, 24, null, null], // after batch 7: the window is full (24), the round already has our update
    [0, 24, null, null], // after batch 10
  ]);
  // the window size when the first training ran, counted from the journal: the readings scored before it
  const firstAt = events.indexOf(trained[0]!);
  const windowThen = Math.min(SETTINGS.window, events.slice(0, firstAt).reduce((n, e) => n + (e.type === 'ReadingsScored' ? e.readings.length : 0), 0));
  assert.is(windowThen, 16);

  const updates = h.relayed.filter((m) => m.topic === TOPICS.localUpdates);
  assert.is(updates.length, 1, 'exactly one local update');
  const m = updates[0]!;
  assert.is(m.key, DEVICE);
  const seqOfFirst = events.indexOf(trained[0]!) + 1;
  assert.is(m.headers?.[outboxIdHeader], `${KEY}#${seqOfFirst}#0`, 'published as the outbox of the LocalModelTrained event');
  const decoded = decodeJson(LocalModelUpdate, m.value);
  assert.ok(isRight(decoded), `the update decodes: ${JSON.stringify(decoded)}`);
  if (!isRight(decoded)) return;
  const u = decoded.right;
  assert.equal(
    { updateId: u.updateId, clientId: u.clientId, round: u.round, baseVersion: u.baseVersion, sampleCount: u.sampleCount, sentAt: u.sentAt, loss: u.metrics['loss'] },
    { updateId: `${DEVICE}-r1-v0`, clientId: DEVICE, round: 1, baseVersion: 0, sampleCount: windowThen, sentAt: trained[0]!.at, loss: trained[0]!.loss },
  );
  assert.equal(u.weights.layers, LAYERS);
  const w = decodeWeights(u.weights);
  assert.ok(w.ok, 'the weights decode to the layer shapes');
  if (!w.ok) return;
  assert.is(w.flat.length, parameterCount(LAYERS));
  assert.is(hashWeights(w.flat), trained[0]!.hash, 'the weights sent are the weights recorded');
  assert.ok(w.flat.every(Number.isFinite));
  assert.not.equal(Array.from(w.flat), Array.from(W0), 'training moved the weights away from version 0');

  const s = h.summary() as ReturnType<typeof deviceSummary>;
  assert.equal(
    [s.seen, s.windowSize, s.sinceTraining, s.counters.trainings, s.counters.updatesSent, s.round],
    [40, 24, 0, 3, 1, { round: 1, baseVersion: 0, deadline: DEADLINE, sent: true }],
  );
  assert.equal([s.model.version, s.model.source, s.model.hash], [0, 'local', trained[2]!.hash]);
  assert.ok(s.model.threshold !== null && s.model.threshold > 0, 'the local training set a threshold');
}));

Live('once its readings are in a sent update, the device does not train for the next round; its next reading, it trains and sends for it at once', () => using(async (open) => {
  const h = open(createMemoryStore());
  await joinRound1(h);
  for (let k = 1; k <= 4; k++) await h.score(k);
  const updates = () => sentUpdates(h).map((u) => u.round);
  assert.equal(updates(), [1], 'batch 4 (16 readings): trained and sent for round 1');
  // the data stops; version 1 is published with the device's update and round 2 opens on it
  const W1 = initialWeights(LAYERS, 7);
  await h.send({ type: 'ApplyGlobal', version: 1, hash: hashWeights(W1), weights: Buffer.from(toLittleEndianBytes(W1)).toString('base64'), threshold: null, merged: true, now: h.clock.now });
  await h.send({ type: 'JoinRound', round: 2, baseVersion: 1, deadline: DEADLINE, now: h.clock.now });
  assert.is(trainedEvents(await journalEvents(h.journal)).length, 1, 'no training for round 2: no reading since the update sent, and version 1 holds it');
  assert.equal(updates(), [1]);
  let s = h.summary() as ReturnType<typeof deviceSummary>;
  assert.equal([s.seen, s.unsent, s.round], [16, 0, { round: 2, baseVersion: 1, deadline: DEADLINE, sent: false }]);
  // one more batch (4 readings, fewer than trainEvery): trained at once for the open round
  await h.score(5);
  const trained = trainedEvents(await journalEvents(h.journal));
  assert.equal(trained.map((e) => [e.baseVersion, e.sentForRound, e.seen]), [[0, 1, 16], [1, 2, 20]]);
  assert.equal(updates(), [1, 2]);
  s = h.summary() as ReturnType<typeof deviceSummary>;
  assert.equal([s.unsent, s.round!.sent], [0, true]);
}));

Live('an update whose round was abandoned goes again, unchanged and without training, to each next round on the same model, until a global model holds it', () => using(async (open) => {
  const h = open(createMemoryStore());
  await joinRound1(h);
  for (let k = 1; k <= 4; k++) await h.score(k); // batch 4: trained and sent for round 1
  // the data stops; round 1 ends without a new version (too few updates) and round 2 opens on version 0
  await h.send({ type: 'JoinRound', round: 2, baseVersion: 0, deadline: DEADLINE, now: h.clock.now });
  let us = sentUpdates(h);
  assert.equal(us.map((u) => [u.round, u.updateId, u.baseVersion, u.sampleCount]), [[1, `${DEVICE}-r1-v0`, 0, 16], [2, `${DEVICE}-r2-v0`, 0, 16]]);
  assert.is(us[1]!.weights.data, us[0]!.weights.data, 'the same weights');
  assert.equal(us[1]!.metrics, us[0]!.metrics);
  assert.is(trainedEvents(await journalEvents(h.journal)).length, 1, 'sent again without training');
  let s = h.summary() as ReturnType<typeof deviceSummary>;
  assert.equal([s.unsent, s.unmerged, s.counters.trainings, s.counters.updatesSent, s.round!.sent], [0, 16, 1, 2, true]);
  // round 2 is abandoned too: round 3 gets it again
  await h.send({ type: 'JoinRound', round: 3, baseVersion: 0, deadline: DEADLINE, now: h.clock.now });
  assert.equal(sentUpdates(h).map((u) => u.round), [1, 2, 3]);
  // version 1 holds it (round 3 closed with it): round 4 on version 1 gets nothing, and no training
  const W1 = initialWeights(LAYERS, 7);
  await h.send({ type: 'ApplyGlobal', version: 1, hash: hashWeights(W1), weights: Buffer.from(toLittleEndianBytes(W1)).toString('base64'), threshold: null, merged: true, now: h.clock.now });
  await h.send({ type: 'JoinRound', round: 4, baseVersion: 1, deadline: DEADLINE, now: h.clock.now });
  assert.equal(sentUpdates(h).map((u) => u.round), [1, 2, 3]);
  assert.is(trainedEvents(await journalEvents(h.journal)).length, 1);
  s = h.summary() as ReturnType<typeof deviceSummary>;
  assert.equal([s.unsent, s.unmerged, s.round!.sent], [0, 0, false]);
  // the journal folds to the live state, resends included
  assert.equal(deviceSummary(fold(deviceDecider(SETTINGS), await journalEvents(h.journal))), s);
}));

Live('a global model without its update (it came too late for the round): the device trains on that model for the next round, with no new reading', () => using(async (open) => {
  const h = open(createMemoryStore());
  await joinRound1(h);
  for (let k = 1; k <= 4; k++) await h.score(k); // batch 4: trained and sent for round 1
  const W1 = initialWeights(LAYERS, 7);
  await h.send({ type: 'ApplyGlobal', version: 1, hash: hashWeights(W1), weights: Buffer.from(toLittleEndianBytes(W1)).toString('base64'), threshold: null, merged: false, now: h.clock.now });
  await h.send({ type: 'JoinRound', round: 2, baseVersion: 1, deadline: DEADLINE, now: h.clock.now });
  assert.equal(trainedEvents(await journalEvents(h.journal)).map((e) => [e.baseVersion, e.sentForRound, e.seen]), [[0, 1, 16], [1, 2, 16]]);
  assert.equal(sentUpdates(h).map((u) => [u.round, u.baseVersion]), [[1, 0], [2, 1]]);
  // version 2 holds it: nothing more
  const W2 = initialWeights(LAYERS, 8);
  await h.send({ type: 'ApplyGlobal', version: 2, hash: hashWeights(W2), weights: Buffer.from(toLittleEndianBytes(W2)).toString('base64'), threshold: null, merged: true, now: h.clock.now });
  await h.send({ type: 'JoinRound', round: 3, baseVersion: 2, deadline: DEADLINE, now: h.clock.now });
  assert.is(trainedEvents(await journalEvents(h.journal)).length, 2);
  assert.is(sentUpdates(h).length, 2);
  assert.is((h.summary() as ReturnType<typeof deviceSummary>).unmerged, 0);
}));

Live('a training no round took (none open) is sent at the next round joined', () => using(async (open) => {
  const h = open(createMemoryStore());
  await h.send({ type: 'ApplyGlobal', version: 0, hash: hashWeights(W0), weights: W0_B64, threshold: null, merged: false, now: h.clock.now });
  for (let k = 1; k <= 4; k++) await h.score(k);
  assert.equal(trainedEvents(await journalEvents(h.journal)).map((e) => e.sentForRound), [null], 'batch 4: trained, no round open');
  assert.is((h.summary() as ReturnType<typeof deviceSummary>).unsent, 16);
  await h.send({ type: 'JoinRound', round: 1, baseVersion: 0, deadline: DEADLINE, now: h.clock.now });
  assert.equal(trainedEvents(await journalEvents(h.journal)).map((e) => e.sentForRound), [null, 1], 'joined: trained and sent for round 1');
  assert.is(h.relayed.filter((m) => m.topic === TOPICS.localUpdates).length, 1);
}));

Live('batches that arrive while a training runs do not start more trainings before it is recorded', () => using(async (open) => {
  const h = open(createMemoryStore());
  await joinRound1(h);
  for (const k of [1, 2, 3]) await h.score(k);
  // batch 4 starts a training; batches 5-7 queue behind it, its RecordTraining behind them
  for (const k of [4, 5, 6, 7]) {
    h.clock.now += 1_000;
    h.actor.tell({ type: 'ScoreBatch', readings: batch(k), modelScores: null, now: h.clock.now });
  }
  await h.send({ type: 'RecordThreshold', version: -1, hash: hashWeights(W0), threshold: 0, samples: 1, now: h.clock.now });
  const trained = trainedEvents(await journalEvents(h.journal));
  assert.equal(trained.map((e) => [e.seen, e.sentForRound]), [[16, 1]], 'one training, on the window of batch 4');
  const s = h.summary() as ReturnType<typeof deviceSummary>;
  assert.equal([s.seen, s.sinceTraining, s.unsent], [28, 12, 12], 'batches 5-7 are new readings for the next training');
  await h.score(8);
  assert.equal(trainedEvents(await journalEvents(h.journal)).map((e) => e.seen), [16, 32], 'the next batch trains (16 readings since)');
}));

Live('a round opened on a newer model while a training runs on the old one: the stale training is dropped and the device trains for the round at once', () => using(async (open) => {
  const h = open(createMemoryStore());
  await joinRound1(h);
  for (let k = 1; k <= 6; k++) await h.score(k); // batch 4: trained and sent for round 1
  // batch 7 starts a training on version 0 (12 new readings); version 1 and round 2 on it queue behind it
  const W1 = initialWeights(LAYERS, 7);
  h.clock.now += 1_000;
  h.actor.tell({ type: 'ScoreBatch', readings: batch(7), modelScores: null, now: h.clock.now });
  h.actor.tell({ type: 'ApplyGlobal', version: 1, hash: hashWeights(W1), weights: Buffer.from(toLittleEndianBytes(W1)).toString('base64'), threshold: null, merged: true, now: h.clock.now });
  h.actor.tell({ type: 'JoinRound', round: 2, baseVersion: 1, deadline: DEADLINE, now: h.clock.now });
  await h.send({ type: 'RecordThreshold', version: -1, hash: hashWeights(W0), threshold: 0, samples: 1, now: h.clock.now });
  await h.send({ type: 'RecordThreshold', version: -1, hash: hashWeights(W0), threshold: 0, samples: 1, now: h.clock.now });
  const trained = trainedEvents(await journalEvents(h.journal));
  assert.equal(trained.map((e) => [e.baseVersion, e.sentForRound, e.seen]), [[0, 1, 16], [1, 2, 28]], 'the training on version 0 is discarded; one on version 1 is sent for round 2');
  assert.equal(sentUpdates(h).map((u) => u.round), [1, 2]);
}));

Live('training off: a global model without a threshold gets one computed on the window (no training), again every thresholdEvery readings', () => using(async (open) => {
  const h = open(createMemoryStore(), { settings: { trainEvery: 1_000_000, thresholdEvery: 8 } });
  await h.send({ type: 'ApplyGlobal', version: 0, hash: hashWeights(W0), weights: W0_B64, threshold: null, merged: false, now: h.clock.now }); // no round
  for (let k = 1; k <= 3; k++) await h.score(k);
  const calibrated = () => journalEvents(h.journal).then((es) => es.filter((e): e is Extract<DeviceEvent, { type: 'ThresholdCalibrated' }> => e.type === 'ThresholdCalibrated'));
  assert.is((await calibrated()).length, 0, 'not before the window holds minTrainSamples (16)');
  await h.score(4);
  const first = await calibrated();
  assert.equal(first.map((e) => [e.version, e.hash, e.samples]), [[0, hashWeights(W0), 16]]);
  assert.ok(first[0]!.threshold > 0);
  let s = h.summary() as ReturnType<typeof deviceSummary>;
  assert.equal([s.model.threshold, s.model.source, s.sinceThreshold, s.counters.trainings], [first[0]!.threshold, 'global', 0, 0]);
  await h.score(5);
  assert.is((await calibrated()).length, 1, '4 readings later: not yet');
  await h.score(6);
  const again = await calibrated();
  assert.equal(again.map((e) => e.samples), [16, 24], '8 readings later: again, on the whole window');
  assert.is(trainedEvents(await journalEvents(h.journal)).length, 0, 'never trained');
  s = h.summary() as ReturnType<typeof deviceSummary>;
  assert.equal([s.model.threshold, s.sinceThreshold], [again[1]!.threshold, 0]);
  // replay rebuilds the same state without TensorFlow.js
  const replayed = fold(deviceDecider({ ...SETTINGS, trainEvery: 1_000_000, thresholdEvery: 8 }), await journalEvents(h.journal));
  assert.equal(deviceSummary(replayed), s);
}));

Live('an obvious outlier is relayed on the anomalies topic once the z-score window is warm', () => using(async (open) => {
  const h = open(createMemoryStore());
  await joinRound1(h);
  for (let k = 1; k <= 10; k++) await h.score(k);
  const before = h.relayed.filter((m) => m.topic === TOPICS.anomalies).map((m) => decodeJson(Anomaly, m.value));
  assert.ok(before.every(isRight), 'every relayed anomaly decodes');
  assert.is(before.filter((d) => isRight(d) && d.right.detector === 'zscore').length, 0, 'no z-score anomaly among the normal readings');

  const outlier = reading(41, 1000, 20);
  const events = await h.score([outlier]);
  const scored = events.find((e): e is Extract<DeviceEvent, { type: 'ReadingsScored' }> => e.type === 'ReadingsScored')!;
  assert.ok(scored.readings[0]!.z! > 6, `z ${scored.readings[0]!.z}`);
  assert.ok(scored.readings[0]!.m !== null, 'the model scored it too');

  const mine = h.relayed.filter((m) => m.topic === TOPICS.anomalies).slice(before.length);
  assert.ok(mine.length >= 1);
  const anomalies = mine.map((m) => {
    assert.is(m.key, DEVICE);
    const d = decodeJson(Anomaly, m.value);
    assert.ok(isRight(d), `the anomaly decodes: ${m.value}`);
    return isRight(d) ? d.right : null;
  });
  const z = anomalies.find((a) => a?.detector === 'zscore');
  assert.ok(z, 'a z-score anomaly was relayed');
  assert.equal({ ...z!, score: 0 }, { deviceId: DEVICE, readingId: outlier.readingId, ts: outlier.ts, score: 0, threshold: 3, detector: 'zscore', modelVersion: null, severity: 'critical' });
  assert.is(z!.score, scored.readings[0]!.z);
  const ae = anomalies.find((a) => a?.detector === 'autoencoder');
  assert.ok(ae, 'the autoencoder flags a reading 7000 standard deviations out as well');
  assert.equal([ae!.readingId, ae!.modelVersion, ae!.severity], [outlier.readingId, 0, 'critical']);
  assert.equal(anomaliesOf(SETTINGS.deviceId, scored), anomalies, 'what was relayed is what was journaled');
}));

Live('a global model arriving while the device trains is not replaced by the stale training', () => using(async (open) => {
  const h = open(createMemoryStore());
  await joinRound1(h);
  for (const k of [1, 2, 3]) await h.score(k);
  // batch 4 starts a training on version 0; version 1 is queued behind it, so the training's RecordTraining
  // (told to itself when training ends) is handled after ApplyGlobal v1
  const W1 = initialWeights(LAYERS, 7);
  h.clock.now += 1_000;
  h.actor.tell({ type: 'ScoreBatch', readings: batch(4), modelScores: null, now: h.clock.now });
  h.actor.tell({ type: 'ApplyGlobal', version: 1, hash: hashWeights(W1), weights: Buffer.from(toLittleEndianBytes(W1)).toString('base64'), threshold: null, merged: false, now: h.clock.now });
  await h.send({ type: 'JoinRound', round: 1, baseVersion: 0, deadline: DEADLINE, now: h.clock.now });
  const types = (await journalEvents(h.journal)).map((e) => e.type);
  const applied = types.lastIndexOf('GlobalModelApplied');
  assert.ok(applied > types.lastIndexOf('ReadingsScored'), 'version 1 arrived while the batch-4 training ran');
  assert.not.ok(types.slice(applied).includes('LocalModelTrained'), 'the stale training (from version 0) is discarded, not journaled');
  const s = h.summary() as ReturnType<typeof deviceSummary>;
  assert.equal([s.model.version, s.model.hash], [1, hashWeights(W1)], 'the device must keep global version 1, not go back to a model trained from version 0');
}));

Live('readings with more features than the model takes: no crash, the z-score baseline still scores them', () => using(async (open) => {
  const h = open(createMemoryStore());
  await joinRound1(h);
  const wide = (i: number) => ({ ...reading(i), features: { a: 10 + (i % 5) * 0.1, b: 20, c: 1 } });
  for (let k = 1; k <= 15; k++) await h.score([1, 2, 3, 4].map((j) => wide(4 * (k - 1) + j)));
  const events = await h.score([{ ...wide(61), features: { a: 1000, b: 20, c: 1 } }]);
  const scored = events.find((e) => e.type === 'ReadingsScored') as Extract<DeviceEvent, { type: 'ReadingsScored' }>;
  assert.ok(scored, 'the batch was scored (the actor did not crash)');
  assert.is(scored.readings[0]!.m, null, 'no model score: 3 features, the model takes 2');
  assert.ok(anomaliesOf(SETTINGS.deviceId, scored).some((a) => a.detector === 'zscore'), 'the z-score baseline flags the outlier');
  assert.is(h.registry.get(h.actor.path)!.info.restarts, 0);
}));

Live('weights of another MODEL_SPEC (a trainer restarted with a new one): no crash, the z-score baseline scores until a global model that fits arrives', () => using(async (open) => {
  const h = open(createMemoryStore());
  const other = initialWeights(modelLayers({ kind: 'autoencoder', inputs: 2, hidden: [6, 2, 6] }), 7);
  assert.is.not(other.length, W0.length);
  await h.send({ type: 'ApplyGlobal', version: 0, hash: hashWeights(other), weights: Buffer.from(toLittleEndianBytes(other)).toString('base64'), threshold: null, merged: false, now: h.clock.now });
  const modelScores = async (k: number) => ((await h.score(k)).find((e) => e.type === 'ReadingsScored') as Extract<DeviceEvent, { type: 'ReadingsScored' }>).readings.map((r) => r.m);
  for (let k = 1; k <= 5; k++) assert.equal(await modelScores(k), [null, null, null, null], `batch ${k}: scored without the model`);
  assert.is(h.registry.get(h.actor.path)!.info.restarts, 0, 'the actor never crashed');
  await h.send({ type: 'ApplyGlobal', version: 1, hash: hashWeights(W0), weights: W0_B64, threshold: null, merged: false, now: h.clock.now });
  assert.ok((await modelScores(6)).every((m) => typeof m === 'number'), 'the global model that fits scores again');
}));

Live.run();

// ---------------------------------------------------------------------------------------------------------

const Recovery = suite('device actor: recovery');

for (const snapshotEvery of [0, 5]) {
  const how = snapshotEvery ? `from a snapshot every ${snapshotEvery} events` : 'from the journal alone';
  Recovery(`a respawn recovers the same summary ${how}, without training or publishing again`, () => using(async (open) => {
    const store = createMemoryStore();
    const a = open(store, { snapshotEvery });
    await joinRound1(a);
    for (let k = 1; k <= 8; k++) await a.score(k);
    const summary = a.summary();
    const journal = await journalEvents(a.journal);
    const trainedBefore = trainedEvents(journal).length;
    assert.is(trainedBefore, 2, 'after batches 4 and 7');
    assert.equal(summary, deviceSummary(fold(deviceDecider(SETTINGS), journal)), 'the live summary is the fold of the journal');
    if (snapshotEvery) assert.ok(store.snapshots.get(KEY), 'a snapshot was taken');
    a.stop();

    const usesBefore = pool.uses;
    const b = open(store, { snapshotEvery });
    assert.equal(await b.actor.ask({ type: 'JoinRound', round: 1, baseVersion: 0, deadline: DEADLINE, now: b.clock.now }), [], 'recovered: round 1 is already joined');
    assert.equal(b.summary(), summary);
    assert.is(pool.uses, usesBefore, 'recovery neither scores nor trains');
    assert.is(trainedEvents(await journalEvents(b.journal)).length, trainedBefore, 'no LocalModelTrained added by the respawn');
    assert.equal(b.relayed, [], 'nothing published again');
    if (snapshotEvery) assert.ok(b.registry.get(b.actor.path)!.info.lastSnapshotSeq !== null, 'recovered from the snapshot');

    // batch 8 redelivered after the restart: dropped as duplicates; nothing trained, nothing relayed
    const again = await b.score(8);
    assert.equal(again.map((e) => e.type), ['ReadingsScored']);
    assert.equal([(again[0] as Extract<DeviceEvent, { type: 'ReadingsScored' }>).readings.length, (again[0] as Extract<DeviceEvent, { type: 'ReadingsScored' }>).duplicates], [0, 4]);
    assert.is(trainedEvents(await journalEvents(b.journal)).length, trainedBefore);
    assert.equal(b.relayed, []);
    // and the recovered device goes on: batches 9 and 10 reach 12 new readings since the training after batch 7
    await b.score(9);
    await b.score(10);
    const after = await journalEvents(b.journal);
    assert.is(trainedEvents(after).length, trainedBefore + 1);
    assert.equal(trainedEvents(after).at(-1)!.sentForRound, null, 'round 1 already has the update sent before the restart');
    assert.is(b.relayed.filter((m) => m.topic === TOPICS.localUpdates).length, 0);
  }));
}

Recovery.after(() => pool.dispose());

Recovery.run();
