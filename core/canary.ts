/**
 * The canary deployment's vocabulary: the deployment plan (optional shadow phase, traffic steps,
 * the traffic-starvation limit, the judge's settings), the workflow's input and outcome, and the
 * status it reports. Pure and shared by the workflow, the activities, the router and the CLI.
 *
 * A plan is validated here, at the edge: weights rise strictly and end at 100, durations are
 * finite, the judge's false-alarm budget is a probability. The statistics live in `core/canary/`.
 */
import { z } from 'zod';
import { modelNameSchema, versionNumberSchema } from './registry.ts';

export { defaultMetricsSource, V1_ANALYSIS_INTERVAL_SECONDS } from './canary-defaults.ts';
export { canaryWorkflowId } from './workflow-ids.ts';

const text = z.string().trim().min(1).max(512);
const seconds = z.number().min(0).max(30 * 24 * 3600);
const httpUrl = z
  .string()
  .url()
  .refine((value) => value.startsWith('http://') || value.startsWith('https://'), { message: 'must be an http:// or https:// URL' });

/** One traffic step: the candidate's share of traffic, how long it bakes, how much traffic it must see. */
export const canaryStepSchema = z.object({
  /** Percent of requests routed to the candidate (0 < weight ≤ 100). */
  weight: z.number().gt(0).max(100),
  /** The step passes no sooner than this, however good the candidate looks. */
  minBakeSeconds: seconds.default(300),
  /** Candidate requests the step must see before it can pass ("not enough traffic" is never a verdict). */
  minRequests: z.number().int().min(0).default(100),
});
export type CanaryStep = z.infer<typeof canaryStepSchema>;

/**
 * The shadow phase: the baseline keeps serving every request, the candidate sees a mirrored copy
 * whose answers are recorded and never returned. `maxDivergence` bounds how far the candidate's
 * predictions may differ from the baseline's on the same requests.
 */
export const shadowPhaseSchema = z.object({
  durationSeconds: seconds.default(300),
  minRequests: z.number().int().min(0).default(100),
  /** Mean divergence per mirrored request allowed, in [0, 1): see `divergence`. */
  maxDivergence: z.number().gt(0).lt(1).default(0.1),
  /**
   * `disagreement`: share of requests whose predicted label differs. `absolute-difference`:
   * mean of min(1, |candidate − baseline| / scale) on the prediction value (probability or score).
   */
  divergence: z.enum(['disagreement', 'absolute-difference']).default('absolute-difference'),
  scale: z.number().positive().default(1),
});
export type ShadowPhase = z.infer<typeof shadowPhaseSchema>;

/** A user metric read from the metrics provider as events out of trials per variant (e.g. conversions). */
export const customMetricSchema = z.object({
  name: z.string().regex(/^[a-zA-Z_][a-zA-Z0-9_:]{0,127}$/, 'a metric name is letters, digits, "_" or ":"'),
  /** Which direction is a regression for the candidate. */
  worseWhen: z.enum(['higher', 'lower']),
  /** Smallest relative change worth detecting (the alternative the test bets on at least). */
  minRelativeChange: z.number().gt(0).max(10).default(0.25),
});
export type CustomMetric = z.infer<typeof customMetricSchema>;

