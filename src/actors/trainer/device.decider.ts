/**
 * The device decider: scores each reading with the z-score baseline (computed here, pure and
 * deterministic) and records the model score the wiring computed; drops redelivered readings (offset at or
 * below the last one applied for its partition); applies global models; joins rounds; records local
 * trainings and, when a round is open on the same base version, sends the update (the event's outbox); sends
 * the last update again to a newer round on the same model while no global model holds it.
 */
import type { Decider } from '../runtime/decider';
import { alertCounts, type Alert, type AlertModel, type DeviceCommand, type DeviceEvent, type IncomingReading, type ScoredReading } from './device.events';
import { initialDeviceState, type DeviceSettings, type DeviceState } from './device.state';
import { Scaler } from './scaler';
import { severityOf, ZScoreDetector } from './zscore';
import { slideChunks } from './window-chunks';

/**
 * A ReadingsScored event holds at most READINGS_PER_EVENT readings, and fewer when their estimated JSON size
 * (raw features, scores, up to two alerts each) would pass EVENT_BUDGET_BYTES, a quarter of the journal's
 * default MAX_EVENT_BYTES (1 MB): a batch of any size, of readings with any number of features (the trainer
 * refuses readings over MAX_READING_BYTES), never makes an event the journal refuses.
 */
export const READINGS_PER_EVENT = 200;
export const EVENT_BUDGET_BYTES = 256 * 1024;

/** An upper bound of a scored reading's share of a ReadingsScored event, in bytes of JSON. */
export function scoredReadingBytes(r: { readingId: string; offset: string; x: readonly number[] }): number {
  // a number takes at most 24 characters in JSON (-1.2345678901234567e-300) + a comma; the reading's other
  // fields and its two alerts at most stay under 1,000 characters plus its id and offset
  return 1_000 + r.readingId.length + r.offset.length + 25 * r.x.length;
}

const after = (offset: string, last: string | undefined): boolean => last === undefined || BigInt(offset) > BigInt(last);

export const toVector = (names: readonly string[], f: Readonly<Record<string, number>>): number[] => names.map((n) => f[n] ?? 0);
export const toRecord = (names: readonly string[], x: readonly number[]): Record<string, number> => Object.fromEntries(names.map((n, i) => [n, x[i]!]));

/** Readings not yet applied, in order (a batch may repeat an offset it already holds). */
export function freshReadings(state: DeviceState, readings: readonly IncomingReading[]): IncomingReading[] {
  const last = { ...state.lastOffsets };
  const out: IncomingReading[] = [];
  for (const r of readings) {
    if (!after(r.offset, last[r.partition])) continue;
    last[r.partition] = r.offset;
    out.push(r);
  }
  return out;
}

function scoreBatch(settings: DeviceSettings, state: DeviceState, c: Extract<DeviceCommand, { type: 'ScoreBatch' }>): DeviceEvent[] {
  const events: DeviceEvent[] = [];
  let names = state.featureNames;
  if (!names) {
    if (c.readings.length === 0) return [];
    names = settings.features ?? Object.keys(c.readings[0]!.features).sort();
    events.push({ type: 'FeaturesFixed', featureNames: names });
  }
  const fresh = freshReadings(state, c.readings);
  const duplicates = c.readings.length - fresh.length;
  const zThreshold = settings.zscore.threshold;
  if (fresh.length === 0) return duplicates ? [...events, { type: 'ReadingsScored', readings: [], alerts: [], zThreshold, model: null, duplicates, at: c.now }] : events;
  const detector = ZScoreDetector.fromJSON(state.zscore);
  const scores = new Map(c.readings.map((r, i) => [r.readingId, c.modelScores?.[i] ?? null]));
  const t = state.model.threshold;
  // the model the model alerts are raised by (there are none without a threshold)
  const model: AlertModel | null = t === null ? null : { detector: settings.modelKind, threshold: t, version: state.model.version };
  // Readings go into ReadingsScored events of at most READINGS_PER_EVENT readings and EVENT_BUDGET_BYTES (a
  // consumer catching up fetches thousands of one device's readings at once), each with its readings' alerts;
  // the duplicates are counted in the first.
  let part = { readings: [] as ScoredReading[], alerts: [] as Alert[], bytes: 0 };
  let uncounted = duplicates;
  const flush = () => {
    events.push({ type: 'ReadingsScored', readings: part.readings, alerts: part.alerts, zThreshold, model: part.alerts.some((a) => a[1] === 1) ? model : null, duplicates: uncounted, at: c.now });
    uncounted = 0;
    part = { readings: [], alerts: [], bytes: 0 };
  };
  for (const r of fresh) {
    const x = toVector(names, r.features);
    const zr = detector.observeValues(names, x);
    const m = scores.get(r.readingId) ?? null;
    const scored: ScoredReading = { readingId: r.readingId, ts: r.ts, partition: r.partition, offset: r.offset, x, label: r.label, z: zr.score, m };
    const bytes = scoredReadingBytes(scored);
    if (part.readings.length > 0 && (part.readings.length >= READINGS_PER_EVENT || part.bytes + bytes > EVENT_BUDGET_BYTES)) flush();
    const i = part.readings.push(scored) - 1;
    part.bytes += bytes;
    if (zr.score !== null && zr.severity) part.alerts.push([i, 0, zr.severity === 'critical' ? 1 : 0]);
    const sev = m !== null && t !== null && t > 0 ? severityOf(m, t) : null;
    if (sev) part.alerts.push([i, 1, sev === 'critical' ? 1 : 0]);
  }
  flush();
  return events;
}

