import { installRuntime } from '../../workers/runtime.ts';
import { Command, Option } from 'commander';
import { NativeConnection } from '@temporalio/worker';
import { loadClientConnectConfig } from '@temporalio/envconfig';
import { TASK_QUEUES, type TaskQueueName } from '../../core/names.ts';
import { openDatabase, resolveDatabaseTarget } from '../../activities/db/database.ts';
import { createDriftlineWorkers } from '../../workers/worker.ts';
import { driftlineHome } from '../lib/home.ts';
import { dataConverterFromEnvironment } from '../../core/payload-codec.ts';

export function workerCommand(): Command {
  return new Command('worker')
    .description(
      'Run a Driftline worker. Connection from TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY and the TLS settings ' +
        "of Temporal's environment configuration; database from DATABASE_URL (or the embedded one).",
    )
    .addOption(
      new Option('--task-queue <queue...>', 'task queues to serve')
        .choices(Object.values(TASK_QUEUES))
        .default(Object.values(TASK_QUEUES)),
    )
    .action(async (flags: { taskQueue: TaskQueueName[] }) => {
      installRuntime();
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
      });
      const stop = () => workers.shutdown();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      process.stdout.write(`worker: polling ${workers.taskQueues.join(', ')} in namespace ${namespace ?? 'default'}\n`);
      try {
        await workers.run();
      } finally {
        await database.close();
        await connection.close();
      }
    });
}
