/**
 * Group fairness of a binary classifier's predictions, per protected attribute, with the same
 * definitions as fairlearn (checked against fairlearn on committed fixtures):
 *   - selection rate  P[ŷ = +]; true positive rate P[ŷ = + | y = +]; false positive rate P[ŷ = + | y = −]
 *     (a rate over an empty set is 0, as fairlearn's confusion-matrix normalisation gives);
 *   - demographic parity difference: max − min selection rate over the groups;
 *   - equalized odds difference: the larger of the TPR and FPR spreads (max − min), fairlearn's worst case;
 *   - disparate impact ratio: min / max selection rate (fairlearn's demographic_parity_ratio), and the
 *     four-fifths rule: it must reach 0.8 (or the policy's bound).
 * Groups with fewer rows than `minGroupSize` are reported with their counts as "insufficient data" and
 * left out of the figures, which are computed over the remaining groups; an attribute with fewer than
 * two such groups has no figures at all.
 */

export interface FairnessOptions {
  positiveLabel: number;
  minGroupSize: number;
  maxDemographicParityDifference: number;
  maxEqualizedOddsDifference: number;
  minDisparateImpactRatio: number;
  insufficientData: 'fail' | 'pass';
}

export interface GroupFigures {
  group: string;
  count: number;
  /** Rows whose true label is the positive one. */
  positives: number;
  negatives: number;
  sufficient: boolean;
  selectionRate: number;
  truePositiveRate: number;
  falsePositiveRate: number;
}

export interface AttributeAudit {
  attribute: string;
  status: 'pass' | 'fail' | 'insufficient-data';
  groups: GroupFigures[];
  /** Groups the figures cover (those with at least minGroupSize rows). */
  evaluatedGroups: string[];
  insufficientGroups: string[];
  demographicParityDifference: number | null;
  equalizedOddsDifference: number | null;
  truePositiveRateDifference: number | null;
  falsePositiveRateDifference: number | null;
  /** null when no evaluated group is ever selected (0 / 0). */
  disparateImpactRatio: number | null;
  fourFifthsRule: 'pass' | 'fail' | null;
  /** Each threshold the attribute breaks, as a sentence. */
  violations: string[];
}

export function groupFigures(groups: readonly string[], truth: ArrayLike<number>, predicted: ArrayLike<number>, positiveLabel: number, minGroupSize: number): GroupFigures[] {
  if (groups.length !== truth.length || groups.length !== predicted.length) {
    throw new RangeError(`groups, labels and predictions differ in length (${groups.length}, ${truth.length}, ${predicted.length})`);
  }
  const counts = new Map<string, { n: number; selected: number; pos: number; neg: number; tp: number; fp: number }>();
  for (let i = 0; i < groups.length; i++) {
    const g = groups[i]!;
    let c = counts.get(g);
    if (!c) counts.set(g, (c = { n: 0, selected: 0, pos: 0, neg: 0, tp: 0, fp: 0 }));
    const actual = truth[i] === positiveLabel;
    const chosen = predicted[i] === positiveLabel;
    c.n++;
    if (chosen) c.selected++;
    if (actual) {
      c.pos++;
      if (chosen) c.tp++;
    } else {
      c.neg++;
      if (chosen) c.fp++;
    }
  }
  return [...counts.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([group, c]) => ({
      group,
      count: c.n,
      positives: c.pos,
      negatives: c.neg,
      sufficient: c.n >= minGroupSize,
      selectionRate: c.selected / c.n,
      truePositiveRate: c.pos === 0 ? 0 : c.tp / c.pos,
      falsePositiveRate: c.neg === 0 ? 0 : c.fp / c.neg,
    }));
}

export function auditAttribute(attribute: string, groups: readonly string[], truth: ArrayLike<number>, predicted: ArrayLike<number>, options: FairnessOptions): AttributeAudit {
  const figures = groupFigures(groups, truth, predicted, options.positiveLabel, options.minGroupSize);
  const evaluated = figures.filter((g) => g.sufficient);
  const insufficientGroups = figures.filter((g) => !g.sufficient).map((g) => g.group);
  const base = { attribute, groups: figures, evaluatedGroups: evaluated.map((g) => g.group), insufficientGroups };
  if (evaluated.length < 2) {
    const why =
      figures.length < 2
        ? `only one group ("${figures[0]?.group ?? ''}") is present`
        : `fewer than two groups have at least ${options.minGroupSize} rows (${figures.map((g) => `${g.group}: ${g.count}`).join(', ')})`;
    return {
      ...base,
      status: options.insufficientData === 'pass' ? 'pass' : 'insufficient-data',
      demographicParityDifference: null,
      equalizedOddsDifference: null,
      truePositiveRateDifference: null,
      falsePositiveRateDifference: null,
      disparateImpactRatio: null,
      fourFifthsRule: null,
      violations: options.insufficientData === 'pass' ? [] : [`${attribute}: insufficient data: ${why}`],
    };
  }
  const spread = (pick: (g: GroupFigures) => number) => {
    const values = evaluated.map(pick);
    return Math.max(...values) - Math.min(...values);
  };
  const selection = evaluated.map((g) => g.selectionRate);
  const maxSelection = Math.max(...selection);
  const minSelection = Math.min(...selection);
  const dpd = maxSelection - minSelection;
  const tprd = spread((g) => g.truePositiveRate);
  const fprd = spread((g) => g.falsePositiveRate);
  const eod = Math.max(tprd, fprd);
  const ratio = maxSelection === 0 ? null : minSelection / maxSelection;
  const violations: string[] = [];
  if (dpd > options.maxDemographicParityDifference) {
    violations.push(`${attribute}: demographic parity difference ${fmt(dpd)} exceeds ${options.maxDemographicParityDifference}`);
  }
  if (eod > options.maxEqualizedOddsDifference) {
    violations.push(`${attribute}: equalized odds difference ${fmt(eod)} exceeds ${options.maxEqualizedOddsDifference}`);
  }
  const fourFifths = ratio === null ? null : ratio >= options.minDisparateImpactRatio ? 'pass' : 'fail';
  if (fourFifths === 'fail') {
    const low = evaluated.find((g) => g.selectionRate === minSelection)!.group;
    const high = evaluated.find((g) => g.selectionRate === maxSelection)!.group;
    violations.push(`${attribute}: disparate impact ratio ${fmt(ratio!)} is below ${options.minDisparateImpactRatio} ("${low}" selected at ${fmt(minSelection)} vs "${high}" at ${fmt(maxSelection)})`);
  }
  return {
    ...base,
    status: violations.length ? 'fail' : 'pass',
    demographicParityDifference: dpd,
    equalizedOddsDifference: eod,
    truePositiveRateDifference: tprd,
    falsePositiveRateDifference: fprd,
    disparateImpactRatio: ratio,
    fourFifthsRule: fourFifths,
    violations,
  };
}

/** Group label of a numeric value cut by increasing edges: `[a, b)`, the last bin closed; out of range is its own group. */
export function binLabel(value: number, edges: readonly number[]): string {
  const last = edges.length - 1;
  if (!Number.isFinite(value) || value < edges[0]! || value > edges[last]!) return 'out-of-range';
  for (let i = 0; i < last; i++) {
    const lo = edges[i]!;
    const hi = edges[i + 1]!;
    const closing = i === last - 1;
    if (value < hi || (closing && value === hi)) return closing ? `[${lo}, ${hi}]` : `[${lo}, ${hi})`;
  }
  return 'out-of-range';
}

function fmt(value: number): string {
  return String(Number(value.toPrecision(4)));
}
