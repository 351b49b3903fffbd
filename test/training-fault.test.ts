/**
 * Fault injection: the worker running a training job is killed with SIGKILL mid-training. The job
 * must finish on the next worker, and the run must end with exactly one training process and one
 * registered version. Runs in its own namespace so that only the workers started here see its tasks.
 */
import { type Client, type Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { TASK_QUEUES } from '../core/names.ts';
import { continuousTrainingWorkflowId, type PipelineOutcome } from '../core/training.ts';
import { PostgresModelRegistry } from '../activities/registry/postgres-registry.ts';
import type { DriftlineDb } from '../activities/db/database.ts';
import { isolatedNamespace, testDb } from './helpers/env.ts';
import { creditPipeline, REPO_ROOT, uniqueModel } from './helpers/pipelines.ts';
import { startCli, type CliProcess } from './helpers/processes.ts';

let namespace: string;
let connection: Connection;
let client: Client;
let db: DriftlineDb;
let home: string;
const workers: CliProcess[] = [];

beforeAll(async () => {
  ({ namespace, connection, client } = await isolatedNamespace('fault'));
  db = testDb();
  home = await mkdtemp(join(tmpdir(), 'driftline-fault-'));
});

afterAll(async () => {
  for (const worker of workers) {
    worker.killGroup('SIGKILL');
    await worker.exited;
  }
  await db?.destroy();
  await connection?.close();
});

function startWorker(): CliProcess {
  const worker = startCli(['worker'], {
    ...process.env,
    TEMPORAL_ADDRESS: inject('temporalAddress'),
    TEMPORAL_NAMESPACE: namespace,
    DATABASE_URL: inject('databaseUrl'),
    DRIFTLINE_HOME: home,
  });
  workers.push(worker);
  return worker;
}

async function launches(): Promise<string[]> {
  const jobs = await readdir(join(home, 'jobs')).catch(() => [] as string[]);
  const lines: string[] = [];
  for (const job of jobs) {
    const text = await readFile(join(home, 'jobs', job, 'launches.jsonl'), 'utf8').catch(() => '');
    lines.push(...text.split('\n').filter(Boolean));
  }
  return lines;
}

describe('a worker killed during training', () => {
  it('resumes on the next worker with one training process and one registered version', { timeout: 180_000 }, async () => {
    const first = startWorker();
    await first.waitFor(/worker: polling/);
    const model = uniqueModel('credit-crash');
    const input = creditPipeline(model, {
      trainer: { backend: 'local', command: ['test/fixtures/trainers/slow-trainer.sh'], workingDirectory: REPO_ROOT, env: { SLOW_TRAINER_SECONDS: '8' } },
    });
    const handle = await client.workflow.start('continuousTraining', {
      taskQueue: TASK_QUEUES.orchestration,
      workflowId: continuousTrainingWorkflowId(model, 'crash'),
      args: [input],
    });

    // wait until the trainer process is running, then kill the worker that launched it
    const deadline = Date.now() + 60_000;
    while ((await launches()).length === 0) {
      if (Date.now() > deadline) throw new Error(`training never started; worker output:\n${first.output()}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    first.killGroup('SIGKILL');
    expect((await first.exited).signal).toBe('SIGKILL');

    const second = startWorker();
    await second.waitFor(/worker: polling/);
    const outcome = (await handle.result()) as PipelineOutcome;
    expect(outcome).toMatchObject({ outcome: 'registered', model, version: 1 });

    expect(await launches()).toHaveLength(1);
    const versions = await db.selectFrom('model_versions').select('version').where('model_name', '=', model).execute();
    expect(versions).toEqual([{ version: 1 }]);
    expect(await new PostgresModelRegistry(db).listRuns(model)).toHaveLength(1);

    const history = await handle.fetchHistory();
    const EventType = temporal.api.enums.v1.EventType;
    const scheduled = new Map<string, string>();
    for (const event of history.events ?? []) {
      const attributes = event.activityTaskScheduledEventAttributes;
      if (attributes) scheduled.set(String(event.eventId), attributes.activityType?.name ?? '');
    }
    const trainStarts = (history.events ?? []).filter(
      (e) => e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED && scheduled.get(String(e.activityTaskStartedEventAttributes?.scheduledEventId)) === 'trainModel',
    );
    expect(trainStarts).toHaveLength(1);
    expect(trainStarts[0]!.activityTaskStartedEventAttributes?.attempt).toBe(2);
  });
});
