/**
 * canaryDeployment: a registered model version reaches users only through a phased, observed
 * rollout. An optional shadow phase (the candidate answers a mirrored copy of the traffic, never
 * returned), then traffic steps (e.g. 5 → 25 → 50 → 100 %). At every analysis interval (a durable
 * timer) the judge (core/canary/) compares candidate and baseline with sequential tests whose
 * false-alarm rate holds however often they look, and decides: continue, pass the step, or fail.
 *
 * - Too little traffic extends the step, up to the plan's limit; then the canary pauses for a person.
 * - Failure runs the rollback saga: baseline back to 100 %, aliases as they were, the decision and
 *   the evidence to the audit log, a notification. Success moves `production` to the candidate
 *   (the registry's alias history records the previous champion).
 * - People steer it with the `pause`, `resume`, `abort` and `promote` Workflow Updates (each recorded
 *   with who asked) and read it with the `status` query.
 * - The weights live in the target and in this workflow's state: a worker killed mid-step is replaced
 *   by one that replays to the same step with the same weights. Long canaries continue as new.
 *
 * Started by `continuousTraining` as a child (id `canary:<model>:v<version>`) or on its own.
 */
import {
  ActivityFailure,
  allHandlersFinished,
  ApplicationFailure,
  CancellationScope,
  condition,
  continueAsNew,
  isCancellation,
  patched,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
  type ActivityOptions,
} from '@temporalio/workflow';
import type { DeployActivities } from '../activities/deploy/activities.ts';
import type { PreparedTarget } from '../activities/deploy/port.ts';
import type { MetricsActivities, CanaryMetricsWindow } from '../activities/metrics/activities.ts';
import type { RegistryActivities } from '../activities/registry/activities.ts';
import type {
  CanaryControlRequest,
  CanaryDecision,
  CanaryDecisionKind,
  CanaryInput,
  CanaryOutcome,
  CanaryOutcomeKind,
  CanaryPhase,
  CanaryRequest,
  CanaryStage,
  CanaryStatus,
  MetricStatistics,
  TrafficWeights,
} from '../core/canary.ts';
import { controlRequestProblem, defaultMetricsSource, V1_ANALYSIS_INTERVAL_SECONDS } from '../core/canary-defaults.ts';
import { unvalidatedFields, validatedInput } from './input.ts';
import { createJudge, judgeThresholds, metricStatistics, observeWindow, regression, stepVerdict, type JudgeState, type JudgeVersion } from '../core/canary/judge.ts';
import { INVALID_INPUT, SEARCH_ATTRIBUTES } from '../core/names.ts';
import { canaryAbortUpdate, canaryPauseUpdate, canaryPromoteUpdate, canaryResumeUpdate, canaryStatusQuery, type CanaryControlResult } from './messages.ts';

const FINAL = [INVALID_INPUT, 'NotFound'];
const JUDGE = 'judge';
/**
 * Judge v2 (ordinal latency test with a tolerance) and the 10 s default analysis interval. Canaries
 * whose history has no such marker keep judge v1 and the 60 s default, so their replay is unchanged.
 */
const JUDGE_V2_PATCH = 'canary-judge-v2';

type Activities = RegistryActivities & DeployActivities & MetricsActivities;
// No task queue: activities run on the workflow's own queue (`driftline` in production).
const acts = proxyActivities<Activities>({
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '500 milliseconds', maximumInterval: '30 seconds', nonRetryableErrorTypes: FINAL },
});

/** State carried across continue-as-new (plain JSON). */
export interface CanaryCarriedState {
  runKey: string;
  phase: CanaryPhase;
  step: number;
  generation: number;
  weights: TrafficWeights;
  prepared: PreparedTarget | null;
  judge: JudgeState;
  cursor: string | null;
  current: CurrentPhase | null;
  paused: Paused | null;
  decisions: CanaryDecision[];
  lastAnalysis: CanaryStatus['lastAnalysis'];
  holding: string | null;
  /** A phase the canary could not enter yet (the target did not take the weights): retried at each analysis. */
  pending: { phase: 'shadow' } | { phase: 'step'; step: number } | null;
}

interface CurrentPhase {
  startedAtMs: number;
  bakeSeconds: number;
  extensions: number;
  candidateRequests: number;
  minRequests: number;
}

interface Paused {
  by: string;
  reason: string;
  at: string;
  starved: boolean;
}

