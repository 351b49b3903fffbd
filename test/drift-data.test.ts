/**
 * The drift engine's data reader on real files: CSV, TSV, JSON Lines and Parquet (written by
 * pyarrow, see test/fixtures/drift-data/make_parquet.py), gzip, local paths, file:// URIs and
 * s3:// objects in moto over HTTP; and every kind of bad input, each named by file and column.
 */
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { CategoricalColumnData, ColumnData, Dataset, NumericColumnData } from '../activities/drift/column-builder.ts';
import { readCsvColumns } from '../activities/drift/csv-reader.ts';
import { detectFormat, readDataset } from '../activities/drift/dataset-reader.ts';
import { DriftDataError } from '../activities/drift/errors.ts';
import { parseDecimal } from '../activities/drift/number-text.ts';
import { computeDriftReport } from '../activities/drift/report.ts';

const CREDIT_TRAIN = new URL('../scripts/examples/credit/train.csv', import.meta.url).pathname;
const FIXTURES = new URL('./fixtures/drift-data/', import.meta.url).pathname;

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'driftline-drift-data-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, content: string | Uint8Array): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

function column(dataset: Dataset | { columns: ColumnData[] }, name: string): ColumnData {
  const found = dataset.columns.find((c) => c.name === name);
  if (!found) throw new Error(`no column ${name}`);
  return found;
}

function numeric(dataset: Dataset | { columns: ColumnData[] }, name: string): NumericColumnData {
  const c = column(dataset, name);
  if (c.kind === 'categorical') throw new Error(`${name} is categorical`);
  return c;
}

function categorical(dataset: Dataset | { columns: ColumnData[] }, name: string): CategoricalColumnData {
  const c = column(dataset, name);
  if (c.kind !== 'categorical') throw new Error(`${name} is ${c.kind}`);
  return c;
}

/** The credit CSV parsed independently: it has no quotes, so a split is exact. */
function creditByHand(): { header: string[]; rows: string[][] } {
  const lines = readFileSync(CREDIT_TRAIN, 'utf8').trimEnd().split('\n');
  return { header: lines[0]!.split(','), rows: lines.slice(1).map((l) => l.split(',')) };
}

async function rejection(promise: Promise<unknown>): Promise<DriftDataError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, 'expected the read to fail').toBeInstanceOf(DriftDataError);
  return error as DriftDataError;
}

async function* chunked(bytes: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
}

