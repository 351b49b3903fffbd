/**
 * Per-step orchestration overhead, read from Temporal histories (the server's own timestamps).
 *
 * A step is one activity execution. For each activity A in a history:
 *
 *   ready(A)     = time of the WorkflowTaskScheduled event of the workflow task whose completion
 *                  scheduled A: the moment the workflow had what it needed to decide A (the previous
 *                  step completed, the workflow started, an update arrived);
 *   started(A)   = ActivityTaskStarted: a worker took A from the task queue;
 *   completed(A) = ActivityTaskCompleted.
 *
 *   overhead(A)  = started(A) - ready(A)
 *                = decision  (ready -> ActivityTaskScheduled: the workflow task is dispatched to a
 *                             worker, the workflow code runs, the command is persisted)
 *                + dispatch  (ActivityTaskScheduled -> ActivityTaskStarted: the activity task waits
 *                             in its queue and is handed to a worker)
 *   execution(A) = completed(A) - started(A), the step's own work, excluded.
 *
 * Completion → next workflow task scheduled is the same server transaction, so it adds nothing.
 * What this leaves out, and so slightly understates: delivering the started task to the worker
 * process and its reply both fall inside `execution`. Activities retried after a failure are left
 * out (their backoff is policy, not overhead) and counted apart.
 */
import proto from '@temporalio/proto';

const { EventType } = proto.temporal.api.enums.v1;
type HistoryEvent = proto.temporal.api.history.v1.IHistoryEvent;

export interface StepTiming {
  workflowId: string;
  activityType: string;
  readyMs: number;
  scheduledMs: number;
  startedMs: number;
  completedMs: number;
}

export interface HistoryAnalysis {
  steps: StepTiming[];
  /** Activities that needed more than one attempt (left out of `steps`). */
  retried: number;
  /** Time of WorkflowExecutionCompleted, or null if the workflow has not completed. */
  completedMs: number | null;
  startedMs: number | null;
}

export function timestampMs(ts: { seconds?: unknown; nanos?: number | null } | null | undefined): number {
  if (!ts) return NaN;
  return Number(ts.seconds ?? 0) * 1000 + (ts.nanos ?? 0) / 1e6;
}

export function analyseHistory(workflowId: string, events: readonly HistoryEvent[]): HistoryAnalysis {
  const byId = new Map<number, HistoryEvent>();
  for (const event of events) byId.set(Number(event.eventId), event);
  const at = (id: unknown) => timestampMs(byId.get(Number(id))?.eventTime);

  const steps: StepTiming[] = [];
  let retried = 0;
  let completedMs: number | null = null;
  let startedMs: number | null = null;
  for (const event of events) {
    if (event.eventType === EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED) startedMs = timestampMs(event.eventTime);
    if (event.eventType === EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED) completedMs = timestampMs(event.eventTime);
    if (event.eventType !== EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED) continue;
    const done = event.activityTaskCompletedEventAttributes!;
    const scheduled = byId.get(Number(done.scheduledEventId));
    const started = byId.get(Number(done.startedEventId));
    if (!scheduled || !started) continue;
    if ((started.activityTaskStartedEventAttributes?.attempt ?? 1) > 1) {
      retried++;
      continue;
    }
    const decidedBy = byId.get(Number(scheduled.activityTaskScheduledEventAttributes!.workflowTaskCompletedEventId));
    const readyMs = at(decidedBy?.workflowTaskCompletedEventAttributes?.scheduledEventId);
    steps.push({
      workflowId,
      activityType: scheduled.activityTaskScheduledEventAttributes!.activityType?.name ?? '?',
      readyMs,
      scheduledMs: timestampMs(scheduled.eventTime),
      startedMs: timestampMs(started.eventTime),
      completedMs: timestampMs(event.eventTime),
    });
  }
  return { steps: steps.filter((s) => Number.isFinite(s.readyMs)), retried, completedMs, startedMs };
}

export interface Distribution {
  count: number;
  medianMs: number;
  p99Ms: number;
  meanMs: number;
  maxMs: number;
}

/** Nearest-rank percentile of an ascending array. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1]!;
}

export function distribution(values: readonly number[]): Distribution {
  const sorted = [...values].sort((a, b) => a - b);
  const sum = sorted.reduce((a, b) => a + b, 0);
  const round = (v: number) => Math.round(v * 1000) / 1000;
  return {
    count: sorted.length,
    medianMs: round(percentile(sorted, 50)),
    p99Ms: round(percentile(sorted, 99)),
    meanMs: round(sorted.length ? sum / sorted.length : NaN),
    maxMs: round(sorted.at(-1) ?? NaN),
  };
}

export interface OverheadReport {
  overhead: Distribution;
  decision: Distribution;
  dispatch: Distribution;
  execution: Distribution;
}

export function overheadOf(steps: readonly StepTiming[]): OverheadReport {
  return {
    overhead: distribution(steps.map((s) => s.startedMs - s.readyMs)),
    decision: distribution(steps.map((s) => s.scheduledMs - s.readyMs)),
    dispatch: distribution(steps.map((s) => s.startedMs - s.scheduledMs)),
    execution: distribution(steps.map((s) => s.completedMs - s.startedMs)),
  };
}
