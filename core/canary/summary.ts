/**
 * Turns one analysis window of raw observations (from any metrics provider) into the small,
 * JSON-sized summary the judge needs, so workflow payloads carry counts, never request logs.
 * Pure: the metrics activity calls it with the thresholds the workflow's judge hands it.
 */
import type { JudgeSettings, ShadowPhase } from '../canary.ts';
import { bettingBlockLogs } from './betting.ts';

/** One variant's observations in a window. Latency and prediction arrays may be per request or per period. */
export interface VariantSamples {
  requests: number;
  errors: number;
  latencyMs: ArrayLike<number>;
  /** Prediction values (probability or score) of successful requests. */
  predictions: ArrayLike<number>;
  /** User metrics: events out of trials (e.g. conversions). */
  custom?: Record<string, { trials: number; events: number }>;
}

/** Mirrored requests of the shadow phase: element i of every array is the same request. */
export interface ShadowPairs {
  candidatePrediction: ArrayLike<number>;
  baselinePrediction: ArrayLike<number>;
  /** Predicted labels, NaN when the model gave none (then a score ≥ 0.5 counts as label 1). */
  candidateLabel: ArrayLike<number>;
  baselineLabel: ArrayLike<number>;
  candidateError: ArrayLike<number>;
  baselineError: ArrayLike<number>;
  candidateLatencyMs: ArrayLike<number>;
  baselineLatencyMs: ArrayLike<number>;
}

export interface RawWindow {
  baseline: VariantSamples;
  candidate: VariantSamples;
  shadow: ShadowPairs | null;
}

/** Thresholds fixed from earlier windows' baseline quantiles; null until enough baseline traffic was seen. */
export interface JudgeThresholds {
  latency: number[] | null;
  predictions: number[] | null;
  /**
   * Judge v2: the probabilities of the baseline latency quantiles that become the bin edges, and the
   * factor the candidate's edges are multiplied by (1 + the latency tolerance). Absent for judge v1,
   * which takes its quantiles from the settings and compares both arms against the same edges.
   */
  latencyProbabilities?: number[];
  candidateLatencyScale?: number;
}

export interface MomentCounts {
  n: number;
  sum: number;
  /** How many observations lie strictly above each threshold (empty without thresholds). */
  above: number[];
}

export interface VariantWindow {
  requests: number;
  errors: number;
  latency: MomentCounts;
  predictions: MomentCounts;
  /** Quantiles of this window (settings' quantiles), when it has enough samples to set thresholds. */
  latencyQuantiles: number[] | null;
  predictionQuantiles: number[] | null;
  custom: Record<string, { trials: number; events: number }>;
}

/** Per paired test: observations used, their sum, and the betting grid's log-wealth increments. */
export interface PairedTestWindow {
  n: number;
  sum: number;
  logs: number[];
  candidateSum: number;
  baselineSum: number;
}

export interface ShadowWindow {
  pairs: number;
  divergence: PairedTestWindow;
  errors: PairedTestWindow;
  latency: PairedTestWindow;
}

export interface WindowSummary {
  baseline: VariantWindow;
  candidate: VariantWindow;
  shadow: ShadowWindow | null;
}

export function summariseWindow(raw: RawWindow, thresholds: JudgeThresholds, settings: JudgeSettings, shadow: ShadowPhase | null): WindowSummary {
  return {
    baseline: summariseVariant(raw.baseline, thresholds, settings, 1),
    candidate: summariseVariant(raw.candidate, thresholds, settings, thresholds.candidateLatencyScale ?? 1),
    shadow: raw.shadow && shadow ? summariseShadow(raw.shadow, shadow, settings) : null,
  };
}

function summariseVariant(samples: VariantSamples, thresholds: JudgeThresholds, settings: JudgeSettings, latencyScale: number): VariantWindow {
  const latency = finite(samples.latencyMs);
  const predictions = finite(samples.predictions);
  const latencyEdges = thresholds.latency && latencyScale !== 1 ? thresholds.latency.map((t) => t * latencyScale) : thresholds.latency;
  return {
    requests: samples.requests,
    errors: samples.errors,
    latency: moments(latency, latencyEdges),
    predictions: moments(predictions, thresholds.predictions),
    latencyQuantiles: latency.length >= settings.minBaselineSamples ? quantiles(latency, thresholds.latencyProbabilities ?? settings.latency.quantiles) : null,
    predictionQuantiles: predictions.length >= settings.minBaselineSamples ? quantiles(predictions, settings.predictions.quantiles) : null,
    custom: { ...(samples.custom ?? {}) },
  };
}

