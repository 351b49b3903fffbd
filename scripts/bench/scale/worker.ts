/**
 * `driftline worker` as the benchmark's `--worker prebuilt` runs it: the same wiring
 * (createDriftlineWorkers: both task queues, every activity, one connection), but with a workflow
 * bundle built once beforehand (BENCH_WORKFLOW_BUNDLE) instead of webpack running inside every
 * worker at start-up, which leaves ~100+ MiB of resident memory behind in each process. This is
 * what a production worker does with a prebuilt bundle.
 */
import { NativeConnection } from '@temporalio/worker';
import { readFileSync } from 'node:fs';
import { openDatabase, resolveDatabaseTarget } from '../../../activities/db/database.ts';
import { installRuntime } from '../../../workers/runtime.ts';
import { createDriftlineWorkers } from '../../../workers/worker.ts';
import { driftlineHome } from '../../lib/home.ts';

const bundlePath = process.env.BENCH_WORKFLOW_BUNDLE;
if (!bundlePath) throw new Error('BENCH_WORKFLOW_BUNDLE must name a prebuilt workflow bundle');
installRuntime();
const connection = await NativeConnection.connect({ address: process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233' });
const database = await openDatabase(resolveDatabaseTarget({ home: driftlineHome() }), { startEmbedded: false });
const workers = await createDriftlineWorkers({
  connection,
  namespace: process.env.TEMPORAL_NAMESPACE ?? 'default',
  db: database.db,
  home: driftlineHome(),
  workflowBundle: { code: readFileSync(bundlePath, 'utf8') },
});
process.once('SIGINT', () => workers.shutdown());
process.once('SIGTERM', () => workers.shutdown());
process.stdout.write(`worker: polling ${workers.taskQueues.join(', ')} (prebuilt workflow bundle)\n`);
try {
  await workers.run();
} finally {
  await database.close();
  await connection.close();
}
