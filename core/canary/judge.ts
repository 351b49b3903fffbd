/**
 * The canary judge: sequential tests of candidate against baseline whose false-alarm rate holds
 * however often they look, and the decision at each analysis: continue, pass the step, or fail.
 *
 * ## Tests
 * Shadow phase (the same requests answered by both; paired, by betting, see betting.ts):
 *  - `shadow-divergence`: mean divergence of the predictions ≤ plan.shadow.maxDivergence;
 *  - `shadow-error-rate`: among requests where exactly one model failed, the candidate is the one
 *    at most half the time (a paired sign test);
 *  - `shadow-latency`: the candidate takes more than (1 + latency.minRelativeIncrease) times the
 *    baseline's time on the same request at most half of the time (the mirror is sent a moment after
 *    the primary, so a bare "slower" would catch that delay rather than the model).
 * Traffic steps (different requests on each arm; two-sample block e-values, see bernoulli.ts):
 *  - `error-rate`: candidate error rate ≤ baseline error rate;
 *  - `latency` (judge v2): the candidate's latency is stochastically at most (1 + tolerance) times
 *    the baseline's, on latencies binned by the baseline's deciles (fixed from the first window
 *    with enough baseline traffic); an ordinal block e-value, see ordinal.ts. Both arms are compared
 *    within the same window, so load that slows both alike cancels out;
 *  - `latency` (judge v1, canaries started before v2): for each baseline latency quantile q_j, the
 *    share of candidate requests slower than q_j ≤ the baseline's share; the e-process is the
 *    equal-weight mixture over the q_j (a mixture of e-processes is one);
 *  - `predictions`: the share of predictions above each baseline prediction quantile moves neither
 *    up nor down (mixture over quantiles × both directions);
 *  - `custom:<name>`: a user rate (events / trials) is not worse in the configured direction.
 *
 * ## The false-rollback bound
 * Each test is an e-process E^(i) (a nonnegative supermartingale starting at 1 under its null). With
 * K enabled tests the judge fails the canary the first time any E^(i) reaches K/α. By Ville's
 * inequality each crosses with probability ≤ α/K, so by the union bound
 *
 *     P(a candidate no worse than the baseline is ever failed) ≤ α,
 *
 * over the whole canary, for any number of analyses at any (data-dependent) times, any step
 * lengths, pauses and extensions. Too little traffic only delays a verdict: a step passes only after
 * its bake time *and* its minimum traffic, and nothing fails without evidence.
 * Assumptions: requests are independent given their variant (sticky assignment by request key is
 * fine when the keys' outcomes are independent), and assignment does not depend on outcomes.
 * The 100% step has no baseline traffic to compare with: it only bakes. (Comparing it with the
 * baseline's earlier windows would assume that nothing else changed meanwhile — time of day, load,
 * upstream data — which is exactly what a concurrent comparison is there to avoid.)
 *
 * ## Versions
 * `JudgeState.version` is fixed when a canary starts and carried across continue-as-new, so a
 * running canary keeps the judge it started with. v1: latency by the share above two quantiles.
 * v2: the ordinal latency test with a tolerance. The workflow picks v2 behind `patched()`.
 */
import type { CustomMetric, JudgeSettings, MetricStatistics, ShadowPhase } from '../canary.ts';
import { flipped, logMeanExp, newBernoulliProcess, updateBernoulli, type BernoulliCounts, type BernoulliProcess } from './bernoulli.ts';
import { newBettingWealth } from './betting.ts';
import { binCounts, LATENCY_BIN_PROBABILITIES, newOrdinalProcess, updateOrdinal, type OrdinalProcess } from './ordinal.ts';
import type { JudgeThresholds, PairedTestWindow, WindowSummary } from './summary.ts';

interface Sums {
  nC: number;
  sumC: number;
  nB: number;
  sumB: number;
}

interface PairedProcess {
  wealth: number[];
  maxLogE: number;
  n: number;
  sum: number;
  candidateSum: number;
  baselineSum: number;
  pairs: number;
}

/** The judge's whole state: plain JSON, kept in workflow state and carried across continue-as-new. */
export interface JudgeState {
  /** Absent in states created before versions existed: those are v1. */
  version?: JudgeVersion;
  alpha: number;
  tests: string[];
  errorRate: BernoulliProcess | null;
  /** Judge v1's latency test. */
  latency: { components: BernoulliProcess[]; thresholds: number[] | null; sums: Sums } | null;
  /** Judge v2's latency test: bin edges are the baseline's deciles, the candidate's scaled by `scale`. */
  latencyBins?: { process: OrdinalProcess; thresholds: number[] | null; scale: number; sums: Sums } | null;
  /** Components: one "more above q_j" and one "fewer above q_j" per quantile, in that order. */
  predictions: { components: BernoulliProcess[]; thresholds: number[] | null; sums: Sums } | null;
  custom: Array<{ metric: CustomMetric; process: BernoulliProcess }>;
  shadow: { divergence: PairedProcess; errors: PairedProcess; latency: PairedProcess; limit: number } | null;
}

