/**
 * The producer service: one supervised source actor per device (or one for all devices, plus one for bad
 * rows) under the actor system "producer". Readings go to `edge-iiot-stream` keyed by device id, bad rows to
 * the dead-letter topic, each batch atomically with its journaled position. Progress: rows, rate and ETA on
 * a terminal, counts in the log otherwise.
 */
import { family, type Sample } from '../../infra/http/metrics';
import { actorRoutes, startServiceRuntime } from '../runtime/service-runtime';
import type { Bus } from '../../infra/bus/port';
import { ensureTopicsWarned } from '../../infra/bus/ensure-topics';
import type { DatasetAdapter } from '../../infra/datasets/adapter';
import type { InspectionRoute } from '../../infra/http/inspection-server';
import type { Journal } from '../../infra/journal/port';
import { clearStatusLine, setStatusLine, type Logger } from '../../infra/log';
import type { Config } from '../../config';
import { stopWhenIdle } from '../runtime/nact';
import { ActorRegistry } from '../runtime/registry';
import { restartWithBackoff } from '../runtime/supervision';
import { rateText, TokenBucket } from './rate-limit';
import { spawnSourceActor, type SourceActor } from './source.actor';
import type { SourceState } from './source.decider';
import { planSources } from './sources';
import { labelledModelSpec } from '../trainer/model';
import { dataTopics } from '../../protocols/topics';

export interface ProducerService {
  registry: ActorRegistry;
  routes: InspectionRoute[];
  /** resolves when every source is exhausted */
  done: Promise<void>;
  /** resolves with a sentence when a source's journaled positions count records of other data (it does not stream) */
  refused: Promise<string>;
  progress(): { published: number; bad: number; total: number; sources: number; exhausted: number };
  /** this service's own counters for /metrics (the process and actor metrics are added by the route) */
  metrics(): Sample[];
  stop(): Promise<void>;
}

export interface ProducerDeps {
  config: Config;
  adapter: DatasetAdapter;
  journal: Journal;
  bus: Bus;
  log: Logger;
  clock?: () => number;
  /** draw a progress line on this terminal stream (default: stderr when it is a TTY) */
  tty?: NodeJS.WriteStream | null;
  service?: string;
  /** what the producer reads, in words, journaled with each source's digest (default: the adapter's name) */
  origin?: string;
}

