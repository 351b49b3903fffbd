/**
 * Binned comparisons on bins cut at the reference's quantiles: Population Stability Index,
 * Jensen-Shannon distance and Kullback-Leibler divergence.
 *
 * Bins. The interior edges are the reference's quantiles at 1/B, 2/B, ..., (B-1)/B (B = 10 by
 * default), computed like `numpy.quantile(reference, k / B)` (linear interpolation between order
 * statistics). Equal edges, which a reference with ties produces, are collapsed, so there may be
 * fewer than B bins. Bin 0 is (-inf, e1], bin i is (e_i, e_{i+1}], the last is (e_last, +inf): a
 * value equal to an edge goes to the bin below it (numpy: `searchsorted(edges, x, side='left')`).
 * The outer bins are open, so current values outside the reference's range are still counted.
 *
 * Smoothing. PSI and KL divide by bin proportions, so an empty bin would make them infinite. For
 * those two only, a proportion of exactly 0 is replaced by EMPTY_BIN_PROPORTION (1e-4); other
 * proportions are left as they are and nothing is renormalised for PSI. KL is
 * `scipy.stats.entropy(p_ref, p_cur)` on the smoothed proportions (scipy normalises each to sum 1),
 * natural log, reference first: KL(reference || current). Jensen-Shannon needs no smoothing and is
 * `scipy.spatial.distance.jensenshannon(p_ref, p_cur, base=2)` on the raw proportions: a distance
 * in [0, 1].
 */
import { DriftInputError } from './errors.ts';
import { requireRows } from './column.ts';

export const DEFAULT_BIN_COUNT = 10;
export const EMPTY_BIN_PROPORTION = 1e-4;

export interface BinnedResult {
  /** Interior bin edges (ascending, distinct); there are edges.length + 1 bins. */
  readonly edges: Float64Array;
  readonly referenceCounts: Float64Array;
  readonly currentCounts: Float64Array;
  readonly psi: number;
  /** Jensen-Shannon distance, base 2 */
  readonly jensenShannon: number;
  /** KL(reference || current), natural log, on smoothed proportions */
  readonly kl: number;
}

/** numpy's default ('linear') quantile of sorted values, including its two-sided lerp. */
export function sortedQuantile(sorted: Float64Array, q: number): number {
  const n = sorted.length;
  const virtual = (n - 1) * q;
  if (virtual >= n - 1) return sorted[n - 1] as number;
  if (virtual <= 0) return sorted[0] as number;
  const below = Math.floor(virtual);
  const a = sorted[below] as number;
  const b = sorted[below + 1] as number;
  const t = virtual - below;
  const span = b - a;
  // numpy interpolates from the nearer end, which keeps the result inside [a, b].
  return t >= 0.5 ? b - span * (1 - t) : a + span * t;
}

export function quantileEdges(sortedReference: Float64Array, binCount = DEFAULT_BIN_COUNT): Float64Array {
  if (!Number.isInteger(binCount) || binCount < 2) {
    throw new DriftInputError('invalid', `bin count must be an integer >= 2, got ${binCount}`);
  }
  requireRows(sortedReference, 'reference');
  const edges = new Float64Array(binCount - 1);
  let count = 0;
  for (let k = 1; k < binCount; k++) {
    const edge = sortedQuantile(sortedReference, k / binCount);
    if (count === 0 || edge !== edges[count - 1]) edges[count++] = edge;
  }
  return edges.subarray(0, count);
}

