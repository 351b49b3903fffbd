/**
 * canaryDeployment on the SageMaker target, over HTTP against moto_server: the endpoint's variant
 * weights are set at each step with UpdateEndpointWeightsAndCapacities, and the baseline's weights are
 * restored on rollback. Per-variant metrics come from CloudWatch (moto's), where a traffic simulator
 * publishes what SageMaker would: Invocations, Invocation5XXErrors and ModelLatency per variant,
 * split by the weights the endpoint has at that moment (moto runs no model containers).
 */
import { CloudWatchClient, PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { CreateEndpointCommand, CreateEndpointConfigCommand, CreateModelCommand, DescribeEndpointCommand, SageMakerClient } from '@aws-sdk/client-sagemaker';
import { bundleWorkflowCode, type WorkflowBundle } from '@temporalio/worker';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createArtifactStore } from '../activities/artifacts/store.ts';
import type { DriftlineDb } from '../activities/db/database.ts';
import { createCanaryActivities } from '../activities/deploy/index.ts';
import { createActivities } from '../activities/index.ts';
import { PostgresModelRegistry } from '../activities/registry/postgres-registry.ts';
import type { CanaryInput, CanaryOutcome } from '../core/canary.ts';
import { WORKFLOWS_PATH } from '../workers/worker.ts';
import { registerVersions, type TrainedModel } from './fixtures/canary/models.ts';
import { testClient, testDb, uniqueId, withWorker } from './helpers/env.ts';
import { sha } from './helpers/lineage.ts';
import { uniqueModel } from './helpers/pipelines.ts';

const moto = inject('motoEndpoint');
const REGION = 'us-east-1';
const credentials = { accessKeyId: 'testing', secretAccessKey: 'testing' };

let client: Awaited<ReturnType<typeof testClient>>;
let db: DriftlineDb;
let registry: PostgresModelRegistry;
let sagemaker: SageMakerClient;
let cloudwatch: CloudWatchClient;
let bundle: WorkflowBundle;
let home: string;

beforeAll(async () => {
  if (!moto) return;
  client = await testClient();
  db = testDb();
  registry = new PostgresModelRegistry(db);
  sagemaker = new SageMakerClient({ endpoint: moto, region: REGION, credentials });
  cloudwatch = new CloudWatchClient({ endpoint: moto, region: REGION, credentials });
  bundle = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: { trace() {}, debug() {}, info() {}, warn() {}, error: console.error, log() {} } as never });
  home = await mkdtemp(join(tmpdir(), 'driftline-canary-sm-'));
});

afterAll(async () => {
  sagemaker?.destroy();
  cloudwatch?.destroy();
  await client?.close();
  await db?.destroy();
});

/** An endpoint whose configuration has the baseline (weight 1) and the candidate (weight 0). */
async function endpoint(prefix: string): Promise<string> {
  const name = `${prefix}-${uniqueId('ep').slice(-8)}`;
  for (const variant of ['v1', 'v2']) {
    await sagemaker.send(
      new CreateModelCommand({
        ModelName: `${name}-${variant}`,
        ExecutionRoleArn: 'arn:aws:iam::123456789012:role/sagemaker',
        PrimaryContainer: { Image: `123456789012.dkr.ecr.${REGION}.amazonaws.com/credit:${variant}` },
      }),
    );
  }
  await sagemaker.send(
    new CreateEndpointConfigCommand({
      EndpointConfigName: `${name}-config`,
      ProductionVariants: [
        { VariantName: 'v1', ModelName: `${name}-v1`, InstanceType: 'ml.m5.large', InitialInstanceCount: 1, InitialVariantWeight: 1 },
        { VariantName: 'v2', ModelName: `${name}-v2`, InstanceType: 'ml.m5.large', InitialInstanceCount: 1, InitialVariantWeight: 0 },
      ],
    }),
  );
  await sagemaker.send(new CreateEndpointCommand({ EndpointName: name, EndpointConfigName: `${name}-config` }));
  return name;
}

async function weightsOf(name: string): Promise<Record<string, number>> {
  const described = await sagemaker.send(new DescribeEndpointCommand({ EndpointName: name }));
  return Object.fromEntries((described.ProductionVariants ?? []).map((v) => [v.VariantName!, v.CurrentWeight ?? 0]));
}

/**
 * Publishes, every 200 ms, the CloudWatch metrics of 40 requests split by the endpoint's current
 * weights. Keeps every distinct weight it saw. Bounded: stops on `stop()` or after 120 s.
 */
function simulateTraffic(name: string, candidateErrorRate: number) {
  const seen: Array<Record<string, number>> = [];
  let stopped = false;
  const deadline = Date.now() + 120_000;
  let seed = 12345;
  const random = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
  const loop = (async () => {
    while (!stopped && Date.now() < deadline) {
      const weights = await weightsOf(name);
      const last = seen.at(-1);
      if (!last || last.v1 !== weights.v1 || last.v2 !== weights.v2) seen.push(weights);
      const total = (weights.v1 ?? 0) + (weights.v2 ?? 0) || 1;
      let candidate = 0;
      for (let i = 0; i < 40; i++) if (random() < (weights.v2 ?? 0) / total) candidate++;
      const data = [];
      for (const [variant, count, errorRate] of [['v1', 40 - candidate, 0.01], ['v2', candidate, candidateErrorRate]] as const) {
        if (count === 0) continue;
        let errors = 0;
        for (let i = 0; i < count; i++) if (random() < errorRate) errors++;
        const dims = [{ Name: 'EndpointName', Value: name }, { Name: 'VariantName', Value: variant }];
        const at = new Date();
        data.push(
          { MetricName: 'Invocations', Dimensions: dims, Value: count, Unit: 'None' as const, Timestamp: at },
          { MetricName: 'Invocation5XXErrors', Dimensions: dims, Value: errors, Unit: 'None' as const, Timestamp: at },
          { MetricName: 'ModelLatency', Dimensions: dims, Value: 20_000 * (0.9 + 0.2 * random()), Unit: 'Microseconds' as const, Timestamp: at },
        );
      }
      if (data.length) await cloudwatch.send(new PutMetricDataCommand({ Namespace: 'AWS/SageMaker', MetricData: data }));
      await new Promise((r) => setTimeout(r, 200));
    }
  })();
  return {
    seen,
    async stop() {
      stopped = true;
      await loop;
    },
  };
}

