/** loadConfig: the defaults, one readable sentence per bad value, cross-field checks that say why, topic prefixes. */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { isLeft, isRight, type Either } from 'fp-ts/Either';
import { defaults, loadConfig, type Config } from '../../src/config';
import { Topics } from '../../src/protocols/topics';

const ok = (r: Either<string, Config>): Config => {
  if (isLeft(r)) throw new Error(`expected a config, got: ${r.left}`);
  return r.right;
};
const error = (r: Either<string, Config>): string => {
  if (isRight(r)) throw new Error('expected a configuration error, got a config');
  return r.left;
};
/** the error for one variable set to `value`, everything else default */
const errorFor = (name: keyof typeof defaults, value: string): string => error(loadConfig({ [name]: value }));

// ---------------------------------------------------------------------------------------------------------

const Defaults = suite('defaults');

Defaults('an empty environment gives the documented defaults', () => {
  assert.equal(ok(loadConfig({})), {
    profile: 'local',
    kafkaBrokers: '127.0.0.1:9092',
    topics: {
      readings: 'edge-iiot-stream', anomalies: 'anomalies', localUpdates: 'local-model-updates', globalModels: 'global-model-updates',
      analytics: 'analytics-results', deadLetters: 'flead-dead-letters', journal: 'flead-journal', snapshots: 'flead-snapshots',
    },
    topicPrefix: '',
    readingsPartitions: 12,
    dataDir: './data',
    busRetain: 50_000,
    modelsDir: './models',
    inspect: { host: '127.0.0.1', port: 8090 },
    round: { quorum: 3, minUpdates: 2, deadlineMs: 60_000, intervalMs: 1_000, maxUpdateBytes: 4_194_304 },
    strategy: { name: 'fedavg', trimRatio: null },
    model: {
      spec: { kind: 'autoencoder', inputs: 2, hidden: [8, 3, 8] },
      features: null,
      layers: [
        { name: 'dense_1/kernel', shape: [2, 8] }, { name: 'dense_1/bias', shape: [8] },
        { name: 'dense_2/kernel', shape: [8, 3] }, { name: 'dense_2/bias', shape: [3] },
        { name: 'dense_3/kernel', shape: [3, 8] }, { name: 'dense_3/bias', shape: [8] },
        { name: 'dense_4/kernel', shape: [8, 2] }, { name: 'dense_4/bias', shape: [2] },
      ],
      seed: 42,
    },
    trainer: {
      transform: 'residual', residualWindow: 30, thresholdQuantile: 1,
      trainEvery: 200, thresholdEvery: 500, trainIntervalMs: 60_000, window: 1000, minTrainSamples: 50, epochs: 5, batchSize: 32, learningRate: 0.01,
      zscore: { window: 100, threshold: 2.5, critical: 5, minSamples: 30 },
    },
    snapshotEvery: 100,
    producer: { dataset: 'wsn', datasetPath: '', rate: 10, deviceRate: Infinity, batchSize: 500, lingerMs: 100 },
    logLevel: 'info',
  });
});

Defaults('FEATURE_TRANSFORM empty follows MODEL_SPEC: residual for an autoencoder, raw for a classifier; set, it wins', () => {
  const transform = (env: Record<string, string>) => { const c = loadConfig(env); if (isLeft(c)) throw new Error(c.left); return c.right.trainer.transform; };
  assert.is(transform({}), 'residual');
  assert.is(transform({ FEATURE_TRANSFORM: ' ' }), 'residual');
  assert.is(transform({ MODEL_SPEC: '{"kind":"classifier","inputs":61,"hidden":[32,16],"classes":2}' }), 'raw');
  assert.is(transform({ FEATURE_TRANSFORM: 'raw' }), 'raw');
  assert.is(transform({ MODEL_SPEC: '{"kind":"classifier","inputs":2,"hidden":[8],"classes":2}', FEATURE_TRANSFORM: 'residual' }), 'residual');
  const bad = loadConfig({ FEATURE_TRANSFORM: 'log' });
  assert.ok(isLeft(bad) && /FEATURE_TRANSFORM/.test(bad.left));
});

Defaults('variables that are set win over defaults; overrides win over the environment', () => {
  const c = ok(loadConfig({ ROUND_QUORUM: '5', ROUND_MIN_UPDATES: '4', FLEAD_PROFILE: 'embedded', LOG_LEVEL: 'debug', INSPECT_PORT: '0' }, { ROUND_QUORUM: '6' }));
  assert.equal(c.round.quorum, 6);
  assert.equal(c.round.minUpdates, 4);
  assert.is(c.profile, 'embedded');
  assert.is(c.logLevel, 'debug');
  assert.is(c.inspect.port, 0, 'port 0: any free port');
});

