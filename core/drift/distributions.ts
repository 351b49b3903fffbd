/**
 * Upper tails of the distributions behind the p-values, from @stdlib (Boost-derived incomplete
 * gamma, FreeBSD-derived erfc): both are accurate to a few ulps, including far out in the tail,
 * which `1 - cdf` would not be.
 */
import gammainc from '@stdlib/math-base-special-gammainc';
import erfc from '@stdlib/math-base-special-erfc';

/** P(X >= x) for X ~ chi-square with `dof` degrees of freedom (scipy's `chi2.sf`). */
export function chiSquareSf(x: number, dof: number): number {
  if (x <= 0) return 1;
  // Regularised upper incomplete gamma Q(dof/2, x/2).
  return gammainc(x / 2, dof / 2, true, true);
}

/** P(Z >= z) for a standard normal Z (scipy's `norm.sf`). */
export function normalSf(z: number): number {
  return 0.5 * erfc(z / Math.SQRT2);
}
