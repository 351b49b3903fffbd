/**
 * Metrics from the local router's own records (`deployment_requests`): every request, with its
 * variant, role, status, latency and prediction; shadow records carry the baseline's answer to the
 * same request. The cursor is the last record id read.
 */
import type { DriftlineDb } from '../db/database.ts';
import type { Collected, CollectRequest, MetricsProvider } from './port.ts';

const MAX_ROWS_PER_WINDOW = 200_000;

export class LocalRecordsProvider implements MetricsProvider {
  constructor(private readonly db: DriftlineDb) {}

  async collect(request: CollectRequest): Promise<Collected> {
    const after = request.cursor ?? '0';
    const rows = await this.db
      .selectFrom('deployment_requests')
      .select(['id', 'variant', 'role', 'error', 'latency_ms', 'prediction', 'label', 'paired_error', 'paired_latency_ms', 'paired_prediction', 'paired_label'])
      .where('deployment_id', '=', request.deploymentId)
      .where('id', '>', after as never)
      .orderBy('id')
      .limit(MAX_ROWS_PER_WINDOW)
      .execute();
    const primary = { baseline: collector(), candidate: collector() };
    const shadow = {
      candidatePrediction: [] as number[],
      baselinePrediction: [] as number[],
      candidateLabel: [] as number[],
      baselineLabel: [] as number[],
      candidateError: [] as number[],
      baselineError: [] as number[],
      candidateLatencyMs: [] as number[],
      baselineLatencyMs: [] as number[],
    };
    for (const row of rows) {
      if (row.role === 'primary') {
        const c = primary[row.variant];
        c.requests++;
        if (row.error) c.errors++;
        c.latency.push(row.latency_ms);
        if (!row.error && row.prediction !== null) c.predictions.push(row.prediction);
      } else {
        shadow.candidatePrediction.push(row.error ? Number.NaN : (row.prediction ?? Number.NaN));
        shadow.baselinePrediction.push(row.paired_error ? Number.NaN : (row.paired_prediction ?? Number.NaN));
        shadow.candidateLabel.push(row.label ?? Number.NaN);
        shadow.baselineLabel.push(row.paired_label ?? Number.NaN);
        shadow.candidateError.push(row.error ? 1 : 0);
        shadow.baselineError.push(row.paired_error ? 1 : 0);
        shadow.candidateLatencyMs.push(row.latency_ms);
        shadow.baselineLatencyMs.push(row.paired_latency_ms ?? Number.NaN);
      }
    }
    const last = rows.at(-1);
    return {
      raw: {
        baseline: finish(primary.baseline),
        candidate: finish(primary.candidate),
        shadow: shadow.candidateError.length > 0 ? shadow : null,
      },
      cursor: last ? String(last.id) : after,
      shadowRequests: shadow.candidateError.length,
    };
  }
}

function collector() {
  return { requests: 0, errors: 0, latency: [] as number[], predictions: [] as number[] };
}

function finish(c: ReturnType<typeof collector>) {
  return { requests: c.requests, errors: c.errors, latencyMs: Float64Array.from(c.latency), predictions: Float64Array.from(c.predictions), custom: {} };
}
