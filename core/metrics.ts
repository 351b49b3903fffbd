/**
 * Names of Driftline's own Prometheus metrics. Dashboards and alerts refer to them, so they are a
 * public contract like the names in names.ts. Labels: the SDK's metric meter adds `namespace`,
 * `taskQueue` and `workflowType` (from workflows) or `activityType` (from activities).
 */
export const DRIFTLINE_METRICS = {
  /** counter {stage}: workflows that entered a stage (DriftlineStage). */
  stageEntered: 'driftline_workflow_stage_entered',
  /** counter {outcome}: workflows that reached an outcome (DriftlineOutcome). */
  outcomes: 'driftline_workflow_outcomes',
  /** histogram (seconds) {outcome: completed | failed | cancelled}: one activity attempt. */
  activityDuration: 'driftline_activity_duration_seconds',
  /** counter {kind}: canary decisions, counted once, when first written. */
  canaryDecisions: 'driftline_canary_decisions',
} as const;
