/**
 * Temporal Schedules for Driftline: one per model and purpose, with ids derived from the model so
 * that creating it twice is an error the caller can report, not a second schedule.
 */
import { ScheduleOverlapPolicy, type Client, type ScheduleHandle } from '@temporalio/client';
import { TASK_QUEUES, WORKFLOW_TYPES } from '../../core/names.ts';
import { driftMonitorInputSchema, driftMonitorScheduleId, type DriftMonitorInput } from '../../core/drift-monitor.ts';
import { continuousTrainingInputSchema, type ContinuousTrainingInput } from '../../core/training.ts';

export type OverlapName = 'skip' | 'buffer-one' | 'buffer-all' | 'cancel-other' | 'terminate-other' | 'allow-all';

export const OVERLAP_POLICIES: Record<OverlapName, ScheduleOverlapPolicy> = {
  skip: ScheduleOverlapPolicy.SKIP,
  'buffer-one': ScheduleOverlapPolicy.BUFFER_ONE,
  'buffer-all': ScheduleOverlapPolicy.BUFFER_ALL,
  'cancel-other': ScheduleOverlapPolicy.CANCEL_OTHER,
  'terminate-other': ScheduleOverlapPolicy.TERMINATE_OTHER,
  'allow-all': ScheduleOverlapPolicy.ALLOW_ALL,
};

export function trainingScheduleId(model: string): string {
  return `retrain:${model}`;
}

/** Retraining on a cron: each tick starts continuousTraining with trigger `schedule`. */
export async function createTrainingSchedule(
  client: Client,
  input: ContinuousTrainingInput,
  options: DriftMonitorScheduleOptions & { overlap?: OverlapName },
): Promise<ScheduleHandle> {
  const pipeline = continuousTrainingInputSchema.parse(input);
  const scheduleId = trainingScheduleId(pipeline.model);
  return client.schedule.create({
    scheduleId,
    spec: { cronExpressions: options.cron, ...(options.timezone ? { timezone: options.timezone } : {}) },
    action: {
      type: 'startWorkflow',
      workflowType: WORKFLOW_TYPES.continuousTraining,
      taskQueue: TASK_QUEUES.orchestration,
      workflowId: `ct:${pipeline.model}:scheduled`,
      args: [{ ...input, trigger: { ...input.trigger, kind: 'schedule', requestedBy: `schedule:${scheduleId}` } }],
      staticSummary: `Scheduled retraining of ${pipeline.model}`,
    },
    policies: { overlap: OVERLAP_POLICIES[options.overlap ?? 'skip'], catchupWindow: '1 hour' },
    state: { paused: options.paused ?? false, ...(options.note ? { note: options.note } : {}) },
    memo: { cron: options.cron, model: pipeline.model },
  });
}

export interface DriftMonitorScheduleOptions {
  /** Cron expressions, e.g. ['0 * * * *'] for hourly. */
  cron: string[];
  timezone?: string;
  note?: string;
  paused?: boolean;
}

export async function createDriftMonitorSchedule(client: Client, input: DriftMonitorInput, options: DriftMonitorScheduleOptions): Promise<ScheduleHandle> {
  const monitor = driftMonitorInputSchema.parse(input);
  return client.schedule.create({
    scheduleId: driftMonitorScheduleId(monitor.model),
    spec: { cronExpressions: options.cron, ...(options.timezone ? { timezone: options.timezone } : {}) },
    action: {
      type: 'startWorkflow',
      workflowType: WORKFLOW_TYPES.driftMonitor,
      taskQueue: TASK_QUEUES.orchestration,
      // The schedule appends the fire time, so each check is its own short run.
      workflowId: `drift-monitor:${monitor.model}`,
      args: [input],
      staticSummary: `Drift check of ${monitor.model}: ${monitor.window} vs ${monitor.reference}`,
    },
    // A slow check is never stacked behind another one: the next tick is skipped instead.
    policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 hour' },
    state: { paused: options.paused ?? false, ...(options.note ? { note: options.note } : {}) },
    // The server keeps cron strings only as calendar specs; the memo keeps what the user wrote.
    memo: { cron: options.cron, model: monitor.model },
  });
}
