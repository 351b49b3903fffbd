/**
 * Metrics of a SageMaker endpoint from CloudWatch (namespace `AWS/SageMaker`, dimensions
 * EndpointName and VariantName): `Invocations` (requests), `Invocation5XXErrors` (errors) and
 * `ModelLatency` (microseconds). CloudWatch holds aggregates, not requests: the latency test sees one
 * observation per period and variant (the period's average), and there are no predictions nor
 * paired shadow answers (the shadow phase is judged on the shadow variant's own counts).
 *
 * Windows are whole periods ending `lagSeconds` before now, because CloudWatch publishes late; the
 * cursor is the end of the last window read (ISO time).
 */
import { GetMetricDataCommand, type CloudWatchClient, type MetricDataQuery } from '@aws-sdk/client-cloudwatch';
import type { MetricsSource } from '../../core/canary.ts';
import { emptySamples, MetricsConfigurationError, type Collected, type CollectRequest, type MetricsProvider } from './port.ts';

type CloudWatchSource = Extract<MetricsSource, { kind: 'cloudwatch' }>;

export class CloudWatchProvider implements MetricsProvider {
  constructor(
    private readonly client: (region: string | undefined) => CloudWatchClient,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async collect(request: CollectRequest): Promise<Collected> {
    if (request.target.kind !== 'sagemaker') throw new MetricsConfigurationError('CloudWatch metrics are read for SageMaker endpoints only');
    const source = request.source as CloudWatchSource;
    const target = request.target;
    const period = source.periodSeconds;
    const endMs = Math.floor((this.now().getTime() - source.lagSeconds * 1000) / (period * 1000)) * period * 1000;
    const startMs = request.cursor ? Date.parse(request.cursor) : endMs - 10 * period * 1000;
    if (!(endMs > startMs)) {
      return { raw: { baseline: emptySamples(), candidate: emptySamples(), shadow: null }, cursor: request.cursor ?? new Date(endMs).toISOString(), shadowRequests: 0 };
    }
    const variants = { baseline: target.baselineVariant, candidate: target.candidateVariant.name };
    const queries: MetricDataQuery[] = [];
    const metric = (id: string, variant: string, name: string, stat: string): MetricDataQuery => ({
      Id: id,
      MetricStat: {
        Metric: { Namespace: source.namespace, MetricName: name, Dimensions: [{ Name: 'EndpointName', Value: target.endpointName }, { Name: 'VariantName', Value: variant }] },
        Period: period,
        Stat: stat,
      },
      ReturnData: true,
    });
    for (const [role, variant] of Object.entries(variants)) {
      queries.push(metric(`${role}_invocations`, variant, 'Invocations', 'Sum'), metric(`${role}_errors`, variant, 'Invocation5XXErrors', 'Sum'), metric(`${role}_latency`, variant, 'ModelLatency', 'Average'));
    }
    const values = new Map<string, Map<number, number>>();
    let nextToken: string | undefined;
    do {
      const page = await this.client(source.region ?? target.region).send(
        new GetMetricDataCommand({ MetricDataQueries: queries, StartTime: new Date(startMs), EndTime: new Date(endMs), NextToken: nextToken, ScanBy: 'TimestampAscending' }),
      );
      for (const result of page.MetricDataResults ?? []) {
        const series = values.get(result.Id!) ?? new Map<number, number>();
        (result.Timestamps ?? []).forEach((t, i) => series.set(new Date(t).getTime(), result.Values?.[i] ?? 0));
        values.set(result.Id!, series);
      }
      nextToken = page.NextToken;
    } while (nextToken);

    const samples = (role: 'baseline' | 'candidate') => {
      const invocations = values.get(`${role}_invocations`) ?? new Map();
      const errors = values.get(`${role}_errors`) ?? new Map();
      const latency = values.get(`${role}_latency`) ?? new Map();
      let requests = 0;
      let errorCount = 0;
      const latencies: number[] = [];
      for (const [t, count] of invocations) {
        requests += count;
        errorCount += errors.get(t) ?? 0;
        const micros = latency.get(t);
        if (count > 0 && micros !== undefined) latencies.push(micros / 1000);
      }
      return { requests: Math.round(requests), errors: Math.round(errorCount), latencyMs: Float64Array.from(latencies), predictions: new Float64Array(0), custom: {} };
    };
    const baseline = samples('baseline');
    const candidate = samples('candidate');
    if (request.shadowActive) {
      // the candidate is a shadow variant: its invocations are mirrored requests, not live traffic
      return { raw: { baseline, candidate: emptySamples(), shadow: null }, cursor: new Date(endMs).toISOString(), shadowRequests: candidate.requests };
    }
    return { raw: { baseline, candidate, shadow: null }, cursor: new Date(endMs).toISOString(), shadowRequests: 0 };
  }
}
