/**
 * The canary judge's statistics: the block e-value's expectation is at most 1 under the null
 * (computed exactly over the binomial distributions), the judge's false-failure rate stays under
 * alpha when it looks after every window, and clear regressions are caught.
 */
import { describe, expect, it } from 'vitest';
import { canaryPlanSchema, planWeightProblem, judgeSettingsSchema } from '../core/canary.ts';
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

function window(random: () => number, n: number, weight: number, errC: number, errB: number, latencyFactor = 1): RawWindow {
  const make = (count: number, err: number, factor: number) => {
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

describe('the judge', () => {
  const settings = judgeSettingsSchema.parse({ alpha: 0.05 });

  function run(seed: number, errC: number, latencyFactor: number, windows: number) {
    const random = rng(seed);
    let state = createJudge(settings, null);
    for (let w = 0; w < windows; w++) {
      const raw = window(random, 200, 25, errC, 0.01, latencyFactor);
      state = observeWindow(state, summariseWindow(raw, judgeThresholds(state), settings, null), settings);
      const failed = regression(state);
      if (failed) return { failed, window: w };
    }
    return { failed: null, window: windows };
  }

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
