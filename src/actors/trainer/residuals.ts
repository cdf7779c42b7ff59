/**
 * Residual inputs: each feature minus the median of the stream's previous readings, computed causally as a device
 * sees its stream. Used by the device actors (FEATURE_TRANSFORM=residual) and by `flead evaluate`.
 */

/** Earlier readings a residual needs, or the whole window when it is shorter (with fewer it is 0, like the z-score detector's warm-up). */
export const MIN_HISTORY = 30;

/** Each feature minus the median of the previous `window` values of the stream (EvaluateOptions.inputs, FEATURE_TRANSFORM). */
export function residuals(stream: readonly Record<string, number>[], featureNames: readonly string[], window: number): Record<string, number>[] {
  const out: Record<string, number>[] = stream.map(() => ({}));
  for (const name of featureNames) {
    const xs = stream.map((f) => f[name] ?? 0);
    const sorted: number[] = [];
    xs.forEach((x, i) => {
      out[i]![name] = sorted.length < Math.min(MIN_HISTORY, window) ? 0 : x - medianOfSorted(sorted);
      insertSorted(sorted, x);
      if (i >= window) sorted.splice(lowerBound(sorted, xs[i - window]!), 1);
    });
  }
  return out;
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
