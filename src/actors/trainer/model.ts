/**
 * The federated model at the edge: a small dense network (autoencoder or classifier) held as TensorFlow.js
 * variables, whose parameters travel as ONE flat `Float32Array` in `modelLayers(spec)` order.
 *
 * Architecture (fixed by the spec, so every client and the aggregator agree on the shapes):
 * - autoencoder: inputs → hidden[0] → … → hidden[k-1] → inputs; tanh on the hidden layers (it saturates, so a
 *   reading far outside the training range reconstructs badly), linear output; loss = mean squared error.
 * - classifier: inputs → hidden… → 1 unit (classes = 2, sigmoid) or `classes` units (softmax); relu on the
 *   hidden layers; loss = cross-entropy. Class 0 is "normal"; for two classes, 1 is "anomaly/attack".
 * Layer i (1-based) has `dense_i/kernel` [fanIn, fanOut] then `dense_i/bias` [fanOut].
 *
 * Determinism: initial weights come from `initialWeights(layers, seed)` (the aggregator's version-0 model: the
 * same seed gives the same weights on both sides), set through `setWeights`; training visits rows in order, or
 * in an order shuffled by a seeded PRNG when `opts.seed` is given. On the cpu and wasm backends (single thread)
 * the same weights, data and options give bit-identical results.
 *
 * Memory: every computation runs in `tf.tidy` and the optimizer is disposed after each `train`, so the number
 * of live tensors is constant across calls; `dispose()` frees the variables. Requires `await initTf()` first.
 */
import type * as tfTypes from '@tensorflow/tfjs';
import { parameterCount, type LayerShape } from '../../protocols/weights';
import { initialWeights, mulberry32 } from '../aggregator/initial-model';
import { tfRuntime } from './tf-backend';

export type ModelSpec =
  | { kind: 'autoencoder'; inputs: number; hidden: number[] }
  /** `classes` = 2: binary with one sigmoid unit; > 2: softmax over `classes` units. */
  | { kind: 'classifier'; inputs: number; hidden: number[]; classes: number };

/** The model for labelled readings of many features (generated or Edge-IIoTset rows): the embedded profile's choice. */
export const labelledModelSpec = (inputs: number): ModelSpec => ({ kind: 'classifier', inputs, hidden: [32, 16], classes: 2 });

export interface TrainOptions {
  epochs: number;
  batchSize: number;
  /** Adam's learning rate. */
  learningRate: number;
  /** When given, rows are shuffled every epoch by a PRNG seeded with it; when absent, rows are used in order. */
  seed?: number;
}

export interface TrainResult {
  /** Mean training loss over the last epoch's batches (weighted by batch size); 0 when there were no rows. */
  loss: number;
  /** Number of rows trained on (FedAvg's sample count): `x.length`. */
  samples: number;
}

export interface LocalModel {
  readonly spec: ModelSpec;
  readonly layers: readonly LayerShape[];
  readonly parameterCount: number;
  /** A new flat vector of all parameters, in `layers` order. */
  getWeights(): Float32Array;
  /** Replace all parameters (the array is copied); throws when `flat.length` is not `parameterCount`. */
  setWeights(flat: Float32Array): void;
  /**
   * Train in place with Adam. `y` holds class indices (0 = normal) and is required for a classifier, ignored by
   * an autoencoder. Throws on ragged rows, a wrong row width, missing or out-of-range labels, bad options.
   */
  train(x: readonly (readonly number[])[], y: readonly number[] | undefined, opts: TrainOptions): Promise<TrainResult>;
  /**
   * One anomaly score per row, higher = more anomalous. Autoencoder: mean squared reconstruction error over the
   * features. Classifier: P(class 1) for two classes, 1 − P(class 0) for more.
   */
  score(x: readonly (readonly number[])[]): Float32Array;
  /** Classifier only: the most probable class per row (binary: 1 when P(class 1) > 0.5). */
  predictClass(x: readonly (readonly number[])[]): Int32Array;
  /** Free the variables; any later call throws. Idempotent. */
  dispose(): void;
}

const isPositiveInt = (n: number): boolean => Number.isSafeInteger(n) && n > 0;

/** Output units of the last layer. */
function outputUnits(spec: ModelSpec): number {
  if (spec.kind === 'autoencoder') return spec.inputs;
  return spec.classes === 2 ? 1 : spec.classes;
}

