/**
 * PostgreSQL side of the analytics service: the result tables (as migration 3, `analyticsMigration`), and a
 * store that runs the jobs' read queries and writes one job run's rows atomically.
 *
 * Tables (every result row carries the `run_id` of the run that wrote it and `computed_at`, the time that run
 * read the data; `analytics_runs` has one row per run, failed runs included):
 *
 *   analytics_runs              run_id, job, started_at, finished_at, duration_ms, rows, status, error, params
 *   analytics_anomaly_rates     scope (device | hour | attack_type), key, hour, detector, readings, anomalies, rate
 *   analytics_trends            device_id, hour, readings, anomalies, rate, previous_rate, change
 *   analytics_top_devices       rank, device_id, readings, anomalies, rate
 *   analytics_model_evaluation  detector, model_version, readings, positives, tp, fp, fn, tn, precision,
 *                               recall, f1, roc_auc
 *
 * Writing a run (`writeRun`) is one transaction: the run row, its result rows, then the pruning of the job's
 * runs beyond the newest `keepRuns` (rows and run rows alike). A dashboard therefore sees either all of a run's
 * rows or none; the latest complete run of a job is `select run_id from analytics_runs where job = $1 and
 * status = 'ok' order by started_at desc limit 1`.
 *
 * Until `analyticsMigration` is appended to `migrations` (src/infra/db/migrations.ts), `ensureAnalyticsSchema`
 * creates the same tables (every statement is `if not exists`, so the migration applied later changes nothing).
 */
import type { Migration } from './migrations';
import { quoteIdent } from './pg';
import { inTransaction, type SqlDb } from './sql';

/** Column lists of the result tables, in insert order (run_id and computed_at come first in every table). */
export const analyticsColumns = {
  analytics_anomaly_rates: ['scope', 'key', 'hour', 'detector', 'readings', 'anomalies', 'rate'],
  analytics_trends: ['device_id', 'hour', 'readings', 'anomalies', 'rate', 'previous_rate', 'change'],
  analytics_top_devices: ['rank', 'device_id', 'readings', 'anomalies', 'rate'],
  analytics_model_evaluation: ['detector', 'model_version', 'readings', 'positives', 'tp', 'fp', 'fn', 'tn', 'precision', 'recall', 'f1', 'roc_auc'],
} as const;
export type AnalyticsTable = keyof typeof analyticsColumns;

const statements = (): string[] => [
  `create table if not exists analytics_runs (
    run_id text primary key,
    job text not null,
    started_at timestamptz not null,
    finished_at timestamptz not null,
    duration_ms int not null,
    rows int not null,
    status text not null check (status in ('ok', 'failed')),
    error text null,
    params jsonb not null
  )`,
  'create index if not exists analytics_runs_job_started on analytics_runs (job, started_at desc)',
  // anomalies / readings per scope key and detector ('any' = flagged by at least one detector)
  `create table if not exists analytics_anomaly_rates (
    run_id text not null,
    computed_at timestamptz not null,
    scope text not null check (scope in ('device', 'hour', 'attack_type')),
    key text not null,
    hour timestamptz null,
    detector text not null,
    readings bigint not null,
    anomalies bigint not null,
    rate double precision not null,
    primary key (run_id, scope, key, detector)
  )`,
  // per device and hour (UTC); previous_rate/change null when the device had no readings the hour before
  `create table if not exists analytics_trends (
    run_id text not null,
    computed_at timestamptz not null,
    device_id text not null,
    hour timestamptz not null,
    readings bigint not null,
    anomalies bigint not null,
    rate double precision not null,
    previous_rate double precision null,
    change double precision null,
    primary key (run_id, device_id, hour)
  )`,
  `create table if not exists analytics_top_devices (
    run_id text not null,
    computed_at timestamptz not null,
    rank int not null,
    device_id text not null,
    readings bigint not null,
    anomalies bigint not null,
    rate double precision not null,
    primary key (run_id, rank)
  )`,
  // model_version null: every labelled reading, pooled over versions; roc_auc null: no positive or no negative
  `create table if not exists analytics_model_evaluation (
    run_id text not null,
    computed_at timestamptz not null,
    detector text not null,
    model_version int null,
    readings bigint not null,
    positives bigint not null,
    tp bigint not null,
    fp bigint not null,
    fn bigint not null,
    tn bigint not null,
    precision double precision not null,
    recall double precision not null,
    f1 double precision not null,
    roc_auc double precision null
  )`,
  'create index if not exists analytics_model_evaluation_run on analytics_model_evaluation (run_id, detector, model_version)',
];

