/**
 * Survival function of the two-sided one-sample Kolmogorov statistic D_n for a finite n,
 * P(D_n >= x) — scipy's `kstwo.sf(x, n)`, which `ks_2samp` uses for large samples with
 * n = round(m*n / (m+n)).
 *
 * Written here because we found no npm package that provides it: @stdlib/stats-kstest is a
 * one-sample goodness-of-fit test with its own p-value method, and jStat and simple-statistics have
 * no Kolmogorov distribution. Matching scipy also needs scipy's choice of method per (n, x), after
 * Simard & L'Ecuyer, "Computing the Two-Sided Kolmogorov-Smirnov Distribution", J. Stat. Software
 * 39(11), 2011:
 *  - closed forms at the ends of the support (Ruben & Gambino);
 *  - twice the one-sided Smirnov tail where the two one-sided events cannot both happen
 *    (x >= 0.5) or where the overlap is negligible (n x^2 large);
 *  - Durbin's matrix formula (exact) for small n x^2;
 *  - the Pelz-Good asymptotic series for large n.
 * Where scipy uses Pomeranz's recursion (n <= 140, 0.754693 < n x^2 <= 4) we use Durbin's matrix
 * instead: both are exact, so they agree to rounding.
 */

const SQRT_2PI = Math.sqrt(2 * Math.PI);
const PI2 = Math.PI * Math.PI;
const PI4 = PI2 * PI2;
const PI6 = PI4 * PI2;
/** ln of the smallest positive double: exp of anything below this is 0. */
const LOG_TINIEST = -745.1332191019412;

function clip01(p: number): number {
  return p < 0 ? 0 : p > 1 ? 1 : p;
}

/** x * 2^e without overflowing or underflowing on the way (e may be far outside +-1023). */
function scaleByPowerOfTwo(x: number, e: number): number {
  let rest = e;
  let out = x;
  while (rest > 1000) {
    out *= 2 ** 1000;
    rest -= 1000;
  }
  while (rest < -1000) {
    out *= 2 ** -1000;
    rest += 1000;
  }
  return out * 2 ** rest;
}

/** (1 + y)^k without rounding 1 + y first (that would cost k ulps at large k). */
function powOnePlus(y: number, k: number): number {
  return Math.exp(k * Math.log1p(y));
}

/**
 * One-sided Smirnov tail P(D_n^+ >= x), scipy's `smirnov(n, x)`, by the Birnbaum-Tingey sum
 *   x * sum_{v=0}^{floor(n(1-x))} C(n,v) (x + v/n)^(v-1) (1 - x - v/n)^(n-v),
 * each term evaluated through logarithms (scipy carries double-doubles instead; logs keep the
 * relative error near 1e-11 at n = 10^6, far inside a p-value's needs).
 */
export function smirnovSf(n: number, x: number): number {
  if (x <= 0) return 1;
  if (x >= 1) return 0;
  if (n === 1) return 1 - x;
  const nx = n * x;
  // x <= 1/n: only the first term of the complementary (upper) sum is left.
  if (nx <= 1) return clip01(1 - x * powOnePlus(x, n - 1));
  // The tail is below exp(-2 n x^2) (Dvoretzky-Kiefer-Wolfowitz/Massart); past the smallest
  // double it is 0.
  if (-2 * nx * x < LOG_TINIEST) return 0;
  // x >= 1 - 1/n: only the first term of the lower sum is left.
  if (n - nx <= 1) return clip01(powOnePlus(-x, n));
  if (n > 1_000_000) {
    // scipy switches to this approximation above a million rather than summing a million terms;
    // we do the same to return the same numbers.
    const t = 6 * nx + 1;
    return clip01(Math.exp(-(t * t) / 18 / n));
  }
  // log C(n, v), built up one ratio at a time with compensated (Neumaier) summation: it reaches
  // ~10^5 and feeds an exp(), so plain accumulation would cost ~1e-8 relative on the terms.
  let logBinomial = 0;
  let logBinomialCarry = 0;
  let sum = 0;
  let previous = 0;
  for (let v = 0; ; v++) {
    const rest = n - v - nx; // n (1 - x - v/n)
    if (rest <= 0) break;
    const reached = nx + v; // n (x + v/n)
    // log(1 - reached/n) from whichever of the two forms is not a cancellation.
    const logRest = reached < rest ? Math.log1p(-reached / n) : Math.log(rest / n);
    const term = Math.exp(logBinomial + logBinomialCarry + (v - 1) * Math.log(reached / n) + (n - v) * logRest);
    sum += term;
    // Past the peak the terms fall monotonically; stop once the rest cannot reach the last bit.
    if (term < previous && term * (n - nx - v) < 1e-17 * sum) break;
    previous = term;
    const step = Math.log((n - v) / (v + 1));
    const next = logBinomial + step;
    logBinomialCarry += Math.abs(logBinomial) >= Math.abs(step) ? logBinomial - next + step : step - next + logBinomial;
    logBinomial = next;
  }
  return clip01(x * sum);
}

