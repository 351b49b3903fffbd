/**
 * What SageMaker's containers would do, for jobs in moto (which runs no container): for every
 * training job it sees, put a model artifact where SageMaker would; for every transform job, write
 * the output the batch-transform contract asks for (see activities/training/sagemaker-backend.ts).
 * moto holds both kinds of job InProgress for a while (state-manager "time" progression), so the
 * output is in S3 before the job reads Completed, as with a real container.
 *
 * The simulated model predicts the label itself (probability 0.9 / 0.1): its candidates pass any
 * accuracy threshold. Every artifact names its job, so its sha256 differs per job.
 */
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { DescribeTransformJobCommand, ListTrainingJobsCommand, ListTransformJobsCommand, type SageMakerClient } from '@aws-sdk/client-sagemaker';

export interface SimulatedContainers {
  stop(): Promise<void>;
  /** Jobs it wrote output for, by kind. */
  counts(): { training: number; transform: number };
}

export function simulateContainers(options: { s3: S3Client; sagemaker: SageMakerClient; bucket: string; outputPrefix: string; label: string; intervalMs?: number }): SimulatedContainers {
  const { s3, sagemaker, bucket } = options;
  const doneTraining = new Set<string>();
  const doneTransform = new Set<string>();
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      // moto may be down (the suite restarts it): try again on the next round
      await round().catch(() => {});
      await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 300));
    }
  })();

  async function round(): Promise<void> {
    const training = (await sagemaker.send(new ListTrainingJobsCommand({ MaxResults: 100 }))).TrainingJobSummaries ?? [];
    for (const job of training) {
      const name = job.TrainingJobName!;
      if (doneTraining.has(name)) continue;
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: `${options.outputPrefix}/${name}/output/model.tar.gz`, Body: `simulated model of training job ${name}` }));
      doneTraining.add(name);
    }
    const transforms = (await sagemaker.send(new ListTransformJobsCommand({ MaxResults: 100 }))).TransformJobSummaries ?? [];
    for (const summary of transforms) {
      const name = summary.TransformJobName!;
      if (doneTransform.has(name)) continue;
      const job = await sagemaker.send(new DescribeTransformJobCommand({ TransformJobName: name }));
      const input = job.TransformInput!.DataSource!.S3DataSource!.S3Uri!;
      const output = job.TransformOutput!.S3OutputPath!.replace(/\/+$/, '');
      const csv = await readS3(s3, input);
      const outputUri = `${output}/${input.slice(input.lastIndexOf('/') + 1)}.out`;
      await writeS3(s3, outputUri, predictLabels(csv, options.label));
      doneTransform.add(name);
    }
  }

  return {
    counts: () => ({ training: doneTraining.size, transform: doneTransform.size }),
    async stop() {
      stopped = true;
      await loop;
    },
  };
}

/** `prediction,probability`, then one line per data row: the row's own label. */
function predictLabels(csv: string, label: string): string {
  const [header, ...rows] = csv.trim().split('\n');
  const column = header!.split(',').indexOf(label);
  if (column < 0) throw new Error(`no ${label} column in the transform input`);
  const lines = ['prediction,probability'];
  for (const row of rows) {
    const value = row.split(',')[column]!.trim();
    lines.push(`${value},${value === '1' ? 0.9 : 0.1}`);
  }
  return `${lines.join('\n')}\n`;
}

function split(uri: string): { Bucket: string; Key: string } {
  const match = /^s3:\/\/([^/]+)\/(.+)$/.exec(uri);
  if (!match) throw new Error(`not an s3 object URI: ${uri}`);
  return { Bucket: match[1]!, Key: match[2]! };
}

async function readS3(s3: S3Client, uri: string): Promise<string> {
  const object = await s3.send(new GetObjectCommand(split(uri)));
  return object.Body!.transformToString();
}

async function writeS3(s3: S3Client, uri: string, body: string): Promise<void> {
  await s3.send(new PutObjectCommand({ ...split(uri), Body: body }));
}