/** The ordered weight shapes of a spec (pure: no TensorFlow.js). Throws a sentence on an invalid spec. */
export function modelLayers(spec: ModelSpec): LayerShape[] {
  if (!isPositiveInt(spec.inputs)) throw new Error(`model spec: inputs must be a positive integer, not ${spec.inputs}`);
  const bad = spec.hidden.find((h) => !isPositiveInt(h));
  if (bad !== undefined) throw new Error(`model spec: hidden layer sizes must be positive integers, not ${bad}`);
  if (spec.kind === 'classifier' && !(Number.isSafeInteger(spec.classes) && spec.classes >= 2)) {
    throw new Error(`model spec: a classifier needs at least 2 classes, not ${spec.classes}`);
  }
  const sizes = [spec.inputs, ...spec.hidden, outputUnits(spec)];
  const layers: LayerShape[] = [];
  for (let i = 1; i < sizes.length; i++) {
    layers.push({ name: `dense_${i}/kernel`, shape: [sizes[i - 1]!, sizes[i]!] });
    layers.push({ name: `dense_${i}/bias`, shape: [sizes[i]!] });
  }
  return layers;
}

/** A model with the deterministic initial weights of `seed` (Glorot-uniform kernels, zero biases). */
export function createModel(spec: ModelSpec, seed: number): LocalModel {
  const { tf } = tfRuntime();
  const layers = modelLayers(spec);
  const count = parameterCount(layers);
  const vars: tfTypes.Variable[] = tf.tidy(() => layers.map((l) => tf.variable(tf.zeros(l.shape), true)));
  const units = outputUnits(spec);
  let disposed = false;

  const alive = (): void => {
    if (disposed) throw new Error('the model was disposed');
  };

  /** Network output before the last activation (logits for a classifier, the reconstruction for an autoencoder). */
  const forward = (x: tfTypes.Tensor2D): tfTypes.Tensor2D => {
    let h = x;
    for (let i = 0; i < vars.length; i += 2) {
      h = tf.add(tf.matMul(h, vars[i] as tfTypes.Tensor2D), vars[i + 1]!);
      if (i + 2 < vars.length) h = spec.kind === 'autoencoder' ? tf.tanh(h) : tf.relu(h);
    }
    return h;
  };

  /** Per-row scores as a tensor (inside a tidy). */
  const scores = (x: tfTypes.Tensor2D): tfTypes.Tensor1D => {
    const out = forward(x);
    if (spec.kind === 'autoencoder') return tf.mean(tf.squaredDifference(out, x), 1);
    if (units === 1) return tf.reshape(tf.sigmoid(out), [-1]);
    return tf.sub(1, tf.reshape(tf.slice(tf.softmax(out), [0, 0], [-1, 1]), [-1]));
  };

  const loss = (x: tfTypes.Tensor2D, labels: tfTypes.Tensor1D | null): tfTypes.Scalar => {
    const out = forward(x);
    if (spec.kind === 'autoencoder') return tf.mean(tf.squaredDifference(out, x));
    if (units === 1) return tf.losses.sigmoidCrossEntropy(tf.cast(tf.reshape(labels!, [-1, 1]), 'float32'), out) as tfTypes.Scalar;
    return tf.losses.softmaxCrossEntropy(tf.cast(tf.oneHot(labels!, units), 'float32'), out) as tfTypes.Scalar;
  };

  const toMatrix = (x: readonly (readonly number[])[]): Float32Array => {
    const flat = new Float32Array(x.length * spec.inputs);
    for (let r = 0; r < x.length; r++) {
      const row = x[r]!;
      if (row.length !== spec.inputs) throw new Error(`row ${r} has ${row.length} features, the model takes ${spec.inputs}`);
      flat.set(row, r * spec.inputs);
    }
    return flat;
  };

  const model: LocalModel = {
    spec,
    layers,
    parameterCount: count,

    getWeights() {
      alive();
      const flat = new Float32Array(count);
      let at = 0;
      for (const v of vars) {
        const values = v.dataSync();
        flat.set(values, at);
        at += values.length;
      }
      return flat;
    },

    setWeights(flat) {
      alive();
      if (flat.length !== count) {
        throw new Error(`setWeights: the model has ${count} parameters in ${layers.length} tensors, the vector has ${flat.length}`);
      }
      tf.tidy(() => {
        let at = 0;
        layers.forEach((l, i) => {
          const n = l.shape.reduce((a, b) => a * b, 1);
          // slice copies: on the cpu backend a tensor keeps the array it was made from
          vars[i]!.assign(tf.tensor(flat.slice(at, at + n), l.shape, 'float32'));
          at += n;
        });
      });
    },

    async train(x, y, opts) {
      alive();
      const { epochs, batchSize, learningRate } = opts;
      if (!isPositiveInt(epochs)) throw new Error(`train: epochs must be a positive integer, not ${epochs}`);
      if (!isPositiveInt(batchSize)) throw new Error(`train: batchSize must be a positive integer, not ${batchSize}`);
      if (!(learningRate > 0 && Number.isFinite(learningRate))) throw new Error(`train: learningRate must be a positive number, not ${learningRate}`);
      const n = x.length;
      let labels: Int32Array | null = null;
      if (spec.kind === 'classifier') {
        if (!y || y.length !== n) throw new Error(`train: a classifier needs one label per row (${n} rows, ${y ? y.length : 'no'} labels)`);
        const badAt = y.findIndex((c) => !(Number.isInteger(c) && c >= 0 && c < spec.classes));
        if (badAt >= 0) throw new Error(`train: label ${y[badAt]} at row ${badAt} is not a class in 0..${spec.classes - 1}`);
        labels = Int32Array.from(y);
      }
      if (n === 0) return { loss: 0, samples: 0 };
      const xs = tf.tensor2d(toMatrix(x), [n, spec.inputs]);
      const ys = labels ? tf.tensor1d(labels, 'int32') : null;
      const optimizer = tf.train.adam(learningRate);
      const rand = opts.seed === undefined ? null : mulberry32(opts.seed);
      const order = Int32Array.from({ length: n }, (_, i) => i);
      let lossSum = 0;
      try {
        for (let epoch = 0; epoch < epochs; epoch++) {
          if (rand) shuffle(order, rand);
          const last = epoch === epochs - 1;
          if (last) lossSum = 0;
          for (let start = 0; start < n; start += batchSize) {
            const size = Math.min(batchSize, n - start);
            const cost = tf.tidy(() => {
              let xb: tfTypes.Tensor2D;
              let yb: tfTypes.Tensor1D | null = null;
              if (rand) {
                const idx = tf.tensor1d(order.subarray(start, start + size), 'int32');
                xb = tf.gather(xs, idx);
                if (ys) yb = tf.gather(ys, idx);
              } else {
                xb = tf.slice(xs, [start, 0], [size, spec.inputs]);
                if (ys) yb = tf.slice(ys, [start], [size]);
              }
              return optimizer.minimize(() => loss(xb, yb), true, vars)!;
            });
            if (last) lossSum += cost.dataSync()[0]! * size;
            cost.dispose();
          }
          if (!last) await new Promise<void>((resolve) => setImmediate(resolve)); // let the actor breathe
        }
      } finally {
        optimizer.dispose();
        xs.dispose();
        ys?.dispose();
      }
      return { loss: lossSum / n, samples: n };
    },

    score(x) {
      alive();
      if (x.length === 0) return new Float32Array(0);
      const t = tf.tidy(() => scores(tf.tensor2d(toMatrix(x), [x.length, spec.inputs])));
      const out = Float32Array.from(t.dataSync());
      t.dispose();
      return out;
    },

    predictClass(x) {
      alive();
      if (spec.kind !== 'classifier') throw new Error('predictClass: an autoencoder has no classes (use score)');
      if (x.length === 0) return new Int32Array(0);
      const t = tf.tidy(() => {
        const out = forward(tf.tensor2d(toMatrix(x), [x.length, spec.inputs]));
        return units === 1 ? tf.cast(tf.reshape(tf.greater(out, 0), [-1]), 'int32') : tf.argMax(out, 1);
      });
      const out = Int32Array.from(t.dataSync());
      t.dispose();
      return out;
    },

    dispose() {
      if (disposed) return;
      disposed = true;
      for (const v of vars) v.dispose();
    },
  };

  model.setWeights(initialWeights(layers, seed));
  return model;
}

/** Fisher–Yates, in place, driven by `rand`. */
function shuffle(a: Int32Array, rand: () => number): void {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    const t = a[i]!;
    a[i] = a[j]!;
    a[j] = t;
  }
}
