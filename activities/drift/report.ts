/**
 * The drift report: reads the reference (a dataset, or a profile fitted earlier) and the current
 * window, matches their columns, runs each column's test under the policy and assembles the
 * verdicts (core/drift/report.ts). Everything a report says comes from the statistics in
 * core/drift, which are checked against scipy.
 */
import { evaluateFeature, type ColumnSummary } from '../../core/drift/feature.ts';
import { declaredKinds, isIgnored, parseDriftPolicy, resolveColumnTest, type ColumnKind, type DriftPolicy } from '../../core/drift/policy.ts';
import { assembleReport, type DatasetReference, type DriftReport, type FeatureReport } from '../../core/drift/report.ts';
import type { DatasetFormat } from './column-builder.ts';
import { canonicalUri, readDataset } from './dataset-reader.ts';
import { featureDistribution, type FeatureDistribution } from './distributions.ts';
import { DriftDataError } from './errors.ts';
import { isProfileUri, loadProfile, profileColumnsFor, profileFromDataset, type ProfileColumn } from './profile.ts';
import { summariseColumn } from './summary.ts';

export interface DriftReportInput {
  /** A dataset (CSV, TSV, JSON Lines, Parquet) or a profile (`.dlprof`), by path, file:// or s3:// URI. */
  readonly reference: string;
  /** The current window: a dataset, by path, file:// or s3:// URI. */
  readonly current: string;
  /** A drift policy (core/drift/policy.ts); every default applies when absent. */
  readonly policy?: unknown;
  /** Compute every statistic that applies to each column, not only its method's. */
  readonly allStatistics?: boolean;
  /** Overrides the format the current file's (and a reference dataset's) extension implies. */
  readonly format?: DatasetFormat;
}

export interface DriftAnalysis {
  readonly report: DriftReport;
  /** One per column with data on both sides, for the HTML report. */
  readonly distributions: FeatureDistribution[];
  /** The parsed policy the report was made under. */
  readonly policy: DriftPolicy;
}

export async function computeDriftReport(input: DriftReportInput): Promise<DriftReport> {
  return (await analyseDrift(input)).report;
}

/** The report plus what the HTML renderer draws. */
export async function analyseDrift(input: DriftReportInput): Promise<DriftAnalysis> {
  const policy = parseDriftPolicy(input.policy);
  const reference = await loadReference(input.reference, policy, input.format);
  const referenceKinds: Record<string, ColumnKind> = {};
  for (const column of reference.columns) referenceKinds[column.name] = column.summary.kind;
  const wanted = new Set(reference.columns.map((c) => c.name));

  // The current window is read with the reference's kinds, so text in a column that was numeric
  // in the reference is an error naming the cell rather than a silently categorical column.
  const current = await readDataset(input.current, {
    kinds: { ...declaredKinds(policy), ...referenceKinds },
    include: (name) => !isIgnored(policy, name),
    ...(input.format ? { format: input.format } : {}),
  });
  const currentByName = new Map(current.columns.map((c) => [c.name, c]));
  for (const name of wanted) {
    if (!currentByName.has(name)) {
      throw new DriftDataError('missing-column', input.current, `${input.current} has no column "${name}", which the reference ${input.reference} has`, { column: name });
    }
  }
  for (const column of current.columns) {
    if (!wanted.has(column.name)) {
      throw new DriftDataError('missing-column', input.reference, `${input.reference} has no column "${column.name}", which the current data ${input.current} has (ignore it in the policy to compare without it)`, {
        column: column.name,
      });
    }
  }

  const features: FeatureReport[] = [];
  const distributions: FeatureDistribution[] = [];
  for (const column of reference.columns) {
    const currentColumn = currentByName.get(column.name)!;
    const currentSummary: ColumnSummary = summariseColumn(currentColumn);
    const test = resolveColumnTest(policy, { name: column.name, kind: column.summary.kind, referenceRows: reference.reference.rows });
    features.push(evaluateFeature(column.name, column.summary, currentSummary, test, { minRows: policy.minRows, bins: policy.bins, allStatistics: input.allStatistics ?? false }));
    const distribution = featureDistribution(column.name, column.summary, currentSummary);
    if (distribution) distributions.push(distribution);
    currentByName.delete(column.name); // let the current column's memory go as soon as it is done
  }
  const report = assembleReport(reference.reference, { uri: canonicalUri(current.uri), sha256: current.sha256, rows: current.rows }, features, policy);
  return { report, distributions, policy };
}

interface Reference {
  readonly reference: DatasetReference;
  readonly columns: ProfileColumn[];
}

async function loadReference(uri: string, policy: DriftPolicy, format: DatasetFormat | undefined): Promise<Reference> {
  if (isProfileUri(uri)) {
    const loaded = await loadProfile(uri);
    return { reference: { uri: canonicalUri(loaded.uri), sha256: loaded.sha256, rows: loaded.profile.source.rows }, columns: profileColumnsFor(loaded.profile, policy, uri) };
  }
  const dataset = await readDataset(uri, {
    kinds: declaredKinds(policy),
    include: (name) => !isIgnored(policy, name),
    ...(format ? { format } : {}),
  });
  if (dataset.rows === 0) throw new DriftDataError('empty', uri, `${uri} has a header but no rows: a reference needs data`);
  const profile = profileFromDataset(dataset, policy.bins);
  return { reference: { uri: canonicalUri(dataset.uri), sha256: dataset.sha256, rows: dataset.rows }, columns: profile.columns };
}
