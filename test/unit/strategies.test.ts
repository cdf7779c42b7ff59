import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createStrategy, nonFiniteIndex, type Strategy } from '../../src/actors/aggregator/strategies';
import { mulberry32 } from '../../src/actors/aggregator/initial-model';

const FEDAVG = createStrategy({ name: 'fedavg', trimRatio: null });
const MEDIAN = createStrategy({ name: 'median', trimRatio: null });
const trimmed = (trimRatio: number) => createStrategy({ name: 'trimmed-mean', trimRatio });

type Update = readonly [weights: readonly number[], sampleCount: number];

function fold(strategy: Strategy, updates: readonly Update[]): Float32Array {
  const acc = strategy.start(updates[0]![0].length);
  for (const [w, n] of updates) acc.add(Float32Array.from(w), n);
  return acc.result();
}

const list = (a: Float32Array): number[] => Array.from(a);
const bytes = (a: Float32Array): Buffer => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

/** mulberry32: a seeded PRNG so the random cases are the same on every run. */
const prng = mulberry32;

function randomUpdates(seed: number, clients: number, parameters: number): Array<[Float32Array, number]> {
  const rnd = prng(seed);
  return Array.from({ length: clients }, () => {
    const w = new Float32Array(parameters);
    for (let i = 0; i < parameters; i++) w[i] = (rnd() - 0.5) * 20;
    return [w, 1 + Math.floor(rnd() * 1000)] as [Float32Array, number];
  });
}

function foldArrays(strategy: Strategy, updates: ReadonlyArray<readonly [Float32Array, number]>): Float32Array {
  const acc = strategy.start(updates[0]![0].length);
  for (const [w, n] of updates) acc.add(w, n);
  return acc.result();
}

const allFinite = (a: Float32Array): boolean => a.every((v) => Number.isFinite(v));

/** 4 honest updates near 1 and one huge outlier, equal sample counts. */
const WITH_OUTLIER: Update[] = [[[1.0], 10], [[1.2], 10], [[0.8], 10], [[1.1], 10], [[1e6], 10]];

function commonChecks(name: string, strategy: Strategy, test: ReturnType<typeof suite>): void {
  test(`${name}: result() with no update added is a bug and throws`, () => {
    const acc = strategy.start(3);
    assert.is(acc.count, 0);
    assert.throws(() => acc.result(), /before any update was added/);
  });

  test(`${name}: an update of the wrong length or with a bad sample count throws`, () => {
    const acc = strategy.start(2);
    assert.throws(() => acc.add(new Float32Array(3), 1), /has 3 parameters, the accumulator was started with 2/);
    assert.throws(() => acc.add(new Float32Array(2), 0), /sampleCount must be a positive integer, got 0/);
    assert.throws(() => acc.add(new Float32Array(2), 1.5), /sampleCount must be a positive integer/);
    assert.throws(() => acc.add(new Float32Array(2), Number.NaN), /sampleCount must be a positive integer/);
    assert.is(acc.count, 0);
  });

  test(`${name}: the same updates in the same order give a bit-identical result`, () => {
    const updates = randomUpdates(7, 9, 1000);
    const first = foldArrays(strategy, updates);
    const again = foldArrays(createStrategy(strategy.config), updates);
    assert.ok(bytes(first).equals(bytes(again)));
  });

  test(`${name}: output is finite for finite input, including extreme magnitudes`, () => {
    const big = 3e38; // near float32's maximum: a float32 running sum would overflow to Infinity
    const out = fold(strategy, [[[big, -big, 1e-45], 1000], [[big, -big, -1e-45], 1000], [[big, -big, 0], 1]]);
    assert.ok(allFinite(out), `got ${list(out)}`);
    assert.ok(allFinite(foldArrays(strategy, randomUpdates(11, 6, 500))));
  });

  test(`${name}: a non-finite weight that slips through throws instead of returning NaN`, () => {
    for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
      const acc = strategy.start(2);
      assert.throws(() => {
        acc.add(Float32Array.from([1, 2]), 1);
        acc.add(Float32Array.from([3, bad]), 1);
        acc.result();
      }, /non-finite value .* at parameter 1/);
    }
  });

  test(`${name}: mutating an added array afterwards does not change the result`, () => {
    const acc = strategy.start(2);
    const w = Float32Array.from([1, 2]);
    acc.add(w, 1);
    w.fill(1000);
    acc.add(Float32Array.from([3, 4]), 1);
    const out = acc.result();
    assert.ok(out[0]! < 4 && out[1]! < 5, `got ${list(out)}`);
  });

  test(`${name}: result() can be read mid-round and again after more updates`, () => {
    const acc = strategy.start(1);
    acc.add(Float32Array.from([2]), 1);
    assert.equal(list(acc.result()), [2]);
    acc.add(Float32Array.from([2]), 1);
    assert.is(acc.count, 2);
    assert.equal(list(acc.result()), [2]);
  });

  test(`${name}: zero parameters give an empty model`, () => {
    const acc = strategy.start(0);
    acc.add(new Float32Array(0), 1);
    assert.is(acc.result().length, 0);
  });
}

