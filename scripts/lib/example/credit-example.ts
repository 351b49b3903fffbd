/**
 * The bundled example, as `npm start` sets it up on a first run and `npm run demo` runs it alone:
 * the credit-default model of scripts/examples/credit with
 *  - a baseline version trained by a real pipeline, made `production` and `champion`, served by the
 *    router (hosted there) and fed by a traffic generator;
 *  - a daily retraining schedule and an hourly drift-monitor schedule whose retraining pipeline
 *    goes through the compliance gate (two demo approvers, four eyes) and a canary;
 *  - a drifted batch: the monitor is triggered once on it, finds drift, and starts the retraining.
 * Every step is idempotent, so a second `npm start` finds what the first one made.
 */
import type { Client } from '@temporalio/client';
import { readFileSync } from 'node:fs';
import { access, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { ModelRegistry } from '../../../activities/registry/port.ts';
import { RegistryError } from '../../../activities/registry/port.ts';
import { complianceGateWorkflowId, type ComplianceGateStatus } from '../../../core/compliance.ts';
import { driftMonitorScheduleId, driftRetrainingWorkflowId, type DriftMonitorInput } from '../../../core/drift-monitor.ts';
import type { ContinuousTrainingInput, PipelineOutcome } from '../../../core/training.ts';
import { generateApproverKeys } from '../../cli/compliance.ts';
import { createDriftMonitorSchedule, createTrainingSchedule, trainingScheduleId } from '../schedules.ts';
import { startContinuousTraining } from '../start-pipeline.ts';

export const EXAMPLE_MODEL = 'credit-default';
const EXAMPLES = fileURLToPath(new URL('../../examples/', import.meta.url));
const CREDIT = join(EXAMPLES, 'credit');
const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export const DEMO_APPROVERS = [
  { id: 'alice', roles: ['ml-lead'] },
  { id: 'carol', roles: ['risk'] },
] as const;

export interface ExampleContext {
  client: Client;
  registry: ModelRegistry;
  routerUrl: string;
  /** Driftline's state directory; the example keeps its files under `<home>/example`. */
  home: string;
  log: (line: string) => void;
}

export interface ApproveCommand {
  approver: string;
  role: string;
  keyFile: string;
  /** The command line a person runs from the project directory. */
  command: string;
}

export function exampleDir(home: string): string {
  return join(home, 'example');
}

/** Sets up everything except the drifted run; safe to call on every start. */
export async function setUpExample(ctx: ExampleContext): Promise<void> {
  const dir = exampleDir(ctx.home);
  await mkdir(join(dir, 'keys'), { recursive: true });
  await approverKeys(dir);
  await dataFiles(dir);
  const production = await productionVersion(ctx);
  if (production === null) await trainBaseline(ctx);
  await ensureServing(ctx);
  await schedules(ctx, dir);
}

/** The approve commands for a gate, one per demo approver. */
export function approveCommands(home: string, gateId: string): ApproveCommand[] {
  return DEMO_APPROVERS.map(({ id, roles }) => {
    const keyFile = join(exampleDir(home), 'keys', `${id}.key`);
    return { approver: id, role: roles[0], keyFile, command: `npm run driftline -- approve ${gateId} --key ${keyFile} --as ${id} --role ${roles[0]}` };
  });
}

/**
 * Fires the drift monitor once on the drifted batch (as its hourly schedule would) and waits until
 * the retraining it starts stands at the compliance gate. Returns the pipeline's and gate's ids.
 */
export async function runDriftedBatch(ctx: ExampleContext, timeoutMs = 10 * 60_000): Promise<{ pipelineId: string; gateId: string; version: number }> {
  const pipelineId = driftRetrainingWorkflowId(EXAMPLE_MODEL);
  const running = await ctx.client.workflow
    .getHandle(pipelineId)
    .describe()
    .then((d) => d.status.name === 'RUNNING')
    .catch(() => false);
  if (!running) {
    ctx.log(`Example     drift monitor: checking the drifted batch now (schedule ${driftMonitorScheduleId(EXAMPLE_MODEL)})`);
    await ctx.client.schedule.getHandle(driftMonitorScheduleId(EXAMPLE_MODEL)).trigger();
  }
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const status = (await ctx.client.workflow
      .getHandle(pipelineId)
      .query('status')
      .catch(() => null)) as { stage: string; steps: unknown[] } | null;
    const version = await latestVersion(ctx);
    if (status && version !== null) {
      const gateId = complianceGateWorkflowId(EXAMPLE_MODEL, version);
      const gate = (await ctx.client.workflow
        .getHandle(gateId)
        .query('status')
        .catch(() => null)) as ComplianceGateStatus | null;
      if (gate?.stage === 'awaiting-approval' || gate?.stage === 'escalated') return { pipelineId, gateId, version };
      if (gate?.outcome) return { pipelineId, gateId, version };
    }
    if (Date.now() > deadline) throw new Error(`the drift-triggered retraining did not reach the compliance gate within ${timeoutMs / 60_000} minutes (stage: ${status?.stage ?? 'not started'})`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

/** Sends predictions for the holdout rows to the router until stopped: the canary's traffic. */
export function startTrafficGenerator(routerUrl: string, options: { requestsPerSecond?: number } = {}): { stop(): Promise<void>; sent(): number } {
  let stopped = false;
  let sent = 0;
  const pauseMs = 1000 / (options.requestsPerSecond ?? 40);
  const loop = (async () => {
    const [header, ...lines] = (await readFile(join(CREDIT, 'holdout.csv'), 'utf8')).trim().split('\n');
    const names = header!.split(',');
    const rows = lines.map((line) => {
      const cells = line.split(',');
      return Object.fromEntries(names.flatMap((name, i) => (name === 'default' ? [] : [[name, name === 'employment' ? cells[i]! : Number(cells[i])]])));
    });
    for (let i = 0; !stopped; i++) {
      await fetch(`${routerUrl}/models/${EXAMPLE_MODEL}/predict`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-driftline-key': `customer-${i % 500}` },
        body: JSON.stringify({ rows: [rows[i % rows.length]] }),
        signal: AbortSignal.timeout(5000),
      }).then(
        (response) => response.arrayBuffer(),
        () => undefined, // the router restarting, or not up yet: keep going
      );
      sent++;
      await new Promise((r) => setTimeout(r, pauseMs));
    }
  })();
  return {
    sent: () => sent,
    async stop() {
      stopped = true;
      await loop.catch(() => {});
    },
  };
}

// ---------------------------------------------------------------------------------------------

async function approverKeys(dir: string): Promise<void> {
  const approversFile = join(dir, 'approvers.json');
  if (await exists(approversFile)) return;
  const approvers = [];
  for (const { id, roles } of DEMO_APPROVERS) {
    const keys = generateApproverKeys();
    await writeFile(join(dir, 'keys', `${id}.key`), keys.privateKeyPem, { mode: 0o600 });
    approvers.push({ id, roles: [...roles], publicKey: keys.publicKey });
  }
  await writeFile(approversFile, `${JSON.stringify({ approvers, escalation: ['carol'] }, null, 2)}\n`);
}

/** The drifted window (as a producer would publish it) and the retraining data (old plus recent). */
async function dataFiles(dir: string): Promise<void> {
  const drifted = await readFile(join(CREDIT, 'current-drifted.csv'), 'utf8');
  await writeFile(join(dir, 'window.csv'), drifted);
  const train = await readFile(join(CREDIT, 'train.csv'), 'utf8');
  const recentRows = drifted.trim().split('\n').slice(1).join('\n');
  await writeFile(join(dir, 'retrain.csv'), `${train.trimEnd()}\n${recentRows}\n`);
}

function basePipeline(): ContinuousTrainingInput {
  const definition = JSON.parse(
    // pipeline.json names the repository as /REPO so that it reads the same on every machine
    readFileSync(join(CREDIT, 'pipeline.json'), 'utf8').replaceAll('file:///REPO/', pathToFileURL(REPO_ROOT).href),
  ) as ContinuousTrainingInput;
  return { ...definition, trainer: { ...definition.trainer, workingDirectory: REPO_ROOT } as ContinuousTrainingInput['trainer'] };
}

async function trainBaseline(ctx: ExampleContext): Promise<void> {
  ctx.log(`Example     training the baseline ${EXAMPLE_MODEL} (a quick first model) with a real pipeline`);
  const pipeline = basePipeline();
  const { handle } = await startContinuousTraining(
    ctx.client,
    { ...pipeline, hyperparameters: { epochs: 60, learningRate: 0.5 }, trigger: { ...pipeline.trigger, kind: 'manual', codeCommit: 'example-baseline', requestedBy: 'driftline-example' } },
    'example-baseline',
  );
  const outcome = (await handle.result()) as PipelineOutcome;
  if (outcome.outcome !== 'registered') throw new Error(`the example's baseline was not registered: ${JSON.stringify(outcome)}`);
  for (const alias of ['production', 'champion']) {
    await ctx.registry.moveAlias({
      model: EXAMPLE_MODEL,
      alias,
      version: outcome.version,
      actor: 'driftline-example',
      reason: 'the example starts with its baseline in production',
      idempotencyKey: `example-${alias}-${outcome.version}`,
    });
  }
  ctx.log(`Example     ${EXAMPLE_MODEL} v${outcome.version} is production and champion`);
}

/** The router serves `production`: the router hosts its model server (again, after a restart). */
async function ensureServing(ctx: ExampleContext): Promise<void> {
  const version = await productionVersion(ctx);
  if (version === null) return;
  const details = await ctx.registry.getVersion({ model: EXAMPLE_MODEL, selector: { kind: 'alias', alias: 'production' } });
  const hosted = await fetch(`${ctx.routerUrl}/admin/servers/${EXAMPLE_MODEL}/v${version}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ artifact: details.lineage.artifact.uri }),
  });
  if (!hosted.ok) throw new Error(`the router could not host ${EXAMPLE_MODEL} v${version}: ${await hosted.text()}`);
  const { url } = (await hosted.json()) as { url: string };
  const current = await fetch(`${ctx.routerUrl}/admin/routes/${EXAMPLE_MODEL}`);
  const route = current.ok ? ((await current.json()) as { deploymentId: string; generation: number; candidateUrl: string | null; weights: { candidate: number; shadow: boolean } }) : null;
  const midCanary = route && (route.weights.shadow || (route.candidateUrl !== null && route.weights.candidate > 0 && route.weights.candidate < 100));
  if (midCanary) return; // a canary owns the route; it restores or promotes it itself
  const put = await fetch(`${ctx.routerUrl}/admin/routes/${EXAMPLE_MODEL}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      deploymentId: `example-production-v${version}`,
      generation: route?.deploymentId === `example-production-v${version}` ? route.generation + 1 : 0,
      baselineUrl: url,
      candidateUrl: null,
      weights: { baseline: 100, candidate: 0, shadow: false },
    }),
  });
  if (!put.ok && put.status !== 409) throw new Error(`the router refused the example's route: ${await put.text()}`);
  ctx.log(`Example     router ${ctx.routerUrl} serves ${EXAMPLE_MODEL} v${version} (POST /models/${EXAMPLE_MODEL}/predict)`);
}

