/**
 * Deployment activities, served on the orchestration queue: prepare a target, move traffic, put the
 * target back, record decisions (table + audit log), store the canary's report as evidence, notify.
 * Each is idempotent; a target that cannot work fails for good (InvalidInput), one that does not
 * answer fails the attempt so Temporal retries it while the canary holds its weights.
 */
import { ApplicationFailure, Context } from '@temporalio/activity';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { DeploymentPolicyTarget, DeploymentTarget, LocalTarget, SageMakerTarget, TrafficWeights } from '../../core/canary.ts';
import type { LocalRouterTarget } from './local-router.ts';
import { INVALID_INPUT } from '../../core/names.ts';
import { DRIFTLINE_METRICS } from '../../core/metrics.ts';
import type { ArtifactStore } from '../artifacts/store.ts';
import type { DriftlineDb } from '../db/database.ts';
import type { ModelRegistry } from '../registry/port.ts';
import { RegistryError } from '../registry/port.ts';
import { recordDecision, type RecordDecisionInput } from './decisions.ts';
import { sendNotification, type CanaryNotification } from './notify.ts';
import { TargetError, type DeploymentTargetAdapter, type PreparedTarget } from './port.ts';

export interface DeployDependencies {
  db: DriftlineDb;
  registry: ModelRegistry;
  artifacts: ArtifactStore;
  /** Where reports are written before they are stored by content. */
  scratchDir: string;
  /** The local target also puts a pipeline's candidate behind the router (`targetForCandidate`). */
  targets: { local: DeploymentTargetAdapter<LocalTarget> & Pick<LocalRouterTarget, 'targetForCandidate'>; sagemaker: DeploymentTargetAdapter<SageMakerTarget> };
}

export interface PrepareCanaryInput {
  deploymentId: string;
  model: string;
  candidateVersion: number;
  baselineVersion: number | null;
  target: DeploymentTarget;
  shadow: boolean;
}

export interface SetCanaryTrafficInput {
  deploymentId: string;
  model: string;
  target: DeploymentTarget;
  prepared: PreparedTarget;
  generation: number;
  weights: TrafficWeights;
}

export interface CandidateTargetInput {
  model: string;
  version: number;
  artifactUri: string;
  target: DeploymentPolicyTarget;
}

export function createDeployActivities(deps: DeployDependencies) {
  const adapter = (target: DeploymentTarget) => deps.targets[target.kind] as DeploymentTargetAdapter;
  return {
    /** Completes a pipeline's deployment policy into a canary target for its candidate (see DeploymentPolicy). */
    async resolveCandidateTarget(input: CandidateTargetInput): Promise<DeploymentTarget> {
      const { target } = input;
      if (target.kind === 'sagemaker') {
        const fill = (text: string) => text.replaceAll('{version}', String(input.version));
        const { modelName } = target.candidateVariant;
        return { ...target, candidateVariant: { ...target.candidateVariant, name: fill(target.candidateVariant.name), ...(modelName ? { modelName: fill(modelName) } : {}) } };
      }
      return finalOnTargetError(() => deps.targets.local.targetForCandidate(target.routerUrl, input.model, input.version, input.artifactUri));
    },

    async prepareCanaryTarget(input: PrepareCanaryInput): Promise<PreparedTarget> {
      const prepared = await finalOnTargetError(() => adapter(input.target).prepare({ deploymentId: input.deploymentId, model: input.model, target: input.target, shadow: input.shadow }));
      await deps.db
        .insertInto('deployments')
        .values({
          deployment_id: input.deploymentId,
          model_name: input.model,
          candidate_version: input.candidateVersion,
          baseline_version: input.baselineVersion,
          target_kind: input.target.kind,
          target: JSON.stringify(input.target),
          weights: JSON.stringify({ baseline: 100, candidate: 0, shadow: false }),
          status: 'active',
        })
        .onConflict((oc) => oc.column('deployment_id').doUpdateSet({ status: 'active', updated_at: new Date() }))
        .execute();
      return prepared;
    },

    async setCanaryTraffic(input: SetCanaryTrafficInput): Promise<TrafficWeights> {
      const applied = await finalOnTargetError(() => adapter(input.target).setTraffic(input));
      await deps.db
        .updateTable('deployments')
        .set({ weights: JSON.stringify(applied), generation: input.generation, updated_at: new Date() })
        .where('deployment_id', '=', input.deploymentId)
        .where('generation', '<=', input.generation)
        .execute();
      return applied;
    },

    async restoreCanaryTarget(input: Omit<SetCanaryTrafficInput, 'weights'>): Promise<TrafficWeights> {
      const applied = await finalOnTargetError(() => adapter(input.target).restore(input));
      await deps.db
        .updateTable('deployments')
        .set({ weights: JSON.stringify(applied), generation: input.generation, updated_at: new Date() })
        .where('deployment_id', '=', input.deploymentId)
        .execute();
      return applied;
    },

    async finishCanaryDeployment(input: { deploymentId: string; status: 'promoted' | 'rolled-back' | 'aborted' }): Promise<void> {
      await deps.db.updateTable('deployments').set({ status: input.status, updated_at: new Date() }).where('deployment_id', '=', input.deploymentId).execute();
    },

    async recordCanaryDecision(input: RecordDecisionInput): Promise<{ created: boolean; auditSeq: number | null }> {
      const recorded = await recordDecision(deps.db, input);
      // counted when first written, so a retried attempt or a replayed canary does not count twice
      if (recorded.created) {
        Context.current().metricMeter.createCounter(DRIFTLINE_METRICS.canaryDecisions, '1', 'Canary decisions, by kind').add(1, { kind: input.decision.kind });
      }
      return recorded;
    },

    async notifyCanary(input: { webhookUrl?: string; notification: CanaryNotification }): Promise<{ delivered: boolean; to: string | null }> {
      Context.current().log.info(`canary ${input.notification.deploymentId}: ${input.notification.event}: ${input.notification.reason}`);
      return sendNotification(input.webhookUrl, input.notification);
    },

    /** Stores the canary's report (decisions and statistics) by content and attaches it to the candidate as evidence. */
    async storeCanaryReport(input: { model: string; version: number; deploymentId: string; actor: string; report: Record<string, unknown> }): Promise<{ uri: string; sha256: string }> {
      await mkdir(deps.scratchDir, { recursive: true });
      const path = join(deps.scratchDir, `canary-report-${input.deploymentId.replace(/[^a-zA-Z0-9._-]/g, '_')}-${process.pid}-${Date.now()}.json`);
      await writeFile(path, `${JSON.stringify(input.report, null, 2)}\n`);
      const stored = await deps.artifacts.put(path);
      try {
        await deps.registry.attachEvidence({ model: input.model, version: input.version, kind: 'canary-report', uri: stored.uri, sha256: stored.sha256, actor: input.actor, workflowId: input.deploymentId });
      } catch (error) {
        if (error instanceof RegistryError) throw ApplicationFailure.nonRetryable(error.message, error.code === 'not-found' ? 'NotFound' : INVALID_INPUT);
        throw error;
      }
      return { uri: stored.uri, sha256: stored.sha256 };
    },
  };
}

export type DeployActivities = ReturnType<typeof createDeployActivities>;

async function finalOnTargetError<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    if (error instanceof TargetError) throw ApplicationFailure.nonRetryable(error.message, INVALID_INPUT);
    throw error;
  }
}

/** Heartbeats when called inside an activity (the SageMaker adapter waits for endpoint updates). */
export { heartbeatIfActivity } from '../heartbeat.ts';
