/**
 * Parquet through hyparquet (pure JS, no native build), one row group at a time so memory holds
 * one group's decoded columns plus the columns being built. Parquet needs random access (the
 * schema is in the footer), so callers hand in a local file; an s3:// object is first copied to a
 * scratch file (dataset-reader.ts).
 *
 * Types: float, double and integer columns are numbers (INT64 as the nearest double), BOOLEAN is
 * 0/1, strings are text, timestamps and dates become epoch milliseconds. Nested columns (lists,
 * structs, maps) and raw binary are refused by name: a drift column is one value per row.
 */
import { asyncBufferFromFile, parquetMetadataAsync, parquetRead, parquetSchema, type FileMetaData } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import type { ColumnKind } from '../../core/drift/policy.ts';
import { ColumnBuilder } from './column-builder.ts';
import type { ColumnsRead } from './csv-reader.ts';
import { DriftDataError } from './errors.ts';

export interface ParquetReadOptions {
  readonly kinds?: Readonly<Record<string, ColumnKind>>;
  readonly include?: (name: string) => boolean;
}

export async function readParquetColumns(uri: string, localPath: string, options: ParquetReadOptions = {}): Promise<ColumnsRead> {
  const file = await asyncBufferFromFile(localPath);
  if (file.byteLength === 0) throw new DriftDataError('empty', uri, `${uri} is empty (0 bytes)`);
  let metadata: FileMetaData;
  try {
    metadata = await parquetMetadataAsync(file);
  } catch (error) {
    throw new DriftDataError('not-parquet', uri, `${uri} is not a Parquet file (${(error as Error).message})`, { cause: error });
  }
  const schema = parquetSchema(metadata);
  const header = schema.children.map((child) => child.element.name);
  const include = options.include;
  const kinds = options.kinds ?? {};
  const builders = new Map<string, ColumnBuilder>();
  for (const child of schema.children) {
    const name = child.element.name;
    if (include && !include(name)) continue;
    if (child.children.length > 0) {
      throw new DriftDataError('unsupported', uri, `${uri}: column "${name}" is nested (a list, struct or map); drift columns need one value per row`, {
        column: name,
      });
    }
    builders.set(name, new ColumnBuilder(name, uri, kinds[name], 'row'));
  }
  const wanted = [...builders.keys()];
  let groupStart = 0;
  try {
    for (const group of metadata.row_groups) {
      const groupRows = Number(group.num_rows);
      const groupEnd = groupStart + groupRows;
      if (wanted.length > 0 && groupRows > 0) {
        const delivered = new Map<string, number>();
        await parquetRead({
          file,
          metadata,
          columns: wanted,
          rowStart: groupStart,
          rowEnd: groupEnd,
          compressors,
          onChunk: ({ columnName, columnData, rowStart, rowEnd }) => {
            const builder = builders.get(columnName);
            if (!builder) return;
            // Chunks may reach outside the requested rows: keep exactly this group's rows, once.
            const from = Math.max(rowStart, groupStart + (delivered.get(columnName) ?? 0));
            const to = Math.min(rowEnd, groupEnd);
            for (let row = from; row < to; row++) addValue(builder, columnData[row - rowStart], row + 1, uri);
            if (to > from) delivered.set(columnName, to - groupStart);
          },
        });
        for (const name of wanted) {
          if ((delivered.get(name) ?? 0) !== groupRows) {
            throw new DriftDataError('malformed', uri, `${uri}: column "${name}" has fewer values than rows in a row group`, { column: name });
          }
        }
      }
      groupStart = groupEnd;
    }
  } catch (error) {
    if (error instanceof DriftDataError) throw error;
    throw new DriftDataError('not-parquet', uri, `${uri} is not a readable Parquet file (${(error as Error).message})`, { cause: error });
  }
  return { header, columns: [...builders.values()].map((b) => b.finish()), rows: groupStart };
}

function addValue(builder: ColumnBuilder, value: unknown, row: number, uri: string): void {
  if (value === null || value === undefined) return builder.none();
  let number: number;
  switch (typeof value) {
    case 'number':
      number = value;
      break;
    case 'bigint':
      number = Number(value);
      break;
    case 'boolean':
      return builder.boolean(value, row);
    case 'string':
      return builder.text(value, row);
    default:
      if (value instanceof Date) {
        number = value.getTime();
        break;
      }
      throw new DriftDataError('unsupported', uri, `${uri} row ${row}: column "${builder.name}" holds binary or nested data; drift columns need numbers or strings`, {
        column: builder.name,
        line: row,
      });
  }
  if (number !== number) return builder.none(); // a NaN float is how pandas stores a missing value
  if (!Number.isFinite(number)) return builder.text(String(number), row);
  if (builder.textMode) return builder.count(String(number));
  builder.number(number, row);
}