/**
 * P(D_n < x) by Durbin's matrix formula in the Marsaglia-Tsang-Wang form: with x = (k - h)/n,
 * k integer and 0 <= h < 1, P = n!/n^n * (H^n)[k-1][k-1] for a (2k-1)-square matrix H built from
 * 1/j! and powers of h. Exact up to rounding; cost O(k^3 log n). Powers of two are factored out of
 * the matrix as it grows so nothing overflows.
 */
export function durbinCdf(n: number, x: number): number {
  if (x >= 1) return 1;
  const nx = n * x;
  if (nx <= 0.5) return 0;
  const k = Math.ceil(nx);
  const h = k - nx;
  const size = 2 * k - 1;
  const invFactorial = new Float64Array(size + 1);
  invFactorial[0] = 1;
  for (let j = 1; j <= size; j++) invFactorial[j] = (invFactorial[j - 1] as number) / j;
  const H = new Float64Array(size * size);
  for (let r = 0; r < size; r++) {
    for (let c = 0; c <= Math.min(r + 1, size - 1); c++) H[r * size + c] = invFactorial[r - c + 1] as number;
  }
  // First column and last row lose the paths cut off by the fractional part h.
  let hPower = 1;
  for (let r = 0; r < size; r++) {
    hPower *= h;
    H[r * size] = (H[r * size] as number) - hPower * (invFactorial[r + 1] as number);
    H[(size - 1) * size + (size - 1 - r)] = (H[(size - 1) * size + (size - 1 - r)] as number) - hPower * (invFactorial[r + 1] as number);
  }
  if (2 * h - 1 > 0) H[(size - 1) * size] = (H[(size - 1) * size] as number) + (2 * h - 1) ** size * (invFactorial[size] as number);

  const centre = (k - 1) * size + (k - 1);
  let result: Float64Array = identity(size);
  let resultExponent = 0;
  let base: Float64Array = H;
  let baseExponent = 0;
  let power = n;
  while (power > 0) {
    if (power % 2 === 1) {
      result = multiply(result, base, size);
      resultExponent += baseExponent + rescale(result);
    }
    power = Math.floor(power / 2);
    if (power > 0) {
      base = multiply(base, base, size);
      baseExponent = 2 * baseExponent + rescale(base);
    }
  }
  let p = result[centre] as number;
  let exponent = resultExponent;
  // Times n!/n^n, one factor i/n at a time, lifting p whenever it gets small.
  for (let i = 1; i <= n; i++) {
    p = (p * i) / n;
    if (p !== 0 && Math.abs(p) < 2 ** -500) {
      p *= 2 ** 500;
      exponent -= 500;
    }
  }
  return clip01(scaleByPowerOfTwo(p, exponent));
}

function identity(size: number): Float64Array {
  const out = new Float64Array(size * size);
  for (let i = 0; i < size; i++) out[i * size + i] = 1;
  return out;
}

function multiply(a: Float64Array, b: Float64Array, size: number): Float64Array {
  const out = new Float64Array(size * size);
  for (let r = 0; r < size; r++) {
    for (let t = 0; t < size; t++) {
      const art = a[r * size + t] as number;
      if (art === 0) continue;
      const rowB = t * size;
      const rowOut = r * size;
      for (let c = 0; c < size; c++) out[rowOut + c] = (out[rowOut + c] as number) + art * (b[rowB + c] as number);
    }
  }
  return out;
}

/** Divides the matrix by 2^500 if its largest entry passed 2^500; returns the exponent taken out. */
function rescale(m: Float64Array): number {
  let largest = 0;
  for (let i = 0; i < m.length; i++) {
    const v = Math.abs(m[i] as number);
    if (v > largest) largest = v;
  }
  if (largest <= 2 ** 500) return 0;
  for (let i = 0; i < m.length; i++) m[i] = (m[i] as number) * 2 ** -500;
  return 500;
}

