/**
 * Workflow interceptor module (bundled with the workflows, not a workflow): counts pipelines by
 * stage and outcome from the `DriftlineStage` and `DriftlineOutcome` search attributes, which
 * every workflow keeps current (DESIGN.md, "Names"). Reading them here, after each activation,
 * means the metrics can never disagree with what the Temporal UI lists, and no workflow needs a
 * metric call of its own.
 *
 * Replay-safe by the SDK's design: `metricMeter` drops values while the workflow is replaying
 * (and its sink is not called during replay), and this module adds no commands, so histories
 * recorded without it replay unchanged (test/production-worker.test.ts replays them with it).
 */
import { metricMeter, workflowInfo, type WorkflowInterceptors, type WorkflowInternalsInterceptor } from '@temporalio/workflow';
import { SEARCH_ATTRIBUTES } from '../core/names.ts';
import { DRIFTLINE_METRICS } from '../core/metrics.ts';

class StageAndOutcomeCounter implements WorkflowInternalsInterceptor {
  private stage: string | undefined;
  private outcome: string | undefined;

  concludeActivation: NonNullable<WorkflowInternalsInterceptor['concludeActivation']> = (input, next) => {
    const attributes = workflowInfo().typedSearchAttributes;
    const stage = attributes.get(SEARCH_ATTRIBUTES.stage);
    const outcome = attributes.get(SEARCH_ATTRIBUTES.outcome);
    // While replaying, the counters drop the values; the fields still follow the history, so the
    // first live activation after a cache eviction counts only what is new.
    if (stage !== undefined && stage !== this.stage) {
      metricMeter.createCounter(DRIFTLINE_METRICS.stageEntered, '1', 'Workflows that entered a stage (DriftlineStage)').add(1, { stage });
    }
    if (outcome !== undefined && outcome !== this.outcome) {
      metricMeter.createCounter(DRIFTLINE_METRICS.outcomes, '1', 'Workflows that reached an outcome (DriftlineOutcome)').add(1, { outcome });
    }
    this.stage = stage;
    this.outcome = outcome;
    return next(input);
  };
}

export const interceptors = (): WorkflowInterceptors => ({ internals: [new StageAndOutcomeCounter()] });