// ---------------------------------------------------------------------------------------------------------
const fedavg = suite('fedavg');

fedavg('weighted by sample count: [1,2] n=1 and [3,4] n=3 → [(1+9)/4, (2+12)/4] = [2.5, 3.5]', () => {
  assert.equal(list(fold(FEDAVG, [[[1, 2], 1], [[3, 4], 3]])), [2.5, 3.5]);
});

fedavg('equal sample counts give the plain mean: [0,-4,10], [2,4,20], [4,0,30] → [2, 0, 20]', () => {
  assert.equal(list(fold(FEDAVG, [[[0, -4, 10], 5], [[2, 4, 20], 5], [[4, 0, 30], 5]])), [2, 0, 20]);
});

fedavg('a single update is returned unchanged', () => {
  assert.equal(list(fold(FEDAVG, [[[0.5, -0.25, 7], 42]])), [0.5, -0.25, 7]);
});

fedavg('sums in float64 and rounds once: [0.1] n=1, [0.2] n=2 → fround((f32(0.1) + 2·f32(0.2)) / 3)', () => {
  const expected = Math.fround((Math.fround(0.1) * 1 + Math.fround(0.2) * 2) / 3);
  assert.is(fold(FEDAVG, [[[0.1], 1], [[0.2], 2]])[0], expected);
});

fedavg('a float32 running sum would lose the small updates; the float64 one does not', () => {
  // 2^24 (n=1) then 1 (n=1) × 16 times: in float32 2^24 + 1 rounds back to 2^24 every time
  const updates: Update[] = [[[2 ** 24], 1], ...Array.from({ length: 16 }, (): Update => [[1], 1])];
  assert.is(fold(FEDAVG, updates)[0], (2 ** 24 + 16) / 17);
});

fedavg('order-independent when the partial sums are exact (dyadic weights, small counts)', () => {
  const updates: Update[] = [[[0.5, -1.25], 3], [[2, 0.75], 1], [[-0.125, 4], 4]];
  const forward = fold(FEDAVG, updates);
  const backward = fold(FEDAVG, [...updates].reverse());
  const rotated = fold(FEDAVG, [updates[1]!, updates[2]!, updates[0]!]);
  // (1.5 + 2 - 0.5) / 8 = 0.375, (-3.75 + 0.75 + 16) / 8 = 1.625
  assert.equal(list(forward), [0.375, 1.625]);
  assert.ok(bytes(forward).equals(bytes(backward)) && bytes(forward).equals(bytes(rotated)));
});

