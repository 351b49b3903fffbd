/**
 * An exact sequential two-sample test that the candidate's latency is stochastically no larger
 * than the baseline's, on latencies binned by the baseline's own deciles (an ordinal e-value).
 *
 * Why not the share above one or two quantiles (judge v1): an indicator "slower than the baseline's
 * p50" keeps only one bit per request. Ten ordered bins keep almost all of the information a
 * rank test has: for a location shift of the log-latency, a test on the share above the median
 * gains about 0.6 of the evidence per request that the full likelihood ratio gains; ten bins with
 * normal scores gain about 0.9 of it, so a slower candidate is caught on fewer requests.
 *
 * ## The block e-value
 * In one analysis window the candidate has counts C_k and the baseline counts B_k in bins
 * k = 0..K−1 (ordered by latency; bin edges fixed before the window). Pick, before the window, two
 * bin distributions a (the alternative for the candidate) and b (for the baseline) whose ratio
 * a_k / b_k rises with k, and let p0 = (nC·a + nB·b)/(nC + nB). The e-value is
 *
 *     E = Π_k (a_k / p0_k)^C_k · (b_k / p0_k)^B_k.
 *
 * Claim: E[E] ≤ 1 whenever the candidate's bin distribution θc is stochastically no larger than
 * the baseline's θb (requests independent given their variant).
 * Proof. E[E] = h_a(θc)^nC · h_b(θb)^nB with h_x(θ) = Σ_k θ_k x_k / p0_k, affine in θ. On the
 * diagonal θc = θb = θ, g(θ) = nC log h_a(θ) + nB log h_b(θ) is concave, g(p0) = 0, and its
 * derivative at p0 towards any θ of the simplex is Σ_k (θ_k − p0_k)(nC a_k + nB b_k)/p0_k =
 * (nC + nB) Σ_k (θ_k − p0_k) = 0, so g ≤ 0. Off the diagonal: a_k/p0_k = 1/(w + (1−w) b_k/a_k)
 * (w = nC/(nC+nB)) rises with k, so h_a is the expectation of a rising function of the bin and
 * θc ≤ θb (stochastically) gives h_a(θc) ≤ h_a(θb); hence E[E] ≤ h_a(θb)^nC h_b(θb)^nB ≤ 1. ∎
 * It is the multinomial case of the same k-sample construction as bernoulli.ts; with K = 2 it is
 * that test. The product of block e-values (alternatives chosen from earlier blocks only) is a
 * nonnegative supermartingale under the null, so Ville's inequality bounds the false-alarm rate
 * at any (data-dependent) number of looks, as for every test of the judge.
 *
 * A tolerance (judge setting `latency.tolerance`) is applied by binning the candidate's latencies
 * against edges (1 + tolerance) times the baseline's: the null becomes "the candidate is at most
 * that much slower", which absorbs small, real differences nobody would roll back for (e.g. two
 * model-server processes on unequally loaded cores) while keeping the bound exact.
 *
 * ## The alternatives (power, not validity)
 * b is the baseline's bin distribution from earlier windows (½ pseudo-count per bin). The
 * candidate's alternative tilts it towards slower bins: a_k ∝ b_k · exp(δ·z_k), z_k the normal
 * score of bin k under b (so a/b rises with k, as the proof needs). The e-process is an equal-weight
 * mixture of components with δ = δ0, 2δ0, 4δ0, 8δ0, where δ0 is the shift (in normal-score units)
 * that moves the share above the baseline's median by the judge's `latency.minShift`, plus a plug-in
 * component whose δ is the candidate's shrunk mean normal score so far (used above δ0 only).
 */
import { logMeanExp } from './bernoulli.ts';

/** Bin edges are the baseline's quantiles at these probabilities (deciles). */
export const LATENCY_BIN_PROBABILITIES: readonly number[] = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9];

const SHIFT_MULTIPLES = [1, 2, 4, 8];
/** Pseudo-requests at δ = 0 that the plug-in's estimate is shrunk with. */
const PLUG_IN_PRIOR = 50;

/** The running state of one ordinal e-process. Plain JSON: it lives in workflow state. */
export interface OrdinalProcess {
  /** Bin counts so far, candidate and baseline. */
  candidate: number[];
  baseline: number[];
  logE: number;
  maxLogE: number;
  /** log e-value of each component: [plug-in, fixed shifts…]. */
  components: number[];
}

export function newOrdinalProcess(bins: number): OrdinalProcess {
  return { candidate: new Array<number>(bins).fill(0), baseline: new Array<number>(bins).fill(0), logE: 0, maxLogE: 0, components: [] };
}

/**
 * Bin counts from "how many lie strictly above each edge" (edges rising): bin 0 is at or below the
 * first edge, bin K−1 above the last. The window summaries already carry these counts.
 */
export function binCounts(n: number, above: readonly number[]): number[] {
  const out: number[] = [];
  let previous = n;
  for (const count of above) {
    out.push(Math.max(0, previous - count));
    previous = count;
  }
  out.push(Math.max(0, previous));
  return out;
}

