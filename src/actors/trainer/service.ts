/**
 * The trainer service: one consumer group on `edge-iiot-stream` (run more processes to scale; Kafka moves
 * partitions between them), one event-sourced actor per device, created on the device's first reading and
 * recovered from the journal wherever it lands. Every process also follows `global-model-updates` (its own
 * group) and passes each new global model and round to its devices.
 */
import { layersText } from '../../protocols/weights';
import { family, type Sample } from '../../infra/http/metrics';
import { actorRoutes, startServiceRuntime } from '../runtime/service-runtime';
import os from 'node:os';
import { isLeft } from 'fp-ts/Either';
import type { Bus, BusMessage, Subscription } from '../../infra/bus/port';
import { ensureTopicsWarned } from '../../infra/bus/ensure-topics';
import { deadLetter, decodeOrDeadLetter } from '../../infra/bus/dead-letter';
import type { InspectionRoute } from '../../infra/http/inspection-server';
import type { Journal } from '../../infra/journal/port';
import type { Logger } from '../../infra/log';
import type { Config } from '../../config';
import { decodeJson } from '../../protocols/codec';
import { GlobalTopicMessage, type GlobalModel, type RoundNotice } from '../../protocols/models';
import { SensorReading } from '../../protocols/readings';
import { isAlive, stop as stopActor, stopWhenIdle } from '../runtime/nact';
import { ActorRegistry } from '../runtime/registry';
import { restartWithBackoff } from '../runtime/supervision';
import { spawnDeviceActor, type DeviceActor } from './device.actor';
import type { IncomingReading } from './device.events';
import { deviceActorName, deviceKeyPrefix, deviceSettings, type DeviceState } from './device.state';
import { partitionForKey } from '../../infra/bus/partitioner';
import { ModelPool } from './model-pool';
import { dataTopics, loopTopics } from '../../protocols/topics';

export interface TrainerService {
  registry: ActorRegistry;
  routes: InspectionRoute[];
  ready: Promise<void>;
  devices(): string[];
  /** this service's own counters for /metrics (the process and actor metrics are added by the route) */
  metrics(): Sample[];
  stop(): Promise<void>;
}

export interface TrainerDeps {
  config: Config;
  journal: Journal;
  bus: Bus;
  log: Logger;
  clock?: () => number;
  service?: string;
  /** this process's name in logs and in its Kafka journal writer id (TRAINER_ID, default host-pid) */
  instanceId?: string;
}

/**
 * The largest reading (message value) a trainer takes: far above any sensor reading (a generated
 * Edge-IIoTset reading, 46 features, is about 1.5 KiB; a WSN one about 200 bytes), and small enough that the
 * device's journal events stay under the journal's size limit. Larger ones are dead-lettered with the reason.
 */
export const MAX_READING_BYTES = 64 * 1024;
/**
 * The largest feature magnitude a trainer takes: the detectors' running sums of squares must stay finite (a value
 * of 1e200 or 1e308 made them infinite, and the device crashed on every batch of its partition).
 */
export const MAX_FEATURE_MAGNITUDE = 1e100;

/** Why a reading's features are out of a detector's range, or null. */
export function featureRangeProblem(features: Record<string, number>): string | null {
  for (const name in features) { // per reading: no entries array
    const v = features[name]!;
    if (!(Math.abs(v) <= MAX_FEATURE_MAGNITUDE)) return `feature ${name} is ${v}: a trainer takes values within ±${MAX_FEATURE_MAGNITUDE} (the detectors' sums of squares must stay finite)`;
  }
  return null;
}

type Layers = ReadonlyArray<{ name: string; shape: readonly number[] }>;
/** "dev-1, dev-2, …": the first five of a sorted list */
const firstFew = (ids: readonly string[]) => `${ids.slice(0, 5).join(', ')}${ids.length > 5 ? ', …' : ''}`;
const zscoreOnly = (ids: readonly string[]) => `${ids.length} device(s) scored by the z-score baseline only`;
const sameLayers = (a: Layers, b: Layers) => layersText(a) === layersText(b);