fedavg('one huge outlier among 5 updates moves the mean a lot: ≈ 1e6 / 5', () => {
  const out = fold(FEDAVG, WITH_OUTLIER)[0]!;
  assert.ok(out > 199_999 && out < 200_002, `got ${out}`);
});

fedavg('the accumulator keeps O(parameters) memory: no input is retained', () => {
  // every added array is overwritten after add; the result still reflects what was added
  const acc = FEDAVG.start(3);
  const buffer = new Float32Array(3);
  for (const [w, n] of [[[1, 2, 3], 1], [[3, 2, 1], 1]] as const) {
    buffer.set(w);
    acc.add(buffer, n);
    buffer.fill(Number.NaN);
  }
  assert.equal(list(acc.result()), [2, 2, 2]);
});

commonChecks('fedavg', FEDAVG, fedavg);
fedavg.run();

// ---------------------------------------------------------------------------------------------------------
const median = suite('median');

median('odd count: coordinate-wise middle value', () => {
  // coordinate 0: {1,3,2} → 2; coordinate 1: {5,2,8} → 5; coordinate 2: {9,7,1} → 7
  assert.equal(list(fold(MEDIAN, [[[1, 5, 9], 1], [[3, 2, 7], 1], [[2, 8, 1], 1]])), [2, 5, 7]);
});

median('even count: mean of the two middle values: {1,4,2,10} → (2+4)/2 = 3, {0,-1,-3,5} → (-1+0)/2', () => {
  assert.equal(list(fold(MEDIAN, [[[1, 0], 1], [[4, -1], 1], [[2, -3], 1], [[10, 5], 1]])), [3, -0.5]);
});

median('unweighted: sample counts do not matter', () => {
  assert.equal(list(fold(MEDIAN, [[[1], 1000], [[2], 1], [[30], 1]])), [2]);
});

median('one huge outlier among 5 updates barely moves it: {1, 1.2, 0.8, 1.1, 1e6} → 1.1', () => {
  assert.is(fold(MEDIAN, WITH_OUTLIER)[0], Math.fround(1.1));
});

median('order-independent: any permutation gives a bit-identical result', () => {
  const updates = randomUpdates(3, 8, 2000);
  const forward = foldArrays(MEDIAN, updates);
  const shuffled = foldArrays(MEDIAN, [5, 2, 7, 0, 3, 6, 1, 4].map((i) => updates[i]!));
  assert.ok(bytes(forward).equals(bytes(shuffled)));
});

commonChecks('median', MEDIAN, median);
median.run();

// ---------------------------------------------------------------------------------------------------------
const trimmedMean = suite('trimmed-mean');

trimmedMean('trimRatio 0.2 of 5 drops floor(1) from each end: {10,1,3,2,100} → (2+3+10)/3 = 5', () => {
  // coordinate 1: {0,-5,5,1,-1} → sorted -5,-1,0,1,5 → (-1+0+1)/3 = 0
  const out = fold(trimmed(0.2), [[[10, 0], 1], [[1, -5], 1], [[3, 5], 1], [[2, 1], 1], [[100, -1], 1]]);
  assert.equal(list(out), [5, 0]);
});

trimmedMean('trimRatio 0 is the plain unweighted mean: {1,2,6} n=1,1,100 → 3', () => {
  assert.equal(list(fold(trimmed(0), [[[1], 1], [[2], 1], [[6], 100]])), [3]);
});

trimmedMean('floor rounds down: trimRatio 0.3 of 3 trims floor(0.9) = 0 → mean {1,2,9} = 4', () => {
  assert.equal(list(fold(trimmed(0.3), [[[1], 1], [[2], 1], [[9], 1]])), [4]);
});

trimmedMean('trimRatio 0.25 of 4 trims 1 each end: {1,4,2,10} → (2+4)/2 = 3 (the median)', () => {
  assert.equal(list(fold(trimmed(0.25), [[[1], 1], [[4], 1], [[2], 1], [[10], 1]])), [3]);
});