type ControlKind = 'pause' | 'resume' | 'abort' | 'promote';
interface Control {
  kind: ControlKind;
  by: string;
  reason: string;
  done: boolean;
  message: string;
}

export async function canaryDeployment(rawInput: CanaryInput, carried?: CanaryCarriedState): Promise<CanaryOutcome> {
  // Handlers first, so a status query during input validation gets an answer.
  let started: Canary | undefined;
  installHandlers(() => started, rawInput);
  const request = await validatedInput('canaryDeployment', rawInput);
  // The judge version is fixed at the start and carried across continue-as-new.
  const version = carried ? (carried.judge.version ?? 1) : patched(JUDGE_V2_PATCH) ? 2 : 1;
  if (version === 1 && rawInput.plan.analysisIntervalSeconds === undefined) request.plan.analysisIntervalSeconds = V1_ANALYSIS_INTERVAL_SECONDS;
  const canary = (started = new Canary(request, carried, version));
  upsertSearchAttributes([
    { key: SEARCH_ATTRIBUTES.model, value: request.model },
    { key: SEARCH_ATTRIBUTES.version, value: request.candidateVersion },
  ]);
  try {
    return await canary.run();
  } catch (error) {
    if (isCancellation(error)) {
      await CancellationScope.nonCancellable(() => canary.rollBack('aborted', 'temporal', 'the workflow was cancelled'));
      throw error;
    }
    throw error;
  }
}

/** The status query and the control updates; until the canary exists (its input is being validated) they answer for a canary that has not started. */
function installHandlers(canary: () => Canary | undefined, rawInput: CanaryInput): void {
  const started = () => {
    const current = canary();
    if (!current) throw new Error(`canary ${workflowInfo().workflowId} is still starting: try again in a moment`);
    return current;
  };
  setHandler(canaryStatusQuery, () => canary()?.status() ?? startingStatus(rawInput));
  const register = (kind: ControlKind, update: typeof canaryPauseUpdate) =>
    setHandler(update, (request) => started().control(kind, request), { validator: (request) => started().validate(kind, request) });
  register('pause', canaryPauseUpdate);
  register('resume', canaryResumeUpdate);
  register('abort', canaryAbortUpdate);
  register('promote', canaryPromoteUpdate);
}

/** What the status shows of a canary whose input is not validated yet. */
function startingStatus(raw: CanaryInput): CanaryStatus {
  const fields = unvalidatedFields(raw);
  const plan = unvalidatedFields(fields.plan);
  return {
    model: typeof fields.model === 'string' ? fields.model : '',
    candidateVersion: typeof fields.candidateVersion === 'number' ? fields.candidateVersion : 0,
    baselineVersion: null,
    stage: 'canary-preparing',
    phase: 'preparing',
    step: 0,
    steps: Array.isArray(plan.steps) ? plan.steps.length : 0,
    weights: { baseline: 100, candidate: 0, shadow: false },
    paused: null,
    current: null,
    metrics: [],
    lastAnalysis: null,
    decisions: [],
    outcome: null,
  };
}

class Canary {
  private readonly input: CanaryRequest;
  private readonly state: CanaryCarriedState;
  private readonly controls: Control[] = [];
  private readonly workflowId = workflowInfo().workflowId;
  private outcome: CanaryOutcome | null = null;
  /** Set once the canary heads for its end (saga, promotion, or continue-as-new): updates are refused. */
  private closing: string | null = null;

  constructor(input: CanaryRequest, carried: CanaryCarriedState | undefined, judgeVersion: JudgeVersion) {
    this.input = input;
    this.state = carried ?? {
      runKey: workflowInfo().firstExecutionRunId,
      phase: 'preparing',
      step: 0,
      generation: 0,
      weights: { baseline: 100, candidate: 0, shadow: false },
      prepared: null,
      judge: createJudge(input.plan.judge, input.plan.shadow, judgeVersion),
      cursor: null,
      current: null,
      paused: null,
      decisions: [],
      lastAnalysis: null,
      holding: null,
      pending: null,
    };
  }

