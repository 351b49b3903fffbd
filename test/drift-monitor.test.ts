/**
 * driftMonitor on a real Temporal Schedule: the schedule fires the monitor, a drifted window starts
 * exactly one retraining, a second drifted window while it runs starts none, the cool-down holds
 * after it, a healthy window is recorded as no drift, and an unreadable window is recorded instead
 * of failing the monitor.
 */
import { ScheduleNotFoundError, type Client, type ScheduleHandle } from '@temporalio/client';
import { copyFile, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fitAndStoreProfile } from '../activities/drift/profile.ts';
import { PostgresModelRegistry } from '../activities/registry/postgres-registry.ts';
import type { DriftlineDb } from '../activities/db/database.ts';
import { driftRetrainingWorkflowId, type DriftMonitorInput, type DriftMonitorOutcome } from '../core/drift-monitor.ts';
import { createDriftMonitorSchedule } from '../scripts/lib/schedules.ts';
import { testClient, testDb } from './helpers/env.ts';
import { saveHistoryIfRecording } from './helpers/histories.ts';
import { CREDIT_HOLDOUT, CREDIT_TRAIN, creditPipeline, REPO_ROOT, uniqueModel } from './helpers/pipelines.ts';

const DRIFTED = join(REPO_ROOT, 'scripts/examples/credit/current-drifted.csv');

let client: Awaited<ReturnType<typeof testClient>>;
let db: DriftlineDb;
let dir: string;
let profileUri: string;
const schedules: ScheduleHandle[] = [];

beforeAll(async () => {
  client = await testClient();
  db = testDb();
  dir = await mkdtemp(join(tmpdir(), 'driftline-monitor-'));
  const profile = await fitAndStoreProfile({ data: pathToFileURL(CREDIT_TRAIN).href, out: join(dir, 'profiles') });
  profileUri = profile.uri;
});
afterAll(async () => {
  for (const schedule of schedules) await schedule.delete().catch((e: unknown) => e instanceof ScheduleNotFoundError || Promise.reject(e));
  await client?.close();
  await db?.destroy();
});

/** Fires the schedule once and returns the outcome of the monitor run it started. */
async function fire(temporal: Client, schedule: ScheduleHandle, previousActions: number, record?: string): Promise<DriftMonitorOutcome> {
  await schedule.trigger();
  for (let i = 0; ; i++) {
    const { info } = await schedule.describe();
    const action = info.recentActions[previousActions];
    if (action) {
      const handle = temporal.workflow.getHandle(action.action.workflow.workflowId, action.action.workflow.firstExecutionRunId);
      const outcome = (await handle.result()) as DriftMonitorOutcome;
      if (record) await saveHistoryIfRecording('workflows', record, await handle.fetchHistory());
      return outcome;
    }
    if (i > 300) throw new Error('the schedule never started the monitor');
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function monitor(model: string, window: string, withRetraining: boolean): Promise<ScheduleHandle> {
  const pipeline = creditPipeline(model, {
    trainer: { backend: 'local', command: ['test/fixtures/trainers/slow-trainer.sh'], workingDirectory: REPO_ROOT, env: { SLOW_TRAINER_SECONDS: '6' } },
  });
  const input: DriftMonitorInput = {
    model,
    reference: profileUri,
    window,
    ...(withRetraining ? { retraining: { pipeline, cooldownMinutes: 60 } } : {}),
  };
  const schedule = await createDriftMonitorSchedule(client.client, input, { cron: ['0 3 1 1 *'], note: 'test: fired by trigger()' });
  schedules.push(schedule);
  return schedule;
}

describe('driftMonitor', () => {
  it('starts exactly one retraining for drift, none while it runs, and respects the cool-down', { timeout: 150_000 }, async () => {
    const model = uniqueModel('credit-monitored');
    const window = join(dir, `${model}-window.csv`);
    await copyFile(DRIFTED, window);
    const schedule = await monitor(model, pathToFileURL(window).href, true);

    const first = await fire(client.client, schedule, 0, 'drift-monitor-started-retraining');
    expect(first).toMatchObject({ outcome: 'drift', retraining: { action: 'started', workflowId: driftRetrainingWorkflowId(model) } });
    expect(first.outcome === 'drift' && first.driftedColumns.length).toBeGreaterThan(0);

    // the next window is drifted too, while the retraining still trains
    const second = await fire(client.client, schedule, 1, 'drift-monitor-already-running');
    expect(second).toMatchObject({ outcome: 'drift', retraining: { action: 'already-running' } });

    const retraining = client.client.workflow.getHandle(driftRetrainingWorkflowId(model));
    expect(await retraining.result()).toMatchObject({ outcome: 'registered', version: 1 });
    const registry = new PostgresModelRegistry(db);
    const version = await registry.getVersion({ model, selector: { kind: 'version', version: 1 } });
    expect(version.evidence).toMatchObject([{ kind: 'drift-report', uri: first.outcome === 'drift' ? first.report.uri : '' }]);
    expect(await registry.listRuns(model)).toMatchObject([{ trigger: 'drift', outcome: 'registered' }]);

    // after it: still drifted, but inside the cool-down
    const third = await fire(client.client, schedule, 2);
    expect(third).toMatchObject({ outcome: 'drift', retraining: { action: 'cooling-down' } });

    const checks = await registry.listDriftChecks(model);
    expect(checks.map((c) => c.status)).toEqual(['drift', 'drift', 'drift']);
    expect(checks[0]!.report?.sha256).toMatch(/^[0-9a-f]{64}$/);
    // exactly one continuousTraining ever ran for this model
    const runs = [];
    for await (const execution of client.client.workflow.list({ query: `WorkflowType = 'continuousTraining' AND DriftlineModel = '${model}'` })) runs.push(execution);
    expect(runs).toHaveLength(1);
  });

  it('records a healthy window as no drift, and an unreadable one without failing', async () => {
    const model = uniqueModel('credit-healthy');
    const healthy = await monitor(model, pathToFileURL(CREDIT_HOLDOUT).href, false);
    expect(await fire(client.client, healthy, 0)).toMatchObject({ outcome: 'no-drift', model });

    const broken = uniqueModel('credit-broken');
    const missing = await monitor(broken, pathToFileURL(join(dir, 'not-published-yet.csv')).href, true);
    const outcome = await fire(client.client, missing, 0, 'drift-monitor-window-failed');
    expect(outcome).toMatchObject({ outcome: 'window-failed', model: broken });
    expect(outcome.outcome === 'window-failed' && outcome.reason).toContain('not-published-yet.csv');
    const checks = await new PostgresModelRegistry(db).listDriftChecks(broken);
    expect(checks).toMatchObject([{ status: 'failed' }]);
  });
});
