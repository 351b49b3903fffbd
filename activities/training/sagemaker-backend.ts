/**
 * The `sagemaker` training backend: training jobs and batch transforms on Amazon SageMaker.
 *
 * Exactly one SageMaker job per request, across retries and worker crashes: every name is derived
 * from the request's `jobKey`, and each call first describes that name and only creates the job
 * when SageMaker has never heard of it. A job that already finished is reused. The one exception is
 * a job that failed for want of capacity: SageMaker never frees a job name, so the retry that
 * Temporal schedules for it creates the next generation (`<name>-r2`, `-r3`, …) and every later
 * call walks the generations in order to find the live one.
 *
 * Cancellation (the activity's abort signal) stops the SageMaker job; SageMaker keeps no job
 * running on Driftline's behalf once Driftline has given up on it.
 *
 * Batch-transform container contract (the SageMaker counterpart of the local trainer's `predict`
 * in scripts/examples/trainers/logistic-regression.mjs). The input is the dataset's CSV object,
 * header line included, sent as `text/csv` and split on lines (`SplitType: Line`): the container
 * receives mini-batches of consecutive lines in file order, the very first line of the first batch
 * being the dataset's header. For every line it receives it must answer exactly one line:
 *   - for the dataset's header line: `prediction,probability`;
 *   - for each data row: `<prediction>,<probability>` (the predicted label, and the probability of
 *     the positive class, or an empty field where the model has none).
 * SageMaker assembles the answers in input order (`AssembleWith: Line`) into
 * `<outputS3Uri>/predictions/<transform job name>/<input file name>.out`, which therefore reads
 * exactly like the local contract's output: the `prediction,probability` header, then one line per
 * input row. Blank lines (SageMaker's separators between mini-batches) are ignored when counting.
 */
import {
  CreateModelCommand,
  CreateTrainingJobCommand,
  CreateTransformJobCommand,
  DescribeModelCommand,
  DescribeTrainingJobCommand,
  DescribeTransformJobCommand,
  StopTrainingJobCommand,
  StopTransformJobCommand,
  type DescribeModelCommandOutput,
  type DescribeTrainingJobCommandOutput,
  type DescribeTransformJobCommandOutput,
  type SageMakerClient,
  type Tag,
  type TrainingInstanceType,
  type TransformInstanceType,
} from '@aws-sdk/client-sagemaker';
import { createHash } from 'node:crypto';
import type { ArtifactFingerprint } from '../../core/artifacts.ts';
import type { TrainerSpec } from '../../core/training.ts';
import type { ArtifactStore } from '../artifacts/store.ts';
import { DatasetNotFound, openStream } from '../data/source.ts';
import { TrainingFailed, type JobHooks, type PredictionRequest, type PredictionResult, type TrainingBackend, type TrainingRequest, type TrainingResult } from './port.ts';

export type SageMakerTrainer = Extract<TrainerSpec, { backend: 'sagemaker' }>;

export interface SageMakerBackendOptions {
  /** How often a running job is described (and the activity heartbeats). Default 15 s. */
  pollIntervalMs?: number;
}

const DEFAULT_POLL_MS = 15_000;
/** SageMaker names: at most 63 characters of `[a-zA-Z0-9-]`, starting and ending alphanumeric. */
const NAME_MAX = 63;
const HASH_CHARS = 16;
/** Generations of one job (capacity retries) we are willing to walk through before giving up. */
const MAX_GENERATIONS = 50;

/**
 * FailureReason texts that mean "SageMaker had no room right now", not "this job is broken": the
 * same job can succeed later, so Temporal retries it. Everything else (algorithm errors, bad
 * input, a crashing container) fails the same way again and is final.
 */
const CAPACITY_FAILURES =
  /CapacityError|InsufficientInstanceCapacity|InsufficientCapacity|ResourceLimitExceeded|ThrottlingException|Throttl|Rate exceeded|InternalServerError/i;

/**
 * The deterministic SageMaker name for (label, key): a readable prefix from `label`, a hash of
 * `key`, and from the second generation on a `-r<n>` suffix. Valid for training jobs, models and
 * transform jobs alike.
 */
