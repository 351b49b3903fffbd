/**
 * `npm run bench:canary`: three canary judges on identical request streams.
 *
 *  - driftline:    the judge of core/canary/ (sequential e-value tests, alpha 0.01 over the canary),
 *                  analysing every `analysisIntervalSeconds` — the workflow's default, read from the
 *                  plan schema, not chosen here. An always-valid test may look as often as it likes;
 *  - threshold:    Argo Rollouts / Flagger kind: every minute, the candidate's success rate and p99
 *                  latency are checked against fixed limits; rollback after `failureLimit` failed checks;
 *  - mann-whitney: Kayenta kind: every minute, the per-minute error-rate and mean-latency series of
 *                  candidate and baseline since the start are compared with a one-sided Mann-Whitney U
 *                  test; a metric classified "high" fails the canary (score below the marginal 75).
 *
 * One simulator draws every request of a canary (variant by weight, error, lognormal latency) for a
 * 5 → 25 → 50 → 100 % rollout of 5 minutes per step. The peers read one-minute intervals (their
 * documentation's interval); Driftline reads the same requests in windows of its default analysis
 * interval. Healthy canaries: candidate = baseline (1% errors, median 80 ms). Regressed: errors
 * 1% → 2%, or latency +30%. Peers run twice: configured like their documentation's examples, and
 * tuned — a grid search on separate tuning streams for the configuration that serves the fewest bad
 * requests with at most 1% false rollbacks on healthy tuning canaries (per traffic level, which
 * favours the peers).
 *
 * Reference rows, not judges one would deploy:
 *  - "driftline v1 (60 s)": the judge as it was before the ordinal latency test, at the old 60 s default;
 *  - "oracle SPRT": knows the true baseline error rate, latency distribution and the regression's size,
 *    and stops at the first request where a likelihood-ratio test at alpha 0.01 crosses (even in the
 *    100% step). By Wald's optimality of the SPRT no valid judge serves markedly fewer bad requests on
 *    average, so its reduction bounds what any judge can reach against a peer;
 *  - "oracle (concurrent)": the same, but comparing the arms only while both serve (each error is the
 *    candidate's with probability = its traffic share under "healthy"): the bound for judges that,
 *    like Driftline's, do not assume the baseline's error rate stays put between windows.
 * The bad-request target is judged per traffic level; the oracles' reductions say whether it is
 * reachable there at all.
 * Prints JSON on stdout and a table on stderr.
 *
 *   npm run bench:canary -- [--canaries 1000] [--tuning 400] [--levels 2,10,50] [--seed 7]
 */
import { canaryPlanSchema, judgeSettingsSchema, type JudgeSettings } from '../../core/canary.ts';
import { createJudge, judgeThresholds, observeWindow, regression, type JudgeVersion } from '../../core/canary/judge.ts';
import { summariseWindow } from '../../core/canary/summary.ts';

const STEPS = [5, 25, 50, 100];
const BAKE_MINUTES = 5;
const BASE_ERROR = 0.01;
const MEDIAN_MS = 80;
const SIGMA = 0.6;
const MINUTES = STEPS.length * BAKE_MINUTES;
const PEER_INTERVAL_SECONDS = 60;
/** The workflow's default analysis interval: what a canary started without one uses. */
const DRIFTLINE_INTERVAL_SECONDS = canaryPlanSchema.parse({ steps: [{ weight: 100 }] }).analysisIntervalSeconds;
const ALPHA = 0.01;
const REGRESSED_ERROR = 2 * BASE_ERROR;
const REGRESSED_LATENCY = 1.3;

type Scenario = 'healthy' | 'errors' | 'latency';

/** One minute of the peers' view. */
interface Interval {
  weight: number;
  nC: number;
  eC: number;
  nB: number;
  eB: number;
  cMean: number;
  bMean: number;
  cP99: number;
}

interface Verdict {
  rolledBackAt: number | null;
  /** Candidate requests served until the rollback (all of them when there was none). */
  candidateRequests: number;
}

/** One simulated canary: the peers' minutes and the verdicts of the judges that ran on its requests. */
interface Canary {
  minutes: Interval[];
  inline: Record<string, Verdict>;
}

// --- random numbers --------------------------------------------------------------------------

