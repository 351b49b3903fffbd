/**
 * The canary judge's statistics: the block e-value's expectation is at most 1 under the null
 * (computed exactly over the binomial distributions), the judge's false-failure rate stays under
 * alpha when it looks after every window, and clear regressions are caught.
 */
import { describe, expect, it } from 'vitest';
import { canaryPlanSchema, planWeightProblem, judgeSettingsSchema } from '../core/canary.ts';
import { binCounts, ordinalBlockLogE, updateOrdinal, newOrdinalProcess, ordinalAlternatives } from '../core/canary/ordinal.ts';
import {
  bernoulliBlockLogE,
  bettingBlockLogs,
  createJudge,
  observeWindow,
  regression,
  routesToCandidate,
  stepVerdict,
  summariseWindow,
  judgeThresholds,
  type RawWindow,
} from '../core/canary/index.ts';

function binomialPmf(n: number, p: number): number[] {
  const out: number[] = [];
  let logC = 0;
  for (let k = 0; k <= n; k++) {
    if (k > 0) logC += Math.log(n - k + 1) - Math.log(k);
    out.push(Math.exp(logC + (k === 0 ? 0 : k * Math.log(p)) + (n - k === 0 ? 0 : (n - k) * Math.log1p(-p))));
  }
  return out;
}

function expectedE(nC: number, nB: number, thetaC: number, thetaB: number, a: number, b: number): number {
  const pc = binomialPmf(nC, thetaC);
  const pb = binomialPmf(nB, thetaB);
  let total = 0;
  for (let kC = 0; kC <= nC; kC++) for (let kB = 0; kB <= nB; kB++) total += pc[kC]! * pb[kB]! * Math.exp(bernoulliBlockLogE({ nC, kC, nB, kB }, a, b));
  return total;
}

/** A small deterministic PRNG (mulberry32) so the simulations are the same on every run. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function window(random: () => number, n: number, weight: number, errC: number, errB: number, latencyFactor = 1, shared = 1): RawWindow {
  const make = (count: number, err: number, slower: number) => {
    const factor = slower * shared;
    let errors = 0;
    const latency: number[] = [];
    const predictions: number[] = [];
    for (let i = 0; i < count; i++) {
      if (random() < err) errors++;
      const z = Math.sqrt(-2 * Math.log(random() || 1e-12)) * Math.cos(2 * Math.PI * random());
      latency.push(20 * factor * Math.exp(0.3 * z));
      predictions.push(random());
    }
    return { requests: count, errors, latencyMs: latency, predictions };
  };
  let nC = 0;
  for (let i = 0; i < n; i++) if (random() * 100 < weight) nC++;
  return { candidate: make(nC, errC, latencyFactor), baseline: make(n - nC, errB, 1), shadow: null };
}

describe('the two-sample Bernoulli block e-value', () => {
  it('has expectation at most 1 whenever the candidate is no worse (exact sums)', () => {
    const sizes: Array<[number, number]> = [[1, 1], [3, 40], [10, 10], [25, 5], [60, 90]];
    const alternatives: Array<[number, number]> = [[0.02, 0.01], [0.3, 0.1], [0.9, 0.2], [0.51, 0.5]];
    for (const [nC, nB] of sizes) {
      for (const [a, b] of alternatives) {
        for (const thetaB of [0.001, 0.01, 0.1, 0.5, 0.9]) {
          for (const thetaC of [thetaB, thetaB / 2, 0]) {
            expect(expectedE(nC, nB, thetaC, thetaB, a, b)).toBeLessThanOrEqual(1 + 1e-9);
          }
        }
      }
    }
    // and it has power: a clearly worse candidate makes it grow
    expect(expectedE(50, 50, 0.3, 0.1, 0.3, 0.1)).toBeGreaterThan(2);
  });

  it('the betting test never loses all its wealth and grows on a real excess', () => {
    const under = bettingBlockLogs(Array.from({ length: 200 }, () => 0), 0.1);
    expect(under.every((l) => Number.isFinite(l))).toBe(true);
    const over = bettingBlockLogs(Array.from({ length: 200 }, (_, i) => (i % 2 ? 0.4 : 0.2)), 0.1);
    expect(Math.max(...over)).toBeGreaterThan(Math.log(1000));
  });
});

/** Every vector of `bins` non-negative counts adding up to n. */
function compositions(n: number, bins: number): number[][] {
  if (bins === 1) return [[n]];
  const out: number[][] = [];
  for (let first = 0; first <= n; first++) for (const rest of compositions(n - first, bins - 1)) out.push([first, ...rest]);
  return out;
}

