/**
 * The canary judge: pure functions on typed arrays and plain JSON state, safe to import from
 * workflows. See judge.ts for the tests and the false-rollback bound.
 */
export { bernoulliBlockLogE, plugInAlternative, updateBernoulli, newBernoulliProcess, logMeanExp, flipped, type BernoulliCounts, type BernoulliProcess, type MinimumEffect } from './bernoulli.ts';
export { BET_FRACTIONS, bettingBlockLogs, newBettingWealth } from './betting.ts';
export {
  summariseWindow,
  quantiles,
  type RawWindow,
  type VariantSamples,
  type ShadowPairs,
  type JudgeThresholds,
  type WindowSummary,
  type VariantWindow,
  type ShadowWindow,
} from './summary.ts';
export { createJudge, observeWindow, metricStatistics, regression, stepVerdict, failThreshold, judgeThresholds, type JudgeState, type Verdict } from './judge.ts';
export { assignmentBucket, routesToCandidate, BUCKETS } from './routing.ts';
