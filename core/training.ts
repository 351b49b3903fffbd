/**
 * The continuous-training pipeline's vocabulary: its validated input (datasets, trainer, policy with
 * optional compliance section, trigger) and the outcome it returns. Pure and shared by the workflow,
 * the activities and the CLI. Reusable parts live in core/training-spec.ts and are re-exported here.
 */
import { z } from 'zod';
import { compliancePolicySchema } from './compliance.ts';
import { deploymentPolicySchema, type CanaryOutcomeKind } from './canary.ts';
import { modelNameSchema } from './registry.ts';
import { dataContractSchema, evaluationPolicySchema, jsonValueSchema, storageUriSchema, textSchema, trainerSchema, triggerSchema } from './training-spec.ts';

export * from './training-spec.ts';

export const continuousTrainingInputSchema = z.object({
  model: modelNameSchema,
  owner: textSchema.optional(),
  datasets: z.object({ train: storageUriSchema, holdout: storageUriSchema }),
  trainer: trainerSchema,
  hyperparameters: z.record(z.string(), jsonValueSchema).default({}),
  policy: z.object({
    dataContract: dataContractSchema,
    evaluation: evaluationPolicySchema.default({ thresholds: {} }),
    /** When present, a registered candidate goes through the compliance gate before it may deploy. */
    compliance: compliancePolicySchema.optional(),
    /** When present, a registered (and approved) candidate is rolled out by a canary against production. */
    deployment: deploymentPolicySchema.optional(),
  }),
  trigger: triggerSchema,
});
export type ContinuousTrainingInput = z.input<typeof continuousTrainingInputSchema>;
export type ContinuousTrainingRequest = z.infer<typeof continuousTrainingInputSchema>;

/** Workflow id from the business key: the same model and commit find the running pipeline. */
export function continuousTrainingWorkflowId(model: string, key: string): string {
  return `ct:${model}:${key}`;
}

export type PipelineStage = 'validating' | 'training' | 'evaluating' | 'registering' | 'compliance' | 'deploying' | 'done';

export type PipelineOutcome =
  | { outcome: 'registered'; model: string; version: number; metrics: Record<string, number>; deployment?: PipelineDeployment }
  | { outcome: 'rejected'; model: string; version: number; reasons: string[]; metrics: Record<string, number>; by?: 'evaluation' | 'compliance' }
  | { outcome: 'failed'; model: string; reason: string; violations?: string[] };

/** What the canary made of a registered candidate (pipelines with a `deployment` policy). */
export type PipelineDeployment =
  | { outcome: CanaryOutcomeKind; canary: string; reason: string }
  | { outcome: 'skipped'; canary: null; reason: string };

export interface StepRecord {
  step: PipelineStage;
  startedAt: string;
  finishedAt: string | null;
  result: 'ok' | 'failed' | null;
  detail: string | null;
}

export interface PipelineStatus {
  stage: PipelineStage;
  steps: StepRecord[];
  metrics: { candidate: Record<string, number> | null; champion: Record<string, number> | null };
  artifacts: Record<string, string>;
  decision: string | null;
}
