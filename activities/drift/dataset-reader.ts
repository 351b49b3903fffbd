/**
 * Reads a dataset (CSV, TSV, JSON Lines, Parquet; optionally gzip-compressed text) from a local
 * path, a file:// URI or an s3:// object into columns, streamed, hashing the stored bytes on the
 * way so the report can name exactly what it compared.
 *
 * The format comes from the extension (.csv, .tsv, .jsonl/.ndjson/.json, .parquet/.pq, each text
 * format optionally followed by .gz) unless the caller names it. Every failure is a DriftDataError
 * naming the file (and the column and line where there is one).
 */
import { createHash, type Hash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import type { ColumnKind } from '../../core/drift/policy.ts';
import { sha256OfFile } from '../artifacts/store.ts';
import { parseLocation } from '../data/object-store.ts';
import { DatasetNotFound, openStream } from '../data/source.ts';
import type { Dataset, DatasetFormat } from './column-builder.ts';
import { readCsvColumns, type ColumnsRead } from './csv-reader.ts';
import { DriftDataError } from './errors.ts';
import { readJsonlColumns } from './jsonl-reader.ts';
import { readParquetColumns } from './parquet-reader.ts';

export interface ReadDatasetOptions {
  /** Overrides the format the extension implies. */
  readonly format?: DatasetFormat;
  /** Kinds the policy fixes by column name; the reader infers the others. */
  readonly kinds?: Readonly<Record<string, ColumnKind>>;
  /** Which columns to build (default all): ignored columns cost no memory. */
  readonly include?: (name: string) => boolean;
}

export const DATASET_FORMATS: readonly DatasetFormat[] = ['csv', 'tsv', 'jsonl', 'parquet'];

/** The format and compression a URI's name implies. */
export function detectFormat(uri: string): { format: DatasetFormat; gzip: boolean } | undefined {
  const name = uri.replace(/[?#].*$/, '').toLowerCase();
  const gzip = name.endsWith('.gz');
  const base = gzip ? name.slice(0, -3) : name;
  const extension = base.slice(base.lastIndexOf('.') + 1);
  const format: DatasetFormat | undefined =
    extension === 'csv'
      ? 'csv'
      : extension === 'tsv'
        ? 'tsv'
        : extension === 'jsonl' || extension === 'ndjson' || extension === 'json'
          ? 'jsonl'
          : extension === 'parquet' || extension === 'pq'
            ? 'parquet'
            : undefined;
  if (!format || (gzip && format === 'parquet')) return undefined;
  return { format, gzip };
}

/** A plain path as the absolute file:// URI reports and profiles carry; URIs stay as given. */
export function canonicalUri(uri: string): string {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(uri) ? uri : pathToFileURL(resolve(uri)).href;
}

export async function readDataset(uri: string, options: ReadDatasetOptions = {}): Promise<Dataset> {
  const detected = detectFormat(uri);
  const format = options.format ?? detected?.format;
  if (!format) {
    throw new DriftDataError(
      'unsupported',
      uri,
      `${uri}: cannot tell the format from the name; use a .csv, .tsv, .jsonl or .parquet file (optionally .gz for text) or name the format`,
    );
  }
  const gzip = detected?.gzip ?? false;
  const columnOptions = { ...(options.kinds ? { kinds: options.kinds } : {}), ...(options.include ? { include: options.include } : {}) };
  if (format === 'parquet') return readParquetDataset(uri, columnOptions);

  const hash = createHash('sha256');
  const counter = { bytes: 0 };
  const source = await open(uri);
  // A local file's size lets the CSV reader size its columns once (no regrowing, no copies).
  const location = parseLocationOrRefuse(uri);
  const sizeHint = location.kind === 'file' && !gzip ? await stat(location.path).then((s) => s.size, () => undefined) : undefined;
  try {
    const raw = tap(source, hash, counter, uri);
    const chunks = gzip ? gunzipped(raw, uri) : raw;
    const read: ColumnsRead =
      format === 'jsonl'
        ? await readJsonlColumns(uri, chunks, columnOptions)
        : await readCsvColumns(uri, chunks, { ...columnOptions, delimiter: format === 'tsv' ? '\t' : ',', ...(sizeHint ? { sizeHint } : {}) });
    return { uri, format, sha256: hash.digest('hex'), bytes: counter.bytes, rows: read.rows, columns: read.columns };
  } finally {
    source.destroy();
  }
}

async function readParquetDataset(uri: string, options: { kinds?: Readonly<Record<string, ColumnKind>>; include?: (name: string) => boolean }): Promise<Dataset> {
  const location = parseLocationOrRefuse(uri);
  if (location.kind === 'file') {
    const source = await open(uri); // the same not-found / permission errors as the text formats
    source.destroy();
    const { sha256, bytes } = await sha256OfFile(location.path);
    const read = await readParquetColumns(uri, location.path, options);
    return { uri, format: 'parquet', sha256, bytes, rows: read.rows, columns: read.columns };
  }
  // Parquet is read from the end (the footer): copy the object to a scratch file, hashing it.
  const scratch = await mkdtemp(join(tmpdir(), 'driftline-parquet-'));
  try {
    const path = join(scratch, 'data.parquet');
    const hash = createHash('sha256');
    const counter = { bytes: 0 };
    const source = await open(uri);
    await pipeline(Readable.from(tap(source, hash, counter, uri)), createWriteStream(path));
    const read = await readParquetColumns(uri, path, options);
    return { uri, format: 'parquet', sha256: hash.digest('hex'), bytes: counter.bytes, rows: read.rows, columns: read.columns };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

function parseLocationOrRefuse(uri: string): ReturnType<typeof parseLocation> {
  try {
    return parseLocation(uri);
  } catch (error) {
    throw new DriftDataError('unsupported', uri, (error as Error).message, { cause: error });
  }
}

/** openStream with its failures named for the drift engine. */
async function open(uri: string): Promise<Readable> {
  parseLocationOrRefuse(uri);
  try {
    return await openStream(uri);
  } catch (error) {
    if (error instanceof DatasetNotFound) throw new DriftDataError('not-found', uri, error.message, { cause: error });
    throw unreachable(uri, error);
  }
}

function unreachable(uri: string, error: unknown): DriftDataError {
  const detail = error instanceof Error ? error.message || error.name : String(error);
  return new DriftDataError('unreachable', uri, `${uri} could not be read: ${detail}`, { cause: error });
}

/** The stored bytes, hashed and counted as they pass; a failing stream becomes 'unreachable'. */
async function* tap(source: Readable, hash: Hash, counter: { bytes: number }, uri: string): AsyncGenerator<Buffer> {
  const iterator = source[Symbol.asyncIterator]();
  for (;;) {
    let next: IteratorResult<Buffer>;
    try {
      next = (await iterator.next()) as IteratorResult<Buffer>;
    } catch (error) {
      throw unreachable(uri, error);
    }
    if (next.done) return;
    hash.update(next.value);
    counter.bytes += next.value.length;
    yield next.value;
  }
}

async function* gunzipped(raw: AsyncIterable<Buffer>, uri: string): AsyncGenerator<Buffer> {
  const gunzip = createGunzip();
  const input = Readable.from(raw);
  input.on('error', (error) => gunzip.destroy(error));
  input.pipe(gunzip);
  try {
    for await (const chunk of gunzip) yield chunk as Buffer;
  } catch (error) {
    if (error instanceof DriftDataError) throw error;
    throw new DriftDataError('malformed', uri, `${uri} is not valid gzip data (${(error as Error).message})`, { cause: error });
  } finally {
    input.destroy();
  }
}
