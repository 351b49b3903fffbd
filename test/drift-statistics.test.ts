/**
 * The drift statistics against scipy / statsmodels. Every expected number comes from the fixtures
 * that scripts/fixtures/drift_fixtures.py writes with scipy; samples above 10,000 rows are stored
 * as seeds and regenerated here by the PRNG twin in scripts/fixtures/prng.ts.
 * Tolerances: statistics within 1e-9 relative, p-values within 1e-6 absolute.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  binnedComparison,
  chiSquareHomogeneity,
  compareNumericColumns,
  countBinary,
  countCategories,
  DriftInputError,
  kolmogorovSf,
  ksTwoSample,
  sortColumn,
  twoProportionZTest,
  wasserstein,
  type NumericDriftStatistics,
} from '../core/drift/index.ts';
import { exactPValueEqualSizes, exactPValueUnequalSizes } from '../core/drift/ks-exact.ts';
import { gcd, roundHalfEven } from '../core/drift/ks.ts';
import { sortFloat64InPlace } from '../core/drift/sort.ts';
import { generateSample, type SampleSpec } from '../scripts/fixtures/prng.ts';

const STAT_RTOL = 1e-9;
const P_ATOL = 1e-6;

function fixture<T>(name: string): T {
  return JSON.parse(readFileSync(new URL(`./fixtures/drift/${name}`, import.meta.url), 'utf8')) as T;
}

/** |actual - expected| within rtol of the larger magnitude; an exact 0 must come out as ~0. */
function expectRelClose(actual: number, expected: number, what: string, rtol = STAT_RTOL): void {
  const scale = Math.max(Math.abs(actual), Math.abs(expected));
  const ok = Math.abs(actual - expected) <= rtol * scale || Math.abs(actual - expected) <= 1e-15;
  expect(ok, `${what}: got ${actual}, scipy ${expected}`).toBe(true);
}

function expectPClose(actual: number, expected: number, what: string): void {
  expect(Math.abs(actual - expected) <= P_ATOL, `${what}: got ${actual}, scipy ${expected}`).toBe(true);
}

type Side = (number | null)[] | SampleSpec;

function load(side: Side): Float64Array {
  if (Array.isArray(side)) return Float64Array.from(side, (v) => (v === null ? Number.NaN : v));
  return generateSample(side);
}

interface NumericCase {
  name: string;
  reference: Side;
  current: Side;
  bins: number;
  expected: {
    referenceRows: number;
    currentRows: number;
    referenceMissing: number;
    currentMissing: number;
    ksStatistic: number;
    ksPValue: number;
    ksMethod: 'exact' | 'asymptotic';
    wasserstein: number;
    referenceStd: number;
    wassersteinNormalised: number;
    edges: number[];
    referenceCounts: number[];
    currentCounts: number[];
    psi: number;
    kl: number;
    jensenShannon: number;
  };
}

const numeric = fixture<{ prngCheck: { spec: SampleSpec; values: number[] }; cases: NumericCase[] }>('numeric.json');

describe('PRNG twin (scripts/fixtures/prng.ts vs drift_prng.py)', () => {
  it('produces the same stream as the Python generator', () => {
    expect(Array.from(generateSample(numeric.prngCheck.spec))).toEqual(numeric.prngCheck.values);
  });
});

