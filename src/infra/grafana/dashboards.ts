/**
 * FLEAD's Grafana dashboards, defined once. `grafanaDashboard(def)` (./dashboard-json.ts) turns a definition
 * into the JSON model Grafana stores (schemaVersion 39, Grafana 10/11); `flead init grafana` posts it through the HTTP API and
 * `grafana/dashboards/*.json` (compose provisioning) is the same JSON written by `writeProvisioning`
 * (src/infra/grafana/provisioning.ts), so the two never drift apart (test/int/grafana-files.test.ts).
 *
 * Every panel queries the FLEAD datasource (uid `flead-postgres`) with raw SQL over the schema of
 * src/infra/db/migrations.ts, using Grafana's PostgreSQL macros ($__timeFilter, $__timeGroupAlias, $__time)
 * and the dashboard variables `$device` (multi-value, quoted list) and `$detector` (single value, raw).
 * test/int/grafana-sql.test.ts runs every query, macros expanded (./macros.ts), on a migrated database.
 *
 * The analytics dashboard reads the hourly views (anomalies_hourly, readings_hourly) and the base tables: it
 * computes rates, trends and detection quality in SQL, so it works before (and without) the analytics job.
 */

export const datasourceUid = 'flead-postgres';
export const datasourceName = 'FLEAD PostgreSQL';
/** The core PostgreSQL plugin (its id in Grafana 11 is `grafana-postgresql-datasource`, `postgres` is its alias). */
export const datasourceType = 'postgres';
export const datasourceRef = { type: datasourceType, uid: datasourceUid } as const;

/** The folder the API upserts the dashboards into (provisioning uses the provider's folder of the same name). */
export const folder = { uid: 'flead', title: 'FLEAD' } as const;

export type PanelKind = 'timeseries' | 'stat' | 'table' | 'barchart';

export interface PanelDef {
  title: string;
  description: string;
  kind: PanelKind;
  /** raw SQL with Grafana macros and dashboard variables */
  sql: string;
  /** time_series: a "time" column (+ optional "metric") and value columns; table: any columns */
  format: 'time_series' | 'table';
  /** width in grid columns (of 24) and height in rows; panels flow left to right, then wrap */
  w: number;
  h: number;
  unit?: string;
  decimals?: number;
  min?: number;
  max?: number;
  /** timeseries: stack the series */
  stacked?: boolean;
  /** timeseries: bars instead of lines */
  bars?: boolean;
}

export type VariableDef =
  | { kind: 'query'; name: string; label: string; description: string; sql: string; multi: boolean; includeAll: boolean }
  | { kind: 'custom'; name: string; label: string; description: string; values: string[]; current: string };

export interface DashboardDef {
  uid: string;
  title: string;
  description: string;
  tags: string[];
  /** default time range, Grafana syntax ('now-6h') */
  from: string;
  refresh: string;
  variables: VariableDef[];
  panels: PanelDef[];
}

const deviceVariable: VariableDef = {
  kind: 'query',
  name: 'device',
  label: 'Device',
  description: 'devices with readings in the time range (readings_hourly)',
  sql: `select distinct device_id from readings_hourly where $__timeFilter(hour) order by 1`,
  multi: true,
  includeAll: true,
};

const detectorVariable: VariableDef = {
  kind: 'custom',
  name: 'detector',
  label: 'Detector',
  description: 'anomaly detector whose output the panels evaluate',
  values: ['zscore', 'autoencoder', 'classifier'],
  current: 'zscore',
};

