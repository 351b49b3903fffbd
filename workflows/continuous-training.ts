/**
 * continuousTraining: validate the data, train, evaluate against the champion on the same holdout,
 * register the candidate with its whole lineage. Started from CI, a schedule, or the drift monitor;
 * its id comes from the business key (`ct:<model>:<commit>`), so a repeated CI job finds this run.
 *
 * Every decision is recorded: a rejected candidate is registered as `rejected` with its reasons; a
 * failed run leaves a `pipeline_runs` row and an audit event before the workflow fails.
 */
import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  executeChild,
  isCancellation,
  patched,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { DatasetValidation } from '../activities/data/activities.ts';
import type { dataActivities } from '../activities/data/activities.ts';
import type { evaluationActivities, EvaluationReport } from '../activities/evaluation/activities.ts';
import type { RegistryActivities } from '../activities/registry/activities.ts';
import type { TrainingActivities } from '../activities/training/activities.ts';
import type { ModelVersionDetails } from '../core/registry.ts';
import { INVALID_INPUT, SEARCH_ATTRIBUTES, TASK_QUEUES } from '../core/names.ts';
import type {
  ContinuousTrainingInput,
  ContinuousTrainingRequest,
  PipelineDeployment,
  PipelineOutcome,
  PipelineStage,
  PipelineStatus,
} from '../core/training.ts';
import { pipelineStatusQuery } from './messages.ts';
import type { ComplianceGateOutcome } from '../core/compliance.ts';
import { canaryWorkflowId, complianceGateWorkflowId } from '../core/workflow-ids.ts';
import { validatedInput } from './input.ts';
import type { complianceGate } from './compliance-gate.ts';
import type { canaryDeployment } from './canary-deployment.ts';
import type { DeployActivities } from '../activities/deploy/activities.ts';

const FINAL = [INVALID_INPUT, 'TrainingFailed', 'NotFound'];

const heavy = proxyActivities<typeof dataActivities & TrainingActivities>({
  taskQueue: TASK_QUEUES.training,
  startToCloseTimeout: '7 days',
  heartbeatTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '1 minute', nonRetryableErrorTypes: FINAL },
});
const deploying = proxyActivities<Pick<DeployActivities, 'resolveCandidateTarget'>>({
  taskQueue: TASK_QUEUES.orchestration,
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds', nonRetryableErrorTypes: FINAL },
});
// Registry writes take milliseconds: a worker that dies during one is noticed (and the write, which
// is idempotent, retried elsewhere) within a minute. Longer work heartbeats instead (evaluation).
const light = proxyActivities<RegistryActivities & typeof evaluationActivities>({
  taskQueue: TASK_QUEUES.orchestration,
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '500 milliseconds', maximumInterval: '30 seconds', nonRetryableErrorTypes: FINAL },
});

function startingStatus(): PipelineStatus {
  return { stage: 'validating', steps: [], metrics: { candidate: null, champion: null }, artifacts: {}, decision: null };
}

