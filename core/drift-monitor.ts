/**
 * The drift monitor's vocabulary. A Temporal Schedule starts one short `driftMonitor` run per tick
 * (cron); each run checks the latest window against the model's reference profile, records the
 * report, and starts a retraining when the policy is breached. Debouncing lives in Temporal itself:
 * the retraining's workflow id is fixed per model, so a second start while one runs is refused.
 */
import { z } from 'zod';
import { modelNameSchema } from './registry.ts';
import { continuousTrainingInputSchema } from './training.ts';

export { driftRetrainingWorkflowId } from './workflow-ids.ts';

const uri = z.string().min(1).max(2048).refine((v) => v.startsWith('file://') || v.startsWith('s3://'), {
  message: 'must be a file:// or s3:// URI',
});

export const driftMonitorInputSchema = z.object({
  model: modelNameSchema,
  /** The reference: a profile fitted from the training data (`driftline drift profile`), or a dataset. */
  reference: uri,
  /** Where the latest production window is published (the producer overwrites it each period). */
  window: uri,
  /** Drift policy (see core/drift/policy.ts); the defaults apply when absent. */
  policy: z.record(z.string(), z.unknown()).optional(),
  retraining: z
    .object({
      /** The pipeline to run on drift; its trigger is replaced by a `drift` trigger carrying the report. */
      pipeline: continuousTrainingInputSchema,
      /** No new drift-triggered retraining until this long after the last one finished. */
      cooldownMinutes: z.number().int().min(0).default(360),
    })
    .optional(),
});
export type DriftMonitorInput = z.input<typeof driftMonitorInputSchema>;

export interface DriftCheckSummary {
  window: { uri: string; sha256: string };
  report: { uri: string; sha256: string };
  htmlReport: { uri: string; sha256: string } | null;
  datasetDrift: boolean;
  driftShare: number;
  driftedColumns: string[];
  insufficientColumns: string[];
}

export type RetrainingDecision =
  | { action: 'started'; workflowId: string }
  | { action: 'already-running'; workflowId: string }
  | { action: 'cooling-down'; until: string }
  | { action: 'not-configured' };

export type DriftMonitorOutcome =
  | { outcome: 'no-drift'; model: string; driftShare: number; report: { uri: string; sha256: string } }
  | { outcome: 'drift'; model: string; driftShare: number; driftedColumns: string[]; report: { uri: string; sha256: string }; retraining: RetrainingDecision }
  | { outcome: 'window-failed'; model: string; reason: string };

export function driftMonitorScheduleId(model: string): string {
  return `drift-monitor:${model}`;
}