export const pipelineOverview: DashboardDef = {
  uid: 'flead-pipeline',
  title: 'FLEAD — pipeline overview',
  description: 'Data flowing through FLEAD: readings stored by the sink, anomalies emitted by the trainers, global model versions, sink offsets and aggregator events.',
  tags: ['flead'],
  from: 'now-6h',
  refresh: '30s',
  variables: [],
  panels: [
    { title: 'Readings stored', kind: 'stat', format: 'table', w: 4, h: 4, unit: 'short', description: 'readings written by the sink in the time range',
      sql: `select count(*) as readings from readings where $__timeFilter(ts)` },
    { title: 'Anomalies', kind: 'stat', format: 'table', w: 4, h: 4, unit: 'short', description: 'anomalies (all detectors) in the time range',
      sql: `select count(*) as anomalies from anomalies where $__timeFilter(ts)` },
    { title: 'Devices reporting', kind: 'stat', format: 'table', w: 4, h: 4, unit: 'short', description: 'devices with at least one reading in the time range',
      sql: `select count(distinct device_id) as devices from readings where $__timeFilter(ts)` },
    { title: 'Global model version', kind: 'stat', format: 'table', w: 4, h: 4, unit: 'none', decimals: 0, description: 'latest published global model version (0 = the initial model)',
      sql: `select max(version) as version from global_models` },
    { title: 'Rounds closed', kind: 'stat', format: 'table', w: 4, h: 4, unit: 'short', description: 'federated rounds closed (on quorum or deadline) in the time range',
      sql: `select count(*) as rounds from round_events where type = 'RoundClosed' and $__timeFilter(at)` },
    { title: 'Newest reading age', kind: 'stat', format: 'table', w: 4, h: 4, unit: 's', decimals: 0, description: 'seconds since the newest stored reading: a growing value means the producer, the bus or the sink is stalled',
      sql: `select extract(epoch from now() - max(ts))::float8 as age_seconds from readings` },
    { title: 'Readings ingested', kind: 'timeseries', format: 'time_series', w: 12, h: 8, unit: 'short', bars: true, description: 'readings per interval, by the reading timestamp',
      sql: `select $__timeGroupAlias(ts, $__interval), count(*) as readings
from readings
where $__timeFilter(ts)
group by 1
order by 1` },
    { title: 'Anomalies by severity', kind: 'timeseries', format: 'time_series', w: 12, h: 8, unit: 'short', stacked: true, bars: true, description: 'anomalies per interval, warning and critical',
      sql: `select $__timeGroupAlias(ts, $__interval),
  count(*) filter (where severity = 'warning') as warning,
  count(*) filter (where severity = 'critical') as critical
from anomalies
where $__timeFilter(ts)
group by 1
order by 1` },
    { title: 'Sink progress', kind: 'table', format: 'table', w: 12, h: 8, description: 'next offset the sink will read, per consumer, topic and partition (committed with its rows)',
      sql: `select consumer, topic, partition, next_offset
from sink_offsets
order by consumer, topic, partition` },
    { title: 'Aggregator events', kind: 'table', format: 'table', w: 12, h: 8, description: 'the latest journaled round events (newest first)',
      sql: `select at as "time", service, seq, type, round
from round_events
where $__timeFilter(at)
order by at desc, seq desc
limit 100` },
  ],
};

export const devicesAndAnomalies: DashboardDef = {
  uid: 'flead-devices',
  title: 'FLEAD — devices and anomalies',
  description: 'Per-device readings and anomalies: hourly counts, scores against thresholds, rates per device, the latest anomalies and the labelled attack types.',
  tags: ['flead'],
  from: 'now-24h',
  refresh: '1m',
  variables: [deviceVariable],
  panels: [
    { title: 'Readings per device (hourly)', kind: 'timeseries', format: 'time_series', w: 12, h: 8, unit: 'short', description: 'readings per device and UTC hour (readings_hourly)',
      sql: `select hour as "time", device_id as metric, readings
from readings_hourly
where $__timeFilter(hour) and device_id in ($device)
order by 1, 2` },
    { title: 'Anomalies per device (hourly)', kind: 'timeseries', format: 'time_series', w: 12, h: 8, unit: 'short', bars: true, stacked: true, description: 'anomalies per device and UTC hour, all detectors (anomalies_hourly)',
      sql: `select hour as "time", device_id as metric, sum(anomalies)::int as anomalies
from anomalies_hourly
where $__timeFilter(hour) and device_id in ($device)
group by 1, 2
order by 1, 2` },
    { title: 'Anomaly score relative to threshold', kind: 'timeseries', format: 'time_series', w: 24, h: 8, unit: 'short', decimals: 2, description: 'score / threshold of every anomaly, per device and detector (1 = on the threshold)',
      sql: `select $__time(ts), device_id || ' ' || detector as metric, score / nullif(threshold, 0) as score_over_threshold
from anomalies
where $__timeFilter(ts) and device_id in ($device)
order by 1` },
    { title: 'Anomaly rate per device', kind: 'table', format: 'table', w: 12, h: 9, description: 'readings, readings flagged by any detector, critical ones, and labelled anomalies (ground truth) per device',
      sql: `select r.device_id,
  r.readings,
  coalesce(a.flagged, 0) as flagged,
  coalesce(a.critical, 0) as critical,
  r.labelled_anomalies,
  round(100.0 * coalesce(a.flagged, 0) / nullif(r.readings, 0), 2) as flagged_pct
from (select device_id, count(*) as readings, count(*) filter (where label = 1) as labelled_anomalies
      from readings where $__timeFilter(ts) and device_id in ($device) group by device_id) r
left join (select device_id, count(distinct reading_id) as flagged,
             count(distinct reading_id) filter (where severity = 'critical') as critical
           from anomalies where $__timeFilter(ts) and device_id in ($device) group by device_id) a using (device_id)
order by flagged_pct desc nulls last, r.device_id` },
    { title: 'Anomalies by detector', kind: 'barchart', format: 'table', w: 12, h: 9, unit: 'short', description: 'anomalies per detector in the time range',
      sql: `select detector, count(*) filter (where severity = 'warning') as warning, count(*) filter (where severity = 'critical') as critical
from anomalies
where $__timeFilter(ts) and device_id in ($device)
group by detector
order by detector` },
    { title: 'Latest anomalies', kind: 'table', format: 'table', w: 16, h: 10, description: 'the newest 100 anomalies',
      sql: `select ts as "time", device_id, detector, severity, round(score::numeric, 4) as score, round(threshold::numeric, 4) as threshold, model_version, reading_id
from anomalies
where $__timeFilter(ts) and device_id in ($device)
order by ts desc
limit 100` },
    { title: 'Labelled attack types', kind: 'table', format: 'table', w: 8, h: 10, description: 'readings per attack type in the data set labels (Edge-IIoTset Attack_type; "(none)" when the data set has no type)',
      sql: `select coalesce(attack_type, '(none)') as attack_type, count(*) as readings, count(*) filter (where label = 1) as labelled_anomalies
from readings
where $__timeFilter(ts) and device_id in ($device)
group by 1
order by 2 desc` },
  ],
};

