import { randomBytes } from 'node:crypto';
import { isLeft } from 'fp-ts/Either';
import { namingOptions, type CommandSpec } from './args';
import { loadConfig, type Config } from '../config';
import { createLogger } from '../infra/log';
import { openInfra } from '../infra/profile';
import { startInspectionServer } from '../infra/http/inspection-server';
import { startAggregator } from '../actors/aggregator/service';
import { startProducer } from '../actors/producer/service';
import { startTrainer } from '../actors/trainer/service';
import { labelledModelSpec } from '../actors/trainer/model';
import { startLiveEvaluation } from '../actors/evaluation/live';
import type { RoundState } from '../actors/aggregator/round.state';
import { mergedRoutes } from '../actors/runtime/service-runtime';
import { datasetFor, datasetOrigin } from './producer';
import { claimRunDirs, runFile, runIdentity } from './embedded-run';
import { Starting } from './starting';
import { embeddedDbDir, openEmbeddedDb } from '../infra/db/open';
import { createSinkStore } from '../infra/db/sink-store';
import { createAnalyticsStore } from '../infra/db/analytics-store';
import type { SqlDb } from '../infra/db/sql';
import { startSink, type SinkService } from '../actors/sink/service';
import { copyJournalRounds } from '../actors/sink/journal-rounds';
import type { Journal } from '../infra/journal/port';
import { analyticsJobs } from '../actors/analytics/settings';
import { runJob, type JobRun } from '../actors/analytics/runner';
import { renderRuns } from './analytics';
import type { Logger } from '../infra/log';
import type { Bus } from '../infra/bus/port';

/** What the final table covers: every reading, or those the bus still held (EMBEDDED_BUS_RETAIN) and the run read. */
export function readingsCovered(covered: number, published: number, retain: number): string {
  return covered >= published ? 'every reading streamed' : `${covered} of the ${published} readings: those the bus still held (it keeps ${retain} a partition) and this run read`;
}

export const embeddedSpec: CommandSpec = {
  name: 'flead embedded',
  summary: 'Run the whole federated loop in one process: producer → per-device trainers → aggregator, with the sink writing readings, anomalies and models into the embedded database (PGlite) and the analytics jobs run over it at the end; journal, bus and database under FLEAD_DATA_DIR (no Kafka, no PostgreSQL server, no Docker). Prints the detection quality when the data is exhausted; Ctrl-C stops, a second run resumes from the journal.',
  options: [
    { name: 'dataset', type: 'string', choices: ['wsn', 'generated'], default: 'wsn', description: 'wsn = the Suthaharan sensor data (4 motes, labelled); generated = Edge-IIoTset-shaped rows' },
    { name: 'rows', type: 'int', min: 1, default: 20000, description: 'rows to generate (--dataset generated)' },
    { name: 'devices', type: 'int', min: 1, default: 4, description: 'devices to generate (--dataset generated)' },
    { name: 'seed', type: 'int', default: 7, description: 'generator seed (--dataset generated)' },
    { name: 'rate', type: 'string', default: 'unlimited', description: 'readings per second in total, or "unlimited"', env: 'PRODUCER_RATE' },
    { name: 'inspect-port', type: 'int', description: 'port of the inspection endpoint (0 = ephemeral)', env: 'INSPECT_PORT' },
  ],
};

const pct = (x: number) => x.toFixed(3);

/** The embedded sink's name: its positions in sink_offsets. */
const sinkConsumer = 'flead-sink';