export async function startTrainer(deps: TrainerDeps): Promise<TrainerService> {
  const { config, journal, bus, log } = deps;
  const service = deps.service ?? 'trainer';
  const clock = deps.clock ?? Date.now;
  const instance = deps.instanceId ?? `${os.hostname()}-${process.pid}`;
  const { registry, supervisionLog, system } = startServiceRuntime(service, journal, log);
  const pool = new ModelPool(config.model.spec, config.model.seed);
  const runtime = await pool.init();
  log.info(`TensorFlow.js backend: ${runtime.backend} (simd ${runtime.simd}, threads ${runtime.threads})`);
  await ensureTopicsWarned(bus, dataTopics(config.topics, config.readingsPartitions, loopTopics), log);

  const devices = new Map<string, { actor: DeviceActor; partition: number }>();
  let latestModel: GlobalModel | null = null;
  let latestNotice: RoundNotice | null = null;
  /** the last global model ignored for its layers, until one that fits arrives: a problem on /health */
  let misfit: string | null = null;
  /** devices holding weights of another MODEL_SPEC (recovered after a restart with a new one), until a model fits */
  const weightsMisfits = new Map<string, string>();

  const applyTo = (deviceId: string, actor: DeviceActor) => {
    const now = clock();
    const m = latestNotice && (!latestModel || latestNotice.model.version >= latestModel.version) ? latestNotice.model : latestModel;
    // merged: the model's lineage names this device (its last update is in it)
    if (m) actor.tell({ type: 'ApplyGlobal', version: m.version, hash: m.hash, weights: m.weights.data, threshold: null, merged: m.lineage.updates.some((u) => u.clientId === deviceId), now });
    if (latestNotice) actor.tell({ type: 'JoinRound', round: latestNotice.round, baseVersion: latestNotice.baseVersion, deadline: latestNotice.deadline, now });
  };

  const device = (deviceId: string, partition: number): DeviceActor => {
    const known = devices.get(deviceId);
    if (known && isAlive(known.actor.ref)) { known.partition = partition; return known.actor; }
    // A device actor stopped for good (restart budget spent) is spawned again: it recovers from the journal.
    if (known) { registry.remove(known.actor.path); devices.delete(deviceId); weightsMisfits.delete(deviceId); log.warn(`${deviceId}: device actor was stopped; starting it again from its journal`); }
    const actor = spawnDeviceActor(system, {
      service, actorName: deviceActorName(deviceId), layers: config.model.layers, pool, topics: config.topics, log: log.child(deviceId), clock,
      settings: deviceSettings(config, deviceId),
      training: { epochs: config.trainer.epochs, batchSize: config.trainer.batchSize, learningRate: config.trainer.learningRate },
      registry, supervisionLog, policy: restartWithBackoff({ maxRestarts: 10 }), snapshotEvery: config.snapshotEvery,
      transform: config.trainer.transform, residualWindow: config.trainer.residualWindow, thresholdQuantile: config.trainer.thresholdQuantile,
      onWeightsMisfit: (id, note) => { if (note === null) weightsMisfits.delete(id); else weightsMisfits.set(id, note); },
    });
    devices.set(deviceId, { actor, partition });
    applyTo(deviceId, actor);
    return actor;
  };

  const counts = { readings: 0, deadLettered: 0, batches: 0, globalModels: 0, rounds: 0 };
  const ingestPath = `${service}/ingest`;
  registry.register(ingestPath, 'consumer', null);

  /** Partitions whose batch keeps failing (it is redelivered each time): a /health problem from the third failure. */
  const failing = new Map<number, { failures: number; since: number; readings: number; reason: string }>();
  async function handleReadings(messages: readonly BusMessage[]): Promise<void> {
    const partition = messages[0]?.partition ?? -1; // a batch is one partition's
    try {
      await scoreReadings(messages);
      failing.delete(partition);
    } catch (e) {
      const was = failing.get(partition);
      failing.set(partition, { failures: (was?.failures ?? 0) + 1, since: was?.since ?? clock(), readings: messages.length, reason: (e as Error)?.message ?? String(e) });
      throw e;
    }
  }
  const failingPartitions = (): string[] => [...failing].filter(([, f]) => f.failures >= 3).map(([partition, f]) =>
    `${config.topics.readings}[${partition}]: a batch of ${f.readings} reading(s) failed ${f.failures} times in a row since ${new Date(f.since).toISOString()} (redelivered each time; the partition's later readings wait): ${f.reason}`);

  async function scoreReadings(messages: readonly BusMessage[]): Promise<void> {
    const byDevice = new Map<string, { partition: number; readings: IncomingReading[] }>();
    for (const m of messages) {
      if (m.value.length > MAX_READING_BYTES) {
        await deadLetter(bus, service, {
          reason: `reading of ${m.value.length} bytes: a trainer takes readings of at most ${MAX_READING_BYTES} bytes`,
          topic: m.topic, partition: m.partition, offset: m.offset, key: m.key, raw: m.value, deadLetterTopic: config.topics.deadLetters,
        });
        counts.deadLettered++;
        continue;
      }
      const r = await decodeOrDeadLetter(bus, service, SensorReading, m, config.topics.deadLetters);
      if (!r) { counts.deadLettered++; continue; }
      const outOfRange = featureRangeProblem(r.features);
      if (outOfRange) {
        await deadLetter(bus, service, { reason: `reading ${r.readingId}: ${outOfRange}`, topic: m.topic, partition: m.partition, offset: m.offset, key: m.key, raw: m.value, deadLetterTopic: config.topics.deadLetters });
        counts.deadLettered++;
        continue;
      }
      counts.readings++;
      const entry = byDevice.get(r.deviceId) ?? { partition: m.partition, readings: [] };
      entry.readings.push({ readingId: r.readingId, ts: r.ts, partition: m.partition, offset: m.offset, features: r.features, label: typeof r.label === 'number' ? r.label : null });
      byDevice.set(r.deviceId, entry);
    }
    await Promise.all([...byDevice].map(([id, e]) => device(id, e.partition).ask({ type: 'ScoreBatch', readings: e.readings, modelScores: null, now: clock() }, 300_000)));
    counts.batches++;
    registry.update(ingestPath, { status: 'running' }, { ...counts, devices: devices.size });
  }

  function handleGlobal(m: BusMessage): void {
    const d = decodeJson(GlobalTopicMessage, m.value);
    if (isLeft(d)) { log.warn(`ignoring a message on ${m.topic} at ${m.partition}/${m.offset}: ${d.left}`); return; }
    const msg = d.right;
    const model = msg.kind === 'global-model' ? msg : msg.model;
    if (!sameLayers(model.weights.layers, config.model.layers)) {
      const was = misfit;
      misfit = `global model v${model.version} ignored: its layers (${layersText(model.weights.layers)}) do not match this trainer's MODEL_SPEC (${layersText(config.model.layers)}); the aggregator and the trainers must share MODEL_SPEC`;
      if (was === null) log.error(misfit); else log.debug(misfit);
      return;
    }
    if (misfit !== null) log.info(`global model v${model.version} fits MODEL_SPEC again`);
    misfit = null;
    if (msg.kind === 'global-model') {
      if (latestModel && msg.version <= latestModel.version) return;
      latestModel = msg;
      counts.globalModels++;
    } else {
      if (latestNotice && msg.round <= latestNotice.round) return;
      latestNotice = msg;
      counts.rounds++;
    }
    for (const [id, { actor }] of devices) applyTo(id, actor);
    registry.update(ingestPath, {}, { ...counts, devices: devices.size });
  }

  /**
   * Every journaled device of this process's partitions that is not live here, recovered from the journal at
   * once (run when partitions are added) rather than at its next reading: a device that has sent nothing since
   * its partition moved here still shows in /devices and follows the global models. Its partition is where our
   * producer's key (the device id) hashes to, with the partition count read from the broker; the assignment is
   * read when each actor starts, so a rebalance that came meanwhile is respected.
   */
  let mine = new Set<number>();
  let adopting: Promise<void> = Promise.resolve();
  async function adoptDevices(): Promise<void> {
    const count = await bus.partitionCount(config.topics.readings);
    if (count === null) return;
    const prefix = deviceKeyPrefix(service);
    let adopted = 0;
    for (const key of await journal.keys(prefix)) {
      const id = key.slice(prefix.length);
      const partition = partitionForKey(id, count);
      if (devices.has(id) || !mine.has(partition)) continue;
      device(id, partition);
      adopted++;
    }
    if (adopted > 0) {
      log.info(`${adopted} device actor(s) of partitions [${[...mine].sort((a, b) => a - b).join(', ')}] recovered from the journal`);
      registry.update(ingestPath, {}, { ...counts, devices: devices.size });
    }
  }

  let readingsSub: Subscription | undefined;
  let globalSub: Subscription | undefined;
  const ready = (async () => {
    globalSub = await bus.subscribe({
      groupId: `${config.topicPrefix}flead-trainer-global-${instance}`,
      topics: [config.topics.globalModels],
      fromBeginning: true,
      eachBatch: async (ms) => { for (const m of ms) handleGlobal(m); },
    });
    readingsSub = await bus.subscribe({
      groupId: `${config.topicPrefix}flead-trainer`,
      topics: [config.topics.readings],
      fromBeginning: true,
      eachBatch: handleReadings,
      onAssignment: (assigned) => {
        const before = mine;
        mine = new Set(assigned.filter((a) => a.topic === config.topics.readings).map((a) => a.partition));
        for (const [id, d] of devices) {
          if (!mine.has(d.partition)) { stopActor(d.actor.ref); registry.remove(d.actor.path); devices.delete(id); weightsMisfits.delete(id); }
        }
        for (const partition of failing.keys()) if (!mine.has(partition)) failing.delete(partition); // another member's now
        log.info(`partitions of ${config.topics.readings}: [${[...mine].sort((a, b) => a - b).join(', ')}]; ${devices.size} device actors kept`);
        if ([...mine].some((p) => !before.has(p))) {
          adopting = adopting.then(adoptDevices).catch((e: unknown) => log.warn(`recovering the devices of new partitions at once failed (${e instanceof Error ? e.message : String(e)}); they recover at their next reading`));
        }
      },
    });
    registry.update(ingestPath, { status: 'running' }, { ...counts, devices: devices.size });
  })();

  /** a device's summary with its actor status: 'recovering' means the state shown is not loaded yet */
  const state = (id: string) => {
    const entry = registry.get(devices.get(id)?.actor.path ?? '');
    return entry && { status: entry.info.status, ...(entry.state as ReturnType<typeof import('./device.state').deviceSummary>) };
  };
  /**
   * Devices whose readings carry another number of features than the model takes: only the z-score baseline
   * scores them (a problem on /health, one line per feature count).
   */
  const unfitDevices = (): string[] => {
    const inputs = config.model.layers[0]?.shape[0] ?? 0;
    const byCount = new Map<number, string[]>();
    for (const id of [...devices.keys()].sort()) {
      const n = state(id)?.featureNames?.length;
      if (n !== undefined && n !== inputs) byCount.set(n, [...(byCount.get(n) ?? []), id]);
    }
    return [...byCount].map(([n, ids]) => `${zscoreOnly(ids)}: their readings carry ${n} features, the model takes ${inputs}; set MODEL_SPEC ("inputs": ${n}) on the aggregator and every trainer, or MODEL_FEATURES to the ${inputs} features to use (${firstFew(ids)})`);
  };
  /** Devices that hold weights of another MODEL_SPEC: one problem line, naming the first few and one device's reason. */
  const misfitWeights = (): string[] => {
    const ids = [...weightsMisfits.keys()].sort();
    return ids.length ? [`${zscoreOnly(ids)}: ${firstFew(ids)}: ${ids[0]}: ${weightsMisfits.get(ids[0]!)}`] : [];
  };
  /** This process's intake since it started, and the journaled counters of the device actors it runs now. */
  const metrics = (): Sample[] => {
    const sum = { seen: 0, zscore: 0, model: 0, trainings: 0, updatesSent: 0, duplicates: 0 };
    for (const d of devices.values()) {
      const s = registry.get(d.actor.path)?.state as { seen?: number; counters?: DeviceState['counters'] } | null | undefined;
      if (!s?.counters) continue;
      sum.seen += s.seen ?? 0;
      sum.zscore += s.counters.zscoreAnomalies;
      sum.model += s.counters.modelAnomalies;
      sum.trainings += s.counters.trainings;
      sum.updatesSent += s.counters.updatesSent;
      sum.duplicates += s.counters.duplicates;
    }
    const device = 'summed over the device actors this process runs now (journaled: earlier runs included; a device that moves to another trainer takes its counts along)';
    return [
      { name: 'flead_trainer_readings_total', help: 'Readings this process took in since it started.', type: 'counter', value: counts.readings },
      { name: 'flead_trainer_dead_letters_total', help: 'Readings this process sent to the dead-letter topic since it started.', type: 'counter', value: counts.deadLettered },
      { name: 'flead_trainer_global_models_total', help: 'Global models this process received since it started.', type: 'counter', value: counts.globalModels },
      { name: 'flead_trainer_devices', help: 'Device actors in this process.', type: 'gauge', value: devices.size },
      { name: 'flead_trainer_device_readings_scored', help: `Readings scored, ${device}.`, type: 'gauge', value: sum.seen },
      ...family('flead_trainer_device_anomalies', `Anomalies emitted by detector, ${device}.`, 'gauge', [
        { labels: { detector: 'zscore' }, value: sum.zscore },
        { labels: { detector: config.model.spec.kind }, value: sum.model },
      ]),
      { name: 'flead_trainer_device_trainings', help: `Local trainings, ${device}.`, type: 'gauge', value: sum.trainings },
      { name: 'flead_trainer_device_updates_sent', help: `Local model updates sent, ${device}.`, type: 'gauge', value: sum.updatesSent },
      { name: 'flead_trainer_device_duplicate_readings', help: `Readings seen again (redelivered) and skipped, ${device}.`, type: 'gauge', value: sum.duplicates },
    ];
  };
  const routes: InspectionRoute[] = [
    { pattern: '/health', handler: () => {
      const bad = registry.list().filter((a) => a.status === 'crashed' || a.status === 'stopped');
      const problems = [...bad.map((a) => `${a.path} is ${a.status}`), ...(misfit === null ? [] : [misfit]), ...unfitDevices(), ...misfitWeights(), ...failingPartitions()];
      return { status: problems.length ? 'degraded' : 'ok', service, instance, profile: config.profile, journal: journal.describe, bus: bus.describe, tf: { backend: runtime.backend, simd: runtime.simd, threads: runtime.threads }, devices: devices.size, latestGlobalVersion: latestModel?.version ?? latestNotice?.baseVersion ?? null, latestRound: latestNotice?.round ?? null, problems };
    } },
    ...actorRoutes(registry, supervisionLog, () => metrics()),
    { pattern: '/devices', handler: () => [...devices.keys()].sort().map((id) => state(id)) },
    { pattern: '/devices/:id', handler: (p) => state(p.id!), notFound: (p) => `no device ${p.id} in this trainer process` },
  ];

  return {
    registry,
    routes,
    ready,
    devices: () => [...devices.keys()].sort(),
    metrics,
    async stop() {
      await ready.catch(() => undefined);
      await readingsSub?.stop();
      await globalSub?.stop();
      await adopting; // after the subscription: no assignment can start another adoption now
      await stopWhenIdle([...devices.values()].map((d) => d.actor.ref));
      pool.dispose();
    },
  };
}

export type { DeviceState };
