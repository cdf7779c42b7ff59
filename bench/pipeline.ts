/**
 * End-to-end pipeline benchmarks (issue 3 §7): the producer service → Kafka → the trainer service's device actors
 * (scoring, `anomalies`), in this process, on the real broker (KAFKA_BROKERS), each against a raw kafkajs baseline
 * measured in the same run on the same broker. Prints exactly seven lines:
 *
 *   bench pipeline-throughput: <readings/s> readings/s (<ratio>x raw-kafkajs)
 *   bench pipeline-throughput-2proc: <readings/s> readings/s (<ratio>x raw-kafkajs)
 *   bench pipeline-throughput-ceiling: <msg/s> msg/s (<ratio>x raw-kafkajs)
 *   bench pipeline-throughput-plain-chain: <msg/s> msg/s (<ratio>x raw-kafkajs)
 *   bench detection-latency-p50: <ms> ms (<ratio>x raw-kafkajs-p50)
 *   bench detection-latency-p99: <ms> ms (<ratio>x raw-kafkajs-p99)
 *   bench trainer-memory-10k-devices: <MiB> MiB RSS (<ratio>x empty-trainer)
 *
 * Common set-up of the Kafka measures: every run gets its own FLEAD_TOPIC_PREFIX (topics deleted at the end), a
 * temporary MODELS_DIR, the local profile (Kafka journal + Kafka bus, i.e. what `flead producer` and `flead
 * trainer` run), the WSN data set (18,914 readings from 4 motes, features humidity and temperature, so they fit
 * the default MODEL_SPEC's 2 inputs), and a global model (version 0, the aggregator's initial weights) published
 * on `global-model-updates` before the first reading, so every device scores its readings with both the z-score
 * baseline and the autoencoder (from its second batch on: the first one fixes its feature order and scaler), as
 * in a running deployment. The trainer is started (group joined) before the
 * producer. No aggregator runs: rounds are not what is measured.
 *
 * 1. pipeline-throughput: PRODUCER_RATE=unlimited, local training off (TRAIN_EVERY=1000000): the line measures
 *    the streaming path (producer batches → journal transaction → read_committed trainer group → decode → device
 *    actor: autoencoder + z-score scoring → journal transaction with the anomalies as its outbox). Time from the
 *    producer's first publish (its first journal append with readings in the outbox) to the moment the device
 *    actors' `seen` counters (the `/devices` route handler) sum to N: every reading scored and its anomalies
 *    committed on `anomalies` (same transaction as the events).
 *    Baseline: a plain kafkajs producer (acks=-1) sends the same N messages (same keys and values, in batches of
 *    PRODUCER_BATCH_SIZE = 500, each awaited) to a fresh 6-partition topic while a kafkajs consumer in a fresh
 *    group (joined before the first send) consumes them; timed from the first send to the last message
 *    consumed. Four pipeline runs (PIPELINE_RUNS) and six baseline runs, interleaved (raw, then raw and pipeline
 *    four times, then raw); the best of each counts: the first runs are slower while V8 compiles their code
 *    (measured: the pipeline's first run 50-100% slower than its best, the second 20-50%). Then, on stderr
 *    only, the exactly-once baseline: the same with a transactional producer (one transaction per batch) and a
 *    read_committed consumer, the delivery guarantee the pipeline gives, best of two; and the floor of the pipeline's
 *    design: raw kafkajs doing its two exactly-once hops and nothing else (rawExactlyOnceChain: readings into a
 *    topic in transactions of 500, a read_committed group copying them to a second topic in group-committed
 *    transactions that carry its offsets), best of two: the ceiling line, what a pipeline with no work of its own
 *    would reach. The plain-chain line: the same two hops with no guarantee (rawPlainChain: plain producers,
 *    an auto-committing group copying A to B), best of two; no design whose second service writes every reading
 *    again (as the trainer's journal events, which carry the readings, do) goes faster on this broker, whatever
 *    guarantee it gives up. On stderr, the same with each
 *    value parsed and re-encoded in the middle (the least a typed service does). The 2-process line is the
 *    best of three passes of one trainer process (TWO_PROCESS_PASSES), each on its own topics: the later passes
 *    run warm code, as a trainer that has been running does. Local training being off, a device's model keeps
 *    global v0's weights; its threshold is computed on its window
 *    (THRESHOLD_EVERY), so the autoencoder flags readings too (about half of them: v0 is untrained and the WSN
 *    readings drift away from any window of TRAIN_WINDOW readings).
 *    With the default TRAIN_EVERY=200, local training (5 epochs over a TRAIN_WINDOW-row window, after every batch of a
 *    device that brings its count of new readings to 200 or more: at full speed a batch holds hundreds to
 *    thousands of readings, so a training per batch) is measured too and printed as a note on stderr
 *    (FLEAD_BENCH_PIPELINE_TRAINING=0 skips it).
 *
 * 2. detection-latency-p50/p99: PRODUCER_RATE=5000, local training off as above. Anomalies are made frequent
 *    with ZSCORE_THRESHOLD=0.5 and ZSCORE_MIN_SAMPLES=2: the z-score detector then flags about 97% of the WSN
 *    readings, so the percentiles stand on ~18,000 readings. (The autoencoder flags readings too, once its
 *    threshold is computed on the device's window.) A reading's produce time is when the producer hands its
 *    batch to the journal (the journal's append call, i.e. the send into Kafka); it is observed when its first anomaly arrives on `anomalies` at a kafkajs
 *    consumer (fresh group, read_committed, joined before the producer starts). Only readings that produced an
 *    anomaly count; every one of them is counted, warm-up included. Baseline: the same N messages sent by a
 *    plain kafkajs producer (acks=-1) paced at the same 5,000 messages/s (each send awaited, as the producer's
 *    pump does), latency from the send call to consumption by a kafkajs consumer in a fresh group.
 *
 * 3. trainer-memory-10k-devices: in a child process (so RSS is that of the trainer alone), a trainer in the
 *    local profile, as `flead trainer` runs: Kafka journal + Kafka bus, on its own topics (deleted at the end).
 *    FLEAD_BENCH_PIPELINE_MEMORY_PROFILE=embedded runs it on the file journal under a temporary FLEAD_DATA_DIR +
 *    the in-process bus instead, which keeps the newest EMBEDDED_BUS_RETAIN messages a partition once consumed
 *    (1,000 here unless set; 30,000 readings and their anomalies are a few MiB) in this RSS; a trainer on Kafka
 *    keeps none. (Before 2026-12-05 the embedded profile was the default, on the belief that the Kafka journal was
 *    slow at creating 10,000 keys; measured that day: 10,000 devices × 3 readings in 14.9 s on Kafka.) A global
 *    model (version 0) is published first, then 3 readings each (features humidity and
 *    temperature, seeded) for 10,000 device ids, a reading of every device at a time, in groups of devices of
 *    ~100,000 readings (all 10,000 devices at 3 readings each), the next group once the trainer has scored the
 *    last (so the bus never holds the whole stream when FLEAD_BENCH_PIPELINE_READINGS fills the windows);
 *    measured when every device has scored its readings and holds the global weights. RSS after gc, against the
 *    RSS of the same process after the trainer started (TensorFlow.js loaded, subscriptions running) and before
 *    any device existed; the process's peak RSS on stderr. Goal < 2 GiB.
 *
 * FLEAD_BENCH_PIPELINE_DEVICES lowers the 10,000 devices for a quick run. FLEAD_BENCH_PIPELINE_REPEAT=K streams
 * the WSN readings K times over in the throughput measures (pipeline, 2-process, ceiling, plain chain and their
 * raw baselines; each round's readings are new: ids `<id>#k`, later times), for steady-state runs of seconds
 * instead of about one; default 1.
 * Run: `node scripts/bench.js pipeline`, or `node --expose-gc dist/bench/pipeline.js`.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { isLeft } from 'fp-ts/Either';
import type { Consumer, Kafka } from 'kafkajs';
import { initialWeights, mulberry32 } from '../src/actors/aggregator/initial-model';
import { startProducer } from '../src/actors/producer/service';
import { startTrainer, type TrainerService } from '../src/actors/trainer/service';
import { defaults, loadConfig, type Config, type EnvName } from '../src/config';
import type { Bus } from '../src/infra/bus/port';
import type { Journal, OutboxMessage } from '../src/infra/journal/port';
import { createKafka, brokersFromEnv } from '../src/infra/kafka/client';
import { kafkaJournalDefaults } from '../src/infra/journal/kafka-journal';
import { createLogger, type Logger } from '../src/infra/log';
import { openInfra, type Infra } from '../src/infra/profile';
import { encodeJson } from '../src/protocols/codec';
import { GlobalModel } from '../src/protocols/models';
import { Anomaly, SensorReading } from '../src/protocols/readings';
import { encodeWeights, hashWeights } from '../src/protocols/weights';
import { createTopic, rawPartitions, deleteTopicsWithPrefix, rawExactlyOnceChain, rawPlainChain, wsnMessages, wsnRepeated, type Message } from './lib/kafka';
import { gcFunction } from './lib/support';

const MiB = 1024 * 1024;
const LATENCY_RATE = 5_000;
/** pipeline throughput runs in one process (the best counts), and raw runs around them */
const PIPELINE_RUNS = 4;
/** trainer passes in the one child process of the 2-process measure (the best counts) */
const TWO_PROCESS_PASSES = 3;
const MEMORY_DEVICES = Number(process.env.FLEAD_BENCH_PIPELINE_DEVICES || 10_000);
/** readings per device of the memory measure (FLEAD_BENCH_PIPELINE_READINGS; TRAIN_WINDOW of them fill a device's window) */
const MEMORY_READINGS_PER_DEVICE = Number(process.env.FLEAD_BENCH_PIPELINE_READINGS || 3);
/** where the memory measure's trainer journals and reads: local (Kafka journal + Kafka bus) or embedded (file journal + in-process bus) */
const MEMORY_PROFILE = process.env.FLEAD_BENCH_PIPELINE_MEMORY_PROFILE || 'local';
const memoryProfileError = MEMORY_PROFILE === 'local' || MEMORY_PROFILE === 'embedded' ? null : `FLEAD_BENCH_PIPELINE_MEMORY_PROFILE must be local or embedded, got "${MEMORY_PROFILE}"`;
/** the WSN readings streamed this many times over in the throughput measures (see the file comment) */
const REPEAT = Number(process.env.FLEAD_BENCH_PIPELINE_REPEAT || 1);
const repeatError = Number.isInteger(REPEAT) && REPEAT >= 1 ? null : `FLEAD_BENCH_PIPELINE_REPEAT must be a positive integer, got "${process.env.FLEAD_BENCH_PIPELINE_REPEAT}"`;
/** Local training off: TRAIN_EVERY beyond any device's share of the readings (18,914 × REPEAT, up to ~200 times). */
const NO_TRAINING: Partial<Record<EnvName, string>> = { TRAIN_EVERY: '1000000' };

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const fmt = (n: number, digits = 0): string => n.toFixed(digits);
const ratio = (a: number, b: number): string => (b > 0 ? (a / b).toFixed(2) : 'n/a');
const log: Logger = createLogger('bench-pipeline', 'warn');
/** Diagnostics (counts, baselines in absolute terms) on stderr; stdout carries only the bench lines. */
const note = (line: string): void => void process.stderr.write(`bench pipeline: ${line}\n`);
/** FLEAD_BENCH_PIPELINE_ONLY=throughput|latency|memory runs one measure (development). */
const only = process.env.FLEAD_BENCH_PIPELINE_ONLY;
const wanted = (name: string): boolean => !only || only === name;

