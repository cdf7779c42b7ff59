/**
 * One example of every message on the wire, and the codec that decodes it. The protocol test round-trips each
 * pair (encode → JSON → decode → deep-equal); README snippets and docs should quote these values.
 */
import type * as t from 'io-ts';
import { DeadLetter } from './dead-letter';
import { JournalEnvelope, SnapshotEnvelope } from './journal';
import { GlobalModel, LocalModelUpdate, RoundNotice } from './models';
import { Anomaly, SensorReading } from './readings';
import { encodeWeights, hashWeights, type LayerShape } from './weights';

/** A 3→2 dense layer with bias: 8 parameters. */
const layers: LayerShape[] = [
  { name: 'dense/kernel', shape: [3, 2] },
  { name: 'dense/bias', shape: [2] },
];
const localFlat = new Float32Array([0.5, -0.25, 1, 0.125, -2, 0.75, 0.01, -0.01]);
const globalFlat = new Float32Array([0.25, -0.5, 1.5, 0, -1, 0.5, 0, 0]);

const sensorReading: SensorReading = {
  deviceId: 'sensor-07',
  readingId: 'sensor-07/000123',
  ts: 1_718_000_000_000,
  features: { temperature: 27.5, humidity: 41.2, voltage: 2.61 },
  label: 0,
  attackType: null,
  source: 'suthaharan-single-hop',
};

const anomaly: Anomaly = {
  deviceId: 'sensor-07',
  readingId: 'sensor-07/000124',
  ts: 1_718_000_005_000,
  score: 4.2,
  threshold: 3,
  detector: 'zscore',
  modelVersion: 3,
  severity: 'critical',
};

const localModelUpdate: LocalModelUpdate = {
  updateId: 'trainer-2/round-4',
  clientId: 'trainer-2',
  round: 4,
  baseVersion: 3,
  sampleCount: 512,
  weights: encodeWeights(layers, localFlat),
  metrics: { loss: 0.042, accuracy: 0.97 },
  sentAt: 1_718_000_010_000,
};

const globalModel: GlobalModel = {
  kind: 'global-model',
  version: 4,
  hash: hashWeights(globalFlat),
  weights: encodeWeights(layers, globalFlat),
  lineage: {
    parentVersion: 3,
    round: 4,
    strategy: { name: 'fedavg', trimRatio: null },
    updates: [{ clientId: 'trainer-2', updateId: 'trainer-2/round-4', hash: hashWeights(localFlat), sampleCount: 512 }],
  },
  createdAt: 1_718_000_020_000,
};

/** Round 5 opens on top of version 4 (the model above). */
const roundNotice: RoundNotice = {
  kind: 'round-opened',
  round: 5,
  baseVersion: 4,
  deadline: 1_718_000_080_000,
  openedAt: 1_718_000_020_000,
  model: globalModel,
};

const journalEnvelope: JournalEnvelope = {
  type: 'RoundOpened',
  schemaVersion: 1,
  key: 'aggregator/round',
  seq: 7,
  timestamp: 1_718_000_000_500,
  data: { round: 4, baseVersion: 3, deadline: 1_718_000_060_500 },
};

const snapshotEnvelope: SnapshotEnvelope = {
  key: 'aggregator/round',
  seq: 7,
  timestamp: 1_718_000_000_600,
  schemaVersion: 1,
  data: { phase: 'Collecting', round: 4, received: [] },
};

const deadLetter: DeadLetter = {
  reason: 'LocalModelUpdate: at sampleCount: expected a positive integer, got 0',
  service: 'aggregator',
  source: { topic: 'local-model-updates', partition: 0, offset: '42', file: null, line: null },
  key: 'trainer-2',
  raw: Buffer.from('{"updateId":"u1","sampleCount":0}').toString('base64'),
  at: 1_718_000_030_000,
};

export const examples = {
  sensorReading,
  anomaly,
  localModelUpdate,
  globalModel,
  roundNotice,
  journalEnvelope,
  snapshotEnvelope,
  deadLetter,
};

/** The parameter vectors behind `examples.localModelUpdate.weights` and `examples.globalModel.weights`. */
export const exampleWeights = { layers, local: localFlat, global: globalFlat };

export interface ExampleMessage {
  codec: t.Mixed;
  example: unknown;
}
/** Pairs a codec with an example of its own type (checked here, erased in the list). */
const pair = <A, O>(codec: t.Type<A, O, unknown>, example: A): ExampleMessage => ({ codec, example });

/** Each codec with its example; `codec.encode(example)` → JSON → `decodeJson(codec, …)` gives the example back. */
export const exampleMessages: readonly ExampleMessage[] = [
  pair(SensorReading, sensorReading),
  pair(Anomaly, anomaly),
  pair(LocalModelUpdate, localModelUpdate),
  pair(GlobalModel, globalModel),
  pair(RoundNotice, roundNotice),
  pair(JournalEnvelope, journalEnvelope),
  pair(SnapshotEnvelope, snapshotEnvelope),
  pair(DeadLetter, deadLetter),
];
