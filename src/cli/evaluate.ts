/**
 * `flead evaluate`: the federated loop on a labelled data set, in one process (no Kafka), compared with the z-score
 * baseline and a centrally trained model of the same architecture (src/actors/evaluation/evaluate.ts).
 *
 * Presets per data set (each can be overridden by its option):
 * - wsn: binary, autoencoder [8, 3, 8] over the residuals of humidity and temperature against the median of the
 *   mote's previous RESIDUAL_WINDOW readings (30, as the trainers), alarm above the client's largest training
 *   error (the 1.0 quantile). Default split
 *   45% / 55%: in the Suthaharan data every labelled anomaly lies between 47% and 56% of its mote's stream, so the
 *   usual 70/30 split would leave no anomaly to test on (every F1 would be 0/0 = 0).
 * - edge-iiotset, generated: 15-class classifier [64, 32] on the standardised features, split 70% / 30%.
 * Prints a table row per round as the rounds finish, then the clients and a final comparison; with --json only the
 * report as one JSON document. Exit codes: 0 ok, 1 failure (unreadable data), 2 bad arguments.
 */
import type { CommandSpec } from './args';
import type { Config } from '../config';
import { openDataset, type DatasetAdapter } from '../infra/datasets';
import { evaluate, splitSentence, type EvaluateOptions, type EvaluationReport, type RoundResult, type Scores } from '../actors/evaluation/evaluate';
import type { StrategyConfig } from '../actors/aggregator/strategies';

export const evaluateSpec: CommandSpec = {
  name: 'flead evaluate',
  summary:
    'Run the federated loop on a labelled data set (devices = clients) and compare the federated model with the z-score baseline and a centrally trained model of the same architecture, on a time-ordered train/test split per device.',
  options: [
    { name: 'dataset', type: 'string', required: true, choices: ['wsn', 'edge-iiotset', 'generated'], description: 'wsn = the Suthaharan sensor data from npm (or --file); edge-iiotset = an Edge-IIoTset CSV file or directory (--file); generated = Edge-IIoTset-shaped rows' },
    { name: 'file', type: 'string', description: 'edge-iiotset: a CSV file or a directory (required); wsn: a CSV with the WSN columns instead of the npm package' },
    { name: 'rounds', type: 'int', min: 1, default: 10, description: 'federated rounds (the centralized model trains rounds × local-epochs epochs)' },
    { name: 'local-epochs', type: 'int', min: 1, default: 2, description: 'epochs each client trains per round' },
    { name: 'strategy', type: 'string', default: 'fedavg', choices: ['fedavg', 'median', 'trimmed-mean'], description: 'aggregation strategy' },
    { name: 'trim-ratio', type: 'number', default: 0.25, description: 'share trimmed from each end per parameter (--strategy trimmed-mean)' },
    { name: 'seed', type: 'int', default: 1, description: 'seed of the initial model, the shuffling and the generator' },
    { name: 'train-fraction', type: 'number', description: 'share of each device\'s readings, in time order, that trains (default: 0.45 for wsn, 0.7 otherwise)' },
    { name: 'rows', type: 'int', min: 1, description: 'rows to generate (--dataset generated; default 3000)' },
    { name: 'devices', type: 'int', min: 1, description: 'devices = clients (--dataset generated, default 4; edge-iiotset rows of files not named device_N.csv are split over this many, default 10)' },
    { name: 'max-rows', type: 'int', min: 1, description: 'read at most this many rows (large Edge-IIoTset files)' },
    { name: 'json', type: 'boolean', description: 'print only the report as one JSON document' },
  ],
};

type Values = Record<string, string | number | boolean | undefined>;

const GENERATED_DEFAULTS = { rows: 3000, devices: 4 } as const;

/** Cross-option checks; a sentence saying why, or null. */
function checkValues(v: Values): string | null {
  const given = (name: string): boolean => v[name] !== undefined;
  const dataset = v.dataset as string;
  if (dataset === 'edge-iiotset' && v.file === undefined) {
    return '--file is required with --dataset edge-iiotset: the data set is licensed, so point it at your CSV file or directory';
  }
  if (dataset === 'generated' && v.file !== undefined) return '--file cannot be used with --dataset generated (the rows are generated; use --rows and --devices)';
  if (dataset !== 'generated' && given('rows')) return `--rows applies to --dataset generated only, not ${dataset}`;
  if (dataset === 'wsn' && given('devices')) return '--devices does not apply to --dataset wsn: its clients are its four motes';
  const tf = v['train-fraction'];
  if (tf !== undefined && !((tf as number) > 0 && (tf as number) < 1)) return `--train-fraction must be between 0 and 1 (exclusive), got ${tf}`;
  const trim = v['trim-ratio'] as number;
  if (v.strategy === 'trimmed-mean' && !(trim >= 0 && trim < 0.5)) return `--trim-ratio must be in [0, 0.5) so at least one value per parameter is kept, got ${trim}`;
  return null;
}

function openFor(v: Values): DatasetAdapter {
  const devices = v.devices as number | undefined;
  switch (v.dataset) {
    case 'wsn':
      return openDataset('wsn', v.file === undefined ? {} : { file: v.file as string });
    case 'edge-iiotset':
      return openDataset('edge-iiotset', { path: v.file as string, ...(devices !== undefined ? { devices } : {}) });
    default:
      return openDataset('generated', {
        seed: v.seed as number,
        rows: (v.rows as number | undefined) ?? GENERATED_DEFAULTS.rows,
        devices: devices ?? GENERATED_DEFAULTS.devices,
        attackFraction: 0.3,
      });
  }
}