describe('CSV', () => {
  it('reads the credit example into typed columns equal to a by-hand parse, with kinds inferred', async () => {
    const dataset = await readDataset(CREDIT_TRAIN);
    const { header, rows } = creditByHand();
    expect(dataset.format).toBe('csv');
    expect(dataset.rows).toBe(3000);
    expect(dataset.sha256).toBe(createHash('sha256').update(readFileSync(CREDIT_TRAIN)).digest('hex'));
    expect(dataset.bytes).toBe(readFileSync(CREDIT_TRAIN).length);
    expect(dataset.columns.map((c) => [c.name, c.kind])).toEqual([
      ['income', 'numeric'],
      ['debt_ratio', 'numeric'],
      ['age', 'numeric'],
      ['late_payments', 'numeric'],
      ['employment', 'categorical'],
      ['default', 'binary'],
    ]);
    for (const name of ['income', 'debt_ratio', 'age', 'late_payments', 'default']) {
      const j = header.indexOf(name);
      const values = numeric(dataset, name).values;
      expect(values).toBeInstanceOf(Float64Array);
      expect(Array.from(values)).toEqual(rows.map((r) => Number(r[j])));
    }
    const counts = new Map<string, number>();
    for (const r of rows) counts.set(r[4]!, (counts.get(r[4]!) ?? 0) + 1);
    expect(categorical(dataset, 'employment').counts).toEqual(counts);
  });

  it('parses decimals to exactly the double Number() gives, on the fast path and off it', async () => {
    // Random decimals of every shape the fast path takes (<= 15 digits, small exponents) and
    // every shape it hands over (16-20 digits, big exponents, leading zeros, signs).
    let seed = 12345;
    const random = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
    const digits = (n: number) => Array.from({ length: n }, () => Math.floor(random() * 10)).join('');
    const texts: string[] = ['0', '-0', '+7', '.5', '5.', '-.25e3', '1e22', '1e23', '1E-22', '4.9e-324', '1.7976931348623157e308', '9007199254740993', '0.1', '0.30000000000000004', '123456789012345', '1234567890123456789'];
    for (let i = 0; i < 5000; i++) {
      const sign = random() < 0.3 ? '-' : random() < 0.1 ? '+' : '';
      const int = digits(Math.floor(random() * 12));
      const frac = random() < 0.8 ? `.${digits(1 + Math.floor(random() * 12))}` : '';
      const exp = random() < 0.2 ? `e${random() < 0.5 ? '-' : ''}${Math.floor(random() * 40)}` : '';
      const text = `${sign}${int || '0'}${frac}${exp}`;
      texts.push(text);
    }
    for (const text of texts) {
      const expected = Number(text);
      expect(Object.is(parseDecimal(Buffer.from(text), 0, text.length), expected), text).toBe(true);
    }
    const path = file('decimals.csv', `x\n${texts.join('\n')}\n`);
    const values = numeric(await readDataset(path), 'x').values;
    texts.forEach((text, i) => expect(Object.is(values[i], Number(text)), `${text} through the CSV reader`).toBe(true));
  });

  it('follows RFC 4180 quoting, CRLF, a BOM and blank lines, whatever the chunk boundaries', async () => {
    const text =
      '\ufeffid,name,amount\r\n' +
      '1,"Smith, Jane",10.5\r\n' +
      '2,"He said ""hi""",NA\r\n' +
      '\r\n' +
      '3,"two\nlines",-2\r\n' +
      '4,plain,"3.25"\r\n' +
      '5,,1e3';
    const bytes = Buffer.from(text, 'utf8');
    const expected = await readCsvColumns('mem.csv', chunked(bytes, bytes.length));
    expect(expected.rows).toBe(5);
    expect(expected.header).toEqual(['id', 'name', 'amount']);
    expect(Array.from(numeric(expected, 'amount').values)).toEqual([10.5, Number.NaN, -2, 3.25, 1000]);
    expect(numeric(expected, 'amount').missing).toBe(1);
    expect(categorical(expected, 'name').counts).toEqual(
      new Map([
        ['Smith, Jane', 1],
        ['He said "hi"', 1],
        ['two\nlines', 1],
        ['plain', 1],
      ]),
    );
    expect(categorical(expected, 'name').missing).toBe(1);
    for (const size of [1, 2, 3, 5, 7, 11]) {
      const read = await readCsvColumns('mem.csv', chunked(bytes, size));
      expect(read.rows, `chunks of ${size}`).toBe(5);
      expect(read.columns, `chunks of ${size}`).toEqual(expected.columns);
    }
  });

  it('treats pandas missing-value words as missing and the rest of a text column as categories', async () => {
    const path = file('missing.csv', 'a,b\n1,x\nNA,NULL\n,y\nnan,x\nN/A,\n2.5,None\n');
    const dataset = await readDataset(path);
    expect(numeric(dataset, 'a').missing).toBe(4);
    expect(Array.from(numeric(dataset, 'a').values).filter((v) => !Number.isNaN(v))).toEqual([1, 2.5]);
    expect(categorical(dataset, 'b').counts).toEqual(new Map([['x', 2], ['y', 1]]));
    expect(categorical(dataset, 'b').missing).toBe(3);
  });

  it('infers binary columns from 0/1 and true/false, and lets the policy declare kinds', async () => {
    const path = file('kinds.csv', 'zero_one,truth,zip\n0,true,02139\n1,False,10001\n1,TRUE,02139\n');
    const inferred = await readDataset(path);
    expect(column(inferred, 'zero_one').kind).toBe('binary');
    expect(Array.from(numeric(inferred, 'truth').values)).toEqual([1, 0, 1]);
    expect(column(inferred, 'truth').kind).toBe('binary');
    expect(column(inferred, 'zip').kind).toBe('numeric');
    const declared = await readDataset(path, { kinds: { zip: 'categorical', zero_one: 'numeric' } });
    expect(categorical(declared, 'zip').counts).toEqual(new Map([['02139', 2], ['10001', 1]]));
    expect(column(declared, 'zero_one').kind).toBe('numeric');
  });

  it('reads TSV, gzip-compressed CSV and file:// URIs, and leaves ignored columns out', async () => {
    const csv = readFileSync(CREDIT_TRAIN);
    const reference = await readDataset(CREDIT_TRAIN);
    const tsv = file('credit.tsv', csv.toString('utf8').replaceAll(',', '\t'));
    const gz = file('credit.csv.gz', gzipSync(csv));
    for (const uri of [tsv, gz, pathToFileURL(CREDIT_TRAIN).href]) {
      const dataset = await readDataset(uri);
      expect(dataset.rows, uri).toBe(3000);
      expect(dataset.columns, uri).toEqual(reference.columns);
    }
    expect((await readDataset(gz)).sha256).toBe(createHash('sha256').update(gzipSync(csv)).digest('hex'));
    const some = await readDataset(CREDIT_TRAIN, { include: (name) => name !== 'employment' });
    expect(some.columns.map((c) => c.name)).toEqual(['income', 'debt_ratio', 'age', 'late_payments', 'default']);
  });

  it('picks the format from the extension', () => {
    expect(detectFormat('s3://b/k/data.csv')).toEqual({ format: 'csv', gzip: false });
    expect(detectFormat('/x/events.ndjson.gz')).toEqual({ format: 'jsonl', gzip: true });
    expect(detectFormat('file:///x/part-0.parquet')).toEqual({ format: 'parquet', gzip: false });
    expect(detectFormat('/x/data.xlsx')).toBeUndefined();
  });
});

