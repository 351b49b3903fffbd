/**
 * One column's comparison: from the summaries of its reference and current sides (sorted values
 * for numeric columns, counts for binary and categorical ones) to a FeatureReport before any
 * correction across columns. Pure; the statistics are the scipy-checked ones in this folder.
 */
import { chiSquareHomogeneity } from './chi-square.ts';
import { jensenShannonFromCounts, klFromCounts, psiFromCounts } from './binned.ts';
import type { SortedColumn } from './column.ts';
import { compareSortedColumns } from './numeric.ts';
import { isDrift, type ColumnTest } from './policy.ts';
import { twoProportionZTest } from './proportion.ts';
import type { FeatureReport, FeatureStatistics } from './report.ts';

/** What the statistics need of one side of a column. */
export type ColumnSummary =
  | { readonly kind: 'numeric'; readonly sorted: SortedColumn }
  | { readonly kind: 'binary'; readonly zeros: number; readonly ones: number; readonly missing: number }
  | { readonly kind: 'categorical'; readonly counts: ReadonlyMap<string, number>; readonly missing: number };

export interface FeatureOptions {
  readonly minRows: number;
  readonly bins: number;
  /** Report every statistic that applies to the column's kind, not only the method's. */
  readonly allStatistics: boolean;
}

export function summaryMissing(summary: ColumnSummary): number {
  return summary.kind === 'numeric' ? summary.sorted.missing : summary.missing;
}

export function summaryPresent(summary: ColumnSummary): number {
  if (summary.kind === 'numeric') return summary.sorted.values.length;
  if (summary.kind === 'binary') return summary.zeros + summary.ones;
  let total = 0;
  for (const count of summary.counts.values()) total += count;
  return total;
}

/** Aligned count tables over the union of categories: the reference's first, then new ones. */
export function alignCategories(
  reference: ReadonlyMap<string, number>,
  current: ReadonlyMap<string, number>,
): { categories: string[]; referenceCounts: Float64Array; currentCounts: Float64Array } {
  const categories = [...reference.keys()];
  for (const key of current.keys()) if (!reference.has(key)) categories.push(key);
  const referenceCounts = new Float64Array(categories.length);
  const currentCounts = new Float64Array(categories.length);
  categories.forEach((key, i) => {
    referenceCounts[i] = reference.get(key) ?? 0;
    currentCounts[i] = current.get(key) ?? 0;
  });
  return { categories, referenceCounts, currentCounts };
}

export function evaluateFeature(
  name: string,
  reference: ColumnSummary,
  current: ColumnSummary,
  test: ColumnTest,
  options: FeatureOptions,
): FeatureReport {
  if (reference.kind !== current.kind) {
    throw new TypeError(`column "${name}" is ${reference.kind} in the reference but ${current.kind} in the current data`);
  }
  const missing = { reference: summaryMissing(reference), current: summaryMissing(current) };
  // Keys in the documented order, so the JSON reads the same in every report.
  const feature = (score: number | null, pValue: number | null, drift: boolean, statistics: FeatureStatistics, status: FeatureReport['status']): FeatureReport => ({
    name,
    kind: reference.kind,
    method: test.method,
    score,
    pValue,
    threshold: test.threshold,
    drift,
    statistics,
    missing,
    status,
  });
  const insufficient = feature(null, null, false, {}, 'insufficient-data');
  if (summaryPresent(reference) < options.minRows || summaryPresent(current) < options.minRows) return insufficient;

  const all = options.allStatistics;
  const statistics: FeatureStatistics = {};
  let score: number;
  let pValue: number | null = null;

  if (reference.kind === 'numeric' && current.kind === 'numeric') {
    const result = compareSortedColumns(reference.sorted, current.sorted, { bins: options.bins, minRows: options.minRows });
    if (result.status !== 'ok') return insufficient;
    const method = test.method;
    if (all || method === 'ks') Object.assign(statistics, { ks: result.ks.statistic, ksPValue: result.ks.pValue });
    if (all || method === 'wasserstein') {
      Object.assign(statistics, { wasserstein: result.wasserstein.distance, wassersteinNormed: result.wasserstein.normalised });
    }
    if (all || method === 'psi') statistics.psi = result.binned.psi;
    if (all || method === 'jensen-shannon') statistics.jensenShannon = result.binned.jensenShannon;
    if (all || method === 'kl') statistics.klDivergence = result.binned.kl;
    switch (method) {
      case 'ks':
        score = result.ks.statistic;
        pValue = result.ks.pValue;
        break;
      case 'wasserstein':
        score = result.wasserstein.normalised;
        break;
      case 'psi':
        score = result.binned.psi;
        break;
      case 'jensen-shannon':
        score = result.binned.jensenShannon;
        break;
      case 'kl':
        score = result.binned.kl;
        break;
      default:
        throw new TypeError(`${method} does not apply to the numeric column "${name}"`);
    }
  } else {
    let refCounts: Float64Array;
    let curCounts: Float64Array;
    if (reference.kind === 'binary' && current.kind === 'binary') {
      refCounts = Float64Array.of(reference.zeros, reference.ones);
      curCounts = Float64Array.of(current.zeros, current.ones);
      if (all || test.method === 'z-test') {
        const z = twoProportionZTest(reference.ones, reference.zeros + reference.ones, current.ones, current.zeros + current.ones);
        statistics.zTestPValue = z.pValue;
        if (test.method === 'z-test') {
          score = z.statistic;
          pValue = z.pValue;
        }
      }
    } else if (reference.kind === 'categorical' && current.kind === 'categorical') {
      ({ referenceCounts: refCounts, currentCounts: curCounts } = alignCategories(reference.counts, current.counts));
    } else {
      throw new TypeError(`column "${name}" has mismatched summaries`);
    }
    if (all || test.method === 'chi-square') {
      const chi = chiSquareHomogeneity(refCounts, curCounts);
      statistics.chiSquare = chi.statistic;
      statistics.chiSquarePValue = chi.pValue;
      if (test.method === 'chi-square') {
        score = chi.statistic;
        pValue = chi.pValue;
      }
    }
    if (all || test.method === 'psi') statistics.psi = psiFromCounts(refCounts, curCounts);
    if (all || test.method === 'jensen-shannon') statistics.jensenShannon = jensenShannonFromCounts(refCounts, curCounts);
    if (all || test.method === 'kl') statistics.klDivergence = klFromCounts(refCounts, curCounts);
    if (test.method === 'psi') score = statistics.psi as number;
    else if (test.method === 'jensen-shannon') score = statistics.jensenShannon as number;
    else if (test.method === 'kl') score = statistics.klDivergence as number;
    else if (test.method !== 'z-test' && test.method !== 'chi-square') {
      throw new TypeError(`${test.method} does not apply to the ${reference.kind} column "${name}"`);
    }
  }
  score ??= Number.NaN; // unreachable: every branch above assigns it or throws
  return feature(score, pValue, isDrift(test, score, pValue), statistics, 'ok');
}
