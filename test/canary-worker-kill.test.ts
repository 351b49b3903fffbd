/**
 * Fault injection: the worker running a canary is killed with SIGKILL mid-step. The next worker
 * replays the canary to the same step with the same weights (the router is not touched in between),
 * and the canary goes on from there. Runs in its own namespace so only the workers started here see it.
 */
import { type Client, type Connection } from '@temporalio/client';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { DriftlineDb } from '../activities/db/database.ts';
import { PostgresModelRegistry } from '../activities/registry/postgres-registry.ts';
import type { CanaryOutcome, CanaryStatus } from '../core/canary.ts';
import { startCanary } from '../scripts/cli/canary.ts';
import { startModelServer } from '../scripts/lib/router/model-server.ts';
import { startRouter, type Router } from '../scripts/lib/router/router.ts';
import { holdoutRows, registerVersions, trainExampleModel } from './fixtures/canary/models.ts';
import { startTraffic } from './fixtures/canary/traffic.ts';
import { isolatedNamespace, testDb } from './helpers/env.ts';
import { uniqueModel } from './helpers/pipelines.ts';
import { startCli, type CliProcess } from './helpers/processes.ts';

let namespace: string;
let connection: Connection;
let client: Client;
let db: DriftlineDb;
let home: string;
let router: Router;
const workers: CliProcess[] = [];
const closers: Array<() => Promise<unknown>> = [];

beforeAll(async () => {
  ({ namespace, connection, client } = await isolatedNamespace('canary-fault'));
  db = testDb();
  home = await mkdtemp(join(tmpdir(), 'driftline-canary-fault-'));
  router = await startRouter({ db, flushIntervalMs: 100 });
  closers.push(() => router.close());
});

afterAll(async () => {
  for (const worker of workers) {
    worker.killGroup('SIGKILL');
    await worker.exited;
  }
  for (const close of closers.reverse()) await close().catch(() => {});
  await db?.destroy();
  await connection?.close();
});

function startWorker(): CliProcess {
  const worker = startCli(['worker', '--task-queue', 'driftline'], {
    ...process.env,
    TEMPORAL_ADDRESS: inject('temporalAddress'),
    TEMPORAL_NAMESPACE: namespace,
    DATABASE_URL: inject('databaseUrl'),
    DRIFTLINE_HOME: home,
  });
  workers.push(worker);
  return worker;
}

async function until<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs = 90_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe('a worker killed during a canary step', () => {
  it('is replaced by one that resumes at the same step with the same weights', { timeout: 240_000 }, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'driftline-canary-fault-models-'));
    const [v1, v2] = await Promise.all([trainExampleModel(join(dir, 'v1'), { epochs: 150 }), trainExampleModel(join(dir, 'v2'), { epochs: 250 })]);
    const registry = new PostgresModelRegistry(db);
    const model = uniqueModel('canary-crash');
    await registerVersions(registry, model, [v1, v2]);
    await registry.moveAlias({ model, alias: 'production', version: 1, actor: 'release-manager', reason: 'first release', idempotencyKey: `${model}-prod` });
    const baseline = await startModelServer({ model: v1.path });
    const candidate = await startModelServer({ model: v2.path });
    closers.push(() => baseline.close(), () => candidate.close());
    const traffic = startTraffic({ url: `${router.url}/models/${model}/predict`, rows: await holdoutRows(), concurrency: 2, pauseMs: 15, maxSeconds: 200 });
    closers.push(() => traffic.stop());

    const first = startWorker();
    await first.waitFor(/worker: polling/);
    const { workflowId } = await startCanary(client, {
      model,
      candidateVersion: 2,
      baselineVersion: 1,
      requestedBy: 'ci@github',
      plan: {
        steps: [
          { weight: 10, minBakeSeconds: 2, minRequests: 5 },
          { weight: 40, minBakeSeconds: 600, minRequests: 5 },
          { weight: 100, minBakeSeconds: 1, minRequests: 5 },
        ],
        analysisIntervalSeconds: 1,
      },
      target: { kind: 'local', routerUrl: router.url, baselineUrl: baseline.url, candidateUrl: candidate.url },
    });
    const handle = client.workflow.getHandle(workflowId);
    const atStep2 = await until('step 2', async () => {
      const s = await handle.query<CanaryStatus>('status');
      return s.step === 2 ? s : undefined;
    });
    const routeBefore = structuredClone(router.routes().get(model)!);
    expect(routeBefore.weights).toEqual({ baseline: 60, candidate: 40, shadow: false });

    first.killGroup('SIGKILL');
    expect((await first.exited).signal).toBe('SIGKILL');
    // with no worker, nothing moves: the router keeps the step's weights
    await new Promise((r) => setTimeout(r, 3000));
    expect(router.routes().get(model)).toEqual(routeBefore);

    const second = startWorker();
    await second.waitFor(/worker: polling/);
    const resumed = await until('the new worker to answer', () => handle.query<CanaryStatus>('status'));
    expect(resumed).toMatchObject({ step: 2, weights: { baseline: 60, candidate: 40, shadow: false }, stage: 'canary-step-2' });
    expect(resumed.current?.startedAt).toBe(atStep2.current?.startedAt);
    // the new worker keeps judging the same step (analyses go on) without re-applying or advancing
    await until('an analysis by the new worker', async () => {
      const s = await handle.query<CanaryStatus>('status');
      return s.lastAnalysis && Date.parse(s.lastAnalysis.at) > Date.now() - 2000 ? s : undefined;
    });
    expect(router.routes().get(model)).toEqual(routeBefore);

    await handle.executeUpdate('promote', { args: [{ by: 'oncall' }] });
    const outcome = (await handle.result()) as CanaryOutcome;
    await traffic.stop();
    expect(outcome.outcome).toBe('promoted');
    expect(outcome.decisions.map((d) => d.kind)).toEqual(['started', 'step-passed', 'promote-requested', 'promoted']);
    // each decision was written once, and once to the audit log
    const rows = await db.selectFrom('canary_decisions').select(['seq', 'kind']).where('deployment_id', '=', workflowId).orderBy('seq').execute();
    expect(rows.map((r) => r.kind)).toEqual(['started', 'step-passed', 'promote-requested', 'promoted']);
    const audit = (await registry.auditLog({ model })).filter((e) => e.action === 'canary.decided');
    expect(audit).toHaveLength(4);
  });
});
