/**
 * The drift policy: which test each column gets, the threshold that turns its result into a
 * verdict, how many rows a verdict needs, the optional Benjamini-Hochberg correction across
 * columns, and when the dataset as a whole counts as drifted. Pure (zod and arithmetic only), so
 * workflows, activities and the CLI share one reading of a policy.
 *
 * Defaults follow Evidently's data-drift preset, the most widely used open-source reference:
 *  - numeric column, reference of at most 1,000 rows: two-sample KS test, drift if p < 0.05;
 *  - numeric column, larger reference: Wasserstein-1 distance divided by the reference's standard
 *    deviation ("normed"), drift if >= 0.1 (a p-value test on a million rows flags differences far
 *    too small to matter; a scale-free distance does not);
 *  - categorical column, reference of at most 1,000 rows: chi-square test, drift if p < 0.05;
 *  - categorical column, larger reference: Jensen-Shannon distance (base 2), drift if >= 0.1;
 *  - binary column (0/1, true/false), any size: two-proportion z-test, drift if p < 0.05;
 *  - dataset drift when at least half (0.5) of the columns with a verdict drifted.
 * The reference size is its row count including missing values (Evidently: `len(reference)`).
 */
import { z } from 'zod';

export const COLUMN_KINDS = ['numeric', 'binary', 'categorical'] as const;
export type ColumnKind = (typeof COLUMN_KINDS)[number];

export const DRIFT_METHODS = ['ks', 'wasserstein', 'psi', 'jensen-shannon', 'kl', 'chi-square', 'z-test'] as const;
export type DriftMethod = (typeof DRIFT_METHODS)[number];

/** Tests whose verdict is "p-value below the threshold"; the others are distances: "score at or above it". */
export const P_VALUE_METHODS: ReadonlySet<DriftMethod> = new Set<DriftMethod>(['ks', 'chi-square', 'z-test']);

export function isPValueMethod(method: DriftMethod): boolean {
  return P_VALUE_METHODS.has(method);
}

/** Which methods make sense for which kind of column. */
export const METHODS_BY_KIND: Readonly<Record<ColumnKind, readonly DriftMethod[]>> = {
  // PSI / JS / KL on a numeric column use the reference's quantile bins (see binned.ts).
  numeric: ['ks', 'wasserstein', 'psi', 'jensen-shannon', 'kl'],
  // A binary column is a two-category table: chi-square there equals the z-test squared.
  binary: ['z-test', 'chi-square', 'psi', 'jensen-shannon', 'kl'],
  categorical: ['chi-square', 'psi', 'jensen-shannon', 'kl'],
};

/**
 * Default threshold of each method. p-value tests: drift if p < threshold (0.05, the usual
 * significance level). Distances: drift if score >= threshold; 0.1 for each is Evidently's default
 * (for PSI, 0.1 is also where the credit-scoring rule of thumb starts calling a shift "moderate").
 */
export const DEFAULT_THRESHOLDS: Readonly<Record<DriftMethod, number>> = {
  ks: 0.05,
  'chi-square': 0.05,
  'z-test': 0.05,
  wasserstein: 0.1,
  'jensen-shannon': 0.1,
  psi: 0.1,
  kl: 0.1,
};

/** A reference with at most this many rows is "small": it gets p-value tests (Evidently: 1,000). */
export const DEFAULT_SMALL_REFERENCE_ROWS = 1000;
/**
 * Fewer non-missing rows than this on either side gives "insufficient data" for the column, never
 * a verdict: below it a test has too little power, and a distance is dominated by noise. 30 is
 * the customary floor for normal approximations such as the chi-square and z tests.
 */
export const DEFAULT_POLICY_MIN_ROWS = 30;
/** Quantile bins for PSI / Jensen-Shannon / KL on numeric columns (binned.ts: DEFAULT_BIN_COUNT). */
export const DEFAULT_POLICY_BINS = 10;
/** The dataset drifted when at least this share of the columns with a verdict drifted (Evidently: 0.5). */
export const DEFAULT_DATASET_DRIFT_SHARE = 0.5;

const thresholdSchema = z.number().positive().finite();

const columnPolicySchema = z
  .object({
    /** Overrides the inferred kind (e.g. a numeric-looking zip code is categorical). */
    kind: z.enum(COLUMN_KINDS).optional(),
    method: z.enum(DRIFT_METHODS).optional(),
    threshold: thresholdSchema.optional(),
    /** Leave the column out of the comparison entirely (ids, timestamps, the label). */
    ignore: z.boolean().optional(),
  })
  .strict();

export const driftPolicySchema = z
  .object({
    /** Per-method default thresholds, overriding DEFAULT_THRESHOLDS one method at a time. */
    thresholds: z.partialRecord(z.enum(DRIFT_METHODS), thresholdSchema).default({}),
    smallReferenceRows: z.number().int().nonnegative().default(DEFAULT_SMALL_REFERENCE_ROWS),
    minRows: z.number().int().positive().default(DEFAULT_POLICY_MIN_ROWS),
    bins: z.number().int().min(2).max(1000).default(DEFAULT_POLICY_BINS),
    /**
     * 'benjamini-hochberg' adjusts the p-values of the p-value tests across columns (false
     * discovery rate) before they meet their thresholds; distances are left alone. Off by default,
     * as in Evidently: with many columns, expect some false alarms at p < 0.05 without it.
     */
    correction: z.enum(['none', 'benjamini-hochberg']).default('none'),
    datasetDriftShare: z.number().min(0).max(1).default(DEFAULT_DATASET_DRIFT_SHARE),
    columns: z.record(z.string().min(1), columnPolicySchema).default({}),
  })
  .strict()
  .superRefine((policy, context) => {
    for (const [method, threshold] of Object.entries(policy.thresholds)) {
      if (isPValueMethod(method as DriftMethod) && threshold !== undefined && threshold >= 1) {
        context.addIssue({ code: 'custom', path: ['thresholds', method], message: `a p-value threshold must be below 1, got ${threshold}` });
      }
    }
    for (const [name, column] of Object.entries(policy.columns)) {
      if (column.method && column.kind && !METHODS_BY_KIND[column.kind].includes(column.method)) {
        context.addIssue({
          code: 'custom',
          path: ['columns', name, 'method'],
          message: `${column.method} does not apply to a ${column.kind} column (use one of ${METHODS_BY_KIND[column.kind].join(', ')})`,
        });
      }
      const method = column.method;
      if (method && isPValueMethod(method) && column.threshold !== undefined && column.threshold >= 1) {
        context.addIssue({ code: 'custom', path: ['columns', name, 'threshold'], message: `a p-value threshold must be below 1, got ${column.threshold}` });
      }
    }
  });

