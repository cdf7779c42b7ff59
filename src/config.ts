/**
 * Configuration: decoded once at start-up from environment variables; every default in one object
 * (`defaults`), cross-field checks that fail with a sentence. README's configuration table lists these.
 */
import { isLeft, left, right, type Either } from 'fp-ts/Either';
import { topicNames, type TopicSet } from './protocols/topics';
import type { LayerShape } from './protocols/weights';
import { modelLayers, type ModelSpec } from './actors/trainer/model';

/** Environment variable → default. The single source for README's table (a test checks they agree). */
export const defaults = {
  FLEAD_PROFILE: 'local',
  KAFKA_BROKERS: '127.0.0.1:9092',
  FLEAD_TOPIC_PREFIX: '',
  READINGS_PARTITIONS: '12',
  FLEAD_DATA_DIR: './data',
  EMBEDDED_BUS_RETAIN: '50000',
  MODELS_DIR: './models',
  INSPECT_HOST: '127.0.0.1',
  INSPECT_PORT: '8090',
  ROUND_QUORUM: '3',
  ROUND_MIN_UPDATES: '2',
  ROUND_DEADLINE_MS: '60000',
  ROUND_INTERVAL_MS: '1000',
  MAX_UPDATE_BYTES: '4194304',
  AGG_STRATEGY: 'fedavg',
  AGG_TRIM_RATIO: '0.2',
  MODEL_SPEC: '{"kind":"autoencoder","inputs":2,"hidden":[8,3,8]}',
  MODEL_SEED: '42',
  SNAPSHOT_EVERY: '100',
  DATASET: 'wsn',
  DATASET_PATH: '',
  PRODUCER_RATE: '10',
  PRODUCER_DEVICE_RATE: 'unlimited',
  PRODUCER_BATCH_SIZE: '500',
  PRODUCER_LINGER_MS: '100',
  MODEL_FEATURES: '',
  FEATURE_TRANSFORM: '',
  RESIDUAL_WINDOW: '30',
  THRESHOLD_QUANTILE: '1',
  TRAIN_EVERY: '200',
  THRESHOLD_EVERY: '500',
  TRAIN_INTERVAL_MS: '60000',
  TRAIN_WINDOW: '1000',
  TRAIN_MIN_SAMPLES: '50',
  TRAIN_EPOCHS: '5',
  TRAIN_BATCH_SIZE: '32',
  TRAIN_LEARNING_RATE: '0.01',
  ZSCORE_WINDOW: '100',
  ZSCORE_THRESHOLD: '2.5',
  ZSCORE_CRITICAL: '5',
  ZSCORE_MIN_SAMPLES: '30',
  LOG_LEVEL: 'info',
} as const;
export type EnvName = keyof typeof defaults;

export interface Config {
  profile: 'local' | 'embedded';
  kafkaBrokers: string;
  topics: TopicSet;
  topicPrefix: string;
  /** partitions of the readings topic when it is created (READINGS_PARTITIONS) */
  readingsPartitions: number;
  dataDir: string;
  /** messages the embedded bus keeps a partition once every group consumed them (EMBEDDED_BUS_RETAIN) */
  busRetain: number;
  modelsDir: string;
  inspect: { host: string; port: number };
  round: { quorum: number; minUpdates: number; deadlineMs: number; intervalMs: number; maxUpdateBytes: number };
  strategy: { name: 'fedavg' | 'median' | 'trimmed-mean'; trimRatio: number | null };
  /** features: fixed order (MODEL_FEATURES), or null = each device's first reading's keys, sorted */
  model: { spec: ModelSpec; layers: LayerShape[]; seed: number; features: string[] | null };
  trainer: {
    transform: 'raw' | 'residual'; residualWindow: number; thresholdQuantile: number;
    trainEvery: number; thresholdEvery: number; trainIntervalMs: number; window: number; minTrainSamples: number; epochs: number; batchSize: number; learningRate: number;
    zscore: { window: number; threshold: number; critical: number; minSamples: number };
  };
  snapshotEvery: number;
  producer: { dataset: 'wsn' | 'edge-iiotset' | 'generated'; datasetPath: string; rate: number; deviceRate: number; batchSize: number; lingerMs: number };
  logLevel: 'debug' | 'info' | 'warn' | 'error';
}

