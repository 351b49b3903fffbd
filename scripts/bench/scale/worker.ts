/**
 * The benchmark's `--worker tuned` process: Driftline's two task queues with every activity and the
 * workflows (createActivities, the same bundle), wired like `driftline worker`, plus what a
 * production worker sets and `driftline worker` on this branch cannot yet:
 *  - a workflow bundle built once beforehand (BENCH_WORKFLOW_BUNDLE) instead of webpack inside every
 *    worker at start-up, which leaves 100+ MiB of resident memory behind in each process;
 *  - SDK limits, from the same variables as the production worker's flags:
 *    DRIFTLINE_MAX_CACHED_WORKFLOWS (sticky cache: parked workflows beyond it are evicted and
 *    replayed when an approval arrives, so memory does not grow with the number parked),
 *    DRIFTLINE_MAX_CONCURRENT_WORKFLOW_TASKS and DRIFTLINE_MAX_CONCURRENT_ACTIVITIES (per queue: a
 *    worker takes no more than it can finish, and the rest waits in Temporal's queue, not in
 *    its event loop, where it would push workflow tasks past their 10 s timeout).
 */
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { readFileSync } from 'node:fs';
import { openDatabase, resolveDatabaseTarget } from '../../../activities/db/database.ts';
import { createActivities } from '../../../activities/index.ts';
import { TASK_QUEUES } from '../../../core/names.ts';
import { installRuntime } from '../../../workers/runtime.ts';
import { driftlineHome } from '../../lib/home.ts';

const bundlePath = process.env.BENCH_WORKFLOW_BUNDLE;
if (!bundlePath) throw new Error('BENCH_WORKFLOW_BUNDLE must name a prebuilt workflow bundle');

function limit(name: string): number | undefined {
  const value = process.env[name];
  if (value === undefined || value === '') return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer, got ${value}`);
  return n;
}
const tuning: Partial<WorkerOptions> = Object.fromEntries(
  Object.entries({
    maxCachedWorkflows: limit('DRIFTLINE_MAX_CACHED_WORKFLOWS'),
    maxConcurrentWorkflowTaskExecutions: limit('DRIFTLINE_MAX_CONCURRENT_WORKFLOW_TASKS'),
    maxConcurrentActivityTaskExecutions: limit('DRIFTLINE_MAX_CONCURRENT_ACTIVITIES'),
  }).filter(([, v]) => v !== undefined),
);

installRuntime();
const connection = await NativeConnection.connect({ address: process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233' });
const database = await openDatabase(resolveDatabaseTarget({ home: driftlineHome() }), { startEmbedded: false });
const namespace = process.env.TEMPORAL_NAMESPACE ?? 'default';
const activities = createActivities({ db: database.db, home: driftlineHome() });
const { maxCachedWorkflows: _cache, maxConcurrentWorkflowTaskExecutions: _wft, ...activityTuning } = tuning;
const workers = await Promise.all([
  Worker.create({
    connection,
    namespace,
    taskQueue: TASK_QUEUES.orchestration,
    workflowBundle: { code: readFileSync(bundlePath, 'utf8') },
    activities: activities.orchestration,
    ...tuning,
  }),
  Worker.create({ connection, namespace, taskQueue: TASK_QUEUES.training, activities: activities.training, ...activityTuning }),
]);
const stop = () => workers.forEach((w) => w.getState() === 'RUNNING' && w.shutdown());
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
process.stdout.write(`worker: polling ${TASK_QUEUES.orchestration}, ${TASK_QUEUES.training} (prebuilt workflow bundle; ${JSON.stringify(tuning)})\n`);
try {
  await Promise.all(workers.map((w) => w.run()));
} finally {
  await database.close();
  await connection.close();
}