function rng(seed: number): () => number {
  let a = seed >>> 0 || 1;
  let b = (seed * 2654435761) >>> 0 || 7;
  return () => {
    // xorshift64-ish on two 32-bit words, good enough and fast
    let t = a ^ (a << 11);
    a = b;
    b = (b ^ (b >>> 19) ^ (t ^ (t >>> 8))) >>> 0;
    t = b;
    return (t >>> 0) / 4294967296;
  };
}

function poisson(random: () => number, lambda: number): number {
  if (lambda > 50) return Math.max(0, Math.round(lambda + Math.sqrt(lambda) * normal(random)));
  const limit = Math.exp(-lambda);
  let k = 0;
  let p = random();
  while (p > limit) {
    k++;
    p *= random();
  }
  return k;
}

let spare: number | null = null;
function normal(random: () => number): number {
  if (spare !== null) {
    const v = spare;
    spare = null;
    return v;
  }
  const u = random() || 1e-12;
  const v = random();
  const r = Math.sqrt(-2 * Math.log(u));
  spare = r * Math.sin(2 * Math.PI * v);
  return r * Math.cos(2 * Math.PI * v);
}

// --- the simulator ---------------------------------------------------------------------------

interface InlineJudge {
  name: string;
  version: JudgeVersion;
  intervalSeconds: number;
  settings: JudgeSettings;
}

const driftlineSettings = judgeSettingsSchema.parse({ alpha: ALPHA, predictions: { enabled: false } });
const INLINE_JUDGES: InlineJudge[] = [
  { name: 'driftline', version: 2, intervalSeconds: DRIFTLINE_INTERVAL_SECONDS, settings: driftlineSettings },
  { name: 'driftline v1 (60 s)', version: 1, intervalSeconds: 60, settings: driftlineSettings },
];

/** Requests of one scenario, drawn window by window; every judge sees the same requests. */
function simulate(random: () => number, rps: number, scenario: Scenario, judges: InlineJudge[]): Canary {
  const candidateError = scenario === 'errors' ? REGRESSED_ERROR : BASE_ERROR;
  const candidateFactor = scenario === 'latency' ? REGRESSED_LATENCY : 1;
  // the finest grain every judge's interval is a multiple of
  const grain = judges.reduce((g, j) => gcd(g, j.intervalSeconds), PEER_INTERVAL_SECONDS);
  const running = judges.map((judge) => ({ judge, state: createJudge(judge.settings, null, judge.version), buffer: emptyRaw(), verdict: null as Verdict | null }));
  const oracle = newOracle();
  const concurrent = newOracle();
  const minutes: Interval[] = [];
  let served = 0;
  for (let minute = 0; minute < MINUTES; minute++) {
    const weight = STEPS[Math.floor(minute / BAKE_MINUTES)]!;
    const cLat: number[] = [];
    const bLat: number[] = [];
    let eC = 0;
    let eB = 0;
    for (let second = 0; second < PEER_INTERVAL_SECONDS; second += grain) {
      const n = poisson(random, rps * grain);
      const slice = emptyRaw();
      for (let r = 0; r < n; r++) {
        const toCandidate = random() * 100 < weight;
        const z = normal(random);
        const latency = MEDIAN_MS * Math.exp(SIGMA * z) * (toCandidate ? candidateFactor : 1);
        const arm = toCandidate ? slice.candidate : slice.baseline;
        const error = random() < (toCandidate ? candidateError : BASE_ERROR);
        arm.latencyMs.push(latency);
        arm.requests++;
        if (error) arm.errors++;
        if (weight < 100) concurrentObserve(concurrent, toCandidate, error, Math.log(latency / MEDIAN_MS) / SIGMA, weight / 100, served + (toCandidate ? 1 : 0));
        if (toCandidate) {
          served++;
          cLat.push(latency);
          if (error) eC++;
          oracleObserve(oracle, error, Math.log(latency / MEDIAN_MS) / SIGMA, served);
        } else {
          bLat.push(latency);
          if (error) eB++;
        }
      }
      const elapsed = minute * PEER_INTERVAL_SECONDS + second + grain;
      for (const run of running) {
        if (run.verdict) continue;
        append(run.buffer, slice);
        if (elapsed % run.judge.intervalSeconds !== 0) continue;
        const summary = summariseWindow(run.buffer, judgeThresholds(run.state), run.judge.settings, null);
        run.state = observeWindow(run.state, summary, run.judge.settings);
        run.buffer = emptyRaw();
        if (regression(run.state)) run.verdict = { rolledBackAt: elapsed, candidateRequests: served };
      }
    }
    const sortedC = Float64Array.from(cLat).sort();
    minutes.push({
      weight,
      nC: cLat.length,
      eC,
      nB: bLat.length,
      eB,
      cMean: mean(cLat),
      bMean: mean(bLat),
      cP99: sortedC.length ? sortedC[Math.min(sortedC.length - 1, Math.floor(0.99 * sortedC.length))]! : Number.NaN,
    });
  }
  const inline: Record<string, Verdict> = {};
  for (const run of running) inline[run.judge.name] = run.verdict ?? { rolledBackAt: null, candidateRequests: served };
  if (judges.length) {
    for (const [name, o] of [['oracle SPRT', oracle], ['oracle (concurrent)', concurrent]] as const) {
      inline[name] = o.crossedAt === null ? { rolledBackAt: null, candidateRequests: served } : { rolledBackAt: o.crossedAt, candidateRequests: o.crossedAt };
    }
  }
  return { minutes, inline };
}

