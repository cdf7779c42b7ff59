/**
 * The sink's PostgreSQL store: applies one batch of rows read from one topic partition in ONE transaction,
 * together with that partition's position in `sink_offsets` (consumer, topic, partition, next_offset).
 *
 * Exactly-once into the database: the transaction first locks the partition's `sink_offsets` row and reads
 * its `next_offset`; rows whose offset is below it were applied by an earlier transaction (a batch redelivered
 * after a crash, or after the Kafka commit was lost) and are skipped; the rest are inserted (multi-row
 * `insert … select from unnest(…) on conflict do nothing`, one statement per table) and `next_offset` moves to
 * the batch's end. Two sinks of the same consumer name serialize on that row lock, so a rebalance cannot
 * apply a batch twice either.
 *
 * Errors (`InfraError`):
 * - `unavailable`, retriable: the database cannot be reached, dropped the connection, refuses connections,
 *   lacks the schema (`flead init db` not run) or the privileges: trying the same batch later may succeed.
 * - `corrupt`, not retriable: the data itself was refused (SQLSTATE classes 22 data exception, 23 integrity
 *   violation): the same rows will always fail, so the caller isolates and dead-letters the offending message.
 *
 * The high-volume tables are written with `COPY` (./copy.ts). The database is the port of ./sql.ts: a
 * PostgreSQL server (local, compose) or the embedded PGlite (embedded profile); both pass the same contract.
 */
import { InfraError } from '../errors';
import { copyText, isoTime as iso } from './copy';
import { inTransaction, isRefusedData, sqlState, type SqlDb, type SqlSession } from './sql';

export type SinkTable = 'readings' | 'anomalies' | 'local_updates' | 'global_models' | 'round_events';
export const sinkTables: readonly SinkTable[] = ['readings', 'anomalies', 'local_updates', 'global_models', 'round_events'];

/** Timestamps are epoch milliseconds; jsonb columns take any JSON-able value. */
export interface ReadingRow { readingId: string; deviceId: string; ts: number; features: Record<string, number>; label: number | null; attackType: string | null; partition: number; offset: string }
export interface AnomalyRow { readingId: string; detector: string; deviceId: string; ts: number; score: number; threshold: number; severity: string; modelVersion: number | null }
export interface LocalUpdateRow { updateId: string; clientId: string; round: number; baseVersion: number; sampleCount: number; hash: string; metrics: Record<string, number>; sentAt: number }
export interface GlobalModelRow { version: number; hash: string; parentVersion: number | null; round: number; strategy: unknown; updates: unknown; createdAt: number }
export interface RoundEventRow { service: string; seq: number; type: string; round: number | null; data: unknown; at: number }

export type SinkRow =
  | { table: 'readings'; row: ReadingRow }
  | { table: 'anomalies'; row: AnomalyRow }
  | { table: 'local_updates'; row: LocalUpdateRow }
  | { table: 'global_models'; row: GlobalModelRow }
  | { table: 'round_events'; row: RoundEventRow };

export interface SinkBatch {
  consumer: string;
  topic: string;
  partition: number;
  /** the rows of the batch's messages, each with its message's offset (a message may give no row) */
  rows: ReadonlyArray<{ offset: bigint; row: SinkRow }>;
  /** the position after the batch: its last offset + 1 */
  nextOffset: bigint;
}

export interface ApplyResult {
  /** `next_offset` before this transaction (0 when the partition was new) */
  previous: bigint;
  /** rows below `previous`, not inserted again */
  skipped: number;
  /** rows inserted per table (a row whose key already existed is not counted) */
  inserted: Record<SinkTable, number>;
  /** false when the whole batch lay below `previous` (nothing written, the position unchanged) */
  advanced: boolean;
}

export interface SinkStore {
  readonly describe: string;
  /** Apply one batch in one transaction (see the file comment for errors). */
  apply(batch: SinkBatch): Promise<ApplyResult>;
  /** The committed positions of a consumer. */
  offsets(consumer: string): Promise<Array<{ topic: string; partition: number; nextOffset: bigint }>>;
  /** Rows per table (exact `count(*)`: for tests and inspection of small tables, not a hot path). */
  countRows(): Promise<Record<SinkTable, number>>;
  close(): Promise<void>;
}

export const sinkStoreDefaults = {
  /** a table's rows in one batch from which COPY (under a savepoint) is used instead of a multi-row insert */
  copyMinRows: 200,
} as const;

const emptyCounts = (): Record<SinkTable, number> => ({ readings: 0, anomalies: 0, local_updates: 0, global_models: 0, round_events: 0 });

const json = (v: unknown): string => JSON.stringify(v);