export function sagemakerName(label: string, key: string, generation = 1): string {
  const digest = createHash('sha256').update(key).digest('hex').slice(0, HASH_CHARS);
  const suffix = generation > 1 ? `-r${generation}` : '';
  const room = NAME_MAX - 1 - HASH_CHARS - suffix.length;
  const prefix =
    label
      .replace(/[^A-Za-z0-9]+/g, '-')
      .replace(/^-+/, '')
      .slice(0, room)
      .replace(/-+$/, '') || 'driftline';
  return `${prefix}-${digest}${suffix}`;
}

/** The training job name for a request (first generation; later ones add `-r<n>`). */
export function trainingJobName(model: string, jobKey: string, generation = 1): string {
  return sagemakerName(model, `train\u0000${jobKey}`, generation);
}

/** The SageMaker model and batch-transform job names for a prediction request. */
export function predictionNames(jobKey: string, name: string, generation = 1): { model: string; transformJob: string } {
  const key = `predict\u0000${jobKey}\u0000${name}`;
  return { model: sagemakerName(name, key), transformJob: sagemakerName(name, key, generation) };
}

/** Where a transform job's output lands: `<outputS3Uri>/predictions/<transform job>/`. */
export function predictionOutputPrefix(trainer: SageMakerTrainer, transformJob: string): string {
  return `${trimSlashes(trainer.outputS3Uri)}/predictions/${transformJob}/`;
}

/** What training and transform jobs have in common, so one polling loop serves both. */
interface JobKind<J> {
  kind: 'training' | 'transform';
  phase: string;
  describe(name: string): Promise<J | undefined>;
  status(job: J): string | undefined;
  secondaryStatus(job: J): string | undefined;
  failureReason(job: J): string | undefined;
  stop(name: string): Promise<void>;
}

export class SageMakerTrainingBackend implements TrainingBackend {
  private readonly pollIntervalMs: number;
  private readonly trainingJobs: JobKind<DescribeTrainingJobCommandOutput>;
  private readonly transformJobs: JobKind<DescribeTransformJobCommandOutput>;

  constructor(
    private readonly client: SageMakerClient,
    private readonly artifacts: ArtifactStore,
    options: SageMakerBackendOptions = {},
  ) {
    this.pollIntervalMs = options.pollIntervalMs ?? DEFAULT_POLL_MS;
    this.trainingJobs = {
      kind: 'training',
      phase: 'training',
      describe: (name) => orUndefined(this.client.send(new DescribeTrainingJobCommand({ TrainingJobName: name }))),
      status: (job) => job.TrainingJobStatus,
      secondaryStatus: (job) => job.SecondaryStatus,
      failureReason: (job) => job.FailureReason,
      stop: async (name) => void (await this.client.send(new StopTrainingJobCommand({ TrainingJobName: name }))),
    };
    this.transformJobs = {
      kind: 'transform',
      phase: 'predicting',
      describe: (name) => orUndefined(this.client.send(new DescribeTransformJobCommand({ TransformJobName: name }))),
      status: (job) => job.TransformJobStatus,
      secondaryStatus: () => undefined,
      failureReason: (job) => job.FailureReason,
      stop: async (name) => void (await this.client.send(new StopTransformJobCommand({ TransformJobName: name }))),
    };
  }

