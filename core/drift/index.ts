/**
 * Drift statistics: pure functions on typed arrays (no I/O, no Node built-ins), safe to import
 * from workflows. Each is checked against scipy / statsmodels fixtures in
 * test/drift-statistics.test.ts.
 */
export { DriftInputError, type DriftInputProblem } from './errors.ts';
export { sortColumn, type SortedColumn } from './column.ts';
export { scanSortedPair, type EcdfScan } from './ecdf-pass.ts';
export { ksTwoSample, ksFromScan, KS_EXACT_MAX_ROWS, type KsResult } from './ks.ts';
export { kolmogorovSf, smirnovSf } from './kolmogorov.ts';
export { wasserstein, populationStd, type WassersteinResult } from './wasserstein.ts';
export {
  binnedComparison,
  quantileEdges,
  binCounts,
  psiFromCounts,
  jensenShannonFromCounts,
  klFromCounts,
  DEFAULT_BIN_COUNT,
  EMPTY_BIN_PROPORTION,
  type BinnedResult,
} from './binned.ts';
export { chiSquareHomogeneity, countCategories, type ChiSquareResult, type CategoryCounts } from './chi-square.ts';
export { twoProportionZTest, countBinary, type ProportionResult, type BinaryCounts } from './proportion.ts';
export { chiSquareSf, normalSf } from './distributions.ts';
export {
  compareNumericColumns,
  compareSortedColumns,
  DEFAULT_MIN_ROWS,
  type NumericDriftOptions,
  type NumericDriftStatistics,
  type InsufficientData,
} from './numeric.ts';
export {
  driftPolicySchema,
  parseDriftPolicy,
  resolveColumnTest,
  defaultMethod,
  declaredKinds,
  isIgnored,
  isDrift,
  isPValueMethod,
  benjaminiHochberg,
  severity,
  DriftPolicyError,
  COLUMN_KINDS,
  DRIFT_METHODS,
  METHODS_BY_KIND,
  DEFAULT_THRESHOLDS,
  DEFAULT_SMALL_REFERENCE_ROWS,
  DEFAULT_POLICY_MIN_ROWS,
  DEFAULT_POLICY_BINS,
  DEFAULT_DATASET_DRIFT_SHARE,
  type ColumnKind,
  type DriftMethod,
  type DriftPolicy,
  type DriftPolicyInput,
  type ColumnTest,
} from './policy.ts';
export { evaluateFeature, alignCategories, summaryPresent, summaryMissing, type ColumnSummary, type FeatureOptions } from './feature.ts';
export {
  assembleReport,
  featureSeverity,
  worstFirst,
  testOf,
  type DriftReport,
  type FeatureReport,
  type FeatureStatistics,
  type DatasetReference,
} from './report.ts';
