/**
 * The sink service: one consumer group (SINK_CONSUMER) on edge-iiot-stream, anomalies, local-model-updates,
 * global-model-updates (and the journal topic for the aggregator's round events) writes every message's row to
 * PostgreSQL, one database transaction per partition batch together with the partition's position in
 * `sink_offsets` (see `src/infra/db/sink-store.ts`): exactly once into the database across crashes, lost Kafka
 * commits and rebalances. The Kafka offset is committed only after that transaction.
 *
 * Failures are inputs:
 * - undecodable or invalid message → dead-letter topic with the reason (published before the batch's
 *   transaction; a crash in between may publish the same dead letter again: dead letters are at-least-once);
 * - database unavailable (down, connections refused or terminated, schema missing) → the batch is retried with
 *   exponential backoff (SINK_BACKOFF_MIN_MS doubling up to SINK_BACKOFF_MAX_MS), /health says `degraded` with the
 *   reason, the Kafka offset stays uncommitted; when the database is back the sink catches up;
 * - rows the database refuses (data exception / integrity violation) → the batch is applied one message at a time
 *   and the refused message is dead-lettered with PostgreSQL's reason; the others are written.
 *
 * Routes: /health, /actors, /actors/*path, /sink (rows written per table, positions), /sink/rows (count(*) per table).
 */
import { family, type Sample } from '../../infra/http/metrics';
import { actorRoutes } from '../runtime/service-runtime';
import type { Bus, BusMessage, Subscription } from '../../infra/bus/port';
import { ensureTopicsWarned } from '../../infra/bus/ensure-topics';
import { deadLetter } from '../../infra/bus/dead-letter';
import { InfraError } from '../../infra/errors';
import type { InspectionRoute } from '../../infra/http/inspection-server';
import type { Logger } from '../../infra/log';
import type { ApplyResult, SinkBatch, SinkRow, SinkStore, SinkTable } from '../../infra/db/sink-store';
import type { Config } from '../../config';
import { ActorRegistry } from '../runtime/registry';
import { rowOf, sinkTopics } from './rows';
import { backoffDelay, type SinkSettings } from './settings';
import { dataTopics, loopTopics } from '../../protocols/topics';

export interface SinkDeps {
  config: Config;
  bus: Bus;
  store: SinkStore;
  settings: SinkSettings;
  log: Logger;
  /** service name in dead letters and actor paths (default "sink") */
  service?: string;
  /** extra fields of /health (journal in use, …) */
  describe?: Record<string, string>;
}

export interface SinkStats {
  /** messages handled (each counted once per delivery) */
  messages: number;
  /** rows inserted per table by this process */
  written: Record<SinkTable, number>;
  /** messages already applied by an earlier transaction (redelivered), not written again */
  skipped: number;
  /** messages with nothing to write (round notices, other journal keys) */
  ignored: number;
  deadLettered: number;
  batches: number;
  /** failed database attempts (each one retried after a backoff) */
  dbFailures: number;
  /** next offset per "topic/partition", as committed in sink_offsets */
  positions: Record<string, string>;
}

export interface SinkService {
  registry: ActorRegistry;
  routes: InspectionRoute[];
  /** resolves when the consumer has joined its group */
  ready: Promise<void>;
  stats(): SinkStats;
  /** 'starting' | 'ok' | 'degraded' with the problems */
  health(): { status: 'starting' | 'ok' | 'degraded'; problems: string[] };
  /** this service's own counters for /metrics (the process and actor metrics are added by the route) */
  metrics(): Sample[];
  stop(): Promise<void>;
}

class Stopping extends Error {
  constructor() { super('the sink is stopping: the batch stays uncommitted and is redelivered'); }
}

