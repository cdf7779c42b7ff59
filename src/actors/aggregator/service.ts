/**
 * The aggregator service: the round actor under the actor system "aggregator", fed by a consumer group on
 * `local-model-updates` (undecodable messages → dead-letter topic), plus the inspection routes.
 * Ports (journal, bus, model store) come in as parameters: the same code runs embedded, local and in compose.
 */
import { family, type Sample } from '../../infra/http/metrics';
import { actorRoutes, startServiceRuntime } from '../runtime/service-runtime';
import type { Bus, BusMessage, Subscription } from '../../infra/bus/port';
import { ensureTopicsWarned } from '../../infra/bus/ensure-topics';
import { dataTopics } from '../../protocols/topics';
import { decodeOrDeadLetter, deadLetter } from '../../infra/bus/dead-letter';
import type { InspectionRoute } from '../../infra/http/inspection-server';
import type { Journal } from '../../infra/journal/port';
import type { Logger } from '../../infra/log';
import type { ModelStore } from '../../infra/model-store';
import type { Config } from '../../config';
import { LocalModelUpdate } from '../../protocols/models';
import { decodeWeights, hashWeights, layersText } from '../../protocols/weights';
import { stopWhenIdle } from '../runtime/nact';
import { ActorRegistry } from '../runtime/registry';
import { restartWithBackoff } from '../runtime/supervision';
import { nonFiniteIndex } from './strategies';
import { spawnRoundActor, type RoundActor } from './round.actor';
import type { UpdateFacts } from './round.events';
import type { RoundState } from './round.state';
import { modelsView, roundsView } from './round.view';

export interface AggregatorService {
  registry: ActorRegistry;
  round: RoundActor;
  routes: InspectionRoute[];
  /** resolves when the round actor has recovered and the consumer is subscribed */
  ready: Promise<void>;
  /** this service's own counters for /metrics (the process and actor metrics are added by the route) */
  metrics(): Sample[];
  stop(): Promise<void>;
}

export interface AggregatorDeps {
  config: Config;
  journal: Journal;
  bus: Bus;
  store: ModelStore;
  log: Logger;
  clock?: () => number;
  /** called when a top-level actor escalates (its restart budget is spent): the process should exit non-zero */
  onFatal?: (reason: string) => void;
  service?: string;
}

const countNonFinite = (w: Float32Array): number => {
  if (nonFiniteIndex(w) === null) return 0;
  let n = 0;
  for (let i = 0; i < w.length; i++) if (!Number.isFinite(w[i]!)) n++;
  return n;
};

