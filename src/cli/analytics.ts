/**
 * `flead analytics`: batch jobs over the database (the seed's Spark role).
 *
 *   flead analytics                   the service: every job at start, then every ANALYTICS_INTERVAL_MS,
 *                                     with the inspection endpoint (/health /actors /jobs)
 *   flead analytics run <job|all>     run once, print a small table per job, exit
 *
 * Jobs: anomaly-rates, trends, model-evaluation. Results go to the analytics_* tables (created when missing,
 * see src/infra/db/analytics-store.ts) and, unless --no-publish, one message per job run to analytics-results.
 * Exit codes (run): 0 every job succeeded (an empty database gives empty results), 1 a job failed, PostgreSQL
 * cannot be reached, or a message could not be published, 2 bad arguments or configuration.
 */
import { isLeft } from 'fp-ts/Either';
import type { CommandSpec } from './args';
import type { Config } from '../config';
import { createLogger, type Logger } from '../infra/log';
import { dbTarget, openDb } from '../infra/db/open';
import { createAnalyticsStore, ensureAnalyticsSchema, type AnalyticsStore } from '../infra/db/analytics-store';
import type { Bus } from '../infra/bus/port';
import { ensureTopicsWarned } from '../infra/bus/ensure-topics';
import { dataTopics } from '../protocols/topics';
import { createKafkaBus } from '../infra/bus/kafka-bus';
import { openEmbeddedBus } from '../infra/profile';
import { startInspectionServer } from '../infra/http/inspection-server';
import { analyticsDefaults, analyticsJobs, selectJobs, sinceFor, type AnalyticsSettings } from '../actors/analytics/settings';
import { runJob, type JobRun } from '../actors/analytics/runner';
import type { AnalyticsJob } from '../actors/analytics/job';
import { startAnalytics } from '../actors/analytics/service';
import { Starting } from './starting';
import { stopWithin, untilSignal } from './signals';

const jobList = `${analyticsJobs.map((j) => j.name).join(', ')} or all`;

export const analyticsSpec: CommandSpec = {
  name: 'flead analytics',
  summary: `Batch analytics over the database: anomaly rates per device, hour and attack type; hour-over-hour trends and the top-N devices; model evaluation per global version against the labels (precision, recall, F1, ROC-AUC). Results go to the analytics_* tables and to analytics-results. Without arguments: a service that runs every job every ANALYTICS_INTERVAL_MS, with the inspection endpoint (/health /actors /jobs). "run <job>": run ${jobList} once and exit. Database and bus: PG* and KAFKA_BROKERS (local), or the embedded database and bus under FLEAD_DATA_DIR (FLEAD_PROFILE=embedded, after npm start).`,
  options: [
    { name: 'interval-ms', type: 'int', default: analyticsDefaults.intervalMs, env: 'ANALYTICS_INTERVAL_MS', description: 'service: time between the end of one round of jobs and the start of the next' },
    { name: 'top-n', type: 'int', default: analyticsDefaults.topN, env: 'ANALYTICS_TOP_N', description: 'devices ranked by the trends job' },
    { name: 'lookback-hours', type: 'int', default: analyticsDefaults.lookbackHours, env: 'ANALYTICS_LOOKBACK_HOURS', description: 'only readings of the last H hours (reading time against the clock); 0 = all history' },
    { name: 'keep-runs', type: 'int', default: analyticsDefaults.keepRuns, env: 'ANALYTICS_KEEP_RUNS', description: 'runs kept per job in the result tables (at least 1)' },
    { name: 'publish', type: 'boolean', default: analyticsDefaults.publish, env: 'ANALYTICS_PUBLISH', description: 'publish one analytics-results message per job run (--no-publish: tables only)' },
    { name: 'profile', type: 'string', choices: ['local', 'embedded'], env: 'FLEAD_PROFILE', description: 'database and bus: PostgreSQL + Kafka (local) or the embedded ones under FLEAD_DATA_DIR (embedded)' },
    { name: 'inspect-port', type: 'int', env: 'INSPECT_PORT', description: 'service: port of the inspection endpoint (0 = ephemeral)' },
  ],
  positionals: [
    { name: 'action', description: '"run" to run once and exit; absent = the service' },
    { name: 'job', description: `with run: ${jobList}` },
  ],
};

/** Settings from the parsed options; Left-style: a sentence, or the settings. */
export function analyticsSettings(values: Record<string, unknown>): AnalyticsSettings | string {
  const s: AnalyticsSettings = {
    intervalMs: Number(values['interval-ms'] ?? analyticsDefaults.intervalMs),
    topN: Number(values['top-n'] ?? analyticsDefaults.topN),
    lookbackHours: Number(values['lookback-hours'] ?? analyticsDefaults.lookbackHours),
    keepRuns: Number(values['keep-runs'] ?? analyticsDefaults.keepRuns),
    publish: values.publish === undefined ? analyticsDefaults.publish : values.publish === true,
  };
  if (s.intervalMs < 1000) return `ANALYTICS_INTERVAL_MS (--interval-ms) must be at least 1000 ms, got ${s.intervalMs}: the jobs read whole tables`;
  if (s.keepRuns < 1) return `ANALYTICS_KEEP_RUNS (--keep-runs) must be at least 1, got ${s.keepRuns}: the latest run's rows must stay`;
  return s;
}