  async run(): Promise<CanaryOutcome> {
    const { plan } = this.input;
    if (this.state.phase === 'preparing') {
      const ready = await this.prepare();
      if (!ready) return this.outcome!;
    }
    const intervalMs = plan.analysisIntervalSeconds * 1000;
    for (;;) {
      await condition(() => this.controls.some((c) => !c.done), intervalMs);
      const intent = await this.processControls();
      if (intent?.kind === 'abort') return this.rollBack('aborted', intent.by, intent.reason || 'aborted by a person');
      if (intent?.kind === 'promote') return this.promote(intent.by, intent.reason || 'promoted by a person, skipping the remaining steps');

      const window = await this.collect();
      if (window) {
        this.state.judge = observeWindow(this.state.judge, window.summary, plan.judge);
        if (this.state.current) this.state.current.candidateRequests += this.state.phase === 'shadow' ? window.shadowRequests : window.candidateRequests;
        // Judged even while paused: a pause holds the weights, and the candidate still serves its
        // share, so a regression found meanwhile still rolls back (as Argo Rollouts' background
        // analysis keeps running through a paused step). The tests stay valid across any pause.
        const regressed = regression(this.state.judge);
        if (regressed) {
          const verdict = stepVerdict({ regressed, elapsedSeconds: 0, bakeSeconds: 0, candidateRequests: 0, minRequests: 0 });
          this.state.lastAnalysis = { at: now(), verdict: 'fail', reason: verdict.reason };
          await this.decide('failed', JUDGE, verdict.reason, metricStatistics(this.state.judge));
          return this.rollBack('rolled-back', JUDGE, verdict.reason);
        }
        if (!this.state.paused) {
          const finished = await this.judgeStep();
          if (finished) return finished;
        } else {
          this.state.lastAnalysis = { at: now(), verdict: 'continue', reason: `paused by ${this.state.paused.by}: ${this.state.paused.reason}` };
        }
      }
      this.showDetails();

      if (workflowInfo().continueAsNewSuggested && this.controls.every((c) => c.done)) {
        this.closing = 'the canary is moving to a new run; send it again in a moment';
        await condition(allHandlersFinished);
        await continueAsNew<typeof canaryDeployment>(this.input, this.state);
      }
    }
  }

  /** Checks the versions and the target, snapshots the aliases, and starts the first phase. */
  private async prepare(): Promise<boolean> {
    const { model, candidateVersion, baselineVersion, plan, target } = this.input;
    this.setStage('canary-preparing', `checking v${candidateVersion} and the ${target.kind} target`);
    const candidate = await this.lineage(`${model}@${candidateVersion}`);
    if (candidate.status !== 'registered') {
      throw ApplicationFailure.nonRetryable(`Invalid canary input: ${model} v${candidateVersion} was rejected (${candidate.statusReason ?? 'no reason'}) and cannot be deployed`, INVALID_INPUT);
    }
    if (baselineVersion !== null) await this.lineage(`${model}@${baselineVersion}`);

    let prepared: PreparedTarget;
    try {
      prepared = await acts.prepareCanaryTarget.executeWithOptions(
        options(`check ${target.kind} target and variants of ${model}`, { startToCloseTimeout: '2 minutes', retry: { maximumAttempts: 5, initialInterval: '1 second', backoffCoefficient: 2, nonRetryableErrorTypes: FINAL } }),
        [{ deploymentId: this.workflowId, model, candidateVersion, baselineVersion, target, shadow: plan.shadow !== undefined }],
      );
    } catch (error) {
      // Nothing was changed yet: there is nothing to roll back, only the reason to record.
      const reason = `the deployment target is not ready: ${describe(error)}`;
      await this.decide('aborted', JUDGE, reason);
      await this.finish('aborted', reason);
      return false;
    }
    this.state.prepared = prepared;
    await this.decide('started', this.input.requestedBy, `canary of ${model} v${candidateVersion} against ${baselineVersion === null ? 'the serving model' : `v${baselineVersion}`}: ${prepared.description}`);
    if (plan.shadow) await this.enterShadow();
    else await this.enterStep(1);
    return true;
  }

  private async enterShadow(): Promise<void> {
    const shadow = this.input.plan.shadow!;
    const applied = await this.setTraffic({ baseline: 100, candidate: 0, shadow: true }, 'start the shadow phase');
    if (!applied) {
      this.state.pending = { phase: 'shadow' };
      return;
    }
    this.state.pending = null;
    this.state.phase = 'shadow';
    this.state.step = 0;
    this.state.current = { startedAtMs: Date.now(), bakeSeconds: shadow.durationSeconds, extensions: 0, candidateRequests: 0, minRequests: shadow.minRequests };
    this.setStage('canary-shadow', `mirroring traffic to v${this.input.candidateVersion} for ${shadow.durationSeconds}s`);
  }

