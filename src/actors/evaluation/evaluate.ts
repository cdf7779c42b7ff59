/**
 * `evaluate`: the federated loop run in one process on a labelled data set, compared with the z-score baseline
 * and a centrally trained model of the same architecture, on the same time-ordered test rows.
 *
 * Protocol (every choice is also written into the report, so the output states it):
 * - Clients are the data set's devices (WSN: mote-1…mote-4; Edge-IIoTset: device-N). Each device's rows are put in
 *   time order (by `ts`, ties in stream order); the first `trainFraction` of them (floor) train, the rest test.
 * - Standardisation is per client: each client fits a `Standardizer` on its own training rows only (the raw
 *   readings never leave the device, and the clients are non-IID: indoor and outdoor motes live at different
 *   humidity levels). The centralized model gets the very same standardised rows, pooled.
 * - Federated loop: the global model version 0 is `createModel(spec, seed)`. Each round every client with
 *   training rows starts from the global weights, trains `localEpochs` epochs (Adam, shuffled with a seed derived
 *   from (seed, round, client)), and sends its weights with its sample count; the strategy aggregates them in
 *   client order. After each round the global model is scored on every client's test rows.
 * - Scoring. Autoencoder (unsupervised: training never reads a label): the alarm threshold of a client is
 *   `modelThreshold` of the model's reconstruction errors on that client's training rows (default rule: the 0.99
 *   quantile); a test row is an anomaly when its error is above its client's threshold. Classifier (supervised:
 *   trains on the labels): the most probable class (binary: P(anomaly) > 0.5).
 * - Metrics pool all clients' test rows: precision/recall/F1 of the positive class (anomaly; in multi-class mode
 *   "any attack" = class ≠ 0), plus accuracy and macro-F1 over the classes in multi-class mode (metrics.ts).
 * - Z-score baseline: one `ZScoreDetector` (defaults: window 100, threshold 2.5) per device over its raw readings
 *   in time order: the training rows only fill the window, every test row is scored then added (`observe`); an
 *   alarm is a score above the threshold (a row still in warm-up is "normal"). It cannot classify, so it has no
 *   accuracy or macro-F1 in multi-class mode.
 * - Centralized: `createModel(spec, seed)` trained once on all clients' pooled training rows for
 *   rounds × localEpochs epochs (same batch size, learning rate, threshold rule).
 * Deterministic for a given seed on the cpu and wasm backends; only `timings` differ between runs.
 * Requires nothing but the adapter: TensorFlow.js is initialised here (`initTf`).
 */
import { createStrategy, type StrategyConfig } from '../aggregator/strategies';
import { Standardizer, isBadRow, type DatasetAdapter, type DatasetRow } from '../../infra/datasets/adapter';
import { parameterCount } from '../../protocols/weights';
import { createModel, modelLayers, type LocalModel, type ModelSpec } from '../trainer/model';
import { initTf } from '../trainer/tf-backend';
import { DEFAULT_THRESHOLD_RULE, modelThreshold, type ThresholdRule } from '../trainer/threshold';
import { residuals } from '../trainer/residuals';
import { defaults } from '../../config';
import { ZScoreDetector, type ZScoreConfig } from '../trainer/zscore';
import { ZERO_COUNTS, addCounts, binaryCounts, binaryMetrics, multiclassMetrics, type BinaryCounts } from './metrics';

export type EvaluationMode = 'binary' | 'multiclass';
export type ModelKind = 'autoencoder' | 'classifier';

export interface EvaluateOptions {
  dataset: DatasetAdapter;
  rounds: number;
  localEpochs: number;
  /** share of each device's readings, in time order, that trains; the rest tests. Default 0.7. */
  trainFraction?: number;
  strategy: StrategyConfig;
  seed: number;
  /** binary: label 1 = anomaly; multiclass: the index of attackType in dataset.classes (0 = normal) */
  mode: EvaluationMode;
  modelKind: ModelKind;
  /** hidden layer sizes; default EVALUATE_DEFAULTS.hidden[modelKind] */
  hidden?: number[];
  batchSize?: number;
  learningRate?: number;
  /** autoencoder alarm threshold rule over each client's training errors; default quantile 0.99 */
  threshold?: ThresholdRule;
  zscore?: Partial<ZScoreConfig>;
  /** read at most this many rows of the data set (in stream order); default: all */
  maxRows?: number;
  /**
   * What the model reads. 'readings' (default): the row's features. 'residuals': each feature minus the median of
   * the same device's previous `residualWindow` readings (causal: only earlier readings of the device, train or
   * test, as a device computes it on its stream; 0 while fewer than min(MIN_HISTORY, residualWindow) readings precede). Residuals remove slow drift
   * (day/night), which a model fitted on the first hours of a stream cannot extrapolate.
   */
  inputs?: 'readings' | 'residuals';
  residualWindow?: number;
}