export async function runAnalytics(values: Record<string, unknown>, config: Config, positionals: string[], env: Record<string, string | undefined> = process.env): Promise<number> {
  const [action, jobName, ...extra] = positionals;
  const fail = (s: string): number => { process.stderr.write(`flead analytics: ${s}\n`); return 2; };
  if (action !== undefined && action !== 'run') return fail(`unknown action "${action}"; use "flead analytics" (the service) or "flead analytics run <job>" with job ${jobList}`);
  if (action === 'run' && jobName === undefined) return fail(`run needs a job: ${jobList}`);
  if (extra.length) return fail(`unexpected argument(s) ${extra.join(' ')}`);
  const jobs = action === 'run' ? selectJobs(jobName!) : [...analyticsJobs];
  if (!jobs) return fail(`unknown job "${jobName}"; jobs are ${jobList}`);
  const settings = analyticsSettings(values);
  if (typeof settings === 'string') return fail(`configuration error: ${settings}`);
  const target = dbTarget(config, env);
  if (isLeft(target)) return fail(`configuration error: ${target.left}`);

  const log = createLogger('analytics', config.logLevel);
  let store: AnalyticsStore;
  try {
    store = createAnalyticsStore(await openDb(target.right, { max: 2, log, onIdleError: (e) => log.warn(`idle PostgreSQL connection failed: ${e.message}`) }));
  } catch (e) {
    process.stderr.write(`flead analytics: ${(e as Error).message}\n`);
    return 1;
  }
  const bus = settings.publish ? openBus(config, log) : null;
  try {
    if (bus) await ensureTopicsWarned(bus, dataTopics(config.topics, config.readingsPartitions, ['analytics']), log);
    if (action === 'run') return await runOnce(jobs, settings, store, bus, config, log);
    return await serve(settings, store, bus, config, log);
  } catch (e) {
    process.stderr.write(`flead analytics: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  } finally {
    await bus?.close().catch(() => undefined);
    await store.close().catch(() => undefined);
  }
}

function openBus(config: Config, log: Logger): Bus {
  return config.profile === 'embedded'
    ? openEmbeddedBus(config)
    : createKafkaBus({ brokers: config.kafkaBrokers, clientId: 'flead-analytics', log: (l) => log.warn(l) });
}

async function runOnce(jobs: readonly AnalyticsJob[], settings: AnalyticsSettings, store: AnalyticsStore, bus: Bus | null, config: Config, log: Logger): Promise<number> {
  await ensureAnalyticsSchema(store);
  const params = { since: sinceFor(Date.now(), settings.lookbackHours), topN: settings.topN };
  const runs: JobRun[] = [];
  for (const job of jobs) runs.push(await runJob(job, params, { store, bus, topic: config.topics.analytics, log: log.child(job.name), keepRuns: settings.keepRuns }));
  process.stdout.write(renderRuns(runs));
  const bad = runs.filter((r) => r.status === 'failed' || r.publishError);
  for (const r of bad) process.stderr.write(`flead analytics: ${r.job}: ${r.error ?? r.publishError}\n`);
  return bad.length ? 1 : 0;
}

async function serve(settings: AnalyticsSettings, store: AnalyticsStore, bus: Bus | null, config: Config, log: Logger): Promise<number> {
  // a database that is not up yet is not fatal: every round retries (creating the tables first), and /health says why it failed
  await ensureAnalyticsSchema(store).catch((e: Error) => log.warn(`cannot create the analytics tables yet: ${e.message}`));
  const start = new Starting();
  const svc = startAnalytics({ store: creatingTablesFirst(store), bus, topic: config.topics.analytics, jobs: analyticsJobs, settings, log });
  start.onStop(() => svc.stop());
  const http = await start.step(startInspectionServer({ host: config.inspect.host, port: config.inspect.port, routes: svc.routes, log }), (h) => h.close());
  log.info(`inspection endpoint ${http.url} (GET /health /metrics /actors /jobs); database ${store.describe}; ${bus ? `publishing to ${config.topics.analytics} on ${bus.describe}` : 'not publishing (--no-publish)'}; every ${settings.intervalMs} ms`);
  const signal = await untilSignal();
  log.info(`${signal}: stopping after the current job`);
  await stopWithin(log, () => start.stopAll());
  return 0;
}

/** The store, whose first successful query is preceded by `ensureAnalyticsSchema` (retried until it succeeds). */
function creatingTablesFirst(store: AnalyticsStore): AnalyticsStore {
  let ready = false;
  return {
    ...store,
    async query(sql, params) {
      if (!ready) {
        await ensureAnalyticsSchema(store);
        ready = true;
      }
      return store.query(sql, params);
    },
  };
}

const fmt = (v: unknown): string => (v === null || v === undefined ? '-' : v instanceof Date ? v.toISOString().replace(':00.000Z', 'Z') : typeof v === 'number' && !Number.isInteger(v) ? v.toFixed(4) : String(v));

/** Per job: a status line, then up to `maxRows` rows of each table as aligned columns. */
export function renderRuns(runs: readonly JobRun[], maxRows = 10): string {
  const out: string[] = [];
  for (const r of runs) {
    const counts = Object.entries(r.tables).map(([t, n]) => `${t}: ${n}`).join(', ');
    out.push(`${r.job} (${r.runId}): ${r.status}${r.error ? ` (${r.error})` : ''}, ${r.rows} row(s) [${counts}], ${r.durationMs} ms${r.published ? ', published' : ''}`);
    for (const t of r.output) {
      if (!t.rows.length) continue;
      const cols = Object.keys(t.rows[0]!);
      const shown = t.rows.slice(0, maxRows).map((row) => cols.map((c) => fmt(row[c])));
      const widths = cols.map((c, i) => Math.max(c.length, ...shown.map((s) => s[i]!.length)));
      const line = (cells: string[]) => `  ${cells.map((c, i) => c.padEnd(widths[i]!)).join('  ')}`.trimEnd();
      out.push(`  ${t.table}`, line(cols), ...shown.map(line));
      if (t.rows.length > maxRows) out.push(`  … ${t.rows.length - maxRows} more in ${t.table}`);
    }
  }
  return `${out.join('\n')}\n`;
}