/** One `insert … select from unnest(…)` per table: column list, array casts and the row → column values. */
/** COPY text of a string (escapes only when needed: the common case allocates nothing). */
const esc = (s: string): string => (/[\\\n\r\t]/.test(s) ? copyText(s) : s);
const nullable = (v: string | number | null, f: (x: string | number) => string = String): string => (v === null ? '\\N' : f(v));

/**
 * Per table: the unnest insert, and for the high-volume tables the COPY statement and a row's COPY text line
 * (columns in the same order as the insert's).
 */
const tableSql: { [K in SinkTable]: { sql: string; copy?: { target: string; line: (r: Extract<SinkRow, { table: K }>['row']) => string }; columns: (r: Extract<SinkRow, { table: K }>['row']) => unknown[] } } = {
  readings: {
    copy: {
      target: 'readings (reading_id, device_id, ts, features, label, attack_type, topic_partition, topic_offset)',
      line: (r) => `${esc(r.readingId)}\t${esc(r.deviceId)}\t${iso(r.ts)}\t${esc(json(r.features))}\t${nullable(r.label)}\t${nullable(r.attackType, (x) => esc(String(x)))}\t${r.partition}\t${r.offset}\n`,
    },
    sql: `insert into readings (reading_id, device_id, ts, features, label, attack_type, topic_partition, topic_offset)
      select * from unnest($1::text[], $2::text[], $3::timestamptz[], $4::jsonb[], $5::smallint[], $6::text[], $7::int[], $8::bigint[])
      on conflict do nothing`,
    columns: (r) => [r.readingId, r.deviceId, iso(r.ts), json(r.features), r.label, r.attackType, r.partition, r.offset],
  },
  anomalies: {
    copy: {
      target: 'anomalies (reading_id, detector, device_id, ts, score, threshold, severity, model_version)',
      line: (r) => `${esc(r.readingId)}\t${esc(r.detector)}\t${esc(r.deviceId)}\t${iso(r.ts)}\t${r.score}\t${r.threshold}\t${esc(r.severity)}\t${nullable(r.modelVersion)}\n`,
    },
    sql: `insert into anomalies (reading_id, detector, device_id, ts, score, threshold, severity, model_version)
      select * from unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::float8[], $6::float8[], $7::text[], $8::int[])
      on conflict do nothing`,
    columns: (r) => [r.readingId, r.detector, r.deviceId, iso(r.ts), r.score, r.threshold, r.severity, r.modelVersion],
  },
  local_updates: {
    sql: `insert into local_updates (update_id, client_id, round, base_version, sample_count, hash, metrics, sent_at)
      select * from unnest($1::text[], $2::text[], $3::int[], $4::int[], $5::int[], $6::text[], $7::jsonb[], $8::timestamptz[])
      on conflict do nothing`,
    columns: (r) => [r.updateId, r.clientId, r.round, r.baseVersion, r.sampleCount, r.hash, json(r.metrics), iso(r.sentAt)],
  },
  global_models: {
    sql: `insert into global_models (version, hash, parent_version, round, strategy, updates, created_at)
      select * from unnest($1::int[], $2::text[], $3::int[], $4::int[], $5::jsonb[], $6::jsonb[], $7::timestamptz[])
      on conflict do nothing`,
    columns: (r) => [r.version, r.hash, r.parentVersion, r.round, json(r.strategy), json(r.updates), iso(r.createdAt)],
  },
  round_events: {
    sql: `insert into round_events (service, seq, type, round, data, at)
      select * from unnest($1::text[], $2::bigint[], $3::text[], $4::int[], $5::jsonb[], $6::timestamptz[])
      on conflict do nothing`,
    columns: (r) => [r.service, r.seq, r.type, r.round, json(r.data), iso(r.at)],
  },
};

/** Column-wise arrays of one table's rows (unnest takes one array per column). */
function columnsOf<K extends SinkTable>(table: K, rows: ReadonlyArray<Extract<SinkRow, { table: K }>['row']>): unknown[][] {
  const spec = tableSql[table] as { columns: (r: unknown) => unknown[] };
  const first = rows.length ? spec.columns(rows[0]) : [];
  const cols: unknown[][] = first.map(() => new Array<unknown>(rows.length));
  rows.forEach((r, i) => spec.columns(r).forEach((v, c) => { cols[c]![i] = v; }));
  return cols;
}

