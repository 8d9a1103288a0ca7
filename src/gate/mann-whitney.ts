/**
 * The one-sided Mann–Whitney U test (the Wilcoxon rank-sum test): does sample
 * b tend to hold larger values than sample a?
 *
 * It looks only at the order of the values, so one 900 ms outlier weighs the
 * same as a 30 ms one, and it assumes no shape for the latency distribution,
 * which is skewed and lumpy in practice.
 *
 * No statistics package was used: on npm, simple-statistics only computes the
 * rank sum (no p-value), jstat and @stdlib have no Mann–Whitney test, and the
 * packages that do are small, untyped and without an exact distribution.
 */

export interface RankTestResult {
  /** U for sample b: the pairs (a_i, b_j) with b_j > a_i, a tie counting one half. */
  u: number;
  /** One-sided p-value for "sample b tends to be larger than sample a". */
  pGreater: number;
  n1: number;
  n2: number;
  /** Probability of superiority: P(b > a) + 0.5 P(b = a), that is u / (n1 × n2); 0.5 means no shift. */
  effect: number;
  /** How pGreater was computed. */
  method: RankTestMethod;
}

export type RankTestMethod = 'exact' | 'normal';

export interface RankTestOptions {
  /** `auto` (the default) is exact while both samples have at most {@link exactSampleLimit} values. */
  method?: RankTestMethod | 'auto';
}

/**
 * Up to this size on both sides the p-value is counted exactly: at 20 + 20 the
 * count is about 1.4 × 10^11, still an exact integer in a double, and the
 * table takes well under a millisecond to build.
 */
export const exactSampleLimit = 20;

export function mannWhitneyGreater(a: readonly number[], b: readonly number[], options: RankTestOptions = {}): RankTestResult {
  checkSample('a', a);
  checkSample('b', b);
  const n1 = a.length;
  const n2 = b.length;
  const method = chooseMethod(options.method ?? 'auto', n1, n2);
  if (n1 === 0 || n2 === 0) {
    // Nothing to compare: no evidence of a shift either way.
    return { u: 0, pGreater: 1, n1, n2, effect: 0.5, method };
  }

  const ranking = rankPooled(a, b);
  const u = ranking.doubledRankSumB / 2 - (n2 * (n2 + 1)) / 2;
  const pGreater = method === 'exact' ? exactUpperTail(ranking, n1, n2) : normalUpperTail(u, n1, n2, ranking.tieTerm);
  return { u, pGreater, n1, n2, effect: u / (n1 * n2), method };
}

function chooseMethod(requested: RankTestMethod | 'auto', n1: number, n2: number): RankTestMethod {
  if (requested !== 'auto') return requested;
  return n1 <= exactSampleLimit && n2 <= exactSampleLimit ? 'exact' : 'normal';
}

function checkSample(name: string, sample: readonly number[]): void {
  const bad = sample.findIndex((value) => !Number.isFinite(value));
  if (bad !== -1) {
    throw new RangeError(`mannWhitneyGreater: sample ${name}[${bad}] is ${String(sample[bad])}; every value must be a finite number`);
  }
}

interface PooledRanking {
  /**
   * Every value's midrank, doubled so that ties (which share the mean of their
   * ranks, often a half) stay whole numbers and sums can index a table. The
   * first n1 entries belong to a, the rest to b.
   */
  doubledRanks: number[];
  doubledRankSumB: number;
  /** Σ (t³ − t) over groups of t tied values, for the normal variance. */
  tieTerm: number;
}

function rankPooled(a: readonly number[], b: readonly number[]): PooledRanking {
  const values = [...a, ...b];
  const order = values.map((_, index) => index).sort((left, right) => values[left]! - values[right]!);
  const doubledRanks = new Array<number>(values.length).fill(0);
  let tieTerm = 0;
  for (let start = 0; start < order.length;) {
    let end = start + 1;
    while (end < order.length && values[order[end]!] === values[order[start]!]) end += 1;
    // Positions start..end-1 hold ranks start+1..end; their mean, doubled, is start+1+end.
    for (let position = start; position < end; position += 1) doubledRanks[order[position]!] = start + 1 + end;
    const tied = end - start;
    tieTerm += tied * tied * tied - tied;
    start = end;
  }
  const doubledRankSumB = doubledRanks.slice(a.length).reduce((sum, rank) => sum + rank, 0);
  return { doubledRanks, doubledRankSumB, tieTerm };
}

