/**
 * The parts of a continuous-training pipeline that other parts reuse: data contract, evaluation
 * gates and metrics, trainer specs and triggers. Kept apart from core/training.ts (the pipeline's
 * input and outcome) so that the compliance and deployment vocabularies can use them without an
 * import cycle. Pure.
 */
import { z } from 'zod';
import { sha256Schema } from './artifacts.ts';

export const storageUriSchema = z.string().min(1).max(2048).refine((v) => v.startsWith('file://') || v.startsWith('s3://'), {
  message: 'must be a file:// or s3:// URI',
});
export const textSchema = z.string().trim().min(1).max(512);
type Json = string | number | boolean | null | Json[] | { [key: string]: Json };
export const jsonValueSchema: z.ZodType<Json> = z.lazy(() =>
  z.union([z.string(), z.number().finite(), z.boolean(), z.null(), z.array(jsonValueSchema), z.record(z.string(), jsonValueSchema)]),
);

export const columnRuleSchema = z.object({
  type: z.enum(['numeric', 'categorical', 'binary']),
  /** Share of rows allowed to miss this column (0 = never missing). */
  maxMissingRatio: z.number().min(0).max(1).default(0),
  min: z.number().finite().optional(),
  max: z.number().finite().optional(),
  /** For categorical columns: the only values allowed. */
  allowed: z.array(z.string()).optional(),
});
export type ColumnRule = z.infer<typeof columnRuleSchema>;

export const dataContractSchema = z.object({
  label: textSchema,
  task: z.enum(['binary-classification', 'regression']),
  columns: z.record(z.string().min(1), columnRuleSchema),
  minRows: z.number().int().positive().default(1),
  /** Binary classification: the rarer class must make up at least this share of rows. */
  minClassShare: z.number().min(0).max(0.5).optional(),
  /** Columns the contract does not name are a violation unless allowed. */
  allowExtraColumns: z.boolean().default(false),
});
export type DataContract = z.infer<typeof dataContractSchema>;

export const METRIC_DIRECTIONS = {
  accuracy: 'higher',
  precision: 'higher',
  recall: 'higher',
  f1: 'higher',
  rocAuc: 'higher',
  logLoss: 'lower',
  rmse: 'lower',
  mae: 'lower',
  r2: 'higher',
} as const;
export type MetricName = keyof typeof METRIC_DIRECTIONS;
export const metricNameSchema = z.enum(Object.keys(METRIC_DIRECTIONS) as [MetricName, ...MetricName[]]);

export const evaluationPolicySchema = z.object({
  /** Absolute gates on the candidate, e.g. { f1: { min: 0.8 }, logLoss: { max: 0.5 } }. */
  thresholds: z.partialRecord(metricNameSchema, z.object({ min: z.number().optional(), max: z.number().optional() })).default({}),
  /**
   * Comparison with the current champion on the same holdout: the candidate passes when the lower
   * end of the paired-bootstrap confidence interval of its improvement in `metric` is above
   * `-maxRegression`. Noise therefore never counts as an improvement, nor as a regression.
   */
  champion: z
    .object({
      metric: metricNameSchema,
      maxRegression: z.number().min(0).default(0),
      confidence: z.number().gt(0.5).lt(1).default(0.95),
      resamples: z.number().int().min(100).max(20_000).default(1000),
    })
    .optional(),
});
export type EvaluationPolicy = z.infer<typeof evaluationPolicySchema>;

export const localTrainerSchema = z.object({
  backend: z.literal('local'),
  /** argv of the trainer; Driftline appends `train …` or `predict …` (see README, trainer contract). */
  command: z.array(z.string().min(1)).min(1),
  workingDirectory: z.string().optional(),
  env: z.record(z.string(), z.string()).default({}),
});

export const sagemakerTrainerSchema = z.object({
  backend: z.literal('sagemaker'),
  image: textSchema,
  roleArn: z.string().regex(/^arn:aws[a-z-]*:iam::\d{12}:role\/.+/, 'must be an IAM role ARN'),
  instanceType: z.string().regex(/^ml\.[a-z0-9]+\.[a-z0-9]+$/, 'must be a SageMaker instance type such as ml.g5.xlarge'),
  instanceCount: z.number().int().positive().default(1),
  volumeSizeGb: z.number().int().positive().default(30),
  maxRuntimeSeconds: z.number().int().positive().default(24 * 3600),
  outputS3Uri: z.string().startsWith('s3://'),
  spot: z.object({ maxWaitSeconds: z.number().int().positive(), checkpointS3Uri: z.string().startsWith('s3://') }).optional(),
  transformInstanceType: z.string().regex(/^ml\.[a-z0-9]+\.[a-z0-9]+$/).default('ml.m5.large'),
});

export const trainerSchema = z.discriminatedUnion('backend', [localTrainerSchema, sagemakerTrainerSchema]);
export type TrainerSpec = z.infer<typeof trainerSchema>;

export const triggerSchema = z.object({
  kind: z.enum(['ci', 'schedule', 'drift', 'manual']),
  codeCommit: textSchema.nullable().default(null),
  codeRepository: textSchema.nullable().default(null),
  requestedBy: textSchema,
  /** The drift report that triggered a `drift` run, by reference. */
  driftReport: z.object({ uri: storageUriSchema, sha256: sha256Schema }).nullable().default(null),
});

