/**
 * Inputs for continuous-training tests, built on the bundled example dataset and trainer.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { WorkflowHandle } from '@temporalio/client';
import type { ContinuousTrainingInput } from '../../core/training.ts';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const CREDIT_TRAIN = fileURLToPath(new URL('../../scripts/examples/credit/train.csv', import.meta.url));
export const CREDIT_HOLDOUT = fileURLToPath(new URL('../../scripts/examples/credit/holdout.csv', import.meta.url));
export const JS_TRAINER = ['node', 'scripts/examples/trainers/logistic-regression.mjs'];

export function uniqueModel(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}

export async function sha256File(path: string): Promise<string> {
  return createHash('sha256').update(await readFile(path)).digest('hex');
}

export function creditPipeline(model: string, overrides: Partial<ContinuousTrainingInput> = {}): ContinuousTrainingInput {
  return {
    model,
    owner: 'credit-risk',
    datasets: { train: pathToFileURL(CREDIT_TRAIN).href, holdout: pathToFileURL(CREDIT_HOLDOUT).href },
    trainer: { backend: 'local', command: JS_TRAINER, workingDirectory: REPO_ROOT },
    hyperparameters: { epochs: 200, learningRate: 0.5 },
    policy: {
      dataContract: {
        label: 'default',
        task: 'binary-classification',
        minRows: 500,
        minClassShare: 0.1,
        columns: {
          income: { type: 'numeric', min: 0 },
          debt_ratio: { type: 'numeric', min: 0, max: 2 },
          age: { type: 'numeric', min: 18, max: 120 },
          late_payments: { type: 'numeric', min: 0 },
          employment: { type: 'categorical', allowed: ['salaried', 'self-employed', 'unemployed'] },
        },
      },
      evaluation: {
        thresholds: { accuracy: { min: 0.6 } },
        champion: { metric: 'rocAuc', maxRegression: 0.005, confidence: 0.95, resamples: 300 },
      },
    },
    trigger: { kind: 'ci', codeCommit: '3f2c1d9e', codeRepository: 'github.com/acme/credit', requestedBy: 'ci@github' },
    ...overrides,
  };
}

/**
 * The workflow's result, or, if it takes longer than `timeoutMs`, an error that says where it is
 * stuck (its status query and pending activities), so a slow CI run is diagnosable.
 */
export async function resultWithin<T>(handle: WorkflowHandle, timeoutMs = 150_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      void (async () => {
        const status = await handle.query('status').catch((e: unknown) => `(no status: ${String(e)})`);
        const description = await handle.describe().catch(() => undefined);
        const pending = description?.raw.pendingActivities?.map((a) => ({
          type: a.activityType?.name,
          state: a.state,
          attempt: a.attempt,
          lastFailure: a.lastFailure?.message,
          heartbeat: a.lastHeartbeatTime?.seconds?.toString(),
        }));
        reject(new Error(`${handle.workflowId} did not finish in ${timeoutMs / 1000}s; status ${JSON.stringify(status)}; pending activities ${JSON.stringify(pending)}`));
      })();
    }, timeoutMs);
  });
  try {
    return (await Promise.race([handle.result(), timeout])) as T;
  } finally {
    clearTimeout(timer);
  }
}