/**
 * The share of all ways to split the pooled ranks into groups of n1 and n2
 * whose b-side rank sum is at least the observed one. With ties this is the
 * exact permutation distribution given those ties, so ms-rounded durations need
 * no approximation either.
 */
function exactUpperTail(ranking: PooledRanking, n1: number, n2: number): number {
  const { doubledRanks, doubledRankSumB } = ranking;
  const total = doubledRanks.reduce((sum, rank) => sum + rank, 0);
  // Counting subsets of the smaller size is cheaper; "b's sum is at least x"
  // is the same event as "a's sum is at most total − x".
  const countB = n2 <= n1;
  const counts = subsetSumCounts(doubledRanks, countB ? n2 : n1);
  const threshold = countB ? doubledRankSumB : total - doubledRankSumB;
  let tail = 0;
  let all = 0;
  counts.forEach((ways, sum) => {
    all += ways;
    if (countB ? sum >= threshold : sum <= threshold) tail += ways;
  });
  return Math.min(1, tail / all);
}

/** counts[s] = how many subsets of `size` of the values add up to s. */
function subsetSumCounts(values: readonly number[], size: number): Float64Array {
  const largest = [...values].sort((left, right) => right - left).slice(0, size);
  const maxSum = largest.reduce((sum, value) => sum + value, 0);
  // ways[k][s]: subsets of k of the values seen so far that add up to s.
  const ways = Array.from({ length: size + 1 }, () => new Float64Array(maxSum + 1));
  ways[0]![0] = 1;
  let seenSum = 0;
  values.forEach((value, seen) => {
    // Downwards, so each value joins a subset at most once; subsets too small
    // to reach `size` with the values still to come are never extended.
    const fewest = Math.max(1, size - (values.length - seen - 1));
    for (let k = Math.min(seen + 1, size); k >= fewest; k -= 1) {
      const from = ways[k - 1]!;
      const to = ways[k]!;
      for (let sum = Math.min(seenSum, maxSum - value); sum >= 0; sum -= 1) {
        const count = from[sum] ?? 0;
        if (count !== 0) to[sum + value] = (to[sum + value] ?? 0) + count;
      }
    }
    seenSum += value;
  });
  return ways[size]!;
}

/** Normal approximation with the tie-corrected variance and a continuity correction of one half. */
function normalUpperTail(u: number, n1: number, n2: number, tieTerm: number): number {
  const pooled = n1 + n2;
  const mean = (n1 * n2) / 2;
  const variance = ((n1 * n2) / 12) * (pooled + 1 - tieTerm / (pooled * (pooled - 1)));
  // Every value tied: U sits exactly at its mean and nothing is shifted.
  if (!(variance > 0)) return 1;
  const z = (u - mean - 0.5) / Math.sqrt(variance);
  return Math.min(1, Math.max(0, standardNormalUpperTail(z)));
}

/** P(Z ≥ z) for a standard normal Z. */
export function standardNormalUpperTail(z: number): number {
  return complementaryErrorFunction(z / Math.SQRT2) / 2;
}

/**
 * erfc(x) by the Chebyshev fit in Numerical Recipes (§6.2), relative error
 * below 1.2 × 10^-7 for every x: plenty for p-values compared with 0.05 / m.
 */
function complementaryErrorFunction(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + z / 2);
  const polynomial =
    -1.26551223 +
    t *
      (1.00002368 +
        t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));
  const upper = t * Math.exp(-z * z + polynomial);
  return x >= 0 ? upper : 2 - upper;
}
