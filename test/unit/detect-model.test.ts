/**
 * The federated model at the edge (TensorFlow.js): weight layout, flat weights, deterministic init and training,
 * detection quality on toy problems, averaging, memory, and the backend choice.
 */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { initTf, type TfRuntime } from '../../src/actors/trainer/tf-backend';
import { createModel, modelLayers, type LocalModel, type ModelSpec } from '../../src/actors/trainer/model';
import { modelThreshold } from '../../src/actors/trainer/threshold';
import { initialWeights, mulberry32 } from '../../src/actors/aggregator/initial-model';
import { createStrategy } from '../../src/actors/aggregator/strategies';
import { parameterCount } from '../../src/protocols/weights';

const AE: ModelSpec = { kind: 'autoencoder', inputs: 2, hidden: [8, 3, 8] };
const BINARY: ModelSpec = { kind: 'classifier', inputs: 2, hidden: [8], classes: 2 };

const bytes = (a: Float32Array): Buffer => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

/** Standard normal pairs from a seeded PRNG (Box–Muller). */
function gaussian(seed: number): () => number {
  const rnd = mulberry32(seed);
  return () => Math.sqrt(-2 * Math.log(1 - rnd())) * Math.cos(2 * Math.PI * rnd());
}

function gaussianRows(seed: number, n: number): number[][] {
  const g = gaussian(seed);
  return Array.from({ length: n }, () => [g(), g()]);
}

/** Two classes split by the line x0 + x1 = 0, with a margin of 0.2 around it. */
function separable(seed: number, n: number): { x: number[][]; y: number[] } {
  const g = gaussian(seed);
  const x: number[][] = [];
  const y: number[] = [];
  while (x.length < n) {
    const p = [g(), g()];
    const s = p[0]! + p[1]!;
    if (Math.abs(s) < 0.2) continue;
    x.push(p);
    y.push(s > 0 ? 1 : 0);
  }
  return { x, y };
}

const accuracy = (m: LocalModel, x: number[][], y: number[]): number => {
  const p = m.predictClass(x);
  let ok = 0;
  p.forEach((c, i) => (ok += c === y[i] ? 1 : 0));
  return ok / y.length;
};

const tfjsNodeResolves = (() => {
  try {
    require.resolve('@tensorflow/tfjs-node');
    return true;
  } catch {
    return false;
  }
})();

let rt: TfRuntime;

// ---------------------------------------------------------------------------------------------------------------
const Layers = suite('modelLayers (pure)');

Layers('autoencoder 2 → [8, 3, 8] → 2: kernels and biases in order, 101 parameters', () => {
  assert.equal(modelLayers(AE), [
    { name: 'dense_1/kernel', shape: [2, 8] },
    { name: 'dense_1/bias', shape: [8] },
    { name: 'dense_2/kernel', shape: [8, 3] },
    { name: 'dense_2/bias', shape: [3] },
    { name: 'dense_3/kernel', shape: [3, 8] },
    { name: 'dense_3/bias', shape: [8] },
    { name: 'dense_4/kernel', shape: [8, 2] },
    { name: 'dense_4/bias', shape: [2] },
  ]);
  assert.is(parameterCount(modelLayers(AE)), 101);
});

Layers('classifier: one sigmoid unit for 2 classes, `classes` softmax units above', () => {
  assert.equal(modelLayers(BINARY), [
    { name: 'dense_1/kernel', shape: [2, 8] },
    { name: 'dense_1/bias', shape: [8] },
    { name: 'dense_2/kernel', shape: [8, 1] },
    { name: 'dense_2/bias', shape: [1] },
  ]);
  assert.equal(modelLayers({ kind: 'classifier', inputs: 61, hidden: [32, 16], classes: 15 }), [
    { name: 'dense_1/kernel', shape: [61, 32] },
    { name: 'dense_1/bias', shape: [32] },
    { name: 'dense_2/kernel', shape: [32, 16] },
    { name: 'dense_2/bias', shape: [16] },
    { name: 'dense_3/kernel', shape: [16, 15] },
    { name: 'dense_3/bias', shape: [15] },
  ]);
  assert.equal(modelLayers({ kind: 'classifier', inputs: 3, hidden: [], classes: 2 }), [
    { name: 'dense_1/kernel', shape: [3, 1] },
    { name: 'dense_1/bias', shape: [1] },
  ]);
});