function benchConfig(prefix: string, modelsDir: string, overrides: Partial<Record<EnvName, string>>): Config {
  const decoded = loadConfig({ KAFKA_BROKERS: brokersFromEnv() }, { FLEAD_PROFILE: 'local', FLEAD_TOPIC_PREFIX: prefix, MODELS_DIR: modelsDir, DATASET: 'wsn', LOG_LEVEL: 'warn', ...overrides });
  if (isLeft(decoded)) throw new Error(`bench pipeline: configuration: ${decoded.left}`);
  return decoded.right;
}

/** Global model version 0: the weights the aggregator starts from. */
function globalModelV0(config: Config): string {
  const flat = initialWeights(config.model.layers, config.model.seed);
  const m: GlobalModel = {
    kind: 'global-model', version: 0, hash: hashWeights(flat), weights: encodeWeights(config.model.layers, flat),
    lineage: { parentVersion: null, round: 0, strategy: { name: 'fedavg', trimRatio: null }, updates: [] }, createdAt: Date.now(),
  };
  return encodeJson(GlobalModel, m);
}

/** A journal that reports each append's outbox before handing it on (the producer's sends). */
function tapJournal(journal: Journal, onAppend: (outbox: readonly OutboxMessage[]) => void): Journal {
  return new Proxy(journal, {
    get(target, prop) {
      if (prop === 'append') {
        return (key: string, seq: number, events: Parameters<Journal['append']>[2], outbox?: readonly OutboxMessage[]) => {
          if (outbox?.length) onAppend(outbox);
          return target.append(key, seq, events, outbox);
        };
      }
      const v: unknown = Reflect.get(target, prop, target);
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

async function waitUntil(what: string, ok: () => boolean | Promise<boolean>, timeoutMs: number, everyMs = 5): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await ok())) {
    if (Date.now() > until) throw new Error(`bench pipeline: timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

interface DeviceView { seen: number; model: { version: number | null }; counters: { zscoreAnomalies: number; modelAnomalies: number } }
const devicesOf = (t: TrainerService): DeviceView[] =>
  t.routes.find((r) => r.pattern === '/devices')!.handler({}, new URLSearchParams()) as DeviceView[];
const seenOf = (t: TrainerService): number => devicesOf(t).reduce((n, d) => n + d.seen, 0);
const globalVersionOf = (t: TrainerService): number | null =>
  (t.routes.find((r) => r.pattern === '/health')!.handler({}, new URLSearchParams()) as { latestGlobalVersion: number | null }).latestGlobalVersion;

/** A kafkajs consumer in a fresh group that has joined and fetched once (so it sees everything sent after). */
async function joinedConsumer(kafka: Kafka, topic: string, onBatch: (values: Buffer[], at: number) => void): Promise<Consumer> {
  const consumer = kafka.consumer({ groupId: `bench-pipe-raw-${randomBytes(4).toString('hex')}`, maxWaitTimeInMs: 1000, sessionTimeout: 10_000, heartbeatInterval: 1000 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  let fetched!: () => void;
  const ready = new Promise<void>((r) => { fetched = r; });
  consumer.on(consumer.events.FETCH, () => fetched());
  await consumer.run({
    autoCommit: false,
    eachBatch: async ({ batch }) => {
      const at = performance.now();
      onBatch(batch.messages.map((m) => m.value ?? Buffer.alloc(0)), at);
    },
  });
  await ready;
  return consumer;
}

/**
 * Raw kafkajs: produce the messages (batches of `batch`, acks=-1, each awaited) while a fresh group consumes; ms.
 * `exactlyOnce`: the producer is transactional (idempotent, one transaction per batch) and the consumer reads
 * committed messages only: the delivery guarantee the pipeline gives, without the pipeline.
 */
async function rawThroughput(kafka: Kafka, prefix: string, messages: readonly Message[], batch: number, exactlyOnce = false): Promise<number> {
  const topic = `${prefix}raw-throughput-${randomBytes(3).toString('hex')}`;
  await createTopic(kafka, topic, rawPartitions());
  let seen = 0;
  let doneAt = 0;
  let finished!: () => void;
  const done = new Promise<void>((r) => { finished = r; });
  const consumer = await joinedConsumer(kafka, topic, (values, at) => {
    seen += values.length;
    if (seen >= messages.length && !doneAt) { doneAt = Date.now(); finished(); }
  });
  const producer = exactlyOnce
    // the journal's retry settings: kafkajs's default (300 ms first retry) would wait long on CONCURRENT_TRANSACTIONS
    ? kafka.producer({ idempotent: true, maxInFlightRequests: 1, transactionalId: `${topic}-tx`, retry: { ...kafkaJournalDefaults.transactionRetry } })
    : kafka.producer();
  await producer.connect();
  try {
    const t0 = Date.now();
    for (let i = 0; i < messages.length; i += batch) {
      const ms = messages.slice(i, i + batch).map((m) => ({ key: m.key, value: m.value }));
      if (exactlyOnce) {
        const txn = await producer.transaction();
        await txn.send({ topic, acks: -1, messages: ms });
        await txn.commit();
      } else {
        await producer.send({ topic, acks: -1, messages: ms });
      }
    }
    await Promise.race([done, sleep(120_000).then(() => { throw new Error(`raw consumer saw ${seen} of ${messages.length}`); })]);
    return doneAt - t0;
  } finally {
    await producer.disconnect();
    await consumer.disconnect();
  }
}

/** Raw kafkajs: send the messages paced at `rate`/s (each send awaited); per-message send → consume latency, ms. */
async function rawLatencies(kafka: Kafka, prefix: string, messages: readonly Message[], rate: number): Promise<number[]> {
  const topic = `${prefix}raw-latency-${randomBytes(3).toString('hex')}`;
  await createTopic(kafka, topic, rawPartitions());
  const sentAt = new Float64Array(messages.length);
  const latencies: number[] = [];
  let finished!: () => void;
  const done = new Promise<void>((r) => { finished = r; });
  const consumer = await joinedConsumer(kafka, topic, (values, at) => {
    for (const v of values) latencies.push(at - sentAt[Number(v.subarray(0, 12).toString().trim())]!);
    if (latencies.length >= messages.length) finished();
  });
  const producer = kafka.producer();
  await producer.connect();
  try {
    // The index leads the value (12 bytes, space-padded) in place of as many bytes of the reading, so sizes match.
    const values = messages.map((m, i) => String(i).padEnd(12, ' ') + m.value.slice(12));
    const t0 = performance.now();
    let next = 0;
    while (next < messages.length) {
      const due = Math.min(messages.length, Math.floor(((performance.now() - t0) / 1000) * rate) + 1);
      if (due <= next) { await sleep(Math.max(1, Math.ceil(((next / rate) * 1000) - (performance.now() - t0)))); continue; }
      const now = performance.now();
      for (let i = next; i < due; i++) sentAt[i] = now;
      await producer.send({ topic, acks: -1, messages: messages.slice(next, due).map((m, k) => ({ key: m.key, value: values[next + k]! })) });
      next = due;
    }
    await Promise.race([done, sleep(120_000).then(() => { throw new Error(`raw latency consumer saw ${latencies.length} of ${messages.length}`); })]);
    return latencies;
  } finally {
    await producer.disconnect();
    await consumer.disconnect();
  }
}

interface Stack { config: Config; trainer: TrainerService; trainerInfra: Infra; producerInfra: Infra; tmp: string }

/** Trainer started (groups joined) with global model v0 applied-to-be; the producer not yet. */
async function startStack(prefix: string, overrides: Partial<Record<EnvName, string>>): Promise<Stack> {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'flead-bench-pipeline-'));
  const config = benchConfig(prefix, path.join(tmp, 'models'), overrides);
  const trainerInfra = await openInfra(config, 'trainer');
  const trainer = await startTrainer({ config, journal: trainerInfra.journal, bus: trainerInfra.bus, log: log.child('trainer'), instanceId: 'bench' });
  await trainer.ready;
  await publishGlobal(trainerInfra.bus, config);
  await waitUntil('the trainer to receive global model v0', () => globalVersionOf(trainer) === 0, 60_000, 20);
  const producerInfra = await openInfra(config, 'producer');
  return { config, trainer, trainerInfra, producerInfra, tmp };
}

async function stopStack(s: Stack, stopProducer: () => Promise<void>): Promise<void> {
  await stopProducer().catch(() => undefined);
  await s.trainer.stop().catch(() => undefined);
  await s.producerInfra.close().catch(() => undefined);
  await s.trainerInfra.close().catch(() => undefined);
  rmSync(s.tmp, { recursive: true, force: true });
}

/** The pipeline at full speed: readings/s from the first publish to all N scored. */
async function pipelineThroughput(prefix: string, n: number, training: boolean): Promise<{ ms: number; anomalies: number }> {
  const s = await startStack(prefix, { PRODUCER_RATE: 'unlimited', ...(training ? {} : NO_TRAINING) });
  let stopProducer = async () => undefined as void;
  try {
    let t0 = 0;
    const journal = tapJournal(s.producerInfra.journal, () => { if (!t0) t0 = Date.now(); });
    const producer = await startProducer({ config: s.config, adapter: wsnRepeated(REPEAT), journal, bus: s.producerInfra.bus, log: log.child('producer'), tty: null });
    stopProducer = () => producer.stop();
    await waitUntil(`the trainer to score ${n} readings`, () => seenOf(s.trainer) >= n, 600_000, 2);
    const t1 = Date.now();
    const anomalies = devicesOf(s.trainer).reduce((a, d) => a + d.counters.zscoreAnomalies + d.counters.modelAnomalies, 0);
    if (seenOf(s.trainer) !== n) throw new Error(`trainer scored ${seenOf(s.trainer)} readings, expected ${n}`);
    return { ms: t1 - t0, anomalies };
  } finally {
    await stopStack(s, stopProducer);
  }
}

/**
 * The same measure as deployed: the trainer in its own process (a child), the producer in this one, so the
 * two services do not share one JavaScript thread. The child runs `passes` trainers one after the other, each
 * on its own topic prefix (`<prefix>r<k>-`), so the later ones run warm code, as a long-running trainer does;
 * for pass k it prints "ready <k>", then "done <k> <epoch ms>". One duration per pass, in ms.
 */
/** The configuration of pass k of the 2-process measure, the same in this process and in the trainer child. */
const passConfig = (prefix: string, tmp: string, k: number): Config =>
  benchConfig(`${prefix}r${k}-`, path.join(tmp, `models-${k}`), { PRODUCER_RATE: 'unlimited', ...NO_TRAINING });

async function pipelineThroughputTwoProcesses(prefix: string, n: number, passes: number): Promise<number[]> {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'flead-bench-pipeline2-'));
  const child = spawn(process.execPath, [__filename, '--trainer-child'], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, FLEAD_BENCH_PREFIX: prefix, FLEAD_BENCH_TMP: tmp, FLEAD_BENCH_N: String(n), FLEAD_BENCH_PASSES: String(passes) },
  });
  const lines: string[] = [];
  let buf = '';
  child.stdout!.on('data', (d: Buffer) => { buf += d.toString(); const parts = buf.split('\n'); buf = parts.pop()!; lines.push(...parts); });
  const exited = new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
  const durations: number[] = [];
  try {
    for (let k = 0; k < passes; k++) {
      const config = passConfig(prefix, tmp, k);
      const producerInfra = await openInfra(config, 'producer');
      let stopProducer = async () => undefined as void;
      try {
        await waitUntil(`the trainer child to be ready (pass ${k})`, () => lines.includes(`ready ${k}`), 120_000, 20);
        let t0 = 0;
        const journal = tapJournal(producerInfra.journal, () => { if (!t0) t0 = Date.now(); });
        const producer = await startProducer({ config, adapter: wsnRepeated(REPEAT), journal, bus: producerInfra.bus, log: log.child('producer'), tty: null });
        stopProducer = () => producer.stop();
        await waitUntil(`the trainer child to score ${n} readings (pass ${k})`, () => lines.some((l) => l.startsWith(`done ${k} `)), 600_000, 5);
        durations.push(Number(lines.find((l) => l.startsWith(`done ${k} `))!.split(' ')[2]) - t0);
      } finally {
        await stopProducer().catch(() => undefined);
        await producerInfra.close().catch(() => undefined);
      }
    }
    return durations;
  } finally {
    if (child.exitCode === null) child.kill('SIGTERM');
    await exited;
    rmSync(tmp, { recursive: true, force: true });
  }
}

async function trainerChild(): Promise<void> {
  const n = Number(process.env.FLEAD_BENCH_N);
  for (let k = 0; k < Number(process.env.FLEAD_BENCH_PASSES ?? 1); k++) {
    const config = passConfig(process.env.FLEAD_BENCH_PREFIX!, process.env.FLEAD_BENCH_TMP!, k);
    const infra = await openInfra(config, 'trainer');
    const trainer = await startTrainer({ config, journal: infra.journal, bus: infra.bus, log: log.child('trainer'), instanceId: `bench-child-${k}` });
    await trainer.ready;
    await publishGlobal(infra.bus, config);
    await waitUntil('the trainer to receive global model v0', () => globalVersionOf(trainer) === 0, 60_000, 20);
    process.stdout.write(`ready ${k}\n`);
    await waitUntil(`the trainer to score ${n} readings`, () => seenOf(trainer) >= n, 600_000, 2);
    process.stdout.write(`done ${k} ${Date.now()}\n`);
    await trainer.stop();
    await infra.close();
  }
}

/** The pipeline at LATENCY_RATE: per anomalous reading, produce → first anomaly observed on `anomalies`, ms. */
async function pipelineLatencies(prefix: string, kafka: Kafka, n: number): Promise<{ latencies: number[]; scored: number }> {
  const s = await startStack(prefix, { PRODUCER_RATE: String(LATENCY_RATE), ZSCORE_THRESHOLD: '0.5', ZSCORE_MIN_SAMPLES: '2', ...NO_TRAINING });
  let stopProducer = async () => undefined as void;
  let consumer: Consumer | undefined;
  try {
    const sentAt = new Map<string, number>();
    const latencies: number[] = [];
    const observed = new Set<string>();
    consumer = await joinedConsumer(kafka, s.config.topics.anomalies, (values, at) => {
      for (const v of values) {
        const a = JSON.parse(v.toString()) as Anomaly;
        if (observed.has(a.readingId)) continue;
        observed.add(a.readingId);
        const sent = sentAt.get(a.readingId);
        if (sent !== undefined) latencies.push(at - sent);
      }
    });
    const readings = s.config.topics.readings;
    const journal = tapJournal(s.producerInfra.journal, (outbox) => {
      const now = performance.now();
      for (const m of outbox) if (m.topic === readings) sentAt.set((JSON.parse(m.value) as SensorReading).readingId, now);
    });
    const producer = await startProducer({ config: s.config, adapter: wsnRepeated(), journal, bus: s.producerInfra.bus, log: log.child('producer'), tty: null });
    stopProducer = () => producer.stop();
    await waitUntil(`the trainer to score ${n} readings`, () => seenOf(s.trainer) >= n, 600_000, 20);
    // The anomalies of a scored reading were committed with its events: wait until the consumer has them all
    // (no new one for a second).
    let last = -1;
    await waitUntil('the anomalies consumer to catch up', () => { const done = observed.size === last; last = observed.size; return done; }, 60_000, 1000);
    const counted = devicesOf(s.trainer).reduce((a, d) => a + d.counters.zscoreAnomalies + d.counters.modelAnomalies, 0);
    note(`latency: ${observed.size} anomalous readings observed on ${s.config.topics.anomalies} (device counters: ${counted} anomalies)`);
    return { latencies, scored: seenOf(s.trainer) };
  } finally {
    await consumer?.disconnect().catch(() => undefined);
    await stopStack(s, stopProducer);
  }
}

function percentile(xs: readonly number[], p: number): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

// ---------------------------------------------------------------------------------------------------------------
// 3. memory of 10,000 device actors (child process)


/** RSS after collecting garbage until the heap settles. */
async function settledRss(): Promise<number> {
  const gc = gcFunction();
  let last = Infinity;
  for (let i = 0; i < 10; i++) {
    gc?.();
    await sleep(50);
    const heap = process.memoryUsage().heapUsed;
    if (heap >= last) break;
    last = heap;
  }
  return process.memoryUsage().rss;
}

interface MemoryResult { emptyRss: number; rss: number; peakRss: number; heap: number; buffers: number; devices: number; seconds: number }

async function memoryChild(): Promise<MemoryResult> {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'flead-bench-memory-'));
  // TRAIN_WINDOW from the environment (how much of each device's stream it keeps); no training, so that filling the
  // windows takes minutes, not hours (the weights a device holds have the same size either way)
  const window: Partial<Record<EnvName, string>> = process.env.TRAIN_WINDOW ? { TRAIN_WINDOW: process.env.TRAIN_WINDOW } : {};
  const prefix = `bench-mem-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}-`;
  // the embedded profile: its bus keeps EMBEDDED_BUS_RETAIN consumed messages a partition (1,000 unless set)
  const embedded: Partial<Record<EnvName, string>> = {
    EMBEDDED_BUS_RETAIN: process.env.EMBEDDED_BUS_RETAIN || '1000', FLEAD_PROFILE: 'embedded', FLEAD_DATA_DIR: path.join(tmp, 'data'),
  };
  const config = benchConfig(prefix, path.join(tmp, 'models'), { ...NO_TRAINING, ...window, ...(MEMORY_PROFILE === 'embedded' ? embedded : {}) });
  const infra = await openInfra(config, 'trainer');
  let trainer: TrainerService | undefined;
  try {
    trainer = await startTrainer({ config, journal: infra.journal, bus: infra.bus, log: log.child('trainer'), instanceId: 'bench-memory' });
    await trainer.ready;
    const t = trainer;
    const emptyRss = await settledRss();
    const started = Date.now();
    await publishGlobal(infra.bus, config);
    await waitUntil('global model v0', () => globalVersionOf(t) === 0, 60_000, 10);
    const rnd = mulberry32(20240611);
    const g = (): number => Math.sqrt(-2 * Math.log(1 - rnd())) * Math.cos(2 * Math.PI * rnd());
    const ts0 = Date.UTC(2026, 0, 1);
    // devices in groups of ~100,000 readings (all 10,000 at 3 readings each), a reading of every device of the
    // group at a time; the next group once the trainer has scored this one
    const group = Math.max(1, Math.floor(100_000 / MEMORY_READINGS_PER_DEVICE));
    for (let d0 = 0; d0 < MEMORY_DEVICES; d0 += group) {
      const d1 = Math.min(MEMORY_DEVICES, d0 + group);
      for (let r = 0; r < MEMORY_READINGS_PER_DEVICE; r++) {
        const batch = Array.from({ length: d1 - d0 }, (_, i) => {
          const d = d0 + i;
          const reading: SensorReading = {
            deviceId: `device-${d}`, readingId: `device-${d}/${r}`, ts: ts0 + r * 5000,
            features: { humidity: 40 + 5 * g(), temperature: 22 + 2 * g() }, label: 0, attackType: null, source: 'bench',
          };
          return { key: reading.deviceId, value: encodeJson(SensorReading, reading) };
        });
        for (let i = 0; i < batch.length; i += 1000) await infra.bus.publish(config.topics.readings, batch.slice(i, i + 1000));
      }
      await waitUntil(`devices ${d0}-${d1 - 1} to score their readings`, () => seenOf(t) >= d1 * MEMORY_READINGS_PER_DEVICE, 900_000, 50);
    }
    const views = devicesOf(t);
    const withModel = views.filter((d) => d.model.version === 0).length;
    if (views.length !== MEMORY_DEVICES || withModel !== MEMORY_DEVICES) {
      throw new Error(`${views.length} device actors, ${withModel} holding global model v0; expected ${MEMORY_DEVICES}`);
    }
    const seconds = (Date.now() - started) / 1000;
    const rss = await settledRss();
    const { heapUsed, arrayBuffers } = process.memoryUsage();
    // maxRSS: the process's peak resident set, in KiB
    return { emptyRss, rss, peakRss: process.resourceUsage().maxRSS * 1024, heap: heapUsed, buffers: arrayBuffers, devices: views.length, seconds };
  } finally {
    await trainer?.stop().catch(() => undefined);
    await infra.close().catch(() => undefined);
    rmSync(tmp, { recursive: true, force: true });
    if (MEMORY_PROFILE === 'local') {
      const kafka = createKafka({ brokers: brokersFromEnv(), clientId: 'flead-bench-memory' });
      await deleteTopicsWithPrefix(kafka, prefix).catch(() => undefined);
    }
  }
}

async function publishGlobal(bus: Bus, config: Config): Promise<void> {
  await bus.publish(config.topics.globalModels, [{ key: null, value: globalModelV0(config) }]);
}

/** Runs memoryChild in a fresh node process (with --expose-gc); its result is the last stdout line, as JSON. */
function trainerMemory(): Promise<MemoryResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--expose-gc', __filename, '--memory-child'], { stdio: ['ignore', 'pipe', 'inherit'], env: process.env });
    let out = '';
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    child.on('error', reject);
    child.on('exit', (code) => {
      const last = out.trim().split('\n').pop() ?? '';
      if (code !== 0 || !last.startsWith('{')) { reject(new Error(`memory child exited ${code}: ${out.slice(-2000)}`)); return; }
      resolve(JSON.parse(last) as MemoryResult);
    });
  });
}

// ---------------------------------------------------------------------------------------------------------------

export async function run(print: (line: string) => void): Promise<void> {
  if (repeatError) throw new Error(repeatError);
  if (memoryProfileError) throw new Error(memoryProfileError);
  const prefix = `bench-pipe-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}-`;
  const kafka = createKafka({ brokers: brokersFromEnv(), clientId: 'flead-bench-pipeline' });
  try {
    // 1. throughput
    if (wanted('throughput')) {
      const messages = await wsnMessages(REPEAT);
      const n = messages.length;
      // raw runs before, between and after PIPELINE_RUNS pipeline runs, the best of each counting: the first
      // runs of each are slower while V8 compiles the code they run (measured: pipeline runs of 1,667 and 1,251
      // ms, then 848-996 ms in the same process), so both get as many
      const raws = [await rawThroughput(kafka, prefix, messages, 500)];
      const pipes: Array<{ ms: number; anomalies: number }> = [];
      for (let k = 0; k < PIPELINE_RUNS; k++) {
        raws.push(await rawThroughput(kafka, prefix, messages, 500));
        pipes.push(await pipelineThroughput(`${prefix}p${k}-`, n, false));
      }
      raws.push(await rawThroughput(kafka, prefix, messages, 500));
      const p = pipes.reduce((a, b) => (b.ms < a.ms ? b : a));
      const raw = Math.min(...raws);
      const rate = n / (p.ms / 1000);
      const rawRate = n / (raw / 1000);
      print(`bench pipeline-throughput: ${fmt(rate)} readings/s (${ratio(rate, rawRate)}x raw-kafkajs)`);
      const twos = await pipelineThroughputTwoProcesses(`${prefix}t2-`, n, TWO_PROCESS_PASSES);
      const rate2 = n / (Math.min(...twos) / 1000);
      print(`bench pipeline-throughput-2proc: ${fmt(rate2)} readings/s (${ratio(rate2, rawRate)}x raw-kafkajs)`);
      note(`throughput: ${n} readings${REPEAT > 1 ? ` (the WSN data set ${REPEAT} times over)` : ''} scored in ${pipes.map((x) => x.ms).join(', ')} ms (${pipes.map((x) => x.anomalies).join(', ')} anomalies), local training off; 2-process runs (one trainer process, its passes in turn) ${twos.join(', ')} ms; raw kafkajs runs ${raws.join(', ')} ms (best ${fmt(rawRate)} msg/s); load average ${os.loadavg()[0]!.toFixed(1)} on ${os.cpus().length} cpus`);
      const eos = Math.min(await rawThroughput(kafka, prefix, messages, 500, true), await rawThroughput(kafka, prefix, messages, 500, true));
      const eosRate = n / (eos / 1000);
      note(`throughput: raw kafkajs exactly-once (transactional producer, a transaction per 500 messages, read_committed consumer): best of 2 ${eos} ms (${fmt(eosRate)} msg/s); the pipeline is ${ratio(rate, eosRate)}x that, the 2-process pipeline ${ratio(rate2, eosRate)}x`);
      const chain = Math.min(await rawExactlyOnceChain(kafka, prefix, messages, 500), await rawExactlyOnceChain(kafka, prefix, messages, 500));
      const chainRate = n / (chain / 1000);
      print(`bench pipeline-throughput-ceiling: ${fmt(chainRate)} msg/s (${ratio(chainRate, rawRate)}x raw-kafkajs)`);
      note(`throughput: raw kafkajs, the pipeline's two exactly-once hops alone (transactions of 500 messages into topic A; a read_committed group copies A to B in group-committed transactions with its offsets; no journal, scoring or anomalies): best of 2 ${chain} ms (${fmt(chainRate)} msg/s, ${ratio(chainRate, rawRate)}x raw-kafkajs); the pipeline is ${ratio(rate, chainRate)}x that, the 2-process pipeline ${ratio(rate2, chainRate)}x`);
      // the bound of any design whose second service writes every reading again: two plain hops, no work
      const plain = Math.min(await rawPlainChain(kafka, prefix, messages, 500, false), await rawPlainChain(kafka, prefix, messages, 500, false));
      const plainRate = n / (plain / 1000);
      print(`bench pipeline-throughput-plain-chain: ${fmt(plainRate)} msg/s (${ratio(plainRate, rawRate)}x raw-kafkajs)`);
      const json = Math.min(await rawPlainChain(kafka, prefix, messages, 500, true), await rawPlainChain(kafka, prefix, messages, 500, true));
      const jsonRate = n / (json / 1000);
      note(`throughput: raw kafkajs, two plain hops (plain producer into topic A; an auto-committing group copies A to B with a plain producer; no transactions, journal, scoring or anomalies): best of 2 ${plain} ms (${fmt(plainRate)} msg/s, ${ratio(plainRate, rawRate)}x raw-kafkajs); the same with each value parsed and re-encoded in the middle: best of 2 ${json} ms (${fmt(jsonRate)} msg/s, ${ratio(jsonRate, rawRate)}x raw-kafkajs)`);
      if (process.env.FLEAD_BENCH_PIPELINE_TRAINING !== '0') {
        const t = await pipelineThroughput(`${prefix}tt-`, n, true);
        note(`throughput with local training on (default TRAIN_EVERY=200, 5 epochs on up to ${defaults.TRAIN_WINDOW} rows): ${fmt(n / (t.ms / 1000))} readings/s (${n} readings in ${t.ms} ms)`);
      }
    }
    // 2. latency at LATENCY_RATE
    if (wanted('latency')) {
      const messages = await wsnMessages();
      const n = messages.length;
      const raw = await rawLatencies(kafka, prefix, messages, LATENCY_RATE);
      const p = await pipelineLatencies(`${prefix}l-`, kafka, n);
      if (p.latencies.length === 0) throw new Error('no anomaly observed');
      const [p50, p99, r50, r99] = [percentile(p.latencies, 50), percentile(p.latencies, 99), percentile(raw, 50), percentile(raw, 99)];
      print(`bench detection-latency-p50: ${fmt(p50, 1)} ms (${ratio(p50, r50)}x raw-kafkajs-p50)`);
      print(`bench detection-latency-p99: ${fmt(p99, 1)} ms (${ratio(p99, r99)}x raw-kafkajs-p99)`);
      note(`latency: ${p.latencies.length} anomalous readings of ${p.scored} timed; raw kafkajs p50 ${fmt(r50, 2)} ms, p99 ${fmt(r99, 2)} ms; load average ${os.loadavg()[0]!.toFixed(1)} on ${os.cpus().length} cpus`);
    }
  } finally {
    await deleteTopicsWithPrefix(kafka, prefix);
  }
  // 3. memory
  if (wanted('memory')) {
    const m = await trainerMemory();
    print(`bench trainer-memory-10k-devices: ${fmt(m.rss / MiB)} MiB RSS (${ratio(m.rss, m.emptyRss)}x empty-trainer)`);
    if (m.devices !== 10_000 || MEMORY_READINGS_PER_DEVICE !== 3) note(`memory: NOT the standard measure: ${m.devices} devices × ${MEMORY_READINGS_PER_DEVICE} readings each`);
    note(`memory: ${m.devices} devices in ${m.seconds.toFixed(1)} s on the ${MEMORY_PROFILE} profile; empty trainer ${fmt(m.emptyRss / MiB)} MiB RSS; at the end heap ${fmt(m.heap / MiB)} MiB used, array buffers ${fmt(m.buffers / MiB)} MiB; peak RSS ${fmt(m.peakRss / MiB)} MiB`);
  }
}

if (require.main === module) {
  if (process.argv[2] === '--trainer-child') {
    trainerChild().then(
      () => process.exit(0),
      (e: unknown) => { process.stderr.write(`bench pipeline (trainer child): ${(e as Error).stack ?? String(e)}\n`); process.exit(1); },
    );
  } else if (process.argv[2] === '--memory-child') {
    memoryChild().then(
      (r) => { process.stdout.write(`${JSON.stringify(r)}\n`); process.exit(0); },
      (e: unknown) => { process.stderr.write(`bench pipeline (memory child): ${(e as Error).stack ?? String(e)}\n`); process.exit(1); },
    );
  } else if (repeatError || memoryProfileError) {
    process.stderr.write(`bench pipeline: ${repeatError ?? memoryProfileError}\n`);
    process.exit(2);
  } else {
    run((line) => process.stdout.write(`${line}\n`)).then(
      () => process.exit(0),
      (e: unknown) => { process.stderr.write(`bench pipeline: ${(e as Error).stack ?? String(e)}\n`); process.exit(1); },
    );
  }
}