Defaults('an override set to undefined keeps the environment value', () => {
  assert.is(ok(loadConfig({ ROUND_QUORUM: '7' }, { ROUND_QUORUM: undefined })).round.quorum, 7);
});

Defaults.run();

// ---------------------------------------------------------------------------------------------------------

const Bad = suite('bad values');

const badInts: Array<[keyof typeof defaults, string, string]> = [
  ['INSPECT_PORT', '-1', 'INSPECT_PORT must be an integer ≥ 0 and ≤ 65535, got "-1"'],
  ['INSPECT_PORT', 'http', 'INSPECT_PORT must be an integer ≥ 0 and ≤ 65535, got "http"'],
  ['ROUND_QUORUM', '0', 'ROUND_QUORUM must be an integer ≥ 1, got "0"'],
  ['ROUND_MIN_UPDATES', '1.5', 'ROUND_MIN_UPDATES must be an integer ≥ 1, got "1.5"'],
  ['ROUND_DEADLINE_MS', '0', 'ROUND_DEADLINE_MS must be an integer ≥ 1, got "0"'],
  ['ROUND_INTERVAL_MS', '-5', 'ROUND_INTERVAL_MS must be an integer ≥ 0, got "-5"'],
  ['MAX_UPDATE_BYTES', '4MB', 'MAX_UPDATE_BYTES must be an integer ≥ 1, got "4MB"'],
  ['MODEL_SEED', 'abc', 'MODEL_SEED must be an integer ≥ 0, got "abc"'],
  ['SNAPSHOT_EVERY', '0', 'SNAPSHOT_EVERY must be an integer ≥ 1, got "0"'],
  ['READINGS_PARTITIONS', '0', 'READINGS_PARTITIONS must be an integer ≥ 1 and ≤ 10000, got "0"'],
  ['READINGS_PARTITIONS', 'many', 'READINGS_PARTITIONS must be an integer ≥ 1 and ≤ 10000, got "many"'],
];
for (const [name, value, sentence] of badInts) {
  Bad(`${name}=${value} is refused with a sentence naming it`, () => {
    assert.is(errorFor(name, value).split('; ')[0], sentence);
  });
}

Bad('a choice outside its list names the variable and the allowed values', () => {
  assert.is(errorFor('FLEAD_PROFILE', 'cloud'), 'FLEAD_PROFILE must be one of local, embedded, got "cloud"');
  assert.is(errorFor('AGG_STRATEGY', 'krum'), 'AGG_STRATEGY must be one of fedavg, median, trimmed-mean, got "krum"');
  assert.is(errorFor('LOG_LEVEL', 'verbose'), 'LOG_LEVEL must be one of debug, info, warn, error, got "verbose"');
  assert.is(errorFor('EMBEDDED_BUS_RETAIN', '0'), 'EMBEDDED_BUS_RETAIN must be an integer ≥ 1, got "0"');
});

Bad('several bad values are all reported, each naming its variable', () => {
  const e = error(loadConfig({ ROUND_DEADLINE_MS: 'soon', LOG_LEVEL: 'loud', SNAPSHOT_EVERY: '-1' }));
  for (const name of ['ROUND_DEADLINE_MS', 'LOG_LEVEL', 'SNAPSHOT_EVERY']) assert.ok(e.includes(name), `${name} missing from: ${e}`);
  assert.is(e.split('; ').length, 3);
});

Bad('an empty or blank number is refused, not read as 0 (Number("") is 0)', () => {
  assert.match(errorFor('MODEL_SEED', ''), /MODEL_SEED must be an integer/);
  assert.match(errorFor('ROUND_INTERVAL_MS', ' '), /ROUND_INTERVAL_MS must be an integer/);
});

Bad('INSPECT_PORT above 65535 is refused (not a TCP port)', () => {
  assert.match(errorFor('INSPECT_PORT', '70000'), /INSPECT_PORT/);
});

Bad('PRODUCER_RATE accepts a positive number or "unlimited"', () => {
  assert.match(errorFor('PRODUCER_RATE', '0'), /PRODUCER_RATE must be a positive number of messages per second or "unlimited", got "0"/);
  assert.match(errorFor('PRODUCER_RATE', 'fast'), /PRODUCER_RATE/);
});