export async function startAggregator(deps: AggregatorDeps): Promise<AggregatorService> {
  const { config, journal, bus, store } = deps;
  const service = deps.service ?? 'aggregator';
  const log = deps.log;
  const clock = deps.clock ?? Date.now;
  // A top-level actor that escalates has spent its restart budget: the process should exit non-zero.
  const { registry, supervisionLog, system } = startServiceRuntime(service, journal, log, (base) => ({
    ...base,
    async record(e) {
      await base.record(e);
      if (e.type === 'SupervisionEscalated' && e.path.split('/').length === 2) deps.onFatal?.(`${e.path}: ${e.reason}`);
    },
  }));
  const round = spawnRoundActor(system, {
    service,
    settings: { ...config.round, strategy: config.strategy },
    model: config.model,
    roundIntervalMs: config.round.intervalMs,
    snapshotEvery: config.snapshotEvery,
    store,
    bus,
    topics: config.topics,
    log: log.child('round'),
    clock,
    registry,
    supervisionLog,
    policy: restartWithBackoff(),
  });

  const ingestPath = `${service}/ingest`;
  const counts = { received: 0, accepted: 0, rejected: 0, deadLettered: 0, lastOffsets: {} as Record<string, string> };
  registry.register(ingestPath, 'consumer', null);
  registry.update(ingestPath, { status: 'recovering' }, counts);

  async function handle(m: BusMessage): Promise<void> {
    counts.received++;
    counts.lastOffsets[`${m.topic}/${m.partition}`] = m.offset;
    const update = await decodeOrDeadLetter(bus, service, LocalModelUpdate, m, config.topics.deadLetters);
    if (!update) { counts.deadLettered++; return; }
    const decoded = decodeWeights(update.weights);
    if (!decoded.ok) {
      counts.deadLettered++;
      await deadLetter(bus, service, { reason: `LocalModelUpdate ${update.updateId}: ${decoded.reason}`, topic: m.topic, partition: m.partition, offset: m.offset, key: m.key, raw: m.value, deadLetterTopic: config.topics.deadLetters });
      return;
    }
    const nonFiniteCount = countNonFinite(decoded.flat);
    const hash = hashWeights(decoded.flat);
    // The blob must exist before an event can point at it; orphans (rejected later) are harmless.
    if (nonFiniteCount === 0 && m.value.length <= config.round.maxUpdateBytes) await store.putBlob(decoded.flat);
    const facts: UpdateFacts = {
      clientId: update.clientId, updateId: update.updateId, round: update.round, baseVersion: update.baseVersion,
      sampleCount: update.sampleCount, layers: update.weights.layers, hash, nonFiniteCount, payloadBytes: m.value.length,
    };
    const events = await round.ask({ type: 'SubmitUpdate', update: facts, now: clock() });
    if (events.some((e) => e.type === 'UpdateAccepted')) counts.accepted++; else counts.rejected++;
  }

  let subscription: Subscription | undefined;
  const ready = (async () => {
    await ensureTopicsWarned(bus, dataTopics(config.topics, config.readingsPartitions, ['localUpdates', 'globalModels', 'deadLetters']), log);
    subscription = await bus.subscribe({
      groupId: `${config.topicPrefix}flead-aggregator`,
      topics: [config.topics.localUpdates],
      fromBeginning: true,
      eachBatch: async (messages) => {
        for (const m of messages) await handle(m);
        registry.update(ingestPath, { status: 'running' }, { ...counts });
      },
    });
    registry.update(ingestPath, { status: 'running' }, { ...counts });
  })();

  const roundState = (): RoundState | undefined => registry.get(`${service}/round`)?.state as RoundState | undefined;
  const metrics = (): Sample[] => {
    const s = roundState();
    return [
      ...family('flead_aggregator_updates_total', 'Local model updates this process received since it started, by outcome.', 'counter', [
        { labels: { outcome: 'accepted' }, value: counts.accepted },
        { labels: { outcome: 'rejected' }, value: counts.rejected },
        { labels: { outcome: 'dead-lettered' }, value: counts.deadLettered },
      ]),
      { name: 'flead_aggregator_global_version', help: 'Newest published global model version (-1 before the initial model).', type: 'gauge', value: s?.version ?? -1 },
      { name: 'flead_aggregator_rounds_opened', help: 'Rounds opened so far (journaled).', type: 'gauge', value: s ? s.nextRound - 1 : 0 },
      { name: 'flead_aggregator_round_collecting', help: '1 while a round is open and collecting updates.', type: 'gauge', value: s?.phase === 'Collecting' ? 1 : 0 },
    ];
  };
  const routes: InspectionRoute[] = [
    { pattern: '/health', handler: () => health() },
    ...actorRoutes(registry, supervisionLog, () => metrics()),
    { pattern: '/rounds', handler: () => { const s = roundState(); return s && roundsView(s); } },
    { pattern: '/rounds/:round', handler: (p) => { const s = roundState(); return s && roundsView(s).rounds.find((r) => r.round === Number(p.round)); }, notFound: (p) => `no round ${p.round}` },
    { pattern: '/models', handler: () => { const s = roundState(); return s && modelsView(s); } },
    { pattern: '/models/:version', handler: (p) => { const s = roundState(); return s && modelsView(s).versions.find((v) => v.version === Number(p.version)); }, notFound: (p) => `no model with version ${p.version}` },
  ];

  function health() {
    const actors = registry.list();
    const starting = actors.some((a) => a.status === 'recovering');
    const bad = actors.filter((a) => a.status === 'crashed' || a.status === 'stopped' || a.status === 'restarting');
    const s = roundState();
    const problems = bad.map((a) => `${a.path} is ${a.status}${a.lastError ? `: ${a.lastError}` : ''}`);
    // started with another MODEL_SPEC over its journal: the journaled model's shape stays, updates of the new one are rejected
    if (s?.layers && layersText(s.layers) !== layersText(config.model.layers)) {
      problems.push(`the global model (v${s.version ?? '-'}) has layers ${layersText(s.layers)} but MODEL_SPEC gives ${layersText(config.model.layers)}: this journal keeps its model's shape and rejects updates of another; to train a model of the new shape start on new topics (another FLEAD_TOPIC_PREFIX) with the new MODEL_SPEC on every service`);
    }
    return {
      status: problems.length ? 'degraded' : starting ? 'starting' : 'ok',
      service,
      profile: config.profile,
      journal: journal.describe,
      bus: bus.describe,
      modelsDir: store.dir,
      version: s?.version ?? null,
      problems,
    };
  }

  return {
    registry,
    round,
    routes,
    ready,
    metrics,
    async stop() {
      round.stopTimers();
      await ready.catch(() => undefined);
      await subscription?.stop();
      await stopWhenIdle([round.ref]);
    },
  };
}