interface RawArm {
  requests: number;
  errors: number;
  latencyMs: number[];
  predictions: number[];
}

function emptyRaw(): { candidate: RawArm; baseline: RawArm; shadow: null } {
  const arm = (): RawArm => ({ requests: 0, errors: 0, latencyMs: [], predictions: [] });
  return { candidate: arm(), baseline: arm(), shadow: null };
}

function append(into: ReturnType<typeof emptyRaw>, from: ReturnType<typeof emptyRaw>): void {
  for (const arm of ['candidate', 'baseline'] as const) {
    into[arm].requests += from[arm].requests;
    into[arm].errors += from[arm].errors;
    for (const v of from[arm].latencyMs) into[arm].latencyMs.push(v);
  }
}

/**
 * The oracle: likelihood ratios of the two regressions against "healthy", with every parameter
 * known, on the candidate's requests one by one; it stops when their average reaches 1/alpha (an
 * average of likelihood ratios is a test martingale under "healthy", so Ville's bound holds).
 * `crossedAt` counts candidate requests served (its rollback is instantaneous).
 */
interface Oracle {
  logErrors: number;
  logLatency: number;
  crossedAt: number | null;
}

function newOracle(): Oracle {
  return { logErrors: 0, logLatency: 0, crossedAt: null };
}

const ORACLE_SHIFT = Math.log(REGRESSED_LATENCY) / SIGMA;
function oracleObserve(oracle: Oracle, error: boolean, standardLogLatency: number, served: number): void {
  if (oracle.crossedAt !== null) return;
  oracle.logErrors += error ? Math.log(REGRESSED_ERROR / BASE_ERROR) : Math.log((1 - REGRESSED_ERROR) / (1 - BASE_ERROR));
  oracle.logLatency += ORACLE_SHIFT * standardLogLatency - (ORACLE_SHIFT * ORACLE_SHIFT) / 2;
  const max = Math.max(oracle.logErrors, oracle.logLatency);
  const logMean = max + Math.log((Math.exp(oracle.logErrors - max) + Math.exp(oracle.logLatency - max)) / 2);
  if (logMean >= Math.log(1 / ALPHA)) oracle.crossedAt = served;
}

/**
 * The concurrent oracle: like the oracle, but it may only compare the arms at the same time (as
 * every judge here that must not assume the baseline's error rate stays put): each error is, under
 * "healthy", the candidate's with probability w (its traffic share), under the regression with
 * 2w / (2w + 1 − w). Latency as the oracle's (its distribution is learnt fast from the baseline).
 * Nothing is learnt in the 100% step. `rolledBackAt` is again in candidate requests.
 */