/**
 * Pelz-Good approximation of P(D_n <= x): Kolmogorov's limit plus corrections in n^(-1/2), n^(-1)
 * and n^(-3/2) (Li-Chien, Korolyuk), rewritten through Jacobi's theta identity into series that
 * converge fast for small z = x sqrt(n). Pelz & Good, JRSS B 38(2), 1976; as summarised by
 * Simard & L'Ecuyer (2011), with the series cut at ceil(16 z / pi) terms as scipy does.
 */
export function pelzGoodCdf(n: number, x: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const z = Math.sqrt(n) * x;
  const z2 = z * z;
  const z4 = z2 * z2;
  const z6 = z4 * z2;
  const z8 = z4 * z4;
  if (-PI2 / 8 / z2 < -708) return 0;
  const terms = Math.ceil((16 * z) / Math.PI);
  // Sums over odd m = 2k - 1 of polynomial(m^2) * exp(-pi^2 m^2 / (8 z^2)).
  const c1a = -z2;
  const c1b = PI2 / 4;
  const c2a = 6 * z6 + 2 * z4;
  const c2b = ((2 * z4 - 5 * z2) * PI2) / 4;
  const c2c = (PI4 * (1 - 2 * z2)) / 16;
  const c3a = -30 * z6 - 90 * z8;
  const c3b = (PI2 * (135 * z4 - 96 * z6)) / 4;
  const c3c = (PI4 * (212 * z4 - 60 * z2)) / 16;
  const c3d = (PI6 * (5 - 30 * z2)) / 64;
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  for (let k = terms; k >= 1; k--) {
    const m2 = (2 * k - 1) * (2 * k - 1);
    const w = Math.exp((-PI2 * m2) / (8 * z2));
    s0 += w;
    s1 += (c1a + c1b * m2) * w;
    s2 += (c2a + c2b * m2 + c2c * m2 * m2) * w;
    s3 += (c3a + c3b * m2 + c3c * m2 * m2 + c3d * m2 * m2 * m2) * w;
  }
  // Sums over all k >= 1 of polynomial(k^2) * exp(-pi^2 k^2 / (2 z^2)).
  let e2 = 0;
  let e3 = 0;
  for (let k = terms; k >= 1; k--) {
    const k2 = k * k;
    const w = Math.exp((-PI2 * k2) / (2 * z2));
    e2 += k2 * w;
    e3 += (3 * z2 - PI2 * k2) * k2 * w;
  }
  const K0 = (SQRT_2PI * s0) / z;
  const K1 = (SQRT_2PI * s1) / (6 * z4);
  const K2 = (SQRT_2PI * s2) / (72 * z6 * z) - (PI2 * SQRT_2PI * e2) / (36 * z2 * z);
  const K3 = (SQRT_2PI * s3) / (6480 * z8 * z2) + (PI2 * SQRT_2PI * e3) / (216 * z6);
  const rootN = Math.sqrt(n);
  return K0 + K1 / rootN + K2 / n + K3 / (n * rootN);
}

/**
 * n!/n^n (2nx - 1)^n: P(D_n < x) for 1/(2n) < x <= 1/n (Ruben & Gambino), as a running product
 * so it underflows gracefully instead of overflowing.
 */
function lowerEndCdf(n: number, nx: number): number {
  const base = 2 * nx - 1;
  let p = 1;
  for (let i = 1; i <= n && p !== 0; i++) p *= (i / n) * base;
  return p;
}

/** P(D_n >= x), scipy's `kstwo.sf(x, n)` for an integer n >= 1. */
export function kolmogorovSf(n: number, x: number): number {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`kolmogorovSf needs an integer n >= 1, got ${n}`);
  if (Number.isNaN(x)) throw new RangeError('kolmogorovSf got NaN');
  if (x >= 1) return 0;
  if (x <= 0) return 1;
  const nx = n * x;
  if (nx <= 1) {
    if (nx <= 0.5) return 1;
    return clip01(1 - lowerEndCdf(n, nx));
  }
  if (nx >= n - 1) return clip01(2 * powOnePlus(-x, n));
  // From x >= 1/2 on, D+ >= x and D- >= x cannot both happen: the tail is exactly twice Smirnov's.
  if (x >= 0.5) return clip01(2 * smirnovSf(n, x));
  const nxx = nx * x;
  if (n <= 140) {
    if (nxx <= 4) return clip01(1 - durbinCdf(n, x));
    return clip01(2 * smirnovSf(n, x));
  }
  if (nxx >= 370) return 0;
  if (nxx >= 2.2) return clip01(2 * smirnovSf(n, x));
  const cdf = n <= 100_000 && n * x ** 1.5 <= 1.4 ? durbinCdf(n, x) : pelzGoodCdf(n, x);
  return clip01(1 - cdf);
}
