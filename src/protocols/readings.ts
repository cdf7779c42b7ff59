/** `edge-iiot-stream` (sensor readings) and `anomalies`. */
import * as t from 'io-ts';
import { decodedAsIs, EpochMillis, FiniteNumber, NonEmptyString, NonNegativeInt } from './codec';

/** decoded as is (see decodedAsIs): the trainer and the sink decode every reading */
export const SensorReading = decodedAsIs(t.intersection(
  [
    t.type({
      deviceId: NonEmptyString,
      readingId: NonEmptyString,
      /** event time of the reading, epoch ms */
      ts: EpochMillis,
      features: t.record(t.string, FiniteNumber),
    }),
    t.partial({ label: t.union([t.number, t.null]), attackType: t.union([t.string, t.null]), source: t.string }),
  ],
  'SensorReading',
));
export type SensorReading = t.TypeOf<typeof SensorReading>;

/** decoded as is (see decodedAsIs): the sink decodes every anomaly */
export const Anomaly = decodedAsIs(t.type(
  {
    deviceId: NonEmptyString,
    readingId: NonEmptyString,
    ts: EpochMillis,
    score: FiniteNumber,
    threshold: FiniteNumber,
    detector: t.keyof({ zscore: null, autoencoder: null, classifier: null }),
    modelVersion: t.union([NonNegativeInt, t.null]),
    severity: t.keyof({ warning: null, critical: null }),
  },
  'Anomaly',
));
export type Anomaly = t.TypeOf<typeof Anomaly>;
