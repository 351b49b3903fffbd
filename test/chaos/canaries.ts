/**
 * Standalone canary deployments under the same faults as the pipelines: each a model with v1 in
 * production and a better v2, both behind the built-in model server, the local router in the suite's
 * process, traffic flowing. (When continuousTraining hands over to canaryDeployment, the pipelines'
 * own canaries can be checked by `checkCanaries` the same way: it needs only workflow ids.)
 */
import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DriftlineDb } from '../../activities/db/database.ts';
import { PostgresModelRegistry } from '../../activities/registry/postgres-registry.ts';
import type { CanaryOutcome } from '../../core/canary.ts';
import { startCanary } from '../../scripts/cli/canary.ts';
import { startModelServer } from '../../scripts/lib/router/model-server.ts';
import type { Router } from '../../scripts/lib/router/router.ts';
import { holdoutRows, registerVersions, trainExampleModel } from '../fixtures/canary/models.ts';
import { startTraffic } from '../fixtures/canary/traffic.ts';
import type { Journal } from './journal.ts';

export interface CanaryRun {
  model: string;
  workflowId: string;
}

export async function startCanaries(options: {
  client: Client;
  db: DriftlineDb;
  router: Router;
  count: number;
  prefix: string;
  closers: Array<() => Promise<unknown>>;
}): Promise<CanaryRun[]> {
  const { client, db, router, closers } = options;
  const dir = await mkdtemp(join(tmpdir(), 'driftline-chaos-canary-'));
  closers.push(() => rm(dir, { recursive: true, force: true }));
  const [v1, v2] = await Promise.all([trainExampleModel(join(dir, 'v1'), { epochs: 150 }), trainExampleModel(join(dir, 'v2'), { epochs: 250 })]);
  const registry = new PostgresModelRegistry(db);
  const rows = await holdoutRows();
  const baseline = await startModelServer({ model: v1!.path });
  const candidate = await startModelServer({ model: v2!.path });
  closers.push(() => baseline.close(), () => candidate.close());
  const runs: CanaryRun[] = [];
  for (let i = 0; i < options.count; i++) {
    const model = `${options.prefix}-canary-${String(i).padStart(2, '0')}`;
    await registerVersions(registry, model, [v1!, v2!]);
    await registry.moveAlias({ model, alias: 'production', version: 1, actor: 'release-manager', reason: 'first release', idempotencyKey: `${model}-prod-1` });
    const traffic = startTraffic({ url: `${router.url}/models/${model}/predict`, rows, concurrency: 1, pauseMs: 40, maxSeconds: 600 });
    closers.push(() => traffic.stop());
    const { workflowId } = await startCanary(client, {
      model,
      candidateVersion: 2,
      baselineVersion: 1,
      requestedBy: 'chaos@ci',
      plan: {
        steps: [
          { weight: 10, minBakeSeconds: 4, minRequests: 5 },
          { weight: 50, minBakeSeconds: 4, minRequests: 5 },
          { weight: 100, minBakeSeconds: 2, minRequests: 5 },
        ],
        analysisIntervalSeconds: 1,
      },
      target: { kind: 'local', routerUrl: router.url, baselineUrl: baseline.url, candidateUrl: candidate.url },
    });
    runs.push({ model, workflowId });
  }
  return runs;
}

const EventType = temporal.api.enums.v1.EventType;

/**
 * No canary step was applied or decided twice:
 *  - the workflow history schedules `setCanaryTraffic` once per weight change, never the same
 *    weights twice in a row (a replayed step would re-apply its weights);
 *  - the decision records are numbered 1..n without a gap or a repeat, one `step-passed` per step,
 *    and they equal the decisions the workflow returned;
 *  - each decision reached the audit log once.
 */
export async function checkCanaries(client: Client, db: DriftlineDb, runs: CanaryRun[], journal: Journal): Promise<void> {
  const registry = new PostgresModelRegistry(db);
  let decisions = 0;
  let applied = 0;
  const problems: string[] = [];
  for (const run of runs) {
    const handle = client.workflow.getHandle(run.workflowId);
    let outcome: CanaryOutcome;
    try {
      outcome = (await handle.result()) as CanaryOutcome;
    } catch (error) {
      problems.push(`${run.workflowId} did not complete: ${error instanceof Error ? error.message : String(error)}`);
      continue;
    }
    if (outcome.outcome !== 'promoted') problems.push(`${run.workflowId} ended ${outcome.outcome}`);

    const history = await handle.fetchHistory();
    const weights: string[] = [];
    for (const event of history.events ?? []) {
      const scheduled = event.activityTaskScheduledEventAttributes;
      if (event.eventType !== EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED || scheduled?.activityType?.name !== 'setCanaryTraffic') continue;
      const payload = scheduled.input?.payloads?.[0]?.data;
      const input = payload ? (JSON.parse(Buffer.from(payload).toString('utf8')) as { weights: unknown; generation: number }) : undefined;
      weights.push(JSON.stringify(input?.weights));
    }
    applied += weights.length;
    for (let i = 1; i < weights.length; i++) if (weights[i] === weights[i - 1]) problems.push(`${run.workflowId} applied ${weights[i]} twice in a row`);

    const rows = await db.selectFrom('canary_decisions').select(['seq', 'kind', 'step']).where('deployment_id', '=', run.workflowId).orderBy('seq').execute();
    decisions += rows.length;
    rows.forEach((row, i) => {
      if (row.seq !== i + 1) problems.push(`${run.workflowId} decision #${i + 1} has seq ${row.seq}`);
    });
    const passed = rows.filter((r) => r.kind === 'step-passed').map((r) => r.step);
    if (new Set(passed).size !== passed.length) problems.push(`${run.workflowId} passed a step twice: ${passed.join(',')}`);
    const returned = outcome.decisions.map((d) => `${d.seq}:${d.kind}`).join(' ');
    const recorded = rows.map((r) => `${r.seq}:${r.kind}`).join(' ');
    if (returned !== recorded) problems.push(`${run.workflowId} returned decisions [${returned}] but recorded [${recorded}]`);
    const audited = (await registry.auditLog({ model: run.model })).filter((e) => e.action === 'canary.decided').length;
    if (audited !== rows.length) problems.push(`${run.workflowId} has ${rows.length} decisions but ${audited} canary.decided audit events`);
  }
  journal.check(
    'no duplicate canary step',
    problems.length === 0,
    problems.length === 0
      ? `${runs.length} canaries promoted; ${applied} traffic changes, none repeated; ${decisions} decisions numbered without gap or repeat, each recorded and audited once`
      : problems.join('; '),
  );
}
