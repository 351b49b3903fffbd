/**
 * Metrics from a Prometheus HTTP API (`/api/v1/query`) that scrapes the router's `/metrics`: the
 * request and error counters and the latency and prediction histograms, per variant and role. The
 * counters are cumulative, so the cursor holds the values of the previous read and a window is the
 * difference (a counter that went down was reset by a router restart: its new value is the window).
 * Histograms become samples at their buckets' midpoints; user metrics are read from
 * `<name>_events_total` and `<name>_trials_total` with a `variant` label.
 */
import type { MetricsSource } from '../../core/canary.ts';
import { MetricsConfigurationError, type Collected, type CollectRequest, type MetricsProvider } from './port.ts';

type PrometheusSource = Extract<MetricsSource, { kind: 'prometheus' }>;
type Counters = Record<string, number>;

const MAX_SYNTHETIC_SAMPLES = 50_000;

export class PrometheusProvider implements MetricsProvider {
  async collect(request: CollectRequest): Promise<Collected> {
    const source = request.source as PrometheusSource;
    const matchers = [`model="${escape(request.model)}"`, `deployment="${escape(request.deploymentId)}"`, ...(source.selector ? [source.selector] : [])].join(',');
    const [requests, errors, latency, predictions] = await Promise.all([
      this.query(source, `sum by (variant, role) (driftline_router_requests_total{${matchers}})`, ['variant', 'role']),
      this.query(source, `sum by (variant, role) (driftline_router_errors_total{${matchers}})`, ['variant', 'role']),
      this.query(source, `sum by (variant, le) (driftline_router_request_duration_seconds_bucket{${matchers},role="primary"})`, ['variant', 'le']),
      this.query(source, `sum by (variant, le) (driftline_router_prediction_bucket{${matchers},role="primary"})`, ['variant', 'le']),
    ]);
    const custom: Counters = {};
    for (const name of request.customMetrics) {
      const customMatchers = [`model="${escape(request.model)}"`, ...(source.selector ? [source.selector] : [])].join(',');
      for (const kind of ['events', 'trials']) {
        const values = await this.query(source, `sum by (variant) (${name}_${kind}_total{${customMatchers}})`, ['variant']);
        for (const [key, value] of Object.entries(values)) custom[`${name}|${kind}|${key}`] = value;
      }
    }
    const now: Record<string, Counters> = { requests, errors, latency, predictions, custom };
    const previous = request.cursor ? (JSON.parse(request.cursor) as Record<string, Counters>) : null;
    const delta = (group: string, key: string) => {
      const current = now[group]![key] ?? 0;
      const before = previous?.[group]?.[key] ?? 0;
      return current >= before ? current - before : current;
    };
    const variant = (name: 'baseline' | 'candidate') => ({
      requests: delta('requests', `${name}|primary`),
      errors: delta('errors', `${name}|primary`),
      latencyMs: histogramSamples(latency, (key) => delta('latency', key), name, 1000),
      predictions: histogramSamples(predictions, (key) => delta('predictions', key), name, 1),
      custom: Object.fromEntries(
        request.customMetrics.map((metric) => [metric, { events: delta('custom', `${metric}|events|${name}`), trials: delta('custom', `${metric}|trials|${name}`) }]),
      ),
    });
    return {
      raw: { baseline: variant('baseline'), candidate: variant('candidate'), shadow: null },
      cursor: JSON.stringify(now),
      shadowRequests: delta('requests', 'candidate|shadow'),
    };
  }

  private async query(source: PrometheusSource, promql: string, labels: string[]): Promise<Counters> {
    const url = `${source.url.replace(/\/$/, '')}/api/v1/query?query=${encodeURIComponent(promql)}`;
    // sources stored before `timeoutSeconds` existed carry none
    const timeoutMs = (source.timeoutSeconds ?? 10) * 1000;
    const signal = AbortSignal.timeout(timeoutMs);
    let response: Response;
    try {
      response = await fetch(url, { signal });
    } catch (error) {
      throw new Error(signal.aborted ? `Prometheus at ${source.url} did not answer within ${timeoutMs / 1000}s` : `Prometheus at ${source.url} cannot be reached: ${describeFetchError(error)}`);
    }
    const body = (await response.json().catch(() => null)) as { status?: string; error?: string; data?: { result?: Array<{ metric: Record<string, string>; value: [number, string] }> } } | null;
    if (body === null && signal.aborted) throw new Error(`Prometheus at ${source.url} did not finish its answer within ${timeoutMs / 1000}s`);
    if (response.status === 400 || body?.status === 'error') throw new MetricsConfigurationError(`Prometheus refused ${promql}: ${body?.error ?? response.status}`);
    if (!response.ok || !body?.data?.result) throw new Error(`Prometheus answered ${response.status} to ${promql}`);
    const out: Counters = {};
    for (const sample of body.data.result) out[labels.map((l) => sample.metric[l] ?? '').join('|')] = Number(sample.value[1]);
    return out;
  }
}

/** Samples at bucket midpoints from the window's bucket counts (cumulative `le` buckets). */
function histogramSamples(current: Counters, delta: (key: string) => number, variant: string, scale: number): Float64Array {
  const bounds = Object.keys(current)
    .filter((key) => key.startsWith(`${variant}|`))
    .map((key) => key.slice(variant.length + 1))
    .map((le) => ({ le, bound: le === '+Inf' ? Number.POSITIVE_INFINITY : Number(le) }))
    .sort((a, b) => a.bound - b.bound);
  const counts: Array<{ value: number; count: number }> = [];
  let previousBound = 0;
  let previousCumulative = 0;
  for (const { le, bound } of bounds) {
    const cumulative = delta(`${variant}|${le}`);
    const inBucket = Math.max(0, cumulative - previousCumulative);
    const value = Number.isFinite(bound) ? (previousBound + bound) / 2 : previousBound * 1.5;
    if (inBucket > 0) counts.push({ value: value * scale, count: inBucket });
    previousCumulative = Math.max(previousCumulative, cumulative);
    if (Number.isFinite(bound)) previousBound = bound;
  }
  const total = counts.reduce((n, c) => n + c.count, 0);
  const factor = total > MAX_SYNTHETIC_SAMPLES ? MAX_SYNTHETIC_SAMPLES / total : 1;
  const out: number[] = [];
  for (const { value, count } of counts) for (let i = 0; i < Math.round(count * factor); i++) out.push(value);
  return Float64Array.from(out);
}

function describeFetchError(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (error as Error).message;
}

function escape(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"');
}