export async function startSink(deps: SinkDeps): Promise<SinkService> {
  const { config, bus, store, settings, log } = deps;
  const service = deps.service ?? 'sink';
  const topics = config.topics;
  const groupId = `${config.topicPrefix}${settings.consumer}`;
  const consumerPath = `${service}/consumer`;
  const registry = new ActorRegistry();
  registry.register(consumerPath, 'consumer', null);
  registry.update(consumerPath, { status: 'recovering' });

  const stats: SinkStats = {
    messages: 0, written: { readings: 0, anomalies: 0, local_updates: 0, global_models: 0, round_events: 0 },
    skipped: 0, ignored: 0, deadLettered: 0, batches: 0, dbFailures: 0, positions: {},
  };
  /** partition key → the current problem of its batch (present while it backs off) */
  const failing = new Map<string, { since: number; attempts: number; reason: string; retryInMs: number }>();
  let subscribed = false;
  let stopping = false;
  /** why the committed positions could not be read (the database unreachable or without its schema), until they can */
  let positionsProblem: { since: number; reason: string; attempts: number } | null = null;
  let positionsRetry: NodeJS.Timeout | undefined;
  const sleepers = new Set<() => void>();
  const publishStats = () => registry.update(consumerPath, {}, { groupId, consumer: settings.consumer, ...stats, failing: Object.fromEntries(failing) });

  const sleep = (ms: number) => new Promise<void>((resolve) => {
    const done = () => { clearTimeout(t); sleepers.delete(done); resolve(); };
    const t = setTimeout(done, ms);
    sleepers.add(done);
  });

  /** Run `fn` until it succeeds, backing off on retriable errors; other errors propagate. */
  async function withBackoff<T>(where: string, what: string, fn: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      if (stopping) throw new Stopping();
      try {
        const out = await fn();
        const was = failing.get(where);
        if (was) {
          failing.delete(where);
          log.info(`${where}: PostgreSQL answers again after ${was.attempts} failed attempt(s) in ${((Date.now() - was.since) / 1000).toFixed(1)} s; catching up`);
        }
        return out;
      } catch (e) {
        if (!(e instanceof InfraError && e.retriable)) throw e;
        stats.dbFailures++;
        const delay = backoffDelay(settings.backoff, attempt);
        const prev = failing.get(where);
        failing.set(where, { since: prev?.since ?? Date.now(), attempts: attempt, reason: e.message, retryInMs: delay });
        publishStats();
        const line = `${where}: ${what} failed (attempt ${attempt}): ${e.message}; not committed, retrying in ${delay} ms`;
        if (attempt === 1 || attempt % 10 === 0) log.warn(line); else log.debug(line);
        await sleep(delay);
      }
    }
  }

  const count = (r: ApplyResult, batchSize: number) => {
    for (const [t, n] of Object.entries(r.inserted) as Array<[SinkTable, number]>) stats.written[t] += n;
    stats.skipped += r.advanced ? r.skipped : batchSize;
  };

  async function letter(m: BusMessage, reason: string): Promise<void> {
    await deadLetter(bus, service, { reason, topic: m.topic, partition: m.partition, offset: m.offset, key: m.key, raw: m.value, deadLetterTopic: topics.deadLetters });
    stats.deadLettered++;
  }

  async function onBatch(messages: readonly BusMessage[]): Promise<void> {
    if (messages.length === 0) return;
    const { topic, partition } = messages[0]!;
    const where = `${topic}[${partition}]`;
    const key = `${topic}/${partition}`;
    const known = stats.positions[key] === undefined ? -1n : BigInt(stats.positions[key]!);
    const rows: Array<{ offset: bigint; row: SinkRow; message: BusMessage }> = [];
    for (const m of messages) {
      const out = rowOf(topics, m);
      const offset = BigInt(m.offset);
      if (out.kind === 'row') rows.push({ offset, row: out.row, message: m });
      else if (out.kind === 'none') stats.ignored++;
      else if (offset >= known) await letter(m, out.reason); // below `known`: applied (and dead-lettered) before
    }
    stats.messages += messages.length;
    const nextOffset = BigInt(messages[messages.length - 1]!.offset) + 1n;
    const batch: SinkBatch = { consumer: settings.consumer, topic, partition, rows, nextOffset };
    try {
      count(await withBackoff(where, `writing ${rows.length} row(s)`, () => store.apply(batch)), rows.length);
    } catch (e) {
      if (!(e instanceof InfraError && e.kind === 'corrupt')) throw e;
      log.warn(`${where}: PostgreSQL refused a row of the batch (${e.message}); applying its ${rows.length} row(s) one at a time`);
      await applyOneByOne(where, batch, rows);
    }
    stats.positions[key] = nextOffset.toString();
    stats.batches++;
    publishStats();
  }

  /** Each row in its own transaction; a refused one is dead-lettered with the database's reason and passed over. */
  async function applyOneByOne(where: string, batch: SinkBatch, rows: ReadonlyArray<{ offset: bigint; row: SinkRow; message: BusMessage }>): Promise<void> {
    for (const r of rows) {
      const one: SinkBatch = { ...batch, rows: [r], nextOffset: r.offset + 1n };
      try {
        count(await withBackoff(where, `writing the row at offset ${r.offset}`, () => store.apply(one)), 1);
      } catch (e) {
        if (!(e instanceof InfraError && e.kind === 'corrupt')) throw e;
        await letter(r.message, e.message);
        await withBackoff(where, `moving past offset ${r.offset}`, () => store.apply({ ...one, rows: [] }));
      }
    }
    count(await withBackoff(where, 'recording the batch position', () => store.apply({ ...batch, rows: [] })), 0);
  }

  /**
   * The database's positions (for inspection and to avoid re-dead-lettering applied messages); best effort. A
   * failure is also the first sign of a database that is away while no message comes: /health says so, and the
   * read is tried again with the batches' backoff until it succeeds.
   */
  async function loadPositions(): Promise<void> {
    clearTimeout(positionsRetry);
    try {
      for (const p of await store.offsets(settings.consumer)) {
        const k = `${p.topic}/${p.partition}`;
        const cur = stats.positions[k];
        if (cur === undefined || BigInt(cur) < p.nextOffset) stats.positions[k] = p.nextOffset.toString();
      }
      if (positionsProblem) log.info(`PostgreSQL answers again: read the committed positions of ${settings.consumer} after ${positionsProblem.attempts} failed attempt(s)`);
      positionsProblem = null;
      publishStats();
    } catch (e) {
      const attempts = (positionsProblem?.attempts ?? 0) + 1;
      const line = `cannot read the committed positions of ${settings.consumer} from sink_offsets yet (attempt ${attempts}): ${(e as Error).message}`;
      if (attempts === 1 || attempts % 10 === 0) log.warn(line); else log.debug(line);
      positionsProblem = { since: positionsProblem?.since ?? Date.now(), reason: (e as Error).message, attempts };
      if (!stopping) positionsRetry = setTimeout(() => void loadPositions(), backoffDelay(settings.backoff, attempts));
    }
  }

  let subscription: Subscription | undefined;
  const wanted = sinkTopics(topics, settings.roundEvents);
  const ready = (async () => {
    await ensureTopicsWarned(bus, dataTopics(topics, config.readingsPartitions, loopTopics), log);
    await loadPositions();
    subscription = await bus.subscribe({
      groupId,
      topics: wanted,
      fromBeginning: true,
      eachBatch: onBatch,
      onAssignment: (assigned) => {
        log.info(`group ${groupId}: assigned ${assigned.length} partition(s): ${assigned.map((a) => `${a.topic}[${a.partition}]`).join(', ') || 'none'}`);
        void loadPositions();
      },
    });
    subscribed = true;
    registry.update(consumerPath, { status: 'running' });
    publishStats();
    log.info(`group ${groupId} reads ${wanted.join(', ')} into ${store.describe}`);
  })();

  function health() {
    const problems = [...failing.entries()].map(([where, f]) =>
      `${where}: PostgreSQL unavailable for ${((Date.now() - f.since) / 1000).toFixed(1)} s (${f.attempts} attempt(s), next in ${f.retryInMs} ms): ${f.reason}`);
    if (positionsProblem) problems.push(`positions: PostgreSQL unavailable for ${((Date.now() - positionsProblem.since) / 1000).toFixed(1)} s (${positionsProblem.attempts} attempt(s)): ${positionsProblem.reason}`);
    const status: 'starting' | 'ok' | 'degraded' = problems.length ? 'degraded' : subscribed ? 'ok' : 'starting';
    return { status, problems };
  }

  const metrics = (): Sample[] => [
    { name: 'flead_sink_messages_total', help: 'Messages this process handled since it started (each delivery counted).', type: 'counter', value: stats.messages },
    ...family('flead_sink_rows_written_total', 'Rows this process inserted since it started, by table.', 'counter', Object.entries(stats.written).map(([table, value]) => ({ labels: { table }, value }))),
    { name: 'flead_sink_skipped_total', help: 'Messages already applied by an earlier transaction (redelivered), not written again.', type: 'counter', value: stats.skipped },
    { name: 'flead_sink_dead_letters_total', help: 'Messages sent to the dead-letter topic (undecodable, or rows the database refused).', type: 'counter', value: stats.deadLettered },
    { name: 'flead_sink_transactions_total', help: 'Database transactions (one per partition batch).', type: 'counter', value: stats.batches },
    { name: 'flead_sink_database_failures_total', help: 'Failed database attempts, each retried after a backoff.', type: 'counter', value: stats.dbFailures },
  ];
  const routes: InspectionRoute[] = [
    { pattern: '/health', handler: () => ({ ...health(), service, profile: config.profile, bus: bus.describe, database: store.describe, consumer: settings.consumer, groupId, ...deps.describe }) },
    ...actorRoutes(registry, undefined, () => metrics()),
    { pattern: '/sink', handler: () => ({ consumer: settings.consumer, groupId, topics: wanted, database: store.describe, ...health(), ...stats, lag: null, lagNote: 'lag is not measured: the bus port has no high-watermark query' }) },
    { pattern: '/sink/rows', handler: () => store.countRows() },
  ];

  return {
    registry,
    routes,
    ready,
    metrics,
    stats: () => ({ ...stats, written: { ...stats.written }, positions: { ...stats.positions } }),
    health,
    async stop() {
      stopping = true;
      clearTimeout(positionsRetry);
      for (const wake of [...sleepers]) wake();
      await ready.catch(() => undefined);
      await subscription?.stop();
      registry.stopped(consumerPath);
    },
  };
}