export const judgeSettingsSchema = z.object({
  /**
   * Probability, over the whole canary, that a candidate no worse than the baseline is failed
   * (a false rollback). Split evenly over the enabled tests; holds however often the judge looks.
   */
  alpha: z.number().gt(0).max(0.2).default(0.01),
  errorRate: z
    .object({
      enabled: z.boolean().default(true),
      /** The alternative bets on at least this relative increase over the baseline's error rate. */
      minRelativeIncrease: z.number().gt(0).max(10).default(0.25),
    })
    .default({ enabled: true, minRelativeIncrease: 0.25 }),
  latency: z
    .object({
      enabled: z.boolean().default(true),
      /**
       * Judge v1 only (canaries started before the ordinal latency test): baseline latency quantiles
       * used as thresholds, the test comparing the share of requests above each. Judge v2 bins
       * latencies by the baseline's deciles instead (core/canary/ordinal.ts).
       */
      quantiles: z.array(z.number().gt(0).lt(1)).min(1).max(4).default([0.5, 0.9]),
      /**
       * The smallest regression the alternative bets on: this increase (absolute) in the share of
       * requests above the baseline's median (v2), or above each threshold (v1).
       */
      minShift: z.number().gt(0).lt(1).default(0.05),
      /**
       * Judge v2: relative slowdown the null hypothesis tolerates. The test fails the candidate only
       * on evidence that it is more than (1 + this) times slower (stochastically). Default 0, like
       * the peers' defaults: any real slowdown is a regression. Set it (e.g. 0.05) for long,
       * high-traffic canaries where a small, real difference should not roll back; it costs power
       * (a +30% slowdown needs about 1.5× the requests at 0.05; see `npm run bench:canary`).
       */
      tolerance: z.number().min(0).max(1).default(0),
      /**
       * Shadow phase (same request on both): a mirrored request counts as slower only when the
       * candidate took more than (1 + this) times the baseline's time, which absorbs the mirror's
       * own small, systematic delay.
       */
      minRelativeIncrease: z.number().min(0).max(10).default(0.25),
    })
    .default({ enabled: true, quantiles: [0.5, 0.9], minShift: 0.05, tolerance: 0, minRelativeIncrease: 0.25 }),
  predictions: z
    .object({
      enabled: z.boolean().default(true),
      quantiles: z.array(z.number().gt(0).lt(1)).min(1).max(4).default([0.25, 0.5, 0.75]),
      /** A shift (either way) in the share of predictions above a baseline quantile worth failing for. */
      minShift: z.number().gt(0).lt(1).default(0.15),
    })
    .default({ enabled: true, quantiles: [0.25, 0.5, 0.75], minShift: 0.15 }),
  custom: z.array(customMetricSchema).max(8).default([]),
  /** Baseline samples a window needs before its quantiles become thresholds for the next windows. */
  minBaselineSamples: z.number().int().min(5).default(20),
});
export type JudgeSettings = z.infer<typeof judgeSettingsSchema>;

/** Default time between analyses. 10 s: one metrics read per canary every 10 s is cheap for every provider. */
export const DEFAULT_ANALYSIS_INTERVAL_SECONDS = 10;
export const canaryPlanSchema = z
  .object({
    shadow: shadowPhaseSchema.optional(),
    steps: z.array(canaryStepSchema).min(1).max(20),
    /**
     * Time between analyses (a durable workflow timer). The judge's tests are always valid, so
     * looking often costs no false rollbacks and catches a regression sooner; the default is
     * short. (Canaries started before judge v2 default to 60 s: see the workflow.)
     */
    analysisIntervalSeconds: z.number().min(0.2).max(3600).default(DEFAULT_ANALYSIS_INTERVAL_SECONDS),
    /**
     * Too little traffic at the end of a bake extends the step by `extensionSeconds` (default: the
     * step's own bake time), at most `maxExtensions` times; then the canary pauses for a person.
     */
    starvation: z
      .object({ maxExtensions: z.number().int().min(0).max(100).default(3), extensionSeconds: seconds.optional() })
      .default({ maxExtensions: 3 }),
    judge: judgeSettingsSchema.default(judgeSettingsSchema.parse({})),
  })
  .superRefine((plan, ctx) => {
    const problem = planWeightProblem(plan.steps.map((s) => s.weight));
    if (problem) ctx.addIssue({ code: 'custom', path: ['steps'], message: problem });
  });
export type CanaryPlan = z.infer<typeof canaryPlanSchema>;
export type CanaryPlanInput = z.input<typeof canaryPlanSchema>;

/** Why a list of step weights is not a rollout, or null: they must rise strictly and end at 100. */
export function planWeightProblem(weights: readonly number[]): string | null {
  if (weights.length === 0) return 'a plan needs at least one step';
  for (let i = 1; i < weights.length; i++) {
    if (weights[i]! <= weights[i - 1]!) {
      return `step weights must rise: step ${i + 1} (${weights[i]}%) is not above step ${i} (${weights[i - 1]}%)`;
    }
  }
  if (weights.at(-1) !== 100) return `step weights must rise to 100: the last step sends ${weights.at(-1)}% to the candidate`;
  return null;
}

export const localTargetSchema = z.object({
  kind: z.literal('local'),
  /** The `driftline serve` router in front of the model servers. */
  routerUrl: httpUrl,
  /** The model server of the baseline (what serves today). */
  baselineUrl: httpUrl,
  /** The model server of the candidate. */
  candidateUrl: httpUrl,
});

const variantName = z.string().regex(/^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/, 'a SageMaker variant name is letters, digits and "-"');
export const sagemakerTargetSchema = z.object({
  kind: z.literal('sagemaker'),
  endpointName: variantName,
  region: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/).optional(),
  /** The production variant serving today. */
  baselineVariant: variantName,
  /**
   * The candidate's variant. If the endpoint's configuration already has it, only the weights change;
   * otherwise a new endpoint configuration adds it (model `modelName`, which must exist) through UpdateEndpoint.
   */
  candidateVariant: z.object({
    name: variantName,
    modelName: z.string().min(1).max(63).optional(),
    instanceType: z.string().regex(/^ml\.[a-z0-9]+\.[a-z0-9]+$/).default('ml.m5.large'),
    initialInstanceCount: z.number().int().positive().default(1),
  }),
});

