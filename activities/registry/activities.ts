/**
 * Registry activities, served on the `driftline` task queue. Each turns a registry refusal into a
 * final (non-retryable) failure and leaves transient database faults to Temporal's retry policy.
 * Idempotency keys default to the calling activity's identity (workflow id, run id, activity id),
 * which stays the same across retries: a retried registration returns the same version.
 */
import { ApplicationFailure, Context } from '@temporalio/activity';
import { INVALID_INPUT } from '../../core/names.ts';
import {
  parseModelReference,
  type AliasMoveRecord,
  type ApprovalRecord,
  type AttachEvidenceInput,
  type EvidenceRecord,
  type ModelVersionDetails,
  type ModelVersionRecord,
  type MoveAliasInput,
  type RecordApprovalInput,
  type RegisterVersionInput,
  type RecordRunInput,
  type RecordDriftCheckInput,
} from '../../core/registry.ts';
import { RegistryError, type ModelRegistry } from './port.ts';

export const NOT_FOUND = 'NotFound';

type Keyed<T> = Omit<T, 'idempotencyKey' | 'workflow' | 'workflowId'> & { idempotencyKey?: string };

export function createRegistryActivities(registry: ModelRegistry) {
  return {
    async registerModelVersion(input: Keyed<RegisterVersionInput>): Promise<ModelVersionRecord> {
      const caller = callerIdentity();
      return finalOnRefusal(async () =>
        (await registry.registerVersion({ ...input, idempotencyKey: input.idempotencyKey ?? caller.key, workflow: caller.workflow })).value,
      );
    },
    async moveModelAlias(input: Keyed<MoveAliasInput>): Promise<AliasMoveRecord> {
      const caller = callerIdentity();
      return finalOnRefusal(async () =>
        (await registry.moveAlias({ ...input, idempotencyKey: input.idempotencyKey ?? caller.key, workflow: caller.workflow })).value,
      );
    },
    async attachModelEvidence(input: Keyed<AttachEvidenceInput>): Promise<EvidenceRecord> {
      const caller = callerIdentity();
      return finalOnRefusal(async () => (await registry.attachEvidence({ ...input, workflowId: caller.workflow?.workflowId ?? null })).value);
    },
    async recordModelApproval(input: Keyed<RecordApprovalInput>): Promise<ApprovalRecord> {
      const caller = callerIdentity();
      return finalOnRefusal(async () =>
        (
          await registry.recordApproval({
            ...input,
            idempotencyKey: input.idempotencyKey ?? caller.key,
            workflowId: caller.workflow?.workflowId ?? null,
          })
        ).value,
      );
    },
    async recordPipelineRun(input: Omit<RecordRunInput, 'workflowId' | 'runId'>) {
      const { workflow } = callerIdentity();
      if (!workflow) throw ApplicationFailure.nonRetryable('recordPipelineRun must be called from a workflow', INVALID_INPUT);
      return finalOnRefusal(async () => (await registry.recordRun({ ...input, workflowId: workflow.workflowId, runId: workflow.runId })).value);
    },
    async recordDriftCheck(input: Omit<RecordDriftCheckInput, 'workflowId' | 'runId'>) {
      const { workflow } = callerIdentity();
      if (!workflow) throw ApplicationFailure.nonRetryable('recordDriftCheck must be called from a workflow', INVALID_INPUT);
      return finalOnRefusal(async () => (await registry.recordDriftCheck({ ...input, workflowId: workflow.workflowId, runId: workflow.runId })).value);
    },
    /** When the last pipeline run with this trigger finished, or null: the drift monitor's cool-down clock. */
    async lastPipelineRun(input: { model: string; trigger: string }): Promise<{ finishedAt: string; outcome: string } | null> {
      const runs = await registry.listRuns(input.model, { trigger: input.trigger });
      const last = runs.at(-1);
      return last ? { finishedAt: last.finishedAt, outcome: last.outcome } : null;
    },
    async getModelLineage(input: { reference: string }): Promise<ModelVersionDetails> {
      return finalOnRefusal(() => lookUp(registry, input.reference));
    },
    /**
     * Like getModelLineage, but a model, version or alias that does not exist yet is an answer
     * (null), not a failure: a first pipeline has no champion, and a failed activity is logged by
     * the worker as a warning with its stack and kept in the history as a failure.
     */
    async findModelVersion(input: { reference: string }): Promise<ModelVersionDetails | null> {
      return finalOnRefusal(async () => {
        try {
          return await lookUp(registry, input.reference);
        } catch (error) {
          if (error instanceof RegistryError && error.code === 'not-found') return null;
          throw error;
        }
      });
    },
  };
}

async function lookUp(registry: ModelRegistry, text: string): Promise<ModelVersionDetails> {
  let reference;
  try {
    reference = parseModelReference(text);
  } catch (error) {
    throw new RegistryError('invalid', `Invalid model reference "${text}": ${(error as Error).message}`);
  }
  return registry.getVersion(reference);
}

export type RegistryActivities = ReturnType<typeof createRegistryActivities>;

function callerIdentity(): { key: string; workflow: { workflowId: string; runId: string } | null } {
  const info = Context.current().info;
  const execution = info.workflowExecution;
  if (!execution) return { key: `activity/${info.activityId}`, workflow: null };
  const { workflowId, runId } = execution;
  return { key: `${workflowId}/${runId}/${info.activityId}`, workflow: { workflowId, runId } };
}

async function finalOnRefusal<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    if (error instanceof RegistryError) {
      throw ApplicationFailure.nonRetryable(error.message, error.code === 'not-found' ? NOT_FOUND : INVALID_INPUT);
    }
    throw error;
  }
}