function int(env: Record<string, string | undefined>, name: EnvName, min: number, max = Number.MAX_SAFE_INTEGER): Either<string, number> {
  const raw = env[name] ?? defaults[name];
  const n = /^\s*\d+\s*$/.test(raw) ? Number(raw) : NaN;
  const range = max === Number.MAX_SAFE_INTEGER ? `≥ ${min}` : `≥ ${min} and ≤ ${max}`;
  return Number.isSafeInteger(n) && n >= min && n <= max ? right(n) : left(`${name} must be an integer ${range}, got "${raw}"`);
}

/** messages per second: a positive number, or "unlimited" (Infinity) */
function rate(env: Record<string, string | undefined>, name: EnvName): Either<string, number> {
  const raw = (env[name] ?? defaults[name]).trim();
  if (raw === 'unlimited') return right(Infinity);
  const n = /^\d+(\.\d+)?$/.test(raw) ? Number(raw) : NaN;
  return n > 0 ? right(n) : left(`${name} must be a positive number of messages per second or "unlimited", got "${raw}"`);
}

function oneOf<T extends string>(env: Record<string, string | undefined>, name: EnvName, allowed: readonly T[]): Either<string, T> {
  const raw = env[name] ?? defaults[name];
  return (allowed as readonly string[]).includes(raw) ? right(raw as T) : left(`${name} must be one of ${allowed.join(', ')}, got "${raw}"`);
}

