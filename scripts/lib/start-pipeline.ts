/**
 * Starting a continuous-training pipeline the way CI, schedules and the drift monitor all must:
 * the workflow id comes from the business key, a start while that pipeline runs attaches to it
 * (USE_EXISTING), and a finished pipeline is only run again for the same key if it failed.
 */
import type { Client, WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import { TASK_QUEUES, WORKFLOW_TYPES } from '../../core/names.ts';
import { continuousTrainingInputSchema, continuousTrainingWorkflowId, type ContinuousTrainingInput } from '../../core/training.ts';

export interface StartedPipeline {
  /** The pipeline for this key: the one just started, or the one already running. */
  handle: WorkflowHandleWithFirstExecutionRunId;
  workflowId: string;
}

export async function startContinuousTraining(client: Client, input: ContinuousTrainingInput, key?: string): Promise<StartedPipeline> {
  const request = continuousTrainingInputSchema.parse(input);
  const businessKey = key ?? request.trigger.codeCommit ?? `${request.trigger.kind}-${Date.now()}`;
  const workflowId = continuousTrainingWorkflowId(request.model, businessKey);
  const handle = await client.workflow.start(WORKFLOW_TYPES.continuousTraining, {
    taskQueue: TASK_QUEUES.orchestration,
    workflowId,
    args: [input],
    workflowIdConflictPolicy: 'USE_EXISTING',
    workflowIdReusePolicy: 'ALLOW_DUPLICATE_FAILED_ONLY',
    staticSummary: `Train ${request.model} (${request.trigger.kind}${request.trigger.codeCommit ? ` @ ${request.trigger.codeCommit}` : ''}) on ${request.trainer.backend}`,
    staticDetails: `requested by ${request.trigger.requestedBy}; data ${request.datasets.train}`,
  });
  return { handle, workflowId };
}
