/**
 * Bias audit: the model's predictions on the holdout (from its own predict entry point), grouped by
 * each protected attribute, measured with core/fairness.ts (fairlearn's definitions).
 */
import type { BiasCheckPolicy, ProtectedAttribute } from '../../core/compliance.ts';
import { auditAttribute, binLabel, type AttributeAudit } from '../../core/fairness.ts';
import { column, numericColumn, readTable } from './files.ts';

export interface BiasReport {
  check: 'bias';
  status: 'pass' | 'fail';
  rows: number;
  label: string;
  positiveLabel: number;
  thresholds: {
    minGroupSize: number;
    maxDemographicParityDifference: number;
    maxEqualizedOddsDifference: number;
    minDisparateImpactRatio: number;
  };
  attributes: AttributeAudit[];
  violations: string[];
}

export async function auditBias(input: {
  holdoutUri: string;
  predictionsUri: string;
  label: string;
  attributes: ProtectedAttribute[];
  policy: BiasCheckPolicy;
}): Promise<BiasReport> {
  const { policy } = input;
  const holdout = await readTable(input.holdoutUri);
  const predictions = await readTable(input.predictionsUri);
  if (predictions.rows.length !== holdout.rows.length) {
    throw new RangeError(`${input.predictionsUri} has ${predictions.rows.length} predictions for ${holdout.rows.length} holdout rows`);
  }
  const truth = numericColumn(holdout, input.label, input.holdoutUri);
  const predicted = numericColumn(predictions, 'prediction', input.predictionsUri);
  const audits = input.attributes.map((attribute) => {
    const name = typeof attribute === 'string' ? attribute : attribute.column;
    const groups =
      typeof attribute === 'string'
        ? column(holdout, name, input.holdoutUri)
        : Array.from(numericColumn(holdout, name, input.holdoutUri), (value) => binLabel(value, attribute.bins));
    return auditAttribute(name, groups, truth, predicted, policy);
  });
  const violations = audits.flatMap((a) => a.violations);
  return {
    check: 'bias',
    status: violations.length ? 'fail' : 'pass',
    rows: holdout.rows.length,
    label: input.label,
    positiveLabel: policy.positiveLabel,
    thresholds: {
      minGroupSize: policy.minGroupSize,
      maxDemographicParityDifference: policy.maxDemographicParityDifference,
      maxEqualizedOddsDifference: policy.maxEqualizedOddsDifference,
      minDisparateImpactRatio: policy.minDisparateImpactRatio,
    },
    attributes: audits,
    violations,
  };
}

export function biasSummary(report: BiasReport): string {
  if (report.violations.length) return report.violations.join('; ');
  return report.attributes
    .map((a) =>
      a.demographicParityDifference === null
        ? `${a.attribute}: not measurable (insufficient data, allowed by the policy)`
        : `${a.attribute}: parity difference ${fmt(a.demographicParityDifference)}, equalized odds difference ${fmt(a.equalizedOddsDifference!)}, ` +
          `disparate impact ${a.disparateImpactRatio === null ? 'n/a' : fmt(a.disparateImpactRatio)}` +
          (a.insufficientGroups.length ? ` (insufficient data: ${a.insufficientGroups.join(', ')})` : ''),
    )
    .join('; ');
}

function fmt(value: number): string {
  return String(Number(value.toPrecision(3)));
}
