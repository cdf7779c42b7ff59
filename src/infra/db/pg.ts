/**
 * The PostgreSQL adapter (node-postgres). The only module besides its siblings in `src/infra/db/` that imports
 * `pg`. Connection settings use the standard libpq environment variables, with their defaults in one object
 * (`pgDefaults`); errors are `InfraError`s whose message is one sentence naming host, port and reason, and
 * whose `retriable` says whether the same call may succeed later (server starting, refused, unreachable).
 */
import { Pool, type PoolClient } from 'pg';
import { left, right, type Either } from 'fp-ts/Either';
import { InfraError } from '../errors';
import { copyInto } from './copy';
import { isRefusedData, type SqlDb, type SqlSession } from './sql';

export type { Pool, PoolClient };

/** libpq environment variable → default. `PGPASSWORD` empty = no password (trust or peer authentication). */
export const pgDefaults = {
  PGHOST: '127.0.0.1',
  PGPORT: '5432',
  PGUSER: 'postgres',
  PGPASSWORD: '',
  PGDATABASE: 'flead',
} as const;
export type PgEnvName = keyof typeof pgDefaults;

export interface PgSettings {
  host: string;
  port: number;
  user: string;
  /** undefined: no password */
  password: string | undefined;
  database: string;
}

/** Read the libpq variables; Left is a sentence naming the bad variable. Empty values count as unset. */
export function pgSettingsFromEnv(env: Record<string, string | undefined> = process.env): Either<string, PgSettings> {
  const get = (n: PgEnvName): string => {
    const v = env[n];
    return v === undefined || v === '' ? pgDefaults[n] : v;
  };
  const rawPort = get('PGPORT');
  const port = /^\s*\d+\s*$/.test(rawPort) ? Number(rawPort) : NaN;
  if (!(Number.isInteger(port) && port >= 1 && port <= 65535)) return left(`PGPORT must be a port number between 1 and 65535, got "${rawPort}"`);
  const database = get('PGDATABASE');
  if (database.length > 63) return left(`PGDATABASE must be at most 63 bytes long (a PostgreSQL identifier), got "${database}"`);
  const password = get('PGPASSWORD');
  return right({ host: get('PGHOST'), port, user: get('PGUSER'), password: password === '' ? undefined : password, database });
}

/** "postgres@127.0.0.1:5432/flead" (never the password) */
export const describePg = (s: PgSettings): string => `${s.user}@${s.host}:${s.port}/${s.database}`;

export interface PoolOptions {
  /** connections in the pool (default 4) */
  max?: number;
  /** give up on a connection attempt after this long (default 5000 ms) */
  connectTimeoutMs?: number;
  /** called when an idle client fails (the pool replaces it); default: ignore */
  onIdleError?: (err: Error) => void;
}

export const poolDefaults = { max: 4, connectTimeoutMs: 5000 } as const;

/** A pool that connects lazily; never reads `PG*` itself (the settings are explicit). */
export function createPool(settings: PgSettings, options: PoolOptions = {}): Pool {
  const pool = new Pool({
    host: settings.host,
    port: settings.port,
    user: settings.user,
    password: settings.password,
    database: settings.database,
    max: options.max ?? poolDefaults.max,
    connectionTimeoutMillis: options.connectTimeoutMs ?? poolDefaults.connectTimeoutMs,
    application_name: 'flead',
  });
  pool.on('error', (err) => options.onIdleError?.(err));
  return pool;
}

/** One client of the pool; a failure to connect is `connectionError`'s InfraError. */
async function connect(pool: Pool, settings: PgSettings): Promise<PoolClient> {
  try {
    return await pool.connect();
  } catch (e) {
    throw connectionError(settings, e);
  }
}

/**
 * Run `fn` with one client of the pool and release it afterwards; a client whose connection broke is
 * destroyed rather than returned to the pool. Connection failures become `InfraError('unavailable')`.
 */
export async function withClient<T>(pool: Pool, settings: PgSettings, fn: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await connect(pool, settings);
  let broken: Error | undefined;
  try {
    return await fn(client);
  } catch (e) {
    if (isConnectionFailure(e)) broken = e as Error;
    throw e;
  } finally {
    client.release(broken);
  }
}

/** SQLSTATEs and socket codes after which trying again later may succeed. */
const retriableCodes = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ENOTFOUND', 'EPIPE',
  '57P03', // cannot_connect_now: the database system is starting up
  '53300', // too_many_connections
  '08000', '08001', '08003', '08006', // connection exceptions
]);

const reasons: Record<string, string> = {
  ECONNREFUSED: 'connection refused (is PostgreSQL running and listening there?)',
  ENOTFOUND: 'unknown host name',
  EAI_AGAIN: 'host name lookup failed for now',
  ETIMEDOUT: 'timed out',
  EHOSTUNREACH: 'host unreachable',
  '57P03': 'the database system is starting up',
  '28P01': 'password authentication failed',
  '28000': 'the server rejected the user',
};

const codeOf = (e: unknown): string | undefined => {
  const c = (e as { code?: unknown } | null)?.code;
  return typeof c === 'string' ? c : undefined;
};