/**
 * The device's last update is in no global model yet and the device still holds it (its model is that update):
 * it may send it again, unchanged, to a round on that model.
 */
export const holdsUnmergedUpdate = (s: DeviceState): boolean =>
  s.sentUpTo > s.mergedUpTo && s.lastUpdate !== null && s.lastUpdate.baseVersion === s.model.version && s.lastUpdate.hash === s.model.hash;

export function decideDevice(settings: DeviceSettings) {
  return (c: DeviceCommand, s: DeviceState): DeviceEvent[] => {
    switch (c.type) {
      case 'ScoreBatch':
        return scoreBatch(settings, s, c);
      case 'ApplyGlobal':
        if (s.model.version !== null && c.version <= s.model.version) return [];
        return [{ type: 'GlobalModelApplied', version: c.version, hash: c.hash, weights: c.weights, threshold: c.threshold, merged: c.merged, at: c.now }];
      case 'JoinRound':
        if (s.round && c.round <= s.round.round) return [];
        return [{ type: 'RoundJoined', round: c.round, baseVersion: c.baseVersion, deadline: c.deadline, at: c.now }];
      case 'RecordTraining': {
        // A training that finished after a newer global model arrived is stale: its round has closed.
        if (s.model.version !== null && c.baseVersion < s.model.version) return [];
        const open = s.round && !s.round.sent && s.round.baseVersion === c.baseVersion && c.now <= s.round.deadline ? s.round.round : null;
        return [{
          type: 'LocalModelTrained', baseVersion: c.baseVersion, weights: c.weights, hash: c.hash, loss: c.loss, samples: c.samples, threshold: c.threshold,
          sentForRound: open, updateId: open === null ? null : `${settings.deviceId}-r${open}-v${c.baseVersion}`, at: c.now, seen: c.seen,
        }];
      }
      case 'ResendUpdate': {
        // Only to the open round it names, not sent yet, on the model the update was trained from, while the
        // device still holds that update (a training or a global model since makes it stale).
        const r = s.round;
        if (!r || r.round !== c.round || r.sent || r.baseVersion !== c.baseVersion || c.now > r.deadline) return [];
        if (!holdsUnmergedUpdate(s) || s.model.hash !== c.hash || s.model.version !== c.baseVersion) return [];
        const u = s.lastUpdate!;
        return [{ type: 'UpdateResent', round: c.round, baseVersion: c.baseVersion, hash: c.hash, samples: u.samples, loss: u.loss, updateId: `${settings.deviceId}-r${c.round}-v${c.baseVersion}`, at: c.now }];
      }
      case 'RecordThreshold':
        // Only for the model it was computed on (a newer model or a training since makes it stale).
        if (s.model.version !== c.version || s.model.hash !== c.hash) return [];
        return [{ type: 'ThresholdCalibrated', version: c.version, hash: c.hash, threshold: c.threshold, samples: c.samples, at: c.now }];
      default: {
        const never: never = c;
        throw new Error(`unknown command ${JSON.stringify(never)}`);
      }
    }
  };
}