export const EVALUATE_DEFAULTS = {
  trainFraction: 0.7,
  hidden: { autoencoder: [8, 1, 8], classifier: [64, 32] } as Record<ModelKind, number[]>,
  batchSize: 32,
  learningRate: 0.01,
  inputs: 'readings',
  /** RESIDUAL_WINDOW's default: the trainers' */
  residualWindow: Number(defaults.RESIDUAL_WINDOW),
} as const;

export interface Scores {
  precision: number;
  recall: number;
  f1: number;
  /** multi-class mode only (not for the z-score baseline) */
  accuracy?: number;
  macroF1?: number;
  /** confusion counts of the positive class over all test rows */
  tp: number;
  fp: number;
  fn: number;
  tn: number;
}

export interface RoundResult {
  round: number;
  federated: Scores;
  /** sample-weighted mean of the clients' last-epoch training losses */
  loss: number;
  ms: number;
}

export interface ClientSummary {
  client: string;
  trainRows: number;
  testRows: number;
  trainPositives: number;
  testPositives: number;
}

export interface EvaluationReport {
  dataset: string;
  mode: EvaluationMode;
  modelKind: ModelKind;
  /** one sentence each, as printed */
  split: string;
  /** what the model reads */
  inputs: string;
  standardisation: string;
  scoring: string;
  config: {
    rounds: number;
    localEpochs: number;
    trainFraction: number;
    strategy: StrategyConfig;
    seed: number;
    hidden: number[];
    batchSize: number;
    learningRate: number;
    threshold: ThresholdRule | null;
    zscore: ZScoreConfig;
  };
  features: number;
  classes: string[];
  parameters: number;
  clients: ClientSummary[];
  backend: { name: string; simd: boolean; threads: boolean };
  rounds: RoundResult[];
  final: { federated: Scores; zscore: Scores; centralized: Scores };
  /** what makes the numbers read otherwise than usual (no positives to find, one client), one sentence each */
  notes: string[];
  timings: { loadMs: number; federatedMs: number; centralizedMs: number; zscoreMs: number; totalMs: number };
}

/** One client's data after the split, standardised with its own training statistics. */
interface Client {
  id: string;
  trainX: number[][];
  trainY: number[];
  testX: number[][];
  /** class index (binary: 0/1) */
  testY: number[];
  trainRaw: Record<string, number>[];
  testRaw: Record<string, number>[];
}

