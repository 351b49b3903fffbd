/**
 * Workflow ids that carry a rule (one gate per version, one canary per version, one drift-triggered
 * retraining per model at a time). Kept free of zod and of any other dependency: workflows import
 * it, and every module a workflow imports is evaluated again for each workflow (workflows/input.ts).
 */

/** Workflow id of a standalone gate for one version (`cg:<model>:v<version>`). */
export function complianceGateWorkflowId(model: string, version: number): string {
  return `cg:${model}:v${version}`;
}

/** Workflow id of a canary: one canary per model version. */
export function canaryWorkflowId(model: string, candidateVersion: number): string {
  return `canary:${model}:v${candidateVersion}`;
}

/** Fixed per model: at most one drift-triggered retraining runs at a time. */
export function driftRetrainingWorkflowId(model: string): string {
  return `ct:${model}:drift`;
}
