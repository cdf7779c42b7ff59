/**
 * `analytics-results`: one `AnalyticsResult` per analytics job run (key = the job name), published after the
 * run's rows were committed to the database (or after the run failed: `status: 'failed'` with `error`).
 * The message carries a bounded summary; the full results are in the tables named by `table`.
 *
 * `summary` depends on the job:
 * - anomaly-rates: overall readings / flagged readings (any detector) / rate, and the row count per scope;
 * - trends: the top-N devices by anomaly rate (N = the run's topN) and the number of device-hours;
 * - model-evaluation: at most `analyticsMessageLimits.evaluations` rows (pooled rows first, then the newest
 *   versions); `omitted` says how many were left out of the message (never out of the table).
 */
import * as t from 'io-ts';
import { EpochMillis, FiniteNumber, NonEmptyString, NonNegativeInt } from './codec';

export const analyticsJobNames = ['anomaly-rates', 'trends', 'model-evaluation'] as const;
export type AnalyticsJobName = (typeof analyticsJobNames)[number];

export const analyticsMessageLimits = { evaluations: 100 } as const;

const Rate = t.type({ readings: NonNegativeInt, anomalies: NonNegativeInt, rate: FiniteNumber });

export const AnomalyRatesSummary = t.type(
  {
    job: t.literal('anomaly-rates'),
    overall: Rate,
    /** rows per scope: device, hour, attack_type */
    rows: t.type({ device: NonNegativeInt, hour: NonNegativeInt, attackType: NonNegativeInt }),
  },
  'AnomalyRatesSummary',
);

export const TrendsSummary = t.type(
  {
    job: t.literal('trends'),
    topN: NonNegativeInt,
    deviceHours: NonNegativeInt,
    top: t.array(t.intersection([t.type({ rank: NonNegativeInt, deviceId: NonEmptyString }), Rate])),
  },
  'TrendsSummary',
);

const NullableRatio = t.union([FiniteNumber, t.null]);

export const EvaluationEntry = t.type(
  {
    detector: NonEmptyString,
    /** null: every labelled reading, whatever version scored it (pooled) */
    modelVersion: t.union([NonNegativeInt, t.null]),
    tp: NonNegativeInt,
    fp: NonNegativeInt,
    fn: NonNegativeInt,
    tn: NonNegativeInt,
    precision: FiniteNumber,
    recall: FiniteNumber,
    f1: FiniteNumber,
    /** null when there is no positive or no negative */
    rocAuc: NullableRatio,
  },
  'EvaluationEntry',
);
export type EvaluationEntry = t.TypeOf<typeof EvaluationEntry>;

export const ModelEvaluationSummary = t.type(
  { job: t.literal('model-evaluation'), evaluations: t.array(EvaluationEntry), omitted: NonNegativeInt },
  'ModelEvaluationSummary',
);

export const AnalyticsSummary = t.union([AnomalyRatesSummary, TrendsSummary, ModelEvaluationSummary], 'AnalyticsSummary');
export type AnalyticsSummary = t.TypeOf<typeof AnalyticsSummary>;

export const AnalyticsResult = t.type(
  {
    kind: t.literal('analytics-result'),
    runId: NonEmptyString,
    job: t.keyof({ 'anomaly-rates': null, trends: null, 'model-evaluation': null }),
    status: t.keyof({ ok: null, failed: null }),
    startedAt: EpochMillis,
    durationMs: NonNegativeInt,
    /** result rows written to the tables (0 for an empty database or a failed run) */
    rows: NonNegativeInt,
    /** the tables holding this run's rows, each with a run_id column */
    tables: t.array(NonEmptyString),
    /** null when the run succeeded */
    error: t.union([t.string, t.null]),
    /** null when the run failed */
    summary: t.union([AnalyticsSummary, t.null]),
  },
  'AnalyticsResult',
);
export type AnalyticsResult = t.TypeOf<typeof AnalyticsResult>;

/** One example message (model evaluation with a pooled z-score row and one autoencoder version). */
export const exampleAnalyticsResult: AnalyticsResult = {
  kind: 'analytics-result',
  runId: 'model-evaluation-20240610T061500Z-3fa9c1',
  job: 'model-evaluation',
  status: 'ok',
  startedAt: 1_718_000_100_000,
  durationMs: 42,
  rows: 2,
  tables: ['analytics_model_evaluation'],
  error: null,
  summary: {
    job: 'model-evaluation',
    evaluations: [
      { detector: 'zscore', modelVersion: null, tp: 3, fp: 1, fn: 1, tn: 15, precision: 0.75, recall: 0.75, f1: 0.75, rocAuc: 0.85 },
      { detector: 'autoencoder', modelVersion: 4, tp: 2, fp: 1, fn: 0, tn: 1, precision: 2 / 3, recall: 1, f1: 0.8, rocAuc: 0.75 },
    ],
    omitted: 0,
  },
};
