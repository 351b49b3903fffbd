/**
 * Fault injection with the SageMaker backend: the worker polling a SageMaker training job is killed
 * with SIGKILL while the job runs. The next worker must find the same job (DescribeTrainingJob by
 * the name derived from the run) and finish with it: one training job in SageMaker, not two.
 * SageMaker is moto over HTTP; the job is held InProgress through moto's state manager.
 */
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { ListTrainingJobsCommand, SageMakerClient } from '@aws-sdk/client-sagemaker';
import { temporal } from '@temporalio/proto';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, inject, it } from 'vitest';
import type { TrainingRequest, TrainingResult } from '../activities/training/port.ts';
import { trainingJobName } from '../activities/training/sagemaker-backend.ts';
import { testClient, uniqueId } from './helpers/env.ts';
import { withSageMakerLifecycle } from './helpers/moto.ts';

const moto = inject('motoEndpoint');
const credentials = { accessKeyId: 'testing', secretAccessKey: 'testing' };
const WORKER = fileURLToPath(new URL('./fixtures/workers/training-worker.ts', import.meta.url));
const workers: ChildProcess[] = [];

afterAll(() => {
  for (const worker of workers) if (worker.exitCode === null) worker.kill('SIGKILL');
});

function startWorker(env: NodeJS.ProcessEnv): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', WORKER], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  workers.push(child);
  let output = '';
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('ready')) resolve(child);
    });
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('exit', (code) => reject(new Error(`training worker exited with ${code}:\n${output}`)));
  });
}

async function setTrainingJobTransition(transition: Record<string, unknown>): Promise<void> {
  const response = await fetch(`${moto}/moto-api/state-manager/set-transition`, {
    method: 'POST',
    body: JSON.stringify({ model_name: 'sagemaker::training_job', transition }),
  });
  expect(response.ok).toBe(true);
}

describe('a worker killed while it polls a SageMaker training job', () => {
  it.runIf(moto)('leaves one training job, which the next worker finishes with', { timeout: 120_000 }, async () => {
    const s3 = new S3Client({ endpoint: moto!, forcePathStyle: true, region: 'us-east-1', credentials });
    const sagemaker = new SageMakerClient({ endpoint: moto!, region: 'us-east-1', credentials });
    const bucket = `driftline-fault-${randomBytes(4).toString('hex')}`;
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    const csv = 'age,income,default\n25,30000,0\n52,81000,1\n';
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'train.csv', Body: csv }));
    const sha = createHash('sha256').update(csv).digest('hex');
    const model = `fault-sm-${randomBytes(3).toString('hex')}`;
    const request: TrainingRequest = {
      jobKey: uniqueId(`ct:${model}:crash`),
      model,
      trainer: {
        backend: 'sagemaker',
        image: '123456789012.dkr.ecr.us-east-1.amazonaws.com/driftline-logreg:1.4',
        roleArn: 'arn:aws:iam::123456789012:role/driftline-training',
        instanceType: 'ml.g5.xlarge',
        instanceCount: 1,
        volumeSizeGb: 30,
        maxRuntimeSeconds: 3600,
        outputS3Uri: `s3://${bucket}/models`,
        transformInstanceType: 'ml.m5.large',
      },
      hyperparameters: { epochs: 10 },
      trainData: { uri: `s3://${bucket}/train.csv`, sha256: sha },
      holdoutData: { uri: `s3://${bucket}/train.csv`, sha256: sha },
    };
    const jobName = trainingJobName(model, request.jobKey);
    const jobs = async () =>
      (await sagemaker.send(new ListTrainingJobsCommand({ NameContains: jobName.slice(0, 40) }))).TrainingJobSummaries ?? [];

    const taskQueue = uniqueId('sm-fault');
    const env = {
      ...process.env,
      TEMPORAL_ADDRESS: inject('temporalAddress'),
      TASK_QUEUE: taskQueue,
      WORK_ROOT: await mkdtemp(join(tmpdir(), 'driftline-sm-fault-')),
      AWS_ENDPOINT_URL: moto!,
      AWS_ACCESS_KEY_ID: 'testing',
      AWS_SECRET_ACCESS_KEY: 'testing',
      AWS_REGION: 'us-east-1',
    };
    await withSageMakerLifecycle(moto!, async () => {
      await setTrainingJobTransition({ progression: 'manual', times: 1_000_000 });
      const client = await testClient();
      try {
        const first = await startWorker(env);
        const handle = await client.client.workflow.start('trainOnly', { taskQueue, workflowId: uniqueId('sm-crash'), args: [request] });
        for (let i = 0; (await jobs()).length === 0; i++) {
          if (i > 300) throw new Error('the training job was never created');
          await new Promise((r) => setTimeout(r, 100));
        }
        expect((await jobs())[0]?.TrainingJobStatus).toBe('InProgress');
        first.kill('SIGKILL');

        await startWorker(env);
        // The job finishes (as the container would, with its model in S3) while nobody polls it.
        const key = `models/${jobName}/output/model.tar.gz`;
        await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: 'model bytes' }));
        await setTrainingJobTransition({ progression: 'immediate' });

        const result = (await handle.result()) as TrainingResult;
        const all = await jobs();
        expect(all).toHaveLength(1);
        expect(all[0]?.TrainingJobName).toBe(jobName);
        expect(result.jobId).toBe(all[0]?.TrainingJobArn);
        expect(result.artifact).toMatchObject({ uri: `s3://${bucket}/${key}`, sha256: createHash('sha256').update('model bytes').digest('hex') });

        const history = await handle.fetchHistory();
        const started = (history.events ?? []).filter((e) => e.eventType === temporal.api.enums.v1.EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED);
        expect(started[0]?.activityTaskStartedEventAttributes?.attempt).toBe(2);
      } finally {
        await setTrainingJobTransition({ progression: 'immediate' });
        await client.close();
        s3.destroy();
        sagemaker.destroy();
      }
    });
  });
});
