/**
 * Runs one analytics job: read (the job), write its rows and its run record in one transaction (the store),
 * then publish one `analytics-results` message (key = job name), also for a failed run. The clock and the
 * run id generator come in as parameters.
 *
 * Outcome: `status: 'failed'` with `error` when the job's query or the write failed (nothing of the run is in
 * the result tables; a failed run record is written when the database still answers). Publishing is best
 * effort after the commit: a publish failure is reported in `publishError` and does not undo the rows.
 */
import { randomBytes } from 'node:crypto';
import type { Bus } from '../../infra/bus/port';
import type { AnalyticsStore, TableRows } from '../../infra/db/analytics-store';
import type { Logger } from '../../infra/log';
import { AnalyticsResult, type AnalyticsJobName } from '../../protocols/analytics';
import { encodeJson } from '../../protocols/codec';
import type { AnalyticsJob, JobParams } from './job';

export interface JobRun {
  runId: string;
  job: AnalyticsJobName;
  status: 'ok' | 'failed';
  startedAt: number;
  durationMs: number;
  /** result rows written */
  rows: number;
  /** rows per table */
  tables: Record<string, number>;
  error: string | null;
  /** null: published, or publishing is off (see `published`) */
  publishError: string | null;
  published: boolean;
  message: AnalyticsResult;
  /** the rows themselves, for the CLI's table and tests (not kept by the service) */
  output: TableRows[];
}

export interface RunnerDeps {
  store: AnalyticsStore;
  /** null: do not publish */
  bus: Bus | null;
  topic: string;
  log: Logger;
  keepRuns: number;
  clock?: () => number;
  newRunId?: (job: string, startedAt: number) => string;
}

/** "trends-20240610T061500Z-3fa9c1" */
export const defaultRunId = (job: string, startedAt: number): string =>
  `${job}-${new Date(startedAt).toISOString().replace(/[-:]|\.\d+/g, '')}-${randomBytes(3).toString('hex')}`;

const sentence = (e: unknown): string => (e instanceof Error ? e.message : String(e));

export async function runJob(job: AnalyticsJob, params: JobParams, deps: RunnerDeps): Promise<JobRun> {
  const clock = deps.clock ?? Date.now;
  const startedAt = clock();
  const runId = (deps.newRunId ?? defaultRunId)(job.name, startedAt);
  const recordParams = { since: params.since?.toISOString() ?? null, topN: params.topN };
  let output: TableRows[] = [];
  let summary: AnalyticsResult['summary'] = null;
  let error: string | null = null;
  try {
    const out = await job.run(deps.store, params);
    output = out.tables;
    summary = out.summary;
    const rows = output.reduce((n, t) => n + t.rows.length, 0);
    await deps.store.writeRun({ runId, job: job.name, startedAt, finishedAt: clock(), rows, status: 'ok', error: null, params: recordParams }, output, deps.keepRuns);
  } catch (e) {
    error = sentence(e);
    output = [];
    summary = null;
    await deps.store
      .writeRun({ runId, job: job.name, startedAt, finishedAt: clock(), rows: 0, status: 'failed', error, params: recordParams }, [], deps.keepRuns)
      .catch((w: unknown) => deps.log.warn(`run ${runId}: could not record the failed run: ${sentence(w)}`));
  }
  const durationMs = Math.max(0, clock() - startedAt);
  const tables = Object.fromEntries(job.tables.map((t) => [t, output.find((o) => o.table === t)?.rows.length ?? 0]));
  const rows = output.reduce((n, t) => n + t.rows.length, 0);
  const message: AnalyticsResult = {
    kind: 'analytics-result', runId, job: job.name, status: error ? 'failed' : 'ok', startedAt, durationMs, rows,
    tables: [...job.tables], error, summary,
  };
  let publishError: string | null = null;
  if (deps.bus) {
    try {
      await deps.bus.publish(deps.topic, [{ key: job.name, value: encodeJson(AnalyticsResult, message) }]);
    } catch (e) {
      publishError = `publishing to ${deps.topic} failed: ${sentence(e)}`;
    }
  }
  const counts = Object.entries(tables).map(([t, n]) => `${n} in ${t}`).join(', ');
  if (error) deps.log.error(`run ${runId}: failed after ${durationMs} ms: ${error}`);
  else deps.log.info(`run ${runId}: ${rows} row(s) (${counts}) in ${durationMs} ms`);
  if (publishError) deps.log.warn(`run ${runId}: ${publishError}`);
  return { runId, job: job.name, status: message.status, startedAt, durationMs, rows, tables, error, publishError, published: deps.bus !== null && publishError === null, message, output };
}
