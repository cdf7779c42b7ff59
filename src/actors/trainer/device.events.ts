/**
 * A device actor's commands and journaled events. Model outputs (scores, trained weights, thresholds) are
 * recorded in events: replay never re-runs TensorFlow. Raw features are recorded too, so replay rebuilds the
 * scaler, the z-score window and the training window through `evolve` alone.
 */
import * as t from 'io-ts';
import { Base64, EpochMillis, FiniteNumber, NonEmptyString, NonNegativeInt, PositiveInt, Sha256Hex } from '../../protocols/codec';
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
export const ReadingsScored = t.type({ type: t.literal('ReadingsScored'), readings: t.array(ScoredReading), anomalies: t.array(Anomaly), duplicates: NonNegativeInt, at: EpochMillis });
export const GlobalModelApplied = t.type({ type: t.literal('GlobalModelApplied'), version: NonNegativeInt, hash: Sha256Hex, weights: Base64, threshold: t.union([FiniteNumber, t.null]), at: EpochMillis });
export const RoundJoined = t.type({ type: t.literal('RoundJoined'), round: PositiveInt, baseVersion: NonNegativeInt, deadline: EpochMillis, at: EpochMillis });
export const LocalModelTrained = t.type({
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
});

/** the current model's threshold computed on the device's window (one scoring pass, no training) */
export const ThresholdCalibrated = t.type({ type: t.literal('ThresholdCalibrated'), version: NonNegativeInt, hash: Sha256Hex, threshold: FiniteNumber, samples: PositiveInt, at: EpochMillis });

export const DeviceEvent = t.union([FeaturesFixed, ReadingsScored, GlobalModelApplied, RoundJoined, LocalModelTrained, ThresholdCalibrated], 'DeviceEvent');
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
  /** `threshold` is filled by the wiring: the new model's threshold on the device's training window */
  | { type: 'ApplyGlobal'; version: number; hash: string; weights: string; threshold: number | null; now: number }
  | { type: 'JoinRound'; round: number; baseVersion: number; deadline: number; now: number }
  | { type: 'RecordTraining'; baseVersion: number; weights: string; hash: string; loss: number; samples: number; threshold: number | null; now: number }
  /** filled by the wiring: the threshold of the model `hash` (version `version`) on `samples` window rows */
  | { type: 'RecordThreshold'; version: number; hash: string; threshold: number; samples: number; now: number };
