/**
 * The canary's metrics activity: reads one window from the configured provider and reduces it to
 * the judge's summary (counts, threshold exceedances, quantiles), so the workflow never carries
 * request logs. A provider that does not answer fails the attempt (Temporal retries it); one that is
 * misconfigured fails for good.
 */
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { DeploymentTarget, JudgeSettings, MetricsSource, ShadowPhase } from '../../core/canary.ts';
import { summariseWindow, type JudgeThresholds, type WindowSummary } from '../../core/canary/summary.ts';
import { INVALID_INPUT } from '../../core/names.ts';
import { MetricsConfigurationError, type MetricsProvider } from './port.ts';

export interface CollectCanaryMetricsInput {
  deploymentId: string;
  model: string;
  target: DeploymentTarget;
  source: MetricsSource;
  cursor: string | null;
  thresholds: JudgeThresholds;
  settings: JudgeSettings;
  /** The shadow phase's plan while it runs, else null. */
  shadow: ShadowPhase | null;
}

export interface CanaryMetricsWindow {
  summary: WindowSummary;
  cursor: string;
  /** Live requests the candidate served in this window. */
  candidateRequests: number;
  /** Mirrored requests the candidate answered in this window. */
  shadowRequests: number;
}

export function createMetricsActivities(providers: Record<MetricsSource['kind'], MetricsProvider>) {
  return {
    async collectCanaryMetrics(input: CollectCanaryMetricsInput): Promise<CanaryMetricsWindow> {
      const provider = providers[input.source.kind];
      try {
        const collected = await provider.collect({
          deploymentId: input.deploymentId,
          model: input.model,
          target: input.target,
          source: input.source,
          cursor: input.cursor,
          shadowActive: input.shadow !== null,
          customMetrics: input.settings.custom.map((m) => m.name),
        });
        Context.current().log.debug('canary metrics window', { deploymentId: input.deploymentId, candidate: collected.raw.candidate.requests, baseline: collected.raw.baseline.requests });
        return {
          summary: summariseWindow(collected.raw, input.thresholds, input.settings, input.shadow),
          cursor: collected.cursor,
          candidateRequests: collected.raw.candidate.requests,
          shadowRequests: collected.shadowRequests,
        };
      } catch (error) {
        if (error instanceof MetricsConfigurationError) throw ApplicationFailure.nonRetryable(error.message, INVALID_INPUT);
        throw error;
      }
    },
  };
}

export type MetricsActivities = ReturnType<typeof createMetricsActivities>;