Layers('an invalid spec fails with a sentence', () => {
  assert.throws(() => modelLayers({ kind: 'classifier', inputs: 2, hidden: [4], classes: 1 }), /a classifier needs at least 2 classes, not 1/);
  assert.throws(() => modelLayers({ kind: 'autoencoder', inputs: 2, hidden: [8, 0] }), /hidden layer sizes must be positive integers, not 0/);
  assert.throws(() => modelLayers({ kind: 'autoencoder', inputs: 1.5, hidden: [] }), /inputs must be a positive integer, not 1.5/);
});

Layers.run();

// ---------------------------------------------------------------------------------------------------------------
const Backend = suite('TensorFlow.js backend');

Backend('initTf is idempotent and reports the backend: tfjs-node when it resolves, else wasm (here: wasm)', async () => {
  rt = await initTf();
  assert.is(await initTf(), rt);
  assert.is(rt.backend, tfjsNodeResolves ? 'tensorflow' : 'wasm');
  assert.is(rt.tf.getBackend(), rt.backend);
  assert.type(rt.simd, 'boolean');
  assert.type(rt.threads, 'boolean');
});

const initIn = (env: Record<string, string>): string => {
  const file = path.join(__dirname, '../../src/actors/trainer/tf-backend.js');
  const code = `require(${JSON.stringify(file)}).initTf().then((r) => console.log('backend ' + r.backend), (e) => console.log('error ' + e.message))`;
  const r = spawnSync(process.execPath, ['-e', code], { env: { ...process.env, ...env }, encoding: 'utf8' });
  return r.stdout.trim().split('\n').pop() ?? '';
};

Backend('FLEAD_TF_BACKEND forces a backend; an unknown or unavailable one is a sentence', () => {
  assert.is(initIn({ FLEAD_TF_BACKEND: 'cpu' }), 'backend cpu');
  assert.is(initIn({ FLEAD_TF_BACKEND: 'wasm' }), 'backend wasm');
  assert.is(initIn({ FLEAD_TF_BACKEND: 'gpu' }), 'error FLEAD_TF_BACKEND must be one of tensorflow, wasm, cpu (or unset to choose automatically), not "gpu"');
  if (!tfjsNodeResolves) {
    assert.match(initIn({ FLEAD_TF_BACKEND: 'tensorflow' }), /^error FLEAD_TF_BACKEND=tensorflow but @tensorflow\/tfjs-node cannot be loaded/);
  }
});

Backend.run();

// ---------------------------------------------------------------------------------------------------------------
const Weights = suite('flat weights');
Weights.before(async () => {
  rt = await initTf();
});

Weights('same seed → bit-identical initial weights, equal to the aggregator\'s version-0 model; another seed differs', () => {
  const a = createModel(AE, 17);
  const b = createModel(AE, 17);
  const c = createModel(AE, 18);
  assert.ok(bytes(a.getWeights()).equals(bytes(b.getWeights())));
  assert.ok(bytes(a.getWeights()).equals(bytes(initialWeights(modelLayers(AE), 17))));
  assert.not.ok(bytes(a.getWeights()).equals(bytes(c.getWeights())));
  assert.is(a.getWeights().length, 101);
  [a, b, c].forEach((m) => m.dispose());
});

Weights('setWeights → getWeights round trip is bit-exact, and the model keeps a copy', () => {
  const m = createModel(BINARY, 1);
  const rnd = mulberry32(5);
  const flat = Float32Array.from({ length: m.parameterCount }, () => (rnd() - 0.5) * 1e3);
  flat[0] = -0; // signed zero and a subnormal survive too
  flat[1] = 1e-40;
  m.setWeights(flat);
  const back = m.getWeights();
  assert.ok(bytes(back).equals(bytes(flat)));
  flat[2] = 12345;
  assert.is.not(m.getWeights()[2], 12345);
  back[3] = 6789;
  assert.is.not(m.getWeights()[3], 6789);
  m.dispose();
});