/** Number of sorted values <= x (binary search). */
function countAtMost(sorted: Float64Array, x: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((sorted[mid] as number) <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Counts per bin of a sorted sample: one binary search per edge. */
export function binCounts(sorted: Float64Array, edges: Float64Array): Float64Array {
  const counts = new Float64Array(edges.length + 1);
  let before = 0;
  for (let e = 0; e < edges.length; e++) {
    const atMost = countAtMost(sorted, edges[e] as number);
    counts[e] = atMost - before;
    before = atMost;
  }
  counts[edges.length] = sorted.length - before;
  return counts;
}

function smoothed(p: number): number {
  return p === 0 ? EMPTY_BIN_PROPORTION : p;
}

/** PSI = sum (p_cur - p_ref) ln(p_cur / p_ref) over bins, on smoothed proportions. */
export function psiFromCounts(referenceCounts: Float64Array, currentCounts: Float64Array): number {
  const { refTotal, curTotal } = totals(referenceCounts, currentCounts);
  let psi = 0;
  for (let i = 0; i < referenceCounts.length; i++) {
    const pr = smoothed((referenceCounts[i] as number) / refTotal);
    const pc = smoothed((currentCounts[i] as number) / curTotal);
    psi += (pc - pr) * Math.log(pc / pr);
  }
  return psi;
}

/** KL(reference || current) in nats on smoothed, renormalised proportions (scipy.stats.entropy). */
export function klFromCounts(referenceCounts: Float64Array, currentCounts: Float64Array): number {
  const { refTotal, curTotal } = totals(referenceCounts, currentCounts);
  const bins = referenceCounts.length;
  let refSum = 0;
  let curSum = 0;
  for (let i = 0; i < bins; i++) {
    refSum += smoothed((referenceCounts[i] as number) / refTotal);
    curSum += smoothed((currentCounts[i] as number) / curTotal);
  }
  let kl = 0;
  for (let i = 0; i < bins; i++) {
    const p = smoothed((referenceCounts[i] as number) / refTotal) / refSum;
    const q = smoothed((currentCounts[i] as number) / curTotal) / curSum;
    kl += p * Math.log(p / q);
  }
  return kl;
}

/** Jensen-Shannon distance, base 2, on raw proportions (scipy.spatial.distance.jensenshannon). */
export function jensenShannonFromCounts(referenceCounts: Float64Array, currentCounts: Float64Array): number {
  const { refTotal, curTotal } = totals(referenceCounts, currentCounts);
  let divergence = 0;
  for (let i = 0; i < referenceCounts.length; i++) {
    const p = (referenceCounts[i] as number) / refTotal;
    const q = (currentCounts[i] as number) / curTotal;
    const m = (p + q) / 2;
    if (p > 0) divergence += p * Math.log(p / m);
    if (q > 0) divergence += q * Math.log(q / m);
  }
  // Rounding can leave a hair below zero for identical inputs; the distance is its square root.
  return Math.sqrt(Math.max(0, divergence / Math.LN2 / 2));
}

function totals(referenceCounts: Float64Array, currentCounts: Float64Array): { refTotal: number; curTotal: number } {
  if (referenceCounts.length !== currentCounts.length) {
    throw new DriftInputError('invalid', `bin counts differ in length: ${referenceCounts.length} vs ${currentCounts.length}`);
  }
  let refTotal = 0;
  let curTotal = 0;
  for (let i = 0; i < referenceCounts.length; i++) {
    refTotal += referenceCounts[i] as number;
    curTotal += currentCounts[i] as number;
  }
  if (refTotal <= 0) throw new DriftInputError('empty', 'reference has no rows in any bin');
  if (curTotal <= 0) throw new DriftInputError('empty', 'current has no rows in any bin');
  return { refTotal, curTotal };
}

/** PSI, Jensen-Shannon and KL of two sorted samples on the reference's quantile bins. */
export function binnedComparison(
  sortedReference: Float64Array,
  sortedCurrent: Float64Array,
  binCount = DEFAULT_BIN_COUNT,
): BinnedResult {
  requireRows(sortedCurrent, 'current');
  const edges = quantileEdges(sortedReference, binCount);
  const referenceCounts = binCounts(sortedReference, edges);
  const currentCounts = binCounts(sortedCurrent, edges);
  return {
    edges,
    referenceCounts,
    currentCounts,
    psi: psiFromCounts(referenceCounts, currentCounts),
    jensenShannon: jensenShannonFromCounts(referenceCounts, currentCounts),
    kl: klFromCounts(referenceCounts, currentCounts),
  };
}
