/**
 * A numeric column made ready for the drift statistics: missing values (NaN) left out and counted,
 * infinities refused, the rest sorted once. Every numeric statistic here works from this one sort.
 */
import { DriftInputError } from './errors.ts';
import { sortFloat64InPlace } from './sort.ts';

export interface SortedColumn {
  /** The non-missing values, ascending. */
  readonly values: Float64Array;
  /** Rows left out because they were NaN. */
  readonly missing: number;
}

/**
 * Copies the non-NaN values of `input`, sorts them and counts the NaNs. Throws a DriftInputError
 * for an input with no rows at all or with an infinity (an infinity has no place on a CDF's
 * x-axis: Wasserstein would be infinite and the quantile bins undefined).
 */
export function sortColumn(input: ArrayLike<number>, label = 'column'): SortedColumn {
  const length = input.length;
  if (length === 0) throw new DriftInputError('empty', `${label} has no rows`);
  const out = new Float64Array(length);
  let kept = 0;
  for (let i = 0; i < length; i++) {
    const value = input[i] as number;
    if (value !== value) continue; // NaN: missing
    if (value === Infinity || value === -Infinity) {
      throw new DriftInputError('non-finite', `${label} has an infinite value at row ${i}`);
    }
    out[kept++] = value;
  }
  // A view, not a copy: the missing rows only leave unused room at the end of the buffer.
  const values = kept === length ? out : out.subarray(0, kept);
  sortFloat64InPlace(values);
  return { values, missing: length - kept };
}

/** Throws unless the column has at least one value (after missing values were left out). */
export function requireRows(column: Float64Array, label: string): void {
  if (column.length === 0) throw new DriftInputError('empty', `${label} has no non-missing values`);
}
