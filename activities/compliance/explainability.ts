/**
 * Explainability: permutation feature importance through the model's own predict entry point.
 *
 * Step 1 (`planPermutations`) writes ONE dataset: the holdout as it is, then, for each feature and
 * repeat, the holdout with that feature's column shuffled (seeded, so a retry writes the same bytes).
 * The workflow runs the trainer's `predict` on it once (predictWithModel: local process or SageMaker
 * batch transform alike). Step 2 (`scorePermutations`) scores each block against the labels: a
 * feature's importance is how much the score drops when its values are shuffled.
 */
import { computeMetrics, mulberry32, type Task } from '../../core/evaluation.ts';
import type { ExplainabilityCheckPolicy } from '../../core/compliance.ts';
import { METRIC_DIRECTIONS, type MetricName } from '../../core/training.ts';
import { MalformedDataset } from '../data/csv-profile.ts';
import { csvLine, numericColumn, readTable, type Table } from './files.ts';

export interface PermutationPlan {
  rows: number;
  features: string[];
  repeats: number;
  seed: number;
  task: Task;
  metric: MetricName;
}

export interface FeatureImportance {
  feature: string;
  /** Mean drop of the score over the repeats (positive: the model relies on it). */
  importance: number;
  std: number;
  scores: number[];
}

export interface ExplainabilityReport {
  check: 'explainability';
  status: 'pass';
  method: 'permutation-importance';
  task: Task;
  metric: MetricName;
  rows: number;
  repeats: number;
  seed: number;
  baseline: number;
  features: FeatureImportance[];
}

/** Builds the stacked dataset (as CSV text) and the plan to score it. */
export async function planPermutations(input: { holdoutUri: string; label: string; policy: ExplainabilityCheckPolicy }): Promise<{ csv: string; plan: PermutationPlan }> {
  const { policy } = input;
  const table = await readTable(input.holdoutUri, policy.maxRows);
  if (!table.header.includes(input.label)) throw new MalformedDataset(`${input.holdoutUri} has no column "${input.label}" (the label)`);
  const features = policy.features ?? table.header.filter((h) => h !== input.label);
  const unknown = features.filter((f) => !table.header.includes(f));
  if (unknown.length) throw new MalformedDataset(`${input.holdoutUri} has no column ${unknown.map((f) => `"${f}"`).join(', ')} (explainability features)`);
  if (features.length === 0) throw new MalformedDataset(`${input.holdoutUri} has no feature column besides the label`);
  const labels = numericColumn(table, input.label, input.holdoutUri);
  const task: Task = labels.every((v) => v === 0 || v === 1) ? 'binary-classification' : 'regression';
  const metric = policy.metric ?? (task === 'regression' ? 'r2' : 'accuracy');
  const random = mulberry32(policy.seed);
  const lines = [csvLine(table.header), ...table.rows.map(csvLine)];
  for (const feature of features) {
    const index = table.header.indexOf(feature);
    for (let r = 0; r < policy.repeats; r++) {
      const order = shuffledIndexes(table.rows.length, random);
      for (let i = 0; i < table.rows.length; i++) {
        const row = [...table.rows[i]!];
        row[index] = table.rows[order[i]!]![index]!;
        lines.push(csvLine(row));
      }
    }
  }
  return { csv: `${lines.join('\n')}\n`, plan: { rows: table.rows.length, features, repeats: policy.repeats, seed: policy.seed, task, metric } };
}

