/**
 * An exact sequential two-sample test for Bernoulli rates (error rates, "slower than the
 * baseline's p90", conversions), built from block e-values.
 *
 * ## The block e-value
 * In one analysis window (a "block") the candidate served nC requests with kC events and the
 * baseline nB requests with kB events. Events are independent Bernoulli draws with rates θc and θb
 * given the counts (the router assigns requests by a hash of their key, not by their outcome).
 * Pick, *before* the block is seen, an alternative (a, b) with a > b and set
 *
 *     p0 = (nC·a + nB·b) / (nC + nB)                          (the traffic-weighted mean)
 *     E  = [a^kC (1−a)^(nC−kC) · b^kB (1−b)^(nB−kB)] / [p0^(kC+kB) (1−p0)^(nC+nB−kC−kB)]
 *
 * Claim: E_θc,θb[E] ≤ 1 whenever θc ≤ θb (the candidate is no worse).
 * Proof. The arms are independent, so E[E] = h_a(θc)^nC · h_b(θb)^nB with
 * h_x(θ) = θ·x/p0 + (1−θ)(1−x)/(1−p0), which is affine in θ. For θc = θb = θ, g(θ) = nC·log h_a(θ)
 * + nB·log h_b(θ) is concave (a sum of logs of affine functions), g(p0) = 0, and
 * g'(p0) = nC(a/p0 − (1−a)/(1−p0)) + nB(b/p0 − (1−b)/(1−p0)) = (nC+nB) − (nC+nB) = 0, so g ≤ 0:
 * E[E] ≤ 1 on the whole diagonal. Off the diagonal, a > p0 makes h_a increasing, so for θc ≤ θb,
 * h_a(θc) ≤ h_a(θb) and E[E] ≤ h_a(θb)^nC h_b(θb)^nB ≤ 1. ∎
 * (This is the k-sample construction of Turner, Ly and Grünwald, "Generic e-variables for exact
 * sequential k-sample tests that allow for optional stopping"; the proof above is self-contained.)
 *
 * ## The e-process and its false-alarm bound
 * The product M_t of the blocks' e-values, each with its alternative chosen from earlier blocks
 * only, is a nonnegative supermartingale with M_0 = 1 under the null. Ville's inequality gives
 *
 *     P(there is ANY t with M_t ≥ 1/α) ≤ α,
 *
 * however many times, and at whatever data-dependent moments, the judge looks: this is the
 * "always-valid" guarantee. Blocks of any size (including empty ones) are allowed.
 *
 * ## Choosing the alternative (power, not validity)
 * The e-process is an equal-weight mixture of components (a mixture of e-processes is one), each
 * betting on a different alternative, all relative to the baseline's rate estimated from the earlier
 * blocks, θ̂b = (kB + ½)/(nB + 1):
 *  - fixed effects: a = θ̂b·(1 + r) for r = ρ, 2ρ, 4ρ, 8ρ, 16ρ (relative) or a = θ̂b + d for
 *    d = δ, 2δ, 4δ, 8δ (absolute), b = θ̂b: the component nearest the true effect grows almost as
 *    fast as a test that knew it, from the first block on;
 *  - a plug-in: the candidate's own rate, shrunk towards θ̂b, θ̂c = (kC + m·θ̂b)/(nC + m) with
 *    m = clamp(2/θ̂b, 20, 1000) pseudo-requests, used only when it is above the smallest effect.
 * A component skips a block (E = 1, also a valid choice) while there is no baseline estimate yet.
 */

export interface BernoulliCounts {
  nC: number;
  kC: number;
  nB: number;
  kB: number;
}

/** The running state of one two-sample Bernoulli e-process. Plain JSON: it lives in workflow state. */
export interface BernoulliProcess extends BernoulliCounts {
  /** log of the mixture's e-value. */
  logE: number;
  /** Largest log e-value reached: the always-valid p-value is exp(−maxLogE). */
  maxLogE: number;
  /** log e-value of each component: [plug-in, fixed effects…]. */
  components: number[];
}

const EFFECT_MULTIPLES = { relative: [1, 2, 4, 8, 16], absolute: [1, 2, 4, 8] } as const;

