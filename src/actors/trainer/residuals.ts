/**
 * Residual inputs: each feature minus the median of the stream's previous readings, computed causally as a device
 * sees its stream. Used by the device actors (FEATURE_TRANSFORM=residual) and by `flead evaluate`.
 */

/** Earlier readings a residual needs, or the whole window when it is shorter (with fewer it is 0, like the z-score detector's warm-up). */
export const MIN_HISTORY = 30;

/** Each feature minus the median of the previous `window` values of the stream (EvaluateOptions.inputs, FEATURE_TRANSFORM). */
export function residuals(stream: readonly Record<string, number>[], featureNames: readonly string[], window: number): Record<string, number>[] {
  const rows = residualTail(stream.map((f) => featureNames.map((name) => f[name] ?? 0)), window, 0);
  return rows.map((r) => Object.fromEntries(featureNames.map((name, i) => [name, r[i]!])));
}

const medianOfSorted = (s: readonly number[]): number => {
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

function lowerBound(s: readonly number[], x: number): number {
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
 * Residual rows of `stream[from..]`: each feature minus the median of its previous `window` values, exactly as
 * `residuals` computes them over the whole stream, reading only `stream[from - window..]`.
 */
export function residualTail(stream: readonly (readonly number[])[], window: number, from: number): number[][] {
  const start = Math.max(0, from - window);
  const features = stream[from]?.length ?? 0;
  const out: number[][] = [];
  for (let i = from; i < stream.length; i++) out.push(new Array<number>(features));
  for (let f = 0; f < features; f++) {
    const sorted: number[] = [];
    for (let i = start; i < stream.length; i++) {
      const x = stream[i]![f] ?? 0;
      if (i >= from) out[i - from]![f] = sorted.length < Math.min(MIN_HISTORY, window) ? 0 : x - medianOfSorted(sorted);
      insertSorted(sorted, x);
      if (i - start >= window) sorted.splice(lowerBound(sorted, stream[i - window]![f] ?? 0), 1);
    }
  }
  return out;
}

/**
 * A device's residual inputs, kept across its batches (FEATURE_TRANSFORM=residual). The window's residuals are
 * taken from the start of the window (its first readings have no earlier ones), so each batch used to recompute
 * all of them, a median per feature per reading (~0.9 ms a batch for 2 features and 1,000 readings, ~22 ms for 60).
 * A reading at least `window` readings into the device's window has the residual it had in the stream, which never
 * changes (the same earlier readings): those of the last window are kept (flat, W × features numbers) and taken
 * again where the next window holds the same readings (the window slides by whole batches); only the window's
 * first `window` readings and the new ones are computed. The results are those of `residualTail`, bit for bit.
 */
export class WindowResiduals {
  private last: { rows: readonly (readonly number[])[]; flat: Float64Array } | null = null;

  constructor(readonly window: number) {}

  /** The residuals of a device's window, from its first reading (`residualTail(rows, window, 0)`). */
  ofWindow(rows: readonly (readonly number[])[]): number[][] {
    const head = Math.min(this.window, rows.length);
    const out = residualTail(rows.slice(0, head), this.window, 0);
    const features = rows[0]?.length ?? 0;
    const last = this.last;
    // the shift k of the last window's readings (last.rows[j + k] is rows[j]; the same reading, so the same features)
    const k = last && rows.length > head ? last.rows.indexOf(rows[0]!) : -1;
    let j = head;
    if (last && k >= 0) {
      for (; j < rows.length && j + k < last.rows.length && last.rows[j + k] === rows[j]; j++) {
        const at = (j + k) * features;
        const r = new Array<number>(features);
        for (let f = 0; f < features; f++) r[f] = last.flat[at + f]!;
        out.push(r);
      }
    }
    if (j < rows.length) out.push(...residualTail(rows, this.window, j));
    // written over the last window's (read above): one buffer a device, not one a batch
    const flat = last && last.flat.length >= rows.length * features ? last.flat : new Float64Array(rows.length * features);
    for (let i = head; i < rows.length; i++) {
      const r = out[i]!;
      for (let f = 0; f < features; f++) flat[i * features + f] = r[f]!;
    }
    this.last = { rows, flat };
    return out;
  }

  /** The residuals of `rows`, readings that come after a device's window `history` (`residualTail([...history, ...rows], window, history.length)`). */
  after(history: readonly (readonly number[])[], rows: readonly (readonly number[])[]): number[][] {
    const tail = history.slice(Math.max(0, history.length - this.window));
    return residualTail([...tail, ...rows], this.window, tail.length);
  }
}
