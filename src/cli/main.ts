/**
 * `flead <command>`: one CLI for every service. Exit codes: 0 ok, 1 failure (or replay differences),
 * 2 bad arguments or configuration (with a sentence saying what is wrong).
 */
import { isLeft } from 'fp-ts/Either';
import { namingOptions, parseArgs, type CommandSpec } from './args';
import { runAggregator, aggregatorSpec } from './aggregator';
import { runReplay, replaySpec } from './replay';
import { runEmbedded, embeddedSpec } from './embedded';
import { runProducer, producerSpec, producerOverrides } from './producer';
import { runEvaluate, evaluateSpec } from './evaluate';
import { runTrainer, trainerSpec } from './trainer';
import { runInit, initSpec } from './init';
import { runAnalytics, analyticsSpec } from './analytics';
import { runSink, sinkSpec } from './sink';
import { loadConfig, type Config, type EnvName } from '../config';

export interface Command {
  spec: CommandSpec;
  /** positionals: the command's positional arguments, in order (see spec.positionals) */
  run(values: Record<string, string | number | boolean | undefined>, config: Config, positionals: string[]): Promise<number>;
  /** command options that override configuration env vars */
  overrides?(values: Record<string, string | number | boolean | undefined>): Partial<Record<EnvName, string>>;
}

const commands: Record<string, Command> = {
  aggregator: { spec: aggregatorSpec, run: runAggregator, overrides: (v) => ({ INSPECT_PORT: v['inspect-port'] === undefined ? undefined : String(v['inspect-port']), FLEAD_PROFILE: v.profile as string | undefined }) },
  producer: { spec: producerSpec, run: runProducer, overrides: producerOverrides },
  trainer: { spec: trainerSpec, run: runTrainer, overrides: (v) => ({ FLEAD_PROFILE: v.profile as string | undefined, INSPECT_PORT: v['inspect-port'] === undefined ? undefined : String(v['inspect-port']) }) },
  replay: { spec: replaySpec, run: runReplay, overrides: (v) => ({ FLEAD_PROFILE: v.profile as string | undefined }) },
  embedded: { spec: embeddedSpec, run: runEmbedded, overrides: (v) => ({ INSPECT_PORT: v['inspect-port'] === undefined ? undefined : String(v['inspect-port']) }) },
  evaluate: { spec: evaluateSpec, run: runEvaluate },
  init: { spec: initSpec, run: (v, c, p) => runInit({ ...v, what: p[0] }, c) },
  analytics: { spec: analyticsSpec, run: (v, c, p) => runAnalytics(v, c, p), overrides: (v) => ({ FLEAD_PROFILE: v.profile as string | undefined, INSPECT_PORT: v['inspect-port'] === undefined ? undefined : String(v['inspect-port']) }) },
  sink: { spec: sinkSpec, run: (v, c) => runSink(v, c), overrides: (v) => ({ INSPECT_PORT: v['inspect-port'] === undefined ? undefined : String(v['inspect-port']) }) },
};

export const usage = `flead: federated anomaly detection on edge IoT streams (event-sourced actors on Kafka)

usage: flead <command> [options]        flead <command> --help for its options

commands:
  aggregator   run the aggregator service: FedAvg / robust rounds over local-model-updates (Kafka)
  producer     stream a data set (WSN, Edge-IIoTset files, generated rows) into edge-iiot-stream
  trainer      score every reading per device (z-score + federated model), emit anomalies, train locally
  replay       rebuild a service's actors from its journal, print their state or events, optionally diff with a live service
  embedded     run producer, trainers, aggregator, sink and analytics in one process: embedded journal, bus and database (PGlite), no Kafka, no PostgreSQL server, no Docker (npm start)
  evaluate     run the federated loop on a labelled data set; compare with the z-score baseline and a centralized model
  init         one-shot set-up, exits 0 when done: init db = create the database and apply the schema migrations (PG* env)
  analytics    batch jobs over the database (anomaly rates, trends, model evaluation): a service, or run <job|all> once
  sink         write readings, anomalies, update metadata, model versions and round events from Kafka into PostgreSQL

configuration comes from environment variables (see README "Configuration").
`;

export async function main(argv: string[]): Promise<number> {
  // `flead replay --events | head`: a reader that went away ends the command quietly, as other CLI tools do
  process.stdout.on('error', (e: NodeJS.ErrnoException) => { if (e.code === 'EPIPE') process.exit(0); else throw e; });
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage);
    return name ? 0 : 2;
  }
  const command = commands[name];
  if (!command) {
    process.stderr.write(`flead: unknown command "${name}"; commands are ${Object.keys(commands).join(', ')} (flead --help)\n`);
    return 2;
  }
  const parsed = parseArgs(command.spec, rest);
  if (!parsed.ok) {
    process.stderr.write(`${command.spec.name}: ${parsed.error}\n`);
    return 2;
  }
  if (parsed.help !== undefined) {
    process.stdout.write(parsed.help.endsWith('\n') ? parsed.help : `${parsed.help}\n`);
    return 0;
  }
  const config = loadConfig(process.env, command.overrides?.(parsed.values) ?? {});
  if (isLeft(config)) {
    process.stderr.write(`${command.spec.name}: configuration error: ${namingOptions(command.spec, config.left)}\n`);
    return 2;
  }
  return command.run(parsed.values, config.right, parsed.positionals);
}
