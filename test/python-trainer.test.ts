/**
 * The Python example trainer (scikit-learn) through the same `local` contract: a pipeline in
 * another language registers a real model. Needs a Python with scikit-learn: DRIFTLINE_PYTHON, or
 * the venv made by scripts/setup-python.sh. CI always has it (DRIFTLINE_REQUIRE_PYTHON=1 makes a
 * missing one an error rather than a skip).
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostgresModelRegistry } from '../activities/registry/postgres-registry.ts';
import type { DriftlineDb } from '../activities/db/database.ts';
import type { PipelineOutcome } from '../core/training.ts';
import { startContinuousTraining } from '../scripts/lib/start-pipeline.ts';
import { testClient, testDb } from './helpers/env.ts';
import { creditPipeline, REPO_ROOT, uniqueModel } from './helpers/pipelines.ts';

function findPython(): string | undefined {
  const venv = fileURLToPath(new URL('../.driftline/venv/bin/python', import.meta.url));
  for (const candidate of [process.env.DRIFTLINE_PYTHON, existsSync(venv) ? venv : undefined, 'python3']) {
    if (!candidate) continue;
    try {
      execFileSync(candidate, ['-c', 'import sklearn, joblib, numpy'], { stdio: 'ignore' });
      return candidate;
    } catch {
      // no scikit-learn there
    }
  }
  if (process.env.DRIFTLINE_REQUIRE_PYTHON === '1') throw new Error('No Python with scikit-learn: run scripts/setup-python.sh or set DRIFTLINE_PYTHON.');
  return undefined;
}

const python = findPython();
let client: Awaited<ReturnType<typeof testClient>>;
let db: DriftlineDb;

beforeAll(async () => {
  client = await testClient();
  db = testDb();
});
afterAll(async () => {
  await client?.close();
  await db?.destroy();
});

describe('the scikit-learn example trainer', () => {
  it.runIf(python)('trains and registers through the local backend', { timeout: 120_000 }, async () => {
    const model = uniqueModel('credit-sklearn');
    const input = creditPipeline(model, {
      trainer: { backend: 'local', command: [python!, 'scripts/examples/trainers/sklearn_logistic.py'], workingDirectory: REPO_ROOT },
      hyperparameters: { C: 1.0 },
    });
    const { handle } = await startContinuousTraining(client.client, input, 'sklearn');
    const outcome = (await handle.result()) as PipelineOutcome;
    expect(outcome).toMatchObject({ outcome: 'registered', version: 1 });
    const version = await new PostgresModelRegistry(db).getVersion({ model, selector: { kind: 'version', version: 1 } });
    expect(version.lineage.artifact.uri).toMatch(/\.joblib$/);
    expect(version.lineage.metrics.rocAuc).toBeGreaterThan(0.7);
    expect(version.lineage.parameters).toEqual({ C: 1.0 });
  });
});