export async function continuousTraining(rawInput: ContinuousTrainingInput): Promise<PipelineOutcome> {
  // Handlers first, so a status query during input validation gets an answer.
  let run: PipelineRun | undefined = undefined;
  setHandler(pipelineStatusQuery, () => run?.status ?? startingStatus());
  const input = await validatedInput('continuousTraining', rawInput);
  run = new PipelineRun(input);
  upsertSearchAttributes([
    { key: SEARCH_ATTRIBUTES.model, value: input.model },
    { key: SEARCH_ATTRIBUTES.trigger, value: input.trigger.kind },
  ]);

  try {
    const [train, holdout] = await run.step('validating', 'checking both datasets against the data contract', () =>
      Promise.all([validate(input, input.datasets.train, 'train'), validate(input, input.datasets.holdout, 'holdout')]),
    );
    const violations = [...train.violations, ...holdout.violations];
    if (violations.length > 0) {
      return await run.fail(`the data violate the contract (${violations.length} violation${violations.length > 1 ? 's' : ''})`, violations);
    }

    const { jobKey } = run;
    const trained = await run.step('training', `training on the ${input.trainer.backend} backend`, () =>
      heavy.trainModel.executeWithOptions(activityOptions(`train ${input.model} (${input.trainer.backend})`), [
        {
          jobKey,
          model: input.model,
          trainer: input.trainer,
          hyperparameters: input.hyperparameters,
          trainData: { uri: train.uri, sha256: train.sha256 },
          holdoutData: { uri: holdout.uri, sha256: holdout.sha256 },
        },
      ]),
    );
    run.status.artifacts.model = trained.artifact.uri;

    const report = await run.step('evaluating', 'scoring candidate and champion on the holdout', () => evaluate(input, jobKey, trained.artifact.uri, holdout.uri, run));
    run.status.metrics = { candidate: finiteOnly(report.candidate), champion: report.champion ? finiteOnly(report.champion) : null };

    const outcome = await run.step('registering', 'recording the candidate and its lineage', async () => {
      const record = await light.registerModelVersion.executeWithOptions(
        { startToCloseTimeout: '1 minute', retry: { nonRetryableErrorTypes: FINAL }, summary: `register ${input.model}` },
        [
          {
            model: input.model,
            ...(input.owner ? { owner: input.owner } : {}),
            actor: input.trigger.requestedBy,
            status: report.decision.passed ? 'registered' : 'rejected',
            statusReason: report.decision.passed ? null : report.decision.reasons.join('; '),
            lineage: {
              code: { repository: input.trigger.codeRepository, commit: input.trigger.codeCommit },
              trainData: { uri: train.uri, sha256: train.sha256 },
              holdoutData: { uri: holdout.uri, sha256: holdout.sha256 },
              parameters: input.hyperparameters,
              metrics: finiteOnly(report.candidate),
              artifact: { uri: trained.artifact.uri, sha256: trained.artifact.sha256 },
              training: { backend: trained.backend, jobId: trained.jobId },
            },
          },
        ],
      );
      upsertSearchAttributes([{ key: SEARCH_ATTRIBUTES.version, value: record.version }]);
      if (input.trigger.driftReport) {
        await light.attachModelEvidence({ model: input.model, version: record.version, kind: 'drift-report', ...input.trigger.driftReport, actor: input.trigger.requestedBy });
      }
      if (!report.decision.passed) {
        return { outcome: 'rejected', model: input.model, version: record.version, reasons: report.decision.reasons, metrics: finiteOnly(report.candidate) } as const;
      }
      await light.moveModelAlias({
        model: input.model,
        alias: 'challenger',
        version: record.version,
        actor: input.trigger.requestedBy,
        reason: `passed evaluation${report.comparison ? ` (${report.comparison.metric} ${round(report.comparison.candidate)} vs champion ${round(report.comparison.champion)})` : ''}`,
      });
      return { outcome: 'registered', model: input.model, version: record.version, metrics: finiteOnly(report.candidate) } as const;
    });
    if (outcome.outcome === 'registered' && input.policy.compliance) {
      const gate = await run.step('compliance', 'checks, then signed approvals (see the child compliance gate)', () => comply(input, outcome.version, holdout.uri));
      run.status.artifacts.complianceGate = complianceGateWorkflowId(input.model, outcome.version);
      if (gate.outcome === 'rejected') {
        return await run.finish({ outcome: 'rejected', model: input.model, version: outcome.version, reasons: [`compliance: ${gate.reason}`], metrics: outcome.metrics, by: 'compliance' });
      }
    }
    if (outcome.outcome === 'registered' && input.policy.deployment) {
      const deployment = await run.step('deploying', 'canary against production (see the child canary deployment)', () => deploy(input, outcome.version, trained.artifact.uri));
      if (deployment.canary) run.status.artifacts.canary = deployment.canary;
      return await run.finish({ ...outcome, deployment });
    }
    return await run.finish(outcome);
  } catch (error) {
    if (isCancellation(error)) {
      await CancellationScope.nonCancellable(() => run.record('failed', null, 'cancelled'));
      throw error;
    }
    if (error instanceof ApplicationFailure && error.type === 'PipelineFailed') throw error;
    return await run.fail(describeFailure(error));
  }
}

/** The run's state, its status query, and the one way each outcome is recorded. */
class PipelineRun {
  readonly status: PipelineStatus = startingStatus();
  readonly jobKey: string;

  constructor(private readonly input: ContinuousTrainingRequest) {
    const info = workflowInfo();
    this.jobKey = `${info.workflowId}/${info.runId}`;
  }

  async step<T>(stage: PipelineStage, what: string, fn: () => Promise<T>): Promise<T> {
    this.status.stage = stage;
    const record = { step: stage, startedAt: new Date().toISOString(), finishedAt: null as string | null, result: null as 'ok' | 'failed' | null, detail: what };
    this.status.steps.push(record);
    upsertSearchAttributes([{ key: SEARCH_ATTRIBUTES.stage, value: stage }]);
    setCurrentDetails(`**${stage}**: ${what}`);
    try {
      const result = await fn();
      record.result = 'ok';
      return result;
    } catch (error) {
      record.result = 'failed';
      throw error;
    } finally {
      record.finishedAt = new Date().toISOString();
    }
  }

