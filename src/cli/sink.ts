/**
 * `flead sink`: Kafka → PostgreSQL. Reads edge-iiot-stream, anomalies, local-model-updates (metadata),
 * global-model-updates (versions) and the aggregator's round events, and writes them in batches, exactly
 * once (see src/actors/sink/service.ts). Exit codes: 0 stopped by a signal, 1 cannot start (Kafka), 2 bad
 * arguments or configuration. An unreachable PostgreSQL is not fatal: the sink waits for it (health degraded).
 */
import { isLeft } from 'fp-ts/Either';
import { randomBytes } from 'node:crypto';
import type { CommandSpec } from './args';
import type { Config } from '../config';
import { createLogger } from '../infra/log';
import { createKafkaBus } from '../infra/bus/kafka-bus';
import { createKafkaJournal } from '../infra/journal/kafka-journal';
import { createPgDb, describePg, pgSettingsFromEnv } from '../infra/db/pg';
import { createSinkStore } from '../infra/db/sink-store';
import { startInspectionServer } from '../infra/http/inspection-server';
import { startSink } from '../actors/sink/service';
import { sinkSettingsFromEnv } from '../actors/sink/settings';
import { Starting } from './starting';
import { stopWithin, untilSignal } from './signals';

export const sinkSpec: CommandSpec = {
  name: 'flead sink',
  summary: 'Run the sink: write readings, anomalies, local update metadata, global model versions and round events from Kafka into PostgreSQL, in batches, exactly once (PG* for the database; SINK_* for the consumer name and the backoff while the database is down). Run `flead init db` first.',
  options: [
    { name: 'inspect-port', type: 'int', description: 'port of the inspection endpoint (0 = ephemeral)', env: 'INSPECT_PORT' },
    { name: 'consumer', type: 'string', description: 'consumer name: Kafka consumer group (after FLEAD_TOPIC_PREFIX) and key of its positions in sink_offsets', env: 'SINK_CONSUMER' },
  ],
};

export async function runSink(values: Record<string, unknown>, config: Config, env: Record<string, string | undefined> = process.env): Promise<number> {
  const pg = pgSettingsFromEnv(env);
  const settings = sinkSettingsFromEnv({ ...env, ...(values.consumer === undefined ? {} : { SINK_CONSUMER: String(values.consumer) }) });
  if (isLeft(pg) || isLeft(settings)) {
    process.stderr.write(`flead sink: configuration error: ${[isLeft(pg) ? pg.left : '', isLeft(settings) ? settings.left : ''].filter(Boolean).join('; ')}\n`);
    return 2;
  }
  if (config.profile !== 'local') {
    process.stderr.write('flead sink: runs in the local profile only (Kafka + PostgreSQL); in the embedded profile the sink runs inside flead embedded (npm start), writing to its embedded database\n');
    return 2;
  }
  const log = createLogger('sink', config.logLevel);
  const bus = createKafkaBus({ brokers: config.kafkaBrokers, clientId: 'flead-sink', log: (l) => log.warn(l) });
  const store = createSinkStore(createPgDb(pg.right, { max: settings.right.poolSize, onIdleError: (e) => log.warn(`idle PostgreSQL connection failed: ${e.message}`) }));
  try {
    if (settings.right.roundEvents) {
      // The journal topic must exist with the journal's own settings (partitions, unlimited retention) before
      // the group subscribes to it, or the broker would auto-create it with its defaults.
      const journal = await createKafkaJournal({ brokers: config.kafkaBrokers, writerId: `${config.topicPrefix}sink-topic-check-${randomBytes(4).toString('hex')}`, journalTopic: config.topics.journal, snapshotTopic: config.topics.snapshots });
      await journal.close();
    }
  } catch (e) {
    log.error(`cannot prepare the journal topic ${config.topics.journal}: ${(e as Error).message}`);
    await bus.close();
    await store.close();
    return 1;
  }
  log.info(`bus: ${bus.describe}; database: ${describePg(pg.right)}; consumer ${settings.right.consumer}; round events ${settings.right.roundEvents ? 'on' : 'off'}`);
  const start = new Starting();
  start.onStop(() => Promise.all([bus.close(), store.close()]));
  const svc = await start.step(startSink({ config, bus, store, settings: settings.right, log }), (s) => s.stop());
  const http = await start.step(startInspectionServer({ host: config.inspect.host, port: config.inspect.port, routes: svc.routes, log }), (h) => h.close());
  let code = 0;
  const started = svc.ready.then(
    () => log.info(`inspection endpoint ${http.url} (GET /health /metrics /actors /sink /sink/rows)`),
    (e: unknown) => { log.error(`cannot start the consumer: ${(e as Error).message}`); code = 1; process.kill(process.pid, 'SIGTERM'); },
  );
  const signal = await untilSignal();
  await started;
  log.info(`${signal}: stopping`);
  const s = svc.stats();
  await stopWithin(log, () => start.stopAll());
  log.info(`stopped: ${s.messages} message(s) in ${s.batches} batch(es); rows written ${Object.entries(s.written).map(([t, n]) => `${t} ${n}`).join(', ')}; ${s.skipped} already applied, ${s.deadLettered} dead-lettered`);
  return code;
}
