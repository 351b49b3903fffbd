/**
 * The SageMaker training backend over real HTTP against moto_server (S3 and SageMaker), alone and
 * under Temporal: the job it creates, reuse instead of a second job after a retried activity, and
 * cancellation.
 *
 * What moto (5.x) can and cannot show, which shapes these tests:
 *  - stock moto marks a training or transform job `Completed` the moment it is created, with
 *    ModelArtifacts at `<S3OutputPath>/<job name>/output/model.tar.gz`, but writes nothing to S3:
 *    the tests put the model and the transform output there themselves;
 *  - a second Create with the same name silently replaces the job (no ResourceInUse), so "one job"
 *    is also checked by counting the CreateTrainingJob requests the client sent;
 *  - stock moto has no running state and no StopTrainingJob (HTTP 500). The test harness starts
 *    moto through test/fixtures/moto/moto_server_sagemaker.py, which gives training jobs a lifecycle
 *    through moto's own state manager (stock behaviour by default; held InProgress on request) and
 *    implements StopTrainingJob. The cancellation test still probes for both and is skipped (not
 *    passed) against a moto that lacks them.
 */
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import {
  CreateTrainingJobCommand,
  DescribeModelCommand,
  DescribeTrainingJobCommand,
  DescribeTransformJobCommand,
  ListTrainingJobsCommand,
  SageMakerClient,
  StopTrainingJobCommand,
} from '@aws-sdk/client-sagemaker';
import { ApplicationFailure, Context } from '@temporalio/activity';
import { WorkflowFailedError } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createArtifactStore } from '../activities/artifacts/store.ts';
import { createTrainingActivities } from '../activities/training/activities.ts';
import { LocalTrainingBackend } from '../activities/training/local-backend.ts';
import { TrainingFailed, type JobHooks, type Progress, type TrainingRequest } from '../activities/training/port.ts';
import { predictionNames, predictionOutputPrefix, SageMakerTrainingBackend, trainingJobName, type SageMakerTrainer } from '../activities/training/sagemaker-backend.ts';
import { testClient, uniqueId, withWorker } from './helpers/env.ts';
import { withSageMakerLifecycle } from './helpers/moto.ts';

const EventType = temporal.api.enums.v1.EventType;
const workflowsPath = fileURLToPath(new URL('./fixtures/workflows/training.ts', import.meta.url));
const REGION = 'us-east-1';
const credentials = { accessKeyId: 'testing', secretAccessKey: 'testing' };
const moto = inject('motoEndpoint');

