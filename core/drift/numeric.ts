/**
 * All numeric drift statistics for one column pair, from one sort of each side: KS test and
 * Wasserstein-1 from a single merged walk, PSI / Jensen-Shannon / KL from binary searches for the
 * reference-quantile edges. The reference side can be sorted once and reused for many windows.
 */
import { sortColumn, type SortedColumn } from './column.ts';
import { scanSortedPair } from './ecdf-pass.ts';
import { ksFromScan, type KsResult } from './ks.ts';
import { normaliseWasserstein, populationStd, wassersteinFromScan, type WassersteinResult } from './wasserstein.ts';
import { binnedComparison, DEFAULT_BIN_COUNT, type BinnedResult } from './binned.ts';

/** Default minimum of non-missing rows on each side before statistics are reported. */
export const DEFAULT_MIN_ROWS = 10;

export interface NumericDriftOptions {
  /** Bins for PSI / Jensen-Shannon / KL (default 10). */
  readonly bins?: number;
  /** Fewer non-missing rows than this on either side gives an 'insufficient-data' result. */
  readonly minRows?: number;
}

interface Counts {
  readonly referenceRows: number;
  readonly currentRows: number;
  readonly referenceMissing: number;
  readonly currentMissing: number;
}

export interface NumericDriftStatistics extends Counts {
  readonly status: 'ok';
  readonly ks: KsResult;
  readonly wasserstein: WassersteinResult;
  readonly binned: BinnedResult;
}

export interface InsufficientData extends Counts {
  readonly status: 'insufficient-data';
  readonly minRows: number;
}

export function compareSortedColumns(
  reference: SortedColumn,
  current: SortedColumn,
  options: NumericDriftOptions = {},
): NumericDriftStatistics | InsufficientData {
  const minRows = options.minRows ?? DEFAULT_MIN_ROWS;
  const counts: Counts = {
    referenceRows: reference.values.length,
    currentRows: current.values.length,
    referenceMissing: reference.missing,
    currentMissing: current.missing,
  };
  if (counts.referenceRows < Math.max(1, minRows) || counts.currentRows < Math.max(1, minRows)) {
    return { status: 'insufficient-data', minRows, ...counts };
  }
  const scan = scanSortedPair(reference.values, current.values);
  return {
    status: 'ok',
    ...counts,
    ks: ksFromScan(scan),
    wasserstein: normaliseWasserstein(wassersteinFromScan(scan), populationStd(reference.values)),
    binned: binnedComparison(reference.values, current.values, options.bins ?? DEFAULT_BIN_COUNT),
  };
}

/**
 * Drift statistics of a numeric column: NaN rows are left out and counted; an empty column or an
 * infinity throws DriftInputError.
 */
export function compareNumericColumns(
  reference: ArrayLike<number>,
  current: ArrayLike<number>,
  options: NumericDriftOptions = {},
): NumericDriftStatistics | InsufficientData {
  return compareSortedColumns(sortColumn(reference, 'reference'), sortColumn(current, 'current'), options);
}