function summariseShadow(pairs: ShadowPairs, plan: ShadowPhase, settings: JudgeSettings): ShadowWindow {
  const count = pairs.candidatePrediction.length;
  // divergence on the same request, both answered
  const divergence: number[] = [];
  const candidateValues: number[] = [];
  const baselineValues: number[] = [];
  // paired tests: errors on discordant pairs (sign test), latency as "clearly slower" indicators
  const errorSigns: number[] = [];
  let candidateErrors = 0;
  let baselineErrors = 0;
  const latencySigns: number[] = [];
  let candidateLatency = 0;
  let baselineLatency = 0;
  for (let i = 0; i < count; i++) {
    const ce = pairs.candidateError[i]! > 0;
    const be = pairs.baselineError[i]! > 0;
    candidateErrors += ce ? 1 : 0;
    baselineErrors += be ? 1 : 0;
    if (ce !== be) errorSigns.push(ce ? 1 : 0);
    const cl = pairs.candidateLatencyMs[i]!;
    const bl = pairs.baselineLatencyMs[i]!;
    if (Number.isFinite(cl) && Number.isFinite(bl)) {
      candidateLatency += cl;
      baselineLatency += bl;
      latencySigns.push(cl > (1 + settings.latency.minRelativeIncrease) * bl ? 1 : 0);
    }
    const cp = pairs.candidatePrediction[i]!;
    const bp = pairs.baselinePrediction[i]!;
    if (ce || be || !Number.isFinite(cp) || !Number.isFinite(bp)) continue;
    candidateValues.push(cp);
    baselineValues.push(bp);
    if (plan.divergence === 'disagreement') {
      const cLabel = Number.isFinite(pairs.candidateLabel[i]!) ? pairs.candidateLabel[i]! : cp >= 0.5 ? 1 : 0;
      const bLabel = Number.isFinite(pairs.baselineLabel[i]!) ? pairs.baselineLabel[i]! : bp >= 0.5 ? 1 : 0;
      divergence.push(cLabel === bLabel ? 0 : 1);
    } else {
      divergence.push(Math.min(1, Math.abs(cp - bp) / plan.scale));
    }
  }
  return {
    pairs: count,
    divergence: {
      n: divergence.length,
      sum: sum(divergence),
      logs: bettingBlockLogs(divergence, plan.maxDivergence),
      candidateSum: sum(candidateValues),
      baselineSum: sum(baselineValues),
    },
    errors: { n: errorSigns.length, sum: sum(errorSigns), logs: bettingBlockLogs(errorSigns, 0.5), candidateSum: candidateErrors, baselineSum: baselineErrors },
    latency: {
      n: latencySigns.length,
      sum: sum(latencySigns),
      // "more than (1 + minRelativeIncrease) times slower on more than half of the requests"
      logs: bettingBlockLogs(latencySigns, 0.5),
      candidateSum: candidateLatency,
      baselineSum: baselineLatency,
    },
  };
}

function moments(values: Float64Array, thresholds: number[] | null): MomentCounts {
  const above = (thresholds ?? []).map(() => 0);
  let total = 0;
  for (const v of values) {
    total += v;
    if (thresholds) for (let j = 0; j < thresholds.length; j++) if (v > thresholds[j]!) above[j]!++;
  }
  return { n: values.length, sum: total, above };
}

function finite(values: ArrayLike<number>): Float64Array {
  const out = new Float64Array(values.length);
  let n = 0;
  for (let i = 0; i < values.length; i++) if (Number.isFinite(values[i]!)) out[n++] = values[i]!;
  return out.subarray(0, n);
}

/** Quantiles by linear interpolation between order statistics (numpy's default). */
export function quantiles(values: ArrayLike<number>, probabilities: readonly number[]): number[] {
  const sorted = Float64Array.from(values).sort();
  if (sorted.length === 0) return probabilities.map(() => Number.NaN);
  return probabilities.map((p) => {
    const position = p * (sorted.length - 1);
    const lower = Math.floor(position);
    const upper = Math.min(sorted.length - 1, lower + 1);
    return sorted[lower]! + (sorted[upper]! - sorted[lower]!) * (position - lower);
  });
}

function sum(values: readonly number[]): number {
  let total = 0;
  for (const v of values) total += v;
  return total;
}