export async function runEmbedded(values: Record<string, unknown>, envConfig: Config): Promise<number> {
  const dataset = values.dataset as 'wsn' | 'generated';
  // Generated Edge-IIoTset rows carry many features and labels: one planning pass fixes the feature order for
  // every device (so all models have the same shape), and the model is a binary classifier on the labels.
  let modelOverrides: { MODEL_FEATURES?: string; MODEL_SPEC?: string } = {};
  if (dataset === 'generated' && !process.env.MODEL_SPEC) {
    const probe = datasetFor({ ...envConfig, producer: { ...envConfig.producer, dataset: 'generated' } }, values);
    for await (const _ of probe.rows()) { /* learn the one-hot vocabulary */ }
    const names = [...probe.featureNames];
    modelOverrides = { MODEL_FEATURES: names.join(','), MODEL_SPEC: JSON.stringify(labelledModelSpec(names.length)) };
  }
  const decoded = loadConfig(process.env, {
    ...modelOverrides,
    FLEAD_PROFILE: 'embedded',
    DATASET: dataset,
    PRODUCER_RATE: values.rate as string,
    PRODUCER_BATCH_SIZE: process.env.PRODUCER_BATCH_SIZE ?? '250',
    ROUND_QUORUM: process.env.ROUND_QUORUM ?? String(dataset === 'wsn' ? 4 : (values.devices as number)),
    ROUND_MIN_UPDATES: process.env.ROUND_MIN_UPDATES ?? '2',
    ROUND_DEADLINE_MS: process.env.ROUND_DEADLINE_MS ?? '15000',
    ROUND_INTERVAL_MS: process.env.ROUND_INTERVAL_MS ?? '200',
    INSPECT_PORT: String(envConfig.inspect.port),
  });
  if (isLeft(decoded)) { process.stderr.write(`flead embedded: configuration error: ${namingOptions(embeddedSpec, decoded.left)}\n`); return 2; }
  const config = decoded.right;
  const log = createLogger('embedded', config.logLevel);
  const adapter = datasetFor(config, values);
  const claimed = await claimRunDirs(config, runIdentity(config, values), `npx flead ${process.argv.slice(2).join(' ')}`);
  if (!claimed.ok) { process.stderr.write(`flead embedded: ${claimed.reason}\n`); return 2; }
  if (claimed.recorded === 'new') log.info(`recorded this run (data set ${adapter.name}, model ${config.model.spec.kind}) in ${config.dataDir}/${runFile} and ${config.modelsDir}/${runFile}: a later run on these directories must have the same settings`);
  // the database first: its lock (one process at a time) then guards the journal and bus under the same directory
  let db: SqlDb;
  try {
    ({ db } = await openEmbeddedDb(embeddedDbDir(config), log.child('db')));
  } catch (e) {
    process.stderr.write(`flead embedded: ${(e as Error).message}\n`);
    return 1;
  }
  const start = new Starting();
  start.onStop(() => db.close());
  const infra = await start.step(openInfra(config, 'embedded'), (i) => i.close());
  log.info(`embedded profile: journal ${infra.journal.describe}; bus ${infra.bus.describe}; database ${db.describe}; models ${infra.store.dir}; data set ${adapter.name}`);
  const started = Date.now();
  const aggregator = await start.step(startAggregator({ config, ...infra, log: log.child('aggregator') }), (s) => s.stop());
  const trainer = await start.step(startTrainer({ config, journal: infra.journal, bus: infra.bus, log: log.child('trainer'), instanceId: 'embedded' }), (s) => s.stop());
  const evaluation = await start.step(startLiveEvaluation(infra.bus, config.topics, `embedded-${randomBytes(4).toString('hex')}-`), (e) => e.stop());
  const producer = await start.step(startProducer({ config, adapter, journal: infra.journal, bus: infra.bus, log: log.child('producer'), origin: datasetOrigin(config, values) }), (s) => s.stop());
  // round events live in the embedded journal, not on the bus: the sink writes readings, anomalies, updates and
  // models, and the aggregator's events are copied from the journal at the end (copyJournalRounds)
  const sink = await start.step(startSink({ config, bus: infra.bus, store: createSinkStore(db), settings: { consumer: sinkConsumer, roundEvents: false, backoff: { minMs: 250, maxMs: 5000 }, poolSize: 1 }, log: log.child('sink') }), (s) => s.stop());
  const roundState = () => aggregator.registry.get('aggregator/round')?.state as RoundState | undefined;
  const health = () => ({ status: 'ok', profile: 'embedded', producer: producer.progress(), devices: trainer.devices().length, version: roundState()?.version ?? null });
  const http = await start.step(startInspectionServer({ host: config.inspect.host, port: config.inspect.port, routes: mergedRoutes([aggregator, trainer, producer, sink], health), log }), (h) => h.close());
  await start.step(Promise.all([aggregator.ready, trainer.ready, sink.ready]));
  log.info(`inspection endpoint ${http.url} (GET /health /metrics /actors /supervision /rounds /models /devices /sources /sink /sink/rows); Ctrl-C stops, a second run resumes`);

  let interrupted = false;
  const onSignal = () => { interrupted = true; };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let done = false;
  void producer.done.then(() => { done = true; });
  let refused = false; // the journal's positions count records of other data (the producer logged why)
  void producer.refused.then(() => { refused = true; interrupted = true; });
  // Data exhausted → wait until the trainers have scored every reading the producer published and the sink has
  // stood still too (a resumed run whose data was already exhausted has nothing new: then both just stay still).
  // (the sink's readings and anomalies only: models and updates go on while the rounds do)
  const consumed = () => ((trainer.registry.get('trainer/ingest')?.state as { readings?: number } | undefined)?.readings ?? 0) + sink.stats().written.readings + sink.stats().written.anomalies;
  let last = { consumed: -1, at: Date.now() };
  while (!interrupted) {
    await new Promise((r) => setTimeout(r, 250));
    const c = consumed();
    if (c !== last.consumed) last = { consumed: c, at: Date.now() };
    if (!done) continue;
    const p = producer.progress();
    const scored = trainer.devices().reduce((n, id) => n + (((trainer.routes.find((r) => r.pattern === '/devices/:id')!.handler({ id }, new URLSearchParams()) as { seen?: number } | undefined)?.seen) ?? 0), 0);
    const still = Date.now() - last.at > 2000;
    if ((scored >= p.published && still) || (still && Date.now() - last.at > 4000)) break;
  }
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  const table = evaluation.table(['zscore', config.model.spec.kind]);
  await producer.stop();
  await trainer.stop();
  await aggregator.stop();
  const s = roundState(); // after the stop: a round closing during shutdown is included
  await sink.stop();
  const database = interrupted ? undefined : await databaseSummary(db, sink, config, infra, log.child('analytics'));
  await evaluation.stop();
  await http.close();
  await db.close();
  await infra.close();
  if (refused) return 2;

  const lines = [
    `${interrupted ? 'interrupted' : 'data exhausted'} after ${((Date.now() - started) / 1000).toFixed(1)} s: ${producer.progress().published} readings from ${trainer.devices().length || producer.progress().sources} devices, ${evaluation.anomalies()} anomalies, global version ${s?.version ?? '-'} after ${s?.rounds.length ?? 0} rounds`,
    '',
    `detector     precision  recall  F1      TP     FP     FN      TN   (label 1 = anomaly; ${readingsCovered(evaluation.readings(), producer.progress().published, config.busRetain)}, no train/test split)`,
  ];
  for (const [d, m] of Object.entries(table)) {
    lines.push(`${d.padEnd(11)}  ${pct(m.precision).padStart(9)}  ${pct(m.recall).padStart(6)}  ${pct(m.f1).padEnd(6)}  ${String(m.tp).padStart(5)}  ${String(m.fp).padStart(5)}  ${String(m.fn).padStart(5)}  ${String(m.tn).padStart(6)}`);
  }
  if (s) {
    lines.push('', 'round  status      accepted  version');
    for (const r of s.rounds.slice(-8)) lines.push(`${String(r.round).padStart(5)}  ${r.status.padEnd(10)}  ${String(r.accepted.length).padStart(8)}  ${String(r.version ?? '-').padStart(7)}`);
  }
  if (database) lines.push('', ...database);
  lines.push('', `journal, bus, database and models are under ${config.dataDir} and ${config.modelsDir}; run again to resume (flead evaluate compares federated, z-score and centralized models on a time-ordered split)`);
  const dataDirEnv = process.env.FLEAD_DATA_DIR ? ` FLEAD_DATA_DIR=${process.env.FLEAD_DATA_DIR}` : '';
  lines.push(`analytics over the embedded database again (results in its analytics_* tables): FLEAD_PROFILE=embedded${dataDirEnv} npx flead analytics run all`);
  lines.push(`rebuild or audit any actor from the journal: FLEAD_PROFILE=embedded${dataDirEnv} npx flead replay --service trainer|producer|aggregator [--actor ID] [--events]`);
  process.stdout.write(`${lines.join('\n')}\n`);
  return 0;
}