function canaryActivities() {
  const artifacts = createArtifactStore(join(home, 'artifacts'));
  return {
    ...createActivities({ db, home }).orchestration,
    ...createCanaryActivities({ db, registry, artifacts, scratchDir: join(home, 'canary'), sagemaker: () => sagemaker, cloudwatch: () => cloudwatch, endpointPollMs: 100 }),
  };
}

async function runCanary(name: string, model: string, steps: CanaryInput['plan']['steps']): Promise<CanaryOutcome> {
  const input: CanaryInput = {
    model,
    candidateVersion: 2,
    baselineVersion: 1,
    requestedBy: 'ci@github',
    plan: { steps, analysisIntervalSeconds: 1 },
    target: { kind: 'sagemaker', endpointName: name, region: REGION, baselineVariant: 'v1', candidateVariant: { name: 'v2' } },
    metrics: { kind: 'cloudwatch', periodSeconds: 1, lagSeconds: 1 },
  };
  return withWorker({ workflowBundle: bundle, activities: canaryActivities() }, (taskQueue) =>
    client.client.workflow.execute('canaryDeployment', { taskQueue, workflowId: `canary:${model}:v2`, args: [input] }),
  ) as Promise<CanaryOutcome>;
}

const fakeModels = (model: string): TrainedModel[] => [1, 2].map((v) => ({ path: '', uri: `s3://acme-ml/${model}/v${v}/model.tar.gz`, sha256: sha(`${model}-${v}`) }));

describe('canaryDeployment on a SageMaker endpoint (moto over HTTP)', () => {
  it.runIf(moto)('sets the variant weights at every step and promotes a healthy candidate', { timeout: 150_000 }, async () => {
    const name = await endpoint('good');
    const model = uniqueModel('sm-good');
    await registerVersions(registry, model, fakeModels(model));
    await registry.moveAlias({ model, alias: 'production', version: 1, actor: 'release-manager', reason: 'first release', idempotencyKey: `${model}-prod` });
    const traffic = simulateTraffic(name, 0.01);
    const outcome = await runCanary(name, model, [
      { weight: 5, minBakeSeconds: 2, minRequests: 5 },
      { weight: 25, minBakeSeconds: 2, minRequests: 5 },
      { weight: 50, minBakeSeconds: 2, minRequests: 5 },
      { weight: 100, minBakeSeconds: 1, minRequests: 5 },
    ]);
    await traffic.stop();

    expect(outcome, outcome.reason).toMatchObject({ outcome: 'promoted', previousProduction: 1 });
    // the endpoint went through every step's weights, in order
    const candidateWeights = traffic.seen.map((w) => w.v2);
    expect(candidateWeights.filter((w, i) => w !== candidateWeights[i - 1])).toEqual([0, 0.05, 0.25, 0.5, 1]);
    expect(await weightsOf(name)).toEqual({ v1: 0, v2: 1 });
    expect(outcome.decisions.filter((d) => d.kind === 'step-passed').map((d) => d.weights.candidate)).toEqual([5, 25, 50, 100]);
    expect(outcome.metrics.find((m) => m.name === 'error-rate')!.candidate.n).toBeGreaterThan(20);
    expect((await registry.getVersion({ model, selector: { kind: 'alias', alias: 'production' } })).version).toBe(2);
  });

  it.runIf(moto)('rolls a failing candidate back and restores the baseline\'s weights', { timeout: 150_000 }, async () => {
    const name = await endpoint('bad');
    const model = uniqueModel('sm-bad');
    await registerVersions(registry, model, fakeModels(model));
    await registry.moveAlias({ model, alias: 'production', version: 1, actor: 'release-manager', reason: 'first release', idempotencyKey: `${model}-prod` });
    const traffic = simulateTraffic(name, 0.3);
    const outcome = await runCanary(name, model, [
      { weight: 25, minBakeSeconds: 60, minRequests: 5 },
      { weight: 100, minBakeSeconds: 60, minRequests: 5 },
    ]);
    await traffic.stop();

    expect(outcome.outcome, outcome.reason).toBe('rolled-back');
    expect(outcome.reason).toMatch(/^error-rate regressed/);
    expect(traffic.seen.map((w) => w.v2)).toContain(0.25);
    expect(await weightsOf(name)).toEqual({ v1: 1, v2: 0 });
    expect(outcome.finalWeights).toEqual({ baseline: 100, candidate: 0, shadow: false });
    expect((await registry.getVersion({ model, selector: { kind: 'alias', alias: 'production' } })).version).toBe(1);
  });
});