/** The shift δ0 (normal-score units) that raises the share above the baseline's median by `minShift`. */
export function smallestShift(minShift: number): number {
  return normalQuantile(0.5 + Math.min(0.49, minShift));
}

/** log E of one block for the alternatives (a, b); 0 (E = 1) when an arm is empty. */
export function ordinalBlockLogE(candidate: readonly number[], baseline: readonly number[], a: readonly number[], b: readonly number[]): number {
  const nC = sum(candidate);
  const nB = sum(baseline);
  if (nC <= 0 || nB <= 0) return 0;
  let logE = 0;
  for (let k = 0; k < a.length; k++) {
    const p0 = (nC * a[k]! + nB * b[k]!) / (nC + nB);
    if (candidate[k]! > 0) logE += candidate[k]! * Math.log(a[k]! / p0);
    if (baseline[k]! > 0) logE += baseline[k]! * Math.log(b[k]! / p0);
  }
  return logE;
}

/** The alternatives of the mixture for the next block, from the counts before it (predictable). */
export function ordinalAlternatives(state: OrdinalProcess, minShift: number): { b: number[]; shifts: Array<number | null>; a: Array<number[] | null> } {
  const bins = state.baseline.length;
  const nB = sum(state.baseline);
  const b = state.baseline.map((count) => (count + 0.5) / (nB + 0.5 * bins));
  const z = normalScores(b);
  const delta0 = smallestShift(minShift);
  // plug-in: the candidate's mean normal score, shrunk towards 0, over the scores' variance under b
  const nC = sum(state.candidate);
  const meanZ = b.reduce((s, p, k) => s + p * z[k]!, 0);
  const varZ = b.reduce((s, p, k) => s + p * (z[k]! - meanZ) ** 2, 0);
  const candidateZ = state.candidate.reduce((s, count, k) => s + count * (z[k]! - meanZ), 0);
  const plugIn = nB > 0 && varZ > 0 ? candidateZ / (nC + PLUG_IN_PRIOR) / varZ : 0;
  const shifts: Array<number | null> = [plugIn > delta0 ? plugIn : null, ...SHIFT_MULTIPLES.map((m) => (nB > 0 ? m * delta0 : null))];
  return { b, shifts, a: shifts.map((delta) => (delta === null ? null : tilt(b, z, delta))) };
}

/** Feeds one block of bin counts; every alternative comes from the state before the block. */
export function updateOrdinal(state: OrdinalProcess, candidate: readonly number[], baseline: readonly number[], minShift: number): OrdinalProcess {
  const { b, a } = ordinalAlternatives(state, minShift);
  const before = state.components.length === a.length ? state.components : a.map(() => 0);
  const components = a.map((alternative, j) => before[j]! + (alternative ? ordinalBlockLogE(candidate, baseline, alternative, b) : 0));
  const logE = logMeanExp(components);
  return {
    candidate: state.candidate.map((c, k) => c + candidate[k]!),
    baseline: state.baseline.map((c, k) => c + baseline[k]!),
    logE,
    maxLogE: Math.max(state.maxLogE, logE),
    components,
  };
}

/** a_k ∝ b_k exp(δ z_k): a rises against b bin by bin (z is increasing). */
function tilt(b: readonly number[], z: readonly number[], delta: number): number[] {
  const max = Math.max(...z.map((zk) => delta * zk));
  const weights = b.map((p, k) => p * Math.exp(delta * z[k]! - max));
  const total = sum(weights);
  return weights.map((w) => w / total);
}

/** The normal score of each bin: Φ⁻¹ of the middle of its cumulative probability under b. */
function normalScores(b: readonly number[]): number[] {
  let cumulative = 0;
  return b.map((p) => {
    const middle = cumulative + p / 2;
    cumulative += p;
    return normalQuantile(Math.min(1 - 1e-12, Math.max(1e-12, middle)));
  });
}

/** Φ⁻¹(p) by Acklam's rational approximation (relative error about 1e-9, plenty for choosing alternatives). */
export function normalQuantile(p: number): number {
  const a = [-39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716, 2.506628277459239];
  const b = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572];
  const c = [-0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const low = 0.02425;
  if (p < low) {
    const q = Math.sqrt(-2 * Math.log(p));
    return (((((c[0]! * q + c[1]!) * q + c[2]!) * q + c[3]!) * q + c[4]!) * q + c[5]!) / ((((d[0]! * q + d[1]!) * q + d[2]!) * q + d[3]!) * q + 1);
  }
  if (p > 1 - low) return -normalQuantile(1 - p);
  const q = p - 0.5;
  const r = q * q;
  return ((((((a[0]! * r + a[1]!) * r + a[2]!) * r + a[3]!) * r + a[4]!) * r + a[5]!) * q) / (((((b[0]! * r + b[1]!) * r + b[2]!) * r + b[3]!) * r + b[4]!) * r + 1);
}

function sum(values: readonly number[]): number {
  let total = 0;
  for (const v of values) total += v;
  return total;
}

