/**
 * From a column as read to what the statistics need of it: numeric columns sorted (missing values
 * left out and counted), binary columns as counts of 0 and 1, categorical columns as counts.
 *
 * The reader's Float64Array belongs to us, so a numeric column is compacted and sorted in place:
 * no second copy of a million-row column (sortColumn in core/drift copies, as pure code must).
 */
import type { ColumnSummary } from '../../core/drift/feature.ts';
import { sortFloat64InPlace } from '../../core/drift/sort.ts';
import type { ColumnData } from './column-builder.ts';

export function summariseColumn(column: ColumnData): ColumnSummary {
  if (column.kind === 'categorical') return { kind: 'categorical', counts: column.counts, missing: column.missing };
  const values = column.values;
  if (column.kind === 'binary') {
    let ones = 0;
    let zeros = 0;
    for (let i = 0; i < values.length; i++) {
      const v = values[i] as number;
      if (v === 1) ones++;
      else if (v === 0) zeros++;
    }
    return { kind: 'binary', ones, zeros, missing: values.length - ones - zeros };
  }
  let kept = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as number;
    if (v === v) values[kept++] = v;
  }
  const present = kept === values.length ? values : values.subarray(0, kept);
  sortFloat64InPlace(present);
  return { kind: 'numeric', sorted: { values: present, missing: values.length - kept } };
}
