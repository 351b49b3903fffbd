import { Command, InvalidArgumentError, Option } from 'commander';
import { NativeConnection } from '@temporalio/worker';
import { loadClientConnectConfig } from '@temporalio/envconfig';
import { TASK_QUEUES, type TaskQueueName } from '../../core/names.ts';
import { openDatabase, resolveDatabaseTarget } from '../../activities/db/database.ts';
import { createDriftlineWorkers, WORKFLOWS_PATH } from '../../workers/worker.ts';
import { driftlineHome } from '../lib/home.ts';
import { dataConverterFromEnvironment } from '../../core/payload-codec.ts';
import { DEFAULT_HEALTH_PORT } from '../../workers/health.ts';
import { LOG_FORMATS, resolveLogFormat, type LogFormat } from '../../workers/logging.ts';
import { tuningFromFlags, tuningOptions } from '../../workers/options.ts';
import { workflowBundleFor } from '../../workers/bundle.ts';
import { startProduction } from '../../workers/production.ts';

export function workerCommand(): Command {
  const command = new Command('worker')
    .description(
      'Run a Driftline worker. Connection from TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY and the TLS settings ' +
        "of Temporal's environment configuration; database from DATABASE_URL (or the embedded one).",
    )
    .addOption(
      new Option('--task-queue <queue...>', 'task queues to serve')
        .choices(Object.values(TASK_QUEUES))
        .default(Object.values(TASK_QUEUES)),
    )
    .addOption(
      new Option('--health-port [port]', `serve /healthz, /readyz and /metrics on this port (${DEFAULT_HEALTH_PORT} without a value)`)
        .env('DRIFTLINE_HEALTH_PORT')
        .argParser(healthPort),
    )
    .addOption(new Option('--health-host <host>', 'address the health server listens on').env('DRIFTLINE_HEALTH_HOST').default('0.0.0.0'))
    .addOption(new Option('--workflow-bundle <file>', 'prebuilt workflow bundle (npm run build writes dist/workflow-bundle.js, and -traced.js for tracing)').env('DRIFTLINE_WORKFLOW_BUNDLE'))
    .addOption(new Option('--log-format <format>', 'json: one object per line (default when stdout is not a terminal)').env('DRIFTLINE_LOG_FORMAT').choices(LOG_FORMATS));
  for (const option of tuningOptions()) command.addOption(option);
  return command.action(async (flags: { taskQueue: TaskQueueName[]; healthPort?: number | true; healthHost: string; workflowBundle?: string; logFormat?: LogFormat } & Record<string, unknown>) => {
      const logFormat = flags.logFormat ?? resolveLogFormat();
      const production = await startProduction({
        logFormat,
        tuning: tuningFromFlags(flags),
        healthPort: flags.healthPort === true ? DEFAULT_HEALTH_PORT : flags.healthPort,
        healthHost: flags.healthHost,
        sdkMetricsAddress: process.env.DRIFTLINE_SDK_METRICS_ADDRESS || undefined,
      });
      const { connectionOptions, namespace } = loadClientConnectConfig();
      const connection = await NativeConnection.connect({
        ...connectionOptions,
        address: connectionOptions.address ?? '127.0.0.1:7233',
      } as Parameters<typeof NativeConnection.connect>[0]);
      const database = await openDatabase(resolveDatabaseTarget({ home: driftlineHome() }), { startEmbedded: false });
      const workers = await createDriftlineWorkers({
        connection,
        namespace: namespace ?? 'default',
        db: database.db,
        home: driftlineHome(),
        taskQueues: flags.taskQueue,
        dataConverter: dataConverterFromEnvironment(process.env),
        workflowBundle: await workflowBundleFor({ explicitPath: flags.workflowBundle, tracing: production.tracing.enabled, workflowsPath: WORKFLOWS_PATH }),
        extraOptions: (taskQueue) => production.extraOptions(taskQueue),
      });
      const health = await production.serveHealth(workers, connection);
      const stop = (signal: NodeJS.Signals) => {
        // not ready at once, so no new work is routed here; in-flight activities get the grace period
        production.startDraining();
        production.logger.info(`worker: ${signal}: draining (grace ${tuningFromFlags(flags).shutdownGraceTime})`);
        workers.shutdown();
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      const polling = `worker: polling ${workers.taskQueues.join(', ')} in namespace ${namespace ?? 'default'}`;
      if (logFormat === 'json') production.logger.info(polling);
      else process.stdout.write(`${polling}${health ? `; ${health.url}/healthz, /readyz, /metrics` : ''}\n`);
      try {
        await workers.run();
        production.logger.info('worker: stopped');
      } finally {
        await production.close();
        await database.close();
        await connection.close();
      }
    });
}

/** `--health-port` with no value is `true` (the default port); 0 asks the OS for a free one. */
function healthPort(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new InvalidArgumentError(`expected a TCP port between 0 and 65535, got "${value}".`);
  return port;
}
