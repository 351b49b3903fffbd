/**
 * Exact two-sided p-value of the two-sample Kolmogorov-Smirnov test, P(D >= h / lcm(m, n)) under
 * the null hypothesis, by counting lattice paths as scipy's `ks_2samp(method='exact')` does.
 *
 * A random permutation of the pooled sample is a monotone lattice path from (0, 0) to (m, n): a
 * step right for a value from the first sample, a step up for one from the second. At (i, j) the
 * scaled ECDF difference is i/m - j/n = (i*ng - j*mg) / lcm with mg = m/g, ng = n/g, g = gcd(m, n),
 * so D >= h/lcm exactly when the path touches a point with |i*ng - j*mg| >= h.
 */

/**
 * Equal sample sizes (m = n): the reflection principle gives
 * P = 2 * sum_{k>=1} (-1)^(k-1) C(2n, n-kh) / C(2n, n).
 * Written as nested ratios A_1 (1 - A_2 (1 - A_3 (...))) where A_k = C(2n, n-kh) / C(2n, n-(k-1)h)
 * is a product of h factors below 1, which avoids both the huge binomials and the cancellation of
 * the alternating sum.
 */
export function exactPValueEqualSizes(n: number, h: number): number {
  let nested = 0;
  for (let k = Math.floor(n / h); k >= 0; k--) {
    const offset = k * h;
    let ratio = 1;
    for (let step = 0; step < h; step++) {
      ratio = (ratio * (n - offset - step)) / (n + offset + step + 1);
    }
    nested = ratio * (1 - nested);
  }
  return 2 * nested;
}

/**
 * Unequal sizes: walk the lattice column by column, keeping for every point (i, j) inside the band
 * |i*ng - j*mg| < h the fraction of paths from the origin to (i, j) that have already left the band.
 * A point is reached from (i-1, j) by i/(i+j) of its paths and from (i, j-1) by j/(i+j), so
 *   q(i, j) = (i q(i-1, j) + j q(i, j-1)) / (i + j),  and q = 1 outside the band.
 * Carrying the fraction of escaped paths (rather than the count of paths kept inside, as Hodges
 * did) keeps every number in [0, 1] and gives the small p-values without cancellation
 * (Viehmann 2021, arXiv:2102.08037). Only the rows inside the band are visited: O(m * band width).
 */
export function exactPValueUnequalSizes(sizeA: number, sizeB: number, g: number, h: number): number {
  // Walk the columns of the larger sample; the band is then at most ~2n rows tall.
  const m = Math.max(sizeA, sizeB);
  const n = Math.min(sizeA, sizeB);
  const mg = m / g;
  const ng = n / g;
  // escaped[j] holds q(i, j) for the current column i. Rows above the band stay 1; rows below the
  // band are never read again because the band only moves up as i grows.
  const escaped = new Float64Array(n + 1).fill(1);
  const firstHigh = Math.min(Math.ceil(h / mg), n + 1); // column 0: rows j with j*mg >= h have escaped
  escaped.fill(0, 0, firstHigh);
  for (let i = 1; i <= m; i++) {
    const lo = Math.max(Math.floor((ng * i - h) / mg) + 1, 0);
    const hi = Math.min(Math.ceil((ng * i + h) / mg), n + 1); // exclusive
    if (hi <= lo) return 1; // no point of this column is inside: every path escapes
    // The point just below the band has escaped, unless the band starts at the bottom row.
    let below = lo === 0 ? 0 : 1;
    for (let j = lo; j < hi; j++) {
      below = (i * (escaped[j] as number) + j * below) / (i + j);
      escaped[j] = below;
    }
  }
  return escaped[n] as number;
}