/**
 * Detection quality per global model version, on labelled readings: a reading belongs to the version that was
 * the latest when it was taken (global_models.created_at); it counts as flagged when a model detector (not the
 * z-score baseline) flagged it with that version.
 */
const qualityPerVersion = `with versions as (
  select version, created_at as valid_from, coalesce(lead(created_at) over (order by version), 'infinity') as valid_to
  from global_models
), labelled as (
  select v.version, r.reading_id, r.ts, r.label
  from versions v join readings r on r.ts >= v.valid_from and r.ts < v.valid_to
  where $__timeFilter(r.ts) and r.label is not null
), flagged as (
  select distinct reading_id, ts, model_version
  from anomalies
  where detector <> 'zscore' and model_version is not null and $__timeFilter(ts)
), counts as (
  select l.version,
    count(*) as labelled,
    count(*) filter (where l.label = 1) as positives,
    count(f.reading_id) as flagged,
    count(f.reading_id) filter (where l.label = 1) as true_positives
  from labelled l left join flagged f on f.reading_id = l.reading_id and f.ts = l.ts and f.model_version = l.version
  group by l.version
)`;

export const federation: DashboardDef = {
  uid: 'flead-federation',
  title: 'FLEAD — federated rounds and model quality',
  description: 'Federated learning: rounds, participants, accepted and rejected updates, local training loss, global model lineage and detection quality per model version (precision, recall, F1 on labelled readings).',
  tags: ['flead'],
  from: 'now-24h',
  refresh: '1m',
  variables: [],
  panels: [
    { title: 'Latest global version', kind: 'stat', format: 'table', w: 6, h: 4, unit: 'none', decimals: 0, description: 'latest published global model version',
      sql: `select max(version) as version from global_models` },
    { title: 'Rounds', kind: 'stat', format: 'table', w: 6, h: 4, unit: 'short', description: 'rounds opened, closed and abandoned in the time range',
      sql: `select count(*) filter (where type = 'RoundOpened') as opened,
  count(*) filter (where type = 'RoundClosed') as closed,
  count(*) filter (where type = 'RoundAbandoned') as abandoned
from round_events
where $__timeFilter(at)` },
    { title: 'Updates', kind: 'stat', format: 'table', w: 6, h: 4, unit: 'short', description: 'local updates accepted and rejected by the aggregator in the time range',
      sql: `select count(*) filter (where type = 'UpdateAccepted') as accepted,
  count(*) filter (where type = 'UpdateRejected') as rejected
from round_events
where $__timeFilter(at)` },
    { title: 'Clients', kind: 'stat', format: 'table', w: 6, h: 4, unit: 'short', description: 'distinct clients that sent a local update in the time range',
      sql: `select count(distinct client_id) as clients from local_updates where $__timeFilter(sent_at)` },
    { title: 'Participants and accepted updates per round', kind: 'timeseries', format: 'time_series', w: 12, h: 8, unit: 'short', bars: true, description: 'per closed round (at its closing time): updates accepted into the aggregate',
      sql: `select at as "time", (data ->> 'accepted')::int as accepted
from round_events
where type = 'RoundClosed' and $__timeFilter(at)
order by 1` },
    { title: 'Mean local training loss', kind: 'timeseries', format: 'time_series', w: 12, h: 8, unit: 'none', decimals: 4, description: 'mean and max of the loss reported by the trainers with their local updates',
      sql: `select $__timeGroupAlias(sent_at, $__interval),
  avg((metrics ->> 'loss')::float8) as mean_loss,
  max((metrics ->> 'loss')::float8) as max_loss
from local_updates
where $__timeFilter(sent_at) and metrics ->> 'loss' is not null
group by 1
order by 1` },
    { title: 'Detection quality per model version', kind: 'barchart', format: 'table', w: 12, h: 9, unit: 'percentunit', min: 0, max: 1, decimals: 3, description: 'precision, recall and F1 of the model detectors per global model version, on labelled readings taken while that version was the latest',
      sql: `${qualityPerVersion}
select 'v' || version as version,
  true_positives::float8 / nullif(flagged, 0) as precision,
  true_positives::float8 / nullif(positives, 0) as recall,
  2.0 * true_positives / nullif(flagged + positives, 0) as f1
from counts
order by counts.version` },
    { title: 'Detection counts per model version', kind: 'table', format: 'table', w: 12, h: 9, description: 'labelled readings, labelled anomalies (positives), readings flagged by a model detector and true positives per version',
      sql: `${qualityPerVersion}
select version, labelled, positives, flagged, true_positives,
  round(true_positives::numeric / nullif(flagged, 0), 4) as precision,
  round(true_positives::numeric / nullif(positives, 0), 4) as recall,
  round(2.0 * true_positives / nullif(flagged + positives, 0), 4) as f1
from counts
order by version` },
    { title: 'Rejected updates by reason', kind: 'table', format: 'table', w: 8, h: 8, description: 'local updates the aggregator rejected, by reason',
      sql: `select data ->> 'reason' as reason, count(*) as updates
from round_events
where type = 'UpdateRejected' and $__timeFilter(at)
group by 1
order by 2 desc` },
    { title: 'Model lineage', kind: 'table', format: 'table', w: 16, h: 8, description: 'global model versions: parent, round, strategy, number of aggregated updates, content hash',
      sql: `select version, parent_version, round, strategy ->> 'name' as strategy, jsonb_array_length(updates) as updates, left(hash, 12) as hash, created_at
from global_models
order by version desc
limit 100` },
  ],
};