export const deploymentTargetSchema = z.discriminatedUnion('kind', [localTargetSchema, sagemakerTargetSchema]);
export type DeploymentTarget = z.infer<typeof deploymentTargetSchema>;
export type LocalTarget = z.infer<typeof localTargetSchema>;
export type SageMakerTarget = z.infer<typeof sagemakerTargetSchema>;

/** Where per-variant metrics come from. Default: the router's records (local), CloudWatch (sagemaker). */
export const metricsSourceSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('local') }),
  z.object({
    kind: z.literal('cloudwatch'),
    region: z.string().optional(),
    namespace: z.string().default('AWS/SageMaker'),
    periodSeconds: z.number().int().min(1).max(3600).default(60),
    /** CloudWatch publishes late: windows end this long before now, so no datapoint is skipped. */
    lagSeconds: z.number().min(0).max(3600).default(120),
  }),
  z.object({
    kind: z.literal('prometheus'),
    /** Base URL of the Prometheus HTTP API (e.g. http://prometheus:9090). */
    url: httpUrl,
    /** Extra label matchers added to every query, e.g. `job="driftline-router"`. */
    selector: z.string().max(512).default(''),
    /** A query not answered within this fails the read; the canary then holds its weights (see the workflow). */
    timeoutSeconds: z.number().min(0.1).max(60).default(10),
  }),
]);
export type MetricsSource = z.infer<typeof metricsSourceSchema>;

export const canaryInputSchema = z
  .object({
    model: modelNameSchema,
    candidateVersion: versionNumberSchema,
    /** The registered version serving today, or null when what serves is not a registered version. */
    baselineVersion: versionNumberSchema.nullable(),
    requestedBy: text,
    plan: canaryPlanSchema,
    target: deploymentTargetSchema,
    metrics: metricsSourceSchema.optional(),
    /** A webhook that receives a JSON message on rollback, abort, a pause for a person, and promotion. */
    notify: z.object({ webhookUrl: httpUrl.optional() }).default({}),
    /** Alias moved to the candidate on success (its history records the previous version). */
    productionAlias: z.string().regex(/^[a-z][a-z0-9_-]{0,63}$/).default('production'),
  })
  .superRefine((input, ctx) => {
    if (input.baselineVersion !== null && input.baselineVersion === input.candidateVersion) {
      ctx.addIssue({ code: 'custom', path: ['candidateVersion'], message: 'the candidate is the baseline: nothing to compare' });
    }
    if (input.target.kind === 'local' && input.target.baselineUrl === input.target.candidateUrl) {
      ctx.addIssue({ code: 'custom', path: ['target', 'candidateUrl'], message: 'candidate and baseline must be different model servers' });
    }
    if (input.target.kind === 'sagemaker' && input.target.baselineVariant === input.target.candidateVariant.name) {
      ctx.addIssue({ code: 'custom', path: ['target', 'candidateVariant', 'name'], message: 'candidate and baseline must be different variants' });
    }
    if (input.metrics?.kind === 'local' && input.target.kind !== 'local') {
      ctx.addIssue({ code: 'custom', path: ['metrics'], message: 'local records exist only behind the local router' });
    }
  });
export type CanaryInput = z.input<typeof canaryInputSchema>;

/**
 * The `deployment` section of a pipeline's policy: how a registered (and, with a compliance section,
 * approved) candidate reaches users. The pipeline fills in what only it knows — the candidate's
 * model server, the baseline serving today — and starts `canaryDeployment` as a child.
 *  - `local`: the router hosts a model server for the candidate (PUT /admin/servers/…) and the
 *    baseline is whatever the router serves for the model now;
 *  - `sagemaker`: the endpoint and variants as for a canary started alone; `{version}` in the
 *    candidate variant's name and model name is replaced by the candidate's version.
 */
export const deploymentPolicySchema = z.object({
  plan: canaryPlanSchema,
  target: z.discriminatedUnion('kind', [z.object({ kind: z.literal('local'), routerUrl: httpUrl }), sagemakerTargetSchema]),
  metrics: metricsSourceSchema.optional(),
  notify: z.object({ webhookUrl: httpUrl.optional() }).default({}),
  productionAlias: z.string().regex(/^[a-z][a-z0-9_-]{0,63}$/).default('production'),
});
export type DeploymentPolicy = z.infer<typeof deploymentPolicySchema>;
export type DeploymentPolicyTarget = DeploymentPolicy['target'];
export type CanaryRequest = z.infer<typeof canaryInputSchema>;

