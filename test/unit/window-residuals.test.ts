/**
 * A device's residual inputs kept across batches (`WindowResiduals`): the same numbers, bit for bit, as computing
 * every residual again from the stream (a plain reference: sort the earlier values, take the median), as a device's window slides by
 * batches of any size, with ties, after a recovery (new reading objects) and for residual windows shorter and
 * longer than the warm-up.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { MIN_HISTORY, residuals, residualTail, WindowResiduals } from '../../src/actors/trainer/residuals';
import { mulberry32 } from '../../src/infra/prng';

const test = suite('trainer: residual inputs across batches');

/** The reference, written plainly: each feature minus the median of its previous min(i, window) values, 0 while fewer than min(30, window). */
function reference(stream: readonly number[][], window: number, from: number): number[][] {
  return stream.slice(from).map((x, k) => {
    const i = from + k;
    const before = stream.slice(Math.max(0, i - window), i);
    return x.map((v, f) => {
      if (before.length < Math.min(MIN_HISTORY, window)) return 0;
      const sorted = before.map((b) => b[f]!).sort((a, b) => a - b);
      const m = sorted.length >> 1;
      return v - (sorted.length % 2 === 1 ? sorted[m]! : (sorted[m - 1]! + sorted[m]!) / 2);
    });
  });
}

/** Exactly equal, -0 included. */
function same(actual: number[][], expected: number[][], what: string): void {
  assert.is(actual.length, expected.length, `${what}: rows`);
  for (let i = 0; i < expected.length; i++) {
    for (let f = 0; f < expected[i]!.length; f++) {
      if (!Object.is(actual[i]![f], expected[i]![f])) assert.unreachable(`${what}: row ${i} feature ${f}: ${actual[i]![f]} ≠ ${expected[i]![f]}`);
    }
  }
}

/** A stream of readings with trends, noise and repeated values (ties in the medians). */
function stream(n: number, features: number, seed: number): number[][] {
  const rnd = mulberry32(seed);
  return Array.from({ length: n }, (_, i) => Array.from({ length: features }, (_, f) => (rnd() < 0.2 ? 3 : Math.round((f + 1) * 0.01 * i + 10 * rnd()) / 4)));
}

test('residuals (records, `flead evaluate`) are the same numbers', () => {
  const xs = stream(300, 3, 10);
  const names = ['a', 'b', 'c'];
  const records = xs.map((x) => ({ a: x[0]!, b: x[1]!, c: x[2]! }));
  for (const window of [2, MIN_HISTORY, 120]) {
    same(residuals(records, names, window).map((r) => names.map((n) => r[n]!)), reference(xs, window, 0), `records, window ${window}`);
  }
});

test('residualTail is residuals from any point, reading only the window before it', () => {
  const xs = stream(300, 3, 1);
  for (const window of [2, 15, MIN_HISTORY, 45, 120]) {
    for (const from of [0, 1, 29, 30, 119, 120, 200, 299, 300]) {
      same(residualTail(xs, window, from), reference(xs, window, from), `window ${window} from ${from}`);
      const start = Math.max(0, from - window);
      same(residualTail(xs.slice(start), window, from - start), reference(xs, window, from), `window ${window} from ${from}, sliced`);
    }
  }
});

test('a sliding window gives the residuals computed again from its start, batch after batch', () => {
  for (const [residualWindow, trainWindow, features, seed] of [[30, 200, 2, 2], [15, 100, 3, 3], [120, 300, 2, 4], [45, 60, 1, 5]] as const) {
    const xs = stream(2_000, features, seed);
    const rnd = mulberry32(seed * 7);
    const kept = new WindowResiduals(residualWindow);
    let recovered = new WindowResiduals(residualWindow);
    let window: number[][] = [];
    let at = 0;
    let batches = 0;
    while (at < xs.length) {
      const size = rnd() < 0.5 ? 1 : 1 + Math.floor(rnd() * (rnd() < 0.1 ? 400 : 40));
      const batch = xs.slice(at, at + size);
      at += batch.length;
      if (window.length > 0) {
        same(kept.after(window, batch), reference([...window, ...batch], residualWindow, window.length), `after, batch ${batches}`);
      }
      window = [...window, ...batch].slice(-trainWindow); // as the device's evolve keeps it
      const expected = reference(window, residualWindow, 0);
      same(kept.ofWindow(window), expected, `window ${residualWindow}/${trainWindow}, batch ${batches}`);
      same(kept.ofWindow(window), expected, `the same window again, batch ${batches}`);
      if (batches % 17 === 0) {
        // a recovery: the window decoded from the journal (new objects), the residuals kept by a new actor or an old one
        window = window.map((x) => [...x]);
        recovered = new WindowResiduals(residualWindow);
        same(recovered.ofWindow(window), expected, `recovered, batch ${batches}`);
      }
      same(kept.ofWindow(window), expected, `kept, batch ${batches}`);
      batches++;
    }
    assert.ok(batches > 50, `${batches} batches`);
  }
});

test('only the same readings are taken again: a window sharing its first readings with the last, then others', () => {
  const r = new WindowResiduals(30);
  const a = stream(200, 2, 8);
  same(r.ofWindow(a), reference(a, 30, 0), 'first');
  const b = [...a.slice(0, 100), ...stream(100, 2, 9)];
  same(r.ofWindow(b), reference(b, 30, 0), 'second');
});

test('a device whose feature count changes is computed again', () => {
  const r = new WindowResiduals(30);
  const a = stream(100, 2, 6);
  same(r.ofWindow(a), reference(a, 30, 0), 'two features');
  const b = stream(100, 3, 7);
  same(r.ofWindow(b), reference(b, 30, 0), 'three features');
  same(r.ofWindow([]), [], 'empty');
});

test.run();
