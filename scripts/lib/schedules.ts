/**
 * Temporal Schedules for Driftline: one per model and purpose, with ids derived from the model so
 * that creating it twice is an error the caller can report, not a second schedule.
 */
import { ScheduleOverlapPolicy, type Client, type ScheduleHandle } from '@temporalio/client';
import { TASK_QUEUES, WORKFLOW_TYPES } from '../../core/names.ts';
import { driftMonitorInputSchema, driftMonitorScheduleId, type DriftMonitorInput } from '../../core/drift-monitor.ts';

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
  });
}