trimmedMean('trimRatio 0.49 keeps at least one value: 1 update → itself, 3 updates → the middle one', () => {
  assert.equal(list(fold(trimmed(0.49), [[[7], 1]])), [7]);
  assert.equal(list(fold(trimmed(0.49), [[[7], 1], [[-2], 1], [[3], 1]])), [3]);
});

trimmedMean('one huge outlier among 5 updates barely moves it: trimRatio 0.2 → mean{1.0, 1.1, 1.2} ≈ 1.1', () => {
  // sorted 0.8, 1.0, 1.1, 1.2, 1e6 → drop 0.8 and 1e6 → (1.0 + 1.1 + 1.2) / 3 = 1.1
  const expected = Math.fround((1.0 + Math.fround(1.1) + Math.fround(1.2)) / 3);
  assert.is(fold(trimmed(0.2), WITH_OUTLIER)[0], expected);
  assert.ok(Math.abs(expected - 1.1) < 1e-6);
});

trimmedMean('order-independent: any permutation gives a bit-identical result', () => {
  const updates = randomUpdates(5, 8, 2000);
  const forward = foldArrays(trimmed(0.2), updates);
  const shuffled = foldArrays(trimmed(0.2), [5, 2, 7, 0, 3, 6, 1, 4].map((i) => updates[i]!));
  assert.ok(bytes(forward).equals(bytes(shuffled)));
});

commonChecks('trimmed-mean', trimmed(0.2), trimmedMean);
trimmedMean.run();

// ---------------------------------------------------------------------------------------------------------
const config = suite('createStrategy config');

config('valid configs keep their config', () => {
  assert.equal(FEDAVG.config, { name: 'fedavg', trimRatio: null });
  assert.equal(MEDIAN.config, { name: 'median', trimRatio: null });
  assert.equal(trimmed(0.1).config, { name: 'trimmed-mean', trimRatio: 0.1 });
});

config('an unknown name throws a sentence listing the known ones', () => {
  assert.throws(() => createStrategy({ name: 'krum', trimRatio: null } as never), /unknown strategy name "krum"; expected one of fedavg, median, trimmed-mean/);
  assert.throws(() => createStrategy({ trimRatio: null } as never), /unknown strategy name undefined/);
});

config('trimmed-mean without a trimRatio throws', () => {
  assert.throws(() => createStrategy({ name: 'trimmed-mean', trimRatio: null }), /trimmed-mean needs a trimRatio in \[0, 0.5\), got null/);
  assert.throws(() => createStrategy({ name: 'trimmed-mean' } as never), /trimmed-mean needs a trimRatio in \[0, 0.5\), got nothing/);
});

config('trimmed-mean with trimRatio out of [0, 0.5) throws', () => {
  for (const r of [-0.1, 0.5, 0.7, Number.NaN, Number.POSITIVE_INFINITY]) {
    assert.throws(() => createStrategy({ name: 'trimmed-mean', trimRatio: r }), /trimRatio must be in \[0, 0.5\) so at least one value per parameter is kept/);
  }
});

config('a trimRatio on fedavg or median is a mistake and throws', () => {
  assert.throws(() => createStrategy({ name: 'fedavg', trimRatio: 0.1 }), /trimRatio applies to trimmed-mean only; fedavg needs trimRatio null, got 0.1/);
  assert.throws(() => createStrategy({ name: 'median', trimRatio: 0 }), /median needs trimRatio null/);
});

config('nonFiniteIndex finds the first NaN or ±Infinity, null when all are finite', () => {
  assert.is(nonFiniteIndex(Float32Array.from([0, -1e38, 3])), null);
  assert.is(nonFiniteIndex(Float32Array.from([0, Number.NaN, Number.POSITIVE_INFINITY])), 1);
  assert.is(nonFiniteIndex(Float32Array.from([Number.NEGATIVE_INFINITY])), 0);
});

config.run();
