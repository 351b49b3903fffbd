/**
 * Columnar datasets for the drift engine, and the builder every reader (CSV, JSON Lines, Parquet)
 * feeds one cell at a time.
 *
 * A column is numeric until proven otherwise: numbers go into Float64Array blocks (missing cells
 * as NaN, counted), and the column's kind is settled when the data ends:
 *  - every present value is 0 or 1 (or true/false): binary;
 *  - every present value is a number: numeric;
 *  - any other text: categorical, a value -> count map (the numbers seen before the first text
 *    cell are counted under their JS text, e.g. "1.5").
 * A kind the policy declares is enforced instead of inferred: text in a declared numeric or binary
 * column, or a value other than 0/1 in a binary one, is an error naming the file, column and line.
 * An infinity in a numeric column is always an error (it has no place on a CDF's x-axis).
 */
import type { ColumnKind } from '../../core/drift/policy.ts';
import { DriftDataError } from './errors.ts';
import { classifyWord, parseDecimalText } from './number-text.ts';

export interface NumericColumnData {
  readonly kind: 'numeric' | 'binary';
  readonly name: string;
  /** One value per row; NaN where the row has no value. */
  readonly values: Float64Array;
  readonly missing: number;
}

export interface CategoricalColumnData {
  readonly kind: 'categorical';
  readonly name: string;
  /** Value -> rows, in first-seen order. */
  readonly counts: Map<string, number>;
  readonly missing: number;
}

export type ColumnData = NumericColumnData | CategoricalColumnData;

export type DatasetFormat = 'csv' | 'tsv' | 'jsonl' | 'parquet';

export interface Dataset {
  readonly uri: string;
  readonly format: DatasetFormat;
  /** sha256 of the file's bytes as stored (before any gzip decoding). */
  readonly sha256: string;
  readonly bytes: number;
  readonly rows: number;
  readonly columns: ColumnData[];
}

const BLOCK = 1 << 16;

export class ColumnBuilder {
  /** True once the column holds text counts (declared categorical, or inferred from a text cell). */
  textMode: boolean;
  private blocks: Float64Array[] = [];
  private block = new Float64Array(0);
  private at = 0;
  private stored = 0;
  private missingRows = 0;
  private zeroOne = true;
  private sawNumber = false;
  private sawBoolean = false;
  private counts = new Map<string, number>();
  private infinity: { line: number; text: string } | undefined;

  constructor(
    readonly name: string,
    private readonly uri: string,
    private readonly declared: ColumnKind | undefined,
    /** How error messages name a position: a text line, or a Parquet row. */
    private readonly unit: 'line' | 'row' = 'line',
  ) {
    this.textMode = declared === 'categorical';
  }

  get missing(): number {
    return this.missingRows;
  }

  /** A finite number read from the data (callers in text mode pass the cell's text instead). */
  number(value: number, line: number): void {
    if (value !== 0 && value !== 1) {
      if (this.declared === 'binary') this.refuse(String(value), line, 'is binary (0/1) but has');
      this.zeroOne = false;
    }
    this.sawNumber = true;
    this.push(value);
  }

  boolean(value: boolean, line: number): void {
    if (this.textMode) return this.count(value ? 'true' : 'false');
    void line;
    this.sawBoolean = true;
    this.push(value ? 1 : 0);
  }

  /** A cell with no value. */
  none(): void {
    this.missingRows++;
    if (!this.textMode) this.push(Number.NaN);
  }

  /** Adds `rows` missing cells (a JSON Lines column that first appears after some rows). */
  noneMany(rows: number): void {
    for (let i = 0; i < rows; i++) this.none();
  }