/** Refused rows → 'corrupt' (not retriable: the same rows always fail); anything else → the database's 'unavailable'. */
function toInfraError(db: SqlDb, what: string, e: unknown): InfraError {
  // the sink waits out every unavailability: a database refusing connections now (not accepting them, a role
  // being fixed) may accept them later, and the batch stays uncommitted meanwhile
  if (e instanceof InfraError) return e.kind === 'unavailable' && !e.retriable ? new InfraError('unavailable', e.message, true, e.cause) : e;
  if (isRefusedData(e)) return new InfraError('corrupt', `${db.kind === 'pglite' ? 'the embedded database' : 'PostgreSQL'} refused the rows of ${what}: ${e instanceof Error ? e.message : String(e)} (${sqlState(e)})`, false, e);
  return db.unavailable(what, e);
}

/**
 * Insert one table's rows; the number inserted. Large batches of the high-volume tables go by COPY straight
 * into the table under a savepoint (the fast path: a key seen before is rare, since sink_offsets already drops
 * redelivered messages); when a key exists already (23505: the same reading published twice) the savepoint is
 * rolled back and the rows go through `insert … on conflict do nothing`.
 */
async function writeRows(c: SqlSession, table: SinkTable, rows: readonly unknown[]): Promise<number> {
  const spec = tableSql[table] as { sql: string; copy?: { target: string; line: (r: unknown) => string }; columns: (r: unknown) => unknown[] };
  if (spec.copy && rows.length >= sinkStoreDefaults.copyMinRows) {
    let text = '';
    for (const r of rows) text += spec.copy.line(r);
    await c.query('savepoint sink_copy');
    try {
      const n = await c.copyFrom(spec.copy.target, text);
      await c.query('release savepoint sink_copy');
      return n;
    } catch (e) {
      if (sqlState(e) !== '23505') throw e;
      await c.query('rollback to savepoint sink_copy');
    }
  }
  return (await c.query(spec.sql, columnsOf(table, rows as never[]))).rowCount;
}

export function createSinkStore(db: SqlDb): SinkStore {
  async function transaction<T>(what: string, fn: (c: SqlSession) => Promise<T>): Promise<T> {
    try {
      return await inTransaction(db, fn);
    } catch (e) {
      throw toInfraError(db, what, e);
    }
  }

  async function apply(batch: SinkBatch): Promise<ApplyResult> {
    const where = `${batch.topic}[${batch.partition}] up to offset ${batch.nextOffset - 1n}`;
    return transaction(`the batch of ${where}`, async (c) => {
      // insert-or-lock in one statement: the row lock serializes concurrent sinks of this consumer
      const pos = await c.query<{ next_offset: string }>(
        `insert into sink_offsets (consumer, topic, partition, next_offset) values ($1, $2, $3, 0)
         on conflict (consumer, topic, partition) do update set next_offset = sink_offsets.next_offset
         returning next_offset`,
        [batch.consumer, batch.topic, batch.partition],
      );
      const previous = BigInt(pos.rows[0]!.next_offset);
      const inserted = emptyCounts();
      if (batch.nextOffset <= previous) return { previous, skipped: batch.rows.length, inserted, advanced: false };
      const fresh = batch.rows.filter((r) => r.offset >= previous);
      const byTable = new Map<SinkTable, unknown[]>();
      for (const { row } of fresh) {
        let list = byTable.get(row.table);
        if (!list) byTable.set(row.table, (list = []));
        list.push(row.row);
      }
      for (const table of sinkTables) {
        const rows = byTable.get(table);
        if (rows?.length) inserted[table] = await writeRows(c, table, rows);
      }
      await c.query('update sink_offsets set next_offset = $4 where consumer = $1 and topic = $2 and partition = $3', [
        batch.consumer, batch.topic, batch.partition, batch.nextOffset.toString(),
      ]);
      return { previous, skipped: batch.rows.length - fresh.length, inserted, advanced: true };
    });
  }

  async function offsets(consumer: string) {
    try {
      const r = await db.session((c) =>
        c.query<{ topic: string; partition: number; next_offset: string }>('select topic, partition, next_offset from sink_offsets where consumer = $1 order by topic, partition', [consumer]));
      return r.rows.map((x) => ({ topic: x.topic, partition: x.partition, nextOffset: BigInt(x.next_offset) }));
    } catch (e) {
      throw toInfraError(db, `reading the offsets of ${consumer}`, e);
    }
  }

  async function countRows() {
    try {
      const r = await db.session((c) =>
        c.query<Record<SinkTable, string>>(`select ${sinkTables.map((t) => `(select count(*) from ${t}) as ${t}`).join(', ')}`));
      const row = r.rows[0]!;
      const out = emptyCounts();
      for (const t of sinkTables) out[t] = Number(row[t]);
      return out;
    } catch (e) {
      throw toInfraError(db, 'counting rows', e);
    }
  }

  return { describe: db.describe, apply, offsets, countRows, close: () => db.close() };
}
