/**
 * Chi-square test of homogeneity for a categorical column: do the reference and current rows
 * spread over the categories in the same proportions? Equal to
 * `scipy.stats.chi2_contingency([referenceCounts, currentCounts], correction=False)` on the
 * categories that occur at least once. A category absent from both samples carries no information
 * and would make scipy's expected frequency 0 (an error there), so it is left out, and the degrees
 * of freedom count only the categories that occur.
 */
import { DriftInputError } from './errors.ts';
import { chiSquareSf } from './distributions.ts';

export interface ChiSquareResult {
  readonly statistic: number;
  readonly pValue: number;
  readonly dof: number;
  /** Categories that occur in at least one sample (the table's columns). */
  readonly categories: number;
}

function checkCount(value: number, label: string, index: number): void {
  if (!Number.isFinite(value) || value < 0) {
    throw new DriftInputError(Number.isFinite(value) ? 'invalid' : 'non-finite', `${label} count for category ${index} must be a finite number >= 0, got ${value}`);
  }
}

/** Counts aligned by category: referenceCounts[i] and currentCounts[i] are the same category. */
export function chiSquareHomogeneity(referenceCounts: ArrayLike<number>, currentCounts: ArrayLike<number>): ChiSquareResult {
  if (referenceCounts.length !== currentCounts.length) {
    throw new DriftInputError('invalid', `category counts differ in length: ${referenceCounts.length} vs ${currentCounts.length}`);
  }
  let refTotal = 0;
  let curTotal = 0;
  let categories = 0;
  for (let i = 0; i < referenceCounts.length; i++) {
    const r = referenceCounts[i] as number;
    const c = currentCounts[i] as number;
    checkCount(r, 'reference', i);
    checkCount(c, 'current', i);
    refTotal += r;
    curTotal += c;
    if (r + c > 0) categories++;
  }
  if (refTotal === 0) throw new DriftInputError('empty', 'reference has no categorical rows');
  if (curTotal === 0) throw new DriftInputError('empty', 'current has no categorical rows');
  const dof = categories - 1;
  // One category: both samples are identical in distribution (scipy returns 0 and 1 here too).
  if (dof === 0) return { statistic: 0, pValue: 1, dof, categories };
  const total = refTotal + curTotal;
  let statistic = 0;
  for (let i = 0; i < referenceCounts.length; i++) {
    const r = referenceCounts[i] as number;
    const c = currentCounts[i] as number;
    const column = r + c;
    if (column === 0) continue;
    const expectedRef = (refTotal * column) / total;
    const expectedCur = (curTotal * column) / total;
    statistic += ((r - expectedRef) * (r - expectedRef)) / expectedRef + ((c - expectedCur) * (c - expectedCur)) / expectedCur;
  }
  return { statistic, pValue: chiSquareSf(statistic, dof), dof, categories };
}

export interface CategoryCounts {
  readonly categories: string[];
  readonly referenceCounts: Float64Array;
  readonly currentCounts: Float64Array;
  /** Rows whose value was null or undefined. */
  readonly referenceMissing: number;
  readonly currentMissing: number;
}

/**
 * Counts raw categorical values into aligned tables (categories in first-seen order: reference,
 * then categories new in current). null and undefined are missing: counted, not a category.
 */
export function countCategories(reference: Iterable<string | null | undefined>, current: Iterable<string | null | undefined>): CategoryCounts {
  const index = new Map<string, number>();
  const ref: number[] = [];
  const cur: number[] = [];
  let referenceMissing = 0;
  let currentMissing = 0;
  const slot = (value: string): number => {
    let at = index.get(value);
    if (at === undefined) {
      at = index.size;
      index.set(value, at);
      ref.push(0);
      cur.push(0);
    }
    return at;
  };
  for (const value of reference) {
    if (value === null || value === undefined) referenceMissing++;
    else {
      const at = slot(value);
      ref[at] = (ref[at] as number) + 1;
    }
  }
  for (const value of current) {
    if (value === null || value === undefined) currentMissing++;
    else {
      const at = slot(value);
      cur[at] = (cur[at] as number) + 1;
    }
  }
  return {
    categories: [...index.keys()],
    referenceCounts: Float64Array.from(ref),
    currentCounts: Float64Array.from(cur),
    referenceMissing,
    currentMissing,
  };
}