/** Run the comparison; `onRound` is called after each federated round, as it finishes. Throws a sentence on bad options or data. */
export async function evaluate(opts: EvaluateOptions, onRound?: (r: RoundResult) => void): Promise<EvaluationReport> {
  const started = Date.now();
  const trainFraction = opts.trainFraction ?? EVALUATE_DEFAULTS.trainFraction;
  checkOptions(opts, trainFraction);
  const hidden = opts.hidden ?? EVALUATE_DEFAULTS.hidden[opts.modelKind];
  const batchSize = opts.batchSize ?? EVALUATE_DEFAULTS.batchSize;
  const learningRate = opts.learningRate ?? EVALUATE_DEFAULTS.learningRate;
  const rule = opts.modelKind === 'autoencoder' ? (opts.threshold ?? DEFAULT_THRESHOLD_RULE) : null;
  const strategy = createStrategy(opts.strategy);
  const zDetector = new ZScoreDetector(opts.zscore ?? {});
  const runtime = await initTf();

  const { clients, featureNames, summaries } = await loadClients(opts, trainFraction);
  const classes = [...opts.dataset.classes];
  const spec: ModelSpec =
    opts.modelKind === 'autoencoder'
      ? { kind: 'autoencoder', inputs: featureNames.length, hidden }
      : { kind: 'classifier', inputs: featureNames.length, hidden, classes: opts.mode === 'binary' ? 2 : classes.length };
  const loadMs = Date.now() - started;
  const train = { batchSize, learningRate };

  // federated
  const fedStart = Date.now();
  const model = createModel(spec, opts.seed);
  const rounds: RoundResult[] = [];
  let global = model.getWeights();
  try {
    for (let round = 1; round <= opts.rounds; round++) {
      const t0 = Date.now();
      const acc = strategy.start(model.parameterCount);
      let lossSum = 0;
      let samples = 0;
      for (const [i, c] of clients.entries()) {
        if (c.trainX.length === 0) continue;
        model.setWeights(global);
        const r = await model.train(c.trainX, c.trainY, { epochs: opts.localEpochs, ...train, seed: mix(opts.seed, round, i + 1) });
        acc.add(model.getWeights(), r.samples);
        lossSum += r.loss * r.samples;
        samples += r.samples;
      }
      global = acc.result();
      model.setWeights(global);
      const result: RoundResult = { round, federated: scoreModel(model, clients, opts.mode, rule), loss: samples > 0 ? lossSum / samples : 0, ms: Date.now() - t0 };
      rounds.push(result);
      onRound?.(result);
    }
  } finally {
    model.dispose();
  }
  const federatedMs = Date.now() - fedStart;

  // centralized: the same spec and seed, the pooled training rows
  const cenStart = Date.now();
  const central = createModel(spec, opts.seed);
  let centralized: Scores;
  try {
    const x = clients.flatMap((c) => c.trainX);
    const y = clients.flatMap((c) => c.trainY);
    if (x.length > 0) await central.train(x, y, { epochs: opts.rounds * opts.localEpochs, ...train, seed: mix(opts.seed, 0, 0) });
    centralized = scoreModel(central, clients, opts.mode, rule);
  } finally {
    central.dispose();
  }
  const centralizedMs = Date.now() - cenStart;

  const zStart = Date.now();
  const zscore = zscoreBaseline(clients, featureNames, zDetector.config);
  const zscoreMs = Date.now() - zStart;

  return {
    dataset: opts.dataset.name,
    mode: opts.mode,
    modelKind: opts.modelKind,
    split: splitSentence(trainFraction),
    inputs:
      (opts.inputs ?? EVALUATE_DEFAULTS.inputs) === 'residuals'
        ? `each feature minus the median of the device's previous ${opts.residualWindow ?? EVALUATE_DEFAULTS.residualWindow} readings (causal)`
        : 'the features as read',
    standardisation: 'per client: each client standardises with the mean and std of its own training rows (the centralized model gets the same rows)',
    scoring:
      rule === null
        ? `classifier trained on the labels; a row is predicted as its most probable class${opts.mode === 'binary' ? ' (anomaly when P > 0.5)' : ''}`
        : `autoencoder trained without labels; anomaly when the reconstruction error exceeds the client's threshold (${describeRule(rule)} of its training errors)`,
    config: {
      rounds: opts.rounds,
      localEpochs: opts.localEpochs,
      trainFraction,
      strategy: opts.strategy,
      seed: opts.seed,
      hidden: [...hidden],
      batchSize,
      learningRate,
      threshold: rule,
      zscore: { ...zDetector.config },
    },
    features: featureNames.length,
    classes,
    parameters: parameterCount(modelLayers(spec)),
    clients: summaries,
    backend: { name: runtime.backend, simd: runtime.simd, threads: runtime.threads },
    rounds,
    final: { federated: rounds.length > 0 ? rounds[rounds.length - 1]!.federated : scoreNothing(), zscore, centralized },
    notes: evaluationNotes(summaries, opts.mode, opts.modelKind),
    timings: { loadMs, federatedMs, centralizedMs, zscoreMs, totalMs: Date.now() - started },
  };
}

