/**
 * What an analytics job is: a small module that reads the database with SQL (through the `query` port) and
 * returns typed rows for its result tables plus a bounded summary for `analytics-results`. A job does not
 * write, publish or read the clock: the runner (`runner.ts`) does that around it. An empty database gives
 * empty results, never an error.
 */
import type { AnalyticsTable, TableRows } from '../../infra/db/analytics-store';
import type { AnalyticsJobName, AnalyticsSummary } from '../../protocols/analytics';

/** The read side of the database, as jobs see it. */
export interface QueryPort {
  query<R>(sql: string, params?: readonly unknown[]): Promise<R[]>;
}

export interface JobParams {
  /** only readings (and their anomalies) with ts ≥ since; null = all history */
  since: Date | null;
  /** how many devices `trends` ranks */
  topN: number;
}

export interface JobOutput {
  tables: TableRows[];
  summary: AnalyticsSummary;
}

export interface AnalyticsJob {
  name: AnalyticsJobName;
  /** the tables this job writes (one run's rows each) */
  tables: readonly AnalyticsTable[];
  run(db: QueryPort, params: JobParams): Promise<JobOutput>;
}

/** SQL filter on readings alias `r` for JobParams.since, as parameter $1. */
export const sinceFilter = '($1::timestamptz is null or r.ts >= $1::timestamptz)';

/** UTC hour bucket, the same as the hourly views of migration 2 in plain mode. */
export const hourOf = (column: string): string => `date_trunc('hour', ${column}, 'UTC')`;

/** a / b with x/0 = 0 (no readings: rate 0) */
export const rateOf = (anomalies: number, readings: number): number => (readings === 0 ? 0 : anomalies / readings);