/** Decode the configuration; Left is a sentence saying what is wrong. */
export function loadConfig(env: Record<string, string | undefined> = process.env, overrides: Partial<Record<EnvName, string>> = {}): Either<string, Config> {
  const e = { ...env, ...Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined)) };
  const get = (n: EnvName) => e[n] ?? defaults[n];
  const errors: string[] = [];
  const take = <A>(r: Either<string, A>, fallback: A): A => (isLeft(r) ? (errors.push(r.left), fallback) : r.right);

  const profile = take(oneOf(e, 'FLEAD_PROFILE', ['local', 'embedded'] as const), 'local');
  const port = take(int(e, 'INSPECT_PORT', 0, 65535), 0);
  const readingsPartitions = take(int(e, 'READINGS_PARTITIONS', 1, 10_000), 12);
  const quorumR = int(e, 'ROUND_QUORUM', 1);
  const minUpdatesR = int(e, 'ROUND_MIN_UPDATES', 1);
  const quorum = take(quorumR, 1);
  const minUpdates = take(minUpdatesR, 1);
  const deadlineMs = take(int(e, 'ROUND_DEADLINE_MS', 1), 1);
  const intervalMs = take(int(e, 'ROUND_INTERVAL_MS', 0), 0);
  const maxUpdateBytes = take(int(e, 'MAX_UPDATE_BYTES', 1), 1);
  const strategyName = take(oneOf(e, 'AGG_STRATEGY', ['fedavg', 'median', 'trimmed-mean'] as const), 'fedavg');
  const trim = Number(get('AGG_TRIM_RATIO'));
  const seed = take(int(e, 'MODEL_SEED', 0), 0);
  const snapshotEvery = take(int(e, 'SNAPSHOT_EVERY', 1), 1);
  const busRetain = take(int(e, 'EMBEDDED_BUS_RETAIN', 1), 50_000);
  const dataset = take(oneOf(e, 'DATASET', ['wsn', 'edge-iiotset', 'generated'] as const), 'wsn');
  const producerRate = take(rate(e, 'PRODUCER_RATE'), 10);
  const deviceRate = take(rate(e, 'PRODUCER_DEVICE_RATE'), Infinity);
  const batchSize = take(int(e, 'PRODUCER_BATCH_SIZE', 1), 500);
  const lingerMs = take(int(e, 'PRODUCER_LINGER_MS', 0), 100);
  const logLevel = take(oneOf(e, 'LOG_LEVEL', ['debug', 'info', 'warn', 'error'] as const), 'info');
  let spec: ModelSpec = { kind: 'autoencoder', inputs: 2, hidden: [8, 3, 8] };
  let layers: LayerShape[] = [];
  try {
    spec = JSON.parse(get('MODEL_SPEC')) as ModelSpec;
    layers = modelLayers(spec);
  } catch (err) {
    errors.push(`MODEL_SPEC must be JSON like {"kind":"autoencoder","inputs":2,"hidden":[8,3,8]} or {"kind":"classifier","inputs":2,"hidden":[8],"classes":2}: ${(err as Error).message}`);
  }
  const positive = (name: EnvName): number => {
    const raw = get(name);
    const n = /^\s*\d+(\.\d+)?([eE]-?\d+)?\s*$/.test(raw) ? Number(raw) : NaN;
    if (!(n > 0)) errors.push(`${name} must be a positive number, got "${raw}"`);
    return n;
  };
  const trainer = {
    // empty: what suits the model: an autoencoder (unlabelled sensor streams) reads residuals, a classifier the features
    transform: get('FEATURE_TRANSFORM').trim() === '' ? (spec.kind === 'classifier' ? 'raw' as const : 'residual' as const) : take(oneOf(e, 'FEATURE_TRANSFORM', ['raw', 'residual'] as const), 'raw'),
    residualWindow: take(int(e, 'RESIDUAL_WINDOW', 2), 30),
    thresholdQuantile: positive('THRESHOLD_QUANTILE'),
    trainEvery: take(int(e, 'TRAIN_EVERY', 1), 1),
    thresholdEvery: take(int(e, 'THRESHOLD_EVERY', 1), 1),
    trainIntervalMs: take(int(e, 'TRAIN_INTERVAL_MS', 1), 60_000),
    window: take(int(e, 'TRAIN_WINDOW', 2), 2),
    minTrainSamples: take(int(e, 'TRAIN_MIN_SAMPLES', 1), 1),
    epochs: take(int(e, 'TRAIN_EPOCHS', 1), 1),
    batchSize: take(int(e, 'TRAIN_BATCH_SIZE', 1), 1),
    learningRate: positive('TRAIN_LEARNING_RATE'),
    zscore: { window: take(int(e, 'ZSCORE_WINDOW', 2), 2), threshold: positive('ZSCORE_THRESHOLD'), critical: positive('ZSCORE_CRITICAL'), minSamples: take(int(e, 'ZSCORE_MIN_SAMPLES', 2), 2) },
  };
  const features = get('MODEL_FEATURES').split(',').map((f) => f.trim()).filter(Boolean);
  if (features.length && layers.length && features.length !== spec.inputs) errors.push(`MODEL_FEATURES names ${features.length} features but MODEL_SPEC has ${spec.inputs} inputs`);
  if (trainer.thresholdQuantile > 1) errors.push(`THRESHOLD_QUANTILE must be in (0, 1], got ${trainer.thresholdQuantile}`);
  if (trainer.minTrainSamples > trainer.window) errors.push(`TRAIN_MIN_SAMPLES (${trainer.minTrainSamples}) cannot exceed TRAIN_WINDOW (${trainer.window}): no training would ever start`);
  if (trainer.zscore.minSamples > trainer.zscore.window) errors.push(`ZSCORE_MIN_SAMPLES (${trainer.zscore.minSamples}) cannot exceed ZSCORE_WINDOW (${trainer.zscore.window})`);
  if (trainer.zscore.critical < trainer.zscore.threshold) errors.push(`ZSCORE_CRITICAL (${trainer.zscore.critical}) must be at least ZSCORE_THRESHOLD (${trainer.zscore.threshold})`);
  if (!isLeft(quorumR) && !isLeft(minUpdatesR) && minUpdates > quorum) errors.push(`ROUND_MIN_UPDATES (${minUpdates}) cannot exceed ROUND_QUORUM (${quorum}): a round could never close on its deadline with fewer than a quorum`);
  if (strategyName === 'trimmed-mean' && !(trim >= 0 && trim < 0.5)) errors.push(`AGG_TRIM_RATIO must be in [0, 0.5) for trimmed-mean, got "${get('AGG_TRIM_RATIO')}"`);
  if (dataset === 'edge-iiotset' && !get('DATASET_PATH')) errors.push('DATASET_PATH must name an Edge-IIoTset CSV file or a directory of device_N.csv files when DATASET is edge-iiotset (the data set is not redistributable)');
  if (errors.length) return left(errors.join('; '));
  const prefix = get('FLEAD_TOPIC_PREFIX');
  return right({
    profile,
    kafkaBrokers: get('KAFKA_BROKERS'),
    topics: topicNames(prefix),
    topicPrefix: prefix,
    readingsPartitions,
    dataDir: get('FLEAD_DATA_DIR'),
    busRetain,
    modelsDir: get('MODELS_DIR'),
    inspect: { host: get('INSPECT_HOST'), port },
    round: { quorum, minUpdates, deadlineMs, intervalMs, maxUpdateBytes },
    strategy: { name: strategyName, trimRatio: strategyName === 'trimmed-mean' ? trim : null },
    model: { spec, layers, seed, features: features.length ? features : null },
    trainer,
    snapshotEvery,
    producer: { dataset, datasetPath: get('DATASET_PATH'), rate: producerRate, deviceRate, batchSize, lingerMs },
    logLevel,
  });
}