export type CanaryPhase = 'preparing' | 'shadow' | 'step' | 'promoting' | 'rolling-back' | 'done';

/** The DriftlineStage values a canary goes through. */
export type CanaryStage =
  | 'canary-preparing'
  | 'canary-shadow'
  | `canary-step-${number}`
  | 'canary-paused'
  | 'canary-promoting'
  | 'canary-rolling-back'
  | 'done';

export type CanaryOutcomeKind = 'promoted' | 'rolled-back' | 'aborted';

export type CanaryDecisionKind =
  | 'started'
  | 'shadow-passed'
  | 'step-passed'
  | 'extended'
  | 'starved'
  | 'hold'
  | 'failed'
  | 'paused'
  | 'resumed'
  | 'aborted'
  | 'promote-requested'
  | 'promoted'
  | 'rolled-back';

/** One decision of the canary, by the judge or a person; every one lands in the audit log. */
export interface CanaryDecision {
  seq: number;
  at: string;
  kind: CanaryDecisionKind;
  /** `judge` for the automatic ones, the person's name for updates. */
  by: string;
  phase: CanaryPhase;
  /** 1-based step index, 0 in the shadow phase. */
  step: number;
  weights: TrafficWeights;
  reason: string;
}

export interface TrafficWeights {
  /** Percent of live traffic to the baseline and the candidate (they add up to 100). */
  baseline: number;
  candidate: number;
  /** True while the candidate receives a mirrored copy of the traffic. */
  shadow: boolean;
}

/** One metric's sequential test, as the status query and the audit log show it. */
export interface MetricStatistics {
  name: string;
  /** The test's e-value so far (its always-valid p-value is min(1, 1/eValue)). */
  eValue: number;
  /** The e-value at which the judge fails the canary (tests / alpha). */
  threshold: number;
  pValue: number;
  candidate: { n: number; value: number | null };
  baseline: { n: number; value: number | null };
  /** What `value` means for this metric (e.g. "error rate", "p50 latency ms"). */
  describes: string;
  verdict: 'ok' | 'regressed' | 'no-data';
}

export interface CanaryStatus {
  model: string;
  candidateVersion: number;
  baselineVersion: number | null;
  stage: CanaryStage;
  phase: CanaryPhase;
  /** 1-based index of the current step, 0 during the shadow phase and preparation. */
  step: number;
  steps: number;
  weights: TrafficWeights;
  paused: { by: string; reason: string; at: string } | null;
  /** Current step or shadow phase: when it started, its bake time (with extensions), requests seen. */
  current: { startedAt: string | null; bakeSeconds: number; extensions: number; candidateRequests: number; minRequests: number } | null;
  metrics: MetricStatistics[];
  lastAnalysis: { at: string; verdict: 'continue' | 'pass' | 'fail'; reason: string } | null;
  decisions: CanaryDecision[];
  outcome: CanaryOutcome | null;
}

export interface CanaryOutcome {
  outcome: CanaryOutcomeKind;
  model: string;
  candidateVersion: number;
  baselineVersion: number | null;
  reason: string;
  /** The version `production` pointed at before a promotion (the previous champion), or null. */
  previousProduction: number | null;
  finalWeights: TrafficWeights;
  decisions: CanaryDecision[];
  metrics: MetricStatistics[];
}

/**
 * A route of the local router (`driftline serve`): where a model's requests go. Set by the deploy
 * activity through the router's admin endpoint; a higher generation replaces a lower one.
 */
export const routerRouteSchema = z.object({
  deploymentId: text,
  generation: z.number().int().min(0),
  baselineUrl: httpUrl,
  candidateUrl: httpUrl.nullable(),
  weights: z
    .object({ baseline: z.number().min(0).max(100), candidate: z.number().min(0).max(100), shadow: z.boolean() })
    .refine((w) => Math.abs(w.baseline + w.candidate - 100) < 1e-9, { message: 'baseline and candidate weights must add up to 100' }),
});
export type RouterRoute = z.infer<typeof routerRouteSchema>;

/** Arguments of the control updates. `by` is who asks: it is recorded with the decision. */
export interface CanaryControlRequest {
  by: string;
  reason?: string;
}

export const canaryControlSchema = z.object({ by: text, reason: z.string().trim().max(2048).optional() });
