/**
 * The analytics service (`flead analytics`): runs every job once at start, then again `intervalMs` after the
 * previous round of jobs ended (rounds never overlap; a slow round delays the next). A failed job is logged,
 * shown on /jobs and /health, and retried at the next round; it never stops the service.
 *
 * Jobs keep no state of their own (their results are in the database), so there is nothing to journal or
 * replay: the service is a scheduler plus one registry entry per job for /actors ("analytics/<job>").
 *
 * Inspection routes: /health, /actors, /actors/*path, /jobs (last run per job: run id, status, rows per table,
 * duration, error; plus the number of runs and failures since start), /jobs/:job.
 */
import { family, type Sample } from '../../infra/http/metrics';
import { actorRoutes } from '../runtime/service-runtime';
import type { Bus } from '../../infra/bus/port';
import type { AnalyticsStore } from '../../infra/db/analytics-store';
import type { InspectionRoute } from '../../infra/http/inspection-server';
import type { Logger } from '../../infra/log';
import { ActorRegistry } from '../runtime/registry';
import type { AnalyticsJob } from './job';
import { runJob, type JobRun } from './runner';
import { sinceFor, type AnalyticsSettings } from './settings';

export interface JobView {
  job: string;
  runs: number;
  failures: number;
  lastRun: Omit<JobRun, 'output' | 'message'> | null;
}

export interface AnalyticsService {
  registry: ActorRegistry;
  routes: InspectionRoute[];
  jobs(): JobView[];
  /** this service's own counters for /metrics (the process and actor metrics are added by the route) */
  metrics(): Sample[];
  /** resolves when the current round (if any) has ended; no round starts afterwards */
  stop(): Promise<void>;
  /** resolves after the first round of jobs ended */
  firstRound: Promise<void>;
}

export interface AnalyticsDeps {
  store: AnalyticsStore;
  bus: Bus | null;
  topic: string;
  jobs: readonly AnalyticsJob[];
  settings: AnalyticsSettings;
  log: Logger;
  clock?: () => number;
  service?: string;
}

export function startAnalytics(deps: AnalyticsDeps): AnalyticsService {
  const service = deps.service ?? 'analytics';
  const clock = deps.clock ?? Date.now;
  const registry = new ActorRegistry();
  const views = new Map<string, JobView>(deps.jobs.map((j) => [j.name, { job: j.name, runs: 0, failures: 0, lastRun: null }]));
  for (const j of deps.jobs) registry.register(`${service}/${j.name}`, 'analytics-job', null);
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let current: Promise<void> = Promise.resolve();
  let rounds = 0;
  let nextRunAt: number | null = null;

  async function round(): Promise<void> {
    rounds++;
    const now = clock();
    const params = { since: sinceFor(now, deps.settings.lookbackHours), topN: deps.settings.topN };
    let failed = 0;
    for (const job of deps.jobs) {
      if (stopped) break;
      const path = `${service}/${job.name}`;
      const run = await runJob(job, params, { store: deps.store, bus: deps.bus, topic: deps.topic, log: deps.log.child(job.name), keepRuns: deps.settings.keepRuns, clock });
      const { output: _o, message: _m, ...lastRun } = run;
      const v = views.get(job.name)!;
      v.runs++;
      if (run.status === 'failed') { v.failures++; failed++; }
      v.lastRun = lastRun;
      if (run.status === 'failed') registry.crashed(path, run.error ?? 'failed');
      else registry.update(path, { status: 'running' }, { lastRunId: run.runId, rows: run.tables, durationMs: run.durationMs });
    }
    deps.log.info(`round ${rounds}: ${deps.jobs.length - failed} of ${deps.jobs.length} job(s) ok${failed ? `, ${failed} failed` : ''}; next in ${deps.settings.intervalMs} ms`);
  }

  function schedule(): void {
    if (stopped) return;
    nextRunAt = clock() + deps.settings.intervalMs;
    timer = setTimeout(() => {
      nextRunAt = null;
      current = round().catch((e: unknown) => deps.log.error(`round ${rounds}: ${(e as Error).message}`)).then(schedule);
    }, deps.settings.intervalMs);
  }

  const firstRound = round().catch((e: unknown) => deps.log.error(`round 1: ${(e as Error).message}`));
  current = firstRound.then(schedule);

  const jobs = (): JobView[] => [...views.values()].map((v) => ({ ...v }));
  function health() {
    const list = jobs();
    const failing = list.filter((v) => v.lastRun?.status === 'failed');
    const unpublished = list.filter((v) => v.lastRun?.publishError);
    return {
      status: failing.length || unpublished.length ? 'degraded' : list.some((v) => v.lastRun === null) ? 'starting' : 'ok',
      service,
      database: deps.store.describe,
      bus: deps.bus?.describe ?? null,
      topic: deps.bus ? deps.topic : null,
      intervalMs: deps.settings.intervalMs,
      rounds,
      nextRunAt: nextRunAt === null ? null : new Date(nextRunAt).toISOString(),
      problems: [
        ...failing.map((v) => `${v.job}: last run failed: ${v.lastRun!.error}`),
        ...unpublished.map((v) => `${v.job}: ${v.lastRun!.publishError}`),
      ],
    };
  }

  const metrics = (): Sample[] => {
    const list = jobs();
    return [
      ...family('flead_analytics_runs_total', 'Job runs since this process started, by job and outcome.', 'counter', list.flatMap((v) => [
        { labels: { job: v.job, outcome: 'ok' }, value: v.runs - v.failures },
        { labels: { job: v.job, outcome: 'failed' }, value: v.failures },
      ])),
      ...family('flead_analytics_last_run_rows', 'Result rows of the last run, by job.', 'gauge', list.map((v) => ({ labels: { job: v.job }, value: v.lastRun?.rows ?? 0 }))),
      ...family('flead_analytics_last_run_seconds', 'Duration of the last run, by job.', 'gauge', list.map((v) => ({ labels: { job: v.job }, value: (v.lastRun?.durationMs ?? 0) / 1000 }))),
    ];
  };
  const routes: InspectionRoute[] = [
    { pattern: '/health', handler: () => health() },
    ...actorRoutes(registry, undefined, () => metrics()),
    { pattern: '/jobs', handler: () => jobs() },
    { pattern: '/jobs/:job', handler: (p) => jobs().find((v) => v.job === p.job), notFound: (p) => `no job ${p.job}; jobs are ${deps.jobs.map((j) => j.name).join(', ')}` },
  ];

  return {
    registry,
    routes,
    jobs,
    metrics,
    firstRound,
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await current.catch(() => undefined);
      if (timer) clearTimeout(timer);
      for (const j of deps.jobs) registry.stopped(`${service}/${j.name}`);
    },
  };
}