  async finish(outcome: Extract<PipelineOutcome, { outcome: 'registered' | 'rejected' }>): Promise<PipelineOutcome> {
    this.status.decision =
      outcome.outcome === 'registered'
        ? `registered v${outcome.version} as challenger${this.input.policy.compliance ? ', approved by the compliance gate' : ''}${outcome.deployment ? `; canary ${outcome.deployment.outcome}: ${outcome.deployment.reason}` : ''}`
        : `rejected v${outcome.version}: ${outcome.reasons.join('; ')}`;
    await this.record(outcome.outcome, outcome.version, outcome.outcome === 'rejected' ? outcome.reasons.join('; ') : null);
    this.status.stage = 'done';
    upsertSearchAttributes([
      { key: SEARCH_ATTRIBUTES.stage, value: 'done' },
      { key: SEARCH_ATTRIBUTES.outcome, value: outcome.outcome === 'registered' && outcome.deployment && outcome.deployment.outcome !== 'skipped' ? outcome.deployment.outcome : outcome.outcome },
    ]);
    setCurrentDetails(`**done**: ${this.status.decision}`);
    return outcome;
  }

  /** Records the failure, then fails the workflow with the typed outcome as its details. */
  async fail(reason: string, violations?: string[]): Promise<never> {
    const outcome: PipelineOutcome = { outcome: 'failed', model: this.input.model, reason, ...(violations ? { violations } : {}) };
    this.status.decision = `failed: ${reason}`;
    await this.record('failed', null, violations ? `${reason}: ${violations.join('; ')}` : reason);
    upsertSearchAttributes([{ key: SEARCH_ATTRIBUTES.outcome, value: 'failed' }]);
    setCurrentDetails(`**failed** at ${this.status.stage}: ${reason}`);
    throw ApplicationFailure.nonRetryable(`Pipeline failed: ${reason}${violations ? `: ${violations.join('; ')}` : ''}`, 'PipelineFailed', outcome);
  }

  async record(outcome: 'registered' | 'rejected' | 'failed', version: number | null, reason: string | null): Promise<void> {
    await light.recordPipelineRun({
      model: this.input.model,
      workflowType: 'continuousTraining',
      outcome,
      version,
      reason,
      trigger: this.input.trigger.kind,
      requestedBy: this.input.trigger.requestedBy,
    });
  }
}

/** The compliance gate as a child: its own history, its own id (`cg:<model>:v<n>`), visible in the UI. */
async function comply(input: ContinuousTrainingRequest, version: number, holdoutUri: string): Promise<ComplianceGateOutcome> {
  return executeChild<typeof complianceGate>('complianceGate', {
    workflowId: complianceGateWorkflowId(input.model, version),
    taskQueue: TASK_QUEUES.orchestration,
    staticSummary: `Compliance gate for ${input.model} v${version}`,
    args: [
      {
        model: input.model,
        version,
        requestedBy: input.trigger.requestedBy,
        policy: input.policy.compliance!,
        holdoutUri,
        trainer: input.trainer,
        label: input.policy.dataContract.label,
      },
    ],
  });
}

/**
 * The canary as a child (`canary:<model>:v<n>`): the candidate goes behind the deployment target
 * beside what serves as `production` today, and the canary decides. A promoted candidate also
 * becomes the champion that the next run is evaluated against.
 */
async function deploy(input: ContinuousTrainingRequest, version: number, artifactUri: string): Promise<PipelineDeployment> {
  const policy = input.policy.deployment!;
  const { model } = input;
  const production = await aliasTarget(model, policy.productionAlias);
  if (!production) {
    return { outcome: 'skipped', canary: null, reason: `no version is ${policy.productionAlias} yet, so there is nothing to compare with: v${version} stays registered` };
  }
  const target = await deploying.resolveCandidateTarget.executeWithOptions(
    { startToCloseTimeout: '2 minutes', retry: { nonRetryableErrorTypes: FINAL }, summary: `put v${version} behind the ${policy.target.kind} target` },
    [{ model, version, artifactUri, target: policy.target }],
  );
  const canaryId = canaryWorkflowId(model, version);
  const result = await executeChild<typeof canaryDeployment>('canaryDeployment', {
    workflowId: canaryId,
    taskQueue: TASK_QUEUES.orchestration,
    staticSummary: `Canary of ${model} v${version} against v${production.version}`,
    args: [
      {
        model,
        candidateVersion: version,
        baselineVersion: production.version,
        requestedBy: input.trigger.requestedBy,
        plan: policy.plan,
        target,
        ...(policy.metrics ? { metrics: policy.metrics } : {}),
        notify: policy.notify,
        productionAlias: policy.productionAlias,
      },
    ],
  });
  if (result.outcome === 'promoted') {
    await light.moveModelAlias.executeWithOptions({ startToCloseTimeout: '1 minute', retry: { nonRetryableErrorTypes: FINAL }, summary: `move ${model}@champion to v${version}` }, [
      { model, alias: 'champion', version, actor: input.trigger.requestedBy, reason: `promoted by canary ${canaryId}` },
    ]);
  }
  return { outcome: result.outcome, canary: canaryId, reason: result.reason };
}

