/**
 * Process wiring: one Temporal worker per task queue, sharing one connection and one workflow
 * bundle. Workflows run on the `driftline` queue only; `driftline-training` serves activities,
 * so GPU machines can run a training-only worker (`--task-queue driftline-training`).
 */
import { type NativeConnection, type State, Worker, type WorkerOptions, type WorkflowBundleOption } from '@temporalio/worker';
import { fileURLToPath } from 'node:url';
import { TASK_QUEUES, type TaskQueueName } from '../core/names.ts';
import { createActivities } from '../activities/index.ts';
import type { DriftlineDb } from '../activities/db/database.ts';
import type { PayloadCodec } from '@temporalio/common';
import { bundledInterceptorSinks, bundleWorkflows } from './bundle.ts';

// `.js` when this module runs compiled under dist/ (npm run build)
export const WORKFLOWS_PATH = fileURLToPath(new URL(import.meta.url.endsWith('.ts') ? '../workflows/index.ts' : '../workflows/index.js', import.meta.url));

export interface DriftlineWorkersOptions {
  connection: NativeConnection;
  namespace: string;
  db: DriftlineDb;
  /** Driftline's state directory (local training jobs, default artifact store). */
  home: string;
  taskQueues?: readonly TaskQueueName[];
  /** A prebuilt bundle; when absent the workflows are bundled from source once. */
  workflowBundle?: WorkflowBundleOption;
  /** Payload codecs (encryption); must match the clients'. See `dataConverterFromEnvironment`. */
  dataConverter?: { payloadCodecs: PayloadCodec[] };
  /** Extra SDK options per queue: tuning, interceptors, sinks (workers/options.ts, the worker command). */
  extraOptions?: (taskQueue: TaskQueueName) => Partial<WorkerOptions>;
}

export interface DriftlineWorkers {
  readonly taskQueues: readonly TaskQueueName[];
  /** Resolves when every worker has stopped (after `shutdown`), rejects if one fails. */
  run(): Promise<void>;
  /** Begins a graceful shutdown: stop polling, let running tasks finish. */
  shutdown(): void;
  /** Each worker's SDK state, for readiness. */
  states(): State[];
}

export async function createDriftlineWorkers(options: DriftlineWorkersOptions): Promise<DriftlineWorkers> {
  const taskQueues = options.taskQueues ?? [TASK_QUEUES.orchestration, TASK_QUEUES.training];
  const activities = createActivities({ db: options.db, home: options.home });
  const needsWorkflows = taskQueues.includes(TASK_QUEUES.orchestration);
  const workflowBundle =
    options.workflowBundle ?? (needsWorkflows ? await bundleWorkflows(WORKFLOWS_PATH) : undefined);

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
            sinks: bundledInterceptorSinks(),
            ...options.extraOptions?.(taskQueue),
          })
        : Worker.create({
            connection: options.connection,
            namespace: options.namespace,
            taskQueue,
            activities: activities.training,
            ...(options.dataConverter ? { dataConverter: options.dataConverter } : {}),
            ...options.extraOptions?.(taskQueue),
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
    states() {
      return workers.map((worker) => worker.getState());
    },
  };
}