  private async enterStep(index: number): Promise<void> {
    const step = this.input.plan.steps[index - 1]!;
    const applied = await this.setTraffic({ baseline: 100 - step.weight, candidate: step.weight, shadow: false }, `step ${index}: ${step.weight}% to v${this.input.candidateVersion}`);
    if (!applied) {
      // weights held; the next analysis tries again
      this.state.pending = { phase: 'step', step: index };
      return;
    }
    this.state.pending = null;
    this.state.phase = 'step';
    this.state.step = index;
    this.state.current = { startedAtMs: Date.now(), bakeSeconds: step.minBakeSeconds, extensions: 0, candidateRequests: 0, minRequests: step.minRequests };
    this.setStage(`canary-step-${index}`, `${step.weight}% of traffic to v${this.input.candidateVersion}`);
  }

  /** The judge's verdict on the current phase; advances, extends or pauses. Returns the outcome when the canary ended. */
  private async judgeStep(): Promise<CanaryOutcome | null> {
    const pending = this.state.pending;
    if (pending) {
      // a phase change was held (the target did not take the weights): try it again
      if (pending.phase === 'shadow') await this.enterShadow();
      else await this.enterStep(pending.step);
      return null;
    }
    const current = this.state.current;
    if (!current) return null;
    const elapsedSeconds = (Date.now() - current.startedAtMs) / 1000;
    const verdict = stepVerdict({ regressed: null, elapsedSeconds, bakeSeconds: current.bakeSeconds, candidateRequests: current.candidateRequests, minRequests: current.minRequests });
    this.state.lastAnalysis = { at: now(), verdict: verdict.verdict, reason: verdict.reason };
    if (verdict.verdict === 'pass') {
      const statistics = metricStatistics(this.state.judge);
      if (this.state.phase === 'shadow') {
        await this.decide('shadow-passed', JUDGE, verdict.reason, statistics);
        await this.enterStep(1);
        return null;
      }
      await this.decide('step-passed', JUDGE, `step ${this.state.step} (${this.state.weights.candidate}%): ${verdict.reason}`, statistics);
      if (this.state.step >= this.input.plan.steps.length) return this.promote(JUDGE, `every step passed (${this.input.plan.steps.map((s) => `${s.weight}%`).join(' → ')})`);
      await this.enterStep(this.state.step + 1);
      return null;
    }
    if (verdict.waitingFor.includes('traffic') && !verdict.waitingFor.includes('bake')) {
      const { starvation } = this.input.plan;
      const extension = starvation.extensionSeconds ?? (this.state.phase === 'shadow' ? this.input.plan.shadow!.durationSeconds : this.input.plan.steps[this.state.step - 1]!.minBakeSeconds);
      if (current.extensions < starvation.maxExtensions) {
        current.extensions++;
        current.bakeSeconds = elapsedSeconds + Math.max(extension, this.input.plan.analysisIntervalSeconds);
        await this.decide('extended', JUDGE, `too little traffic (${current.candidateRequests} of ${current.minRequests} candidate requests): extension ${current.extensions} of ${starvation.maxExtensions}, ${Math.round(current.bakeSeconds - elapsedSeconds)}s more`);
      } else {
        const reason = `too little traffic after ${starvation.maxExtensions} extension(s): ${current.candidateRequests} of ${current.minRequests} candidate requests; a person must resume, promote or abort`;
        this.state.paused = { by: JUDGE, reason, at: now(), starved: true };
        await this.decide('starved', JUDGE, reason);
        this.setStage('canary-paused', reason);
        await this.notify('paused', JUDGE, reason);
      }
    }
    return null;
  }