  async train(request: TrainingRequest, hooks: JobHooks): Promise<TrainingResult> {
    const trainer = sagemakerTrainer(request.trainer);
    requireS3(request.trainData.uri, 'the training data');
    requireS3(request.holdoutData.uri, 'the holdout data');
    const settings = trainingSettings(request, trainer); // bad settings fail before anything exists

    const found = await this.findJob(this.trainingJobs, (generation) => trainingJobName(request.model, request.jobKey, generation));
    const name = found.name;
    const reused = found.job?.TrainingJobStatus === 'Completed';
    if (found.job) {
      hooks.heartbeat({ phase: 'training', message: `found training job ${name} (${found.job.TrainingJobStatus})`, detail: jobDetail(name, found.job.TrainingJobStatus, found.job.SecondaryStatus) });
    } else {
      if (hooks.signal.aborted) throw cancelled('training', name, 'before it was created');
      await this.create(
        () => this.client.send(new CreateTrainingJobCommand({ TrainingJobName: name, ...settings })),
        () => this.trainingJobs.describe(name),
        'CreateTrainingJob',
      );
      hooks.heartbeat({ phase: 'training', message: `created training job ${name}`, detail: jobDetail(name, 'InProgress') });
    }

    const job = await this.waitFor(this.trainingJobs, name, hooks);
    const modelUri = job.ModelArtifacts?.S3ModelArtifacts;
    if (!modelUri) throw new TrainingFailed(`SageMaker training job ${name} completed without ModelArtifacts.S3ModelArtifacts`, true);
    const artifact = await this.fingerprint(modelUri, `the model artifact of training job ${name}`);
    const trainerMetrics: Record<string, number> = {};
    for (const metric of job.FinalMetricDataList ?? []) {
      if (metric.MetricName && typeof metric.Value === 'number' && Number.isFinite(metric.Value)) trainerMetrics[metric.MetricName] = metric.Value;
    }
    return { backend: 'sagemaker', jobId: job.TrainingJobArn ?? name, artifact, trainerMetrics, reused };
  }

  async predict(request: PredictionRequest, hooks: JobHooks): Promise<PredictionResult> {
    const trainer = sagemakerTrainer(request.trainer);
    requireS3(request.artifactUri, 'the model artifact');
    requireS3(request.dataUri, 'the prediction data');
    const inputFile = request.dataUri.slice(request.dataUri.lastIndexOf('/') + 1);
    if (!inputFile) throw new TrainingFailed(`the prediction data must name one S3 object, not a prefix: ${request.dataUri}`, true);

    const modelName = predictionNames(request.jobKey, request.name).model;
    await this.ensureModel(modelName, request, trainer);

    const found = await this.findJob(this.transformJobs, (generation) => predictionNames(request.jobKey, request.name, generation).transformJob);
    const name = found.name;
    if (found.job) {
      hooks.heartbeat({ phase: 'predicting', message: `found transform job ${name} (${found.job.TransformJobStatus})`, detail: jobDetail(name, found.job.TransformJobStatus) });
    } else {
      if (hooks.signal.aborted) throw cancelled('transform', name, 'before it was created');
      await this.create(
        () =>
          this.client.send(
            new CreateTransformJobCommand({
              TransformJobName: name,
              ModelName: modelName,
              TransformInput: {
                DataSource: { S3DataSource: { S3DataType: 'S3Prefix', S3Uri: request.dataUri } },
                ContentType: 'text/csv',
                SplitType: 'Line',
                CompressionType: 'None',
              },
              BatchStrategy: 'MultiRecord',
              TransformOutput: { S3OutputPath: predictionOutputPrefix(trainer, name), Accept: 'text/csv', AssembleWith: 'Line' },
              TransformResources: { InstanceType: trainer.transformInstanceType as TransformInstanceType, InstanceCount: 1 },
              Tags: tags([
                ['driftline:prediction', request.name],
                ['driftline:job-key', request.jobKey],
              ]),
            }),
          ),
        () => this.transformJobs.describe(name),
        'CreateTransformJob',
      );
      hooks.heartbeat({ phase: 'predicting', message: `created transform job ${name}`, detail: jobDetail(name, 'InProgress') });
    }

    const job = await this.waitFor(this.transformJobs, name, hooks);
    const outputPrefix = job.TransformOutput?.S3OutputPath ?? predictionOutputPrefix(trainer, name);
    const outputUri = `${trimSlashes(outputPrefix)}/${inputFile}.out`;
    const predictions = await this.fingerprint(outputUri, `the output of transform job ${name}`);
    const rows = await countPredictionRows(outputUri);
    return { predictions, rows };
  }

