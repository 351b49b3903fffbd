/**
 * continuousTraining with a deployment policy: after registration the pipeline asks the router to
 * host the candidate, starts `canaryDeployment` as a child against what serves as `production`,
 * and ends with the canary's verdict. `driftline run --wait` exits 0 when the candidate is promoted
 * and 12 when the canary rolls it back. Real router, real model servers, real traffic.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { DriftlineDb } from '../activities/db/database.ts';
import { PostgresModelRegistry } from '../activities/registry/postgres-registry.ts';
import type { CanaryPlanInput } from '../core/canary.ts';
import type { ContinuousTrainingInput } from '../core/training.ts';
import { startRouter, type Router } from '../scripts/lib/router/router.ts';
import { holdoutRows, registerVersions, trainExampleModel, type TrainedModel } from './fixtures/canary/models.ts';
import { startTraffic } from './fixtures/canary/traffic.ts';
import { testDb } from './helpers/env.ts';
import { creditPipeline, uniqueModel } from './helpers/pipelines.ts';
import { runCli } from './helpers/processes.ts';

let db: DriftlineDb;
let registry: PostgresModelRegistry;
let router: Router;
let dir: string;
let baselineModel: TrainedModel;
let rows: Array<Record<string, string | number>>;
const closers: Array<() => Promise<unknown>> = [];
const env = () => ({ ...process.env, TEMPORAL_ADDRESS: inject('temporalAddress'), TEMPORAL_NAMESPACE: inject('temporalNamespace') });

beforeAll(async () => {
  db = testDb();
  registry = new PostgresModelRegistry(db);
  dir = await mkdtemp(join(tmpdir(), 'driftline-ct-canary-'));
  baselineModel = await trainExampleModel(join(dir, 'baseline'), { epochs: 200, learningRate: 0.5 });
  rows = await holdoutRows();
  router = await startRouter({ db, flushIntervalMs: 100 });
  closers.push(() => router.close());
});

afterAll(async () => {
  for (const close of closers.reverse()) await close().catch(() => {});
  await db?.destroy();
});

/** v1 registered, `production` and `champion`, served by the router (hosted there), traffic flowing. */
async function productionModel(prefix: string): Promise<string> {
  const model = uniqueModel(prefix);
  await registerVersions(registry, model, [baselineModel]);
  for (const alias of ['production', 'champion']) {
    await registry.moveAlias({ model, alias, version: 1, actor: 'release-manager', reason: 'first release', idempotencyKey: `${model}-${alias}-1` });
  }
  const hosted = await fetch(`${router.url}/admin/servers/${model}/v1`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ artifact: baselineModel.uri }) });
  expect(hosted.status, await hosted.clone().text()).toBe(200);
  const { url } = (await hosted.json()) as { url: string };
  const put = await fetch(`${router.url}/admin/routes/${model}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ deploymentId: 'initial', generation: 0, baselineUrl: url, candidateUrl: null, weights: { baseline: 100, candidate: 0, shadow: false } }),
  });
  expect(put.status).toBe(200);
  const traffic = startTraffic({ url: `${router.url}/models/${model}/predict`, rows, concurrency: 2, pauseMs: 10, maxSeconds: 150 });
  closers.push(() => traffic.stop());
  return model;
}

const plan: CanaryPlanInput = {
  shadow: { durationSeconds: 2, minRequests: 20, maxDivergence: 0.15 },
  steps: [
    { weight: 25, minBakeSeconds: 2, minRequests: 10 },
    { weight: 100, minBakeSeconds: 1, minRequests: 5 },
  ],
  analysisIntervalSeconds: 1,
  // Latency between two model servers on a loaded 2-core machine is noise, not signal, here.
  judge: { latency: { enabled: false } },
};

async function runPipeline(model: string, overrides: Partial<ContinuousTrainingInput>, policy: Partial<ContinuousTrainingInput['policy']>): Promise<{ code: number | null; output: string }> {
  const pipeline = creditPipeline(model, overrides);
  pipeline.policy = { ...pipeline.policy, ...policy, deployment: { plan, target: { kind: 'local', routerUrl: router.url } } };
  const config = join(dir, `${model}.json`);
  await writeFile(config, JSON.stringify(pipeline));
  return runCli(['run', '--config', config, '--key', 'canary', '--wait'], env());
}

describe('continuousTraining hands a registered candidate to a canary', () => {
  it('promotes a good candidate: production and champion move to v2, run --wait exits 0', { timeout: 240_000 }, async () => {
    const model = await productionModel('ct-canary-good');
    const result = await runPipeline(model, {}, {});
    expect(result.output).toMatch(new RegExp(`canary canary:${model}:v2: promoted`));
    expect(result.code, result.output).toBe(0);
    const production = await registry.getVersion({ model, selector: { kind: 'alias', alias: 'production' } });
    const champion = await registry.getVersion({ model, selector: { kind: 'alias', alias: 'champion' } });
    expect([production.version, champion.version]).toEqual([2, 2]);
    // the router now sends everything to the candidate's hosted server
    const route = (await (await fetch(`${router.url}/admin/routes/${model}`)).json()) as { weights: { candidate: number } };
    expect(route.weights.candidate).toBe(100);
  });

  it('rolls back a candidate whose predictions diverge: aliases stay on v1, run --wait exits 12', { timeout: 240_000 }, async () => {
    const model = await productionModel('ct-canary-bad');
    // A barely trained model: predictions near 0.5 for everyone, far from the baseline's. Evaluation
    // only checks a floor here, so it registers; the canary's shadow phase is what must catch it.
    const result = await runPipeline(model, { hyperparameters: { epochs: 1, learningRate: 0.001 } }, { evaluation: { thresholds: {} } });
    expect(result.output).toMatch(new RegExp(`canary canary:${model}:v2: rolled-back`));
    expect(result.code, result.output).toBe(12);
    const production = await registry.getVersion({ model, selector: { kind: 'alias', alias: 'production' } });
    const champion = await registry.getVersion({ model, selector: { kind: 'alias', alias: 'champion' } });
    expect([production.version, champion.version]).toEqual([1, 1]);
    const route = (await (await fetch(`${router.url}/admin/routes/${model}`)).json()) as { weights: { baseline: number; candidate: number; shadow: boolean } };
    expect(route.weights).toEqual({ baseline: 100, candidate: 0, shadow: false });
  });
});