export async function scorePermutations(input: { holdoutUri: string; label: string; predictionsUri: string; plan: PermutationPlan }): Promise<ExplainabilityReport> {
  const { plan } = input;
  const holdout = await readTable(input.holdoutUri, plan.rows);
  const truth = numericColumn(holdout, input.label, input.holdoutUri);
  const predictions: Table = await readTable(input.predictionsUri);
  const expected = plan.rows * (1 + plan.features.length * plan.repeats);
  if (predictions.rows.length !== expected) {
    throw new MalformedDataset(`${input.predictionsUri} has ${predictions.rows.length} predictions, expected ${expected}`);
  }
  const prediction = numericColumn(predictions, 'prediction', input.predictionsUri);
  const probability = predictions.header.includes('probability') ? numericColumn(predictions, 'probability', input.predictionsUri) : null;
  const score = (block: number): number => {
    const from = block * plan.rows;
    const metrics = computeMetrics(plan.task, truth, {
      prediction: prediction.subarray(from, from + plan.rows),
      probability: probability ? probability.subarray(from, from + plan.rows) : null,
    });
    const value = metrics[plan.metric];
    if (value === undefined) throw new MalformedDataset(`metric ${plan.metric} cannot be computed from ${input.predictionsUri} (does it have a probability column?)`);
    return value;
  };
  const sign = METRIC_DIRECTIONS[plan.metric] === 'higher' ? 1 : -1;
  const baseline = score(0);
  const features = plan.features.map((feature, f) => {
    const scores = Array.from({ length: plan.repeats }, (_, r) => score(1 + f * plan.repeats + r));
    const drops = scores.map((s) => sign * (baseline - s));
    const mean = drops.reduce((a, b) => a + b, 0) / drops.length;
    const std = Math.sqrt(drops.reduce((a, b) => a + (b - mean) ** 2, 0) / drops.length);
    return { feature, importance: mean, std, scores };
  });
  features.sort((a, b) => b.importance - a.importance || (a.feature < b.feature ? -1 : 1));
  return {
    check: 'explainability',
    status: 'pass',
    method: 'permutation-importance',
    task: plan.task,
    metric: plan.metric,
    rows: plan.rows,
    repeats: plan.repeats,
    seed: plan.seed,
    baseline,
    features,
  };
}

/** Fisher-Yates with the seeded generator. */
function shuffledIndexes(n: number, random: () => number): Uint32Array {
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const t = order[i]!;
    order[i] = order[j]!;
    order[j] = t;
  }
  return order;
}

export function explainabilitySummary(report: ExplainabilityReport): string {
  const top = report.features.slice(0, 3).map((f) => `${f.feature} ${fmt(f.importance)}`);
  return `permutation importance (${report.metric} drop, ${report.repeats} repeats, baseline ${fmt(report.baseline)}): ${top.join(', ')}`;
}

/** A horizontal bar chart of the importances with ±1 std whiskers, as a standalone SVG. */
export function importanceChartSvg(report: ExplainabilityReport): string {
  const barHeight = 22;
  const labelWidth = Math.min(240, 12 + 7 * Math.max(...report.features.map((f) => f.feature.length)));
  const plotWidth = 420;
  const top = 44;
  const height = top + report.features.length * barHeight + 36;
  const width = labelWidth + plotWidth + 80;
  const max = Math.max(1e-12, ...report.features.map((f) => Math.abs(f.importance) + f.std));
  const zero = labelWidth + (report.features.some((f) => f.importance < 0) ? plotWidth / 2 : 0);
  const scale = (report.features.some((f) => f.importance < 0) ? plotWidth / 2 : plotWidth) / max;
  const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<title>Permutation feature importance</title>`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    `<text x="12" y="20" font-size="14" font-weight="bold">Permutation feature importance (drop in ${report.metric})</text>`,
    `<text x="12" y="36" fill="#555">${report.rows} holdout rows, ${report.repeats} repeats, baseline ${fmt(report.baseline)}</text>`,
  ];
  report.features.forEach((f, i) => {
    const y = top + i * barHeight;
    const w = Math.abs(f.importance) * scale;
    const x = f.importance >= 0 ? zero : zero - w;
    parts.push(`<text x="${labelWidth - 8}" y="${y + 15}" text-anchor="end">${esc(f.feature)}</text>`);
    parts.push(`<rect x="${x.toFixed(1)}" y="${y + 4}" width="${w.toFixed(1)}" height="${barHeight - 8}" fill="${f.importance >= 0 ? '#3b6ea8' : '#b05a3c'}"/>`);
    const c = zero + f.importance * scale;
    parts.push(`<line x1="${(c - f.std * scale).toFixed(1)}" x2="${(c + f.std * scale).toFixed(1)}" y1="${y + 11}" y2="${y + 11}" stroke="#222"/>`);
    parts.push(`<text x="${labelWidth + plotWidth + 8}" y="${y + 15}" fill="#333">${fmt(f.importance)}</text>`);
  });
  parts.push(`<line x1="${zero}" x2="${zero}" y1="${top}" y2="${top + report.features.length * barHeight}" stroke="#888"/>`);
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}

function fmt(value: number): string {
  return String(Number(value.toPrecision(3)));
}