  /**
   * The job a call should work with: the first generation SageMaker does not know (to be created),
   * or the first that is not a capacity failure (running, finished, or failed for good).
   */
  private async findJob<J>(kind: JobKind<J>, nameOf: (generation: number) => string): Promise<{ name: string; job: J | undefined }> {
    for (let generation = 1; generation <= MAX_GENERATIONS; generation++) {
      const name = nameOf(generation);
      const job = await kind.describe(name);
      if (!job) return { name, job };
      if (kind.status(job) === 'Failed' && CAPACITY_FAILURES.test(kind.failureReason(job) ?? '')) continue;
      return { name, job };
    }
    throw new TrainingFailed(`gave up after ${MAX_GENERATIONS} SageMaker ${kind.kind} jobs for ${nameOf(1)} failed for lack of capacity`, true);
  }

  /**
   * Sends a Create call. When it fails but the resource now exists, someone (a concurrent attempt
   * of the same activity) created it first: that job is ours too, so carry on with it.
   */
  private async create(send: () => Promise<unknown>, exists: () => Promise<unknown>, what: string): Promise<void> {
    try {
      await send();
    } catch (error) {
      if (await exists().catch(() => undefined)) return;
      throw createFailure(error, what);
    }
  }

  private async ensureModel(modelName: string, request: PredictionRequest, trainer: SageMakerTrainer): Promise<void> {
    const check = (model: DescribeModelCommandOutput) => {
      const container = model.PrimaryContainer;
      if (container?.ModelDataUrl !== request.artifactUri || container.Image !== trainer.image) {
        throw new TrainingFailed(
          `SageMaker model ${modelName} already exists for ${request.jobKey}/${request.name} but serves ${container?.ModelDataUrl} with ${container?.Image}, ` +
            `not ${request.artifactUri} with ${trainer.image}: a prediction request must not change under the same job key`,
          true,
        );
      }
    };
    const describe = () => orUndefined(this.client.send(new DescribeModelCommand({ ModelName: modelName })));
    const existing = await describe();
    if (existing) return check(existing);
    await this.create(
      () =>
        this.client.send(
          new CreateModelCommand({
            ModelName: modelName,
            ExecutionRoleArn: trainer.roleArn,
            PrimaryContainer: { Image: trainer.image, ModelDataUrl: request.artifactUri },
            Tags: tags([
              ['driftline:prediction', request.name],
              ['driftline:job-key', request.jobKey],
            ]),
          }),
        ),
      describe,
      'CreateModel',
    );
  }

  /** Describes the job every poll interval, heartbeating its status, until it ends. */
  private async waitFor<J>(kind: JobKind<J>, name: string, hooks: JobHooks): Promise<J> {
    for (;;) {
      if (hooks.signal.aborted) return this.stop(kind, name);
      const job = await kind.describe(name);
      // Describe is strongly consistent for a job we (or an earlier attempt) created: a missing job
      // is an AWS hiccup or a deleted job; a retry will find or recreate it.
      if (!job) throw new Error(`SageMaker ${kind.kind} job ${name} was not found while waiting for it`);
      const status = kind.status(job) ?? 'Unknown';
      const secondary = kind.secondaryStatus(job);
      hooks.heartbeat({
        phase: kind.phase,
        message: `SageMaker ${kind.kind} job ${name}: ${status}${secondary && secondary !== status ? ` (${secondary})` : ''}`,
        detail: jobDetail(name, status, secondary),
      });
      switch (status) {
        case 'Completed':
          return job;
        case 'Failed': {
          const reason = kind.failureReason(job) ?? 'no FailureReason given';
          const retryable = CAPACITY_FAILURES.test(reason);
          throw new TrainingFailed(`SageMaker ${kind.kind} job ${name} failed${retryable ? ' for lack of capacity (will retry)' : ''}: ${reason}`, !retryable);
        }
        case 'Stopped':
          if (hooks.signal.aborted) throw cancelled(kind.kind, name, 'and it is stopped');
          throw new TrainingFailed(`SageMaker ${kind.kind} job ${name} was stopped before it finished (by an earlier cancellation, or outside Driftline)${failureSuffix(kind.failureReason(job))}`, true);
      }
      await pause(this.pollIntervalMs, hooks.signal);
    }
  }