export type JudgeVersion = 1 | 2;
export const LATEST_JUDGE: JudgeVersion = 2;

export function createJudge(settings: JudgeSettings, shadow: ShadowPhase | null | undefined, version: JudgeVersion = LATEST_JUDGE): JudgeState {
  const latencyOn = settings.latency.enabled;
  const state: JudgeState = {
    ...(version === 1 ? {} : { version }),
    alpha: settings.alpha,
    tests: [],
    errorRate: settings.errorRate.enabled ? newBernoulliProcess() : null,
    latency: latencyOn && version === 1
      ? { components: settings.latency.quantiles.map(() => newBernoulliProcess()), thresholds: null, sums: emptySums() }
      : null,
    ...(version === 1
      ? {}
      : {
          latencyBins: latencyOn
            ? { process: newOrdinalProcess(LATENCY_BIN_PROBABILITIES.length + 1), thresholds: null, scale: 1 + settings.latency.tolerance, sums: emptySums() }
            : null,
        }),
    predictions: settings.predictions.enabled
      ? { components: [...settings.predictions.quantiles, ...settings.predictions.quantiles].map(() => newBernoulliProcess()), thresholds: null, sums: emptySums() }
      : null,
    custom: settings.custom.map((metric) => ({ metric, process: newBernoulliProcess() })),
    shadow: shadow ? { divergence: newPaired(), errors: newPaired(), latency: newPaired(), limit: shadow.maxDivergence } : null,
  };
  if (state.shadow) state.tests.push('shadow-divergence', 'shadow-error-rate', 'shadow-latency');
  if (state.errorRate) state.tests.push('error-rate');
  if (state.latency || state.latencyBins) state.tests.push('latency');
  if (state.predictions) state.tests.push('predictions');
  for (const { metric } of state.custom) state.tests.push(`custom:${metric.name}`);
  return state;
}

/** The e-value at which a test fails the canary: K / α. */
export function failThreshold(state: JudgeState): number {
  return Math.max(1, state.tests.length) / state.alpha;
}

export function judgeThresholds(state: JudgeState): JudgeThresholds {
  if (state.latencyBins) {
    return {
      latency: state.latencyBins.thresholds,
      predictions: state.predictions?.thresholds ?? null,
      latencyProbabilities: [...LATENCY_BIN_PROBABILITIES],
      candidateLatencyScale: state.latencyBins.scale,
    };
  }
  return { latency: state.latency?.thresholds ?? null, predictions: state.predictions?.thresholds ?? null };
}