  /** Reads one metrics window; on a provider failure the canary holds its weights and says why. */
  private async collect(): Promise<CanaryMetricsWindow | null> {
    const { plan, target, model } = this.input;
    try {
      const window = await acts.collectCanaryMetrics.executeWithOptions(
        options(`${this.state.phase === 'shadow' ? 'shadow' : `step ${this.state.step}`} metrics of ${model}`, {
          startToCloseTimeout: '1 minute',
          retry: { maximumAttempts: 3, initialInterval: '1 second', nonRetryableErrorTypes: FINAL },
        }),
        [
          {
            deploymentId: this.workflowId,
            model,
            target,
            source: this.input.metrics ?? defaultMetricsSource(target),
            cursor: this.state.cursor,
            thresholds: judgeThresholds(this.state.judge),
            settings: plan.judge,
            shadow: this.state.phase === 'shadow' ? (plan.shadow ?? null) : null,
          },
        ],
      );
      this.state.cursor = window.cursor;
      if (this.state.holding) this.state.holding = null;
      return window;
    } catch (error) {
      const reason = `holding ${this.state.weights.candidate}%: the metrics provider failed: ${describe(error)}`;
      this.state.lastAnalysis = { at: now(), verdict: 'continue', reason };
      if (this.state.holding !== reason) {
        this.state.holding = reason;
        await this.decide('hold', JUDGE, reason);
      }
      return null;
    }
  }

  /** Applies weights; a target that keeps failing leaves the weights as they were (recorded as a hold). */
  private async setTraffic(weights: TrafficWeights, what: string): Promise<boolean> {
    const { target, model } = this.input;
    const generation = this.state.generation + 1;
    try {
      const applied = await acts.setCanaryTraffic.executeWithOptions(
        options(`${what} (${target.kind})`, {
          // SageMaker endpoint updates take long and heartbeat; the local router answers in
          // milliseconds, so a worker that dies mid-call is noticed after a minute, not 90.
          startToCloseTimeout: target.kind === 'sagemaker' ? '90 minutes' : '1 minute',
          heartbeatTimeout: target.kind === 'sagemaker' ? '2 minutes' : undefined,
          retry: { maximumAttempts: 8, initialInterval: '1 second', maximumInterval: '30 seconds', nonRetryableErrorTypes: FINAL },
        }),
        [{ deploymentId: this.workflowId, model, target, prepared: this.state.prepared!, generation, weights }],
      );
      this.state.generation = generation;
      this.state.weights = applied;
      this.state.holding = null;
      return true;
    } catch (error) {
      if (error instanceof ActivityFailure && error.cause instanceof ApplicationFailure && error.cause.type === INVALID_INPUT) throw error;
      this.state.generation = generation; // never reuse a generation a failed attempt may have written
      const reason = `holding ${this.state.weights.candidate}%: could not ${what}: ${describe(error)}`;
      if (this.state.holding !== reason) {
        this.state.holding = reason;
        await this.decide('hold', JUDGE, reason);
      }
      return false;
    }
  }

  /** Moves traffic to the candidate, then `production`; a failure here rolls back. */
  private async promote(by: string, reason: string): Promise<CanaryOutcome> {
    this.closing = 'the canary is being promoted';
    const { model, candidateVersion, productionAlias, target } = this.input;
    this.setStage('canary-promoting', `moving all traffic and ${productionAlias} to v${candidateVersion}`);
    this.state.phase = 'promoting';
    let previousProduction: number | null = null;
    let aliasMoved = false;
    try {
      if (this.state.weights.candidate !== 100 || this.state.weights.shadow) {
        const applied = await this.setTraffic({ baseline: 0, candidate: 100, shadow: false }, `send 100% to v${candidateVersion}`);
        if (!applied) throw new Error(this.state.holding ?? `the ${target.kind} target did not take 100%`);
      }
      const move = await acts.moveModelAlias.executeWithOptions(options(`move ${model}@${productionAlias} to v${candidateVersion}`), [
        { model, alias: productionAlias, version: candidateVersion, actor: by === JUDGE ? this.input.requestedBy : by, reason: `canary ${this.workflowId}: ${reason}` },
      ]);
      aliasMoved = true;
      previousProduction = move.fromVersion;
    } catch (error) {
      const failure = `promotion failed: ${describe(error)}`;
      await this.decide('failed', JUDGE, failure);
      return this.rollBack('rolled-back', JUDGE, failure, aliasMoved ? previousProduction : undefined);
    }
    const summary = `${reason}; ${productionAlias} moved to v${candidateVersion}${previousProduction !== null ? ` (was v${previousProduction})` : ''}`;
    await this.decide('promoted', by, summary, metricStatistics(this.state.judge));
    await this.notify('promoted', by, summary);
    return this.finish('promoted', summary, previousProduction);
  }

