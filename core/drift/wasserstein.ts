/**
 * Wasserstein-1 (earth mover's) distance between two samples, equal to
 * `scipy.stats.wasserstein_distance(reference, current)`: the area between the two ECDFs.
 */
import { scanSortedPair, type EcdfScan } from './ecdf-pass.ts';
import { requireRows } from './column.ts';

export interface WassersteinResult {
  /** W1 in the column's own unit. */
  readonly distance: number;
  /**
   * W1 / std(reference), with the population standard deviation (ddof = 0), so columns of any unit
   * can share one threshold. A constant reference has std 0: then W1 itself is returned (a scale
   * of one unit) and `referenceConstant` says so, rather than an infinity or a NaN.
   */
  readonly normalised: number;
  readonly referenceStd: number;
  readonly referenceConstant: boolean;
}

export function wassersteinFromScan(scan: EcdfScan): number {
  return scan.scaledArea / (scan.na * scan.nb);
}

/**
 * Population standard deviation (ddof = 0) of sorted values in one pass. Sums are taken around the
 * median, which the sort gives for free: the mean is always within one standard deviation of the
 * median, so the shifted sum of squares loses at most a couple of bits to cancellation (unlike the
 * textbook E[x^2] - E[x]^2, which can lose them all).
 */
export function populationStd(sortedValues: Float64Array): number {
  requireRows(sortedValues, 'reference');
  const n = sortedValues.length;
  const shift = sortedValues[n >>> 1] as number;
  let sum = 0;
  let squares = 0;
  for (let i = 0; i < n; i++) {
    const d = (sortedValues[i] as number) - shift;
    sum += d;
    squares += d * d;
  }
  const variance = (squares - (sum * sum) / n) / n;
  return variance > 0 ? Math.sqrt(variance) : 0;
}

export function normaliseWasserstein(distance: number, referenceStd: number): WassersteinResult {
  const referenceConstant = referenceStd === 0;
  return {
    distance,
    normalised: referenceConstant ? distance : distance / referenceStd,
    referenceStd,
    referenceConstant,
  };
}

/** W1 and its normalised form for two sorted samples (non-empty, no NaN). */
export function wasserstein(sortedReference: Float64Array, sortedCurrent: Float64Array): WassersteinResult {
  const distance = wassersteinFromScan(scanSortedPair(sortedReference, sortedCurrent));
  return normaliseWasserstein(distance, populationStd(sortedReference));
}