  /** Cancellation: ask SageMaker to stop the job, then fail for good (Temporal does not retry a cancelled activity). */
  private async stop<J>(kind: JobKind<J>, name: string): Promise<never> {
    try {
      await kind.stop(name);
    } catch (error) {
      // A job that already ended cannot be stopped, and need not be.
      const { name: code, message } = error as { name?: string; message?: string };
      if (!(code === 'ValidationException' && /status/i.test(message ?? ''))) {
        throw new TrainingFailed(`${kind.kind} was cancelled, but stopping SageMaker ${kind.kind} job ${name} failed (${code}: ${message}); it may still be running`, true);
      }
    }
    throw cancelled(kind.kind, name, 'and SageMaker was asked to stop it');
  }

  private async fingerprint(uri: string, what: string): Promise<ArtifactFingerprint> {
    try {
      return await this.artifacts.stat(uri);
    } catch (error) {
      if (error instanceof DatasetNotFound) throw new TrainingFailed(`${what} (${uri}) cannot be read: ${error.message}`, true);
      throw error;
    }
  }
}

function sagemakerTrainer(trainer: TrainerSpec): SageMakerTrainer {
  if (trainer.backend !== 'sagemaker') throw new TrainingFailed(`the SageMaker backend got a "${trainer.backend}" trainer`, true);
  return trainer;
}

function requireS3(uri: string, what: string): void {
  if (!uri.startsWith('s3://')) {
    throw new TrainingFailed(`SageMaker reads its input from S3, but ${what} is ${uri}: store it under an s3:// URI (for example with DRIFTLINE_ARTIFACTS=s3://…)`, true);
  }
}

/** Everything in CreateTrainingJob except the name, checked before any job exists. */
function trainingSettings(request: TrainingRequest, trainer: SageMakerTrainer) {
  if (trainer.spot && trainer.spot.maxWaitSeconds < trainer.maxRuntimeSeconds) {
    throw new TrainingFailed(`spot.maxWaitSeconds (${trainer.spot.maxWaitSeconds}) must be at least maxRuntimeSeconds (${trainer.maxRuntimeSeconds})`, true);
  }
  const channel = (ChannelName: string, uri: string) => ({
    ChannelName,
    ContentType: 'text/csv',
    // S3Prefix on a full object key: SageMaker copies that object (and any key it prefixes).
    DataSource: { S3DataSource: { S3DataType: 'S3Prefix' as const, S3Uri: uri, S3DataDistributionType: 'FullyReplicated' as const } },
  });
  return {
    AlgorithmSpecification: { TrainingImage: trainer.image, TrainingInputMode: 'File' as const },
    RoleArn: trainer.roleArn,
    HyperParameters: hyperparameterStrings(request.hyperparameters),
    InputDataConfig: [channel('train', request.trainData.uri), channel('holdout', request.holdoutData.uri)],
    OutputDataConfig: { S3OutputPath: trimSlashes(trainer.outputS3Uri) },
    ResourceConfig: { InstanceType: trainer.instanceType as TrainingInstanceType, InstanceCount: trainer.instanceCount, VolumeSizeInGB: trainer.volumeSizeGb },
    StoppingCondition: {
      MaxRuntimeInSeconds: trainer.maxRuntimeSeconds,
      ...(trainer.spot ? { MaxWaitTimeInSeconds: trainer.spot.maxWaitSeconds } : {}),
    },
    ...(trainer.spot
      ? {
          EnableManagedSpotTraining: true,
          // Keyed by the first generation's name, so a job re-created after a capacity failure
          // resumes from the checkpoints its predecessor left.
          CheckpointConfig: { S3Uri: `${trimSlashes(trainer.spot.checkpointS3Uri)}/${trainingJobName(request.model, request.jobKey)}` },
        }
      : {}),
    Tags: tags([
      ['driftline:model', request.model],
      ['driftline:job-key', request.jobKey],
    ]),
  };
}