/** Migration 3: the analytics result tables (plain tables in both modes). Append it to `migrations`. */
export const analyticsMigration: Migration = {
  version: 3,
  name: 'analytics result tables: analytics_runs, analytics_anomaly_rates, analytics_trends, analytics_top_devices, analytics_model_evaluation',
  up: () => statements(),
};

/** One run of a job as recorded in analytics_runs. */
export interface RunRecord {
  runId: string;
  job: string;
  startedAt: number;
  finishedAt: number;
  rows: number;
  status: 'ok' | 'failed';
  error: string | null;
  params: Record<string, unknown>;
}

export interface TableRows {
  table: AnalyticsTable;
  /** keyed by column name (see analyticsColumns); undefined and null are written as NULL */
  rows: ReadonlyArray<Record<string, unknown>>;
}

export interface AnalyticsStore {
  /** "postgres@127.0.0.1:5432/flead" */
  readonly describe: string;
  /** Run a read query; connection failures are InfraError('unavailable', retriable). */
  query<R>(sql: string, params?: readonly unknown[]): Promise<R[]>;
  /** Write a run and its rows in one transaction, then drop the job's runs beyond the newest keepRuns. */
  writeRun(run: RunRecord, tables: readonly TableRows[], keepRuns: number): Promise<void>;
  close(): Promise<void>;
}

/** Rows per multi-row insert (PostgreSQL allows 65535 parameters per statement). */
const insertChunk = 500;

/** Create the result tables when missing (idempotent; what migration 3 does). */
export async function ensureAnalyticsSchema(store: AnalyticsStore): Promise<void> {
  for (const s of statements()) await store.query(s);
}

export function createAnalyticsStore(db: SqlDb): AnalyticsStore {
  return {
    describe: db.describe,
    async query<R>(sql: string, params: readonly unknown[] = []): Promise<R[]> {
      try {
        return (await db.session((c) => c.query<R>(sql, params))).rows;
      } catch (e) {
        throw db.unavailable('a query', e);
      }
    },
    async writeRun(run, tables, keepRuns) {
      try {
        await inTransaction(db, async (c) => {
            await c.query(
              `insert into analytics_runs (run_id, job, started_at, finished_at, duration_ms, rows, status, error, params)
               values ($1, $2, to_timestamp($3 / 1000.0), to_timestamp($4 / 1000.0), $5, $6, $7, $8, $9)`,
              [run.runId, run.job, run.startedAt, run.finishedAt, run.finishedAt - run.startedAt, run.rows, run.status, run.error, JSON.stringify(run.params)],
            );
            for (const { table, rows } of tables) {
              const columns = ['run_id', 'computed_at', ...analyticsColumns[table]];
              for (let i = 0; i < rows.length; i += insertChunk) {
                const chunk = rows.slice(i, i + insertChunk);
                const values: unknown[] = [];
                const tuples = chunk.map((row) => {
                  const first = values.length;
                  values.push(run.runId, new Date(run.startedAt), ...analyticsColumns[table].map((col) => row[col] ?? null));
                  return `(${columns.map((_, j) => `$${first + j + 1}`).join(', ')})`;
                });
                await c.query(`insert into ${quoteIdent(table)} (${columns.map(quoteIdent).join(', ')}) values ${tuples.join(', ')}`, values);
              }
            }
            const old = (await c.query<{ run_id: string }>('select run_id from analytics_runs where job = $1 order by started_at desc, run_id desc offset $2', [run.job, keepRuns])).rows.map((r) => r.run_id);
            if (old.length) {
              for (const table of Object.keys(analyticsColumns)) await c.query(`delete from ${quoteIdent(table)} where run_id = any($1::text[])`, [old]);
              await c.query('delete from analytics_runs where run_id = any($1::text[])', [old]);
            }
        });
      } catch (e) {
        throw db.unavailable(`writing the ${run.job} run`, e);
      }
    },
    close: () => db.close(),
  };
}
