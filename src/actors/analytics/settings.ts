/**
 * Settings of the analytics service, with every default in one object (`analyticsDefaults`, the values of
 * the ANALYTICS_* environment variables when unset; README's configuration table lists them). The CLI
 * decodes them once at start-up (`flead analytics` options read these variables).
 */
import { anomalyRatesJob } from './anomaly-rates';
import { modelEvaluationJob } from './model-evaluation';
import { trendsJob } from './trends';
import type { AnalyticsJob } from './job';
import { analyticsJobNames, type AnalyticsJobName } from '../../protocols/analytics';

export const analyticsDefaults = {
  /** ANALYTICS_INTERVAL_MS: time between the end of one scheduled run of all jobs and the start of the next */
  intervalMs: 300_000,
  /** ANALYTICS_TOP_N: devices ranked by the trends job */
  topN: 10,
  /** ANALYTICS_LOOKBACK_HOURS: only readings of the last H hours (by reading time, against the clock); 0 = all history */
  lookbackHours: 0,
  /** ANALYTICS_KEEP_RUNS: runs kept per job in the result tables (older runs' rows are deleted) */
  keepRuns: 12,
  /** ANALYTICS_PUBLISH: publish one analytics-results message per job run */
  publish: true,
} as const;

export interface AnalyticsSettings {
  intervalMs: number;
  topN: number;
  lookbackHours: number;
  keepRuns: number;
  publish: boolean;
}

/** Every job, in the order `all` runs them. */
export const analyticsJobs: readonly AnalyticsJob[] = [anomalyRatesJob, trendsJob, modelEvaluationJob];

/** The jobs a command-line name selects: one job, or every job for "all"; null when the name is unknown. */
export function selectJobs(name: string): AnalyticsJob[] | null {
  if (name === 'all') return [...analyticsJobs];
  if (!(analyticsJobNames as readonly string[]).includes(name)) return null;
  return analyticsJobs.filter((j) => j.name === (name as AnalyticsJobName));
}

/** `since` for a run started at `now`: null (all history) when lookbackHours is 0. */
export const sinceFor = (now: number, lookbackHours: number): Date | null => (lookbackHours > 0 ? new Date(now - lookbackHours * 3_600_000) : null);
