/**
 * One merged walk over two sorted samples that yields everything the KS test and the
 * Wasserstein-1 distance need, so each pair of columns is read once after sorting.
 *
 * Both statistics are functions of the two empirical CDFs F_a and F_b evaluated at each distinct
 * value of the pooled sample, with ties consumed entirely (a right-continuous ECDF, as numpy's
 * `searchsorted(side='right')` gives). We keep the difference as the integer
 * `i * nb - j * na` = na * nb * (F_a - F_b), which is exact while na * nb stays below 2^53; the KS
 * exact p-value needs that integer, and the Wasserstein sum divides once at the end.
 */
import { DriftInputError } from './errors.ts';
import { requireRows } from './column.ts';

export interface EcdfScan {
  readonly na: number;
  readonly nb: number;
  /** max over x of na*nb*(F_a(x) - F_b(x)), an integer >= 0 */
  readonly maxScaledDiff: number;
  /** max over x of na*nb*(F_b(x) - F_a(x)), an integer >= 0 */
  readonly maxScaledNegDiff: number;
  /** integral of |F_a - F_b| dx, times na*nb */
  readonly scaledArea: number;
}

export function scanSortedPair(a: Float64Array, b: Float64Array): EcdfScan {
  requireRows(a, 'reference');
  requireRows(b, 'current');
  const na = a.length;
  const nb = b.length;
  if (!Number.isSafeInteger(na * nb)) {
    throw new DriftInputError('invalid', `${na} x ${nb} rows is too many for exact ECDF differences (the product must stay below 2^53)`);
  }
  let i = 0;
  let j = 0;
  let maxDiff = 0;
  let minDiff = 0;
  let area = 0;
  let prevValue = 0;
  let prevAbsDiff = 0;
  // Both samples still have values: take the smaller head (both when they tie), then any repeats.
  while (i < na && j < nb) {
    const x = a[i] as number;
    const y = b[j] as number;
    let value: number;
    if (x < y) {
      value = x;
      i++;
      while (i < na && (a[i] as number) === value) i++;
    } else if (y < x) {
      value = y;
      j++;
      while (j < nb && (b[j] as number) === value) j++;
    } else {
      value = x;
      i++;
      j++;
      while (i < na && (a[i] as number) === value) i++;
      while (j < nb && (b[j] as number) === value) j++;
    }
    // Between the previous distinct value and this one both ECDFs are flat.
    area += prevAbsDiff * (value - prevValue);
    const diff = i * nb - j * na;
    if (diff > maxDiff) maxDiff = diff;
    else if (diff < minDiff) minDiff = diff;
    prevAbsDiff = diff < 0 ? -diff : diff;
    prevValue = value;
  }
  // One sample is used up; the other's remaining values close the gap one distinct value at a time.
  while (i < na) {
    const value = a[i] as number;
    area += prevAbsDiff * (value - prevValue);
    i++;
    while (i < na && (a[i] as number) === value) i++;
    const diff = i * nb - j * na;
    if (diff > maxDiff) maxDiff = diff;
    prevAbsDiff = diff < 0 ? -diff : diff;
    prevValue = value;
  }
  while (j < nb) {
    const value = b[j] as number;
    area += prevAbsDiff * (value - prevValue);
    j++;
    while (j < nb && (b[j] as number) === value) j++;
    const diff = i * nb - j * na;
    if (diff < minDiff) minDiff = diff;
    prevAbsDiff = diff < 0 ? -diff : diff;
    prevValue = value;
  }
  return { na, nb, maxScaledDiff: maxDiff, maxScaledNegDiff: -minDiff, scaledArea: area };
}
