/**
 * Local-training benchmark: the trainer's autoencoder (inputs 2, hidden [8, 3, 8]) on the backend `initTf()`
 * chooses (tfjs-node in the container image, wasm elsewhere), against TensorFlow.js's plain-JavaScript 'cpu'
 * backend in the same run. Prints exactly three lines:
 *
 *   bench tf-backend-info: <backend> (simd <bool>, threads <bool>)
 *   bench tf-train-rows: <rows/s> rows/s (<ratio>x cpu-backend)   5 epochs, batch 32, on 4,096 rows; ratio > 1 = faster
 *   bench tf-score-rows: <rows/s> rows/s (<ratio>x cpu-backend)   score() of the 4,096 rows in one call
 *
 * Data: 4,096 rows of 2-D standard normal pairs from a seeded PRNG (mulberry32, seed 20240611); model seed 1;
 * rows in order (no shuffle), Adam with learning rate 0.01. Each backend is warmed up once (1 epoch on 256 rows,
 * one score call), then the two backends are timed alternately 3 times; the best time of each is reported.
 * When the chosen backend is 'cpu' itself, the ratio is 1 by construction.
 *
 * Run: `node dist/bench/train.js`, or through the bench runner calling `run(print)`.
 */
import { performance } from 'node:perf_hooks';
import { mulberry32 } from '../src/actors/aggregator/initial-model';
import { createModel, type ModelSpec } from '../src/actors/trainer/model';
import { initTf, type TfRuntime } from '../src/actors/trainer/tf-backend';

const ROWS = 4_096;
const EPOCHS = 5;
const BATCH = 32;
const RUNS = 3;
const SCORE_CALLS = 20;
const SEED = 20240611;
const SPEC: ModelSpec = { kind: 'autoencoder', inputs: 2, hidden: [8, 3, 8] };

function rows(): number[][] {
  const rnd = mulberry32(SEED);
  const g = (): number => Math.sqrt(-2 * Math.log(1 - rnd())) * Math.cos(2 * Math.PI * rnd());
  return Array.from({ length: ROWS }, () => [g(), g()]);
}

interface Timing { trainMs: number; scoreMs: number }

/** Keeps results observable. */
let sink = 0;

async function measure(rt: TfRuntime, backend: string, x: number[][]): Promise<Timing> {
  if (!(await rt.tf.setBackend(backend))) throw new Error(`bench train: backend ${backend} failed to start`);
  await rt.tf.ready();
  const m = createModel(SPEC, 1);
  try {
    const t0 = performance.now();
    const r = await m.train(x, undefined, { epochs: EPOCHS, batchSize: BATCH, learningRate: 0.01 });
    const trainMs = performance.now() - t0;
    sink += r.loss;
    const t1 = performance.now();
    for (let i = 0; i < SCORE_CALLS; i++) sink += m.score(x)[i]!;
    const scoreMs = (performance.now() - t1) / SCORE_CALLS;
    return { trainMs, scoreMs };
  } finally {
    m.dispose();
  }
}

async function warmUp(rt: TfRuntime, backend: string, x: number[][]): Promise<void> {
  await rt.tf.setBackend(backend);
  await rt.tf.ready();
  const m = createModel(SPEC, 1);
  await m.train(x.slice(0, 256), undefined, { epochs: 1, batchSize: BATCH, learningRate: 0.01 });
  sink += m.score(x)[0]!;
  m.dispose();
}

export async function run(print: (line: string) => void): Promise<void> {
  const rt = await initTf();
  const chosen = rt.backend;
  const x = rows();
  const backends = chosen === 'cpu' ? ['cpu'] : [chosen, 'cpu'];
  for (const b of backends) await warmUp(rt, b, x);
  const best = new Map<string, Timing>();
  for (let r = 0; r < RUNS; r++) {
    for (const b of backends) {
      const t = await measure(rt, b, x);
      const prev = best.get(b);
      best.set(b, { trainMs: Math.min(t.trainMs, prev?.trainMs ?? Infinity), scoreMs: Math.min(t.scoreMs, prev?.scoreMs ?? Infinity) });
    }
  }
  await rt.tf.setBackend(chosen); // leave the process on the backend it chose
  const mine = best.get(chosen)!;
  const cpu = best.get('cpu')!;
  const trainRate = (t: Timing): number => (ROWS * EPOCHS) / (t.trainMs / 1000);
  const scoreRate = (t: Timing): number => ROWS / (t.scoreMs / 1000);
  print(`bench tf-backend-info: ${chosen} (simd ${rt.simd}, threads ${rt.threads})`);
  print(`bench tf-train-rows: ${trainRate(mine).toFixed(0)} rows/s (${(trainRate(mine) / trainRate(cpu)).toFixed(2)}x cpu-backend)`);
  print(`bench tf-score-rows: ${scoreRate(mine).toFixed(0)} rows/s (${(scoreRate(mine) / scoreRate(cpu)).toFixed(2)}x cpu-backend)`);
  if (Number.isNaN(sink)) print('bench tf-train: NaN in the results');
}

if (require.main === module) {
  run((line) => process.stdout.write(`${line}\n`)).catch((e: unknown) => {
    process.stderr.write(`bench train: ${(e as Error).stack ?? String(e)}\n`);
    process.exitCode = 1;
  });
}
