/**
 * Two-proportion z-test for a binary column, pooled variance, two-sided — equal to
 * `statsmodels.stats.proportion.proportions_ztest([refSuccesses, curSuccesses], [refRows, curRows])`:
 *   p = (x1 + x2) / (n1 + n2),  z = (x1/n1 - x2/n2) / sqrt(p (1 - p) (1/n1 + 1/n2)),
 *   p-value = 2 * P(Z >= |z|).
 * When both samples are all 0 or all 1 the pooled variance is 0 and statsmodels returns NaN; the
 * samples are then identical, so we return z = 0 and p-value = 1 instead.
 */
import { DriftInputError } from './errors.ts';
import { normalSf } from './distributions.ts';

export interface ProportionResult {
  readonly statistic: number;
  readonly pValue: number;
  readonly referenceRate: number;
  readonly currentRate: number;
}

function checkCounts(successes: number, rows: number, label: string): void {
  if (!Number.isInteger(rows) || rows <= 0) throw new DriftInputError(rows === 0 ? 'empty' : 'invalid', `${label} must have a positive whole number of rows, got ${rows}`);
  if (!Number.isInteger(successes) || successes < 0 || successes > rows) {
    throw new DriftInputError('invalid', `${label} successes must be a whole number in [0, ${rows}], got ${successes}`);
  }
}

export function twoProportionZTest(refSuccesses: number, refRows: number, curSuccesses: number, curRows: number): ProportionResult {
  checkCounts(refSuccesses, refRows, 'reference');
  checkCounts(curSuccesses, curRows, 'current');
  const referenceRate = refSuccesses / refRows;
  const currentRate = curSuccesses / curRows;
  const pooled = (refSuccesses + curSuccesses) / (refRows + curRows);
  const variance = pooled * (1 - pooled) * (1 / refRows + 1 / curRows);
  if (variance === 0) return { statistic: 0, pValue: 1, referenceRate, currentRate };
  const statistic = (referenceRate - currentRate) / Math.sqrt(variance);
  return { statistic, pValue: 2 * normalSf(Math.abs(statistic)), referenceRate, currentRate };
}

export interface BinaryCounts {
  readonly ones: number;
  readonly rows: number;
  readonly missing: number;
}

/** Counts a 0/1 column; NaN is missing, anything else is refused. */
export function countBinary(values: ArrayLike<number>, label = 'column'): BinaryCounts {
  if (values.length === 0) throw new DriftInputError('empty', `${label} has no rows`);
  let ones = 0;
  let missing = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as number;
    if (v === 1) ones++;
    else if (v !== v) missing++;
    else if (v !== 0) {
      throw new DriftInputError(Number.isFinite(v) ? 'invalid' : 'non-finite', `${label} is binary but row ${i} is ${v}`);
    }
  }
  return { ones, rows: values.length - missing, missing };
}