/** Sentences for the cases where the table misleads by itself. */
export function evaluationNotes(clients: readonly ClientSummary[], mode: EvaluationMode, modelKind: ModelKind): string[] {
  const notes: string[] = [];
  const what = mode === 'multiclass' ? 'attacks' : 'anomalies';
  if (clients.reduce((n, c) => n + c.testPositives, 0) === 0) {
    notes.push(`the test rows hold no ${what}: recall and F1 have nothing to find and print as 0.000, and every row flagged is a false positive (fp); a smaller --train-fraction leaves more rows to test`);
  } else if (clients.reduce((n, c) => n + c.trainPositives, 0) === 0 && modelKind === 'classifier') {
    notes.push(`the training rows hold no ${what}: the classifiers never see one, so they predict normal`);
  }
  if (clients.length === 1) {
    notes.push(`one client (${clients[0]!.client}): the federated model is that client's model, with nothing to average`);
  }
  return notes;
}

/** "time-ordered split per device: first 70% train, last 30% test" */
export function splitSentence(trainFraction: number): string {
  const pct = (f: number): string => `${Math.round(f * 1000) / 10}%`;
  return `time-ordered split per device: first ${pct(trainFraction)} train, last ${pct(1 - trainFraction)} test`;
}

function checkOptions(opts: EvaluateOptions, trainFraction: number): void {
  const why = (m: string): never => {
    throw new Error(`evaluate: ${m}`);
  };
  if (!(Number.isSafeInteger(opts.rounds) && opts.rounds >= 1)) why(`rounds must be a positive integer, not ${opts.rounds}`);
  if (!(Number.isSafeInteger(opts.localEpochs) && opts.localEpochs >= 1)) why(`localEpochs must be a positive integer, not ${opts.localEpochs}`);
  if (!(trainFraction > 0 && trainFraction < 1)) why(`trainFraction must be between 0 and 1 (exclusive), not ${trainFraction}`);
  if (opts.mode === 'multiclass' && opts.modelKind !== 'classifier') why('multi-class mode needs a classifier: an autoencoder only tells normal from anomalous');
  if (opts.mode === 'multiclass' && opts.dataset.classes.length < 3) {
    why(`multi-class mode needs a data set with more than two classes; ${opts.dataset.name} has ${opts.dataset.classes.join(', ')}`);
  }
  const window = opts.residualWindow ?? EVALUATE_DEFAULTS.residualWindow;
  if (!(Number.isSafeInteger(window) && window >= 2)) why(`residualWindow must be an integer of at least 2, not ${window}`);
  if (opts.maxRows !== undefined && !(Number.isSafeInteger(opts.maxRows) && opts.maxRows >= 1)) why(`maxRows must be a positive integer, not ${opts.maxRows}`);
}

const describeRule = (r: ThresholdRule): string =>
  r.kind === 'mean-std' ? `mean + ${r.k} std` : r.q === 1 ? 'the largest' : `the ${r.q} quantile`;

/** A 32-bit seed from (seed, round, client): FNV-1a over the three integers. */
function mix(seed: number, round: number, client: number): number {
  let h = 2166136261;
  for (const v of [seed, round, client]) {
    h = Math.imul(h ^ (v >>> 0), 16777619);
    h = Math.imul(h ^ (v >>> 16), 16777619);
  }
  return h >>> 0;
}