function concurrentObserve(oracle: Oracle, toCandidate: boolean, error: boolean, standardLogLatency: number, w: number, served: number): void {
  if (oracle.crossedAt !== null) return;
  if (error) {
    const ratio = REGRESSED_ERROR / BASE_ERROR;
    const q1 = (ratio * w) / (ratio * w + 1 - w);
    oracle.logErrors += toCandidate ? Math.log(q1 / w) : Math.log((1 - q1) / (1 - w));
  }
  if (toCandidate) oracle.logLatency += ORACLE_SHIFT * standardLogLatency - (ORACLE_SHIFT * ORACLE_SHIFT) / 2;
  const max = Math.max(oracle.logErrors, oracle.logLatency);
  const logMean = max + Math.log((Math.exp(oracle.logErrors - max) + Math.exp(oracle.logLatency - max)) / 2);
  if (logMean >= Math.log(1 / ALPHA)) oracle.crossedAt = served;
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

// --- the peers -------------------------------------------------------------------------------

function served(intervals: Interval[], upTo: number): number {
  let total = 0;
  for (let i = 0; i <= upTo && i < intervals.length; i++) total += intervals[i]!.nC;
  return total;
}

function verdict(intervals: Interval[], rolledBackAt: number | null): Verdict {
  return { rolledBackAt: rolledBackAt === null ? null : (rolledBackAt + 1) * PEER_INTERVAL_SECONDS, candidateRequests: served(intervals, rolledBackAt ?? intervals.length - 1) };
}

interface ThresholdParams {
  minSuccess: number;
  maxP99Ms: number;
  failureLimit: number;
}

function threshold(intervals: Interval[], p: ThresholdParams): Verdict {
  let failures = 0;
  for (let i = 0; i < intervals.length; i++) {
    const x = intervals[i]!;
    if (x.nC === 0) continue; // no measurement: inconclusive
    if (1 - x.eC / x.nC < p.minSuccess || x.cP99 > p.maxP99Ms) failures++;
    if (failures >= p.failureLimit) return verdict(intervals, i);
  }
  return verdict(intervals, null);
}

interface MannWhitneyParams {
  /** One-sided level (1 − confidence). */
  level: number;
  /** The candidate's values are divided by this before the test: an allowed increase. */
  allowedIncrease: number;
  minPoints: number;
}

function mannWhitney(intervals: Interval[], p: MannWhitneyParams): Verdict {
  const cErr: number[] = [];
  const bErr: number[] = [];
  const cLat: number[] = [];
  const bLat: number[] = [];
  for (let i = 0; i < intervals.length; i++) {
    const x = intervals[i]!;
    if (x.nC > 0 && x.nB > 0) {
      cErr.push(x.eC / x.nC / p.allowedIncrease);
      bErr.push(x.eB / x.nB);
      cLat.push(x.cMean / p.allowedIncrease);
      bLat.push(x.bMean);
    }
    if (cErr.length >= p.minPoints && (mannWhitneyGreater(cErr, bErr) < p.level || mannWhitneyGreater(cLat, bLat) < p.level)) return verdict(intervals, i);
  }
  return verdict(intervals, null);
}

/** One-sided p-value that x is stochastically greater than y (normal approximation, tie and continuity corrections). */
export function mannWhitneyGreater(x: readonly number[], y: readonly number[]): number {
  const n1 = x.length;
  const n2 = y.length;
  const all = [...x.map((v) => ({ v, g: 0 })), ...y.map((v) => ({ v, g: 1 }))].sort((a, b) => a.v - b.v);
  let rankSumX = 0;
  let tieTerm = 0;
  for (let i = 0; i < all.length; ) {
    let j = i;
    while (j + 1 < all.length && all[j + 1]!.v === all[i]!.v) j++;
    const rank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) if (all[k]!.g === 0) rankSumX += rank;
    const t = j - i + 1;
    tieTerm += t * t * t - t;
    i = j + 1;
  }
  const u = rankSumX - (n1 * (n1 + 1)) / 2;
  const n = n1 + n2;
  const variance = ((n1 * n2) / 12) * (n + 1 - tieTerm / (n * (n - 1)));
  if (variance <= 0) return 1;
  const z = (u - (n1 * n2) / 2 - 0.5) / Math.sqrt(variance);
  return 0.5 * erfc(z / Math.SQRT2);
}

function erfc(x: number): number {
  // Numerical Recipes' erfc (relative error < 1.2e-7)
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r = t * Math.exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
  return x >= 0 ? r : 2 - r;
}

// --- running and tuning ----------------------------------------------------------------------

interface Streams {
  healthy: Canary[];
  errors: Canary[];
  latency: Canary[];
}

function streams(seed: number, rps: number, count: number, judges: InlineJudge[]): Streams {
  const random = rng(seed);
  const make = (scenario: Scenario) => Array.from({ length: count }, () => simulate(random, rps, scenario, judges));
  return { healthy: make('healthy'), errors: make('errors'), latency: make('latency') };
}

interface Score {
  falseRollbackRate: number;
  promoteMinutes: number | null;
  errors: Regressed;
  latency: Regressed;
  /** Mean of the two regression kinds' mean bad requests. */
  badRequests: number;
}

