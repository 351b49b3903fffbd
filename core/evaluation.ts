/**
 * Model evaluation, computed by Driftline from predictions (never taken from the trainer's own
 * report): classification and regression metrics, a paired bootstrap of the candidate's improvement
 * over the champion on the same holdout rows, and the policy decision. Pure and deterministic: the
 * bootstrap's generator is seeded, so the same inputs give the same interval on every replay or retry.
 */
import { METRIC_DIRECTIONS, type EvaluationPolicy, type MetricName } from './training.ts';

export interface Predictions {
  /** Predicted label (0/1) or value. */
  prediction: Float64Array;
  /** Probability of the positive class, for ROC AUC and log loss; absent for regression. */
  probability: Float64Array | null;
}

export type Task = 'binary-classification' | 'regression';
export type Metrics = Partial<Record<MetricName, number>>;

const EPS = 1e-15;

export function computeMetrics(task: Task, truth: Float64Array, predictions: Predictions, rows?: Uint32Array): Metrics {
  return task === 'regression' ? regressionMetrics(truth, predictions.prediction, rows) : classificationMetrics(truth, predictions, rows);
}

function classificationMetrics(y: Float64Array, { prediction, probability }: Predictions, rows?: Uint32Array): Metrics {
  const n = rows ? rows.length : y.length;
  let tp = 0;
  let fp = 0;
  let tn = 0;
  let fn = 0;
  let logLoss = 0;
  for (let k = 0; k < n; k++) {
    const i = rows ? rows[k]! : k;
    const actual = y[i]!;
    const predicted = prediction[i]!;
    if (predicted === 1 && actual === 1) tp++;
    else if (predicted === 1) fp++;
    else if (actual === 1) fn++;
    else tn++;
    if (probability) {
      const p = Math.min(1 - EPS, Math.max(EPS, probability[i]!));
      logLoss -= actual === 1 ? Math.log(p) : Math.log(1 - p);
    }
  }
  const precision = tp + fp === 0 ? 0 : tp / (tp + fp);
  const recall = tp + fn === 0 ? 0 : tp / (tp + fn);
  const metrics: Metrics = {
    accuracy: (tp + tn) / n,
    precision,
    recall,
    f1: precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall),
  };
  if (probability) {
    metrics.logLoss = logLoss / n;
    const auc = rocAuc(y, probability, rows);
    if (auc !== null) metrics.rocAuc = auc;
  }
  return metrics;
}

/** ROC AUC as the Mann-Whitney statistic with tied scores counted half; null with one class only. */
export function rocAuc(y: Float64Array, score: Float64Array, rows?: Uint32Array): number | null {
  const n = rows ? rows.length : y.length;
  const order = new Uint32Array(n);
  for (let k = 0; k < n; k++) order[k] = rows ? rows[k]! : k;
  order.sort((a, b) => score[a]! - score[b]!);
  let positives = 0;
  let rankSum = 0;
  for (let start = 0; start < n; ) {
    let end = start + 1;
    while (end < n && score[order[end]!] === score[order[start]!]) end++;
    const midRank = (start + 1 + end) / 2; // average 1-based rank of the tie group
    for (let k = start; k < end; k++) {
      if (y[order[k]!] === 1) {
        positives++;
        rankSum += midRank;
      }
    }
    start = end;
  }
  const negatives = n - positives;
  if (positives === 0 || negatives === 0) return null;
  return (rankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}

function regressionMetrics(y: Float64Array, prediction: Float64Array, rows?: Uint32Array): Metrics {
  const n = rows ? rows.length : y.length;
  let sse = 0;
  let sae = 0;
  let sum = 0;
  let sumSq = 0;
  for (let k = 0; k < n; k++) {
    const i = rows ? rows[k]! : k;
    const err = prediction[i]! - y[i]!;
    sse += err * err;
    sae += Math.abs(err);
    sum += y[i]!;
    sumSq += y[i]! * y[i]!;
  }
  const sst = sumSq - (sum * sum) / n;
  return { rmse: Math.sqrt(sse / n), mae: sae / n, r2: sst === 0 ? 0 : 1 - sse / sst };
}

export interface Comparison {
  metric: MetricName;
  candidate: number;
  champion: number;
  /** Improvement of the candidate over the champion (positive is better, whatever the metric's direction). */
  improvement: number;
  low: number;
  high: number;
  confidence: number;
  resamples: number;
}

/** Paired bootstrap: both models scored on the same resampled rows, so their shared noise cancels. */
export function pairedBootstrap(
  task: Task,
  truth: Float64Array,
  candidate: Predictions,
  champion: Predictions,
  options: { metric: MetricName; confidence: number; resamples: number; seed: number },
): Comparison {
  const sign = METRIC_DIRECTIONS[options.metric] === 'higher' ? 1 : -1;
  const metricOf = (p: Predictions, rows?: Uint32Array) => {
    const value = computeMetrics(task, truth, p, rows)[options.metric];
    if (value === undefined) throw new RangeError(`metric ${options.metric} cannot be computed for these predictions`);
    return value;
  };
  const candidateValue = metricOf(candidate);
  const championValue = metricOf(champion);
  const random = mulberry32(options.seed);
  const n = truth.length;
  const rows = new Uint32Array(n);
  const deltas = new Float64Array(options.resamples);
  for (let b = 0; b < options.resamples; b++) {
    for (let k = 0; k < n; k++) rows[k] = Math.floor(random() * n);
    deltas[b] = sign * (metricOf(candidate, rows) - metricOf(champion, rows));
  }
  deltas.sort();
  const alpha = (1 - options.confidence) / 2;
  return {
    metric: options.metric,
    candidate: candidateValue,
    champion: championValue,
    improvement: sign * (candidateValue - championValue),
    low: quantileSorted(deltas, alpha),
    high: quantileSorted(deltas, 1 - alpha),
    confidence: options.confidence,
    resamples: options.resamples,
  };
}

export interface Decision {
  passed: boolean;
  reasons: string[];
}

export function decide(policy: EvaluationPolicy, metrics: Metrics, comparison: Comparison | null): Decision {
  const reasons: string[] = [];
  for (const [name, gate] of Object.entries(policy.thresholds) as Array<[MetricName, { min?: number; max?: number }]>) {
    const value = metrics[name];
    if (value === undefined) reasons.push(`${name} could not be computed, but the policy sets a threshold on it`);
    else if (gate.min !== undefined && value < gate.min) reasons.push(`${name} ${fmt(value)} is below the minimum ${gate.min}`);
    else if (gate.max !== undefined && value > gate.max) reasons.push(`${name} ${fmt(value)} is above the maximum ${gate.max}`);
  }
  if (comparison && policy.champion && comparison.low < -policy.champion.maxRegression) {
    reasons.push(
      `${comparison.metric} ${fmt(comparison.candidate)} vs champion ${fmt(comparison.champion)}: improvement ${fmt(comparison.improvement)}, ` +
        `${Math.round(comparison.confidence * 100)}% interval [${fmt(comparison.low)}, ${fmt(comparison.high)}] reaches below -${policy.champion.maxRegression}`,
    );
  }
  return { passed: reasons.length === 0, reasons };
}

function quantileSorted(sorted: Float64Array, q: number): number {
  const position = q * (sorted.length - 1);
  const lower = Math.floor(position);
  const upper = Math.min(sorted.length - 1, lower + 1);
  return sorted[lower]! + (sorted[upper]! - sorted[lower]!) * (position - lower);
}

/** Small seeded generator (mulberry32); deterministic across platforms. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function fmt(value: number): string {
  return String(Number(value.toPrecision(4)));
}