function multinomialPmf(counts: number[], p: number[]): number {
  let log = 0;
  let n = 0;
  for (let k = 0; k < counts.length; k++) {
    for (let i = 1; i <= counts[k]!; i++) log += Math.log(++n) - Math.log(i);
    if (counts[k]! > 0) log += counts[k]! * Math.log(p[k]!);
  }
  return Math.exp(log);
}

describe('the ordinal (binned latency) block e-value', () => {
  it('has expectation at most 1 whenever the candidate is stochastically no slower (exact sums)', () => {
    // alternatives whose ratio a/b rises with the bin, as ordinalAlternatives builds them
    const state = { ...newOrdinalProcess(3), baseline: [30, 50, 20], candidate: [5, 5, 10] };
    const { a, b } = ordinalAlternatives(state, 0.05);
    const alternatives = a.filter((x): x is number[] => x !== null);
    expect(alternatives.length).toBeGreaterThan(2);
    for (const alt of alternatives) for (let k = 1; k < 3; k++) expect(alt[k]! / b[k]!).toBeGreaterThan(alt[k - 1]! / b[k - 1]!);
    // null pairs (θc stochastically ≤ θb), including equal ones
    const nulls: Array<[number[], number[]]> = [
      [[0.2, 0.5, 0.3], [0.2, 0.5, 0.3]],
      [[1 / 3, 1 / 3, 1 / 3], [1 / 3, 1 / 3, 1 / 3]],
      [[0.5, 0.3, 0.2], [0.2, 0.5, 0.3]],
      [[0.9, 0.05, 0.05], [0.1, 0.1, 0.8]],
      [[0.3, 0.5, 0.2], [0.3, 0.4, 0.3]],
    ];
    for (const [nC, nB] of [[1, 1], [3, 2], [2, 6], [5, 5]] as const) {
      for (const alt of alternatives) {
        for (const [thetaC, thetaB] of nulls) {
          let total = 0;
          for (const c of compositions(nC, 3)) for (const bb of compositions(nB, 3)) total += multinomialPmf(c, thetaC) * multinomialPmf(bb, thetaB) * Math.exp(ordinalBlockLogE(c, bb, alt, b));
          expect(total).toBeLessThanOrEqual(1 + 1e-9);
        }
      }
    }
  });

  it('turns "how many above each edge" into bin counts', () => {
    expect(binCounts(10, [7, 3, 1])).toEqual([3, 4, 2, 1]);
    expect(binCounts(0, [0, 0])).toEqual([0, 0, 0]);
  });

  it('grows on a slower candidate and stays put on an equal one', () => {
    let slower = newOrdinalProcess(4);
    let equal = newOrdinalProcess(4);
    for (let w = 0; w < 30; w++) {
      slower = updateOrdinal(slower, [10, 15, 25, 50], [25, 25, 25, 25], 0.05);
      equal = updateOrdinal(equal, [25, 25, 25, 25], [25, 25, 25, 25], 0.05);
    }
    expect(slower.logE).toBeGreaterThan(Math.log(1e6));
    expect(equal.logE).toBeLessThan(0);
  });
});