  /**
   * The rollback saga: traffic back to the baseline as it was, aliases as they were, the decision
   * and its evidence to the audit log, a notification. Each step is tried (with Temporal's retries)
   * even if an earlier one failed; what could not be done is part of the recorded reason.
   * `restoreAliasTo`: the version the production alias had before this canary moved it, if it did.
   */
  async rollBack(kind: 'rolled-back' | 'aborted', by: string, reason: string, restoreAliasTo?: number | null): Promise<CanaryOutcome> {
    this.closing = kind === 'aborted' ? 'the canary is being aborted' : 'the canary is being rolled back';
    const { model, candidateVersion, target, productionAlias } = this.input;
    this.setStage('canary-rolling-back', reason);
    this.state.phase = 'rolling-back';
    if (kind === 'aborted') await this.decide('aborted', by, reason);
    const problems: string[] = [];
    if (this.state.prepared) {
      try {
        const generation = this.state.generation + 1;
        this.state.weights = await acts.restoreCanaryTarget.executeWithOptions(
          options(`put ${model} back on the baseline (${target.kind})`, {
            startToCloseTimeout: target.kind === 'sagemaker' ? '90 minutes' : '1 minute',
            scheduleToCloseTimeout: '2 hours',
            heartbeatTimeout: target.kind === 'sagemaker' ? '2 minutes' : undefined,
            retry: { initialInterval: '1 second', maximumInterval: '1 minute', nonRetryableErrorTypes: FINAL },
          }),
          [{ deploymentId: this.workflowId, model, target, prepared: this.state.prepared, generation }],
        );
        this.state.generation = generation;
      } catch (error) {
        problems.push(`the baseline could not be restored: ${describe(error)}`);
      }
    }
    if (restoreAliasTo !== undefined && restoreAliasTo !== null) {
      try {
        await acts.moveModelAlias.executeWithOptions(options(`move ${model}@${productionAlias} back to v${restoreAliasTo}`), [
          { model, alias: productionAlias, version: restoreAliasTo, actor: by === JUDGE ? this.input.requestedBy : by, reason: `canary ${this.workflowId} rolled back: ${reason}` },
        ]);
      } catch (error) {
        problems.push(`${productionAlias} could not be moved back to v${restoreAliasTo}: ${describe(error)}`);
      }
    }
    const full = problems.length ? `${reason} (${problems.join('; ')})` : reason;
    await this.decide('rolled-back', by, `${kind === 'aborted' ? 'aborted' : 'rolled back'}: baseline restored to ${this.state.weights.baseline}%; aliases untouched: ${full}`, metricStatistics(this.state.judge));
    await this.notify(kind, by, full);
    void candidateVersion;
    return this.finish(kind, full);
  }

  /** Records the outcome everywhere it belongs and ends the canary. */
  private async finish(kind: CanaryOutcomeKind, reason: string, previousProduction: number | null = null): Promise<CanaryOutcome> {
    this.closing = `the canary has finished (${kind})`;
    const { model, candidateVersion, baselineVersion, requestedBy } = this.input;
    const metrics = metricStatistics(this.state.judge);
    this.outcome = { outcome: kind, model, candidateVersion, baselineVersion, reason, previousProduction, finalWeights: this.state.weights, decisions: this.state.decisions, metrics };
    await tryTo(() =>
      acts.storeCanaryReport.executeWithOptions(options(`store the canary report of ${model} v${candidateVersion}`), [
        { model, version: candidateVersion, deploymentId: this.workflowId, actor: requestedBy, report: { ...this.outcome!, input: this.input } as unknown as Record<string, unknown> },
      ]),
    );
    await tryTo(() => acts.finishCanaryDeployment.executeWithOptions(options('close the deployment record'), [{ deploymentId: this.workflowId, status: kind }]));
    await tryTo(() =>
      acts.recordPipelineRun.executeWithOptions(options(`record the canary's outcome (${kind})`), [
        { model, workflowType: 'canaryDeployment', outcome: kind === 'promoted' ? 'promoted' : 'rolled-back', version: candidateVersion, reason: kind === 'aborted' ? `aborted: ${reason}` : reason, trigger: 'canary', requestedBy },
      ]),
    );
    this.state.phase = 'done';
    this.setStage('done', `${kind}: ${reason}`);
    upsertSearchAttributes([{ key: SEARCH_ATTRIBUTES.outcome, value: kind }]);
    for (const control of this.controls) if (!control.done) Object.assign(control, { done: true, message: `the canary finished (${kind}) before this ${control.kind} was handled` });
    await condition(allHandlersFinished);
    return this.outcome;
  }

