/**
 * Wiring of a device actor: the decider, plus what needs TensorFlow.js (scoring with the device's current
 * model, computing thresholds, local training), and the messages the events cause (anomalies; the local model
 * update for an open round), published atomically with the events through the journal outbox.
 */
import type { Logger } from '../../infra/log';
import { encodeJson } from '../../protocols/codec';
import { LocalModelUpdate } from '../../protocols/models';
import { Anomaly } from '../../protocols/readings';
import type { TopicSet } from '../../protocols/topics';
import { fromLittleEndianBytes, hashWeights, parameterCount, toLittleEndianBytes, type LayerShape } from '../../protocols/weights';
import { decodeOrThrow } from '../runtime/decode';
import { spawnEventSourced, type ActorWiring, type EventSourcedRef } from '../runtime/event-sourced';
import type { OutboxLike, Ref } from '../runtime/nact';
import { deviceDecider, holdsUnmergedUpdate, toVector } from './device.decider';
import { WindowResiduals } from './residuals';
import { anomaliesOf, DeviceEvent, type DeviceCommand } from './device.events';
import { decodeDeviceState, deviceKeyPrefix, deviceSummary, windowCount, windowFeatures, windowRows, type DeviceSettings, type DeviceState } from './device.state';
import type { ModelPool } from './model-pool';
import { Scaler } from './scaler';
import { modelThreshold } from './threshold';

export interface TrainingSettings { epochs: number; batchSize: number; learningRate: number }

export interface DeviceActorDeps extends ActorWiring {
  service: string;
  settings: DeviceSettings;
  training: TrainingSettings;
  layers: LayerShape[];
  pool: ModelPool;
  topics: TopicSet;
  log: Logger;
  clock: () => number;
  actorName: string;
  /** model inputs: 'raw' (standardised features) or 'residual' (minus the median of the previous readings) */
  transform: 'raw' | 'residual';
  residualWindow: number;
  /** autoencoder threshold: this quantile of the training window's reconstruction errors */
  thresholdQuantile: number;
  /** told when the device's model weights stop or start fitting MODEL_SPEC (the text, or null when they fit again) */
  onWeightsMisfit?: (deviceId: string, note: string | null) => void;
}

export type DeviceActor = EventSourcedRef<DeviceCommand, DeviceEvent>;

const b64ToFloats = (b64: string): Float32Array => fromLittleEndianBytes(Buffer.from(b64, 'base64'));
const floatsToB64 = (w: Float32Array): string => Buffer.from(toLittleEndianBytes(w)).toString('base64');

/**
 * The model's inputs for `rows` (readings after the window, or the window itself when `rows` is omitted):
 * 'raw' = standardised with the device's running scaler; 'residual' = residuals (each feature minus the median of
 * the previous `RESIDUAL_WINDOW` readings, `residuals` keeps them across batches), standardised with the
 * statistics of the window's residuals. Null before the device has statistics.
 */
function modelInputs(s: DeviceState, transform: 'raw' | 'residual', residuals: WindowResiduals, rows?: number[][]): number[][] | null {
  if (!s.scaler || windowCount(s) === 0) return null;
  if (transform === 'raw') {
    const scaler = Scaler.fromJSON(s.scaler);
    return (rows ?? windowRows(s)).map((x) => scaler.transform(x));
  }
  const features = windowFeatures(s);
  const train = residuals.ofWindow(s.window, windowCount(s), features, s.seen);
  const scaler = new Scaler(features);
  scaler.updateFlat(train);
  if (rows) return residuals.after(s.window, windowCount(s), features, rows).map((x) => scaler.transform(x));
  return Array.from({ length: windowCount(s) }, (_, i) => scaler.transform(Array.from(train.subarray(i * features, (i + 1) * features))));
}

/** Bytes that a base64 text decodes to, without decoding it. */
const base64Bytes = (b64: string): number => (b64.length / 4) * 3 - (b64.endsWith('==') ? 2 : b64.endsWith('=') ? 1 : 0);

const seedOf = (id: string, n: number) => { let h = 2166136261 ^ n; for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 16777619); return h >>> 0; };