/** Feeds one analysis window to every test. Returns a new state (the old one is not changed). */
export function observeWindow(previous: JudgeState, window: WindowSummary, settings: JudgeSettings): JudgeState {
  const state = structuredCloneJson(previous);
  const { candidate: c, baseline: b } = window;
  if (state.errorRate) {
    state.errorRate = updateBernoulli(state.errorRate, { nC: c.requests, kC: c.errors, nB: b.requests, kB: b.errors }, { relative: settings.errorRate.minRelativeIncrease });
  }
  if (state.latency) {
    const latency = state.latency;
    if (latency.thresholds && c.latency.above.length === latency.thresholds.length && b.latency.above.length === latency.thresholds.length) {
      latency.components = latency.components.map((process, j) =>
        updateBernoulli(process, { nC: c.latency.n, kC: c.latency.above[j]!, nB: b.latency.n, kB: b.latency.above[j]! }, { absolute: settings.latency.minShift }),
      );
    }
    addSums(latency.sums, c.latency, b.latency);
    if (!latency.thresholds && b.latencyQuantiles) latency.thresholds = b.latencyQuantiles;
  }
  if (state.latencyBins) {
    const bins = state.latencyBins;
    const edges = bins.thresholds?.length ?? 0;
    if (bins.thresholds && c.latency.above.length === edges && b.latency.above.length === edges) {
      bins.process = updateOrdinal(bins.process, binCounts(c.latency.n, c.latency.above), binCounts(b.latency.n, b.latency.above), settings.latency.minShift);
    }
    addSums(bins.sums, c.latency, b.latency);
    if (!bins.thresholds && b.latencyQuantiles?.length === LATENCY_BIN_PROBABILITIES.length) bins.thresholds = b.latencyQuantiles;
  }
  if (state.predictions) {
    const predictions = state.predictions;
    const q = predictions.thresholds?.length ?? 0;
    if (predictions.thresholds && c.predictions.above.length === q && b.predictions.above.length === q) {
      predictions.components = predictions.components.map((process, index) => {
        const j = index % q;
        const block: BernoulliCounts = { nC: c.predictions.n, kC: c.predictions.above[j]!, nB: b.predictions.n, kB: b.predictions.above[j]! };
        return updateBernoulli(process, index < q ? block : flipped(block), { absolute: settings.predictions.minShift });
      });
    }
    addSums(predictions.sums, c.predictions, b.predictions);
    if (!predictions.thresholds && b.predictionQuantiles) predictions.thresholds = b.predictionQuantiles;
  }
  for (const entry of state.custom) {
    const cc = c.custom[entry.metric.name] ?? { trials: 0, events: 0 };
    const bc = b.custom[entry.metric.name] ?? { trials: 0, events: 0 };
    const block = { nC: cc.trials, kC: cc.events, nB: bc.trials, kB: bc.events };
    entry.process = updateBernoulli(entry.process, entry.metric.worseWhen === 'higher' ? block : flipped(block), { relative: entry.metric.minRelativeChange });
  }
  if (state.shadow && window.shadow) {
    feedPaired(state.shadow.divergence, window.shadow.divergence, window.shadow.pairs);
    feedPaired(state.shadow.errors, window.shadow.errors, window.shadow.pairs);
    feedPaired(state.shadow.latency, window.shadow.latency, window.shadow.pairs);
  }
  return state;
}

/** Every test's statistics, in a stable order. */
export function metricStatistics(state: JudgeState): MetricStatistics[] {
  const threshold = failThreshold(state);
  const out: MetricStatistics[] = [];
  const stat = (
    name: string,
    logE: number,
    maxLogE: number,
    candidate: { n: number; value: number | null },
    baseline: { n: number; value: number | null },
    describes: string,
  ): MetricStatistics => {
    const eValue = Math.exp(logE);
    return {
      name,
      eValue: round(eValue),
      threshold: round(threshold),
      pValue: round(Math.min(1, Math.exp(-maxLogE))),
      candidate,
      baseline,
      describes,
      verdict: eValue >= threshold ? 'regressed' : candidate.n === 0 || baseline.n === 0 ? 'no-data' : 'ok',
    };
  };
  if (state.shadow) {
    const { divergence, errors, latency } = state.shadow;
    out.push(
      stat('shadow-divergence', logMeanExp(divergence.wealth), divergence.maxLogE, { n: divergence.n, value: ratio(divergence.sum, divergence.n) }, { n: divergence.n, value: state.shadow.limit }, 'mean divergence on mirrored requests (baseline column: the limit)'),
      stat('shadow-error-rate', logMeanExp(errors.wealth), errors.maxLogE, { n: errors.pairs, value: ratio(errors.candidateSum, errors.pairs) }, { n: errors.pairs, value: ratio(errors.baselineSum, errors.pairs) }, 'error rate on the same mirrored requests'),
      stat('shadow-latency', logMeanExp(latency.wealth), latency.maxLogE, { n: latency.pairs, value: ratio(latency.candidateSum, latency.pairs) }, { n: latency.pairs, value: ratio(latency.baselineSum, latency.pairs) }, 'mean latency ms on the same mirrored requests'),
    );
  }
  if (state.errorRate) {
    const p = state.errorRate;
    out.push(stat('error-rate', p.logE, p.maxLogE, { n: p.nC, value: ratio(p.kC, p.nC) }, { n: p.nB, value: ratio(p.kB, p.nB) }, 'error rate'));
  }
  if (state.latency) {
    const { components, sums } = state.latency;
    out.push(stat('latency', logMeanExp(components.map((c) => c.logE)), Math.max(...components.map((c) => c.maxLogE)), { n: sums.nC, value: ratio(sums.sumC, sums.nC) }, { n: sums.nB, value: ratio(sums.sumB, sums.nB) }, 'mean latency ms'));
  }
  if (state.latencyBins) {
    const { process, sums, scale } = state.latencyBins;
    const tolerance = Math.round((scale - 1) * 1000) / 10;
    const tested = tolerance > 0 ? `candidate at most ${tolerance}% slower` : 'candidate no slower';
    out.push(stat('latency', process.logE, process.maxLogE, { n: sums.nC, value: ratio(sums.sumC, sums.nC) }, { n: sums.nB, value: ratio(sums.sumB, sums.nB) }, `mean latency ms (tested by the baseline's deciles: ${tested})`));
  }
  if (state.predictions) {
    const { components, sums } = state.predictions;
    out.push(stat('predictions', logMeanExp(components.map((c) => c.logE)), Math.max(...components.map((c) => c.maxLogE)), { n: sums.nC, value: ratio(sums.sumC, sums.nC) }, { n: sums.nB, value: ratio(sums.sumB, sums.nB) }, 'mean prediction'));
  }
  for (const { metric, process } of state.custom) {
    out.push(stat(`custom:${metric.name}`, process.logE, process.maxLogE, { n: process.nC, value: ratio(metric.worseWhen === 'higher' ? process.kC : process.nC - process.kC, process.nC) }, { n: process.nB, value: ratio(metric.worseWhen === 'higher' ? process.kB : process.nB - process.kB, process.nB) }, `${metric.name} rate`));
  }
  return out;
}

