/**
 * `flead init <what>`: one-shot set-up jobs that exit 0 on success (compose waits for them with
 * `service_completed_successfully`). `flead init db` creates the database when missing and applies the
 * schema migrations (src/infra/db/migrations.ts). `flead init grafana` upserts the datasource, folder and
 * dashboards through Grafana's HTTP API (src/cli/grafana-init.ts). Exit codes: 0 done (also when there was
 * nothing to do), 1 the database or Grafana cannot be reached or refuses (with a sentence), 2 bad arguments
 * or PG* / GRAFANA_* settings.
 */
import { isLeft } from 'fp-ts/Either';
import type { CommandSpec } from './args';
import type { Config } from '../config';
import { createLogger, type Logger } from '../infra/log';
import { InfraError } from '../infra/errors';
import { createPgDb, describePg, ensureDatabase, isConnectionFailure, pgSettingsFromEnv, type PgSettings } from '../infra/db/pg';
import { embeddedDbDir, openEmbeddedDb } from '../infra/db/open';
import { migrate, type MigrateResult } from '../infra/db/migrations';
import { runInitGrafana } from './grafana-init';
import { initTopics, topicPlan } from '../infra/kafka/topics';
import { partitionsKept } from '../protocols/topics';

/** Targets `flead init` knows. */
export const initTargets = ['db', 'topics', 'grafana'] as const;

export const initSpec: CommandSpec = {
  name: 'flead init',
  summary: 'Set up shared infrastructure once, then exit 0. "db": create the PostgreSQL database (PGDATABASE) if missing and apply the schema migrations (idempotent; TimescaleDB hypertables, continuous aggregates and retention when the extension is available, plain tables and views otherwise). Connection: PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE. "grafana": create or update the FLEAD PostgreSQL datasource (uid flead-postgres), the FLEAD folder and the dashboards through Grafana\'s HTTP API (idempotent). Grafana: GRAFANA_URL (default http://127.0.0.1:3001), GRAFANA_USER / GRAFANA_PASSWORD (admin/admin) or GRAFANA_TOKEN; the datasource connects to PG* as Grafana\'s server sees it (GRAFANA_PG_HOST overrides PGHOST:PGPORT). "topics": create every Kafka topic (readings, anomalies, model updates, analytics results, dead letters, the journal, its index and snapshots) with its partitions and settings, on KAFKA_BROKERS (idempotent).',
  options: [
    { name: 'wait-seconds', type: 'int', default: 30, description: 'keep retrying while PostgreSQL (db), Kafka (topics) or Grafana (grafana) is not reachable or healthy yet (starting container), with backoff, for up to this long; 0 = try once' },
  ],
  positionals: [{ name: 'what', required: true, description: 'what to set up: db | topics | grafana' }],
};

/** Backoff between connection attempts: 250 ms doubling up to 4 s. */
export const retryDefaults = { firstDelayMs: 250, maxDelayMs: 4000 } as const;

export async function runInit(values: Record<string, unknown>, config: Config, env: Record<string, string | undefined> = process.env): Promise<number> {
  const what = values.what as string | undefined;
  if (!(initTargets as readonly string[]).includes(what ?? '')) {
    process.stderr.write(`flead init: unknown target "${what ?? ''}"; targets are ${initTargets.join(', ')} (flead init --help)\n`);
    return 2;
  }
  if (what === 'grafana') return runInitGrafana(values, config, env);
  if (what === 'topics') return runInitTopics(values, config);
  if (config.profile === 'embedded') return runInitEmbeddedDb(config);
  const settings = pgSettingsFromEnv(env);
  if (isLeft(settings)) {
    process.stderr.write(`flead init: configuration error: ${settings.left}\n`);
    return 2;
  }
  const log = createLogger('init-db', config.logLevel);
  try {
    const { created, result } = await withRetries(settings.right, Number(values['wait-seconds'] ?? 30) * 1000, log, () => initDb(settings.right, log));
    const applied = result.applied.length ? `applied migration(s) ${result.applied.join(', ')}` : 'nothing to apply';
    process.stdout.write(`flead init db: ${describePg(settings.right)}${created ? ' (created)' : ''}: schema mode ${result.mode}, ${applied}; schema at version ${result.current}\n`);
    return 0;
  } catch (e) {
    const sentence = e instanceof Error ? e.message : String(e);
    process.stderr.write(`flead init db: ${sentence}\n`);
    return 1;
  }
}

