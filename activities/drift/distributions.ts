/**
 * What the HTML report draws for each column: the reference and current distributions on shared
 * bins, as proportions (the two sides rarely have the same number of rows).
 *
 * Numeric: equal-width bins over the range both sides cover, trimmed to the 0.5%..99.5% quantiles
 * so one outlier does not squash the picture (values outside land in the first or last bin, and
 * the counts say so); integer data with a small range gets one bin per integer so no bin holds
 * two values while its neighbour holds one. Categorical and binary: one bar per category, the
 * largest first, the tail folded into "other".
 */
import { sortedQuantile } from '../../core/drift/binned.ts';
import { alignCategories, type ColumnSummary } from '../../core/drift/feature.ts';

export const HISTOGRAM_BINS = 30;
export const MAX_CATEGORY_BARS = 12;

export type FeatureDistribution =
  | {
      readonly name: string;
      readonly kind: 'numeric';
      /** bins + 1 ascending edges */
      readonly edges: number[];
      readonly reference: number[];
      readonly current: number[];
      /** Rows outside the drawn range, folded into the end bins. */
      readonly outside: { reference: number; current: number };
      readonly integers: boolean;
    }
  | {
      readonly name: string;
      readonly kind: 'categorical' | 'binary';
      readonly categories: string[];
      readonly reference: number[];
      readonly current: number[];
      /** Categories folded into the last bar ("other"), 0 when none. */
      readonly folded: number;
    };

export function featureDistribution(name: string, reference: ColumnSummary, current: ColumnSummary): FeatureDistribution | undefined {
  if (reference.kind === 'numeric' && current.kind === 'numeric') return numericDistribution(name, reference.sorted.values, current.sorted.values);
  if (reference.kind === 'binary' && current.kind === 'binary') {
    return {
      name,
      kind: 'binary',
      categories: ['0', '1'],
      reference: proportions([reference.zeros, reference.ones]),
      current: proportions([current.zeros, current.ones]),
      folded: 0,
    };
  }
  if (reference.kind === 'categorical' && current.kind === 'categorical') return categoricalDistribution(name, reference.counts, current.counts);
  return undefined;
}

function proportions(counts: ArrayLike<number>): number[] {
  let total = 0;
  for (let i = 0; i < counts.length; i++) total += counts[i] as number;
  return Array.from(counts, (c) => (total > 0 ? c / total : 0));
}

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

function countBelow(sorted: Float64Array, x: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((sorted[mid] as number) < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function allIntegers(sorted: Float64Array): boolean {
  for (let i = 0; i < sorted.length; i++) if (!Number.isInteger(sorted[i])) return false;
  return true;
}

function numericDistribution(name: string, ref: Float64Array, cur: Float64Array): FeatureDistribution | undefined {
  if (ref.length === 0 && cur.length === 0) return undefined;
  const sides = [ref, cur].filter((s) => s.length > 0);
  const min = Math.min(...sides.map((s) => s[0] as number));
  const max = Math.max(...sides.map((s) => s[s.length - 1] as number));
  const integers = sides.every(allIntegers);
  let edges: number[];
  if (integers && max - min <= 60) {
    edges = Array.from({ length: max - min + 2 }, (_, k) => min - 0.5 + k);
  } else {
    let lo = Math.min(...sides.map((s) => sortedQuantile(s, 0.005)));
    let hi = Math.max(...sides.map((s) => sortedQuantile(s, 0.995)));
    if (!(hi > lo)) {
      lo = min;
      hi = max;
    }
    if (!(hi > lo)) {
      lo -= 0.5;
      hi += 0.5;
    }
    const width = (hi - lo) / HISTOGRAM_BINS;
    edges = Array.from({ length: HISTOGRAM_BINS + 1 }, (_, k) => (k === HISTOGRAM_BINS ? hi : lo + k * width));
  }
  const histogram = (sorted: Float64Array): { shares: number[]; outside: number } => {
    const bins = edges.length - 1;
    const counts = new Array<number>(bins).fill(0);
    // Bin k is [edge k, edge k+1), the last one closed; everything below/above folds into the ends.
    let before = 0;
    for (let k = 1; k < bins; k++) {
      const below = countBelow(sorted, edges[k] as number);
      counts[k - 1] = below - before;
      before = below;
    }
    counts[bins - 1] = sorted.length - before;
    const outside = countBelow(sorted, edges[0] as number) + (sorted.length - countAtMost(sorted, edges[bins] as number));
    return { shares: proportions(counts), outside };
  };
  const r = histogram(ref);
  const c = histogram(cur);
  return { name, kind: 'numeric', edges, reference: r.shares, current: c.shares, outside: { reference: r.outside, current: c.outside }, integers };
}

function categoricalDistribution(name: string, reference: ReadonlyMap<string, number>, current: ReadonlyMap<string, number>): FeatureDistribution {
  const { categories, referenceCounts, currentCounts } = alignCategories(reference, current);
  const ref = proportions(referenceCounts);
  const cur = proportions(currentCounts);
  const order = categories.map((_, i) => i).sort((a, b) => Math.max(ref[b] as number, cur[b] as number) - Math.max(ref[a] as number, cur[a] as number));
  const shown = order.length > MAX_CATEGORY_BARS ? order.slice(0, MAX_CATEGORY_BARS - 1) : order;
  const rest = order.slice(shown.length);
  const sum = (values: number[], indexes: number[]) => indexes.reduce((total, i) => total + (values[i] as number), 0);
  return {
    name,
    kind: 'categorical',
    categories: [...shown.map((i) => categories[i] as string), ...(rest.length ? [`other (${rest.length})`] : [])],
    reference: [...shown.map((i) => ref[i] as number), ...(rest.length ? [sum(ref, rest)] : [])],
    current: [...shown.map((i) => cur[i] as number), ...(rest.length ? [sum(cur, rest)] : [])],
    folded: rest.length,
  };
}
