/**
 * Checks a dataset's profile against the model's data contract. Pure: the profile is computed by
 * an activity in one streaming pass; this decides what is wrong with it, in words a person can act on.
 */
import type { DataContract } from './training.ts';

export interface ColumnProfile {
  name: string;
  /** Empty, NA, NaN or null cells. */
  missing: number;
  /** Cells that parse as finite numbers. */
  numeric: number;
  min: number | null;
  max: number | null;
  nonNumericExample: string | null;
  /** Value counts, or null when the column has more than 1,000 distinct values. */
  categories: Record<string, number> | null;
}

export interface DatasetProfile {
  uri: string;
  sha256: string;
  bytes: number;
  rows: number;
  columns: ColumnProfile[];
}

export function contractViolations(profile: DatasetProfile, contract: DataContract, role: string): string[] {
  const violations: string[] = [];
  const byName = new Map(profile.columns.map((c) => [c.name, c]));
  if (profile.rows < contract.minRows) violations.push(`${role}: ${profile.rows} rows, the contract requires at least ${contract.minRows}`);

  const expected = new Set([...Object.keys(contract.columns), contract.label]);
  for (const name of expected) {
    if (!byName.has(name)) violations.push(`${role}: column "${name}" is missing${name === contract.label ? ' (it is the label)' : ''}`);
  }
  if (!contract.allowExtraColumns) {
    for (const column of profile.columns) {
      if (!expected.has(column.name)) violations.push(`${role}: column "${column.name}" is not in the data contract`);
    }
  }

  for (const [name, rule] of Object.entries(contract.columns)) {
    const column = byName.get(name);
    if (!column || profile.rows === 0) continue;
    const present = profile.rows - column.missing;
    const missingRatio = column.missing / profile.rows;
    if (missingRatio > rule.maxMissingRatio) {
      violations.push(`${role}: column "${name}" is missing in ${percent(missingRatio)} of rows, the contract allows ${percent(rule.maxMissingRatio)}`);
    }
    if (rule.type === 'numeric') {
      if (column.numeric < present) {
        violations.push(`${role}: column "${name}" must be numeric but has non-numeric values such as "${column.nonNumericExample}"`);
      }
      if (rule.min !== undefined && column.min !== null && column.min < rule.min) {
        violations.push(`${role}: column "${name}" has ${column.min}, below the contract's minimum ${rule.min}`);
      }
      if (rule.max !== undefined && column.max !== null && column.max > rule.max) {
        violations.push(`${role}: column "${name}" has ${column.max}, above the contract's maximum ${rule.max}`);
      }
    }
    if (rule.type === 'binary' && column.categories) {
      const values = Object.keys(column.categories);
      if (values.length > 2) violations.push(`${role}: column "${name}" must be binary but has ${values.length} distinct values`);
    }
    if (rule.type === 'categorical' && rule.allowed && column.categories) {
      const unknown = Object.keys(column.categories).filter((v) => !rule.allowed!.includes(v));
      if (unknown.length > 0) violations.push(`${role}: column "${name}" has values outside the contract: ${unknown.slice(0, 5).join(', ')}`);
    }
  }

  const label = byName.get(contract.label);
  if (label && profile.rows > 0) {
    if (label.missing > 0) violations.push(`${role}: the label "${contract.label}" is missing in ${label.missing} rows`);
    if (contract.task === 'binary-classification') {
      const classes = label.categories ? Object.entries(label.categories) : [];
      if (classes.length !== 2) {
        violations.push(`${role}: the label "${contract.label}" must have exactly 2 classes, found ${label.categories ? classes.length : 'more than 1000'}`);
      } else if (contract.minClassShare !== undefined) {
        const total = classes.reduce((n, [, c]) => n + c, 0);
        const rarest = Math.min(...classes.map(([, c]) => c)) / total;
        if (rarest < contract.minClassShare) {
          violations.push(`${role}: the rarer class of "${contract.label}" is ${percent(rarest)} of rows, the contract requires ${percent(contract.minClassShare)}`);
        }
      }
    } else if (label.numeric < profile.rows - label.missing) {
      violations.push(`${role}: the regression label "${contract.label}" has non-numeric values such as "${label.nonNumericExample}"`);
    }
  }
  return violations;
}

function percent(ratio: number): string {
  return `${Number((ratio * 100).toPrecision(3))}%`;
}
