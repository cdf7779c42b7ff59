/**
 * A device actor's commands and journaled events. Model outputs (scores, trained weights, thresholds) are
 * recorded in events: replay never re-runs TensorFlow. Raw features are recorded too, so replay rebuilds the
 * scaler, the z-score window and the training window through `evolve` alone.
 */
import * as t from 'io-ts';
import { Base64, EpochMillis, refine, FiniteNumber, NonEmptyString, NonNegativeInt, PositiveInt, Sha256Hex } from '../../protocols/codec';
import { Anomaly } from '../../protocols/readings';

export const ScoredReading = t.type({
  readingId: NonEmptyString,
  ts: EpochMillis,
  partition: t.number,
  /** Kafka offset as a decimal string */
  offset: t.string,
  /** raw features in the device's feature order */
  x: t.array(t.number),
  label: t.union([t.number, t.null]),
  z: t.union([t.number, t.null]),
  m: t.union([t.number, t.null]),
});
export type ScoredReading = t.TypeOf<typeof ScoredReading>;

export const FeaturesFixed = t.type({ type: t.literal('FeaturesFixed'), featureNames: t.array(t.string) });
/** An anomaly of a ReadingsScored event: [index of its reading in the event, 0 z-score | 1 model, 0 warning | 1 critical] */
export const Alert = t.tuple([NonNegativeInt, t.union([t.literal(0), t.literal(1)]), t.union([t.literal(0), t.literal(1)])]);
export type Alert = t.TypeOf<typeof Alert>;
/** The model the model alerts of an event were raised by, and its threshold then. */
export const AlertModel = t.type({ detector: t.keyof({ autoencoder: null, classifier: null }), threshold: FiniteNumber, version: t.union([NonNegativeInt, t.null]) });
export type AlertModel = t.TypeOf<typeof AlertModel>;

/**
 * Readings scored: their raw features and scores, and the anomalies they raised. The anomalies are `alerts`
 * that point at their readings (score, time and ids are the reading's), with the thresholds once per event:
 * the full Anomaly records (~160 bytes each, ~0.7 per reading on the bench) repeated what the readings hold.
 * Events written before 2026-12-02 carry `anomalies` instead; both replay the same (see anomaliesOf).
 */
const ReadingsScoredShape = t.intersection([
  t.type({ type: t.literal('ReadingsScored'), readings: t.array(ScoredReading), duplicates: NonNegativeInt, at: EpochMillis }),
  t.union([
    t.type({ alerts: t.array(Alert), zThreshold: FiniteNumber, model: t.union([AlertModel, t.null]) }),
    t.type({ anomalies: t.array(Anomaly) }),
  ]),
]);
/** each alert points at a reading of the event that has the score it names, and model alerts have their model */
const alertsHold = (e: t.TypeOf<typeof ReadingsScoredShape>): boolean =>
  'anomalies' in e || e.alerts.every(([i, d]) => i < e.readings.length && (d === 0 ? e.readings[i]!.z !== null : e.readings[i]!.m !== null && e.model !== null));
export const ReadingsScored = refine(ReadingsScoredShape, alertsHold, 'ReadingsScored (alerts pointing at scored readings)');
export type ReadingsScored = t.TypeOf<typeof ReadingsScored>;

/** The anomalies a ReadingsScored event raised, as published on `anomalies`, in order. */
export function anomaliesOf(deviceId: string, e: ReadingsScored): Anomaly[] {
  if ('anomalies' in e) return e.anomalies;
  return e.alerts.map(([i, detector, severity]) => {
    const r = e.readings[i]!;
    const level = severity === 1 ? 'critical' : 'warning';
    if (detector === 0) return { deviceId, readingId: r.readingId, ts: r.ts, score: r.z!, threshold: e.zThreshold, detector: 'zscore', modelVersion: null, severity: level };
    const m = e.model!;
    return { deviceId, readingId: r.readingId, ts: r.ts, score: r.m!, threshold: m.threshold, detector: m.detector, modelVersion: m.version, severity: level };
  });
}

