/** A device actor's state (plain JSON: it is snapshotted as is). */
import { escapeName } from '../runtime/nact';
import { ZSCORE_DEFAULTS, ZScoreDetector, type ZScoreConfig, type ZScoreSnapshot } from './zscore';
import type { ScalerSnapshot } from './scaler';
import type { Config } from '../../config';
import { numbersOf } from './window-chunks';

export interface DeviceSettings {
  deviceId: string;
  zscore: ZScoreConfig;
  /** readings kept for local training */
  window: number;
  /** train after this many new readings */
  trainEvery: number;
  /** re-compute the model's threshold on the window after this many new readings without one */
  thresholdEvery: number;
  /** no training before the window holds this many readings */
  minTrainSamples: number;
  /** train at least this often (when new readings arrived) */
  trainIntervalMs: number;
  /** fixed feature order, or null: the sorted keys of the device's first reading */
  features: string[] | null;
  /** 'classifier' trains on the readings' labels; 'autoencoder' on the readings alone */
  modelKind: 'autoencoder' | 'classifier';
}

/** A device actor's settings, from the configuration (the trainer's and `flead replay`'s: evolve depends on them). */
export function deviceSettings(config: Config, deviceId: string): DeviceSettings {
  const t = config.trainer;
  return {
    deviceId, zscore: t.zscore, window: t.window, trainEvery: t.trainEvery, thresholdEvery: t.thresholdEvery, trainIntervalMs: t.trainIntervalMs,
    minTrainSamples: t.minTrainSamples, features: config.model.features, modelKind: config.model.spec.kind,
  };
}

/** Persistence keys of a trainer's device actors: `<service>/device/<device id>`. */
export const deviceKeyPrefix = (service: string): string => `${service}/device/`;

/** A device actor's name under its service (its inspection path is `<service>/<name>`); one per device id. */
export const deviceActorName = (deviceId: string): string => `device-${escapeName(deviceId)}`;

export interface DeviceState {
  deviceId: string;
  featureNames: string[] | null;
  seen: number;
  /** last offset applied per partition (decimal strings), for dropping redelivered readings */
  lastOffsets: Record<string, string>;
  scaler: ScalerSnapshot | null;
  zscore: ZScoreSnapshot;
  /**
   * the readings kept for training, in chunks (window-chunks.ts): each chunk holds the features (in
   * `featureNames` order) of consecutive readings one after the other, oldest first; `windowLabels` has one entry
   * a reading, so it counts them
   */
  window: number[][];
  /** labels of the window's readings (classifier mode), null when unlabelled */
  windowLabels: Array<number | null>;
  sinceTraining: number;
  /**
   * `seen` when the window of the last update sent to a round was taken: readings after it are in no update
   * yet, and a device trains for a round only when it has such readings (so rounds stop moving devices, and
   * versions stop piling up, once the data stops)
   */
  sentUpTo: number;
  /**
   * `sentUpTo` of the last update a published global model holds (its lineage names this device): readings
   * between the two are in an update sent to a round that ended without a new model (abandoned) or without it
   * (too late), so they are in no global model yet; the device sends that update again, or trains for the next
   * round, until one holds them
   */
  mergedUpTo: number;
  /** the last update sent to a round: what a resend repeats (the weights are the model's while `hash` is its hash) */
  lastUpdate: { baseVersion: number; hash: string; samples: number; loss: number } | null;
  /** readings since the model's threshold was computed */
  sinceThreshold: number;
  lastTrainedAt: number | null;
  model: { version: number | null; hash: string | null; weights: string | null; source: 'global' | 'local' | null; threshold: number | null };
  round: { round: number; baseVersion: number; deadline: number; sent: boolean } | null;
  counters: { zscoreAnomalies: number; modelAnomalies: number; trainings: number; updatesSent: number; duplicates: number };
}

export const initialDeviceState = (deviceId: string, zscore: ZScoreConfig = ZSCORE_DEFAULTS): DeviceState => ({
  deviceId,
  featureNames: null,
  seen: 0,
  lastOffsets: {},
  scaler: null,
  zscore: new ZScoreDetector(zscore).toJSON(),
  window: [],
  windowLabels: [],
  sinceTraining: 0,
  sentUpTo: 0,
  mergedUpTo: 0,
  lastUpdate: null,
  sinceThreshold: 0,
  lastTrainedAt: null,
  model: { version: null, hash: null, weights: null, source: null, threshold: null },
  round: null,
  counters: { zscoreAnomalies: 0, modelAnomalies: 0, trainings: 0, updatesSent: 0, duplicates: 0 },
});

/**
 * A device state from a snapshot; snapshots written before `sinceThreshold` existed count from 0, those written
 * before `sentUpTo` existed take the readings since the last training as not sent yet, and those written before
 * `mergedUpTo` existed take every update sent as merged (as the device then did). A window written one array a
 * reading (before 2026-12-04) is a window of one-reading chunks.
 */
export const decodeDeviceState = (d: unknown): DeviceState => {
  const s = d as Partial<DeviceState>;
  const sentUpTo = s.sentUpTo ?? (s.seen ?? 0) - (s.sinceTraining ?? 0);
  return { sinceThreshold: 0, mergedUpTo: sentUpTo, lastUpdate: null, ...s, sentUpTo } as DeviceState;
};

/** Readings in a device's window. */
export const windowCount = (s: DeviceState): number => s.windowLabels.length;

/** Features of each reading in a device's window (0 while it is empty). */
export const windowFeatures = (s: DeviceState): number => (s.windowLabels.length > 0 ? numbersOf(s.window) / s.windowLabels.length : 0);

/** A device's window, a vector a reading. */
export function windowRows(s: DeviceState): number[][] {
  const n = windowFeatures(s);
  const rows: number[][] = [];
  for (const c of s.window) for (let at = 0; at < c.length; at += n) rows.push(c.slice(at, at + n));
  return rows;
}

export const deviceSummary = (s: DeviceState) => ({
  deviceId: s.deviceId,
  featureNames: s.featureNames,
  seen: s.seen,
  lastOffsets: s.lastOffsets,
  windowSize: windowCount(s),
  sinceTraining: s.sinceTraining,
  /** readings in no update sent to a round yet */
  unsent: s.seen - s.sentUpTo,
  /** readings in an update sent but in no global model yet */
  unmerged: s.sentUpTo - s.mergedUpTo,
  sinceThreshold: s.sinceThreshold,
  lastTrainedAt: s.lastTrainedAt,
  model: { version: s.model.version, hash: s.model.hash, source: s.model.source, threshold: s.model.threshold },
  round: s.round,
  counters: s.counters,
});