// The artifact store reaches S3 through the SDK's own settings: point this test process at moto.
const savedEnv = { ...process.env };
if (moto) Object.assign(process.env, { AWS_ENDPOINT_URL: moto, AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing', AWS_REGION: REGION });

/** A SageMaker client on moto that records the name of every command it sends. */
function sagemaker(options: { maxAttempts?: number } = {}): { client: SageMakerClient; sent: string[] } {
  const client = new SageMakerClient({ endpoint: moto!, region: REGION, credentials, ...options });
  const sent: string[] = [];
  client.middlewareStack.add(
    (next, context) => (args) => {
      sent.push(context.commandName ?? 'unknown');
      return next(args);
    },
    { step: 'initialize', name: 'recordCommands' },
  );
  return { client, sent };
}

/**
 * Whether this moto can show a job while it runs and stop it: a fresh job must be InProgress and
 * StopTrainingJob must answer like AWS. Returns why not, or undefined when it can.
 */
async function setTrainingJobTransition(transition: Record<string, unknown>): Promise<void> {
  const response = await fetch(`${moto}/moto-api/state-manager/set-transition`, {
    method: 'POST',
    body: JSON.stringify({ model_name: 'sagemaker::training_job', transition }),
  });
  if (!response.ok) throw new Error(`moto state manager refused the transition: HTTP ${response.status}`);
}

/** Keep new training jobs InProgress until stopped (moto's default completes them at once). */
const holdJobsRunning = () => setTrainingJobTransition({ progression: 'manual', times: 1_000_000 });
const completeJobsAtOnce = () => setTrainingJobTransition({ progression: 'immediate' });

async function motoCannotCancel(): Promise<string | undefined> {
  if (!moto) return 'moto is not installed';
  const held = await holdJobsRunning().then(
    () => true,
    () => false,
  );
  if (!held) return 'moto cannot represent it: its state manager has no sagemaker::training_job model';
  const { client } = sagemaker({ maxAttempts: 1 });
  const name = `probe-${randomBytes(6).toString('hex')}`;
  await client.send(
    new CreateTrainingJobCommand({
      TrainingJobName: name,
      AlgorithmSpecification: { TrainingImage: 'probe', TrainingInputMode: 'File' },
      RoleArn: 'arn:aws:iam::123456789012:role/probe',
      OutputDataConfig: { S3OutputPath: 's3://probe/out' },
      ResourceConfig: { InstanceType: 'ml.m5.large', InstanceCount: 1, VolumeSizeInGB: 1 },
      StoppingCondition: { MaxRuntimeInSeconds: 60 },
    }),
  );
  const status = (await client.send(new DescribeTrainingJobCommand({ TrainingJobName: name }))).TrainingJobStatus;
  // AWS answers a stop of a finished job with a ValidationException; an unimplemented call is a 5xx.
  const stop = await client.send(new StopTrainingJobCommand({ TrainingJobName: name })).then(
    () => 'ok',
    (error: { name?: string; $metadata?: { httpStatusCode?: number } }) =>
      error.name === 'ValidationException' ? 'ok' : `HTTP ${error.$metadata?.httpStatusCode ?? '?'} (${error.name})`,
  );
  client.destroy();
  await completeJobsAtOnce();
  const reasons = [
    ...(status === 'InProgress' ? [] : [`a new training job is ${status} at once, never InProgress`]),
    ...(stop === 'ok' ? [] : [`StopTrainingJob is not implemented (it answers ${stop})`]),
  ];
  return reasons.length ? `moto cannot represent it: ${reasons.join('; ')}` : undefined;
}

const cannotCancel = moto ? await withSageMakerLifecycle(moto, motoCannotCancel) : 'moto is not installed';
if (moto && cannotCancel) console.warn(`sagemaker-backend.test.ts: cancellation test skipped, ${cannotCancel}`);

let bucket: string;
let s3: S3Client;
let workRoot: string;
let temporalClient: Awaited<ReturnType<typeof testClient>>;
const trainCsv = 'age,income,default\n25,30000,0\n52,81000,1\n37,45000,0\n';
const holdoutCsv = 'age,income,default\n41,52000,1\n29,33000,0\n';
const scoreCsv = 'age,income\n33,40000\n58,90000\n22,21000\n';

beforeAll(async () => {
  if (!moto) return;
  s3 = new S3Client({ endpoint: moto, forcePathStyle: true, region: REGION, credentials });
  bucket = `driftline-sm-${randomBytes(6).toString('hex')}`;
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  await put('data/train.csv', trainCsv);
  await put('data/holdout.csv', holdoutCsv);
  await put('data/score.csv', scoreCsv);
  workRoot = await mkdtemp(join(tmpdir(), 'driftline-sagemaker-'));
  temporalClient = await testClient();
});

afterAll(async () => {
  await temporalClient?.close();
  s3?.destroy();
  if (workRoot) await rm(workRoot, { recursive: true, force: true });
  process.env = savedEnv;
});

async function put(key: string, body: string): Promise<string> {
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
  return `s3://${bucket}/${key}`;
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

function trainer(overrides: Partial<SageMakerTrainer> = {}): SageMakerTrainer {
  return {
    backend: 'sagemaker',
    image: '123456789012.dkr.ecr.us-east-1.amazonaws.com/driftline-logreg:1.4',
    roleArn: 'arn:aws:iam::123456789012:role/driftline-training',
    instanceType: 'ml.m5.xlarge',
    instanceCount: 1,
    volumeSizeGb: 30,
    maxRuntimeSeconds: 3600,
    outputS3Uri: `s3://${bucket}/models/`,
    transformInstanceType: 'ml.m5.large',
    ...overrides,
  };
}

function trainingRequest(model: string, overrides: Partial<TrainingRequest> = {}): TrainingRequest {
  return {
    jobKey: uniqueId(`ct:${model}:train`),
    model,
    trainer: trainer(),
    hyperparameters: { label: 'default', epochs: 300, learningRate: 0.5, features: ['age', 'income'] },
    trainData: { uri: `s3://${bucket}/data/train.csv`, sha256: sha256(trainCsv) },
    holdoutData: { uri: `s3://${bucket}/data/holdout.csv`, sha256: sha256(holdoutCsv) },
    ...overrides,
  };
}

/** moto writes no model: put one where SageMaker would, so the backend can fingerprint it. */
async function putModelArtifact(request: TrainingRequest, bytes: string): Promise<string> {
  const outputS3Uri = (request.trainer as SageMakerTrainer).outputS3Uri.replace(/\/+$/, '');
  const key = `${outputS3Uri.slice(`s3://${bucket}/`.length)}/${trainingJobName(request.model, request.jobKey)}/output/model.tar.gz`;
  return put(key, bytes);
}

function hooks(controller = new AbortController()): JobHooks & { beats: Progress[] } {
  const beats: Progress[] = [];
  return { beats, heartbeat: (progress) => beats.push(progress), signal: controller.signal };
}

async function jobsNamed(client: SageMakerClient, name: string) {
  return (await client.send(new ListTrainingJobsCommand({ NameContains: name }))).TrainingJobSummaries ?? [];
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('SageMaker training backend (moto over HTTP)', () => {
  it.runIf(moto)('creates one training job with the trainer spec, and reuses it on the next call', async () => {
    const { client, sent } = sagemaker();
    const backend = new SageMakerTrainingBackend(client, createArtifactStore(workRoot), { pollIntervalMs: 50 });
    const request = trainingRequest('credit-default', { trainer: trainer({ spot: { maxWaitSeconds: 7200, checkpointS3Uri: `s3://${bucket}/checkpoints` } }) });
    const name = trainingJobName(request.model, request.jobKey);
    expect(name).toMatch(/^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/);
    const modelBytes = 'model-bytes-for-' + name;
    const modelUri = await putModelArtifact(request, modelBytes);

    const progress = hooks();
    const result = await backend.train(request, progress);

    const job = await client.send(new DescribeTrainingJobCommand({ TrainingJobName: name }));
    expect(job.AlgorithmSpecification).toMatchObject({ TrainingImage: trainer().image, TrainingInputMode: 'File' });
    expect(job.RoleArn).toBe(trainer().roleArn);
    expect(job.ResourceConfig).toEqual({ InstanceType: 'ml.m5.xlarge', InstanceCount: 1, VolumeSizeInGB: 30 });
    expect(job.InputDataConfig?.map((c) => [c.ChannelName, c.DataSource?.S3DataSource?.S3Uri, c.ContentType])).toEqual([
      ['train', request.trainData.uri, 'text/csv'],
      ['holdout', request.holdoutData.uri, 'text/csv'],
    ]);
    expect(job.HyperParameters).toEqual({ label: 'default', epochs: '300', learningRate: '0.5', features: '["age","income"]' });
    expect(job.OutputDataConfig?.S3OutputPath).toBe(`s3://${bucket}/models`);
    expect(job.EnableManagedSpotTraining).toBe(true);
    expect(job.StoppingCondition).toEqual({ MaxRuntimeInSeconds: 3600, MaxWaitTimeInSeconds: 7200 });
    expect(job.CheckpointConfig?.S3Uri).toBe(`s3://${bucket}/checkpoints/${name}`);

    expect(result).toEqual({
      backend: 'sagemaker',
      jobId: job.TrainingJobArn,
      artifact: { uri: modelUri, sha256: sha256(modelBytes), bytes: modelBytes.length },
      trainerMetrics: { 'train:progress': 100 }, // moto's FinalMetricDataList
      reused: false,
    });
    expect(progress.beats.some((beat) => beat.detail?.job === name && beat.detail?.status === 'Completed')).toBe(true);
    expect(sent.filter((command) => command === 'CreateTrainingJobCommand')).toHaveLength(1);

    // The same request again (a retry): no second job, the finished one is reused.
    const again = await backend.train(request, hooks());
    expect(again).toEqual({ ...result, reused: true });
    expect(sent.filter((command) => command === 'CreateTrainingJobCommand')).toHaveLength(1);
    expect(await jobsNamed(client, name)).toHaveLength(1);
    client.destroy();
  });

  it.runIf(moto)('refuses file:// data as a final failure, before creating anything', async () => {
    const { client, sent } = sagemaker();
    const backend = new SageMakerTrainingBackend(client, createArtifactStore(workRoot), { pollIntervalMs: 50 });
    const request = trainingRequest('local-data', { trainData: { uri: 'file:///tmp/train.csv', sha256: sha256(trainCsv) } });
    const error = await backend.train(request, hooks()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TrainingFailed);
    expect(error).toMatchObject({ final: true, message: expect.stringMatching(/training data is file:\/\/\/tmp\/train\.csv.*s3:\/\//) });
    expect(sent).toEqual([]);
    client.destroy();
  });

  it.runIf(moto)('a cancelled call creates no job', async () => {
    const { client, sent } = sagemaker();
    const backend = new SageMakerTrainingBackend(client, createArtifactStore(workRoot), { pollIntervalMs: 50 });
    const controller = new AbortController();
    controller.abort();
    const request = trainingRequest('cancelled-early');
    const error = await backend.train(request, hooks(controller)).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'TrainingFailed', final: true, message: expect.stringContaining('cancelled') });
    expect(sent).toEqual(['DescribeTrainingJobCommand']);
    expect(await jobsNamed(client, trainingJobName(request.model, request.jobKey))).toHaveLength(0);
    client.destroy();
  });

  it.runIf(moto)('predicts with a batch transform and counts the rows of its CSV output', async () => {
    const { client, sent } = sagemaker();
    const backend = new SageMakerTrainingBackend(client, createArtifactStore(workRoot), { pollIntervalMs: 50 });
    const spec = trainer();
    const jobKey = uniqueId('ct:credit-default:predict');
    const request = { jobKey, name: 'candidate', trainer: spec, artifactUri: `s3://${bucket}/models/m/output/model.tar.gz`, dataUri: `s3://${bucket}/data/score.csv` };
    const names = predictionNames(jobKey, 'candidate');
    // moto runs no container: write the output the transform contract asks for (with the blank
    // line SageMaker may leave between mini-batches).
    const output = 'prediction,probability\n0,0.21\n1,0.87\n\n0,0.05\n';
    const outputUri = await put(`${predictionOutputPrefix(spec, names.transformJob).slice(`s3://${bucket}/`.length)}score.csv.out`, output);

    const result = await backend.predict(request, hooks());
    expect(result).toEqual({ predictions: { uri: outputUri, sha256: sha256(output), bytes: output.length }, rows: 3 });

    const model = await client.send(new DescribeModelCommand({ ModelName: names.model }));
    expect(model.ExecutionRoleArn).toBe(spec.roleArn);
    expect(model.PrimaryContainer).toMatchObject({ Image: spec.image, ModelDataUrl: request.artifactUri });
    const transform = await client.send(new DescribeTransformJobCommand({ TransformJobName: names.transformJob }));
    expect(transform.ModelName).toBe(names.model);
    expect(transform.TransformInput).toMatchObject({ ContentType: 'text/csv', SplitType: 'Line', DataSource: { S3DataSource: { S3Uri: request.dataUri } } });
    expect(transform.TransformOutput?.S3OutputPath).toBe(`s3://${bucket}/models/predictions/${names.transformJob}/`);
    expect(transform.TransformResources).toMatchObject({ InstanceType: 'ml.m5.large', InstanceCount: 1 });

    expect(await backend.predict(request, hooks())).toEqual(result);
    expect(sent.filter((command) => command === 'CreateModelCommand' || command === 'CreateTransformJobCommand')).toEqual(['CreateModelCommand', 'CreateTransformJobCommand']);
    client.destroy();
  });
});

describe('SageMaker training under Temporal (moto over HTTP)', () => {
  it.runIf(moto)('a retry after the job was created finds that job instead of creating a second one', async () => {
    const { client, sent } = sagemaker();
    const store = createArtifactStore(workRoot);
    const backend = new SageMakerTrainingBackend(client, store, { pollIntervalMs: 100 });
    const real = createTrainingActivities({ local: new LocalTrainingBackend(workRoot, store), sagemaker: backend });
    const request = trainingRequest('retried-model');
    const name = trainingJobName(request.model, request.jobKey);
    await putModelArtifact(request, 'retried-model-bytes');

    let firstAttempt: Promise<unknown> | undefined;
    const activities = {
      ...real,
      async trainModel(input: TrainingRequest) {
        if (Context.current().info.attempt > 1) return real.trainModel(input);
        // Attempt 1 starts the real call, then "loses its worker" once SageMaker has the job.
        firstAttempt = real.trainModel(input).catch((error: unknown) => error);
        await until('the training job to exist', async () => ((await jobsNamed(client, name)).length > 0 ? true : undefined));
        throw ApplicationFailure.retryable('the worker lost its connection after CreateTrainingJob (simulated)', 'SimulatedCrash');
      },
    };

    const workflowId = uniqueId('train-retry');
    const result = await withWorker({ workflowsPath, activities }, (taskQueue) =>
      temporalClient.client.workflow.execute('trainOnly', { taskQueue, workflowId, args: [request] }),
    );
    await firstAttempt;

    expect(result).toMatchObject({ backend: 'sagemaker', jobId: expect.stringContaining(name), reused: true });
    const jobs = await jobsNamed(client, name);
    expect(jobs.map((job) => job.TrainingJobName)).toEqual([name]);
    // moto replaces a job created twice under one name, so also count what was sent.
    expect(sent.filter((command) => command === 'CreateTrainingJobCommand')).toHaveLength(1);

    const history = await temporalClient.client.workflow.getHandle(workflowId).fetchHistory();
    const started = (history.events ?? []).filter((e) => e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED);
    expect(started).toHaveLength(1); // Temporal records the last attempt, with the failure before it
    expect(started[0]?.activityTaskStartedEventAttributes?.attempt).toBeGreaterThanOrEqual(2);
    expect(started[0]?.activityTaskStartedEventAttributes?.lastFailure?.message).toContain('simulated');
    client.destroy();
  });

  it.runIf(moto && !cannotCancel)(`cancelling the workflow stops the SageMaker job${cannotCancel ? ` (skipped: ${cannotCancel})` : ''}`, async () => {
    const { client, sent } = sagemaker();
    const store = createArtifactStore(workRoot);
    const backend = new SageMakerTrainingBackend(client, store, { pollIntervalMs: 100 });
    const activities = createTrainingActivities({ local: new LocalTrainingBackend(workRoot, store), sagemaker: backend });
    const request = trainingRequest('cancelled-model');
    const name = trainingJobName(request.model, request.jobKey);

    const workflowId = uniqueId('train-cancel');
    await withSageMakerLifecycle(moto!, async () => {
      await holdJobsRunning();
      const error = await withWorker({ workflowsPath, activities }, async (taskQueue) => {
        const handle = await temporalClient.client.workflow.start('trainOnly', { taskQueue, workflowId, args: [request] });
        await until('the training job to be InProgress', async () => {
          const [job] = await jobsNamed(client, name);
          return job?.TrainingJobStatus === 'InProgress' ? job : undefined;
        });
        await handle.cancel();
        return handle.result().then(
          () => undefined,
          (e: unknown) => e,
        );
      });

      expect(error).toBeInstanceOf(WorkflowFailedError);
      expect(sent).toContain('StopTrainingJobCommand');
      const job = await client.send(new DescribeTrainingJobCommand({ TrainingJobName: name }));
      expect(['Stopping', 'Stopped']).toContain(job.TrainingJobStatus);
      await completeJobsAtOnce();
    });
    client.destroy();
  });
});
