/**
 * The router's Prometheus metrics, kept in memory and rendered in the text exposition format
 * (version 0.0.4) at `GET /metrics`. Per model, deployment, variant and role (primary or shadow):
 * requests, errors, a latency histogram and a prediction histogram; and the current weights.
 */
export const LATENCY_BUCKETS_SECONDS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
export const PREDICTION_BUCKETS = [0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 1];

interface Series {
  labels: Record<string, string>;
  requests: number;
  errors: number;
  latency: { buckets: number[]; sum: number; count: number };
  prediction: { buckets: number[]; sum: number; count: number };
}

export class RouterMetrics {
  private readonly series = new Map<string, Series>();
  private readonly weights = new Map<string, { model: string; baseline: number; candidate: number; shadow: boolean }>();

  observe(labels: { model: string; deployment: string; variant: string; role: string }, outcome: { error: boolean; latencyMs: number; prediction: number | null }): void {
    const key = `${labels.model}\u0000${labels.deployment}\u0000${labels.variant}\u0000${labels.role}`;
    let series = this.series.get(key);
    if (!series) {
      series = {
        labels: { ...labels },
        requests: 0,
        errors: 0,
        latency: { buckets: LATENCY_BUCKETS_SECONDS.map(() => 0), sum: 0, count: 0 },
        prediction: { buckets: PREDICTION_BUCKETS.map(() => 0), sum: 0, count: 0 },
      };
      this.series.set(key, series);
    }
    series.requests++;
    if (outcome.error) series.errors++;
    const seconds = outcome.latencyMs / 1000;
    addToHistogram(series.latency, LATENCY_BUCKETS_SECONDS, seconds);
    if (outcome.prediction !== null && Number.isFinite(outcome.prediction)) addToHistogram(series.prediction, PREDICTION_BUCKETS, outcome.prediction);
  }

  setWeights(model: string, weights: { baseline: number; candidate: number; shadow: boolean } | null): void {
    if (weights) this.weights.set(model, { model, ...weights });
    else this.weights.delete(model);
  }

  render(): string {
    const lines: string[] = [];
    const all = [...this.series.values()];
    lines.push('# HELP driftline_router_requests_total Requests answered, per variant and role (primary: served to the client; shadow: mirrored, never returned).');
    lines.push('# TYPE driftline_router_requests_total counter');
    for (const s of all) lines.push(`driftline_router_requests_total${labelText(s.labels)} ${s.requests}`);
    lines.push('# HELP driftline_router_errors_total Requests that failed (5xx, timeout or no answer).');
    lines.push('# TYPE driftline_router_errors_total counter');
    for (const s of all) lines.push(`driftline_router_errors_total${labelText(s.labels)} ${s.errors}`);
    histogram(lines, 'driftline_router_request_duration_seconds', 'Time to the model server\'s answer.', all, (s) => s.latency, LATENCY_BUCKETS_SECONDS);
    histogram(lines, 'driftline_router_prediction', 'First prediction value of each answer (probability or score).', all, (s) => s.prediction, PREDICTION_BUCKETS);
    lines.push('# HELP driftline_router_weight Percent of live traffic routed to each variant.');
    lines.push('# TYPE driftline_router_weight gauge');
    for (const w of this.weights.values()) {
      lines.push(`driftline_router_weight${labelText({ model: w.model, variant: 'baseline' })} ${w.baseline}`);
      lines.push(`driftline_router_weight${labelText({ model: w.model, variant: 'candidate' })} ${w.candidate}`);
    }
    lines.push('# HELP driftline_router_shadow 1 while the candidate receives mirrored traffic.');
    lines.push('# TYPE driftline_router_shadow gauge');
    for (const w of this.weights.values()) lines.push(`driftline_router_shadow${labelText({ model: w.model })} ${w.shadow ? 1 : 0}`);
    return `${lines.join('\n')}\n`;
  }
}

function addToHistogram(h: { buckets: number[]; sum: number; count: number }, bounds: number[], value: number): void {
  h.sum += value;
  h.count++;
  for (let i = 0; i < bounds.length; i++) if (value <= bounds[i]!) h.buckets[i]!++;
}

function histogram(lines: string[], name: string, help: string, all: Series[], pick: (s: Series) => { buckets: number[]; sum: number; count: number }, bounds: number[]): void {
  lines.push(`# HELP ${name} ${help}`);
  lines.push(`# TYPE ${name} histogram`);
  for (const s of all) {
    const h = pick(s);
    bounds.forEach((bound, i) => lines.push(`${name}_bucket${labelText({ ...s.labels, le: String(bound) })} ${h.buckets[i]}`));
    lines.push(`${name}_bucket${labelText({ ...s.labels, le: '+Inf' })} ${h.count}`);
    lines.push(`${name}_sum${labelText(s.labels)} ${h.sum}`);
    lines.push(`${name}_count${labelText(s.labels)} ${h.count}`);
  }
}

function labelText(labels: Record<string, string>): string {
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`);
  return `{${parts.join(',')}}`;
}