describe('numeric columns against scipy', () => {
  it('covers every branch the brief asks for', () => {
    const methods = new Set(numeric.cases.map((c) => c.expected.ksMethod));
    expect(methods).toEqual(new Set(['exact', 'asymptotic']));
    expect(numeric.cases.some((c) => c.expected.currentRows > 10_000)).toBe(true);
  });

  for (const c of numeric.cases) {
    it(c.name, () => {
      const e = c.expected;
      const result = compareNumericColumns(load(c.reference), load(c.current), { bins: c.bins, minRows: 1 });
      expect(result.status).toBe('ok');
      const r = result as NumericDriftStatistics;
      expect([r.referenceRows, r.currentRows, r.referenceMissing, r.currentMissing]).toEqual([
        e.referenceRows,
        e.currentRows,
        e.referenceMissing,
        e.currentMissing,
      ]);

      // ks_2samp(alternative='two-sided', method='auto')
      expectRelClose(r.ks.statistic, e.ksStatistic, 'KS statistic');
      expectPClose(r.ks.pValue, e.ksPValue, 'KS p-value');
      expect(r.ks.method).toBe(e.ksMethod);

      // wasserstein_distance and W1 / std(reference, ddof=0)
      expectRelClose(r.wasserstein.distance, e.wasserstein, 'Wasserstein-1');
      expectRelClose(r.wasserstein.referenceStd, e.referenceStd, 'reference std');
      expectRelClose(r.wasserstein.normalised, e.wassersteinNormalised, 'normalised Wasserstein-1');
      expect(r.wasserstein.referenceConstant).toBe(e.referenceStd === 0);

      // quantile bins, PSI, entropy (KL), jensenshannon
      expect(Array.from(r.binned.edges)).toEqual(e.edges);
      expect(Array.from(r.binned.referenceCounts)).toEqual(e.referenceCounts);
      expect(Array.from(r.binned.currentCounts)).toEqual(e.currentCounts);
      expectRelClose(r.binned.psi, e.psi, 'PSI');
      expectRelClose(r.binned.kl, e.kl, 'KL');
      expectRelClose(r.binned.jensenShannon, e.jensenShannon, 'Jensen-Shannon');
    });
  }

  it('gives the same numbers through the single-statistic entry points', () => {
    const c = numeric.cases.find((x) => x.name.startsWith('unequal sizes 37 vs 501'));
    if (!c) throw new Error('fixture case missing');
    const ref = sortColumn(load(c.reference)).values;
    const cur = sortColumn(load(c.current)).values;
    expectRelClose(ksTwoSample(ref, cur).statistic, c.expected.ksStatistic, 'KS statistic');
    expectPClose(ksTwoSample(ref, cur).pValue, c.expected.ksPValue, 'KS p-value');
    expectRelClose(wasserstein(ref, cur).distance, c.expected.wasserstein, 'Wasserstein-1');
    expectRelClose(binnedComparison(ref, cur, c.bins).psi, c.expected.psi, 'PSI');
  });
});

describe('Kolmogorov distribution against scipy.stats.kstwo.sf', () => {
  const rows = fixture<{ rows: { n: number; x: number; sf: number }[] }>('kolmogorov.json').rows;
  it(`matches on ${rows.length} (n, x) points across every branch`, () => {
    for (const { n, x, sf } of rows) expectPClose(kolmogorovSf(n, x), sf, `kstwo.sf(${x}, ${n})`);
  });
});

describe('exact two-sample KS p-value against scipy path counts', () => {
  const rows = fixture<{ rows: { m: number; n: number; h: number; p: number }[] }>('ks_exact.json').rows;
  it(`matches on ${rows.length} (m, n, h) points`, () => {
    for (const { m, n, h, p } of rows) {
      const ours = m === n ? exactPValueEqualSizes(n, h) : exactPValueUnequalSizes(m, n, gcd(m, n), h);
      expectPClose(ours, p, `P(D >= ${h}/lcm(${m}, ${n}))`);
    }
  });
});

describe('categorical columns against scipy.stats.chi2_contingency(correction=False)', () => {
  const cases = fixture<{
    cases: { name: string; reference: number[]; current: number[]; expected: { statistic: number; pValue: number; dof: number } }[];
  }>('categorical.json').cases;
  for (const c of cases) {
    it(c.name, () => {
      const r = chiSquareHomogeneity(c.reference, c.current);
      expectRelClose(r.statistic, c.expected.statistic, 'chi-square statistic');
      expectPClose(r.pValue, c.expected.pValue, 'chi-square p-value');
      expect(r.dof).toBe(c.expected.dof);
    });
  }

  it('counts raw category values, with null and undefined as missing', () => {
    const counts = countCategories(['a', 'b', null, 'a'], ['b', 'c', undefined, 'c']);
    expect(counts.categories).toEqual(['a', 'b', 'c']);
    expect(Array.from(counts.referenceCounts)).toEqual([2, 1, 0]);
    expect(Array.from(counts.currentCounts)).toEqual([0, 1, 2]);
    expect([counts.referenceMissing, counts.currentMissing]).toEqual([1, 1]);
  });
});