export function newBernoulliProcess(): BernoulliProcess {
  return { nC: 0, kC: 0, nB: 0, kB: 0, logE: 0, maxLogE: 0, components: [] };
}

/** The fixed alternatives (a, b) of the mixture for the next block, from the baseline seen so far. */
export function fixedAlternatives(past: BernoulliCounts, minimum: MinimumEffect): Array<{ a: number; b: number } | null> {
  const multiples = 'relative' in minimum ? EFFECT_MULTIPLES.relative : EFFECT_MULTIPLES.absolute;
  if (past.nB <= 0) return multiples.map(() => null);
  const b = (past.kB + 0.5) / (past.nB + 1);
  return multiples.map((k) => {
    const a = 'relative' in minimum ? b * (1 + k * minimum.relative) : b + k * minimum.absolute;
    return a < 1 ? { a, b } : null;
  });
}

/** log E of one block for the alternative (a, b); 0 (E = 1) when there is nothing to bet on. */
export function bernoulliBlockLogE(block: BernoulliCounts, a: number, b: number): number {
  const { nC, kC, nB, kB } = block;
  if (nC <= 0 || nB <= 0 || !(a > b)) return 0;
  const p0 = (nC * a + nB * b) / (nC + nB);
  return (
    xlogy(kC, a / p0) + xlogy(nC - kC, (1 - a) / (1 - p0)) + xlogy(kB, b / p0) + xlogy(nB - kB, (1 - b) / (1 - p0))
  );
}

export type MinimumEffect = { relative: number } | { absolute: number };

/**
 * The alternative for the next block from the counts so far, or null to skip the block.
 * `minimum`: the smallest regression worth betting on, relative (error rates) or absolute (shares).
 */
export function plugInAlternative(past: BernoulliCounts, minimum: MinimumEffect): { a: number; b: number } | null {
  const thetaB = (past.kB + 0.5) / (past.nB + 1);
  const prior = Math.min(1000, Math.max(20, 2 / thetaB));
  const thetaC = (past.kC + prior * thetaB) / (past.nC + prior);
  const floor = 'relative' in minimum ? thetaB * (1 + minimum.relative) : thetaB + minimum.absolute;
  if (!(thetaC > floor) || thetaB <= 0 || thetaB >= 1) return null;
  return { a: Math.min(thetaC, 1 - 1e-9), b: thetaB };
}

/** Feeds one block: every component's alternative comes from the state before the block (predictable). */
export function updateBernoulli(state: BernoulliProcess, block: BernoulliCounts, minimum: MinimumEffect): BernoulliProcess {
  const alternatives = [plugInAlternative(state, minimum), ...fixedAlternatives(state, minimum)];
  const before = state.components.length === alternatives.length ? state.components : alternatives.map(() => 0);
  const components = alternatives.map((alternative, j) => before[j]! + (alternative ? bernoulliBlockLogE(block, alternative.a, alternative.b) : 0));
  const logE = logMeanExp(components);
  return {
    nC: state.nC + block.nC,
    kC: state.kC + block.kC,
    nB: state.nB + block.nB,
    kB: state.kB + block.kB,
    logE,
    maxLogE: Math.max(state.maxLogE, logE),
    components,
  };
}

/** Counts with the events flipped (n − k): tests "the candidate's rate is lower" with the same machinery. */
export function flipped(block: BernoulliCounts): BernoulliCounts {
  return { nC: block.nC, kC: block.nC - block.kC, nB: block.nB, kB: block.nB - block.kB };
}

/** x·log(y) with 0·log(anything) = 0. */
function xlogy(x: number, y: number): number {
  return x === 0 ? 0 : x * Math.log(y);
}

/** log of the mean of exp(values): the log e-value of an equal-weight mixture of e-processes. */
export function logMeanExp(values: readonly number[]): number {
  if (values.length === 0) return 0;
  const max = Math.max(...values);
  if (max === -Infinity) return -Infinity;
  let sum = 0;
  for (const v of values) sum += Math.exp(v - max);
  return max + Math.log(sum / values.length);
}
