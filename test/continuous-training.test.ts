/**
 * continuousTraining end to end on the real dev server, executed by the shared Driftline worker with
 * the real local training backend, the bundled example dataset and trainer, and the real registry.
 */
import { WorkflowFailedError } from '@temporalio/client';
import { type ApplicationFailure } from '@temporalio/common';
import { mkdtemp, writeFile, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostgresModelRegistry } from '../activities/registry/postgres-registry.ts';
import { SEARCH_ATTRIBUTES, TASK_QUEUES } from '../core/names.ts';
import { startContinuousTraining } from '../scripts/lib/start-pipeline.ts';
import { continuousTrainingWorkflowId, type PipelineOutcome, type PipelineStatus } from '../core/training.ts';
import type { DriftlineDb } from '../activities/db/database.ts';
import { testClient, testDb } from './helpers/env.ts';
import { CREDIT_HOLDOUT, CREDIT_TRAIN, creditPipeline, REPO_ROOT, resultWithin, sha256File, uniqueModel } from './helpers/pipelines.ts';
import { saveHistoryIfRecording } from './helpers/histories.ts';

let client: Awaited<ReturnType<typeof testClient>>;
let db: DriftlineDb;
let registry: PostgresModelRegistry;

beforeAll(async () => {
  client = await testClient();
  db = testDb();
  registry = new PostgresModelRegistry(db);
});
afterAll(async () => {
  await client?.close();
  await db?.destroy();
});

function runPipeline(input: ReturnType<typeof creditPipeline>, key = '3f2c1d9e') {
  return startContinuousTraining(client.client, input, key);
}