describe('JSON Lines', () => {
  it('reads the credit example as JSON Lines into the same columns as the CSV', async () => {
    const { header, rows } = creditByHand();
    const lines = rows.map((r) => JSON.stringify(Object.fromEntries(header.map((h, j) => [h, h === 'employment' ? r[j] : Number(r[j])]))));
    const path = file('credit.jsonl', `${lines.join('\n')}\n`);
    const dataset = await readDataset(path);
    expect(dataset.format).toBe('jsonl');
    expect(dataset.columns).toEqual((await readDataset(CREDIT_TRAIN)).columns);
  });

  it('counts absent keys and nulls as missing, booleans as binary, and keeps key order', async () => {
    const path = file('sparse.jsonl', ['{"a": 1, "b": "x"}', '', '{"b": null, "c": true}', '{"a": 2.5, "c": false, "b": "y"}'].join('\n'));
    const dataset = await readDataset(path);
    expect(dataset.rows).toBe(3);
    expect(dataset.columns.map((c) => [c.name, c.kind, c.missing])).toEqual([
      ['a', 'numeric', 1],
      ['b', 'categorical', 1],
      ['c', 'binary', 1],
    ]);
    expect(Array.from(numeric(dataset, 'a').values)).toEqual([1, Number.NaN, 2.5]);
    expect(Array.from(numeric(dataset, 'c').values)).toEqual([Number.NaN, 1, 0]);
  });
});

describe('Parquet', () => {
  it('reads a pandas/pyarrow Parquet file (snappy) into the same columns as the CSV', async () => {
    const dataset = await readDataset(join(FIXTURES, 'credit-train.parquet'));
    expect(dataset.format).toBe('parquet');
    expect(dataset.rows).toBe(3000);
    expect(dataset.sha256).toBe(createHash('sha256').update(readFileSync(join(FIXTURES, 'credit-train.parquet'))).digest('hex'));
    expect(dataset.columns).toEqual((await readDataset(CREDIT_TRAIN)).columns);
  });

  it('reads nulls, booleans, strings and float32 across zstd-compressed row groups', async () => {
    const dataset = await readDataset(join(FIXTURES, 'mixed-zstd.parquet'));
    expect(dataset.rows).toBe(10);
    expect(Array.from(numeric(dataset, 'score').values)).toEqual([0.5, Number.NaN, 1.25, -3, 2, Number.NaN, 7.5, 0, 1, 2.5]);
    expect(numeric(dataset, 'score').missing).toBe(2);
    expect(Array.from(numeric(dataset, 'count').values)).toEqual([1, 2, Number.NaN, 4, 5, 6, 7, Number.NaN, 9, 10]);
    expect(column(dataset, 'flag').kind).toBe('binary');
    expect(Array.from(numeric(dataset, 'flag').values)).toEqual([1, 0, Number.NaN, 1, 1, 0, 0, 1, Number.NaN, 1]);
    expect(categorical(dataset, 'segment').counts).toEqual(new Map([['a', 4], ['b', 3], ['c', 2]]));
    expect(categorical(dataset, 'segment').missing).toBe(1);
    expect(Array.from(numeric(dataset, 'ratio').values)).toEqual([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.1].map(Math.fround));
  });
});

