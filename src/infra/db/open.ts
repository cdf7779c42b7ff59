/**
 * The database of a run profile: `embedded` → PGlite in `<FLEAD_DATA_DIR>/db` (no server); `local` and compose →
 * the PostgreSQL server the libpq variables (PG*) name. Same schema, same stores, same contract.
 */
import path from 'node:path';
import { left, right, type Either } from 'fp-ts/Either';
import type { Config } from '../../config';
import { silentLogger, type Logger } from '../log';
import { migrate, type MigrateResult } from './migrations';
import { createPgDb, pgSettingsFromEnv, type PgSettings, type PoolOptions } from './pg';
import { openPgliteDb } from './pglite';
import type { SqlDb } from './sql';

/** Where the embedded profile keeps its database. */
export const embeddedDbDir = (config: Pick<Config, 'dataDir'>): string => path.join(config.dataDir, 'db');

export type DbTarget = { kind: 'pglite'; dir: string } | { kind: 'postgresql'; settings: PgSettings };

/** The profile's database, or a sentence naming the bad PG* variable. */
export function dbTarget(config: Pick<Config, 'profile' | 'dataDir'>, env: Record<string, string | undefined> = process.env): Either<string, DbTarget> {
  if (config.profile === 'embedded') return right({ kind: 'pglite', dir: embeddedDbDir(config) });
  const pg = pgSettingsFromEnv(env);
  return pg._tag === 'Left' ? left(pg.left) : right({ kind: 'postgresql', settings: pg.right });
}

/**
 * The embedded database, its schema brought up to date: it has no `flead init db` step of its own, so whoever
 * opens it (npm start, `flead analytics`, `flead init db`) migrates it (idempotent; closed again on failure).
 */
export async function openEmbeddedDb(dir: string, log: Logger): Promise<{ db: SqlDb; schema: MigrateResult }> {
  const db = await openPgliteDb(dir);
  try {
    return { db, schema: await migrate(db, { log }) };
  } catch (e) {
    await db.close();
    throw e;
  }
}

export interface OpenOptions extends PoolOptions {
  /** where the embedded database's migration logs (default: nowhere) */
  log?: Logger;
}

/** Open it: a PostgreSQL pool connects lazily; PGlite starts at once, migrated (and refuses a directory another process holds). */
export async function openDb(target: DbTarget, options: OpenOptions = {}): Promise<SqlDb> {
  if (target.kind === 'pglite') return (await openEmbeddedDb(target.dir, options.log ?? silentLogger)).db;
  return createPgDb(target.settings, options);
}

/** Open it, run `fn`, close it (a one-shot job: `flead init db`, a test's or a benchmark's schema). */
export async function withDb<T>(target: DbTarget, fn: (db: SqlDb) => Promise<T>, options: OpenOptions = {}): Promise<T> {
  const db = await openDb(target, options);
  try {
    return await fn(db);
  } finally {
    await db.close();
  }
}