  /**
   * A text cell that is not a plain decimal: a missing-value word, an infinity, a boolean word, or
   * real text (which makes an inferred column categorical).
   */
  text(raw: string, line: number): void {
    const word = classifyWord(raw);
    if (word === 'missing') return this.none();
    if (this.textMode) return this.count(raw);
    switch (word) {
      case 'true':
      case 'false':
        return this.boolean(word === 'true', line);
      case 'infinity':
        if (this.declared === 'numeric' || this.declared === 'binary') this.refuseInfinity(line, raw);
        this.infinity ??= { line, text: raw };
        this.counts.set(raw, (this.counts.get(raw) ?? 0) + 1);
        return;
      default: {
        if (this.declared === 'numeric' || this.declared === 'binary') {
          // JSON Lines may quote numbers: accept "1.5" where the policy says numeric.
          const value = parseDecimalText(raw);
          if (value === value) return this.number(value, line);
          this.refuse(raw, line, `is declared ${this.declared} but has`);
        }
        this.toTextMode();
        this.count(raw);
      }
    }
  }

  /** Text counted as a category (text mode only). */
  count(value: string): void {
    this.counts.set(value, (this.counts.get(value) ?? 0) + 1);
  }

  finish(): ColumnData {
    if (this.textMode) return { kind: 'categorical', name: this.name, counts: this.counts, missing: this.missingRows };
    if (this.infinity) this.refuseInfinity(this.infinity.line, this.infinity.text);
    const values = this.concatenate();
    const present = this.sawNumber || this.sawBoolean;
    const kind = this.declared ?? (present && this.zeroOne ? 'binary' : 'numeric');
    return { kind: kind as 'numeric' | 'binary', name: this.name, values, missing: this.missingRows };
  }

  private push(value: number): void {
    if (this.at === this.block.length) {
      if (this.at > 0) this.blocks.push(this.block);
      this.stored += this.at;
      this.block = new Float64Array(BLOCK);
      this.at = 0;
    }
    this.block[this.at++] = value;
  }

  /**
   * Makes room for `rows` values in one array (a reader that knows the file's size estimates the
   * row count), so the column is never copied from blocks at the end.
   */
  reserve(rows: number): void {
    if (this.textMode || rows <= this.stored + this.at) return;
    const values = this.concatenate();
    const block = new Float64Array(rows);
    block.set(values);
    this.block = block;
    this.at = values.length;
  }

  /** Exact-length copy of the blocks, freeing each block as it is copied. */
  private concatenate(): Float64Array {
    const count = this.stored + this.at;
    if (this.blocks.length === 0 && this.block.length - count <= this.block.length / 16) {
      // One reserved block that (nearly) fits: keep it, no copy; the slack is at most 1/16.
      const out = this.block.subarray(0, count);
      this.block = new Float64Array(0);
      this.at = 0;
      return out;
    }
    const out = new Float64Array(this.stored + this.at);
    let offset = 0;
    for (const block of this.blocks) {
      out.set(block, offset);
      offset += block.length;
    }
    out.set(this.block.subarray(0, this.at), offset);
    this.blocks = [];
    this.block = new Float64Array(0);
    this.at = 0;
    this.stored = 0;
    return out;
  }

  private toTextMode(): void {
    const onlyBooleans = this.sawBoolean && !this.sawNumber;
    const numbers = new Map<string, number>();
    for (const value of this.concatenate()) {
      if (value !== value) continue; // missing: already counted
      const key = onlyBooleans ? (value === 1 ? 'true' : 'false') : String(value);
      numbers.set(key, (numbers.get(key) ?? 0) + 1);
    }
    // Infinity words seen so far were counted under their own text.
    for (const [key, n] of this.counts) numbers.set(key, (numbers.get(key) ?? 0) + n);
    this.counts = numbers;
    this.infinity = undefined;
    this.textMode = true;
  }

  private refuse(value: string, line: number, what: string): never {
    const shown = value.length > 40 ? `${value.slice(0, 40)}…` : value;
    throw new DriftDataError('mixed-types', this.uri, `${this.uri} ${this.unit} ${line}: column "${this.name}" ${what} "${shown}"`, {
      column: this.name,
      line,
    });
  }

  private refuseInfinity(line: number, text: string): never {
    throw new DriftDataError(
      'non-finite',
      this.uri,
      `${this.uri} ${this.unit} ${line}: column "${this.name}" has an infinite value ("${text}"); numeric columns need finite numbers (leave the cell empty for a missing value)`,
      { column: this.name, line },
    );
  }
}
