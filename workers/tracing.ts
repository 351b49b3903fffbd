/**
 * OpenTelemetry tracing through the SDK's interceptors: a client starting a workflow opens a span
 * whose context travels in the workflow's headers; the bundled workflow interceptors trace the
 * workflow and the calls it makes (their spans leave the sandbox through the `exporter` sink); the
 * activity interceptors trace each attempt. Spans go to an OTLP/HTTP collector at
 * `OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`); with neither set, tracing is off.
 */
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { Resource } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { WorkflowClientInterceptor } from '@temporalio/client';
import {
  makeWorkflowExporter,
  OpenTelemetryActivityInboundInterceptor,
  OpenTelemetryActivityOutboundInterceptor,
  OpenTelemetryWorkflowClientInterceptor,
} from '@temporalio/interceptors-opentelemetry';
import type { ActivityInterceptorsFactory } from '@temporalio/worker';
import { bundledInterceptorSinks, type WorkerSinks } from './bundle.ts';
import { AsyncLocalStorageContextManager } from './otel-context.ts';

export interface Tracing {
  readonly enabled: boolean;
  readonly activityInterceptors: ActivityInterceptorsFactory[];
  readonly clientInterceptors: WorkflowClientInterceptor[];
  /** The sink the bundled workflow interceptors export through; a no-op when tracing is off. */
  readonly sinks: WorkerSinks;
  /** Flushes spans still buffered. */
  shutdown(): Promise<void>;
}

export function tracingConfigured(env: NodeJS.ProcessEnv = process.env): boolean {
  return Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim() || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim());
}

export function startTracing(serviceName: string, env: NodeJS.ProcessEnv = process.env): Tracing {
  if (!tracingConfigured(env)) {
    return {
      enabled: false,
      activityInterceptors: [],
      clientInterceptors: [],
      sinks: bundledInterceptorSinks(),
      shutdown: async () => {},
    };
  }
  const resource = new Resource({ 'service.name': env.OTEL_SERVICE_NAME?.trim() || serviceName });
  // The URL is set from `env` (the exporter alone would read process.env); headers and timeouts
  // still come from the usual OTEL_EXPORTER_OTLP_* variables.
  const processor = new BatchSpanProcessor(new OTLPTraceExporter({ url: tracesUrl(env) }), { scheduledDelayMillis: 1000 });
  const provider = new BasicTracerProvider({ resource, spanProcessors: [processor] });
  // global provider, W3C propagator and a context manager: the interceptors inject the active
  // context into headers and extract it on the other side through them
  provider.register({ contextManager: new AsyncLocalStorageContextManager() });
  const tracer = provider.getTracer('driftline');
  return {
    enabled: true,
    activityInterceptors: [
      (ctx) => ({
        inbound: new OpenTelemetryActivityInboundInterceptor(ctx, { tracer }),
        outbound: new OpenTelemetryActivityOutboundInterceptor(ctx),
      }),
    ],
    clientInterceptors: [new OpenTelemetryWorkflowClientInterceptor({ tracer })],
    sinks: { exporter: makeWorkflowExporter(processor, resource) },
    shutdown: () => provider.shutdown(),
  };
}

/** The OTLP/HTTP traces URL, as the OpenTelemetry spec derives it from the two variables. */
export function tracesUrl(env: NodeJS.ProcessEnv): string {
  const traces = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim();
  if (traces) return traces;
  return `${env.OTEL_EXPORTER_OTLP_ENDPOINT!.trim().replace(/\/+$/, '')}/v1/traces`;
}