interface Regressed {
  detectionRate: number;
  /** Mean candidate requests served by a regressed canary before its rollback (a missed one counts all it served). */
  meanBadRequests: number;
  medianMinutesToRollback: number | null;
}

type Judge = (canary: Canary) => Verdict;

function score(judge: Judge, data: Streams): Score {
  const healthy = data.healthy.map(judge);
  const promoted = healthy.filter((v) => v.rolledBackAt === null);
  const regressed = (runs: Canary[]): Regressed => {
    const verdicts = runs.map(judge);
    const detected = verdicts.filter((v) => v.rolledBackAt !== null).map((v) => v.rolledBackAt! / 60).sort((a, b) => a - b);
    return {
      detectionRate: round(detected.length / verdicts.length),
      meanBadRequests: round(verdicts.reduce((n, v) => n + v.candidateRequests, 0) / verdicts.length),
      medianMinutesToRollback: detected.length ? round(detected[Math.floor(detected.length / 2)]!) : null,
    };
  };
  const errors = regressed(data.errors);
  const latency = regressed(data.latency);
  return {
    falseRollbackRate: round(1 - promoted.length / healthy.length),
    // every judge promotes when the last step's bake ends without a rollback
    promoteMinutes: promoted.length ? MINUTES : null,
    errors,
    latency,
    badRequests: round((errors.meanBadRequests + latency.meanBadRequests) / 2),
  };
}

function tune<P>(grid: P[], judge: (p: P) => Judge, data: Streams): { params: P; tuning: Score; searched: number } {
  let best: { params: P; tuning: Score } | null = null;
  for (const params of grid) {
    const s = score(judge(params), data);
    if (s.falseRollbackRate > 0.01) continue;
    if (!best || s.badRequests < best.tuning.badRequests) best = { params, tuning: s };
  }
  if (!best) throw new Error('no configuration in the grid keeps false rollbacks at or under 1%');
  return { ...best, searched: grid.length };
}

function thresholdGrid(): ThresholdParams[] {
  const p99 = MEDIAN_MS * Math.exp(2.3263 * SIGMA);
  const out: ThresholdParams[] = [];
  for (const minSuccess of [0.9, 0.93, 0.95, 0.96, 0.97, 0.975, 0.98, 0.985, 0.99])
    for (const factor of [1.1, 1.2, 1.3, 1.4, 1.5, 1.75, 2, 2.5, 3, 100])
      for (const failureLimit of [1, 2, 3, 4, 5, 6, 8]) out.push({ minSuccess, maxP99Ms: Math.round(p99 * factor), failureLimit });
  return out;
}

function mannWhitneyGrid(): MannWhitneyParams[] {
  const out: MannWhitneyParams[] = [];
  for (const level of [0.05, 0.02, 0.01, 0.005, 0.002, 0.001, 0.0005, 0.0002, 0.0001])
    for (const allowedIncrease of [1, 1.05, 1.1, 1.2])
      for (const minPoints of [3, 4, 5, 8]) out.push({ level, allowedIncrease, minPoints });
  return out;
}

function mean(values: readonly number[]): number {
  let sum = 0;
  for (const v of values) sum += v;
  return values.length ? sum / values.length : Number.NaN;
}

function round(value: number): number {
  return Number(value.toPrecision(4));
}

function argument(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}

