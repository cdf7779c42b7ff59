/**
 * The database schema as an ordered list of versioned migrations, applied by `migrate`:
 *
 * - each migration runs in its own transaction together with its row in `schema_migrations`
 *   (version, name, checksum of its SQL, mode, applied_at), so it is applied entirely or not at all;
 * - the whole run holds a session advisory lock, so two concurrent `flead init db` apply each migration once
 *   (the second waits, then finds nothing to do);
 * - running it again changes nothing;
 * - it refuses, with a sentence, a database whose schema is newer than this code, or whose recorded checksum
 *   differs from the code's (a migration edited after it was applied).
 *
 * Mode: `timescale` when the `timescaledb` extension is installed, or available and preloaded (hypertables,
 * continuous aggregates, retention policies); `plain` otherwise (plain tables, indexes, views with the same
 * names and columns). A database keeps the mode its schema was created in.
 *
 * Retention (timescale mode only; plain mode keeps everything): `readings` 30 days, `anomalies` 365 days
 * (`retention` below). The hourly aggregates are refreshed every 30 minutes over the last 3 days and answer in
 * real time (materialized buckets + the newest raw rows), like the plain views.
 */
import { createHash } from 'node:crypto';
import type { SqlDb, SqlSession } from './sql';
import { InfraError } from '../errors';
import type { Logger } from '../log';
import { analyticsMigration } from './analytics-store';

export type SchemaMode = 'timescale' | 'plain';

export interface Migration {
  version: number;
  name: string;
  /** SQL statements, run in order in one transaction */
  up(mode: SchemaMode): string[];
}

/** Retention policies of timescale mode (documented in README's database section). */
export const retention = { readings: '30 days', anomalies: '365 days' } as const;

/** Key of the session advisory lock held while migrating ('FLEAD' in ASCII). */
export const migrationLockKey = 0x464c454144;

const hypertable = (table: string) => `select create_hypertable('${table}', 'ts', chunk_time_interval => interval '1 day', if_not_exists => true)`;

/** Hourly buckets: `time_bucket` (UTC) for continuous aggregates, the same UTC hours with `date_trunc` otherwise. */
const hour = (mode: SchemaMode) => (mode === 'timescale' ? `time_bucket(interval '1 hour', ts)` : `date_trunc('hour', ts, 'UTC')`);

/** `create materialized view … with (timescaledb.continuous)` in timescale mode, `create view` otherwise. */
function hourlyView(mode: SchemaMode, name: string, select: string): string {
  return mode === 'timescale'
    ? `create materialized view ${name} with (timescaledb.continuous, timescaledb.materialized_only = false) as ${select} with no data`
    : `create or replace view ${name} as ${select}`;
}

