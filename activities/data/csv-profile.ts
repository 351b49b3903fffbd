/**
 * One streaming pass over a CSV dataset that yields everything validation needs — per-column
 * counts, missing values, numeric range, categories — and the file's sha256, without holding rows
 * in memory. Ragged rows are reported, not guessed at.
 */
import { parse } from 'csv-parse';
import { createHash } from 'node:crypto';
import { Transform } from 'node:stream';
import type { ColumnProfile, DatasetProfile } from '../../core/data-contract.ts';
import { openStream } from './source.ts';

const MAX_DISTINCT = 1000;

export class MalformedDataset extends Error {
  override readonly name = 'MalformedDataset';
}

export async function profileCsv(uri: string, onProgress?: (rows: number) => void): Promise<DatasetProfile> {
  const source = await openStream(uri);
  const hash = createHash('sha256');
  let bytes = 0;
  const tap = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      bytes += chunk.length;
      callback(null, chunk);
    },
  });
  const parser = parse({ bom: true, skip_empty_lines: true, relax_column_count: true, trim: true });
  source.on('error', (error) => parser.destroy(error));
  tap.on('error', (error) => parser.destroy(error));
  source.pipe(tap).pipe(parser);
  let header: string[] | undefined;
  let columns: ColumnAccumulator[] = [];
  let rows = 0;
  const raggedRows: number[] = [];
  try {
    for await (const record of parser as AsyncIterable<string[]>) {
      if (!header) {
        header = record;
        const seen = new Set<string>();
        for (const name of header) {
          if (!name) throw new MalformedDataset(`${uri}: the header has an empty column name`);
          if (seen.has(name)) throw new MalformedDataset(`${uri}: the header names column "${name}" twice`);
          seen.add(name);
        }
        columns = header.map((name) => new ColumnAccumulator(name));
        continue;
      }
      rows++;
      if (record.length !== header.length) {
        if (raggedRows.length < 10) raggedRows.push(rows + 1); // 1-based line number; the header is line 1
        continue;
      }
      for (let i = 0; i < columns.length; i++) columns[i]!.add(record[i]!);
      if (onProgress && rows % 100_000 === 0) onProgress(rows);
    }
  } catch (error) {
    throw asMalformed(error, uri);
  } finally {
    source.destroy();
  }
  if (!header) throw new MalformedDataset(`${uri} is empty: it has no header row`);
  if (raggedRows.length > 0) {
    throw new MalformedDataset(`${uri}: line(s) ${raggedRows.join(', ')} do not have ${header.length} fields like the header`);
  }
  return { uri, sha256: hash.digest('hex'), bytes, rows, columns: columns.map((c) => c.profile()) };
}

/** csv-parse's own errors (codes `CSV_…`) mean the file is not CSV: final, and named by file. */
export function asMalformed(error: unknown, uri: string): unknown {
  if (error instanceof MalformedDataset) return error;
  const code = (error as { code?: string }).code;
  if (code?.startsWith('CSV_')) return new MalformedDataset(`${uri}: not a readable CSV file (${(error as Error).message})`);
  return error;
}

class ColumnAccumulator {
  private missing = 0;
  private numeric = 0;
  private min = Number.POSITIVE_INFINITY;
  private max = Number.NEGATIVE_INFINITY;
  private nonNumericExample: string | null = null;
  private readonly counts = new Map<string, number>();
  private distinctOverflow = false;

  constructor(private readonly name: string) {}

  add(value: string): void {
    if (value === '' || value === 'NA' || value === 'NaN' || value === 'null') {
      this.missing++;
      return;
    }
    const number = Number(value);
    if (Number.isFinite(number)) {
      this.numeric++;
      if (number < this.min) this.min = number;
      if (number > this.max) this.max = number;
    } else if (this.nonNumericExample === null) {
      this.nonNumericExample = value;
    }
    const count = this.counts.get(value);
    if (count !== undefined) this.counts.set(value, count + 1);
    else if (this.counts.size < MAX_DISTINCT) this.counts.set(value, 1);
    else this.distinctOverflow = true;
  }

  profile(): ColumnProfile {
    return {
      name: this.name,
      missing: this.missing,
      numeric: this.numeric,
      min: this.numeric > 0 ? this.min : null,
      max: this.numeric > 0 ? this.max : null,
      nonNumericExample: this.nonNumericExample,
      categories: this.distinctOverflow ? null : Object.fromEntries(this.counts),
    };
  }
}