async function main(): Promise<void> {
  const canaries = Number(argument('canaries', '1000'));
  const tuningCount = Number(argument('tuning', '400'));
  const levels = argument('levels', '2,10,50').split(',').map(Number);
  const seed = Number(argument('seed', '7'));
  const started = performance.now();
  // documentation examples: Flagger's canary analysis (request-success-rate ≥ 99%, request-duration
  // p99 ≤ 500 ms, threshold 5 failed checks); Kayenta's Mann-Whitney classifier at 95% confidence with
  // no effect-size allowance, judged every interval.
  const thresholdDocs: ThresholdParams = { minSuccess: 0.99, maxP99Ms: 500, failureLimit: 5 };
  const mannWhitneyDocs: MannWhitneyParams = { level: 0.05, allowedIncrease: 1, minPoints: 3 };
  const results = [];
  for (const [index, rps] of levels.entries()) {
    const test = streams(seed * 1000 + index, rps, canaries, INLINE_JUDGES);
    const tuning = streams(seed * 1000 + 500 + index, rps, tuningCount, []);
    const tunedThreshold = tune(thresholdGrid(), (p) => (c) => threshold(c.minutes, p), tuning);
    const tunedMannWhitney = tune(mannWhitneyGrid(), (p) => (c) => mannWhitney(c.minutes, p), tuning);
    const inline = (name: string): Judge => (c) => c.inline[name]!;
    const judges: Record<string, Score> = {
      driftline: score(inline('driftline'), test),
      'threshold (docs)': score((c) => threshold(c.minutes, thresholdDocs), test),
      'threshold (tuned)': score((c) => threshold(c.minutes, tunedThreshold.params), test),
      'mann-whitney (docs)': score((c) => mannWhitney(c.minutes, mannWhitneyDocs), test),
      'mann-whitney (tuned)': score((c) => mannWhitney(c.minutes, tunedMannWhitney.params), test),
      'driftline v1 (60 s)': score(inline('driftline v1 (60 s)'), test),
      'oracle SPRT': score(inline('oracle SPRT'), test),
      'oracle (concurrent)': score(inline('oracle (concurrent)'), test),
    };
    const reduction = (who: Score, peer: Score) => round(1 - who.badRequests / peer.badRequests);
    const versus = (who: Score) => ({ threshold: reduction(who, judges['threshold (tuned)']!), mannWhitney: reduction(who, judges['mann-whitney (tuned)']!) });
    results.push({
      requestsPerSecond: rps,
      judges,
      tunedParameters: {
        threshold: { ...tunedThreshold.params, configurationsSearched: tunedThreshold.searched, tuningFalseRollbackRate: tunedThreshold.tuning.falseRollbackRate },
        mannWhitney: { ...tunedMannWhitney.params, configurationsSearched: tunedMannWhitney.searched, tuningFalseRollbackRate: tunedMannWhitney.tuning.falseRollbackRate },
      },
      fewerBadRequestsThanTuned: versus(judges.driftline!),
      /** What the oracle reaches against the same peers: no valid judge can be expected to do markedly better. */
      oracleFewerBadRequestsThanTuned: versus(judges['oracle SPRT']!),
      concurrentOracleFewerBadRequestsThanTuned: versus(judges['oracle (concurrent)']!),
    });
  }
  const worstReduction = Math.min(...results.flatMap((r) => [r.fewerBadRequestsThanTuned.threshold, r.fewerBadRequestsThanTuned.mannWhitney]));
  const worstFalseRollbacks = Math.max(...results.map((r) => r.judges.driftline!.falseRollbackRate));
  const promotionNoSlower = results.every((r) =>
    ['threshold (tuned)', 'mann-whitney (tuned)'].every((peer) => (r.judges.driftline!.promoteMinutes ?? Infinity) <= (r.judges[peer]!.promoteMinutes ?? Infinity)),
  );
  const perLevel = results.map((r) => {
    const worst = Math.min(r.fewerBadRequestsThanTuned.threshold, r.fewerBadRequestsThanTuned.mannWhitney);
    const oracleWorst = Math.min(r.oracleFewerBadRequestsThanTuned.threshold, r.oracleFewerBadRequestsThanTuned.mannWhitney);
    const concurrentWorst = Math.min(r.concurrentOracleFewerBadRequestsThanTuned.threshold, r.concurrentOracleFewerBadRequestsThanTuned.mannWhitney);
    return {
      requestsPerSecond: r.requestsPerSecond,
      worstReduction: worst,
      met: worst >= 0.4,
      oracleWorstReduction: oracleWorst,
      reachableByAnyValidJudge: oracleWorst >= 0.4,
      concurrentOracleWorstReduction: concurrentWorst,
      reachableByAConcurrentJudge: concurrentWorst >= 0.4,
    };
  });
  const report = {
    benchmark: 'canary judges',
    setup: {
      canariesPerScenario: canaries,
      tuningCanariesPerScenario: tuningCount,
      scenarios: { healthy: 'errors 1%, latency lognormal median 80 ms σ 0.6', errors: 'candidate errors 2%', latency: 'candidate latency ×1.3' },
      rollout: `${STEPS.join(' → ')} %, ${BAKE_MINUTES} minutes per step`,
      cadence: {
        driftlineSeconds: DRIFTLINE_INTERVAL_SECONDS,
        driftlineSource: 'the workflow default (canaryPlanSchema analysisIntervalSeconds)',
        peersSeconds: PEER_INTERVAL_SECONDS,
        peersSource: "the peers' documented analysis interval (Flagger interval 1m, Kayenta 1-minute intervals)",
      },
      driftline: { alpha: driftlineSettings.alpha, tests: ['error-rate', 'latency'], latencyTolerance: driftlineSettings.latency.tolerance },
      docsConfigurations: { threshold: thresholdDocs, mannWhitney: mannWhitneyDocs },
      seed,
    },
    levels: results,
    targets: {
      driftlineFalseRollbacksAtMost1Percent: { worst: worstFalseRollbacks, met: worstFalseRollbacks <= 0.01 },
      atLeast40PercentFewerBadRequestsThanTunedPeers: { worst: worstReduction, met: worstReduction >= 0.4, perLevel },
      promotionNoSlowerThanTunedPeers: { met: promotionNoSlower },
    },
    seconds: round((performance.now() - started) / 1000),
  };
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  process.stderr.write(`\ndriftline analyses every ${DRIFTLINE_INTERVAL_SECONDS}s (the workflow's default); the peers every ${PEER_INTERVAL_SECONDS}s\n`);
  for (const r of results) {
    process.stderr.write(`\n${r.requestsPerSecond} requests/s\n`);
    process.stderr.write(`  ${'judge'.padEnd(22)} ${'false rollbacks'.padStart(15)} ${'bad req (errors)'.padStart(17)} ${'bad req (latency)'.padStart(18)} ${'mean'.padStart(6)} ${'detected e/l'.padStart(13)} ${'promote min'.padStart(12)}\n`);
    for (const [name, s] of Object.entries(r.judges)) {
      process.stderr.write(
        `  ${name.padEnd(22)} ${`${(s.falseRollbackRate * 100).toFixed(1)}%`.padStart(15)} ${String(Math.round(s.errors.meanBadRequests)).padStart(17)} ${String(Math.round(s.latency.meanBadRequests)).padStart(18)} ${String(Math.round(s.badRequests)).padStart(6)} ${`${Math.round(s.errors.detectionRate * 100)}/${Math.round(s.latency.detectionRate * 100)}%`.padStart(13)} ${String(s.promoteMinutes ?? '-').padStart(12)}\n`,
      );
    }
    const pct = (x: number) => `${Math.round(x * 100)}%`;
    process.stderr.write(`  driftline serves ${pct(r.fewerBadRequestsThanTuned.threshold)} fewer bad requests than the tuned threshold judge, ${pct(r.fewerBadRequestsThanTuned.mannWhitney)} fewer than the tuned Mann-Whitney judge\n`);
    process.stderr.write(
      `  (the oracle: ${pct(r.oracleFewerBadRequestsThanTuned.threshold)} and ${pct(r.oracleFewerBadRequestsThanTuned.mannWhitney)}; the concurrent oracle: ${pct(r.concurrentOracleFewerBadRequestsThanTuned.threshold)} and ${pct(r.concurrentOracleFewerBadRequestsThanTuned.mannWhitney)})\n`,
    );
  }
  process.stderr.write('\ntargets:\n');
  process.stderr.write(`  driftline false rollbacks ≤ 1%: worst ${(worstFalseRollbacks * 100).toFixed(1)}% → ${report.targets.driftlineFalseRollbacksAtMost1Percent.met ? 'met' : 'NOT met'}\n`);
  for (const l of perLevel) {
    process.stderr.write(
      `  ≥ 40% fewer bad requests than the tuned peers at ${l.requestsPerSecond} req/s: ${Math.round(l.worstReduction * 100)}% → ${l.met ? 'met' : 'NOT met'}` +
        ` (oracle: ${Math.round(l.oracleWorstReduction * 100)}%${l.reachableByAnyValidJudge ? '' : ', so no valid judge reaches 40% here'};` +
        ` concurrent oracle: ${Math.round(l.concurrentOracleWorstReduction * 100)}%${l.reachableByAConcurrentJudge ? '' : ', so no judge comparing the arms at the same time reaches 40% here'})\n`,
    );
  }
  process.stderr.write(`  promotion no slower than the tuned peers: ${promotionNoSlower ? 'met' : 'NOT met'}\n`);
  const met = Object.values(report.targets).every((t) => t.met);
  process.stderr.write(`\nall targets ${met ? 'met' : 'NOT met'} (${report.seconds}s)\n`);
}

await main();
