/**
 * The drift report: its JSON shape (shared by the CLI, the activity and the scheduled workflow),
 * and the steps that turn per-column results into verdicts: the optional Benjamini-Hochberg
 * correction across columns, the share of drifted columns and the dataset verdict. Pure.
 */
import {
  benjaminiHochberg,
  isDrift,
  isPValueMethod,
  severity,
  type ColumnKind,
  type ColumnTest,
  type DriftMethod,
  type DriftPolicy,
} from './policy.ts';

/** Every statistic computed for a column (only those computed are present). */
export interface FeatureStatistics {
  /** KS statistic D = sup |F_ref - F_cur| */
  ks?: number;
  ksPValue?: number;
  /** Wasserstein-1 distance in the column's unit */
  wasserstein?: number;
  /** Wasserstein-1 / population std of the reference (W1 itself when the reference is constant) */
  wassersteinNormed?: number;
  psi?: number;
  /** Jensen-Shannon distance, base 2, in [0, 1] */
  jensenShannon?: number;
  /** KL(reference || current), nats, on smoothed proportions */
  klDivergence?: number;
  chiSquare?: number;
  chiSquarePValue?: number;
  zTestPValue?: number;
}

export interface FeatureReport {
  name: string;
  kind: ColumnKind;
  method: DriftMethod;
  /**
   * The method's statistic: KS D, the chi-square statistic, the z statistic (reference rate minus
   * current rate, standardised), or the distance. null when there was not enough data.
   */
  score: number | null;
  /**
   * For p-value tests, the p-value the verdict used: Benjamini-Hochberg adjusted when the policy
   * asks for the correction (the raw one stays in `statistics`). null for distances.
   */
  pValue: number | null;
  threshold: number;
  drift: boolean;
  statistics: FeatureStatistics;
  /** Rows without a value (NaN, empty, null) on each side. */
  missing: { reference: number; current: number };
  status: 'ok' | 'insufficient-data';
}

export interface DatasetReference {
  uri: string;
  sha256: string;
  rows: number;
}

export interface DriftReport {
  reference: DatasetReference;
  current: DatasetReference;
  /** In the reference's column order. */
  features: FeatureReport[];
  datasetDrift: boolean;
  /** Drifted columns / columns with a verdict (status 'ok'); 0 when none has a verdict. */
  driftShare: number;
  generatedAt: string;
}

export function testOf(feature: Pick<FeatureReport, 'method' | 'threshold'>): ColumnTest {
  return { method: feature.method, threshold: feature.threshold, verdictBy: isPValueMethod(feature.method) ? 'p-value' : 'distance' };
}

/** How far past its threshold a column is (1 = at it); insufficient data sorts below everything. */
export function featureSeverity(feature: FeatureReport): number {
  if (feature.status !== 'ok' || feature.score === null) return Number.NEGATIVE_INFINITY;
  return severity(testOf(feature), feature.score, feature.pValue);
}

/** Worst first: drifted before not drifted, then by severity; insufficient data last. Stable. */
export function worstFirst(features: readonly FeatureReport[]): FeatureReport[] {
  return [...features].sort((a, b) => Number(b.drift) - Number(a.drift) || featureSeverity(b) - featureSeverity(a));
}

/**
 * Applies the policy's correction to the p-value tests, recomputes each verdict, and decides the
 * dataset: drifted when driftShare >= policy.datasetDriftShare and at least one column has a verdict.
 */
export function assembleReport(
  reference: DatasetReference,
  current: DatasetReference,
  features: FeatureReport[],
  policy: DriftPolicy,
  generatedAt: Date = new Date(),
): DriftReport {
  let final = features;
  if (policy.correction === 'benjamini-hochberg') {
    const tested = features.filter((f) => f.status === 'ok' && f.pValue !== null);
    const adjusted = benjaminiHochberg(tested.map((f) => f.pValue as number));
    const byName = new Map(tested.map((f, i) => [f.name, adjusted[i] as number]));
    final = features.map((f) => {
      const p = byName.get(f.name);
      if (p === undefined || f.score === null) return f;
      return { ...f, pValue: p, drift: isDrift(testOf(f), f.score, p) };
    });
  }
  const judged = final.filter((f) => f.status === 'ok');
  const drifted = judged.filter((f) => f.drift).length;
  const driftShare = judged.length === 0 ? 0 : drifted / judged.length;
  return {
    reference,
    current,
    features: final,
    datasetDrift: judged.length > 0 && driftShare >= policy.datasetDriftShare,
    driftShare,
    generatedAt: generatedAt.toISOString(),
  };
}
