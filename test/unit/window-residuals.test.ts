/**
 * A device's window in chunks (`slideChunks`, `readingsOf`): the same readings as a list. Its residual inputs kept
 * across batches (`WindowResiduals`): the same numbers, bit for bit, as computing
 * every residual again from the stream (a plain reference: sort the earlier values, take the median), as a device's window slides by
 * batches of any size, with ties, after a recovery (new reading objects) and for residual windows shorter and
 * longer than the warm-up.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { MIN_HISTORY, residuals, residualTail, WindowResiduals } from '../../src/actors/trainer/residuals';
import { mulberry32 } from '../../src/infra/prng';
import { CHUNK_NUMBERS, readingsOf, slideChunks } from '../../src/actors/trainer/window-chunks';

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

/** A flat window's vectors. */
const rowsOf = (flat: ArrayLike<number>, features: number): number[][] =>
  Array.from({ length: features > 0 ? flat.length / features : 0 }, (_, i) => Array.from({ length: features }, (_, f) => flat[i * features + f]!));

/** A window's chunks as the device keeps them, built from nothing by one batch. */
const chunked = (rows: readonly number[][]): number[][] => slideChunks([], 0, rows, rows.length);

test("a device's window in chunks: the same readings as a list, whatever the batches", () => {
  for (const [features, keep, seed] of [[2, 1000, 11], [3, 100, 12], [1, 5, 13], [60, 300, 14], [2000, 3, 15]] as const) {
    const xs = stream(3_000, features, seed);
    const rnd = mulberry32(seed);
    let list: number[][] = [];
    let chunks: number[][] = [];
    for (let seen = 0; seen < xs.length;) {
      const batch = xs.slice(seen, seen + (rnd() < 0.5 ? 1 : 1 + Math.floor(rnd() * (rnd() < 0.1 ? 2 * keep : 30))));
      seen += batch.length;
      chunks = slideChunks(chunks, list.length, batch, keep);
      list = [...list, ...batch].slice(-keep);
      assert.equal(rowsOf(readingsOf(chunks, features, 0, list.length), features), list, `${features} features, ${seen} seen`);
      assert.ok(chunks.every((c) => c.length > 0 && c.length % features === 0 && (c.length <= CHUNK_NUMBERS || c.length === features)), 'whole readings, bounded chunks');
      const a = Math.floor(rnd() * list.length);
      const b = a + Math.floor(rnd() * (list.length - a + 1));
      assert.equal(rowsOf(readingsOf(chunks, features, a, b), features), list.slice(a, b), `readings ${a} to ${b}`);
    }
    assert.ok(chunks.length <= Math.ceil((keep * features) / Math.max(features, CHUNK_NUMBERS - features + 1)) + 2, `${chunks.length} chunks`);
  }
  // a window written one array a reading (before 2026-12-04) is a window of one-reading chunks
  const old = [[1, 2], [3, 4], [5, 6]];
  assert.equal(rowsOf(readingsOf(old, 2, 0, 3), 2), old);
  assert.equal(rowsOf(readingsOf(slideChunks(old, 3, [[7, 8]], 3), 2, 0, 3), 2), [[3, 4], [5, 6], [7, 8]]);
});

test('a sliding window gives the residuals computed again from its start, batch after batch', () => {
  for (const [residualWindow, trainWindow, features, seed, upgraded] of [[30, 200, 2, 2, 0], [15, 100, 3, 3, 0], [120, 300, 2, 4, 0], [45, 60, 1, 5, 0], [30, 400, 60, 6, 0], [30, 200, 2, 7, 150]] as const) {
    const xs = stream(2_000, features, seed);
    const rnd = mulberry32(seed * 7);
    const kept = new WindowResiduals(residualWindow);
    // `upgraded` readings first, as a snapshot written one array a reading (before 2026-12-04) holds them
    let window: number[][] = xs.slice(0, upgraded);
    let chunks: number[][] = window.map((x) => [...x]);
    let seen = upgraded;
    let batches = 0;
    let reused = 0;
    while (seen < xs.length) {
      const size = rnd() < 0.5 ? 1 : 1 + Math.floor(rnd() * (rnd() < 0.1 ? 400 : 40));
      const batch = xs.slice(seen, seen + size);
      seen += batch.length;
      if (window.length > 0) {
        same(kept.after(chunks, window.length, features, batch), reference([...window, ...batch], residualWindow, window.length), `after, batch ${batches}`);
      }
      chunks = slideChunks(chunks, window.length, batch, trainWindow); // as the device's evolve keeps it
      window = [...window, ...batch].slice(-trainWindow);
      const expected = reference(window, residualWindow, 0);
      same(rowsOf(kept.ofWindow(chunks, window.length, features, seen), features), expected, `window ${residualWindow}/${trainWindow}, batch ${batches}`);
      same(rowsOf(kept.ofWindow(chunks, window.length, features, seen), features), expected, `the same window again, batch ${batches}`);
      if (batches % 17 === 0) {
        // a recovery: a new actor, nothing kept
        same(rowsOf(new WindowResiduals(residualWindow).ofWindow(chunks, window.length, features, seen), features), expected, `recovered, batch ${batches}`);
      }
      if (window.length > residualWindow) reused++;
      batches++;
    }
    assert.ok(batches > 50 && reused > 20, `${batches} batches, ${reused} with readings to keep`);
  }
});

test('kept residuals are taken only for the same readings at the same places', () => {
  const F = 2;
  const a = stream(200, F, 8);
  const b = stream(200, F, 9);
  // a window of other readings that claims to follow the last one: computed again
  let r = new WindowResiduals(30);
  same(rowsOf(r.ofWindow(chunked(a), 200, F, 200), F), reference(a, 30, 0), 'first');
  const other = [...b.slice(20), ...b.slice(0, 20)];
  same(rowsOf(r.ofWindow(chunked(other), 200, F, 220), F), reference(other, 30, 0), 'other readings, 20 positions on');
  // a window that went back (a recovery without reset): computed again
  r = new WindowResiduals(30);
  same(rowsOf(r.ofWindow(chunked(a.slice(50)), 150, F, 250), F), reference(a.slice(50), 30, 0), 'at 250');
  same(rowsOf(r.ofWindow(chunked(a.slice(0, 180)), 180, F, 180), F), reference(a.slice(0, 180), 30, 0), 'back at 180');
  // a window reaching further back than the last one (it cannot take residuals kept from a later start)
  r = new WindowResiduals(30);
  same(rowsOf(r.ofWindow(chunked(a.slice(100)), 100, F, 200), F), reference(a.slice(100), 30, 0), 'from 100');
  same(rowsOf(r.ofWindow(chunked(a.slice(90)), 110, F, 200), F), reference(a.slice(90), 30, 0), 'from 90');
  // reset forgets
  r.reset();
  same(rowsOf(r.ofWindow(chunked(a.slice(10)), 190, F, 210), F), reference(a.slice(10), 30, 0), 'after reset');
});

test('a device whose feature count changes is computed again', () => {
  const r = new WindowResiduals(30);
  const a = stream(100, 2, 6);
  same(rowsOf(r.ofWindow(chunked(a), 100, 2, 100), 2), reference(a, 30, 0), 'two features');
  const b = stream(100, 3, 7);
  same(rowsOf(r.ofWindow(chunked(b), 100, 3, 110), 3), reference(b, 30, 0), 'three features');
  same(rowsOf(r.ofWindow([], 0, 3, 110), 3), [], 'empty');
});

test.run();
