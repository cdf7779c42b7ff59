/**
 * ROC-AUC by ranks (the Mann–Whitney U statistic), pure.
 *
 *   AUC = (R⁺ − P·(P+1)/2) / (P·N)
 *
 * where R⁺ is the sum of the ascending ranks of the positives, P and N the numbers of positives and negatives.
 * Tied scores share the mean of the ranks they span (mid-ranks), so a positive tied with a negative counts 1/2:
 * the same value as scikit-learn's `roc_auc_score`.
 *
 * Scores come grouped (`count` readings with the same score and label) so a database can hand over a few
 * groups instead of millions of rows. `score: null` is a reading the detector did not score: it ranks below
 * every scored reading, and all unscored readings tie with each other.
 *
 * Returns null when there is no positive or no negative (the AUC is undefined), never NaN.
 */
export interface ScoreGroup {
  /** null: not scored (ranks below every number) */
  score: number | null;
  positive: boolean;
  count: number;
}

export function rocAuc(groups: readonly ScoreGroup[]): number | null {
  // one entry per distinct score (null first), with its positives and negatives
  const byScore = new Map<number | null, { pos: number; neg: number }>();
  let P = 0;
  let N = 0;
  for (const g of groups) {
    if (!(g.count > 0)) continue;
    if (g.score !== null && !Number.isFinite(g.score)) throw new Error(`rocAuc: score ${g.score} is not a finite number`);
    const e = byScore.get(g.score) ?? { pos: 0, neg: 0 };
    if (g.positive) { e.pos += g.count; P += g.count; } else { e.neg += g.count; N += g.count; }
    byScore.set(g.score, e);
  }
  if (P === 0 || N === 0) return null;
  const ordered = [...byScore.entries()].sort(([a], [b]) => (a === null ? (b === null ? 0 : -1) : b === null ? 1 : a - b));
  let below = 0; // readings ranked before this tie group
  let positiveRanks = 0;
  for (const [, { pos, neg }] of ordered) {
    const size = pos + neg;
    const midRank = below + (size + 1) / 2; // mean of ranks below+1 … below+size
    positiveRanks += pos * midRank;
    below += size;
  }
  return (positiveRanks - (P * (P + 1)) / 2) / (P * N);
}
