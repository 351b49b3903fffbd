/**
 * What the canary workflow decides about its input itself: defaults, and the shape of a control
 * request (pause/resume/abort/promote), checked in the update validators. Free of zod (types only
 * from ./canary.ts), because every module a workflow imports is evaluated again for each workflow
 * (workflows/input.ts); `canaryControlSchema` is the same rule for the CLI, held equal by
 * test/workflow-input.test.ts.
 */
import type { DeploymentTarget, MetricsSource } from './canary.ts';

/** The default before judge v2, kept for canaries that started under it. */
export const V1_ANALYSIS_INTERVAL_SECONDS = 60;

/** The metrics source used when the input names none. */
export function defaultMetricsSource(target: DeploymentTarget): MetricsSource {
  return target.kind === 'local' ? { kind: 'local' } : { kind: 'cloudwatch', namespace: 'AWS/SageMaker', periodSeconds: 60, lagSeconds: 120 };
}

/** Why a control request is malformed (the rule of `canaryControlSchema`), or null. */
export function controlRequestProblem(request: unknown): string | null {
  if (typeof request !== 'object' || request === null || Array.isArray(request)) return 'expected an object { by, reason? }';
  const { by, reason } = request as Record<string, unknown>;
  if (typeof by !== 'string') return 'by: expected a text';
  const who = by.trim();
  if (who.length < 1 || who.length > 512) return 'by: expected 1 to 512 characters (surrounding blanks ignored)';
  if (reason !== undefined && typeof reason !== 'string') return 'reason: expected a text';
  if (typeof reason === 'string' && reason.trim().length > 2048) return 'reason: expected at most 2048 characters';
  return null;
}