/** True for socket errors, connection-class SQLSTATEs and connect timeouts: the server may answer later. */
export function isConnectionFailure(e: unknown): boolean {
  const code = codeOf(e);
  if (code && retriableCodes.has(code)) return true;
  const msg = e instanceof Error ? e.message : '';
  return /Connection terminated|timeout expired|connection timeout/i.test(msg);
}

/** An `InfraError('unavailable')` whose message reads "cannot connect to PostgreSQL at host:port as user U: reason". */
export function connectionError(settings: PgSettings, e: unknown): InfraError {
  const code = codeOf(e);
  const raw = e instanceof Error ? e.message : String(e);
  const known = code === '3D000' ? `the database ${settings.database} does not exist` : code ? reasons[code] : undefined;
  const reason = known ? `${known} (${code})${code === '3D000' ? '; flead init db creates it' : ''}` : /timeout/i.test(raw) ? `no answer within the connect timeout (${raw})` : raw || 'unknown error';
  return new InfraError('unavailable', `cannot connect to PostgreSQL at ${settings.host}:${settings.port} as user ${settings.user}: ${reason}`, isConnectionFailure(e), e);
}

/**
 * The database port (./sql.ts) on a pool of this server: sessions are pooled clients; a client is destroyed
 * rather than returned when a statement on it lost the connection or `fn` failed with anything but refused data.
 */
export function createPgDb(settings: PgSettings, options: PoolOptions = {}): SqlDb {
  const pool = createPool(settings, options);
  const describe = `postgresql ${describePg(settings)}`;
  return {
    kind: 'postgresql',
    describe,
    async session(fn) {
      const client = await connect(pool, settings);
      let broken: Error | undefined;
      /** a statement that lost the connection marks the client broken, even when `fn` catches the error */
      const watched = async <T>(statement: Promise<T>): Promise<T> => {
        try {
          return await statement;
        } catch (e) {
          if (isConnectionFailure(e)) broken ??= e as Error;
          throw e;
        }
      };
      const session: SqlSession = {
        async query<R>(text: string, params?: readonly unknown[]) {
          const r = await watched(client.query(text, params ? [...params] : undefined));
          return { rows: r.rows as R[], rowCount: r.rowCount ?? r.rows.length };
        },
        copyFrom: (target, data) => watched(copyInto(client, `copy ${target} from stdin`, data)),
      };
      try {
        return await fn(session);
      } catch (e) {
        if (!isRefusedData(e)) broken ??= e instanceof Error ? e : new Error(String(e));
        throw e;
      } finally {
        client.release(broken);
      }
    },
    unavailable(what, e) {
      if (e instanceof InfraError) return e;
      if (isConnectionFailure(e)) {
        const c = connectionError(settings, e);
        return new InfraError('unavailable', `${c.message} (${what})`, true, e);
      }
      const code = (e as { code?: unknown } | null)?.code;
      return new InfraError('unavailable', `PostgreSQL at ${settings.host}:${settings.port}/${settings.database} failed ${what}: ${e instanceof Error ? e.message : String(e)}${typeof code === 'string' ? ` (${code})` : ''}`, true, e);
    },
    close: () => pool.end(),
  };
}

/** Double-quoted SQL identifier. */
export const quoteIdent = (name: string): string => `"${name.replace(/"/g, '""')}"`;

/**
 * Create `settings.database` when it does not exist, connecting to the `postgres` maintenance database
 * (`template1` when there is none). Returns true when this call created it. Safe to run concurrently: a
 * database created by someone else in the meantime counts as existing. Errors: `InfraError('unavailable')`
 * (retriable or not, see above); lack of the CREATEDB privilege is not retriable.
 */
export async function ensureDatabase(settings: PgSettings, options: Pick<PoolOptions, 'connectTimeoutMs'> = {}): Promise<boolean> {
  for (const maintenance of ['postgres', 'template1']) {
    const admin = { ...settings, database: maintenance };
    const pool = createPool(admin, { max: 1, connectTimeoutMs: options.connectTimeoutMs });
    try {
      return await withClient(pool, admin, async (client) => {
        const found = await client.query('select 1 from pg_database where datname = $1', [settings.database]);
        if (found.rowCount) return false;
        try {
          await client.query(`create database ${quoteIdent(settings.database)}`);
          return true;
        } catch (e) {
          // 42P04 duplicate_database, 23505 unique_violation: created concurrently by another run.
          if (codeOf(e) === '42P04' || codeOf(e) === '23505') return false;
          throw new InfraError('unavailable', `cannot create database ${settings.database} on ${settings.host}:${settings.port} as ${settings.user}: ${(e as Error).message}`, false, e);
        }
      });
    } catch (e) {
      const cause = e instanceof InfraError ? e.cause : e;
      if (maintenance === 'postgres' && codeOf(cause) === '3D000') continue;
      throw e;
    } finally {
      await pool.end();
    }
  }
  throw new InfraError('unavailable', `cannot create database ${settings.database} on ${settings.host}:${settings.port}: neither the postgres nor the template1 database accepts connections`, false);
}