Weights('setWeights with a wrong length says how many parameters the model has', () => {
  const m = createModel(AE, 1);
  assert.throws(() => m.setWeights(new Float32Array(100)), /setWeights: the model has 101 parameters in 8 tensors, the vector has 100/);
  m.dispose();
  assert.throws(() => m.getWeights(), /the model was disposed/);
});

Weights.run();

// ---------------------------------------------------------------------------------------------------------------
const Train = suite('training');
Train.before(async () => {
  rt = await initTf();
});

Train('deterministic: same seed and data → bit-identical weights (in order, and with a seeded shuffle)', async () => {
  const x = gaussianRows(1, 300);
  const run = async (shuffleSeed?: number): Promise<Float32Array> => {
    const m = createModel(AE, 3);
    const opts = { epochs: 3, batchSize: 32, learningRate: 0.01, ...(shuffleSeed === undefined ? {} : { seed: shuffleSeed }) };
    const r = await m.train(x, undefined, opts);
    assert.is(r.samples, 300);
    assert.ok(r.loss > 0 && Number.isFinite(r.loss));
    const w = m.getWeights();
    m.dispose();
    return w;
  };
  const inOrder = await run();
  assert.ok(bytes(inOrder).equals(bytes(await run())));
  const shuffled = await run(9);
  assert.ok(bytes(shuffled).equals(bytes(await run(9))));
  assert.not.ok(bytes(shuffled).equals(bytes(inOrder)));
  assert.not.ok(bytes(inOrder).equals(bytes(initialWeights(modelLayers(AE), 3))));
});

Train('autoencoder on 2-D Gaussian data: outliers 8 std away score far above the 99th percentile of normal data', async () => {
  const m = createModel(AE, 7);
  const x = gaussianRows(2, 2048);
  const first = await m.train(x, undefined, { epochs: 1, batchSize: 32, learningRate: 0.01 });
  const last = await m.train(x, undefined, { epochs: 30, batchSize: 32, learningRate: 0.01 });
  assert.ok(last.loss < first.loss / 2, `loss ${first.loss} → ${last.loss}`);
  const threshold = modelThreshold(m.score(x))!;
  const inliers = m.score(gaussianRows(3, 500));
  const outliers = m.score([[8, 0], [0, -8], [5.7, 5.7], [-5.7, 5.7], [-8, -8], [0, 8]]);
  const above = Array.from(inliers).filter((s) => s > threshold).length;
  assert.ok(above <= 15, `${above} of 500 fresh inliers above the training 99th percentile`);
  for (const s of outliers) assert.ok(s > 10 * threshold, `outlier score ${s} vs threshold ${threshold}`);
  m.dispose();
});

Train('binary classifier learns a separable toy problem (held-out accuracy > 0.9); score = P(class 1)', async () => {
  const m = createModel(BINARY, 11);
  const train = separable(4, 1000);
  const test = separable(5, 500);
  await m.train(train.x, train.y, { epochs: 15, batchSize: 32, learningRate: 0.02, seed: 1 });
  const acc = accuracy(m, test.x, test.y);
  assert.ok(acc > 0.9, `accuracy ${acc}`);
  const p = m.score(test.x);
  const c = m.predictClass(test.x);
  p.forEach((pi, i) => assert.is(c[i], pi > 0.5 ? 1 : 0, `row ${i}: P = ${pi}, class ${c[i]}`));
  assert.ok(p.every((v) => v >= 0 && v <= 1));
  m.dispose();
});

Train('multi-class classifier: argmax classes, score = 1 − P(class 0 = normal)', async () => {
  const spec: ModelSpec = { kind: 'classifier', inputs: 2, hidden: [16], classes: 3 };
  const g = gaussian(6);
  const centres = [[0, 0], [4, 0], [0, 4]];
  const make = (n: number) => {
    const x: number[][] = [];
    const y: number[] = [];
    for (let i = 0; i < n; i++) {
      const k = i % 3;
      x.push([centres[k]![0]! + g() * 0.5, centres[k]![1]! + g() * 0.5]);
      y.push(k);
    }
    return { x, y };
  };
  const m = createModel(spec, 2);
  const train = make(900);
  const test = make(300);
  await m.train(train.x, train.y, { epochs: 20, batchSize: 32, learningRate: 0.02, seed: 2 });
  assert.ok(accuracy(m, test.x, test.y) > 0.9, `accuracy ${accuracy(m, test.x, test.y)}`);
  const s = m.score([[0, 0], [4, 0], [0, 4]]);
  assert.ok(s[0]! < 0.2 && s[1]! > 0.8 && s[2]! > 0.8, `scores ${Array.from(s)}`);
  m.dispose();
});