/** Read the data set, group by device (natural id order), order in time, split, standardise per client. */
async function loadClients(opts: EvaluateOptions, trainFraction: number): Promise<{ clients: Client[]; featureNames: readonly string[]; summaries: ClientSummary[] }> {
  const byDevice = new Map<string, Array<{ row: DatasetRow; at: number; y: number; modelFeatures?: Record<string, number> }>>();
  const classes = opts.dataset.classes;
  let at = 0;
  for await (const r of opts.dataset.rows()) {
    if (isBadRow(r)) continue;
    if (opts.maxRows !== undefined && at >= opts.maxRows) break;
    const y = labelOf(r, opts.mode, classes, opts.dataset.name);
    // keep only the non-zero features: a missing feature means 0 (Standardizer and one-hot semantics)
    const features: Record<string, number> = {};
    for (const [k, v] of Object.entries(r.features)) if (v !== 0) features[k] = v;
    const list = byDevice.get(r.deviceId) ?? [];
    if (list.length === 0) byDevice.set(r.deviceId, list);
    list.push({ row: { ...r, features }, at: at++, y });
  }
  if (at === 0) throw new Error(`evaluate: the data set ${opts.dataset.name} has no usable row`);
  const featureNames = [...opts.dataset.featureNames];
  const ids = [...byDevice.keys()].sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  const clients: Client[] = [];
  const summaries: ClientSummary[] = [];
  for (const id of ids) {
    const rows = byDevice.get(id)!.sort((a, b) => a.row.ts - b.row.ts || a.at - b.at);
    const inputs = opts.inputs ?? EVALUATE_DEFAULTS.inputs;
    if (inputs !== 'readings') {
      const model = residuals(rows.map((r) => r.row.features), featureNames, opts.residualWindow ?? EVALUATE_DEFAULTS.residualWindow);
      rows.forEach((r, i) => (r.modelFeatures = model[i]!));
    }
    const cut = Math.floor(rows.length * trainFraction);
    const train = rows.slice(0, cut);
    const test = rows.slice(cut);
    const input = (r: (typeof rows)[number]): Record<string, number> => r.modelFeatures ?? r.row.features;
    const std = Standardizer.fit(featureNames, train.map(input));
    const vec = (f: Record<string, number>): number[] => Array.from(std.vector(f));
    clients.push({
      id,
      trainX: train.map((r) => vec(input(r))),
      trainY: train.map((r) => r.y),
      testX: test.map((r) => vec(input(r))),
      testY: test.map((r) => r.y),
      trainRaw: train.map((r) => r.row.features),
      testRaw: test.map((r) => r.row.features),
    });
    const positives = (xs: typeof rows): number => xs.filter((r) => r.y !== 0).length;
    summaries.push({ client: id, trainRows: train.length, testRows: test.length, trainPositives: positives(train), testPositives: positives(test) });
  }
  return { clients, featureNames, summaries };
}

function labelOf(r: DatasetRow, mode: EvaluationMode, classes: readonly string[], name: string): number {
  if (mode === 'binary') {
    if (r.label === null) throw new Error(`evaluate: ${name} row ${r.readingId} has no label; evaluation needs a labelled data set`);
    return r.label;
  }
  const k = r.attackType === null ? -1 : classes.indexOf(r.attackType);
  if (k < 0) throw new Error(`evaluate: ${name} row ${r.readingId} has attack type ${JSON.stringify(r.attackType)}, not one of its classes`);
  return k;
}

/** The model's scores on all clients' test rows (thresholds per client for an autoencoder). */
function scoreModel(model: LocalModel, clients: readonly Client[], mode: EvaluationMode, rule: ThresholdRule | null): Scores {
  const truth: number[] = [];
  const predicted: number[] = [];
  for (const c of clients) {
    if (c.testX.length === 0) continue;
    if (rule === null) {
      predicted.push(...model.predictClass(c.testX));
    } else {
      const threshold = modelThreshold(model.score(c.trainX), rule);
      for (const s of model.score(c.testX)) predicted.push(threshold !== null && s > threshold ? 1 : 0);
    }
    truth.push(...c.testY);
  }
  const positive = (xs: number[]): number[] => xs.map((k) => (k !== 0 ? 1 : 0));
  const counts = binaryCounts(positive(truth), positive(predicted));
  const scores: Scores = { ...binaryMetrics(counts), ...counts };
  if (mode === 'multiclass') {
    const m = multiclassMetrics(truth, predicted);
    scores.accuracy = m.accuracy;
    scores.macroF1 = m.macroF1;
  }
  return scores;
}

function zscoreBaseline(clients: readonly Client[], featureNames: readonly string[], config: ZScoreConfig): Scores {
  // the rows are stored sparse; the detector must see the zeros too
  const dense = (f: Record<string, number>): Record<string, number> => Object.fromEntries(featureNames.map((n) => [n, f[n] ?? 0]));
  let counts: BinaryCounts = { ...ZERO_COUNTS };
  for (const c of clients) {
    const d = new ZScoreDetector(config);
    for (const f of c.trainRaw) d.add(dense(f));
    const predicted = c.testRaw.map((f) => (d.observe(dense(f)).severity !== null ? 1 : 0));
    counts = addCounts(counts, binaryCounts(c.testY.map((k) => (k !== 0 ? 1 : 0)), predicted));
  }
  return { ...binaryMetrics(counts), ...counts };
}

function scoreNothing(): Scores {
  return { ...binaryMetrics(ZERO_COUNTS), ...ZERO_COUNTS };
}
