/**
 * A dataset or profile the drift engine cannot use, naming the file and, where there is one, the
 * column and line, so that a person can find the bad cell without a debugger. Every problem but
 * 'unreachable' is final: reading the same bytes again gives the same answer, so activities turn
 * these into non-retryable failures, while an unreachable store is left to Temporal's retries.
 */
export type DriftDataProblem =
  /** no such file or object (or not readable with these credentials) */
  | 'not-found'
  /** the store did not answer (network, endpoint down): may succeed later */
  | 'unreachable'
  /** no bytes, no header, or no rows where rows are needed */
  | 'empty'
  /** a CSV row with more or fewer fields than the header */
  | 'ragged'
  /** not parseable as the format (bad quoting, bad JSON line, duplicate header names) */
  | 'malformed'
  /** a value that is not a number in a column that must be numeric, or not 0/1 in a binary one */
  | 'mixed-types'
  /** an infinity in a numeric column */
  | 'non-finite'
  /** a .parquet file that is not Parquet */
  | 'not-parquet'
  /** a column present on one side but not the other */
  | 'missing-column'
  /** a format, extension or value type the reader does not handle */
  | 'unsupported'
  /** a drift profile artifact that is damaged or of another version */
  | 'bad-profile';

export interface DriftDataErrorDetails {
  readonly column?: string;
  /** 1-based line (CSV, JSON Lines) or row (Parquet) number */
  readonly line?: number;
  readonly cause?: unknown;
}

export class DriftDataError extends Error {
  override readonly name = 'DriftDataError';
  readonly problem: DriftDataProblem;
  /** The file or object URI as the caller gave it. */
  readonly uri: string;
  readonly column: string | undefined;
  readonly line: number | undefined;

  constructor(problem: DriftDataProblem, uri: string, message: string, details: DriftDataErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.problem = problem;
    this.uri = uri;
    this.column = details.column;
    this.line = details.line;
  }

  /** True when retrying cannot help. */
  get final(): boolean {
    return this.problem !== 'unreachable';
  }
}