Train('bad inputs fail with a sentence', async () => {
  const c = createModel(BINARY, 1);
  const expectReject = async (p: Promise<unknown>, re: RegExp): Promise<void> => {
    try {
      await p;
    } catch (e) {
      assert.match((e as Error).message, re);
      return;
    }
    assert.unreachable(`expected a rejection matching ${re}`);
  };
  const opts = { epochs: 1, batchSize: 8, learningRate: 0.01 };
  await expectReject(c.train([[1, 2]], undefined, opts), /a classifier needs one label per row \(1 rows, no labels\)/);
  await expectReject(c.train([[1, 2]], [2], opts), /label 2 at row 0 is not a class in 0\.\.1/);
  await expectReject(c.train([[1, 2, 3]], [1], opts), /row 0 has 3 features, the model takes 2/);
  await expectReject(c.train([[1, 2]], [1], { ...opts, epochs: 0 }), /epochs must be a positive integer, not 0/);
  assert.throws(() => c.score([[1]]), /row 0 has 1 features, the model takes 2/);
  const a = createModel(AE, 1);
  assert.throws(() => a.predictClass([[1, 2]]), /an autoencoder has no classes/);
  assert.equal(await a.train([], undefined, opts), { loss: 0, samples: 0 });
  assert.is(a.score([]).length, 0);
  [a, c].forEach((m) => m.dispose());
});

Train.run();

// ---------------------------------------------------------------------------------------------------------------
const Federated = suite('federated averaging of flat weights');
Federated.before(async () => {
  rt = await initTf();
});

Federated('two clients train from the same global model; FedAvg of their flat weights gives a working model', async () => {
  const global = createModel(BINARY, 21).getWeights();
  const data = [separable(7, 600), separable(8, 300)];
  const fedavg = createStrategy({ name: 'fedavg', trimRatio: null });
  const acc = fedavg.start(global.length);
  for (const [i, d] of data.entries()) {
    const client = createModel(BINARY, 99 + i); // its own init is replaced by the global weights
    client.setWeights(global);
    const r = await client.train(d.x, d.y, { epochs: 10, batchSize: 32, learningRate: 0.02, seed: i });
    acc.add(client.getWeights(), r.samples);
    client.dispose();
  }
  const averaged = acc.result();
  const m = createModel(BINARY, 0);
  m.setWeights(averaged);
  assert.ok(bytes(m.getWeights()).equals(bytes(averaged)));
  const test = separable(9, 500);
  const a = accuracy(m, test.x, test.y);
  assert.ok(a > 0.9, `accuracy of the averaged model ${a}`);
  m.dispose();
});

Federated.run();

// ---------------------------------------------------------------------------------------------------------------
const Memory = suite('memory');
Memory.before(async () => {
  rt = await initTf();
});

Memory('200 train + score + get/set calls leave the number of live tensors unchanged; dispose frees the variables', async () => {
  const m = createModel(AE, 5);
  const c = createModel(BINARY, 5);
  const x = gaussianRows(10, 64);
  const y = x.map((r) => (r[0]! > 0 ? 1 : 0));
  const opts = { epochs: 1, batchSize: 16, learningRate: 0.01 };
  await m.train(x, undefined, opts); // warm up (kernels, lazily created state)
  await c.train(x, y, { ...opts, seed: 1 });
  const before = rt.tf.memory().numTensors;
  for (let i = 0; i < 200; i++) {
    await m.train(x, undefined, i % 2 ? opts : { ...opts, seed: i });
    m.score(x);
    m.setWeights(m.getWeights());
    await c.train(x, y, opts);
    c.score(x);
    c.predictClass(x);
  }
  assert.is(rt.tf.memory().numTensors, before);
  m.dispose();
  c.dispose();
  assert.is(rt.tf.memory().numTensors, before - 8 - 4);
});

Memory.run();