describe('the judge', () => {
  const settings = judgeSettingsSchema.parse({ alpha: 0.05 });

  function run(seed: number, errC: number, latencyFactor: number, windows: number, options: { version?: 1 | 2; settings?: typeof settings; load?: (w: number, random: () => number) => number } = {}) {
    const random = rng(seed);
    const s = options.settings ?? settings;
    let state = createJudge(s, null, options.version ?? 2);
    for (let w = 0; w < windows; w++) {
      const raw = window(random, 200, 25, errC, 0.01, latencyFactor, options.load?.(w, random) ?? 1);
      state = observeWindow(state, summariseWindow(raw, judgeThresholds(state), s, null), s);
      const failed = regression(state);
      if (failed) return { failed, window: w };
    }
    return { failed: null, window: windows };
  }

  it('is not fooled by load that slows both arms alike, however it changes between windows', () => {
    // every window gets its own load factor (1× to 4×) applied to both arms, as on a busy machine
    const load = (_w: number, random: () => number) => 1 + 3 * random() ** 2;
    let falseFailures = 0;
    const runs = 200;
    for (let seed = 1; seed <= runs; seed++) if (run(1000 + seed, 0.01, 1, 60, { load }).failed) falseFailures++;
    expect(falseFailures / runs).toBeLessThanOrEqual(0.05);
  });

  it('tolerates a candidate slower by less than the tolerance, and catches the same one without it', () => {
    const tolerant = judgeSettingsSchema.parse({ alpha: 0.05, latency: { tolerance: 0.05 } });
    let tolerated = 0;
    let caught = 0;
    const runs = 40;
    for (let seed = 1; seed <= runs; seed++) {
      if (run(2000 + seed, 0.01, 1.03, 150, { settings: tolerant }).failed) tolerated++;
      if (run(2000 + seed, 0.01, 1.03, 150).failed?.name === 'latency') caught++;
    }
    expect(tolerated / runs).toBeLessThanOrEqual(0.05); // 3% slower, within a 5% tolerance
    expect(caught / runs).toBeGreaterThan(0.5); // the difference is real: with the default (none) it is found
  });

  it('catches a slower candidate sooner with the binned latency test (v2) than with the shares above two quantiles (v1)', () => {
    // same data, same (zero) tolerance: the difference is the test's use of each request's latency
    const strict = judgeSettingsSchema.parse({ alpha: 0.05, latency: { tolerance: 0 } });
    const mean = (version: 1 | 2) => Array.from({ length: 40 }, (_, i) => run(3000 + i, 0.01, 1.1, 300, { version, settings: strict }).window).reduce((a, b) => a + b, 0) / 40;
    const v1 = mean(1);
    const v2 = mean(2);
    expect(v2, `mean windows to the rollback: v1 ${v1}, v2 ${v2}`).toBeLessThan(0.85 * v1);
  });

  it('rarely fails a healthy candidate even when it looks after every window', () => {
    let falseFailures = 0;
    const runs = 200;
    for (let seed = 1; seed <= runs; seed++) if (run(seed, 0.01, 1, 60).failed) falseFailures++;
    // alpha = 5% over the whole canary, 60 looks each
    expect(falseFailures / runs).toBeLessThanOrEqual(0.05);
  });

  it('catches a doubled error rate and a 30% slower candidate', () => {
    const errors = run(7, 0.04, 1, 200);
    expect(errors.failed?.name).toBe('error-rate');
    const slow = run(8, 0.01, 1.3, 200);
    expect(slow.failed?.name).toBe('latency');
    expect(slow.window).toBeLessThan(10);
  });

  it('waits for traffic instead of judging, and passes after bake and traffic', () => {
    expect(stepVerdict({ regressed: null, elapsedSeconds: 100, bakeSeconds: 60, candidateRequests: 3, minRequests: 50 })).toMatchObject({
      verdict: 'continue',
      waitingFor: ['traffic'],
    });
    expect(stepVerdict({ regressed: null, elapsedSeconds: 61, bakeSeconds: 60, candidateRequests: 50, minRequests: 50 }).verdict).toBe('pass');
  });
});

describe('plans and routing', () => {
  it('rejects weights that do not rise to 100', () => {
    expect(planWeightProblem([5, 25, 50])).toMatch(/rise to 100/);
    expect(planWeightProblem([5, 50, 25, 100])).toMatch(/must rise/);
    expect(planWeightProblem([5, 25, 50, 100])).toBeNull();
    const parsed = canaryPlanSchema.safeParse({ steps: [{ weight: 10 }, { weight: 60 }] });
    expect(parsed.success).toBe(false);
    expect(canaryPlanSchema.parse({ steps: [{ weight: 100 }] }).judge.alpha).toBe(0.01);
  });

  it('assigns keys stickily and in proportion to the weight', () => {
    let candidate = 0;
    for (let i = 0; i < 20_000; i++) {
      const key = `user-${i}`;
      if (routesToCandidate(key, 25)) {
        candidate++;
        expect(routesToCandidate(key, 50)).toBe(true); // stays on the candidate as the weight rises
      }
    }
    expect(candidate / 20_000).toBeGreaterThan(0.23);
    expect(candidate / 20_000).toBeLessThan(0.27);
  });
});