export function spawnDeviceActor(parent: Ref<unknown>, deps: DeviceActorDeps): DeviceActor {
  const { settings, pool, clock } = deps;
  const inputs = deps.layers[0]?.shape[0] ?? 0;
  const parameters = parameterCount(deps.layers);
  /** the device's residual inputs, kept across its batches (not state: a recovery starts it again) */
  const residuals = new WindowResiduals(deps.residualWindow);
  let warned = false;
  let warnedWeights = false;
  /**
   * The device's features must match the model's inputs, and its model's weights the model's shape (a trainer
   * restarted with another MODEL_SPEC recovers weights of the old one: setWeights would throw on every batch and
   * the device's partition would stall); otherwise only the z-score baseline runs, until a global model that
   * fits replaces the weights (each said once).
   */
  const featuresFit = (s: DeviceState): boolean => {
    const ok = s.featureNames !== null && s.featureNames.length === inputs;
    if (!ok && s.featureNames && !warned) {
      warned = true;
      deps.log.warn(`${settings.deviceId}: readings carry ${s.featureNames.length} features but the model takes ${inputs} (MODEL_SPEC / MODEL_FEATURES): only the z-score baseline scores this device`);
    }
    return ok;
  };
  const weightsFit = (s: DeviceState): boolean => {
    const held = s.model.weights === null ? parameters : base64Bytes(s.model.weights) / 4;
    if (held !== parameters && !warnedWeights) {
      warnedWeights = true;
      const note = `its model v${s.model.version ?? '-'} has ${held} parameters but MODEL_SPEC's has ${parameters} (was the trainer started with another MODEL_SPEC?): only the z-score baseline scores this device until a global model that fits arrives`;
      deps.log.warn(`${settings.deviceId}: ${note}`);
      deps.onWeightsMisfit?.(settings.deviceId, note);
    } else if (held === parameters && warnedWeights) {
      warnedWeights = false;
      deps.onWeightsMisfit?.(settings.deviceId, null);
    }
    return held === parameters;
  };
  const fits = (s: DeviceState): boolean => featuresFit(s) && weightsFit(s);

  /** the model's inputs for the device's window, null when the device's features or its weights do not fit the model */
  const windowInputs = (s: DeviceState): number[][] | null => (fits(s) ? modelInputs(s, deps.transform, residuals) : null);

  async function scoreRows(weights: string, xs: number[][]): Promise<Float32Array> {
    return pool.use((m) => { m.setWeights(b64ToFloats(weights)); return m.score(xs); });
  }

  async function train(tell: (c: DeviceCommand) => void, s: DeviceState): Promise<void> {
    const xs = windowInputs(s);
    if (!xs || !s.model.weights || s.model.version === null) return;
    const labels = settings.modelKind === 'classifier' ? s.windowLabels.map((l) => (l === null ? null : l > 0 ? 1 : 0)) : null;
    if (labels && labels.some((l) => l === null)) return; // classifier mode trains on labelled readings only
    const result = await pool.use(async (m) => {
      m.setWeights(b64ToFloats(s.model.weights!));
      const r = await m.train(xs, labels ? (labels as number[]) : undefined, { ...deps.training, seed: seedOf(settings.deviceId, s.counters.trainings) });
      const w = m.getWeights();
      return { ...r, weights: w, scores: m.score(xs) };
    });
    if (!result.weights.every(Number.isFinite)) { deps.log.warn(`${settings.deviceId}: local training diverged (non-finite weights); keeping the model`); return; }
    tell({
      type: 'RecordTraining', baseVersion: s.model.version, weights: floatsToB64(result.weights), hash: hashWeights(result.weights),
      loss: Number.isFinite(result.loss) ? result.loss : 0, samples: result.samples, threshold: thresholdOf(result.scores), seen: s.seen, now: clock(),
    });
    pendingBase = s.model.version;
  }

  async function calibrate(tell: (c: DeviceCommand) => void, s: DeviceState): Promise<void> {
    const xs = windowInputs(s);
    if (!xs || !s.model.weights || s.model.version === null || !s.model.hash) return;
    const threshold = thresholdOf(await scoreRows(s.model.weights, xs));
    if (threshold !== null && Number.isFinite(threshold)) tell({ type: 'RecordThreshold', version: s.model.version, hash: s.model.hash, threshold, samples: xs.length, now: clock() });
  }

  /** autoencoder: a quantile of the training window's reconstruction errors; classifier: probability 0.5 */
  const thresholdOf = (scores: ArrayLike<number>): number | null => (settings.modelKind === 'classifier' ? 0.5 : modelThreshold(scores, { kind: 'quantile', q: deps.thresholdQuantile }));

  const dueForTraining = (s: DeviceState) => s.model.weights !== null && windowCount(s) >= settings.minTrainSamples;
  /**
   * The base version of the training whose RecordTraining is pending, or null. It is queued behind the messages
   * that came while the training ran: until it is handled, those must not start another training on the same
   * model (the state does not show the first one yet). A newer global model makes the pending one stale (it will
   * be discarded), so then a training on the new model may start. Not state: a recovery clears it.
   */
  let pendingBase: number | null = null;
  /** the device's model is the base of an open round it has not sent an update to */
  const roundWaiting = (s: DeviceState) => s.round !== null && !s.round.sent && s.model.version === s.round.baseVersion && clock() <= s.round.deadline;

  /** the LocalModelUpdate an event sends (its outbox message) */
  const updateMessage = (u: { updateId: string; round: number; baseVersion: number; samples: number; loss: number; at: number }, weights: string): OutboxLike => {
    const update: LocalModelUpdate = {
      updateId: u.updateId, clientId: settings.deviceId, round: u.round, baseVersion: u.baseVersion, sampleCount: u.samples,
      weights: { dtype: 'float32', byteOrder: 'little', layers: deps.layers, data: weights }, metrics: { loss: u.loss }, sentAt: u.at,
    };
    return { topic: deps.topics.localUpdates, key: settings.deviceId, value: encodeJson(LocalModelUpdate, update) };
  };

  return spawnEventSourced(parent, {
    kind: 'device',
    name: deps.actorName,
    persistenceKey: `${deviceKeyPrefix(deps.service)}${settings.deviceId}`,
    decider: deviceDecider(settings),
    decodeEvent: (d) => decodeOrThrow(DeviceEvent, d),
    snapshotEvery: deps.snapshotEvery,
    summarize: deviceSummary,
    decodeState: decodeDeviceState,
    enrich: async (c, s) => {
      if (c.type === 'RecordTraining' && c.baseVersion === pendingBase) pendingBase = null;
      if (c.type === 'ScoreBatch' && s.model.weights && s.featureNames && s.scaler && fits(s)) {
        const xs = modelInputs(s, deps.transform, residuals, c.readings.map((r) => toVector(s.featureNames!, r.features)))!;
        const scores = await scoreRows(s.model.weights, xs);
        return { ...c, modelScores: Array.from(scores, (v) => (Number.isFinite(v) ? v : null)) };
      }
      if (c.type === 'ApplyGlobal' && c.threshold === null) {
        const xs = featuresFit(s) ? modelInputs(s, deps.transform, residuals) : null; // the new weights replace the held ones
        if (xs && xs.length >= settings.minTrainSamples) return { ...c, threshold: thresholdOf(await scoreRows(c.weights, xs)) };
      }
      return c;
    },
    outbox: (c, events) => {
      const out: OutboxLike[] = [];
      for (const e of events) {
        if (e.type === 'ReadingsScored') {
          for (const a of anomaliesOf(settings.deviceId, e)) out.push({ topic: deps.topics.anomalies, key: a.deviceId, value: encodeJson(Anomaly, a) });
        }
        if (e.type === 'LocalModelTrained' && e.sentForRound !== null && c.type === 'RecordTraining') {
          out.push(updateMessage({ updateId: e.updateId!, round: e.sentForRound, baseVersion: e.baseVersion, samples: e.samples, loss: e.loss, at: e.at }, e.weights));
        }
        if (e.type === 'UpdateResent' && c.type === 'ResendUpdate') out.push(updateMessage(e, c.weights));
      }
      return out;
    },
    effects: async (ctx, events, s) => {
      for (const e of events) {
        if (e.type === 'LocalModelTrained' && e.sentForRound !== null) deps.log.debug(`${settings.deviceId}: sent update for round ${e.sentForRound} (base ${e.baseVersion}, ${e.samples} samples, loss ${e.loss.toFixed(4)})`);
        if (e.type === 'UpdateResent') deps.log.debug(`${settings.deviceId}: sent update ${e.hash.slice(0, 12)} again, for round ${e.round} (base ${e.baseVersion}): no global model holds it yet`);
      }
      // A training pending on the device's model answers a round joined meanwhile (it is sent for it).
      if (pendingBase !== null && pendingBase === s.model.version) return;
      const fresh = events.some((e) => e.type === 'ReadingsScored') && s.sinceTraining > 0;
      // Train every N readings or every T ms.
      const trained = fresh && (s.sinceTraining >= settings.trainEvery || (s.lastTrainedAt !== null && clock() - s.lastTrainedAt >= settings.trainIntervalMs));
      // And for an open round on the device's model (when it joins, when the round's base model arrives, or at
      // its next reading), as long as some of its readings are in no global model: it trains when it has readings
      // in no update sent yet, or when its last update is in no global model and it no longer holds it (a global
      // model without it arrived since); it sends that update again, unchanged, when it still holds it (its round
      // was abandoned and the new one is on the same model). Once a global model holds all its readings it sends
      // nothing, so once the data stops and the last updates are merged, rounds stop moving the devices.
      const waiting = roundWaiting(s) && events.some((e) => e.type === 'RoundJoined' || e.type === 'GlobalModelApplied' || (e.type === 'ReadingsScored' && e.readings.length > 0));
      const resend = holdsUnmergedUpdate(s);
      const forRound = waiting && (s.seen > s.sentUpTo || (s.sentUpTo > s.mergedUpTo && !resend));
      if ((trained || forRound) && dueForTraining(s)) await train(ctx.tell, s);
      else if (waiting && resend && s.round && s.model.weights && s.model.hash) {
        ctx.tell({ type: 'ResendUpdate', round: s.round.round, baseVersion: s.round.baseVersion, hash: s.model.hash, weights: s.model.weights, now: clock() });
      }
      // Otherwise the model's threshold is computed on the window (one scoring pass, no training) as soon as the
      // window is big enough when the model has none (a global model that came before the device's readings
      // flags nothing), and again every THRESHOLD_EVERY readings, so it follows the device's drift between trainings.
      else if (fresh && dueForTraining(s) && (s.model.threshold === null || s.sinceThreshold >= settings.thresholdEvery)) await calibrate(ctx.tell, s);
    },
    onRecovered: () => { pendingBase = null; residuals.reset(); },
    policy: deps.policy,
    supervisionLog: deps.supervisionLog,
    registry: deps.registry,
  });
}
