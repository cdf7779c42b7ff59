/**
 * The database port: what the sink, the analytics jobs and the migrations need from a PostgreSQL-speaking
 * database, and nothing more. Two adapters pass the same contract suite (test/int/db.contract.ts):
 *
 * - `createPgDb` (./pg.ts): a node-postgres pool on a real server (local and compose profiles);
 * - `openPgliteDb` (./pglite.ts): PostgreSQL compiled to WebAssembly, in this process, durable in a directory
 *   (the embedded profile: no server at all).
 *
 * A session is one connection for the duration of `fn` (a transaction spans it); what `fn` throws comes out
 * unchanged, except that a connection that cannot be made is an `InfraError('unavailable')` naming where.
 */
import type { InfraError } from '../errors';

export interface SqlResult<R> {
  rows: R[];
  /** rows returned (select) or changed (insert, update, delete, copy) by the statement */
  rowCount: number;
}

export interface SqlSession {
  /** One statement with `$1…` parameters (JS arrays for array types, strings for jsonb, ISO text or Dates for timestamps). */
  query<R = Record<string, unknown>>(text: string, params?: readonly unknown[]): Promise<SqlResult<R>>;
  /**
   * `COPY <target> FROM …` in text format: `target` is `table (col, …)`, `data` the lines (tab-separated,
   * `\N` for null, see ./copy.ts). Resolves to the rows copied.
   */
  copyFrom(target: string, data: string): Promise<number>;
}

export interface SqlDb {
  readonly kind: 'postgresql' | 'pglite';
  /** "postgresql postgres@127.0.0.1:5432/flead" or "pglite data/db" (never a password) */
  readonly describe: string;
  /**
   * Run `fn` on one session. A session whose `fn` failed with anything but a data error (SQLSTATE classes 22
   * and 23) is discarded, never reused in an unknown state; a transaction `fn` left open is rolled back.
   */
  session<T>(fn: (s: SqlSession) => Promise<T>): Promise<T>;
  /** A failure reaching or talking to the database as an InfraError('unavailable') naming it (passes InfraErrors through). */
  unavailable(what: string, e: unknown): InfraError;
  close(): Promise<void>;
}

/** SQLSTATE of an error thrown by either adapter ('' when it has none). */
export const sqlState = (e: unknown): string => {
  const c = (e as { code?: unknown } | null)?.code;
  return typeof c === 'string' ? c : '';
};

/** SQLSTATE classes that mean "these rows are refused" (not the database's state): 22 data exception, 23 integrity. */
export const isRefusedData = (e: unknown): boolean => /^(22|23)[0-9A-Z]{3}$/.test(sqlState(e));

/** `fn` inside begin … commit on one session; rolled back when it throws. */
export function inTransaction<T>(db: SqlDb, fn: (s: SqlSession) => Promise<T>): Promise<T> {
  return db.session(async (s) => {
    await s.query('begin');
    try {
      const out = await fn(s);
      await s.query('commit');
      return out;
    } catch (e) {
      await s.query('rollback').catch(() => undefined);
      throw e;
    }
  });
}
