/**
 * The metrics-provider port: per-variant observations of a canary since the last analysis.
 * Providers: the local router's records (`local-records.ts`), CloudWatch (`cloudwatch.ts`) and a
 * Prometheus HTTP API (`prometheus.ts`). Each returns raw observations for one window and an opaque
 * cursor that the next call starts from; the activity reduces them to the judge's small summary.
 */
import type { DeploymentTarget, MetricsSource } from '../../core/canary.ts';
import type { RawWindow } from '../../core/canary/summary.ts';

export interface CollectRequest {
  deploymentId: string;
  model: string;
  target: DeploymentTarget;
  source: MetricsSource;
  /** Where the previous window ended (provider-specific), or null for the first window. */
  cursor: string | null;
  /** True while the candidate gets mirrored traffic. */
  shadowActive: boolean;
  /** User metrics to read (events / trials per variant). */
  customMetrics: string[];
}

export interface Collected {
  raw: RawWindow;
  cursor: string;
  /** Mirrored requests the candidate answered in this window. */
  shadowRequests: number;
}

export interface MetricsProvider {
  collect(request: CollectRequest): Promise<Collected>;
}

/** Empty observations for one variant. */
export function emptySamples(): RawWindow['baseline'] {
  return { requests: 0, errors: 0, latencyMs: new Float64Array(0), predictions: new Float64Array(0), custom: {} };
}

/** A provider that cannot answer for a reason retrying will not fix (bad query, unknown endpoint). */
export class MetricsConfigurationError extends Error {
  override readonly name = 'MetricsConfigurationError';
}
