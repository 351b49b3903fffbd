/**
 * Training activities, served on the `driftline-training` task queue. They pick the adapter from
 * the trainer spec, so the workflow never knows where training runs; they heartbeat progress
 * (visible in the Temporal UI as heartbeat details) and stop the job when the activity is cancelled.
 */
import { ApplicationFailure, Context } from '@temporalio/activity';
import { z } from 'zod';
import { INVALID_INPUT } from '../../core/names.ts';
import { trainerSchema } from '../../core/training.ts';
import { sha256Schema } from '../../core/artifacts.ts';
import { DatasetNotFound } from '../data/source.ts';
import { TrainingFailed, type PredictionRequest, type PredictionResult, type TrainingBackend, type TrainingRequest, type TrainingResult } from './port.ts';

export const TRAINING_FAILED = 'TrainingFailed';

const dataRef = z.object({ uri: z.string().min(1), sha256: sha256Schema });
const trainingRequestSchema = z.object({
  jobKey: z.string().min(1).max(512),
  model: z.string().min(1),
  trainer: trainerSchema,
  hyperparameters: z.record(z.string(), z.unknown()),
  trainData: dataRef,
  holdoutData: dataRef,
});
const predictionRequestSchema = z.object({
  jobKey: z.string().min(1).max(512),
  name: z.string().min(1).max(64),
  trainer: trainerSchema,
  artifactUri: z.string().min(1),
  dataUri: z.string().min(1),
});

export type TrainingBackends = { local: TrainingBackend; sagemaker?: TrainingBackend };

export function createTrainingActivities(backends: TrainingBackends) {
  const backendFor = (backend: 'local' | 'sagemaker'): TrainingBackend => {
    const adapter = backends[backend];
    if (!adapter) throw ApplicationFailure.nonRetryable(`This worker has no "${backend}" training backend configured`, INVALID_INPUT);
    return adapter;
  };
  return {
    async trainModel(input: TrainingRequest): Promise<TrainingResult> {
      const request = validate(trainingRequestSchema, input, 'training request') as TrainingRequest;
      return classify(() => backendFor(request.trainer.backend).train(request, hooks()));
    },
    async predictWithModel(input: PredictionRequest): Promise<PredictionResult> {
      const request = validate(predictionRequestSchema, input, 'prediction request') as PredictionRequest;
      return classify(() => backendFor(request.trainer.backend).predict(request, hooks()));
    },
  };
}

export type TrainingActivities = ReturnType<typeof createTrainingActivities>;

function hooks() {
  const context = Context.current();
  return {
    heartbeat: (progress: unknown) => context.heartbeat(progress),
    signal: context.cancellationSignal,
  };
}

function validate<T>(schema: z.ZodType<T>, input: unknown, what: string): T {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  throw ApplicationFailure.nonRetryable(`Invalid ${what}: ${issue.path.join('.')}: ${issue.message}`, INVALID_INPUT);
}

async function classify<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    if (error instanceof TrainingFailed) {
      throw error.final ? ApplicationFailure.nonRetryable(error.message, TRAINING_FAILED) : ApplicationFailure.retryable(error.message, 'TrainingCapacity');
    }
    if (error instanceof DatasetNotFound) throw ApplicationFailure.nonRetryable(error.message, INVALID_INPUT);
    throw error;
  }
}
