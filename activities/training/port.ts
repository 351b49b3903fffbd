/**
 * The training port. A workflow asks for "train this model on these data with these settings" and
 * "predict with this artifact on this dataset"; an adapter (local process, SageMaker) decides how.
 * `jobKey` is derived from the pipeline run and is the same on every retry: adapters use it to find
 * a job they already started instead of starting a second one.
 */
import type { ArtifactFingerprint } from '../../core/artifacts.ts';
import type { TrainerSpec } from '../../core/training.ts';

export interface TrainingRequest {
  jobKey: string;
  model: string;
  trainer: TrainerSpec;
  hyperparameters: Record<string, unknown>;
  trainData: { uri: string; sha256: string };
  holdoutData: { uri: string; sha256: string };
}

export interface TrainingResult {
  backend: TrainerSpec['backend'];
  jobId: string;
  artifact: ArtifactFingerprint;
  /** What the trainer reported about itself (training loss and the like), all finite numbers. */
  trainerMetrics: Record<string, number>;
  /** True when a retry found the job already finished and reused its output. */
  reused: boolean;
}

export interface PredictionRequest {
  jobKey: string;
  /** Which model this is, for naming the output (`candidate`, `champion-v3`). */
  name: string;
  trainer: TrainerSpec;
  artifactUri: string;
  dataUri: string;
}

export interface PredictionResult {
  predictions: ArtifactFingerprint;
  rows: number;
}

export interface Progress {
  phase: string;
  message: string;
  /** Backend detail worth showing in the UI (process id, SageMaker secondary status). */
  detail?: Record<string, string | number>;
}

export interface JobHooks {
  heartbeat(progress: Progress): void;
  /** Aborted when Temporal cancels the activity: stop the job. */
  signal: AbortSignal;
}

export interface TrainingBackend {
  train(request: TrainingRequest, hooks: JobHooks): Promise<TrainingResult>;
  predict(request: PredictionRequest, hooks: JobHooks): Promise<PredictionResult>;
}

/**
 * A failure the backend has classified. `final` failures (bad trainer, algorithm error, malformed
 * output) are not retried; the rest (capacity, throttling) are.
 */
export class TrainingFailed extends Error {
  override readonly name = 'TrainingFailed';
  constructor(
    message: string,
    readonly final: boolean,
  ) {
    super(message);
  }
}