/** SageMaker hyperparameters are strings: strings stay as they are, anything else becomes JSON. */
export function hyperparameterStrings(hyperparameters: Record<string, unknown>): Record<string, string> {
  const entries = Object.entries(hyperparameters).filter(([, value]) => value !== undefined);
  if (entries.length > 100) throw new TrainingFailed(`SageMaker accepts at most 100 hyperparameters, got ${entries.length}`, true);
  const result: Record<string, string> = {};
  for (const [key, value] of entries) {
    const text = typeof value === 'string' ? value : JSON.stringify(value);
    if (key.length > 256 || text.length > 2500) throw new TrainingFailed(`hyperparameter "${key.slice(0, 40)}" is too long for SageMaker (keys ≤ 256, values ≤ 2500 characters)`, true);
    result[key] = text;
  }
  return result;
}

/** Tag values allow letters, digits, spaces and `_.:/=+-@`, up to 256 characters. */
function tags(pairs: Array<[string, string]>): Tag[] {
  return pairs.map(([Key, value]) => ({ Key, Value: value.replace(/[^\p{L}\p{Z}\p{N}_.:/=+\-@]/gu, '_').slice(0, 256) }));
}

function jobDetail(job: string, status: string | undefined, secondaryStatus?: string): Record<string, string> {
  return { job, status: status ?? 'Unknown', ...(secondaryStatus ? { secondaryStatus } : {}) };
}

function cancelled(kind: string, name: string, how: string): TrainingFailed {
  return new TrainingFailed(`${kind} was cancelled: SageMaker ${kind} job ${name} ${how}`, true);
}

function failureSuffix(reason: string | undefined): string {
  return reason ? `: ${reason}` : '';
}

/** What a Create call's error means for Temporal: bad requests are final, limits are retried. */
function createFailure(error: unknown, what: string): unknown {
  const { name, message } = error as { name?: string; message?: string };
  if (name === 'ResourceLimitExceeded') return new TrainingFailed(`${what}: SageMaker resource limit reached (will retry): ${message}`, false);
  if (name === 'ValidationException' || name === 'AccessDeniedException') return new TrainingFailed(`SageMaker rejected ${what}: ${message}`, true);
  return error; // throttling, network, 5xx: left to Temporal's retries
}

/** Describe calls answer "not found" as an error; turn that one answer into `undefined`. */
async function orUndefined<T>(call: Promise<T>): Promise<T | undefined> {
  try {
    return await call;
  } catch (error) {
    const { name, message } = error as { name?: string; message?: string };
    if (name === 'ResourceNotFound') return undefined;
    if (name === 'ValidationException' && /not found|could not find|does not exist/i.test(message ?? '')) return undefined;
    throw error;
  }
}

/**
 * Data rows in a predictions CSV (non-blank lines after the header), streamed. The header must be
 * the contract's `prediction,…` line, or the container is not speaking Driftline's contract.
 */
export async function countPredictionRows(uri: string): Promise<number> {
  let lines = 0;
  let header = '';
  let current = '';
  let currentHasContent = false;
  const endLine = () => {
    if (currentHasContent) {
      if (lines === 0) header = current;
      lines++;
    }
    current = '';
    currentHasContent = false;
  };
  for await (const chunk of await openStream(uri)) {
    const buffer = chunk as Buffer;
    let start = 0;
    for (;;) {
      const newline = buffer.indexOf(10, start);
      const segment = buffer.subarray(start, newline === -1 ? buffer.length : newline);
      if (!currentHasContent && segment.some((byte) => byte !== 13)) currentHasContent = true;
      if (lines === 0 && current.length < 1024) current += segment.toString('utf8');
      if (newline === -1) break;
      endLine();
      start = newline + 1;
    }
  }
  endLine();
  if (!/^prediction(,|$)/.test(header.trim())) {
    throw new TrainingFailed(`${uri} does not start with the "prediction,probability" header the transform contract requires (found "${header.slice(0, 80)}")`, true);
  }
  return lines - 1;
}

function trimSlashes(uri: string): string {
  return uri.replace(/\/+$/, '');
}

/** Waits `ms`, or less when the signal aborts. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
