/**
 * driftMonitor: one check of a model's latest production window, started by the model's Temporal
 * Schedule. It records every check (drift, no drift, or a window that could not be read) in the
 * registry and the audit log, and on drift starts `continuousTraining` with trigger `drift`, unless
 * one is already running for the model or the cool-down since the last one has not passed.
 *
 * Each run is short and bounded, so history limits never build up; the schedule's overlap policy
 * (skip) keeps ticks from piling up behind a slow check.
 */
import {
  ActivityFailure,
  ParentClosePolicy,
  proxyActivities,
  setCurrentDetails,
  startChild,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { RegistryActivities } from '../activities/registry/activities.ts';
import type { createDriftActivities } from '../activities/drift/activities.ts';
import { INVALID_INPUT, SEARCH_ATTRIBUTES, TASK_QUEUES } from '../core/names.ts';
import type { DriftMonitorInput, DriftMonitorOutcome, RetrainingDecision } from '../core/drift-monitor.ts';
import type { WorkflowRequests } from '../core/workflow-input.ts';
import { driftRetrainingWorkflowId } from '../core/workflow-ids.ts';
import { validatedInput } from './input.ts';
import type { continuousTraining } from './continuous-training.ts';

const FINAL = [INVALID_INPUT, 'NotFound'];

const monitoring = proxyActivities<ReturnType<typeof createDriftActivities>>({
  taskQueue: TASK_QUEUES.training,
  startToCloseTimeout: '2 hours',
  retry: { initialInterval: '2 seconds', maximumInterval: '1 minute', maximumAttempts: 10, nonRetryableErrorTypes: FINAL },
});
const registry = proxyActivities<RegistryActivities>({
  taskQueue: TASK_QUEUES.orchestration,
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '500 milliseconds', maximumInterval: '30 seconds', nonRetryableErrorTypes: FINAL },
});

export async function driftMonitor(rawInput: DriftMonitorInput): Promise<DriftMonitorOutcome> {
  const input = await validatedInput('driftMonitor', rawInput);
  upsertSearchAttributes([
    { key: SEARCH_ATTRIBUTES.model, value: input.model },
    { key: SEARCH_ATTRIBUTES.stage, value: 'checking-drift' },
    { key: SEARCH_ATTRIBUTES.trigger, value: 'schedule' },
  ]);
  setCurrentDetails(`**checking drift** of ${input.window} against ${input.reference}`);

  let check;
  try {
    check = await monitoring.checkDrift.executeWithOptions(
      {
        taskQueue: TASK_QUEUES.training,
        startToCloseTimeout: '2 hours',
        retry: { initialInterval: '2 seconds', maximumInterval: '1 minute', maximumAttempts: 10, nonRetryableErrorTypes: FINAL },
        summary: `drift of ${input.window}`,
      },
      [{ reference: input.reference, window: input.window, ...(input.policy ? { policy: input.policy } : {}) }],
    );
  } catch (error) {
    // A window that cannot be read (missing, malformed, wrong columns) is recorded, not fatal: the
    // next tick checks the next window. Transient faults were already retried by Temporal.
    const reason = error instanceof ActivityFailure && error.cause ? error.cause.message : String(error);
    await registry.recordDriftCheck({ model: input.model, window: { uri: input.window }, status: 'failed', reason, actor: 'drift-monitor' });
    finish('window-failed', `window could not be checked: ${reason}`);
    return { outcome: 'window-failed', model: input.model, reason };
  }

  await registry.recordDriftCheck({
    model: input.model,
    window: check.window,
    status: check.datasetDrift ? 'drift' : 'no-drift',
    driftShare: check.driftShare,
    driftedColumns: check.driftedColumns,
    report: check.report,
    actor: 'drift-monitor',
  });
  if (!check.datasetDrift) {
    finish('no-drift', `no drift: ${percent(check.driftShare)} of columns drifted`);
    return { outcome: 'no-drift', model: input.model, driftShare: check.driftShare, report: check.report };
  }

  const retraining = await maybeRetrain(input, check.report);
  finish('drift', `drift in ${check.driftedColumns.join(', ')}; retraining ${retraining.action}`);
  return { outcome: 'drift', model: input.model, driftShare: check.driftShare, driftedColumns: check.driftedColumns, report: check.report, retraining };
}

async function maybeRetrain(input: WorkflowRequests['driftMonitor'], report: { uri: string; sha256: string }): Promise<RetrainingDecision> {
  if (!input.retraining) return { action: 'not-configured' };
  const last = await registry.lastPipelineRun({ model: input.model, trigger: 'drift' });
  if (last) {
    const until = new Date(Date.parse(last.finishedAt) + input.retraining.cooldownMinutes * 60_000);
    if (until.getTime() > Date.now()) return { action: 'cooling-down', until: until.toISOString() };
  }
  const workflowId = driftRetrainingWorkflowId(input.model);
  const pipeline = input.retraining.pipeline;
  try {
    await startChild<typeof continuousTraining>('continuousTraining', {
      workflowId,
      taskQueue: TASK_QUEUES.orchestration,
      // The retraining outlives this check: it is the model's, not the monitor's.
      parentClosePolicy: ParentClosePolicy.ABANDON,
      staticSummary: `Retrain ${input.model}: drift detected (report ${report.uri})`,
      args: [
        {
          ...pipeline,
          trigger: { kind: 'drift', requestedBy: 'drift-monitor', codeCommit: pipeline.trigger.codeCommit, codeRepository: pipeline.trigger.codeRepository, driftReport: report },
        },
      ],
    });
    return { action: 'started', workflowId };
  } catch (error) {
    if (error instanceof WorkflowExecutionAlreadyStartedError) return { action: 'already-running', workflowId };
    throw error;
  }
}

function finish(outcome: string, details: string): void {
  upsertSearchAttributes([
    { key: SEARCH_ATTRIBUTES.stage, value: 'done' },
    { key: SEARCH_ATTRIBUTES.outcome, value: outcome },
  ]);
  setCurrentDetails(details);
}

function percent(share: number): string {
  return `${Math.round(share * 1000) / 10}%`;
}