/**
 * The evaluate() options of the command line: the data set's preset, then the options given. `residualWindow`:
 * RESIDUAL_WINDOW, the trainers' setting (WSN's residual inputs).
 */
export function evaluateOptions(v: Values, dataset: DatasetAdapter, residualWindow: number): EvaluateOptions {
  const strategy: StrategyConfig =
    v.strategy === 'trimmed-mean' ? { name: 'trimmed-mean', trimRatio: v['trim-ratio'] as number } : { name: v.strategy as 'fedavg' | 'median', trimRatio: null };
  const common = { dataset, rounds: v.rounds as number, localEpochs: v['local-epochs'] as number, strategy, seed: v.seed as number, ...(v['max-rows'] !== undefined ? { maxRows: v['max-rows'] as number } : {}) };
  const tf = v['train-fraction'] as number | undefined;
  if (v.dataset === 'wsn') {
    return {
      ...common,
      trainFraction: tf ?? 0.45,
      mode: 'binary',
      modelKind: 'autoencoder',
      hidden: [8, 3, 8],
      inputs: 'residuals',
      residualWindow,
      threshold: { kind: 'quantile', q: 1 },
    };
  }
  return { ...common, trainFraction: tf ?? 0.7, mode: 'multiclass', modelKind: 'classifier', hidden: [64, 32], inputs: 'readings' };
}

export async function runEvaluate(values: Values, config: Config): Promise<number> {
  const problem = checkValues(values);
  if (problem) {
    process.stderr.write(`flead evaluate: ${problem}\n`);
    return 2;
  }
  let dataset: DatasetAdapter;
  try {
    dataset = openFor(values);
  } catch (e) {
    process.stderr.write(`flead evaluate: ${(e as Error).message}\n`);
    return 2;
  }
  const opts = evaluateOptions(values, dataset, config.trainer.residualWindow);
  const json = values.json === true;
  const out = (s: string): void => void process.stdout.write(`${s}\n`);
  const multiclass = opts.mode === 'multiclass';
  if (!json) {
    out(`flead evaluate: ${dataset.name}, ${opts.mode} ${opts.modelKind}, ${opts.rounds} rounds × ${opts.localEpochs} local epochs, ${opts.strategy.name}, seed ${opts.seed}`);
    out(splitSentence(opts.trainFraction!));
    out('');
    out(roundHeader(multiclass));
  }
  let report: EvaluationReport;
  try {
    report = await evaluate(opts, (r) => {
      if (!json) out(roundLine(r, multiclass));
    });
  } catch (e) {
    process.stderr.write(`flead evaluate: ${(e as Error).message}\n`);
    return 1;
  }
  if (json) {
    out(JSON.stringify(report, null, 2));
    return 0;
  }
  out('');
  out(report.split);
  out(`inputs: ${report.inputs}`);
  out(`standardisation: ${report.standardisation}`);
  out(`scoring: ${report.scoring}`);
  out(`model: ${report.features} features → ${report.config.hidden.join(' → ')} (${report.parameters} parameters); TensorFlow.js backend ${report.backend.name}${report.backend.simd ? ' (SIMD)' : ''}`);
  out('');
  out('client      train rows  (positives)  test rows  (positives)');
  for (const c of report.clients) {
    out(`${c.client.padEnd(10)}  ${String(c.trainRows).padStart(10)}  ${`(${c.trainPositives})`.padStart(11)}  ${String(c.testRows).padStart(9)}  ${`(${c.testPositives})`.padStart(11)}`);
  }
  out('');
  out(`final, on all ${report.clients.reduce((a, c) => a + c.testRows, 0)} test rows${multiclass ? ' (precision/recall/F1: attack vs normal)' : ' (precision/recall/F1 of the anomaly class)'}:`);
  out(`model        ${metricHeader(multiclass)}`);
  out(`federated    ${metricCells(report.final.federated, multiclass)}`);
  out(`zscore       ${metricCells(report.final.zscore, multiclass)}`);
  out(`centralized  ${metricCells(report.final.centralized, multiclass)}`);
  for (const n of report.notes) out(`note: ${n}`);
  const t = report.timings;
  out('');
  out(`time: ${(t.totalMs / 1000).toFixed(1)} s (load ${(t.loadMs / 1000).toFixed(1)} s, federated ${(t.federatedMs / 1000).toFixed(1)} s, centralized ${(t.centralizedMs / 1000).toFixed(1)} s, z-score ${(t.zscoreMs / 1000).toFixed(1)} s)`);
  return 0;
}

const f3 = (x: number | undefined): string => (x === undefined ? '-' : x.toFixed(3));

function metricHeader(multiclass: boolean): string {
  return `precision  recall     f1${multiclass ? '  accuracy  macro-F1' : ''}     tp     fp     fn`;
}

function metricCells(s: Scores, multiclass: boolean): string {
  const extra = multiclass ? `  ${f3(s.accuracy).padStart(8)}  ${f3(s.macroF1).padStart(8)}` : '';
  return `${f3(s.precision).padStart(9)}  ${f3(s.recall).padStart(6)}  ${f3(s.f1).padStart(5)}${extra}  ${String(s.tp).padStart(5)}  ${String(s.fp).padStart(5)}  ${String(s.fn).padStart(5)}`;
}

function roundHeader(multiclass: boolean): string {
  return `round  loss      ${metricHeader(multiclass)}  time`;
}

function roundLine(r: RoundResult, multiclass: boolean): string {
  return `${String(r.round).padStart(5)}  ${r.loss.toFixed(5).padEnd(8)}  ${metricCells(r.federated, multiclass)}  ${(r.ms / 1000).toFixed(1)} s`;
}