describe('bad input is an error naming the file, and the column where there is one', () => {
  it('an empty file, in every format', async () => {
    for (const name of ['empty.csv', 'empty.jsonl', 'empty.parquet']) {
      const path = file(name, '');
      const error = await rejection(readDataset(path));
      expect(error.problem).toBe('empty');
      expect(error.uri).toBe(path);
      expect(error.message).toContain(path);
      expect(error.message).toMatch(/empty/);
    }
  });

  it('ragged CSV rows, with the line', async () => {
    const more = await rejection(readDataset(file('more.csv', 'a,b\n1,2\n3,4,5\n')));
    expect(more.problem).toBe('ragged');
    expect(more.line).toBe(3);
    expect(more.message).toMatch(/more\.csv line 3: the row has 3 fields but the header has 2/);
    const fewer = await rejection(readDataset(file('fewer.csv', 'a,b\n1,2\n3\n4,5\n')));
    expect(fewer.message).toMatch(/fewer\.csv line 3: the row has 1 field but the header has 2/);
    const quoted = await rejection(readDataset(file('quoted.csv', 'a,b\n"1",2\n"3",4,"x"\n')));
    expect(quoted.message).toMatch(/quoted\.csv line 3: the row has 3 fields/);
  });

  it('mixed types in a column the policy declares numeric (CSV and JSON Lines)', async () => {
    const csv = file('mixed.csv', 'amount,other\n1.5,a\n2,b\nabc,c\n');
    const error = await rejection(readDataset(csv, { kinds: { amount: 'numeric' } }));
    expect(error.problem).toBe('mixed-types');
    expect(error.column).toBe('amount');
    expect(error.line).toBe(4);
    expect(error.message).toContain(`${csv} line 4: column "amount" is declared numeric but has "abc"`);
    const jsonl = file('mixed.jsonl', '{"amount": 1}\n{"amount": "2.5"}\n{"amount": "lots"}\n');
    const fromJson = await rejection(readDataset(jsonl, { kinds: { amount: 'numeric' } }));
    expect(fromJson.message).toContain(`${jsonl} line 3: column "amount" is declared numeric but has "lots"`);
    const binary = await rejection(readDataset(file('binary.csv', 'flag\n0\n1\n2\n'), { kinds: { flag: 'binary' } }));
    expect(binary.message).toMatch(/column "flag" is binary \(0\/1\) but has "2"/);
  });

  it('text in a column that the reference has as numeric: the current window is refused by name', async () => {
    const reference = file('ref-numeric.csv', `x\n${Array.from({ length: 50 }, (_, i) => i).join('\n')}\n`);
    const current = file('cur-text.csv', `x\n${Array.from({ length: 49 }, (_, i) => i).join('\n')}\noops\n`);
    const error = await rejection(computeDriftReport({ reference, current }));
    expect(error.problem).toBe('mixed-types');
    expect(error.uri).toBe(current);
    expect(error.column).toBe('x');
  });

  it('infinities in a numeric column (CSV words and JSON overflow)', async () => {
    const csv = file('inf.csv', 'a,b\n1,x\n-inf,y\n');
    const error = await rejection(readDataset(csv));
    expect(error.problem).toBe('non-finite');
    expect(error.column).toBe('a');
    expect(error.message).toContain(`${csv} line 3: column "a" has an infinite value ("-inf")`);
    const json = await rejection(readDataset(file('inf.jsonl', '{"a": 1}\n{"a": 1e999}\n')));
    expect(json.problem).toBe('non-finite');
    expect(json.column).toBe('a');
    // In a text column "inf" is just a category.
    const text = await readDataset(file('inf-text.csv', 'a\nx\ninf\n'));
    expect(categorical(text, 'a').counts).toEqual(new Map([['x', 1], ['inf', 1]]));
  });

  it('a .parquet file that is not Parquet', async () => {
    const error = await rejection(readDataset(join(FIXTURES, 'not-parquet.parquet')));
    expect(error.problem).toBe('not-parquet');
    expect(error.message).toMatch(/not-parquet\.parquet is not a Parquet file/);
  });

  it('a column missing on either side', async () => {
    const reference = file('ab.csv', 'a,b\n1,2\n');
    const current = file('a.csv', 'a\n1\n');
    const missing = await rejection(computeDriftReport({ reference, current }));
    expect(missing.problem).toBe('missing-column');
    expect(missing.column).toBe('b');
    expect(missing.message).toContain(`${current} has no column "b"`);
    const extra = await rejection(computeDriftReport({ reference: current, current: reference }));
    expect(extra.column).toBe('b');
    expect(extra.message).toContain(`${current} has no column "b", which the current data ${reference} has`);
  });

  it('malformed CSV and JSON Lines, a missing file, an unknown format', async () => {
    const unclosed = await rejection(readDataset(file('unclosed.csv', 'a,b\n1,"open\n')));
    expect(unclosed.problem).toBe('malformed');
    expect(unclosed.message).toMatch(/unclosed\.csv line 2: .*never closed/);
    const badJson = await rejection(readDataset(file('bad.jsonl', '{"a": 1}\n{"a": \n')));
    expect(badJson.message).toMatch(/bad\.jsonl line 2: not valid JSON/);
    const array = await rejection(readDataset(file('array.json', '[{"a": 1}]\n')));
    expect(array.message).toMatch(/JSON array/);
    const nested = await rejection(readDataset(file('nested.jsonl', '{"a": {"b": 1}}\n')));
    expect(nested.problem).toBe('unsupported');
    expect(nested.column).toBe('a');
    const duplicate = await rejection(readDataset(file('dup.csv', 'a,a\n1,2\n')));
    expect(duplicate.message).toMatch(/names column "a" twice/);
    const gone = await rejection(readDataset(join(dir, 'nope.csv')));
    expect(gone.problem).toBe('not-found');
    expect(gone.message).toContain('nope.csv does not exist');
    const unknown = await rejection(readDataset(file('data.xlsx', 'x')));
    expect(unknown.problem).toBe('unsupported');
  });
});