/**
 * What the sink wrote (rows per table in the embedded database, this run's messages) and one run of every
 * analytics job over it, the model evaluation shown: lines for the final report. A failing job is reported, not fatal.
 */
async function databaseSummary(db: SqlDb, sink: SinkService, config: Config, infra: { journal: Journal; bus: Bus }, log: Logger): Promise<string[]> {
  const st = sink.stats();
  const store = createSinkStore(db);
  const rounds = await copyJournalRounds(infra.journal, store, config.topics, sinkConsumer);
  const counts = await store.countRows();
  const lines = [
    `database ${db.describe} (plain tables; the sink wrote this run: ${Object.entries({ ...st.written, round_events: rounds.inserted }).filter(([, n]) => n > 0).map(([t, n]) => `${t} ${n}`).join(', ') || 'nothing new'} in ${st.batches} transaction(s); ${st.deadLettered} dead-lettered)`,
    `  rows in all: ${Object.entries(counts).map(([t, n]) => `${t} ${n}`).join(', ')}`,
  ];
  const analytics = createAnalyticsStore(db);
  const runs: JobRun[] = [];
  for (const job of analyticsJobs) runs.push(await runJob(job, { since: null, topN: 5 }, { store: analytics, bus: infra.bus, topic: config.topics.analytics, log: log.child(job.name), keepRuns: 5 }));
  lines.push(`analytics: ${runs.map((r) => `${r.job} ${r.status}${r.error ? ` (${r.error})` : ''}, ${r.rows} row(s)`).join('; ')}`);
  const evaluation = runs.find((r) => r.job === 'model-evaluation');
  if (evaluation?.status === 'ok') lines.push(...renderRuns([evaluation], 8).trimEnd().split('\n').slice(1));
  return lines;
}
