/**
 * Metrics. Everything Temporal-related goes through the SDK's metric meter, so it comes out of
 * the SDK's own Prometheus exporter with the SDK's metrics (`temporal_*`):
 *
 * - `driftline_workflow_stage_entered{workflowType, stage}` and `driftline_workflow_outcomes{workflowType, outcome}`:
 *   counted by the bundled workflow interceptor (workflows/metrics-interceptor.ts), replay-safe.
 * - `driftline_activity_duration_seconds{activityType, taskQueue, outcome}`: the activity interceptor below.
 * - `driftline_canary_decisions{kind}`: counted where a decision is first written (activities/deploy).
 *
 * The SDK exporter listens on a loopback port of its own; the health server's `/metrics` serves
 * its text together with Node's process metrics (prom-client), so one port answers a scrape.
 */
import { CancelledFailure } from '@temporalio/common';
import type { ActivityInterceptorsFactory, PrometheusMetricsExporter } from '@temporalio/worker';
import { createServer } from 'node:net';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { DRIFTLINE_METRICS } from '../core/metrics.ts';

/** Activities run from milliseconds (registry writes) to hours (training): buckets cover both. */
const ACTIVITY_BUCKETS_SECONDS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 14_400];

export function prometheusExporter(bindAddress: string): PrometheusMetricsExporter {
  return {
    prometheus: {
      bindAddress,
      // seconds, as Prometheus conventions want (the SDK's default is milliseconds)
      useSecondsForDurations: true,
      histogramBucketOverrides: { [DRIFTLINE_METRICS.activityDuration]: ACTIVITY_BUCKETS_SECONDS },
    },
  };
}

/** Times every activity attempt with its outcome; the meter adds activityType, taskQueue and namespace. */
export const activityMetricsInterceptor: ActivityInterceptorsFactory = (ctx) => ({
  inbound: {
    async execute(input, next) {
      const started = performance.now();
      let outcome = 'completed';
      try {
        return await next(input);
      } catch (error) {
        outcome = error instanceof CancelledFailure || ctx.cancellationSignal.aborted ? 'cancelled' : 'failed';
        throw error;
      } finally {
        ctx.metricMeter
          .createHistogram(DRIFTLINE_METRICS.activityDuration, 'float', 's', 'Activity attempt duration')
          .record((performance.now() - started) / 1000, { outcome });
      }
    },
  },
});

/**
 * A free loopback port for the SDK exporter. Core binds the address itself and does not report a
 * port chosen by the OS, so one is picked here (the short race with another process is accepted;
 * set DRIFTLINE_SDK_METRICS_ADDRESS to fix it).
 */
export async function freeLoopbackAddress(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return `127.0.0.1:${port}`;
}

/** What `/metrics` answers: the SDK exporter's text, then Node's process metrics. */
export function metricsScraper(sdkAddress: string): () => Promise<string> {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return async () => {
    const [sdk, processMetrics] = await Promise.all([
      fetch(`http://${sdkAddress}/metrics`, { signal: AbortSignal.timeout(5000) }).then(async (response) => {
        if (!response.ok) throw new Error(`the SDK metrics exporter at ${sdkAddress} answered ${response.status}`);
        return response.text();
      }),
      registry.metrics(),
    ]);
    return `${sdk.trimEnd()}\n${processMetrics}`;
  };
}