/** The first test whose e-value reached the threshold, or null. */
export function regression(state: JudgeState): MetricStatistics | null {
  return metricStatistics(state).find((m) => m.verdict === 'regressed') ?? null;
}

export type Verdict = 'continue' | 'pass' | 'fail';

/**
 * The decision for the current step (or shadow phase) after an analysis. Failing needs evidence;
 * passing needs the bake time and the minimum traffic; anything short of both is "continue".
 */
export function stepVerdict(input: {
  regressed: MetricStatistics | null;
  elapsedSeconds: number;
  bakeSeconds: number;
  candidateRequests: number;
  minRequests: number;
}): { verdict: Verdict; reason: string; waitingFor: Array<'bake' | 'traffic'> } {
  if (input.regressed) {
    const m = input.regressed;
    return {
      verdict: 'fail',
      reason: `${m.name} regressed: e-value ${m.eValue} ≥ ${m.threshold} (always-valid p = ${m.pValue}); candidate ${fmt(m.candidate.value)} vs baseline ${fmt(m.baseline.value)} (${m.describes})`,
      waitingFor: [],
    };
  }
  const waitingFor: Array<'bake' | 'traffic'> = [];
  if (input.elapsedSeconds < input.bakeSeconds) waitingFor.push('bake');
  if (input.candidateRequests < input.minRequests) waitingFor.push('traffic');
  if (waitingFor.length === 0) {
    return { verdict: 'pass', reason: `baked ${Math.round(input.elapsedSeconds)}s with ${input.candidateRequests} candidate requests and no regression`, waitingFor };
  }
  const parts: string[] = [];
  if (waitingFor.includes('bake')) parts.push(`baking ${Math.round(input.elapsedSeconds)}s of ${input.bakeSeconds}s`);
  if (waitingFor.includes('traffic')) parts.push(`not enough traffic yet: ${input.candidateRequests} of ${input.minRequests} candidate requests`);
  return { verdict: 'continue', reason: parts.join('; '), waitingFor };
}

function feedPaired(process: PairedProcess, window: PairedTestWindow, pairs: number): void {
  process.wealth = process.wealth.map((w, j) => w + (window.logs[j] ?? 0));
  process.maxLogE = Math.max(process.maxLogE, logMeanExp(process.wealth));
  process.n += window.n;
  process.sum += window.sum;
  process.candidateSum += window.candidateSum;
  process.baselineSum += window.baselineSum;
  process.pairs += pairs;
}

function newPaired(): PairedProcess {
  return { wealth: newBettingWealth(), maxLogE: 0, n: 0, sum: 0, candidateSum: 0, baselineSum: 0, pairs: 0 };
}

function emptySums(): Sums {
  return { nC: 0, sumC: 0, nB: 0, sumB: 0 };
}

function addSums(sums: Sums, c: { n: number; sum: number }, b: { n: number; sum: number }): void {
  sums.nC += c.n;
  sums.sumC += c.sum;
  sums.nB += b.n;
  sums.sumB += b.sum;
}

function ratio(a: number, n: number): number | null {
  return n > 0 ? round(a / n) : null;
}

function round(value: number): number {
  if (!Number.isFinite(value)) return value > 0 ? Number.MAX_VALUE : 0;
  return Number(value.toPrecision(6));
}

function fmt(value: number | null): string {
  return value === null ? '-' : String(value);
}

function structuredCloneJson<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}