/** How many z-score and model anomalies a ReadingsScored event raised. */
export function alertCounts(e: ReadingsScored): { zscore: number; model: number } {
  if ('anomalies' in e) {
    const zscore = e.anomalies.filter((a) => a.detector === 'zscore').length;
    return { zscore, model: e.anomalies.length - zscore };
  }
  let zscore = 0;
  for (const a of e.alerts) if (a[1] === 0) zscore++;
  return { zscore, model: e.alerts.length - zscore };
}
export const GlobalModelApplied = t.intersection([
  t.type({ type: t.literal('GlobalModelApplied'), version: NonNegativeInt, hash: Sha256Hex, weights: Base64, threshold: t.union([FiniteNumber, t.null]), at: EpochMillis }),
  t.partial({
    /**
     * whether the model's lineage holds an update of this device (its readings up to the last update it sent are
     * then in a global model); absent in events written before it existed, which count as true
     */
    merged: t.boolean,
  }),
]);
export const RoundJoined = t.type({ type: t.literal('RoundJoined'), round: PositiveInt, baseVersion: NonNegativeInt, deadline: EpochMillis, at: EpochMillis });
export const LocalModelTrained = t.intersection([t.type({
  type: t.literal('LocalModelTrained'),
  baseVersion: NonNegativeInt,
  weights: Base64,
  hash: Sha256Hex,
  loss: FiniteNumber,
  samples: PositiveInt,
  threshold: t.union([FiniteNumber, t.null]),
  /** the round this training was sent to (its LocalModelUpdate is this event's outbox), null when none was open */
  sentForRound: t.union([PositiveInt, t.null]),
  updateId: t.union([t.string, t.null]),
  at: EpochMillis,
}), t.partial({
  /** the device's reading count when the training took its window (absent in events written before it existed) */
  seen: NonNegativeInt,
})]);

/**
 * The device's last update sent again, unchanged (no training), to a newer round on the same base model: the
 * round it went to ended without a new global model (abandoned), so its readings are in no global model yet.
 * The weights are those of the LocalModelTrained event that sent it first (`hash`); they are the outbox's, not
 * the event's.
 */
export const UpdateResent = t.type({
  type: t.literal('UpdateResent'), round: PositiveInt, baseVersion: NonNegativeInt, hash: Sha256Hex, samples: PositiveInt, loss: FiniteNumber, updateId: NonEmptyString, at: EpochMillis,
});

/** the current model's threshold computed on the device's window (one scoring pass, no training) */
export const ThresholdCalibrated = t.type({ type: t.literal('ThresholdCalibrated'), version: NonNegativeInt, hash: Sha256Hex, threshold: FiniteNumber, samples: PositiveInt, at: EpochMillis });

export const DeviceEvent = t.union([FeaturesFixed, ReadingsScored, GlobalModelApplied, RoundJoined, LocalModelTrained, UpdateResent, ThresholdCalibrated], 'DeviceEvent');
export type DeviceEvent = t.TypeOf<typeof DeviceEvent>;

export interface IncomingReading {
  readingId: string;
  ts: number;
  partition: number;
  offset: string;
  features: Record<string, number>;
  label: number | null;
}

export type DeviceCommand =
  /** `modelScores` is filled by the wiring (enrich) from the device's current model, aligned with `readings` */
  | { type: 'ScoreBatch'; readings: IncomingReading[]; modelScores: Array<number | null> | null; now: number }
  /**
   * `threshold` is filled by the wiring: the new model's threshold on the device's training window; `merged`:
   * the model's lineage holds an update of this device
   */
  | { type: 'ApplyGlobal'; version: number; hash: string; weights: string; threshold: number | null; merged: boolean; now: number }
  | { type: 'JoinRound'; round: number; baseVersion: number; deadline: number; now: number }
  /** `seen`: the device's reading count when the training took its window */
  | { type: 'RecordTraining'; baseVersion: number; weights: string; hash: string; loss: number; samples: number; threshold: number | null; seen: number; now: number }
  /** the device's last update (`hash`, and its weights for the message) sent again to round `round` on `baseVersion` */
  | { type: 'ResendUpdate'; round: number; baseVersion: number; hash: string; weights: string; now: number }
  /** filled by the wiring: the threshold of the model `hash` (version `version`) on `samples` window rows */
  | { type: 'RecordThreshold'; version: number; hash: string; threshold: number; samples: number; now: number };