describe('continuousTraining', () => {
  it('registers a candidate with its whole lineage and aliases it challenger', async () => {
    const model = uniqueModel('credit');
    const { handle, workflowId } = await runPipeline(creditPipeline(model));
    expect(workflowId).toBe(continuousTrainingWorkflowId(model, '3f2c1d9e'));
    // a repeated CI job while the pipeline runs attaches to it instead of starting a second one
    const again = await runPipeline(creditPipeline(model));
    expect(again.handle.firstExecutionRunId).toBe(handle.firstExecutionRunId);
    const outcome = await resultWithin<PipelineOutcome>(handle);
    expect(outcome).toMatchObject({ outcome: 'registered', model, version: 1 });

    const version = await registry.getVersion({ model, selector: { kind: 'alias', alias: 'challenger' } });
    expect(version.version).toBe(1);
    expect(version.lineage.code).toEqual({ repository: 'github.com/acme/credit', commit: '3f2c1d9e' });
    expect(version.lineage.trainData).toEqual({ uri: pathToFileURL(CREDIT_TRAIN).href, sha256: await sha256File(CREDIT_TRAIN) });
    expect(version.lineage.holdoutData).toEqual({ uri: pathToFileURL(CREDIT_HOLDOUT).href, sha256: await sha256File(CREDIT_HOLDOUT) });
    expect(version.lineage.parameters).toEqual({ epochs: 200, learningRate: 0.5 });
    expect(version.lineage.training.backend).toBe('local');
    expect(version.workflow?.workflowId).toBe(workflowId);
    // metrics computed by Driftline from the predictions: the model learned something real
    expect(version.lineage.metrics.accuracy).toBeGreaterThan(0.7);
    expect(version.lineage.metrics.rocAuc).toBeGreaterThan(0.7);
    expect(Object.keys(version.lineage.metrics).sort()).toEqual(['accuracy', 'f1', 'logLoss', 'precision', 'recall', 'rocAuc']);
    // the artifact is stored by content
    const artifactPath = new URL(version.lineage.artifact.uri);
    expect(await sha256File(artifactPath.pathname)).toBe(version.lineage.artifact.sha256);

    const status = (await handle.query('status')) as PipelineStatus;
    expect(status.stage).toBe('done');
    expect(status.steps.map((s) => [s.step, s.result])).toEqual([
      ['validating', 'ok'],
      ['training', 'ok'],
      ['evaluating', 'ok'],
      ['registering', 'ok'],
    ]);
    expect(status.decision).toBe('registered v1 as challenger');
    const description = await handle.describe();
    expect(description.typedSearchAttributes.get(SEARCH_ATTRIBUTES.outcome)).toBe('registered');
    expect(description.typedSearchAttributes.get(SEARCH_ATTRIBUTES.version)).toBe(1);
    expect(description.typedSearchAttributes.get(SEARCH_ATTRIBUTES.trigger)).toBe('ci');
    expect(await registry.listRuns(model)).toMatchObject([{ outcome: 'registered', version: 1, workflowId }]);
    await saveHistoryIfRecording('workflows', 'continuous-training-registered', await handle.fetchHistory());

    // once it has succeeded, the same model and commit are not trained again
    await expect(runPipeline(creditPipeline(model))).rejects.toThrow(/already started/i);
  });

  it('fails with every data-contract violation listed, and records why', async () => {
    const model = uniqueModel('credit-bad-data');
    const dir = await mkdtemp(join(tmpdir(), 'driftline-contract-'));
    const lines = (await readFile(CREDIT_TRAIN, 'utf8')).trim().split('\n');
    // drop the label column, add an unknown column, and put a 9-year-old borrower in the data
    const bad = lines.map((line, i) => {
      const cells = line.split(',');
      cells.pop();
      if (i === 0) cells.push('zip_code');
      else cells.push('12345');
      if (i === 5) cells[2] = '9';
      return cells.join(',');
    });
    await writeFile(join(dir, 'train.csv'), `${bad.join('\n')}\n`);
    const input = creditPipeline(model, {});
    input.datasets = { train: pathToFileURL(join(dir, 'train.csv')).href, holdout: input.datasets.holdout };
    const { handle } = await runPipeline(input);
    const error = await resultWithin(handle).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(WorkflowFailedError);
    const cause = (error as WorkflowFailedError).cause as ApplicationFailure;
    expect(cause.type).toBe('PipelineFailed');
    const outcome = cause.details?.[0] as Extract<PipelineOutcome, { outcome: 'failed' }>;
    expect(outcome.outcome).toBe('failed');
    expect(outcome.violations).toEqual([
      'train: column "default" is missing (it is the label)',
      'train: column "zip_code" is not in the data contract',
      'train: column "age" has 9, below the contract\'s minimum 18',
    ]);
    const runs = await registry.listRuns(model);
    expect(runs).toMatchObject([{ outcome: 'failed', version: null }]);
    expect(runs[0]!.reason).toContain('column "default" is missing');
    expect(await db.selectFrom('model_versions').selectAll().where('model_name', '=', model).execute()).toEqual([]);
    const status = (await handle.query('status')) as PipelineStatus;
    expect(status.decision).toContain('failed: the data violate the contract (3 violations)');
  });

  it('rejects a candidate that is worse than the champion, with the reason', async () => {
    const model = uniqueModel('credit-regress');
    const first = await runPipeline(creditPipeline(model), 'c1');
    expect(await resultWithin(first.handle)).toMatchObject({ outcome: 'registered', version: 1 });
    await registry.moveAlias({ model, alias: 'champion', version: 1, actor: 'release-manager', reason: 'first production model', idempotencyKey: `${model}-promote-1` });

    // a candidate that only looks at age: it still learns a little, but clearly less than v1
    const weaker = creditPipeline(model, { hyperparameters: { epochs: 200, learningRate: 0.5, features: ['age'] } });
    weaker.policy.evaluation = { ...weaker.policy.evaluation, thresholds: {} };
    const second = await runPipeline(weaker, 'c2');
    const outcome = await resultWithin<Extract<PipelineOutcome, { outcome: 'rejected' }>>(second.handle);
    expect(outcome.outcome).toBe('rejected');
    expect(outcome.version).toBe(2);
    expect(outcome.reasons).toHaveLength(1);
    expect(outcome.reasons[0]).toMatch(/^rocAuc 0\.\d+ vs champion 0\.\d+: improvement -0\.\d+, 95% interval \[-0\.\d+, -0\.\d+\] reaches below -0\.005$/);

    const v2 = await registry.getVersion({ model, selector: { kind: 'version', version: 2 } });
    expect(v2.status).toBe('rejected');
    expect(v2.statusReason).toBe(outcome.reasons[0]);
    const challenger = await registry.getVersion({ model, selector: { kind: 'alias', alias: 'challenger' } });
    expect(challenger.version).toBe(1);
    const status = (await second.handle.query('status')) as PipelineStatus;
    expect(status.metrics.champion?.rocAuc).toBeGreaterThan(status.metrics.candidate!.rocAuc!);
    expect(status.artifacts.championPredictions).toMatch(/^file:\/\//);
    await saveHistoryIfRecording('workflows', 'continuous-training-rejected', await second.handle.fetchHistory());
  });

  it('fails with a final, readable reason when the trainer writes NaN metrics', async () => {
    const model = uniqueModel('credit-nan');
    const input = creditPipeline(model, { trainer: { backend: 'local', command: ['test/fixtures/trainers/nan-metrics.sh'], workingDirectory: REPO_ROOT } });
    const { handle } = await runPipeline(input);
    const error = (await resultWithin(handle).catch((e: unknown) => e)) as WorkflowFailedError;
    if (!(error instanceof WorkflowFailedError)) throw error; // keep the whole message of anything else
    expect((error.cause as ApplicationFailure).message).toContain('metrics.json is missing or not JSON');
    expect(await registry.listRuns(model)).toMatchObject([{ outcome: 'failed' }]);
    const history = await handle.fetchHistory();
    const trainAttempts = (history.events ?? []).filter((e) => e.activityTaskStartedEventAttributes && e.activityTaskStartedEventAttributes.attempt! > 1);
    expect(trainAttempts).toHaveLength(0); // final: not retried
  });

  it('refuses invalid input before doing anything', async () => {
    // at the edge: the starter validates before it reaches the server
    await expect(runPipeline(creditPipeline('Not A Valid Name'))).rejects.toThrow(/a model name is/);
    // and the workflow itself, for a client that skips the starter
    const handle = await client.client.workflow.start('continuousTraining', {
      taskQueue: TASK_QUEUES.orchestration,
      workflowId: continuousTrainingWorkflowId('invalid', uniqueModel('k')),
      args: [creditPipeline('Not A Valid Name')],
    });
    const error = (await resultWithin(handle).catch((e: unknown) => e)) as WorkflowFailedError;
    expect((error.cause as ApplicationFailure).type).toBe('InvalidInput');
    expect((error.cause as ApplicationFailure).message).toContain('Invalid pipeline input: model: a model name is');
    expect((await handle.fetchHistory()).events?.some((e) => e.activityTaskScheduledEventAttributes)).toBe(false);
  });
});
