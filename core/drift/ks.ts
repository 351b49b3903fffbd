/**
 * Two-sample Kolmogorov-Smirnov test, two-sided, matching
 * `scipy.stats.ks_2samp(a, b, alternative='two-sided', method='auto')`:
 *  - exact p-value (lattice-path count) when both samples have at most 10,000 rows;
 *  - otherwise `kstwo.sf(D, round(m n / (m + n)))` (rounding half to even, as numpy does).
 * As in scipy, an exact result that rounding pushed outside [0, 1] falls back to the asymptotic one.
 */
import { exactPValueEqualSizes, exactPValueUnequalSizes } from './ks-exact.ts';
import { kolmogorovSf } from './kolmogorov.ts';
import { scanSortedPair, type EcdfScan } from './ecdf-pass.ts';

/** scipy's limit for trying the exact p-value under method='auto'. */
export const KS_EXACT_MAX_ROWS = 10_000;

export interface KsResult {
  /** sup |F_reference - F_current| */
  readonly statistic: number;
  readonly pValue: number;
  readonly method: 'exact' | 'asymptotic';
}

export function gcd(a: number, b: number): number {
  let x = a;
  let y = b;
  while (y !== 0) {
    const t = x % y;
    x = y;
    y = t;
  }
  return x;
}

/** Math.round rounds halves up; numpy (and so scipy) rounds them to the even neighbour. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** The KS test from an ECDF scan of two sorted samples (see ecdf-pass.ts). */
export function ksFromScan(scan: EcdfScan): KsResult {
  const { na, nb } = scan;
  // In units of 1/(na nb); an exact integer.
  const scaledD = Math.max(scan.maxScaledDiff, scan.maxScaledNegDiff);
  let statistic = scaledD / (na * nb);
  if (Math.max(na, nb) <= KS_EXACT_MAX_ROWS) {
    const g = gcd(na, nb);
    const lcm = (na / g) * nb;
    const h = scaledD / g; // D in units of 1/lcm, an integer
    statistic = h / lcm;
    if (h === 0) return { statistic, pValue: 1, method: 'exact' };
    const p = na === nb ? exactPValueEqualSizes(na, h) : exactPValueUnequalSizes(na, nb, g, h);
    if (p >= 0 && p <= 1) return { statistic, pValue: p, method: 'exact' };
  }
  const larger = Math.max(na, nb);
  const smaller = Math.min(na, nb);
  const effectiveN = roundHalfEven((larger * smaller) / (larger + smaller));
  return { statistic, pValue: kolmogorovSf(effectiveN, statistic), method: 'asymptotic' };
}

/** KS test of two sorted samples (non-empty, no NaN). */
export function ksTwoSample(sortedReference: Float64Array, sortedCurrent: Float64Array): KsResult {
  return ksFromScan(scanSortedPair(sortedReference, sortedCurrent));
}