async function schedules(ctx: ExampleContext, dir: string): Promise<void> {
  const pipeline = basePipeline();
  const approvers = pathToFileURL(join(dir, 'approvers.json')).href;
  const retraining: ContinuousTrainingInput = {
    ...pipeline,
    datasets: { ...pipeline.datasets, train: pathToFileURL(join(dir, 'retrain.csv')).href },
    policy: {
      ...pipeline.policy,
      compliance: {
        checks: { modelCard: {}, provenance: {} },
        approvers: { file: approvers },
        quorum: { 'ml-lead': 1, risk: 1 },
        deadlines: { escalateAfter: '4 hours', rejectAfter: '2 days' },
      },
      deployment: {
        plan: {
          shadow: { durationSeconds: 15, minRequests: 100, maxDivergence: 0.2 },
          steps: [
            { weight: 10, minBakeSeconds: 15, minRequests: 50 },
            { weight: 50, minBakeSeconds: 15, minRequests: 100 },
            { weight: 100, minBakeSeconds: 5, minRequests: 50 },
          ],
          analysisIntervalSeconds: 5,
        },
        target: { kind: 'local', routerUrl: ctx.routerUrl },
      },
    },
    trigger: { ...pipeline.trigger, kind: 'manual', codeCommit: 'example', requestedBy: 'driftline-example' },
  };
  const monitor: DriftMonitorInput = {
    model: EXAMPLE_MODEL,
    reference: pathToFileURL(join(CREDIT, 'train.csv')).href,
    window: pathToFileURL(join(dir, 'window.csv')).href,
    retraining: { pipeline: retraining, cooldownMinutes: 60 },
  };
  await createUnlessExists(ctx, trainingScheduleId(EXAMPLE_MODEL), () =>
    createTrainingSchedule(ctx.client, { ...pipeline, policy: retraining.policy }, { cron: ['0 3 * * *'], note: 'the example: daily retraining at 03:00 UTC' }),
  );
  await createUnlessExists(ctx, driftMonitorScheduleId(EXAMPLE_MODEL), () =>
    createDriftMonitorSchedule(ctx.client, monitor, { cron: ['0 * * * *'], note: 'the example: hourly drift check of the published window' }),
  );
}

async function createUnlessExists(ctx: ExampleContext, scheduleId: string, create: () => Promise<unknown>): Promise<void> {
  try {
    await create();
    ctx.log(`Example     schedule ${scheduleId} created`);
  } catch (error) {
    if ((error as Error).name !== 'ScheduleAlreadyRunning') throw error;
  }
}

async function productionVersion(ctx: ExampleContext): Promise<number | null> {
  try {
    return (await ctx.registry.getVersion({ model: EXAMPLE_MODEL, selector: { kind: 'alias', alias: 'production' } })).version;
  } catch (error) {
    if (error instanceof RegistryError && error.code === 'not-found') return null;
    throw error;
  }
}

async function latestVersion(ctx: ExampleContext): Promise<number | null> {
  try {
    return (await ctx.registry.getVersion({ model: EXAMPLE_MODEL, selector: { kind: 'latest' } })).version;
  } catch (error) {
    if (error instanceof RegistryError && error.code === 'not-found') return null;
    throw error;
  }
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}
