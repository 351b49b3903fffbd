/**
 * What the compliance checks read and write: whole CSV tables (holdouts, predictions) as strings,
 * small JSON/Markdown/SVG reports stored by content in the artifact store, and sidecar objects.
 */
import { parse } from 'csv-parse';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ArtifactRef } from '../../core/compliance.ts';
import type { ArtifactStore } from '../artifacts/store.ts';
import { MalformedDataset } from '../data/csv-profile.ts';
import { openStream } from '../data/source.ts';

export interface Table {
  header: string[];
  rows: string[][];
}

/** A CSV file as strings (header + rows); `maxRows` stops early. Throws MalformedDataset / DatasetNotFound. */
export async function readTable(uri: string, maxRows = Number.POSITIVE_INFINITY): Promise<Table> {
  const source = await openStream(uri);
  const parser = parse({ bom: true, skip_empty_lines: true, trim: true, relax_column_count: false });
  source.on('error', (error) => parser.destroy(error));
  source.pipe(parser);
  let header: string[] | null = null;
  const rows: string[][] = [];
  try {
    for await (const record of parser as AsyncIterable<string[]>) {
      if (!header) {
        header = record;
        continue;
      }
      rows.push(record);
      if (rows.length >= maxRows) break;
    }
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code?.startsWith('CSV_')) throw new MalformedDataset(`${uri}: not a readable CSV file (${(error as Error).message})`);
    throw error;
  } finally {
    source.destroy();
  }
  if (!header) throw new MalformedDataset(`${uri} is empty`);
  return { header, rows };
}

export function column(table: Table, name: string, uri: string): string[] {
  const index = table.header.indexOf(name);
  if (index === -1) throw new MalformedDataset(`${uri} has no column "${name}"`);
  return table.rows.map((row) => row[index] ?? '');
}

export function numericColumn(table: Table, name: string, uri: string): Float64Array {
  const cells = column(table, name, uri);
  const out = new Float64Array(cells.length);
  cells.forEach((cell, i) => {
    const value = Number(cell);
    if (cell === '' || !Number.isFinite(value)) throw new MalformedDataset(`${uri} line ${i + 2}: column "${name}" is "${cell}", not a number`);
    out[i] = value;
  });
  return out;
}

export function csvLine(cells: readonly string[]): string {
  return cells.map((cell) => (/[",\r\n]/.test(cell) ? `"${cell.replace(/"/g, '""')}"` : cell)).join(',');
}

/** Stores text by content (the file name only gives the extension); returns its URI and sha256. */
export async function storeText(artifacts: ArtifactStore, fileName: string, content: string): Promise<ArtifactRef> {
  const dir = await mkdtemp(join(tmpdir(), 'driftline-compliance-'));
  try {
    const path = join(dir, fileName);
    await writeFile(path, content);
    const stored = await artifacts.put(path);
    return { uri: stored.uri, sha256: stored.sha256 };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Stable JSON for reports: two-space indented, a trailing newline. */
export function reportJson(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}