  // --- people ---------------------------------------------------------------------------------

  validate(kind: ControlKind, request: CanaryControlRequest): void {
    if (this.outcome) throw new Error(`canary ${this.workflowId} has finished (${this.outcome.outcome}): it can no longer ${kind}`);
    if (this.closing) throw new Error(`canary ${this.workflowId} cannot ${kind} now: ${this.closing}`);
    const problem = controlRequestProblem(request);
    if (problem) throw new Error(`a ${kind} request needs "by" (who asks): ${problem}`);
    const pending = this.controls.find((c) => !c.done && (c.kind === 'abort' || c.kind === 'promote'));
    if (pending) throw new Error(`canary ${this.workflowId} is already handling a ${pending.kind} requested by ${pending.by}`);
    if (kind === 'resume' && !this.state.paused && !this.controls.some((c) => !c.done && c.kind === 'pause')) {
      throw new Error(`canary ${this.workflowId} is not paused: nothing to resume`);
    }
  }

  async control(kind: ControlKind, request: CanaryControlRequest): Promise<CanaryControlResult> {
    const control: Control = { kind, by: request.by.trim(), reason: request.reason?.trim() ?? '', done: false, message: '' };
    this.controls.push(control);
    await condition(() => control.done);
    return { accepted: true, message: control.message, status: this.status() };
  }

  /** Handles queued updates in arrival order; returns the first abort or promote, which ends the canary. */
  private async processControls(): Promise<Control | null> {
    for (const control of this.controls) {
      if (control.done) continue;
      if (control.kind === 'pause') {
        if (this.state.paused) {
          control.message = `already paused by ${this.state.paused.by} (${this.state.paused.reason})`;
        } else {
          this.state.paused = { by: control.by, reason: control.reason || 'paused by a person', at: now(), starved: false };
          await this.decide('paused', control.by, this.state.paused.reason);
          this.setStage('canary-paused', `paused by ${control.by}: ${this.state.paused.reason}`);
          control.message = `paused at ${this.where()}; weights held at ${this.state.weights.candidate}% candidate`;
        }
      } else if (control.kind === 'resume') {
        const was = this.state.paused;
        if (!was) {
          control.message = 'not paused: nothing to resume';
        } else {
          this.state.paused = null;
          if (was.starved && this.state.current) {
            // a person decided to keep waiting for traffic: the extensions start over
            const elapsed = (Date.now() - this.state.current.startedAtMs) / 1000;
            this.state.current.extensions = 0;
            this.state.current.bakeSeconds = Math.max(this.state.current.bakeSeconds, elapsed + this.input.plan.analysisIntervalSeconds);
          }
          await this.decide('resumed', control.by, control.reason || `resumed (was paused by ${was.by})`);
          this.restoreStage();
          control.message = `resumed at ${this.where()}`;
        }
      } else {
        if (control.kind === 'promote') await this.decide('promote-requested', control.by, control.reason || 'skip to 100% and promote');
        control.message = control.kind === 'abort' ? 'aborting: the baseline is being restored' : 'promoting: skipping to 100%';
        control.done = true;
        return control;
      }
      control.done = true;
    }
    return null;
  }

  // --- records --------------------------------------------------------------------------------

  private async decide(kind: CanaryDecisionKind, by: string, reason: string, statistics: MetricStatistics[] = []): Promise<void> {
    const decision: CanaryDecision = {
      seq: this.state.decisions.length + 1,
      at: now(),
      kind,
      by,
      phase: this.state.phase,
      step: this.state.step,
      weights: { ...this.state.weights },
      reason,
    };
    this.state.decisions.push(decision);
    const { model, candidateVersion, baselineVersion } = this.input;
    await acts.recordCanaryDecision.executeWithOptions(options(`record decision ${decision.seq}: ${kind} by ${by}`), [
      { deploymentId: this.workflowId, runKey: this.state.runKey, model, candidateVersion, baselineVersion, decision, statistics },
    ]);
  }

