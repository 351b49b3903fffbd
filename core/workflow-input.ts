/**
 * Validation of a workflow's input against its schema, with the one-line problem each workflow
 * reports. Runs outside the workflow sandbox — in the worker's `validateWorkflowInput` local
 * activity — so the schemas are built once per worker process rather than once per workflow
 * (workflows/input.ts says why), and for workflows that started before that change, inside it.
 */
import type { z } from 'zod';
import { canaryInputSchema, type CanaryRequest } from './canary.ts';
import { complianceGateInputSchema, describeIssue, type ComplianceGateRequest } from './compliance.ts';
import { driftMonitorInputSchema } from './drift-monitor.ts';
import { continuousTrainingInputSchema, type ContinuousTrainingRequest } from './training.ts';

/** The parsed (defaulted) input of each workflow that validates its own input. */
export interface WorkflowRequests {
  continuousTraining: ContinuousTrainingRequest;
  complianceGate: ComplianceGateRequest;
  canaryDeployment: CanaryRequest;
  driftMonitor: z.infer<typeof driftMonitorInputSchema>;
}
export type ValidatedWorkflow = keyof WorkflowRequests;

export type InputValidation<W extends ValidatedWorkflow> = { valid: true; input: WorkflowRequests[W] } | { valid: false; problem: string };

const firstIssue = (error: z.ZodError) => {
  const issue = error.issues[0]!;
  return `${issue.path.join('.')}: ${issue.message}`;
};

const RULES: { [W in ValidatedWorkflow]: { schema: z.ZodType<WorkflowRequests[W]>; problem: (error: z.ZodError) => string } } = {
  continuousTraining: { schema: continuousTrainingInputSchema, problem: (e) => `Invalid pipeline input: ${firstIssue(e)}` },
  complianceGate: { schema: complianceGateInputSchema, problem: (e) => `Invalid compliance gate input: ${describeIssue(e)}` },
  canaryDeployment: { schema: canaryInputSchema, problem: (e) => `Invalid canary input: ${firstIssue(e)}` },
  driftMonitor: { schema: driftMonitorInputSchema, problem: (e) => `Invalid drift monitor input: ${firstIssue(e)}` },
};

export function validateInputOf<W extends ValidatedWorkflow>(workflow: W, raw: unknown): InputValidation<W> {
  const rule = RULES[workflow] as (typeof RULES)[W] | undefined;
  if (!rule) return { valid: false, problem: `no input schema for workflow ${String(workflow)}` };
  const parsed = rule.schema.safeParse(raw);
  return parsed.success ? { valid: true, input: parsed.data } : { valid: false, problem: rule.problem(parsed.error) };
}