export const migrations: readonly Migration[] = [
  {
    version: 1,
    name: 'tables: readings, anomalies, local_updates, global_models, round_events, sink_offsets',
    up: (mode) => [
      ...(mode === 'timescale' ? ['create extension if not exists timescaledb'] : []),
      // edge-iiot-stream; topic_partition/topic_offset: where the sink read it
      `create table if not exists readings (
        reading_id text not null,
        device_id text not null,
        ts timestamptz not null,
        features jsonb not null,
        label smallint null,
        attack_type text null,
        topic_partition int not null,
        topic_offset bigint not null,
        primary key (reading_id, ts)
      )`,
      `create table if not exists anomalies (
        reading_id text not null,
        detector text not null,
        device_id text not null,
        ts timestamptz not null,
        score double precision not null,
        threshold double precision not null,
        severity text not null check (severity in ('warning', 'critical')),
        model_version int null,
        primary key (reading_id, detector, ts)
      )`,
      // local-model-updates: metadata only, never the weights (they stay in the model store)
      `create table if not exists local_updates (
        update_id text primary key,
        client_id text not null,
        round int not null,
        base_version int not null,
        sample_count int not null,
        hash text not null,
        metrics jsonb not null,
        sent_at timestamptz not null
      )`,
      // global-model-updates: versions and their lineage, without weights
      `create table if not exists global_models (
        version int primary key,
        hash text not null,
        parent_version int null,
        round int not null,
        strategy jsonb not null,
        updates jsonb not null,
        created_at timestamptz not null
      )`,
      // journaled round events; round null: events outside a round (ModelInitialised, ModelPublished)
      `create table if not exists round_events (
        service text not null,
        seq bigint not null,
        type text not null,
        round int null,
        data jsonb not null,
        at timestamptz not null,
        primary key (service, seq)
      )`,
      // the sink's next offset per consumer, topic and partition, committed in the same transaction as its rows
      `create table if not exists sink_offsets (
        consumer text not null,
        topic text not null,
        partition int not null,
        next_offset bigint not null,
        primary key (consumer, topic, partition)
      )`,
      ...(mode === 'timescale' ? [hypertable('readings'), hypertable('anomalies')] : []),
      'create index if not exists readings_device_ts on readings (device_id, ts)',
      'create index if not exists anomalies_device_ts on anomalies (device_id, ts)',
      // hypertables get a ts index from create_hypertable; plain tables need their own for time ranges
      ...(mode === 'plain'
        ? ['create index if not exists readings_ts on readings (ts)', 'create index if not exists anomalies_ts on anomalies (ts)']
        : []),
      'create index if not exists local_updates_round on local_updates (round)',
      'create index if not exists round_events_round on round_events (round) where round is not null',
    ],
  },
  {
    version: 2,
    name: 'hourly views: anomalies_hourly, readings_hourly; retention',
    up: (mode) => [
      // anomalies per device, hour (UTC) and detector; critical = severity 'critical'
      hourlyView(mode, 'anomalies_hourly', `select device_id, ${hour(mode)} as hour, detector,
        count(*) as anomalies,
        sum(case when severity = 'critical' then 1 else 0 end) as critical
        from anomalies group by device_id, ${hour(mode)}, detector`),
      // readings per device and hour (UTC); labelled_anomalies = label 1 (ground truth, when the data set has one)
      hourlyView(mode, 'readings_hourly', `select device_id, ${hour(mode)} as hour,
        count(*) as readings,
        sum(case when label = 1 then 1 else 0 end) as labelled_anomalies
        from readings group by device_id, ${hour(mode)}`),
      ...(mode === 'timescale'
        ? [
            `select add_continuous_aggregate_policy('anomalies_hourly', start_offset => interval '3 days', end_offset => interval '1 hour', schedule_interval => interval '30 minutes', if_not_exists => true)`,
            `select add_continuous_aggregate_policy('readings_hourly', start_offset => interval '3 days', end_offset => interval '1 hour', schedule_interval => interval '30 minutes', if_not_exists => true)`,
            `select add_retention_policy('readings', interval '${retention.readings}', if_not_exists => true)`,
            `select add_retention_policy('anomalies', interval '${retention.anomalies}', if_not_exists => true)`,
          ]
        : []),
    ],
  },
  // 3: analytics result tables (src/infra/db/analytics-store.ts)
  analyticsMigration,
];

/**
 * sha256 of a migration's statements in a mode, each with its runs of white space collapsed (so re-indenting
 * the source does not count as an edit): what `schema_migrations.checksum` records.
 */
export function checksum(m: Migration, mode: SchemaMode): string {
  return createHash('sha256').update(m.up(mode).map((s) => s.replace(/\s+/g, ' ').trim()).join(';\n')).digest('hex');
}

export const latestVersion = (list: readonly Migration[] = migrations): number => list.reduce((v, m) => Math.max(v, m.version), 0);

const modeSentences: Record<SchemaMode, string> = {
  timescale: 'schema mode: timescale (hypertables, continuous aggregates, retention)',
  plain: 'schema mode: plain PostgreSQL (TimescaleDB not available: plain tables, indexes, views)',
};

export interface MigrateResult {
  mode: SchemaMode;
  /** versions applied by this call, ascending; empty when the schema was already current */
  applied: number[];
  /** the schema version after this call */
  current: number;
}

interface Recorded { version: number; name: string; checksum: string; mode: SchemaMode }

const refuse = (sentence: string) => new InfraError('conflict', sentence, false);

/**
 * Bring the database's schema up to the latest migration. Throws `InfraError('conflict')` (not retriable) with
 * a sentence when the database is newer than this code, a checksum differs, or a timescale-mode schema meets a
 * server without TimescaleDB; a failing migration is rolled back and rethrown with its version and statement.
 */