/** Create the database if missing, then migrate it. Connection failures come out as `InfraError('unavailable')`. */
export async function initDb(settings: PgSettings, log: Logger): Promise<{ created: boolean; result: MigrateResult }> {
  const created = await ensureDatabase(settings);
  if (created) log.info(`created database ${settings.database} on ${settings.host}:${settings.port}`);
  const db = createPgDb(settings, { max: 1, onIdleError: (e) => log.warn(`idle PostgreSQL connection failed: ${e.message}`) });
  try {
    const result = await migrate(db, { log });
    return { created, result };
  } catch (e) {
    throw isConnectionFailure(e) ? db.unavailable('migrating', e) : e;
  } finally {
    await db.close();
  }
}

/** `FLEAD_PROFILE=embedded flead init db`: migrate the embedded database under FLEAD_DATA_DIR (npm start does it too). */
async function runInitEmbeddedDb(config: Config): Promise<number> {
  const log = createLogger('init-db', config.logLevel);
  const dir = embeddedDbDir(config);
  try {
    const { db, schema: result } = await openEmbeddedDb(dir, log);
    try {
      const applied = result.applied.length ? `applied migration(s) ${result.applied.join(', ')}` : 'nothing to apply';
      process.stdout.write(`flead init db: ${db.describe}: schema mode ${result.mode}, ${applied}; schema at version ${result.current}\n`);
      return 0;
    } finally {
      await db.close();
    }
  } catch (e) {
    process.stderr.write(`flead init db: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  }
}

/** Retry `fn` on retriable infrastructure errors until `waitMs` has passed; other errors end at once. */
async function withRetries<T>(settings: PgSettings, waitMs: number, log: Logger, fn: () => Promise<T>): Promise<T> {
  const until = Date.now() + waitMs;
  let delay: number = retryDefaults.firstDelayMs;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (e) {
      const retriable = e instanceof InfraError && e.retriable;
      const left = until - Date.now();
      if (!retriable || left <= 0) {
        if (retriable && attempt > 1) throw new InfraError('unavailable', `${(e as Error).message}; gave up after ${attempt} attempts in ${Math.round(waitMs / 1000)} s`, true, e);
        throw e;
      }
      const wait = Math.min(delay, left);
      log.warn(`PostgreSQL at ${settings.host}:${settings.port} is not ready (attempt ${attempt}): ${(e as Error).message}; retrying in ${(wait / 1000).toFixed(1)} s`);
      await new Promise((r) => setTimeout(r, wait));
      delay = Math.min(delay * 2, retryDefaults.maxDelayMs);
    }
  }
}

/** `flead init topics`: create the Kafka topics, retrying while the broker starts. */
export async function runInitTopics(values: Record<string, unknown>, config: Config): Promise<number> {
  const log = createLogger('init-topics', config.logLevel);
  const until = Date.now() + Number(values['wait-seconds'] ?? 30) * 1000;
  let delay: number = retryDefaults.firstDelayMs;
  for (;;) {
    try {
      const topics = await initTopics(config.kafkaBrokers, config.topics, config.readingsPartitions);
      const created = topics.filter((t) => t.created).length;
      for (const t of topics) log.info(`${t.topic}: ${t.partitions} partition(s)${t.created ? ' (created)' : ''}`);
      for (const sentence of partitionsKept(topicPlan(config.topics, config.readingsPartitions), topics)) log.warn(sentence);
      process.stdout.write(`flead init topics: ${topics.length} topics on ${config.kafkaBrokers}, ${created} created, ${topics.length - created} already there\n`);
      return 0;
    } catch (e) {
      const sentence = `cannot set up the topics on ${config.kafkaBrokers}: ${(e as Error).message}`;
      if (Date.now() + delay > until) {
        process.stderr.write(`flead init topics: ${sentence}\n`);
        return 1;
      }
      log.warn(`${sentence}; retrying in ${delay} ms`);
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(retryDefaults.maxDelayMs, delay * 2);
    }
  }
}