Bad('DATASET=edge-iiotset without DATASET_PATH says why a path is needed', () => {
  assert.match(errorFor('DATASET', 'edge-iiotset'), /DATASET_PATH must name an Edge-IIoTset CSV file/);
});

Bad.run();

// ---------------------------------------------------------------------------------------------------------

const Cross = suite('cross-field checks');

Cross('ROUND_MIN_UPDATES above ROUND_QUORUM is refused with the reason', () => {
  assert.is(
    error(loadConfig({ ROUND_QUORUM: '3', ROUND_MIN_UPDATES: '4' })),
    'ROUND_MIN_UPDATES (4) cannot exceed ROUND_QUORUM (3): a round could never close on its deadline with fewer than a quorum',
  );
});

Cross('ROUND_MIN_UPDATES equal to ROUND_QUORUM is fine', () => {
  assert.equal(ok(loadConfig({ ROUND_QUORUM: '4', ROUND_MIN_UPDATES: '4' })).round, { quorum: 4, minUpdates: 4, deadlineMs: 60_000, intervalMs: 1_000, maxUpdateBytes: 4_194_304 });
});

Cross('a bad ROUND_QUORUM is reported alone, without a made-up ROUND_MIN_UPDATES conflict', () => {
  assert.is(error(loadConfig({ ROUND_QUORUM: 'three' })), 'ROUND_QUORUM must be an integer ≥ 1, got "three"');
});

Cross('trimmed-mean takes AGG_TRIM_RATIO in [0, 0.5)', () => {
  assert.equal(ok(loadConfig({ AGG_STRATEGY: 'trimmed-mean' })).strategy, { name: 'trimmed-mean', trimRatio: 0.2 });
  assert.equal(ok(loadConfig({ AGG_STRATEGY: 'trimmed-mean', AGG_TRIM_RATIO: '0' })).strategy, { name: 'trimmed-mean', trimRatio: 0 });
  assert.equal(ok(loadConfig({ AGG_STRATEGY: 'trimmed-mean', AGG_TRIM_RATIO: '0.49' })).strategy, { name: 'trimmed-mean', trimRatio: 0.49 });
  for (const bad of ['0.5', '-0.1', '1', 'half']) {
    assert.is(error(loadConfig({ AGG_STRATEGY: 'trimmed-mean', AGG_TRIM_RATIO: bad })), `AGG_TRIM_RATIO must be in [0, 0.5) for trimmed-mean, got "${bad}"`);
  }
});

Cross('AGG_TRIM_RATIO is ignored by the other strategies (trimRatio null)', () => {
  assert.equal(ok(loadConfig({ AGG_STRATEGY: 'median', AGG_TRIM_RATIO: '0.9' })).strategy, { name: 'median', trimRatio: null });
  assert.equal(ok(loadConfig({ AGG_STRATEGY: 'fedavg', AGG_TRIM_RATIO: 'x' })).strategy, { name: 'fedavg', trimRatio: null });
});

Cross.run();

// ---------------------------------------------------------------------------------------------------------

const Layers = suite('MODEL_SPEC');

Layers('the model spec gives the aggregator its layer shapes', () => {
  const c = ok(loadConfig({ MODEL_SPEC: '{"kind":"classifier","inputs":3,"hidden":[4],"classes":2}' }));
  assert.equal(c.model.layers.map((l) => l.shape), [[3, 4], [4], [4, 1], [1]]);
});

Layers('text that is not JSON is refused with an example', () => {
  assert.match(errorFor('MODEL_SPEC', '{kind: autoencoder}'), /^MODEL_SPEC must be JSON like \{"kind":"autoencoder"/);
});

Layers('a spec the model cannot build is refused with the reason', () => {
  assert.match(errorFor('MODEL_SPEC', '{"kind":"classifier","inputs":3,"hidden":[4],"classes":1}'), /MODEL_SPEC.*classes/);
});

Layers.run();

// ---------------------------------------------------------------------------------------------------------

const Prefix = suite('FLEAD_TOPIC_PREFIX');

Prefix('the prefix is put before every topic name', () => {
  const c = ok(loadConfig({ FLEAD_TOPIC_PREFIX: 'it-42.' }));
  assert.is(c.topicPrefix, 'it-42.');
  assert.equal(Object.keys(c.topics).sort(), Object.keys(Topics).sort());
  for (const [k, v] of Object.entries(Topics)) assert.is(c.topics[k as keyof typeof Topics], `it-42.${v}`, k);
  assert.is(c.topics.journal, 'it-42.flead-journal');
  assert.is(c.topics.localUpdates, 'it-42.local-model-updates');
});

Prefix.run();
