/**
 * Residual-input benchmark: what a device actor computes for each scoring batch when FEATURE_TRANSFORM=residual
 * (the autoencoder's default): the residuals of its window (for the statistics that standardise them) and those of
 * the batch's readings. `WindowResiduals` keeps the window's settled residuals across batches and computes on
 * vectors; the baseline is the device's computation until 2026-12-04, every reading as a record and every residual
 * again from the window's start, twice a batch (same numbers, bit for bit: test/unit/window-residuals). Prints two lines:
 *
 *   bench residual-inputs-2-features: <µs> µs a batch (<ratio>x recomputed, <µs> µs)   ratio < 1 = faster
 *   bench residual-inputs-60-features: <µs> µs a batch (<ratio>x recomputed, <µs> µs)
 *
 * A device's window of TRAIN_WINDOW=1,000 readings slides by batches of 10 readings (RESIDUAL_WINDOW=30, the
 * defaults); 2 features like the WSN motes, 60 like preprocessed Edge-IIoTset rows. Readings from a seeded PRNG
 * (mulberry32, seed 20240611). 300 batches per way after 100 to warm up; the two ways alternate 3 times, best of each.
 *
 * Run: `node dist/bench/residuals.js`, or through the bench runner calling `run(print)`.
 */
import { performance } from 'node:perf_hooks';
import { residuals as residualRecords, WindowResiduals } from '../src/actors/trainer/residuals';
import { mulberry32 } from '../src/infra/prng';

const TRAIN_WINDOW = 1_000;
const RESIDUAL_WINDOW = 30;
const BATCH = 10;
const WARM = 100;
const BATCHES = 300;
const RUNS = 3;

let sink = 0;

function readings(n: number, features: number): number[][] {
  const rnd = mulberry32(20240611 + features);
  return Array.from({ length: n }, (_, i) => Array.from({ length: features }, (_, f) => 20 + f + 0.001 * i + rnd()));
}

/** The device's computation until 2026-12-04: every reading of the stream as a record, all residuals from its start. */
function recomputed(history: readonly number[][], rows: readonly number[][]): number[][] {
  const names = (rows[0] ?? history[0] ?? []).map((_, i) => String(i));
  const stream = [...history, ...rows].map((x) => Object.fromEntries(names.map((n, i) => [n, x[i]!])) as Record<string, number>);
  return residualRecords(stream, names, RESIDUAL_WINDOW).slice(history.length).map((r) => names.map((n) => r[n]!));
}

/** µs per batch over BATCHES batches after WARM, one way of computing. */
function perBatch(xs: readonly number[][], kept: boolean): number {
  const residuals = new WindowResiduals(RESIDUAL_WINDOW);
  let window: number[][] = xs.slice(0, TRAIN_WINDOW);
  let started = 0;
  for (let b = 0; b < WARM + BATCHES; b++) {
    if (b === WARM) started = performance.now();
    const at = TRAIN_WINDOW + b * BATCH;
    const batch = xs.slice(at, at + BATCH);
    const train = kept ? residuals.ofWindow(window) : recomputed([], window);
    const rows = kept ? residuals.after(window, batch) : recomputed(window, batch);
    sink += train[train.length - 1]![0]! + rows[0]![0]!;
    window = [...window, ...batch].slice(-TRAIN_WINDOW);
  }
  return ((performance.now() - started) * 1000) / BATCHES;
}

export async function run(print: (line: string) => void): Promise<void> {
  for (const features of [2, 60]) {
    const xs = readings(TRAIN_WINDOW + (WARM + BATCHES) * BATCH, features);
    let kept = Infinity;
    let again = Infinity;
    for (let r = 0; r < RUNS; r++) {
      kept = Math.min(kept, perBatch(xs, true));
      again = Math.min(again, perBatch(xs, false));
    }
    print(`bench residual-inputs-${features}-features: ${kept.toFixed(1)} µs a batch (${(kept / again).toFixed(3)}x recomputed, ${again.toFixed(1)} µs)`);
  }
  if (Number.isNaN(sink)) print('bench residual-inputs: NaN in the results');
}

if (require.main === module) run((l) => console.log(l)).catch((e: unknown) => { console.error(e); process.exit(1); });
