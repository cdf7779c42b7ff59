/**
 * FedAvg fold benchmark: 1,000 updates × 100,000 parameters through the FedAvg accumulator, against a plain
 * Float32Array weighted-sum loop over the same data in the same run. Prints exactly two lines:
 *
 *   bench fedavg-fold: <ms> ms (<ratio>x plain-loop)           ratio = accumulator / plain loop (goal ≤ 1.5)
 *   bench fedavg-peak-memory: <MiB> MiB (<ratio>x one-update)  peak extra heap + arrayBuffers during a fold
 *
 * Memory: a separate, untimed fold of the same data, after collecting garbage until usage settles; after
 * start(), every 20th add() and result(), it collects garbage and samples process.memoryUsage() heapUsed +
 * arrayBuffers. The line reports the highest sample minus the settled baseline (so live memory held by the
 * fold, result included), and that over the 400,000 bytes of one float32 update. Expected ≈ 3x: the
 * Float64Array of sums (2x) plus the returned Float32Array (1x); retaining inputs would grow it per update.
 *
 * Data: a pool of 20 distinct updates drawn once from a seeded PRNG (mulberry32, seed 20240611), used in turn
 * with seeded sample counts, so setup is cheap and every run folds the same numbers. Both folds are warmed up
 * once, then timed 3 times alternately; the best time of each is reported.
 *
 * Run: `node dist/bench/fedavg.js`, or through a bench runner calling `run(print)`.
 */
import { performance } from 'node:perf_hooks';
import { createStrategy } from '../src/actors/aggregator/strategies';
import { mulberry32 } from '../src/actors/aggregator/initial-model';
import { gcFunction } from './lib/support';

const UPDATES = 1_000;
const PARAMETERS = 100_000;
const POOL = 20;
const SEED = 20240611;
const RUNS = 3;
const MiB = 1024 * 1024;
/** Memory is sampled after every PROBE_EVERY-th add (each sample costs a full gc), and after start and result. */
const PROBE_EVERY = 20;


interface Data { pool: Float32Array[]; sampleCounts: Int32Array }

function generate(): Data {
  const rnd = mulberry32(SEED);
  const pool = Array.from({ length: POOL }, () => {
    const w = new Float32Array(PARAMETERS);
    for (let i = 0; i < PARAMETERS; i++) w[i] = (rnd() - 0.5) * 0.2;
    return w;
  });
  const sampleCounts = new Int32Array(UPDATES);
  for (let k = 0; k < UPDATES; k++) sampleCounts[k] = 1 + Math.floor(rnd() * 500);
  return { pool, sampleCounts };
}

const fedavg = createStrategy({ name: 'fedavg', trimRatio: null });

/** Called after start() (k = -1), after each add() (k = index), after result() (k = UPDATES); no-op when timing. */
type Probe = (k: number) => void;
const noProbe: Probe = () => undefined;

function foldFedAvg({ pool, sampleCounts }: Data, probe: Probe): Float32Array {
  const acc = fedavg.start(PARAMETERS);
  probe(-1);
  for (let k = 0; k < UPDATES; k++) {
    acc.add(pool[k % POOL]!, sampleCounts[k]!);
    probe(k);
  }
  const out = acc.result();
  probe(UPDATES);
  return out;
}

function foldPlainLoop({ pool, sampleCounts }: Data): Float32Array {
  const out = new Float32Array(PARAMETERS);
  let total = 0;
  for (let k = 0; k < UPDATES; k++) {
    const w = pool[k % POOL]!;
    const n = sampleCounts[k]!;
    for (let i = 0; i < PARAMETERS; i++) out[i] += w[i]! * n;
    total += n;
  }
  for (let i = 0; i < PARAMETERS; i++) out[i] /= total;
  return out;
}

/** Keeps results observable so no fold can be optimised away. */
let sink = 0;

function timed(fold: () => Float32Array): number {
  const started = performance.now();
  const out = fold();
  const ms = performance.now() - started;
  sink += out[PARAMETERS >> 1]!;
  return ms;
}


const used = (): number => {
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
};

/**
 * Collect garbage until the usage settles: V8 frees ArrayBuffer backing stores on a background thread, so one
 * `gc()` can leave earlier folds' buffers counted and make the baseline too high.
 */
async function settle(): Promise<void> {
  const gc = gcFunction();
  let last = Infinity;
  for (let i = 0; i < 20; i++) {
    gc?.();
    await new Promise<void>((resolve) => setTimeout(resolve, 10));
    const now = used();
    if (now >= last) return;
    last = now;
  }
}

async function peakExtraBytes(data: Data): Promise<number> {
  await settle();
  const before = used();
  let peak = before;
  const gc = gcFunction();
  const out = foldFedAvg(data, (k) => {
    if (k >= 0 && k < UPDATES - 1 && k % PROBE_EVERY !== PROBE_EVERY - 1) return;
    gc?.(); // count live memory only: the probe's own garbage would otherwise show up as a peak
    const now = used();
    if (now > peak) peak = now;
  });
  sink += out[0]!;
  return peak - before;
}

export async function run(print: (line: string) => void): Promise<void> {
  const data = generate();
  timed(() => foldFedAvg(data, noProbe));
  timed(() => foldPlainLoop(data));
  let bestFedAvg = Infinity;
  let bestPlain = Infinity;
  for (let r = 0; r < RUNS; r++) {
    bestFedAvg = Math.min(bestFedAvg, timed(() => foldFedAvg(data, noProbe)));
    bestPlain = Math.min(bestPlain, timed(() => foldPlainLoop(data)));
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  print(`bench fedavg-fold: ${bestFedAvg.toFixed(1)} ms (${(bestFedAvg / bestPlain).toFixed(2)}x plain-loop)`);

  const extra = await peakExtraBytes(data);
  const oneUpdate = PARAMETERS * Float32Array.BYTES_PER_ELEMENT;
  print(`bench fedavg-peak-memory: ${(extra / MiB).toFixed(2)} MiB (${(extra / oneUpdate).toFixed(2)}x one-update)`);
  if (Number.isNaN(sink)) print('bench fedavg: NaN in the results');
}

if (require.main === module) {
  run((line) => process.stdout.write(`${line}\n`)).catch((e: unknown) => {
    process.stderr.write(`bench fedavg: ${(e as Error).stack ?? String(e)}\n`);
    process.exitCode = 1;
  });
}
