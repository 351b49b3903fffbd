/**
 * What turns `driftline worker` into a production worker, in one place: the SDK Runtime (JSON or
 * text logs, Core logs forwarded, the Prometheus exporter), tracing, per-queue SDK options
 * (tuning, interceptors, sinks), and the health server with its readiness rule. The worker
 * command wires it around createDriftlineWorkers.
 */
import { type Logger, makeTelemetryFilterString, type NativeConnection, Runtime, type WorkerOptions } from '@temporalio/worker';
import { TASK_QUEUES, type TaskQueueName } from '../core/names.ts';
import { startHealthServer, type HealthServer, type Readiness } from './health.ts';
import { createLogger, type LogFormat, resolveLogLevel } from './logging.ts';
import { activityMetricsInterceptor, freeLoopbackAddress, metricsScraper, prometheusExporter } from './metrics.ts';
import { workerOptionsFor, type WorkerTuning } from './options.ts';
import { startTracing, type Tracing } from './tracing.ts';
import type { DriftlineWorkers } from './worker.ts';

export interface ProductionSettings {
  logFormat: LogFormat;
  tuning: WorkerTuning;
  /** Health server port (0: any free port); undefined: no health server and no metrics exporter. */
  healthPort?: number;
  healthHost: string;
  /** The SDK exporter's bind address; default: a free loopback port. */
  sdkMetricsAddress?: string;
}

export interface Production {
  readonly logger: Logger;
  readonly tracing: Tracing;
  /** Per-queue SDK options for createDriftlineWorkers. */
  extraOptions(taskQueue: TaskQueueName): Partial<WorkerOptions>;
  /** Starts the health server for these workers (when a port is set). */
  serveHealth(workers: DriftlineWorkers, connection: NativeConnection): Promise<HealthServer | undefined>;
  /** Readiness goes false at once: called on SIGTERM, before the workers drain. */
  startDraining(): void;
  close(): Promise<void>;
}

/** Installs the Runtime (once per process, before any connection) and starts tracing. */
export async function startProduction(settings: ProductionSettings, env: NodeJS.ProcessEnv = process.env): Promise<Production> {
  const level = resolveLogLevel(settings.logFormat, env);
  const logger = createLogger(settings.logFormat, level);
  if (settings.logFormat === 'json') {
    // Node prints process warnings (deprecations, the AWS SDK's Node version notice) as text on
    // stderr; in JSON mode they become log entries like the rest.
    process.removeAllListeners('warning');
    process.on('warning', (warning) => logger.warn(warning.message, { warning: warning.name, ...('code' in warning ? { code: warning.code } : {}) }));
  }
  const sdkMetricsAddress = settings.healthPort === undefined ? undefined : (settings.sdkMetricsAddress ?? (await freeLoopbackAddress()));
  Runtime.install({
    logger,
    telemetryOptions: {
      // Core's own messages go through the same logger (one format, one stream)
      logging: { filter: makeTelemetryFilterString({ core: level, other: 'ERROR' }), forward: {} },
      ...(sdkMetricsAddress ? { metrics: prometheusExporter(sdkMetricsAddress) } : {}),
    },
  });
  const tracing = startTracing('driftline-worker', env);
  let draining = false;
  let health: HealthServer | undefined;

  return {
    logger,
    tracing,
    extraOptions(taskQueue) {
      return {
        ...workerOptionsFor(taskQueue, settings.tuning),
        interceptors: {
          activity: [activityMetricsInterceptor, ...tracing.activityInterceptors],
          client: { workflow: tracing.clientInterceptors },
        },
        ...(taskQueue === TASK_QUEUES.orchestration ? { sinks: tracing.sinks } : {}),
      };
    },
    async serveHealth(workers, connection) {
      if (settings.healthPort === undefined || !sdkMetricsAddress) return undefined;
      health = await startHealthServer({
        port: settings.healthPort,
        host: settings.healthHost,
        readiness: () => readiness(draining, workers, connection),
        metrics: metricsScraper(sdkMetricsAddress),
      });
      logger.info(`health: ${health.url}/healthz, /readyz and /metrics`, { port: health.port });
      return health;
    },
    startDraining() {
      draining = true;
    },
    async close() {
      await health?.close();
      await tracing.shutdown();
    },
  };
}

async function readiness(draining: boolean, workers: DriftlineWorkers, connection: NativeConnection): Promise<Readiness> {
  const reasons: string[] = [];
  if (draining) reasons.push('draining after a shutdown signal');
  workers.states().forEach((state, i) => {
    if (state !== 'RUNNING') reasons.push(`the ${workers.taskQueues[i]} worker is ${state}`);
  });
  if (reasons.length === 0) {
    try {
      await connection.withDeadline(Date.now() + 2000, () => connection.workflowService.getSystemInfo({}));
    } catch (error) {
      reasons.push(`the Temporal server does not answer: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  return { ready: reasons.length === 0, reasons };
}
