/**
 * Job `model-evaluation`: detection quality against the labels of the readings, per detector and per global
 * model version: confusion counts, precision, recall, F1 (label 1 positive; 0/0 = 0, see
 * ../evaluation/metrics.ts) and ROC-AUC (rank-based, ties as halves, see roc-auc.ts).
 *
 * Who counts:
 * - only labelled readings (label not null; since `params.since` when set); label 1 is positive, any other
 *   label negative;
 * - predicted positive = the reading has an anomaly row of that detector; its score is the anomaly's score;
 * - a reading without an anomaly row of the detector was not flagged: predicted negative, and for ROC-AUC it
 *   has no score, so it ranks below every scored reading and ties with the other unscored readings (the
 *   trainers publish scores of flagged readings only). The AUC thus measures how well the scores rank the
 *   flagged readings plus the detector's cut-off, not the full score distribution.
 *
 * Rows:
 * - `modelVersion: null`: every labelled reading, pooled (the only row of the z-score baseline, whose
 *   anomalies carry no version);
 * - `modelVersion: v`: the readings attributed to global version v on their device. Readings are not stamped
 *   with a version, only anomalies are, so a reading is attributed to the version of its own anomaly when it
 *   has one, else to the version of the device's latest anomaly of that detector at or before the reading's
 *   time. Readings before a device's first versioned anomaly are in the pooled row only.
 *   The attribution is one pass of window functions over the readings and the versioned anomalies, ordered
 *   by time per device and detector (an anomaly before a reading of the same time): a lookup per reading
 *   (a lateral `order by ts desc limit 1`) took 6.6-26 s for the WSN data in PGlite and chose a bad index
 *   once the table had statistics; this gives the same rows (checked on that data: 9,211 of 9,211) in ~1 s.
 * Detectors that never flagged anything do not appear (nothing in the database names them).
 */
import { binaryMetrics } from '../evaluation/metrics';
import { analyticsMessageLimits, type EvaluationEntry } from '../../protocols/analytics';
import { rocAuc, type ScoreGroup } from './roc-auc';
import { sinceFilter, type AnalyticsJob, type QueryPort, type JobParams } from './job';

export interface EvaluationRow extends EvaluationEntry {
  /** labelled readings evaluated */
  readings: number;
  positives: number;
}

interface Raw { detector: string; model_version: number | null; positive: boolean; score: number | null; n: number; pooled: number }

const sql = `
with l as (
  select r.reading_id, r.device_id, r.ts, (r.label = 1) as positive
  from readings r where r.label is not null and ${sinceFilter}
),
detectors as (select distinct detector from anomalies),
own as (
  select a.reading_id, a.detector, max(a.score) as score, max(a.model_version) as model_version
  from anomalies a group by a.reading_id, a.detector
),
timeline as (
  select l.reading_id, l.device_id, d.detector, l.ts, l.positive, null::int as version, 1 as kind
  from l cross join detectors d
  union all
  select null, x.device_id, x.detector, x.ts, null, x.model_version, 0
  from anomalies x where x.model_version is not null
),
carried as (
  select t.*, count(t.version) over (partition by t.device_id, t.detector order by t.ts, t.kind rows unbounded preceding) as grp
  from timeline t
),
prior as (
  select c.*, max(c.version) over (partition by c.device_id, c.detector, c.grp) as prior_version
  from carried c
),
s as (
  select p.detector, p.positive, own.score, coalesce(own.model_version, p.prior_version) as model_version
  from prior p left join own on own.reading_id = p.reading_id and own.detector = p.detector
  where p.kind = 1
)
select detector, model_version, positive, score::float8 as score, count(*)::float8 as n, grouping(model_version) as pooled
from s
group by grouping sets ((detector, positive, score), (detector, model_version, positive, score))`;

/** Confusion counts, metrics and AUC of one (detector, version) from its score groups (pure). */
export function evaluateGroups(detector: string, modelVersion: number | null, groups: readonly ScoreGroup[]): EvaluationRow {
  const c = { tp: 0, fp: 0, fn: 0, tn: 0 };
  for (const g of groups) {
    if (g.score !== null) { if (g.positive) c.tp += g.count; else c.fp += g.count; }
    else if (g.positive) c.fn += g.count;
    else c.tn += g.count;
  }
  return { detector, modelVersion, ...c, ...binaryMetrics(c), rocAuc: rocAuc(groups), readings: c.tp + c.fp + c.fn + c.tn, positives: c.tp + c.fn };
}

export async function modelEvaluation(db: QueryPort, params: JobParams): Promise<EvaluationRow[]> {
  const raw = await db.query<Raw>(sql, [params.since]);
  const groups = new Map<string, { detector: string; modelVersion: number | null; groups: ScoreGroup[] }>();
  for (const r of raw) {
    const pooled = r.pooled === 1;
    if (!pooled && r.model_version === null) continue; // readings no version can be attributed to
    const version = pooled ? null : r.model_version;
    const id = `${r.detector}\u0000${version ?? ''}`;
    const g = groups.get(id) ?? { detector: r.detector, modelVersion: version, groups: [] };
    g.groups.push({ score: r.score, positive: r.positive, count: r.n });
    groups.set(id, g);
  }
  return [...groups.values()]
    .map((g) => evaluateGroups(g.detector, g.modelVersion, g.groups))
    .sort((a, b) => (a.detector < b.detector ? -1 : a.detector > b.detector ? 1 : (a.modelVersion ?? -1) - (b.modelVersion ?? -1)));
}

/** The message's entries: pooled rows first, then the newest versions, at most `limit` (the rest is counted). */
export function messageEntries(rows: readonly EvaluationRow[], limit: number = analyticsMessageLimits.evaluations): { evaluations: EvaluationEntry[]; omitted: number } {
  const ordered = [...rows].sort((a, b) => (a.modelVersion === null ? -1 : 0) - (b.modelVersion === null ? -1 : 0) || (b.modelVersion ?? 0) - (a.modelVersion ?? 0));
  const kept = ordered.slice(0, limit).map(({ readings: _r, positives: _p, ...entry }) => entry);
  return { evaluations: kept, omitted: ordered.length - kept.length };
}

export const modelEvaluationJob: AnalyticsJob = {
  name: 'model-evaluation',
  tables: ['analytics_model_evaluation'],
  async run(db, params) {
    const rows = await modelEvaluation(db, params);
    return {
      tables: [{
        table: 'analytics_model_evaluation',
        rows: rows.map((r) => ({ detector: r.detector, model_version: r.modelVersion, readings: r.readings, positives: r.positives, tp: r.tp, fp: r.fp, fn: r.fn, tn: r.tn, precision: r.precision, recall: r.recall, f1: r.f1, roc_auc: r.rocAuc })),
      }],
      summary: { job: 'model-evaluation', ...messageEntries(rows) },
    };
  },
};
