import type { CommandSpec } from './args';
import type { Config } from '../config';
import { createLogger } from '../infra/log';
import { openInfra } from '../infra/profile';
import { startInspectionServer } from '../infra/http/inspection-server';
import * as path from 'node:path';
import { openDataset, type DatasetAdapter } from '../infra/datasets';
import { WSN_PACKAGE } from '../infra/datasets/wsn';
import { startProducer } from '../actors/producer/service';
import { stopWithin, untilStopped } from './signals';
import { Starting } from './starting';

const GENERATED_DEFAULTS = { rows: 20000, devices: 10, seed: 7 } as const;

export const producerSpec: CommandSpec = {
  name: 'flead producer',
  summary: 'Stream a data set into edge-iiot-stream (key = device id), rate-limited, batched, resumable: its read positions are journaled with each batch.',
  options: [
    { name: 'dataset', type: 'string', choices: ['wsn', 'edge-iiotset', 'generated'], description: 'wsn = the Suthaharan sensor data from npm; edge-iiotset = your CSV files (--file); generated = Edge-IIoTset-shaped rows', env: 'DATASET' },
    { name: 'file', type: 'string', description: 'edge-iiotset: a CSV file or a directory of device_N.csv files (required); wsn: a CSV with the WSN columns instead of the npm package (as for flead evaluate)', env: 'DATASET_PATH' },
    { name: 'rate', type: 'string', description: 'messages per second in total, or "unlimited"', env: 'PRODUCER_RATE' },
    { name: 'device-rate', type: 'string', description: 'messages per second per device, or "unlimited"', env: 'PRODUCER_DEVICE_RATE' },
    { name: 'batch-size', type: 'int', min: 1, description: 'readings per batch (one journal transaction)', env: 'PRODUCER_BATCH_SIZE' },
    { name: 'rows', type: 'int', min: 1, description: `rows to generate (--dataset generated; default ${GENERATED_DEFAULTS.rows})` },
    { name: 'devices', type: 'int', min: 1, description: `devices to generate or to split a single Edge-IIoTset file over (default ${GENERATED_DEFAULTS.devices})` },
    { name: 'seed', type: 'int', description: `generator seed (--dataset generated; default ${GENERATED_DEFAULTS.seed})` },
    { name: 'exit-when-done', type: 'boolean', description: 'exit 0 once every row was published (default: keep serving the inspection endpoint)' },
    { name: 'profile', type: 'string', choices: ['local', 'embedded'], description: 'journal and bus: Kafka (local) or on-disk (embedded)', env: 'FLEAD_PROFILE' },
    { name: 'inspect-port', type: 'int', description: 'port of the inspection endpoint (0 = ephemeral)', env: 'INSPECT_PORT' },
  ],
};

export const producerOverrides = (v: Record<string, unknown>) => ({
  DATASET: v.dataset as string | undefined,
  DATASET_PATH: v.file as string | undefined,
  PRODUCER_RATE: v.rate as string | undefined,
  PRODUCER_DEVICE_RATE: v['device-rate'] as string | undefined,
  PRODUCER_BATCH_SIZE: v['batch-size'] === undefined ? undefined : String(v['batch-size']),
  FLEAD_PROFILE: v.profile as string | undefined,
  INSPECT_PORT: v['inspect-port'] === undefined ? undefined : String(v['inspect-port']),
});

/** A sentence when options were given that the data set does not read (they would be ignored), else null. */
export function unusedDatasetOptions(config: Config, values: Record<string, unknown>): string | null {
  const dataset = config.producer.dataset;
  const given = (name: string): boolean => values[name] !== undefined;
  if (dataset === 'generated' && given('file')) return '--file cannot be used with --dataset generated (the rows are generated; use --rows, --devices and --seed)';
  for (const name of ['rows', 'seed']) if (dataset !== 'generated' && given(name)) return `--${name} applies to --dataset generated only, not ${dataset}`;
  if (dataset === 'wsn' && given('devices')) return '--devices does not apply to --dataset wsn: its devices are its four motes';
  return null;
}

/** --rows, --devices and --seed as given, else their defaults. */
const generatorSettings = (values: Record<string, unknown>) => ({
  rows: (values.rows as number | undefined) ?? GENERATED_DEFAULTS.rows,
  devices: (values.devices as number | undefined) ?? GENERATED_DEFAULTS.devices,
  seed: (values.seed as number | undefined) ?? GENERATED_DEFAULTS.seed,
});

/** What the producer reads, in words, e.g. "generated rows (20000 rows, 10 devices, seed 7)". */
export function datasetOrigin(config: Config, values: Record<string, unknown>): string {
  const { rows, devices, seed } = generatorSettings(values);
  const file = config.producer.datasetPath;
  switch (config.producer.dataset) {
    case 'wsn': return file ? `WSN file ${path.resolve(file)}` : `WSN data of ${WSN_PACKAGE}`;
    case 'edge-iiotset': return `Edge-IIoTset ${path.resolve(file)} (${devices} devices for a single file)`;
    case 'generated': return `generated rows (${rows} rows, ${devices} devices, seed ${seed})`;
  }
}

export function datasetFor(config: Config, values: Record<string, unknown>): DatasetAdapter {
  const { rows, devices, seed } = generatorSettings(values);
  const file = config.producer.datasetPath;
  switch (config.producer.dataset) {
    case 'wsn': return openDataset('wsn', file ? { file } : {});
    case 'edge-iiotset': return openDataset('edge-iiotset', { path: file, devices });
    case 'generated': return openDataset('generated', { seed, rows, devices, attackFraction: 0.2 });
  }
}

export async function runProducer(values: Record<string, unknown>, config: Config): Promise<number> {
  const unused = unusedDatasetOptions(config, values);
  if (unused) {
    process.stderr.write(`flead producer: ${unused}\n`);
    return 2;
  }
  const log = createLogger('producer', config.logLevel);
  const adapter = datasetFor(config, values);
  const start = new Starting();
  const infra = await start.step(openInfra(config, 'producer', log), (i) => i.close());
  log.info(`journal: ${infra.journal.describe}; bus: ${infra.bus.describe}`);
  const svc = await start.step(startProducer({ config, adapter, journal: infra.journal, bus: infra.bus, log, origin: datasetOrigin(config, values) }), (s) => s.stop());
  const http = await start.step(startInspectionServer({ host: config.inspect.host, port: config.inspect.port, routes: svc.routes, log }), (h) => h.close());
  log.info(`inspection endpoint ${http.url} (GET /health /metrics /actors /sources)`);
  const stopped = await untilStopped(infra.fenced, values['exit-when-done'] ? svc.done.then(() => 'every row published: stopping') : undefined, svc.refused);
  log[stopped.level](stopped.line);
  await stopWithin(log, () => start.stopAll());
  return stopped.code;
}