describe('binary columns against the pooled two-proportion z-test', () => {
  const binary = fixture<{
    source: string;
    cases: {
      name: string;
      counts: [number, number, number, number];
      reference?: (number | null)[];
      current?: (number | null)[];
      expected: { statistic: number; pValue: number; referenceMissing?: number; currentMissing?: number };
    }[];
  }>('binary.json');
  for (const c of binary.cases) {
    it(`${c.name} (${binary.source})`, () => {
      let counts = c.counts;
      if (c.reference && c.current) {
        const ref = countBinary(load(c.reference), 'reference');
        const cur = countBinary(load(c.current), 'current');
        expect([ref.missing, cur.missing]).toEqual([c.expected.referenceMissing, c.expected.currentMissing]);
        counts = [ref.ones, ref.rows, cur.ones, cur.rows];
        expect(counts).toEqual(c.counts);
      }
      const r = twoProportionZTest(...counts);
      expectRelClose(r.statistic, c.expected.statistic, 'z');
      expectPClose(r.pValue, c.expected.pValue, 'p-value');
    });
  }

  it('returns z = 0, p = 1 when both samples are constant and equal (statsmodels gives NaN)', () => {
    expect(twoProportionZTest(0, 10, 0, 20)).toMatchObject({ statistic: 0, pValue: 1 });
    expect(twoProportionZTest(10, 10, 20, 20)).toMatchObject({ statistic: 0, pValue: 1 });
  });
});

describe('bad input', () => {
  const problem = (fn: () => unknown): string => {
    try {
      fn();
    } catch (error) {
      if (error instanceof DriftInputError) return error.problem;
      throw error;
    }
    return 'no error';
  };

  it('refuses infinities with a typed error instead of returning NaN', () => {
    expect(problem(() => compareNumericColumns([1, 2, Infinity], [1, 2, 3]))).toBe('non-finite');
    expect(problem(() => compareNumericColumns([1, 2, 3], [-Infinity, 2, 3]))).toBe('non-finite');
    expect(problem(() => countBinary([0, 1, Infinity]))).toBe('non-finite');
    expect(problem(() => chiSquareHomogeneity([1, Infinity], [1, 2]))).toBe('non-finite');
  });

  it('refuses empty input', () => {
    expect(problem(() => compareNumericColumns([], [1, 2, 3]))).toBe('empty');
    expect(problem(() => ksTwoSample(new Float64Array(0), new Float64Array([1])))).toBe('empty');
    expect(problem(() => wasserstein(new Float64Array([1]), new Float64Array(0)))).toBe('empty');
    expect(problem(() => chiSquareHomogeneity([0, 0], [1, 2]))).toBe('empty');
    expect(problem(() => twoProportionZTest(0, 0, 1, 2))).toBe('empty');
  });

  it('refuses malformed counts and non-binary values', () => {
    expect(problem(() => chiSquareHomogeneity([1, 2], [1]))).toBe('invalid');
    expect(problem(() => chiSquareHomogeneity([1, -2], [1, 2]))).toBe('invalid');
    expect(problem(() => twoProportionZTest(5, 4, 1, 2))).toBe('invalid');
    expect(problem(() => countBinary([0, 1, 2]))).toBe('invalid');
  });

  it('leaves NaN out, counts it, and reports insufficient data below the minimum rows', () => {
    const result = compareNumericColumns([Number.NaN, Number.NaN, 1], [1, 2, 3, Number.NaN], { minRows: 2 });
    expect(result).toEqual({
      status: 'insufficient-data',
      minRows: 2,
      referenceRows: 1,
      currentRows: 3,
      referenceMissing: 2,
      currentMissing: 1,
    });
    const allMissing = compareNumericColumns([Number.NaN], [1, 2], { minRows: 0 });
    expect(allMissing.status).toBe('insufficient-data');
  });
});

describe('helpers', () => {
  it('radix-sorts doubles exactly like the built-in sort (signs, zeros, subnormals, extremes, ties)', () => {
    const special = [0, -0, 5e-324, -5e-324, 2.2250738585072014e-308, -Number.MAX_VALUE, Number.MAX_VALUE, 1, -1, 0.1, -0.1];
    const sample = generateSample({ seed: 5, n: 50_000, sample: { kind: 'bell', scale: 1e3, shift: 0 } });
    const ties = generateSample({ seed: 6, n: 20_000, sample: { kind: 'integers', levels: 7, offset: -3 } });
    const tiny = generateSample({ seed: 7, n: 10_000, sample: { kind: 'uniform', lo: -1e-310, hi: 1e-310 } });
    const values = Float64Array.from([...special, ...sample, ...ties, ...tiny]);
    const expected = Array.from(values.slice().sort(), (v) => Object.is(v, -0) ? '-0' : String(v));
    const actual = Array.from(sortFloat64InPlace(values), (v) => Object.is(v, -0) ? '-0' : String(v));
    expect(actual).toEqual(expected);
  });

  it('rounds halves to even like numpy', () => {
    expect([0.5, 1.5, 2.5, 5000.5, 5001.5, 2.4, 2.6].map(roundHalfEven)).toEqual([0, 2, 2, 5000, 5002, 2, 3]);
  });
});