const motoEndpoint = inject('motoEndpoint');

describe.skipIf(!motoEndpoint && process.env.CI !== 'true')('S3 (moto over HTTP)', () => {
  const bucket = `drift-data-${Date.now()}`;
  let s3: S3Client;

  beforeAll(async () => {
    if (!motoEndpoint) throw new Error('moto_server is required in CI (pip install "moto[server]")');
    // The reader uses the default client of activities/data/object-store.ts, configured from the environment.
    Object.assign(process.env, { AWS_ENDPOINT_URL: motoEndpoint, AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing', AWS_REGION: 'us-east-1' });
    s3 = new S3Client({ endpoint: motoEndpoint, forcePathStyle: true, region: 'us-east-1', credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } });
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    const put = (key: string, body: Uint8Array) => s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
    await put('windows/train.csv', readFileSync(CREDIT_TRAIN));
    await put('windows/train.csv.gz', gzipSync(readFileSync(CREDIT_TRAIN)));
    await put('windows/train.parquet', readFileSync(join(FIXTURES, 'credit-train.parquet')));
    await put('windows/train.jsonl', Buffer.from(readFileSync(CREDIT_TRAIN, 'utf8').trimEnd().split('\n').slice(1).map((l) => {
      const [income, debt_ratio, age, late_payments, employment, d] = l.split(',');
      return JSON.stringify({ income: Number(income), debt_ratio: Number(debt_ratio), age: Number(age), late_payments: Number(late_payments), employment, default: Number(d) });
    }).join('\n')));
    await put('windows/broken.parquet', Buffer.from('not parquet at all'));
  });

  afterAll(() => s3?.destroy());

  it('reads CSV, gzip CSV, JSON Lines and Parquet objects into the same columns as the local file', async () => {
    const local = await readDataset(CREDIT_TRAIN);
    for (const key of ['train.csv', 'train.csv.gz', 'train.jsonl', 'train.parquet']) {
      const dataset = await readDataset(`s3://${bucket}/windows/${key}`);
      expect(dataset.rows, key).toBe(3000);
      expect(dataset.columns, key).toEqual(local.columns);
    }
    expect((await readDataset(`s3://${bucket}/windows/train.csv`)).sha256).toBe(local.sha256);
    const parquet = await readDataset(`s3://${bucket}/windows/train.parquet`);
    expect(parquet.sha256).toBe(createHash('sha256').update(readFileSync(join(FIXTURES, 'credit-train.parquet'))).digest('hex'));
  });

  it('a missing object or bucket is "not found", naming the URI', async () => {
    const object = await rejection(readDataset(`s3://${bucket}/windows/absent.csv`));
    expect(object.problem).toBe('not-found');
    expect(object.final).toBe(true);
    expect(object.message).toBe(`s3://${bucket}/windows/absent.csv does not exist`);
    const parquet = await rejection(readDataset(`s3://${bucket}/windows/absent.parquet`));
    expect(parquet.problem).toBe('not-found');
    const noBucket = await rejection(readDataset('s3://no-such-bucket-for-drift/x.csv'));
    expect(noBucket.problem).toBe('not-found');
    expect(noBucket.message).toContain('s3://no-such-bucket-for-drift/x.csv');
    const broken = await rejection(readDataset(`s3://${bucket}/windows/broken.parquet`));
    expect(broken.problem).toBe('not-parquet');
    expect(broken.message).toContain(`s3://${bucket}/windows/broken.parquet`);
  });
});