export async function startProducer(deps: ProducerDeps): Promise<ProducerService> {
  const { config, journal, bus, log } = deps;
  const service = deps.service ?? 'producer';
  const clock = deps.clock ?? Date.now;
  const { registry, supervisionLog, system } = startServiceRuntime(service, journal, log);
  await ensureTopicsWarned(bus, dataTopics(config.topics, config.readingsPartitions, ['readings', 'deadLetters']), log);
  log.info(`dataset ${deps.adapter.name}: reading it once to count and digest each source's records`);
  const planning = clock();
  const sources = await planSources(deps.adapter, {
    onProgress: (n) => log.info(`dataset ${deps.adapter.name}: ${n} records read (${Math.round(n / Math.max(0.001, (clock() - planning) / 1000))} rec/s)`),
  });
  const total = sources.reduce((n, s) => n + s.total, 0);
  const reads = [...new Set(sources.filter((s) => s.id !== 'invalid').map((s) => s.reads))].join(', ');
  log.info(`dataset ${deps.adapter.name}: ${sources.length} sources, ${total} records (each source's records: ${reads}); rate ${rateText(config.producer.rate)} in total, ${rateText(config.producer.deviceRate)} per device, batches of ${config.producer.batchSize}`);
  const features = deps.adapter.featureNames.length;
  if (config.model.features === null && features !== config.model.spec.inputs) {
    log.warn(`readings of ${deps.adapter.name} carry ${features} features and MODEL_SPEC takes ${config.model.spec.inputs}: the trainers will score them with the z-score baseline only. ` +
      `For the federated model give the aggregator and every trainer a MODEL_SPEC of ${features} inputs, e.g. MODEL_SPEC='${JSON.stringify(labelledModelSpec(features))}'`);
  }

  const totalBucket = new TokenBucket(config.producer.rate, undefined, clock);
  const deviceBuckets = new Map<string, TokenBucket>();
  const deviceBucket = (id: string) => {
    let b = deviceBuckets.get(id);
    if (!b) deviceBuckets.set(id, (b = new TokenBucket(config.producer.deviceRate, undefined, clock)));
    return b;
  };
  const states = new Map<string, SourceState>();
  let resolveDone!: () => void;
  const done = new Promise<void>((r) => { resolveDone = r; });
  const progress = () => {
    let published = 0; let bad = 0; let exhausted = 0;
    for (const s of states.values()) { published += s.published; bad += s.bad; if (s.exhausted) exhausted++; }
    return { published, bad, total, sources: sources.length, exhausted };
  };
  let refuse!: (sentence: string) => void;
  const refusals = new Map<string, string>(); // source id → why
  const refused = new Promise<string>((r) => { refuse = r; });
  const onRefused = (id: string, sentence: string) => {
    if (refusals.has(id)) return;
    refusals.set(id, sentence);
    if (refusals.size === 1) log.error(sentence);
    else log.error(`source ${id}: its position too is journaled over other data`);
    refuse(sentence);
  };
  const onProgress = (id: string, s: SourceState) => {
    states.set(id, s);
    if (states.size === sources.length && [...states.values()].every((x) => x.exhausted)) resolveDone();
  };

  const actors: SourceActor[] = sources.map((source) => spawnSourceActor(system, {
    service, source, topics: config.topics, batchSize: config.producer.batchSize, lingerMs: config.producer.lingerMs,
    total: totalBucket, deviceBucket, log: log.child(source.id), clock, registry, supervisionLog,
    policy: restartWithBackoff(), snapshotEvery: config.snapshotEvery, onProgress, onRefused, origin: deps.origin ?? deps.adapter.name,
  }));
  if (sources.length === 0) resolveDone();

  // Progress: a live line on a terminal, a log line every 10 s otherwise.
  const tty = deps.tty === undefined ? (process.stderr.isTTY ? process.stderr : null) : deps.tty;
  let last = { at: clock(), published: 0 };
  let rate = 0;
  const ticker = setInterval(() => {
    const p = progress();
    const now = clock();
    rate = (p.published + p.bad - last.published) / Math.max(0.001, (now - last.at) / 1000);
    last = { at: now, published: p.published + p.bad };
    const left = p.total - p.published - p.bad;
    const eta = rate > 0 ? `${Math.ceil(left / rate)} s` : '?';
    const line = `producer: ${p.published + p.bad}/${p.total} records (${p.bad} bad), ${rate.toFixed(0)} rec/s, ETA ${eta}, ${p.exhausted}/${p.sources} sources done`;
    if (tty) setStatusLine(line);
    else if (Math.floor(now / 10_000) !== Math.floor((now - 1000) / 10_000)) log.info(line.replace(/^producer: /, ''));
  }, 1000);
  ticker.unref();
  void done.then(() => {
    clearInterval(ticker); // nothing left to report: no "0 rec/s, ETA ?" line every 10 s from an idle producer
    const p = progress();
    if (tty) clearStatusLine();
    log.info(`all ${p.sources} sources exhausted: ${p.published} readings published, ${p.bad} bad rows dead-lettered`);
  });

  /** Journaled positions: the counts include earlier runs of this producer. */
  const metrics = (): Sample[] => {
    const p = progress();
    return [
      { name: 'flead_producer_readings_published_total', help: 'Readings published (journaled with the sources: earlier runs included).', type: 'counter', value: p.published },
      { name: 'flead_producer_bad_rows_total', help: 'Rows sent to the dead-letter topic instead (wrong column count, non-numeric feature, missing label).', type: 'counter', value: p.bad },
      { name: 'flead_producer_records', help: 'Records in the data set, all sources.', type: 'gauge', value: p.total },
      ...family('flead_producer_sources', 'Device sources, by state.', 'gauge', [
        { labels: { state: 'streaming' }, value: p.sources - p.exhausted },
        { labels: { state: 'exhausted' }, value: p.exhausted },
      ]),
    ];
  };

  const routes: InspectionRoute[] = [
    { pattern: '/health', handler: () => {
      const bad = registry.list().filter((a) => a.status === 'crashed' || a.status === 'stopped');
      const problems = [...refusals.values(), ...bad.map((a) => `${a.path} is ${a.status}`)];
      return { status: problems.length ? 'degraded' : 'ok', service, profile: config.profile, journal: journal.describe, bus: bus.describe, dataset: deps.adapter.name, progress: { ...progress(), rate }, problems };
    } },
    ...actorRoutes(registry, supervisionLog, () => metrics()),
    { pattern: '/sources', handler: () => sources.map((s) => ({ id: s.id, total: s.total, ...(states.get(s.id) ?? {}) })) },
  ];

  return {
    registry,
    routes,
    done,
    refused,
    progress,
    metrics,
    async stop() {
      clearInterval(ticker);
      await Promise.all(actors.map((a) => a.stopPump()));
      await stopWhenIdle(actors.map((a) => a.ref));
    },
  };
}
