/**
 * Reads named numeric columns of a CSV into Float64Arrays in one streaming pass (for evaluation:
 * the holdout's label, a model's predictions). A cell that is not a number is an error naming the
 * file, the column and the line.
 */
import { parse } from 'csv-parse';
import { openStream } from './source.ts';
import { asMalformed, MalformedDataset } from './csv-profile.ts';

export async function readNumericColumns(uri: string, names: string[], optional: string[] = []): Promise<Record<string, Float64Array | null>> {
  const source = await openStream(uri);
  const parser = parse({ bom: true, skip_empty_lines: true, trim: true });
  source.on('error', (error) => parser.destroy(error));
  source.pipe(parser);
  let indexes: Array<number> = [];
  const wanted = [...names, ...optional];
  const values: number[][] = wanted.map(() => []);
  let line = 0;
  try {
    for await (const record of parser as AsyncIterable<string[]>) {
      line++;
      if (line === 1) {
        indexes = wanted.map((name) => record.indexOf(name));
        const missing = names.filter((_, i) => indexes[i] === -1);
        if (missing.length) throw new MalformedDataset(`${uri} has no column ${missing.map((m) => `"${m}"`).join(', ')}`);
        continue;
      }
      for (let j = 0; j < wanted.length; j++) {
        const index = indexes[j]!;
        if (index === -1) continue;
        const cell = record[index];
        const number = Number(cell);
        if (cell === undefined || cell === '' || !Number.isFinite(number)) {
          throw new MalformedDataset(`${uri} line ${line}: column "${wanted[j]}" is "${cell ?? ''}", not a number`);
        }
        values[j]!.push(number);
      }
    }
  } catch (error) {
    throw asMalformed(error, uri);
  } finally {
    source.destroy();
  }
  if (line === 0) throw new MalformedDataset(`${uri} is empty`);
  return Object.fromEntries(wanted.map((name, j) => [name, indexes[j] === -1 ? null : Float64Array.from(values[j]!)]));
}