export function evolveDevice(settings: DeviceSettings) {
  return (s: DeviceState, e: DeviceEvent): DeviceState => {
    switch (e.type) {
      case 'FeaturesFixed':
        return { ...s, featureNames: e.featureNames };
      case 'ReadingsScored': {
        if (e.readings.length === 0) return { ...s, counters: { ...s.counters, duplicates: s.counters.duplicates + e.duplicates } };
        const scaler = s.scaler ? Scaler.fromJSON(s.scaler) : new Scaler(e.readings[0]!.x.length);
        const detector = ZScoreDetector.fromJSON(s.zscore);
        const names = s.featureNames ?? [];
        const lastOffsets = { ...s.lastOffsets };
        for (const r of e.readings) {
          scaler.update(r.x);
          detector.addValues(names, r.x);
          lastOffsets[r.partition] = r.offset;
        }
        const window = slideChunks(s.window, s.windowLabels.length, e.readings.map((r) => r.x), settings.window);
        const windowLabels = [...s.windowLabels, ...e.readings.map((r) => r.label)].slice(-settings.window);
        const alerts = alertCounts(e);
        return {
          ...s,
          seen: s.seen + e.readings.length,
          lastOffsets,
          scaler: scaler.toJSON(),
          zscore: detector.toJSON(),
          window,
          windowLabels,
          sinceTraining: s.sinceTraining + e.readings.length,
          sinceThreshold: s.sinceThreshold + e.readings.length,
          counters: { ...s.counters, zscoreAnomalies: s.counters.zscoreAnomalies + alerts.zscore, modelAnomalies: s.counters.modelAnomalies + alerts.model, duplicates: s.counters.duplicates + e.duplicates },
        };
      }
      case 'GlobalModelApplied':
        return { ...s, mergedUpTo: e.merged === false ? s.mergedUpTo : Math.max(s.mergedUpTo, s.sentUpTo), sinceThreshold: e.threshold === null ? s.sinceThreshold : 0, model: { version: e.version, hash: e.hash, weights: e.weights, source: 'global', threshold: e.threshold ?? s.model.threshold } };
      case 'RoundJoined':
        return { ...s, round: { round: e.round, baseVersion: e.baseVersion, deadline: e.deadline, sent: false } };
      case 'LocalModelTrained': {
        // readings scored while the training ran (after it took its window) still count as new
        const trainedUpTo = e.seen ?? s.seen;
        return {
          ...s,
          sinceTraining: s.seen - trainedUpTo,
          sentUpTo: e.sentForRound === null ? s.sentUpTo : Math.max(s.sentUpTo, trainedUpTo),
          sinceThreshold: e.threshold === null ? s.sinceThreshold : 0,
          lastTrainedAt: e.at,
          model: { version: e.baseVersion, hash: e.hash, weights: e.weights, source: 'local', threshold: e.threshold ?? s.model.threshold },
          lastUpdate: e.sentForRound === null ? s.lastUpdate : { baseVersion: e.baseVersion, hash: e.hash, samples: e.samples, loss: e.loss },
          round: s.round && e.sentForRound === s.round.round ? { ...s.round, sent: true } : s.round,
          counters: { ...s.counters, trainings: s.counters.trainings + 1, updatesSent: s.counters.updatesSent + (e.sentForRound === null ? 0 : 1) },
        };
      }
      case 'UpdateResent':
        return {
          ...s,
          round: s.round && e.round === s.round.round ? { ...s.round, sent: true } : s.round,
          counters: { ...s.counters, updatesSent: s.counters.updatesSent + 1 },
        };
      case 'ThresholdCalibrated':
        return { ...s, sinceThreshold: 0, model: { ...s.model, threshold: e.threshold } };
      default: {
        const never: never = e;
        throw new Error(`unknown event ${JSON.stringify(never)}`);
      }
    }
  };
}

export const deviceDecider = (settings: DeviceSettings): Decider<DeviceCommand, DeviceEvent, DeviceState> => ({
  initialState: initialDeviceState(settings.deviceId, settings.zscore),
  decide: decideDevice(settings),
  evolve: evolveDevice(settings),
});
