/**
 * Residual inputs: each feature minus the median of the stream's previous readings, computed causally as a device
 * sees its stream. Used by the device actors (FEATURE_TRANSFORM=residual) and by `flead evaluate`.
 */
import { readingsOf } from './window-chunks';

/** Earlier readings a residual needs, or the whole window when it is shorter (with fewer it is 0, like the z-score detector's warm-up). */
export const MIN_HISTORY = 30;

/** Each feature minus the median of the previous `window` values of the stream (EvaluateOptions.inputs, FEATURE_TRANSFORM). */
export function residuals(stream: readonly Record<string, number>[], featureNames: readonly string[], window: number): Record<string, number>[] {
  const rows = residualTail(stream.map((f) => featureNames.map((name) => f[name] ?? 0)), window, 0);
  return rows.map((r) => Object.fromEntries(featureNames.map((name, i) => [name, r[i]!])));
}

/** The median of sorted numbers (the mean of the middle two for an even count). */
export const medianOfSorted = (s: readonly number[]): number => {
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** Where `x` goes in sorted `s`: the first index whose value is not below it. */
export function lowerBound(s: readonly number[], x: number): number {
  let lo = 0;
  let hi = s.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (s[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

const insertSorted = (s: number[], x: number): void => void s.splice(lowerBound(s, x), 0, x);

/**
 * Residual rows of `stream[from..]`: each feature minus the median of its previous `window` values, 0 while it has
 * fewer than min(MIN_HISTORY, window) of them, reading only `stream[from - window..]`.
 */
export function residualTail(stream: readonly (readonly number[])[], window: number, from: number): number[][] {
  const features = stream[from]?.length ?? 0;
  const flat = new Float64Array(stream.length * features);
  stream.forEach((x, i) => { for (let f = 0; f < features; f++) flat[i * features + f] = x[f] ?? 0; });
  const out = new Float64Array((stream.length - from) * features);
  residualsFlat(flat, features, window, from, stream.length, out, 0);
  return Array.from({ length: stream.length - from }, (_, i) => Array.from(out.subarray(i * features, (i + 1) * features)));
}

/**
 * `residualTail` on readings stored flat (`features` numbers each): the residuals of readings `from` to `to` - 1
 * of `flat`, written into `out` from reading `at` on.
 */
function residualsFlat(flat: ArrayLike<number>, features: number, window: number, from: number, to: number, out: Float64Array, at: number): void {
  const start = Math.max(0, from - window);
  const warm = Math.min(MIN_HISTORY, window);
  const sorted: number[] = [];
  for (let f = 0; f < features; f++) {
    sorted.length = 0;
    for (let i = start; i < to; i++) {
      const x = flat[i * features + f]!;
      if (i >= from) out[(at + i - from) * features + f] = sorted.length < warm ? 0 : x - medianOfSorted(sorted);
      insertSorted(sorted, x);
      if (i - start >= window) sorted.splice(lowerBound(sorted, flat[(i - window) * features + f]!), 1);
    }
  }
}

/**
 * A device's residual inputs, kept across its batches (FEATURE_TRANSFORM=residual). The window's residuals are
 * taken from the start of the window (its first readings have no earlier ones), so each batch used to recompute
 * all of them, a median per feature per reading (~1.2 ms a 10-reading batch for 2 features and 1,000 readings,
 * ~36 ms for 60). A reading at least `window` readings into the device's window has the residual it had in the
 * stream, which never changes (the same earlier readings): those of the last window are kept, in one buffer, by
 * the reading's position in the device's stream (`DeviceState.seen` counts it), and taken again where the next
 * window holds the same positions (the window slides by whole batches); only the window's first `window` readings
 * and the new ones are computed. The results are those of `residualTail`, bit for bit. One instance serves one
 * device, whose window only moves forward; a recovery starts again (`reset`).
 */
export class WindowResiduals {
  /** the residuals of the last window (its first `count` × features numbers), and where in the stream it started */
  private kept: { buffer: Float64Array; features: number; start: number; count: number; lastReading: number[] } | null = null;

  constructor(readonly window: number) {}

  reset(): void {
    this.kept = null;
  }

  /**
   * The residuals of a device's window (`count` readings of `features` numbers in chunks, window-chunks.ts), the
   * last being the device's `end`-th reading, flat. Valid until the next call.
   */
  ofWindow(chunks: readonly (readonly number[])[], count: number, features: number, end: number): Float64Array {
    const start = end - count;
    const head = Math.min(this.window, count);
    const size = count * features;
    let buffer = this.kept?.features === features && this.kept.buffer.length >= size ? this.kept.buffer : new Float64Array(size);
    // the kept residuals this window can take: readings at least `window` into both windows, in both
    let from = head;
    const k = this.kept;
    if (k && k.features === features && count > head && start >= k.start && start + head < k.start + k.count
      && sameValues(readingsOf(chunks, features, k.start + k.count - 1 - start, k.start + k.count - start), k.lastReading)) {
      const shift = start - k.start;
      const upTo = Math.min(count, k.count - shift);
      if (buffer !== k.buffer) buffer.set(k.buffer.subarray((head + shift) * features, (upTo + shift) * features), head * features);
      else buffer.copyWithin(head * features, (head + shift) * features, (upTo + shift) * features);
      from = upTo;
    }
    residualsFlat(readingsOf(chunks, features, 0, head), features, this.window, 0, head, buffer, 0);
    if (from < count) {
      const before = Math.max(0, from - this.window);
      residualsFlat(readingsOf(chunks, features, before, count), features, this.window, from - before, count - before, buffer, from);
    }
    this.kept = { buffer, features, start, count, lastReading: readingsOf(chunks, features, count - 1, count) };
    return buffer.subarray(0, size);
  }

  /** The residuals of `rows`, readings that come after a device's window (`count` readings of `features` numbers, in chunks). */
  after(chunks: readonly (readonly number[])[], count: number, features: number, rows: readonly (readonly number[])[]): number[][] {
    const tail = Math.min(this.window, count);
    const stream = readingsOf(chunks, features, count - tail, count);
    for (const x of rows) for (let f = 0; f < features; f++) stream.push(x[f] ?? 0);
    const out = new Float64Array(rows.length * features);
    residualsFlat(stream, features, this.window, tail, tail + rows.length, out, 0);
    return rows.map((_, i) => Array.from(out.subarray(i * features, (i + 1) * features)));
  }
}

/** The same numbers, -0 and 0 told apart. */
function sameValues(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => Object.is(v, b[i]));
}