/** A policy as written (every field optional). */
export type DriftPolicyInput = z.input<typeof driftPolicySchema>;
/** A policy with every default filled in. */
export type DriftPolicy = z.output<typeof driftPolicySchema>;

export class DriftPolicyError extends Error {
  override readonly name = 'DriftPolicyError';
}

/** Parses a policy (undefined means all defaults); throws DriftPolicyError naming the first problem. */
export function parseDriftPolicy(input: unknown): DriftPolicy {
  const parsed = driftPolicySchema.safeParse(input ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.length ? `${issue.path.join('.')}: ` : '';
    throw new DriftPolicyError(`Invalid drift policy: ${where}${issue?.message ?? 'unreadable'}`);
  }
  return parsed.data;
}

/** The kinds the policy fixes by column name (the reader infers the others). */
export function declaredKinds(policy: DriftPolicy): Record<string, ColumnKind> {
  const kinds: Record<string, ColumnKind> = {};
  for (const [name, column] of Object.entries(policy.columns)) if (column.kind) kinds[name] = column.kind;
  return kinds;
}

export function isIgnored(policy: DriftPolicy, name: string): boolean {
  return policy.columns[name]?.ignore === true;
}

export interface ColumnTest {
  readonly method: DriftMethod;
  readonly threshold: number;
  /** 'p-value': drift if p < threshold; 'distance': drift if score >= threshold. */
  readonly verdictBy: 'p-value' | 'distance';
}

/** The default method for a column: Evidently's rule by kind and reference size (see the top). */
export function defaultMethod(kind: ColumnKind, referenceRows: number, smallReferenceRows = DEFAULT_SMALL_REFERENCE_ROWS): DriftMethod {
  if (kind === 'binary') return 'z-test';
  const small = referenceRows <= smallReferenceRows;
  if (kind === 'numeric') return small ? 'ks' : 'wasserstein';
  return small ? 'chi-square' : 'jensen-shannon';
}

/**
 * The test a column gets: its override, else the default rule; the threshold is the column's own,
 * else the policy's for that method, else the method's default. Throws DriftPolicyError when an
 * override names a method that does not apply to the column's (possibly inferred) kind.
 */
export function resolveColumnTest(policy: DriftPolicy, column: { name: string; kind: ColumnKind; referenceRows: number }): ColumnTest {
  const override = policy.columns[column.name];
  const method = override?.method ?? defaultMethod(column.kind, column.referenceRows, policy.smallReferenceRows);
  if (!METHODS_BY_KIND[column.kind].includes(method)) {
    throw new DriftPolicyError(
      `Invalid drift policy: column "${column.name}" is ${column.kind}, and ${method} does not apply to it (use one of ${METHODS_BY_KIND[column.kind].join(', ')}, or set its kind)`,
    );
  }
  const threshold = override?.threshold ?? policy.thresholds[method] ?? DEFAULT_THRESHOLDS[method];
  if (isPValueMethod(method) && threshold >= 1) {
    throw new DriftPolicyError(`Invalid drift policy: column "${column.name}": a p-value threshold must be below 1, got ${threshold}`);
  }
  return { method, threshold, verdictBy: isPValueMethod(method) ? 'p-value' : 'distance' };
}

/**
 * Benjamini-Hochberg adjusted p-values (equal to statsmodels' `multipletests(p, method='fdr_bh')`):
 * sort ascending, p_(i) * m / i, made monotone from the largest down, capped at 1. Comparing an
 * adjusted p-value with q keeps the expected share of false discoveries among the flagged columns
 * at most q.
 */
export function benjaminiHochberg(pValues: readonly number[]): number[] {
  const m = pValues.length;
  const order = pValues.map((p, i) => ({ p, i })).sort((a, b) => a.p - b.p);
  const adjusted = new Array<number>(m);
  let running = 1;
  for (let rank = m; rank >= 1; rank--) {
    const entry = order[rank - 1]!;
    running = Math.min(running, (entry.p * m) / rank);
    adjusted[entry.i] = running;
  }
  return adjusted;
}

/** The verdict of one column's score or p-value against its threshold. */
export function isDrift(test: ColumnTest, score: number, pValue: number | null): boolean {
  return test.verdictBy === 'p-value' ? (pValue as number) < test.threshold : score >= test.threshold;
}

/**
 * How far past its threshold a column is, on one scale for tests and distances (1 = exactly at
 * the threshold, above 1 = drifted): score / threshold for distances, log(p) / log(threshold) for
 * p-values. Used to list the worst columns first.
 */
export function severity(test: ColumnTest, score: number, pValue: number | null): number {
  if (test.verdictBy === 'distance') return score / test.threshold;
  const p = Math.max(pValue as number, Number.MIN_VALUE);
  return Math.log(p) / Math.log(test.threshold);
}
