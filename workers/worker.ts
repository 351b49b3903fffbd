/**
 * Process wiring: one Temporal worker per task queue, sharing one connection and one workflow
 * bundle. Workflows run on the `driftline` queue only; `driftline-training` serves activities,
 * so GPU machines can run a training-only worker (`--task-queue driftline-training`).
 */
import { bundleWorkflowCode, type NativeConnection, Worker, type WorkflowBundle } from '@temporalio/worker';
import { fileURLToPath } from 'node:url';
import { TASK_QUEUES, type TaskQueueName } from '../core/names.ts';
import { createActivities } from '../activities/index.ts';
import type { DriftlineDb } from '../activities/db/database.ts';
import type { PayloadCodec } from '@temporalio/common';

export const WORKFLOWS_PATH = fileURLToPath(new URL('../workflows/index.ts', import.meta.url));

export interface DriftlineWorkersOptions {
  connection: NativeConnection;
  namespace: string;
  db: DriftlineDb;
  /** Driftline's state directory (local training jobs, default artifact store). */
  home: string;
  taskQueues?: readonly TaskQueueName[];
  /** A prebuilt bundle; when absent the workflows are bundled from source once. */
  workflowBundle?: WorkflowBundle;
  /** Payload codecs (encryption); must match the clients'. See `dataConverterFromEnvironment`. */
  dataConverter?: { payloadCodecs: PayloadCodec[] };
}

export interface DriftlineWorkers {
  readonly taskQueues: readonly TaskQueueName[];
  /** Resolves when every worker has stopped (after `shutdown`), rejects if one fails. */
  run(): Promise<void>;
  /** Begins a graceful shutdown: stop polling, let running tasks finish. */
  shutdown(): void;
}

export async function createDriftlineWorkers(options: DriftlineWorkersOptions): Promise<DriftlineWorkers> {
  const taskQueues = options.taskQueues ?? [TASK_QUEUES.orchestration, TASK_QUEUES.training];
  const activities = createActivities({ db: options.db, home: options.home });
  const needsWorkflows = taskQueues.includes(TASK_QUEUES.orchestration);
  const workflowBundle =
    options.workflowBundle ?? (needsWorkflows ? await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: quietBundlerLogger }) : undefined);

  // A queue with nothing registered on it gets no worker: Temporal refuses an empty one.
  const servable = taskQueues.filter((taskQueue) =>
    taskQueue === TASK_QUEUES.orchestration ? true : Object.keys(activities.training).length > 0,
  );
  const workers = await Promise.all(
    servable.map((taskQueue) =>
      taskQueue === TASK_QUEUES.orchestration
        ? Worker.create({
            connection: options.connection,
            namespace: options.namespace,
            taskQueue,
            workflowBundle,
            activities: activities.orchestration,
            ...(options.dataConverter ? { dataConverter: options.dataConverter } : {}),
          })
        : Worker.create({
            connection: options.connection,
            namespace: options.namespace,
            taskQueue,
            activities: activities.training,
            ...(options.dataConverter ? { dataConverter: options.dataConverter } : {}),
          }),
    ),
  );

  return {
    taskQueues: servable,
    async run() {
      await Promise.all(workers.map((worker) => worker.run()));
    },
    shutdown() {
      for (const worker of workers) {
        if (worker.getState() === 'RUNNING') worker.shutdown();
      }
    },
  };
}

const quietBundlerLogger = {
  trace() {},
  debug() {},
  info() {},
  warn(message: string, meta?: Record<string, unknown>) {
    console.warn(message, meta ?? '');
  },
  error(message: string, meta?: Record<string, unknown>) {
    console.error(message, meta ?? '');
  },
  log() {},
};
