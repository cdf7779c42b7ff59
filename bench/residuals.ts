/**
 * Residual-input benchmark: what a device actor computes for each scoring batch when FEATURE_TRANSFORM=residual
 * (the autoencoder's default): the residuals of its window (for the statistics that standardise them) and those of
 * the batch's readings. `WindowResiduals` keeps the window's settled residuals across batches, on the device's
 * window in chunks, slid as the device slides it; the baseline is the device's computation until 2026-12-04 (kept
 * in this file): every reading as a record and every residual again from the window's start, twice a batch (the
 * kept residuals are the same numbers, bit for bit, as a plain reference: test/unit/window-residuals). Prints two
 * lines:
 *
 *   bench residual-inputs-2-features: <µs> µs a batch (<ratio>x recomputed, <µs> µs)   ratio < 1 = faster
 *   bench residual-inputs-60-features: <µs> µs a batch (<ratio>x recomputed, <µs> µs)
 *
 * A device's window of TRAIN_WINDOW readings slides by batches of 10 readings (TRAIN_WINDOW and RESIDUAL_WINDOW at
 * their defaults, 1,000 and 30); 2 features like the WSN motes, 60 like preprocessed Edge-IIoTset rows. Readings from a seeded PRNG
 * (mulberry32, seed 20240611). 300 batches per way after 100 to warm up; the two ways alternate 3 times, best of each.
 *
 * Run: `node dist/bench/residuals.js`, or through the bench runner calling `run(print)`.
 */
import { performance } from 'node:perf_hooks';
import { lowerBound, medianOfSorted, MIN_HISTORY, WindowResiduals } from '../src/actors/trainer/residuals';
import { slideChunks } from '../src/actors/trainer/window-chunks';
import { mulberry32 } from '../src/infra/prng';
import { defaults } from '../src/config';

const TRAIN_WINDOW = Number(defaults.TRAIN_WINDOW);
const RESIDUAL_WINDOW = Number(defaults.RESIDUAL_WINDOW);
const BATCH = 10;
const WARM = 100;
const BATCHES = 300;
const RUNS = 3;

let sink = 0;

function readings(n: number, features: number): number[][] {
  const rnd = mulberry32(20240611 + features);
  return Array.from({ length: n }, (_, i) => Array.from({ length: features }, (_, f) => 20 + f + 0.001 * i + rnd()));
}

/**
 * The device's computation until 2026-12-04, kept here as the baseline: every reading of the window (and the batch)
 * as a record, every residual again from the window's start, a sorted list per feature.
 */
function recomputed(history: readonly number[][], rows: readonly number[][]): number[][] {
  const names = (rows[0] ?? history[0] ?? []).map((_, i) => String(i));
  const stream = [...history, ...rows].map((x) => Object.fromEntries(names.map((n, i) => [n, x[i]!])) as Record<string, number>);
  const out: Record<string, number>[] = stream.map(() => ({}));
  for (const name of names) {
    const xs = stream.map((f) => f[name] ?? 0);
    const sorted: number[] = [];
    xs.forEach((x, i) => {
      out[i]![name] = sorted.length < Math.min(MIN_HISTORY, RESIDUAL_WINDOW) ? 0 : x - medianOfSorted(sorted);
      sorted.splice(lowerBound(sorted, x), 0, x);
      if (i >= RESIDUAL_WINDOW) sorted.splice(lowerBound(sorted, xs[i - RESIDUAL_WINDOW]!), 1);
    });
  }
  return out.slice(history.length).map((r) => names.map((n) => r[n]!));
}

/** µs per batch over BATCHES batches after WARM, one way of computing. */
function perBatch(xs: readonly number[][], kept: boolean): number {
  const features = xs[0]!.length;
  const residuals = new WindowResiduals(RESIDUAL_WINDOW);
  let window: number[][] = xs.slice(0, TRAIN_WINDOW);
  let chunks = slideChunks([], 0, window, TRAIN_WINDOW);
  let started = 0;
  for (let b = 0; b < WARM + BATCHES; b++) {
    if (b === WARM) started = performance.now();
    const at = TRAIN_WINDOW + b * BATCH;
    const batch = xs.slice(at, at + BATCH);
    if (kept) {
      const train = residuals.ofWindow(chunks, TRAIN_WINDOW, features, at);
      const rows = residuals.after(chunks, TRAIN_WINDOW, features, batch);
      sink += train[train.length - 1]! + rows[0]![0]!;
      chunks = slideChunks(chunks, TRAIN_WINDOW, batch, TRAIN_WINDOW); // as the device's evolve
    } else {
      const train = recomputed([], window);
      const rows = recomputed(window, batch);
      sink += train[train.length - 1]![0]! + rows[0]![0]!;
      window = [...window, ...batch].slice(-TRAIN_WINDOW);
    }
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