export async function migrate(db: SqlDb, options: { log: Logger; migrations?: readonly Migration[] }): Promise<MigrateResult> {
  const { log } = options;
  const list = options.migrations ?? migrations;
  checkList(list);
  const known = latestVersion(list);
  return db.session(async (client) => {
    const locked = (await client.query<{ ok: boolean }>('select pg_try_advisory_lock($1::bigint) as ok', [migrationLockKey])).rows[0]!.ok;
    if (!locked) {
      log.info('another flead init db is migrating this database: waiting for it to finish');
      await client.query('select pg_advisory_lock($1::bigint)', [migrationLockKey]);
    }
    try {
      await client.query(`create table if not exists schema_migrations (
        version int primary key,
        name text not null,
        checksum text not null,
        mode text not null,
        applied_at timestamptz not null default now()
      )`);
      const recorded = (await client.query<Recorded>('select version, name, checksum, mode from schema_migrations order by version')).rows;
      const top = recorded.reduce((v, r) => Math.max(v, r.version), 0);
      if (top > known) throw refuse(`the database schema is at version ${top} but this flead knows only up to ${known}: upgrade flead or restore an older database`);
      const mode = await chooseMode(client, recorded, log);
      for (const r of recorded) {
        const m = list.find((x) => x.version === r.version);
        if (!m) throw refuse(`the database records migration ${r.version} ("${r.name}"), which this flead does not have: it was migrated by a different build; use that build or restore the database`);
        const expected = checksum(m, r.mode);
        if (expected !== r.checksum) {
          throw refuse(`migration ${r.version} ("${r.name}") was applied with checksum ${r.checksum.slice(0, 12)} but this flead's migration ${r.version} has checksum ${expected.slice(0, 12)}: it was edited after it was applied, so the schema may differ from what the code expects; restore the original migration or start from a fresh database`);
        }
      }
      const done = new Set(recorded.map((r) => r.version));
      const applied: number[] = [];
      for (const m of [...list].sort((a, b) => a.version - b.version)) {
        if (done.has(m.version)) continue;
        const started = Date.now();
        await applyOne(client, m, mode);
        applied.push(m.version);
        log.info(`migration ${m.version} (${m.name}): applied in ${Date.now() - started} ms`);
      }
      const current = Math.max(top, ...applied);
      log.info(applied.length
        ? `schema at version ${current} (${mode}): applied ${applied.length} migration(s): ${applied.join(', ')}`
        : `schema at version ${current} (${mode}): up to date, nothing to apply`);
      return { mode, applied, current };
    } finally {
      await client.query('select pg_advisory_unlock($1::bigint)', [migrationLockKey]).catch(() => undefined);
    }
  });
}

async function applyOne(client: SqlSession, m: Migration, mode: SchemaMode): Promise<void> {
  const statements = m.up(mode);
  await client.query('begin');
  let i = 0;
  try {
    for (; i < statements.length; i++) await client.query(statements[i]!);
    await client.query('insert into schema_migrations (version, name, checksum, mode) values ($1, $2, $3, $4)', [m.version, m.name, checksum(m, mode), mode]);
    await client.query('commit');
  } catch (e) {
    await client.query('rollback').catch(() => undefined);
    const where = i < statements.length ? `statement ${i + 1} of ${statements.length}` : 'recording it in schema_migrations';
    throw new Error(`migration ${m.version} (${m.name}) failed at ${where} in ${mode} mode and was rolled back: ${(e as Error).message}`, { cause: e });
  }
}

/** The recorded mode when there is a schema; else timescale when the extension can be created, else plain. */
async function chooseMode(client: SqlSession, recorded: readonly Recorded[], log: Logger): Promise<SchemaMode> {
  const { rows } = await client.query<{ available: boolean; installed: boolean; preload: string }>(`select
    exists (select 1 from pg_available_extensions where name = 'timescaledb') as available,
    exists (select 1 from pg_extension where extname = 'timescaledb') as installed,
    current_setting('shared_preload_libraries') as preload`);
  const { available, installed, preload } = rows[0]!;
  const usable = installed || (available && /(^|[\s,])timescaledb([\s,]|$)/.test(preload));
  const modes = [...new Set(recorded.map((r) => r.mode))];
  if (modes.length > 1) throw refuse(`schema_migrations records migrations in both timescale and plain mode (${recorded.map((r) => `${r.version}: ${r.mode}`).join(', ')}): the schema is inconsistent; restore the database from a backup`);
  const kept = modes[0];
  if (kept === 'timescale' || kept === 'plain') {
    if (kept === 'timescale' && !usable) throw refuse('the database schema was created in timescale mode but the timescaledb extension is not available on this server: run flead against a TimescaleDB server or restore a plain database');
    log.info(modeSentences[kept]);
    if (kept === 'plain' && usable) log.info('TimescaleDB is available, but this database was created in plain mode and keeps it (migrate a fresh database to get hypertables)');
    return kept;
  }
  if (kept !== undefined) throw refuse(`schema_migrations records an unknown mode "${kept}": expected timescale or plain`);
  if (available && !usable) log.warn(`the timescaledb extension is installed on the server but not in shared_preload_libraries ("${preload}"): using plain mode`);
  const mode: SchemaMode = usable ? 'timescale' : 'plain';
  log.info(modeSentences[mode]);
  return mode;
}

/** Versions must be positive, unique and contiguous from 1: a list that is not is a bug. */
function checkList(list: readonly Migration[]): void {
  const versions = list.map((m) => m.version).sort((a, b) => a - b);
  versions.forEach((v, i) => {
    if (v !== i + 1) throw new Error(`migrations must be numbered 1..${list.length} without gaps or duplicates, got ${versions.join(', ')}`);
  });
}
