/**
 * Evaluation: Driftline computes the metrics itself from the models' predictions on the holdout,
 * compares candidate and champion on the same rows with a paired bootstrap, and applies the policy.
 */
import { ApplicationFailure, Context } from '@temporalio/activity';
import { computeMetrics, decide, pairedBootstrap, type Comparison, type Decision, type Metrics, type Predictions, type Task } from '../../core/evaluation.ts';
import { INVALID_INPUT } from '../../core/names.ts';
import { evaluationPolicySchema, type EvaluationPolicy } from '../../core/training.ts';
import { readNumericColumns } from '../data/columns.ts';
import { MalformedDataset } from '../data/csv-profile.ts';
import { DatasetNotFound } from '../data/source.ts';

export interface EvaluationRequest {
  task: Task;
  label: string;
  holdoutUri: string;
  candidatePredictionsUri: string;
  champion: { version: number; predictionsUri: string } | null;
  policy: EvaluationPolicy;
  /** Seeds the bootstrap; derive it from the run so a retry computes the same interval. */
  seed: number;
}

export interface EvaluationReport {
  candidate: Metrics;
  champion: (Metrics & { version: number }) | null;
  comparison: Comparison | null;
  decision: Decision;
}

export const evaluationActivities = {
  async evaluateCandidate(input: EvaluationRequest): Promise<EvaluationReport> {
    return withHeartbeats(() => evaluate(input));
  },
};

/**
 * Heartbeats while `work` runs (the workflow gives evaluation a heartbeat timeout), so a worker that
 * dies mid-evaluation is noticed within that timeout instead of the long start-to-close timeout a
 * big holdout needs. Outside an activity (direct calls) it just runs `work`.
 */
async function withHeartbeats<T>(work: () => Promise<T>): Promise<T> {
  let context: Context;
  try {
    context = Context.current();
  } catch {
    return work();
  }
  context.heartbeat();
  const timer = setInterval(() => context.heartbeat(), HEARTBEAT_EVERY_MS);
  try {
    return await work();
  } finally {
    clearInterval(timer);
  }
}

const HEARTBEAT_EVERY_MS = 5_000;

async function evaluate(input: EvaluationRequest): Promise<EvaluationReport> {
  const policy = evaluationPolicySchema.parse(input.policy);
  try {
    const truth = (await readNumericColumns(input.holdoutUri, [input.label]))[input.label]!;
    const candidate = await loadPredictions(input.candidatePredictionsUri, truth.length);
    const candidateMetrics = computeMetrics(input.task, truth, candidate);
    let championMetrics: EvaluationReport['champion'] = null;
    let comparison: Comparison | null = null;
    if (input.champion) {
      const champion = await loadPredictions(input.champion.predictionsUri, truth.length);
      championMetrics = { ...computeMetrics(input.task, truth, champion), version: input.champion.version };
      if (policy.champion) {
        comparison = pairedBootstrap(input.task, truth, candidate, champion, { ...policy.champion, seed: input.seed });
      }
    }
    return { candidate: candidateMetrics, champion: championMetrics, comparison, decision: decide(policy, candidateMetrics, comparison) };
  } catch (error) {
    if (error instanceof MalformedDataset || error instanceof DatasetNotFound || error instanceof RangeError) {
      throw ApplicationFailure.nonRetryable(`Evaluation: ${error.message}`, INVALID_INPUT);
    }
    throw error;
  }
}

async function loadPredictions(uri: string, rows: number): Promise<Predictions> {
  const columns = await readNumericColumns(uri, ['prediction'], ['probability']);
  const prediction = columns.prediction!;
  if (prediction.length !== rows) throw new MalformedDataset(`${uri} has ${prediction.length} predictions for ${rows} holdout rows`);
  return { prediction, probability: columns.probability ?? null };
}