async function validate(input: ContinuousTrainingRequest, uri: string, role: 'train' | 'holdout'): Promise<DatasetValidation> {
  return heavy.validateDataset.executeWithOptions(activityOptions(`validate ${role} data ${uri}`), [{ uri, role, contract: input.policy.dataContract }]);
}

async function evaluate(input: ContinuousTrainingRequest, jobKey: string, candidateUri: string, holdoutUri: string, run: PipelineRun): Promise<EvaluationReport> {
  const champion = await currentChampion(input.model);
  const candidate = await heavy.predictWithModel.executeWithOptions(activityOptions('predict the holdout with the candidate'), [
    { jobKey, name: 'candidate', trainer: input.trainer, artifactUri: candidateUri, dataUri: holdoutUri },
  ]);
  run.status.artifacts.candidatePredictions = candidate.predictions.uri;
  let championPredictions: string | null = null;
  if (champion) {
    const predicted = await heavy.predictWithModel.executeWithOptions(activityOptions(`predict the holdout with champion v${champion.version}`), [
      { jobKey, name: `champion-v${champion.version}`, trainer: input.trainer, artifactUri: champion.lineage.artifact.uri, dataUri: holdoutUri },
    ]);
    championPredictions = predicted.predictions.uri;
    run.status.artifacts.championPredictions = championPredictions;
  }
  return light.evaluateCandidate.executeWithOptions(
    // A big holdout may take long; the heartbeat notices a dead worker in 30 s rather than 30 min.
    { startToCloseTimeout: '30 minutes', heartbeatTimeout: '30 seconds', retry: { nonRetryableErrorTypes: FINAL }, summary: champion ? `compare with champion v${champion.version}` : 'evaluate (no champion yet)' },
    [
      {
        task: input.policy.dataContract.task,
        label: input.policy.dataContract.label,
        holdoutUri,
        candidatePredictionsUri: candidate.predictions.uri,
        champion: champion && championPredictions ? { version: champion.version, predictionsUri: championPredictions } : null,
        policy: input.policy.evaluation,
        seed: seedFrom(jobKey),
      },
    ],
  );
}

async function currentChampion(model: string): Promise<ModelVersionDetails | null> {
  return aliasTarget(model, 'champion');
}

/** The version an alias points at, or null when the model or the alias does not exist yet. */
async function aliasTarget(model: string, alias: string): Promise<ModelVersionDetails | null> {
  const options = { startToCloseTimeout: '1 minute', retry: { nonRetryableErrorTypes: FINAL }, summary: `look up ${model}@${alias}` } as const;
  // Histories from before this change looked the alias up with getModelLineage and read its
  // NotFound failure as "none yet".
  if (patched('alias-lookup-answers-null')) return light.findModelVersion.executeWithOptions(options, [{ reference: `${model}@${alias}` }]);
  try {
    return await light.getModelLineage.executeWithOptions(options, [{ reference: `${model}@${alias}` }]);
  } catch (error) {
    if (error instanceof ActivityFailure && error.cause instanceof ApplicationFailure && error.cause.type === 'NotFound') return null;
    throw error;
  }
}

function activityOptions(summary: string) {
  return {
    taskQueue: TASK_QUEUES.training,
    startToCloseTimeout: '7 days',
    heartbeatTimeout: '30 seconds',
    retry: { initialInterval: '1 second', maximumInterval: '1 minute', nonRetryableErrorTypes: FINAL },
    summary,
  } as const;
}

function describeFailure(error: unknown): string {
  if (error instanceof ActivityFailure && error.cause) return error.cause.message;
  return error instanceof Error ? error.message : String(error);
}

function finiteOnly(metrics: object): Record<string, number> {
  return Object.fromEntries(Object.entries(metrics).filter((entry): entry is [string, number] => typeof entry[1] === 'number' && Number.isFinite(entry[1])));
}

/** A 32-bit seed from the run's key (FNV-1a): the same on every retry and replay. */
function seedFrom(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}

function round(value: number): number {
  return Number(value.toPrecision(4));
}
