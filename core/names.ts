/**
 * Names every part of Driftline shares: task queues, workflow types and search attributes.
 * They are part of the public contract (CI templates, schedules and dashboards refer to them),
 * so they change only with a migration plan.
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const TASK_QUEUES = {
  /** Orchestration and light activities (registry writes, statistics, notifications). */
  orchestration: 'driftline',
  /** Training and other heavy activities, so GPU workers can scale apart. */
  training: 'driftline-training',
} as const;

export type TaskQueueName = (typeof TASK_QUEUES)[keyof typeof TASK_QUEUES];

export const WORKFLOW_TYPES = {
  continuousTraining: 'continuousTraining',
  complianceGate: 'complianceGate',
  canaryDeployment: 'canaryDeployment',
  driftMonitor: 'driftMonitor',
} as const;

export const SEARCH_ATTRIBUTES = {
  model: defineSearchAttributeKey('DriftlineModel', SearchAttributeType.KEYWORD),
  version: defineSearchAttributeKey('DriftlineVersion', SearchAttributeType.INT),
  stage: defineSearchAttributeKey('DriftlineStage', SearchAttributeType.KEYWORD),
  trigger: defineSearchAttributeKey('DriftlineTrigger', SearchAttributeType.KEYWORD),
  outcome: defineSearchAttributeKey('DriftlineOutcome', SearchAttributeType.KEYWORD),
} as const;

/** The search attributes as `Name=Type` pairs, the form the Temporal CLI takes. */
export const SEARCH_ATTRIBUTE_FLAGS: readonly string[] = Object.values(SEARCH_ATTRIBUTES).map(
  (key) => `${key.name}=${cliTypeName(key.type)}`,
);

function cliTypeName(type: SearchAttributeType): string {
  switch (type) {
    case SearchAttributeType.KEYWORD:
      return 'Keyword';
    case SearchAttributeType.INT:
      return 'Int';
    case SearchAttributeType.TEXT:
      return 'Text';
    case SearchAttributeType.DOUBLE:
      return 'Double';
    case SearchAttributeType.BOOL:
      return 'Bool';
    case SearchAttributeType.DATETIME:
      return 'Datetime';
    case SearchAttributeType.KEYWORD_LIST:
      return 'KeywordList';
  }
}

/** Failure type for bad input: final, never retried (see DESIGN.md, "Errors and input"). */
export const INVALID_INPUT = 'InvalidInput';
