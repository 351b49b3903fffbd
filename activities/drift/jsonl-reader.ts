/**
 * A streaming JSON Lines reader: one JSON object per line, blank lines skipped. Columns are the
 * objects' keys in first-seen order; a key a row lacks, or a null, is a missing value. Numbers are
 * numbers, booleans are 0/1 (a binary column), strings go through the same rules as CSV text
 * (missing-value words, "inf", text making a column categorical). Nested objects and arrays are
 * refused: a drift column is one value per row.
 */
import type { ColumnKind } from '../../core/drift/policy.ts';
import { ColumnBuilder } from './column-builder.ts';
import type { ColumnsRead } from './csv-reader.ts';
import { DriftDataError } from './errors.ts';

export interface JsonlReadOptions {
  readonly kinds?: Readonly<Record<string, ColumnKind>>;
  readonly include?: (name: string) => boolean;
}

export async function readJsonlColumns(uri: string, chunks: AsyncIterable<Buffer>, options: JsonlReadOptions = {}): Promise<ColumnsRead> {
  const kinds = options.kinds ?? {};
  const include = options.include;
  const builders = new Map<string, ColumnBuilder | null>();
  const filled = new Map<ColumnBuilder, number>();
  let rows = 0;
  let line = 0;
  let sawBytes = false;
  let carry: Buffer | undefined;

  const takeLine = (raw: Buffer): void => {
    line++;
    const text = raw.toString('utf8').trim();
    if (!text) return;
    let record: unknown;
    try {
      record = JSON.parse(text);
    } catch (error) {
      if (line === 1 && text.startsWith('[')) {
        throw new DriftDataError('malformed', uri, `${uri} is a JSON array; the drift engine reads JSON Lines (one object per line)`, { line });
      }
      throw new DriftDataError('malformed', uri, `${uri} line ${line}: not valid JSON (${(error as Error).message})`, { line, cause: error });
    }
    if (Array.isArray(record) && line === 1) {
      throw new DriftDataError('malformed', uri, `${uri} is a JSON array; the drift engine reads JSON Lines (one object per line)`, { line });
    }
    if (record === null || typeof record !== 'object' || Array.isArray(record)) {
      throw new DriftDataError('malformed', uri, `${uri} line ${line}: expected a JSON object, got ${Array.isArray(record) ? 'an array' : JSON.stringify(record)}`, { line });
    }
    for (const [name, value] of Object.entries(record as Record<string, unknown>)) {
      let builder = builders.get(name);
      if (builder === undefined) {
        builder = include && !include(name) ? null : new ColumnBuilder(name, uri, kinds[name]);
        builders.set(name, builder);
        if (builder) {
          builder.noneMany(rows); // rows before this key first appeared had no value for it
          filled.set(builder, rows);
        }
      }
      if (!builder) continue;
      if (filled.get(builder) === rows + 1) {
        throw new DriftDataError('malformed', uri, `${uri} line ${line}: key "${name}" appears twice in one object`, { line, column: name });
      }
      addValue(builder, value, line, uri);
      filled.set(builder, rows + 1);
    }
    rows++;
    for (const [builder, upTo] of filled) {
      if (upTo < rows) {
        builder.none();
        filled.set(builder, rows);
      }
    }
  };

  for await (const chunk of chunks) {
    sawBytes ||= chunk.length > 0;
    const buffer = carry ? Buffer.concat([carry, chunk]) : chunk;
    let start = 0;
    for (let at = buffer.indexOf(10, start); at !== -1; at = buffer.indexOf(10, start)) {
      takeLine(buffer.subarray(start, at));
      start = at + 1;
    }
    carry = start < buffer.length ? Buffer.from(buffer.subarray(start)) : undefined;
  }
  if (carry) takeLine(carry);
  if (!sawBytes || builders.size === 0) throw new DriftDataError('empty', uri, `${uri} is empty: it has no JSON objects`);
  const columns = [...builders.values()].flatMap((b) => (b ? [b.finish()] : []));
  return { header: [...builders.keys()], columns, rows };
}

function addValue(builder: ColumnBuilder, value: unknown, line: number, uri: string): void {
  if (value === null || value === undefined) return builder.none();
  switch (typeof value) {
    case 'number':
      if (!Number.isFinite(value)) return builder.text(String(value), line); // 1e999 parses to Infinity
      if (builder.textMode) return builder.count(String(value));
      return builder.number(value, line);
    case 'boolean':
      return builder.boolean(value, line);
    case 'string':
      return builder.text(value, line);
    default:
      throw new DriftDataError(
        'unsupported',
        uri,
        `${uri} line ${line}: column "${builder.name}" holds ${Array.isArray(value) ? 'an array' : 'an object'}; drift columns need one number or string per row`,
        { line, column: builder.name },
      );
  }
}