export const analytics: DashboardDef = {
  uid: 'flead-analytics',
  title: 'FLEAD — analytics',
  description: 'Anomaly rates, trends and detection quality against the labels, computed in SQL from the hourly views (anomalies_hourly, readings_hourly) and the base tables, for the detector chosen above.',
  tags: ['flead'],
  from: 'now-7d',
  refresh: '5m',
  variables: [detectorVariable, deviceVariable],
  panels: [
    { title: 'Precision', kind: 'stat', format: 'table', w: 6, h: 4, unit: 'percentunit', decimals: 1, description: 'labelled readings flagged by the detector that are labelled anomalies',
      sql: `select count(*) filter (where r.label = 1 and a.reading_id is not null)::float8 / nullif(count(a.reading_id), 0) as precision
from readings r left join anomalies a on a.reading_id = r.reading_id and a.ts = r.ts and a.detector = '$detector'
where $__timeFilter(r.ts) and r.label is not null and r.device_id in ($device)` },
    { title: 'Recall', kind: 'stat', format: 'table', w: 6, h: 4, unit: 'percentunit', decimals: 1, description: 'labelled anomalies the detector flagged',
      sql: `select count(*) filter (where r.label = 1 and a.reading_id is not null)::float8 / nullif(count(*) filter (where r.label = 1), 0) as recall
from readings r left join anomalies a on a.reading_id = r.reading_id and a.ts = r.ts and a.detector = '$detector'
where $__timeFilter(r.ts) and r.label is not null and r.device_id in ($device)` },
    { title: 'F1', kind: 'stat', format: 'table', w: 6, h: 4, unit: 'percentunit', decimals: 1, description: 'harmonic mean of precision and recall',
      sql: `select 2.0 * count(*) filter (where r.label = 1 and a.reading_id is not null) / nullif(count(a.reading_id) + count(*) filter (where r.label = 1), 0) as f1
from readings r left join anomalies a on a.reading_id = r.reading_id and a.ts = r.ts and a.detector = '$detector'
where $__timeFilter(r.ts) and r.label is not null and r.device_id in ($device)` },
    { title: 'Anomaly rate', kind: 'stat', format: 'table', w: 6, h: 4, unit: 'percentunit', decimals: 2, description: 'anomalies of the detector per reading in the time range',
      sql: `select (select coalesce(sum(anomalies), 0) from anomalies_hourly where $__timeFilter(hour) and detector = '$detector' and device_id in ($device))::float8
  / nullif((select sum(readings) from readings_hourly where $__timeFilter(hour) and device_id in ($device)), 0) as anomaly_rate` },
    { title: 'Hourly anomaly rate per device', kind: 'timeseries', format: 'time_series', w: 24, h: 8, unit: 'percentunit', decimals: 2, description: 'anomalies of the detector / readings, per device and UTC hour',
      sql: `select r.hour as "time", r.device_id as metric, coalesce(a.anomalies, 0)::float8 / nullif(r.readings, 0) as anomaly_rate
from readings_hourly r
left join anomalies_hourly a on a.device_id = r.device_id and a.hour = r.hour and a.detector = '$detector'
where $__timeFilter(r.hour) and r.device_id in ($device)
order by 1, 2` },
    { title: 'Daily anomalies and 7-day trend', kind: 'timeseries', format: 'time_series', w: 12, h: 8, unit: 'short', description: 'anomalies of the detector per UTC day and their 7-day moving average',
      sql: `select day as "time", anomalies, avg(anomalies) over (order by day rows between 6 preceding and current row) as moving_avg_7d
from (select date_trunc('day', hour, 'UTC') as day, sum(anomalies)::float8 as anomalies
      from anomalies_hourly
      where $__timeFilter(hour) and detector = '$detector' and device_id in ($device)
      group by 1) d
order by 1` },
    { title: 'Anomalies by hour of day (UTC)', kind: 'barchart', format: 'table', w: 12, h: 8, unit: 'short', description: 'when anomalies happen: anomalies of the detector per hour of the day',
      sql: `select lpad(extract(hour from hour at time zone 'UTC')::int::text, 2, '0') as hour_utc, sum(anomalies)::int as anomalies
from anomalies_hourly
where $__timeFilter(hour) and detector = '$detector' and device_id in ($device)
group by 1
order by 1` },
    { title: 'Detection quality per device', kind: 'table', format: 'table', w: 24, h: 9, description: 'confusion counts and precision / recall / F1 of the detector per device, on labelled readings',
      sql: `select device_id, labelled, positives, flagged, true_positives,
  flagged - true_positives as false_positives,
  positives - true_positives as false_negatives,
  round(true_positives::numeric / nullif(flagged, 0), 4) as precision,
  round(true_positives::numeric / nullif(positives, 0), 4) as recall,
  round(2.0 * true_positives / nullif(flagged + positives, 0), 4) as f1
from (select r.device_id,
        count(*) as labelled,
        count(*) filter (where r.label = 1) as positives,
        count(a.reading_id) as flagged,
        count(a.reading_id) filter (where r.label = 1) as true_positives
      from readings r left join anomalies a on a.reading_id = r.reading_id and a.ts = r.ts and a.detector = '$detector'
      where $__timeFilter(r.ts) and r.label is not null and r.device_id in ($device)
      group by r.device_id) c
order by device_id` },
  ],
};

export const dashboards: readonly DashboardDef[] = [pipelineOverview, devicesAndAnomalies, federation, analytics];

/** Every SQL text of a dashboard (panels, then query variables), named for test messages. */
export function queriesOf(def: DashboardDef): Array<{ where: string; sql: string; format: PanelDef['format'] }> {
  return [
    ...def.panels.map((p) => ({ where: `${def.uid} / panel "${p.title}"`, sql: p.sql, format: p.format })),
    ...def.variables.flatMap((v) => (v.kind === 'query' ? [{ where: `${def.uid} / variable $${v.name}`, sql: v.sql, format: 'table' as const }] : [])),
  ];
}
