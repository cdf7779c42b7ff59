/**
 * Job `trends`: per device and hour (UTC), the anomaly rate (flagged by any detector / readings), its change
 * from the device's previous clock hour, and the top-N devices by anomaly rate over the whole window.
 *
 * - `previousRate` / `change` are null when the device had no reading in the hour just before (a gap is not
 *   a change from 0); change = rate − previousRate.
 * - Top-N: devices ranked by rate (all their readings in the window), ties broken by more anomalies, then by
 *   device id (ascending), so the ranking is stable. Fewer than N devices give fewer rows.
 */
import { hourOf, rateOf, sinceFilter, type AnalyticsJob, type QueryPort, type JobParams } from './job';

export interface DeviceHour {
  deviceId: string;
  hour: Date;
  readings: number;
  anomalies: number;
}

export interface TrendRow extends DeviceHour {
  rate: number;
  previousRate: number | null;
  change: number | null;
}

export interface TopDevice {
  rank: number;
  deviceId: string;
  readings: number;
  anomalies: number;
  rate: number;
}

const hourMs = 3_600_000;

const sql = `
select r.device_id, ${hourOf('r.ts')} as hour, count(*)::float8 as readings,
  count(*) filter (where exists (select 1 from anomalies a where a.reading_id = r.reading_id))::float8 as anomalies
from readings r where ${sinceFilter}
group by 1, 2 order by 1, 2`;

export async function deviceHours(db: QueryPort, params: JobParams): Promise<DeviceHour[]> {
  const rows = await db.query<{ device_id: string; hour: Date; readings: number; anomalies: number }>(sql, [params.since]);
  return rows.map((r) => ({ deviceId: r.device_id, hour: r.hour, readings: r.readings, anomalies: r.anomalies }));
}

/** Hour-over-hour change per device (pure). Input in any order; output sorted by device, then hour. */
export function hourOverHour(rows: readonly DeviceHour[]): TrendRow[] {
  const sorted = [...rows].sort((a, b) => (a.deviceId < b.deviceId ? -1 : a.deviceId > b.deviceId ? 1 : a.hour.getTime() - b.hour.getTime()));
  const rateAt = new Map(sorted.map((r) => [`${r.deviceId}\u0000${r.hour.getTime()}`, rateOf(r.anomalies, r.readings)]));
  return sorted.map((r) => {
    const rate = rateOf(r.anomalies, r.readings);
    const previousRate = rateAt.get(`${r.deviceId}\u0000${r.hour.getTime() - hourMs}`) ?? null;
    return { ...r, rate, previousRate, change: previousRate === null ? null : rate - previousRate };
  });
}

/** The n devices with the highest anomaly rate over all their hours (pure); see the module doc for ties. */
export function topDevices(rows: readonly DeviceHour[], n: number): TopDevice[] {
  const totals = new Map<string, { readings: number; anomalies: number }>();
  for (const r of rows) {
    const t = totals.get(r.deviceId) ?? { readings: 0, anomalies: 0 };
    totals.set(r.deviceId, { readings: t.readings + r.readings, anomalies: t.anomalies + r.anomalies });
  }
  return [...totals.entries()]
    .map(([deviceId, t]) => ({ deviceId, ...t, rate: rateOf(t.anomalies, t.readings) }))
    .sort((a, b) => b.rate - a.rate || b.anomalies - a.anomalies || (a.deviceId < b.deviceId ? -1 : a.deviceId > b.deviceId ? 1 : 0))
    .slice(0, Math.max(0, n))
    .map((d, i) => ({ rank: i + 1, ...d }));
}

export const trendsJob: AnalyticsJob = {
  name: 'trends',
  tables: ['analytics_trends', 'analytics_top_devices'],
  async run(db, params) {
    const hours = await deviceHours(db, params);
    const trends = hourOverHour(hours);
    const top = topDevices(hours, params.topN);
    return {
      tables: [
        { table: 'analytics_trends', rows: trends.map((r) => ({ device_id: r.deviceId, hour: r.hour, readings: r.readings, anomalies: r.anomalies, rate: r.rate, previous_rate: r.previousRate, change: r.change })) },
        { table: 'analytics_top_devices', rows: top.map((d) => ({ rank: d.rank, device_id: d.deviceId, readings: d.readings, anomalies: d.anomalies, rate: d.rate })) },
      ],
      summary: { job: 'trends', topN: params.topN, deviceHours: trends.length, top },
    };
  },
};