  private async notify(event: 'rolled-back' | 'aborted' | 'paused' | 'promoted', by: string, reason: string): Promise<void> {
    const { model, candidateVersion, baselineVersion, notify } = this.input;
    await tryTo(() =>
      acts.notifyCanary.executeWithOptions(
        options(`notify: ${event}`, { startToCloseTimeout: '30 seconds', retry: { maximumAttempts: 5, initialInterval: '1 second', nonRetryableErrorTypes: FINAL } }),
        [{ ...(notify.webhookUrl ? { webhookUrl: notify.webhookUrl } : {}), notification: { event, deploymentId: this.workflowId, model, candidateVersion, baselineVersion, reason, by } }],
      ),
    );
  }

  private async lineage(reference: string) {
    try {
      return await acts.getModelLineage.executeWithOptions(options(`look up ${reference}`), [{ reference }]);
    } catch (error) {
      if (error instanceof ActivityFailure && error.cause instanceof ApplicationFailure && (error.cause.type === 'NotFound' || error.cause.type === INVALID_INPUT)) {
        throw ApplicationFailure.nonRetryable(`Invalid canary input: ${error.cause.message}`, INVALID_INPUT);
      }
      throw error;
    }
  }

  // --- what people see ------------------------------------------------------------------------

  status(): CanaryStatus {
    const current = this.state.current;
    return {
      model: this.input.model,
      candidateVersion: this.input.candidateVersion,
      baselineVersion: this.input.baselineVersion,
      stage: this.stage(),
      phase: this.state.phase,
      step: this.state.step,
      steps: this.input.plan.steps.length,
      weights: this.state.weights,
      paused: this.state.paused ? { by: this.state.paused.by, reason: this.state.paused.reason, at: this.state.paused.at } : null,
      current: current
        ? { startedAt: new Date(current.startedAtMs).toISOString(), bakeSeconds: Math.round(current.bakeSeconds), extensions: current.extensions, candidateRequests: current.candidateRequests, minRequests: current.minRequests }
        : null,
      metrics: metricStatistics(this.state.judge),
      lastAnalysis: this.state.lastAnalysis,
      decisions: this.state.decisions,
      outcome: this.outcome,
    };
  }

  private stage(): CanaryStage {
    if (this.outcome) return 'done';
    if (this.state.paused) return 'canary-paused';
    switch (this.state.phase) {
      case 'preparing':
        return 'canary-preparing';
      case 'shadow':
        return 'canary-shadow';
      case 'step':
        return `canary-step-${this.state.step}`;
      case 'promoting':
        return 'canary-promoting';
      case 'rolling-back':
        return 'canary-rolling-back';
      case 'done':
        return 'done';
    }
  }

  private where(): string {
    return this.state.phase === 'shadow' ? 'the shadow phase' : `step ${this.state.step} of ${this.input.plan.steps.length}`;
  }

  private setStage(stage: CanaryStage, detail: string): void {
    upsertSearchAttributes([{ key: SEARCH_ATTRIBUTES.stage, value: stage }]);
    setCurrentDetails(`**${stage}**: ${detail}`);
  }

  private restoreStage(): void {
    this.setStage(this.stage(), `${this.where()}, ${this.state.weights.candidate}% to v${this.input.candidateVersion}`);
  }

  private showDetails(): void {
    const analysis = this.state.lastAnalysis;
    setCurrentDetails(
      `**${this.stage()}**: ${this.state.weights.candidate}% to v${this.input.candidateVersion}${this.state.weights.shadow ? ' (shadow)' : ''}` +
        (analysis ? `; waiting for the next analysis in ${this.input.plan.analysisIntervalSeconds}s (last: ${analysis.verdict}, ${analysis.reason})` : ''),
    );
  }
}

function options(summary: string, extra: Partial<ActivityOptions> = {}): ActivityOptions {
  return {
    startToCloseTimeout: '2 minutes',
    retry: { initialInterval: '500 milliseconds', maximumInterval: '30 seconds', nonRetryableErrorTypes: FINAL },
    ...Object.fromEntries(Object.entries(extra).filter(([, v]) => v !== undefined)),
    summary,
  };
}

/** Runs a bookkeeping step whose failure (after Temporal's retries) must not stop the saga. */
async function tryTo(fn: () => Promise<unknown>): Promise<void> {
  try {
    await fn();
  } catch (error) {
    if (isCancellation(error)) throw error;
  }
}

function describe(error: unknown): string {
  if (error instanceof ActivityFailure && error.cause) return error.cause.message;
  return error instanceof Error ? error.message : String(error);
}

function now(): string {
  return new Date().toISOString();
}
