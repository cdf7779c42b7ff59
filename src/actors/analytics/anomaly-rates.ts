/**
 * Job `anomaly-rates`: the share of readings flagged as anomalous, per device, per hour (UTC) and per attack
 * type, for every detector and for `any` (flagged by at least one detector).
 *
 *   rate = flagged readings / readings          (0 when there is no reading)
 *
 * The population is the readings table (since `params.since` when set); a reading counts once per detector
 * however many anomaly rows it has. Anomalies whose reading is not in the readings table (not written yet, or
 * dropped by retention) are not counted: a rate never exceeds 1. Readings without an attack type are grouped
 * under the key `(none)`. Every (key, detector) pair gets a row, zero rates included, for the detectors
 * that appear in the anomalies table.
 */
import type { AnomalyRatesSummary } from '../../protocols/analytics';
import type * as t from 'io-ts';
import { hourOf, rateOf, sinceFilter, type AnalyticsJob, type QueryPort, type JobParams } from './job';

export type RateScope = 'device' | 'hour' | 'attack_type';

export interface AnomalyRateRow {
  scope: RateScope;
  /** device id; the hour as ISO-8601 UTC ("2024-06-10T08:00:00.000Z"); or the attack type ("(none)" for null) */
  key: string;
  /** the hour bucket for scope 'hour', else null */
  hour: Date | null;
  /** a detector name, or 'any' */
  detector: string;
  readings: number;
  anomalies: number;
  rate: number;
}

export const noAttackType = '(none)';
export const anyDetector = 'any';

interface Raw { device_id: string | null; hour: Date | null; attack_type: string | null; detector: string; readings: number; anomalies: number; g_device: number; g_hour: number }

const sql = `
with r as (
  select r.reading_id, r.device_id, ${hourOf('r.ts')} as hour, coalesce(r.attack_type, '${noAttackType}') as attack_type
  from readings r where ${sinceFilter}
),
flags as (select distinct reading_id, detector from anomalies),
detectors as (select '${anyDetector}'::text as detector union select distinct detector from anomalies),
per as (
  select r.device_id, r.hour, r.attack_type, d.detector,
    exists (select 1 from flags f where f.reading_id = r.reading_id and (d.detector = '${anyDetector}' or f.detector = d.detector)) as flagged
  from r cross join detectors d
)
select device_id, hour, attack_type, detector, count(*)::float8 as readings, count(*) filter (where flagged)::float8 as anomalies,
  grouping(device_id) as g_device, grouping(hour) as g_hour
from per
group by grouping sets ((device_id, detector), (hour, detector), (attack_type, detector))
order by 7, 8, 1, 2, 3, 4`;

export async function anomalyRates(db: QueryPort, params: JobParams): Promise<AnomalyRateRow[]> {
  const raw = await db.query<Raw>(sql, [params.since]);
  return raw.map((r): AnomalyRateRow => {
    const scope: RateScope = r.g_device === 0 ? 'device' : r.g_hour === 0 ? 'hour' : 'attack_type';
    const key = scope === 'device' ? r.device_id! : scope === 'hour' ? r.hour!.toISOString() : r.attack_type!;
    return { scope, key, hour: scope === 'hour' ? r.hour : null, detector: r.detector, readings: r.readings, anomalies: r.anomalies, rate: rateOf(r.anomalies, r.readings) };
  });
}

/** Overall numbers for the message: the 'any' rows of the device scope summed (every reading has one device). */
export function summarizeRates(rows: readonly AnomalyRateRow[]): t.TypeOf<typeof AnomalyRatesSummary> {
  const any = rows.filter((r) => r.scope === 'device' && r.detector === anyDetector);
  const readings = any.reduce((s, r) => s + r.readings, 0);
  const anomalies = any.reduce((s, r) => s + r.anomalies, 0);
  const count = (scope: RateScope) => rows.filter((r) => r.scope === scope).length;
  return { job: 'anomaly-rates', overall: { readings, anomalies, rate: rateOf(anomalies, readings) }, rows: { device: count('device'), hour: count('hour'), attackType: count('attack_type') } };
}

export const anomalyRatesJob: AnalyticsJob = {
  name: 'anomaly-rates',
  tables: ['analytics_anomaly_rates'],
  async run(db, params) {
    const rows = await anomalyRates(db, params);
    return {
      tables: [{ table: 'analytics_anomaly_rates', rows: rows.map((r) => ({ scope: r.scope, key: r.key, hour: r.hour, detector: r.detector, readings: r.readings, anomalies: r.anomalies, rate: r.rate })) }],
      summary: summarizeRates(rows),
    };
  },
};
