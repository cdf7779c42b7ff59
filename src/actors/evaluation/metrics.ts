/**
 * Detection metrics (pure, no TensorFlow.js).
 *
 * Conventions:
 * - Binary: the positive class is label 1 (anomaly / attack). precision = tp / (tp + fp), recall = tp / (tp + fn),
 *   F1 = 2·precision·recall / (precision + recall).
 * - Every 0/0 is defined as 0 (a detector that never fires has precision 0, not NaN; a test set without a
 *   positive gives recall 0; precision = recall = 0 gives F1 0). This is scikit-learn's `zero_division=0`.
 * - Multi-class: `accuracy` = correct / n (0 for n = 0). `macroF1` = the unweighted mean of the one-vs-rest F1
 *   of every class that occurs in the true labels or in the predictions (scikit-learn's default label set);
 *   a class that occurs in neither is left out, so listing unused classes does not drag the mean down. With no
 *   row at all it is 0.
 */

export interface BinaryCounts {
  tp: number;
  fp: number;
  tn: number;
  fn: number;
}

export interface BinaryMetrics {
  precision: number;
  recall: number;
  f1: number;
}

export interface MulticlassMetrics {
  accuracy: number;
  macroF1: number;
  /** one-vs-rest F1 per class index that occurs in the true labels or the predictions */
  perClassF1: Record<number, number>;
}

/** a / b, with 0/0 (and x/0) defined as 0. */
export const ratio = (a: number, b: number): number => (b === 0 ? 0 : a / b);

/** Confusion counts of binary labels (1 positive, anything else negative); throws on a length mismatch (a bug). */
export function binaryCounts(truth: ArrayLike<number>, predicted: ArrayLike<number>): BinaryCounts {
  if (truth.length !== predicted.length) throw new Error(`binaryCounts: ${truth.length} true labels but ${predicted.length} predictions`);
  const c: BinaryCounts = { tp: 0, fp: 0, tn: 0, fn: 0 };
  for (let i = 0; i < truth.length; i++) {
    const t = truth[i] === 1;
    const p = predicted[i] === 1;
    if (t && p) c.tp++;
    else if (p) c.fp++;
    else if (t) c.fn++;
    else c.tn++;
  }
  return c;
}

/** Sum of confusion counts (to pool devices). */
export const addCounts = (a: BinaryCounts, b: BinaryCounts): BinaryCounts => ({ tp: a.tp + b.tp, fp: a.fp + b.fp, tn: a.tn + b.tn, fn: a.fn + b.fn });

export const ZERO_COUNTS: Readonly<BinaryCounts> = Object.freeze({ tp: 0, fp: 0, tn: 0, fn: 0 });

/** Precision, recall and F1 of the positive class from counts (0/0 = 0). */
export function binaryMetrics(c: BinaryCounts): BinaryMetrics {
  const precision = ratio(c.tp, c.tp + c.fp);
  const recall = ratio(c.tp, c.tp + c.fn);
  return { precision, recall, f1: ratio(2 * precision * recall, precision + recall) };
}

/** Accuracy and macro-F1 of class indices (see the module doc for the class set); throws on a length mismatch. */
export function multiclassMetrics(truth: ArrayLike<number>, predicted: ArrayLike<number>): MulticlassMetrics {
  if (truth.length !== predicted.length) throw new Error(`multiclassMetrics: ${truth.length} true labels but ${predicted.length} predictions`);
  const tp = new Map<number, number>();
  const trueCount = new Map<number, number>();
  const predCount = new Map<number, number>();
  const inc = (m: Map<number, number>, k: number): void => void m.set(k, (m.get(k) ?? 0) + 1);
  let correct = 0;
  for (let i = 0; i < truth.length; i++) {
    const t = truth[i]!;
    const p = predicted[i]!;
    inc(trueCount, t);
    inc(predCount, p);
    if (t === p) {
      correct++;
      inc(tp, t);
    }
  }
  const classes = [...new Set([...trueCount.keys(), ...predCount.keys()])].sort((a, b) => a - b);
  const perClassF1: Record<number, number> = {};
  let sum = 0;
  for (const k of classes) {
    const hits = tp.get(k) ?? 0;
    const precision = ratio(hits, predCount.get(k) ?? 0);
    const recall = ratio(hits, trueCount.get(k) ?? 0);
    const f1 = ratio(2 * precision * recall, precision + recall);
    perClassF1[k] = f1;
    sum += f1;
  }
  return { accuracy: ratio(correct, truth.length), macroF1: ratio(sum, classes.length), perClassF1 };
}
