/**
 * The production worker, as shipped: `npm run build` output (compiled JavaScript, prebuilt
 * workflow bundle, no tsx) run as a child process against the real dev server, in its own
 * namespace. It answers its probes, writes JSON log lines, exports SDK and Driftline metrics and
 * OpenTelemetry spans (to a real OTLP/HTTP receiver here), and on SIGTERM stops taking work, lets
 * the in-flight training activity finish, and exits 0. A second worker finishes the pipeline
 * after replaying it, and counts only what it saw live. The prebuilt bundle (with its interceptor
 * modules) replays every recorded history.
 */
import { Client, type Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { TASK_QUEUES } from '../core/names.ts';
import { bundledInterceptorSinks } from '../workers/bundle.ts';
import { startTracing } from '../workers/tracing.ts';
import { continuousTrainingWorkflowId, type PipelineOutcome } from '../core/training.ts';
import { isolatedNamespace, testDb } from './helpers/env.ts';
import { HISTORIES_DIR } from './helpers/histories.ts';
import { creditPipeline, REPO_ROOT, resultWithin, uniqueModel } from './helpers/pipelines.ts';
import { startCli, type CliProcess } from './helpers/processes.ts';
import { PostgresModelRegistry } from '../activities/registry/postgres-registry.ts';
import type { CanaryOutcome, CanaryStatus } from '../core/canary.ts';
import { startCanary } from '../scripts/cli/canary.ts';
import { startModelServer } from '../scripts/lib/router/model-server.ts';
import { startRouter } from '../scripts/lib/router/router.ts';
import { registerVersions, trainExampleModel } from './fixtures/canary/models.ts';

const DIST_ENTRY = join(REPO_ROOT, 'dist/scripts/cli/main.js');
const DIST_BUNDLES = [join(REPO_ROOT, 'dist/workflow-bundle.js'), join(REPO_ROOT, 'dist/workflow-bundle-traced.js')];

let namespace: string;
let connection: Connection;
let home: string;
let otlp: OtlpReceiver;
const workers: CliProcess[] = [];

beforeAll(async () => {
  await buildIfStale();
  ({ namespace, connection } = await isolatedNamespace('prod-worker'));
  home = await mkdtemp(join(tmpdir(), 'driftline-prod-worker-'));
  otlp = await startOtlpReceiver();
}, 400_000);

afterAll(async () => {
  for (const worker of workers) {
    worker.killGroup('SIGKILL');
    await worker.exited;
  }
  await otlp?.close();
  await connection?.close();
});

describe('the compiled production worker', () => {
  it('probes, logs JSON, exports metrics and spans, and drains an in-flight activity on SIGTERM', { timeout: 300_000 }, async () => {
    const first = startWorker();
    const firstHealth = await healthUrl(first);
    expect((await fetch(`${firstHealth}/healthz`)).status).toBe(200);
    await until('the first worker to be ready', async () => (await fetch(`${firstHealth}/readyz`)).status === 200);

    // a client that traces, as `driftline run` does with OTEL_EXPORTER_OTLP_ENDPOINT set: the
    // trace starts here and every worker's spans join it
    const clientTracing = startTracing('driftline-test-client', { OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url });
    const tracedClient = new Client({ connection, namespace, interceptors: { workflow: clientTracing.clientInterceptors } });
    const model = uniqueModel('prod-worker');
    const handle = await tracedClient.workflow.start('continuousTraining', {
      taskQueue: TASK_QUEUES.orchestration,
      workflowId: continuousTrainingWorkflowId(model, 'drain'),
      args: [
        creditPipeline(model, {
          trainer: { backend: 'local', command: ['test/fixtures/trainers/slow-trainer.sh'], workingDirectory: REPO_ROOT, env: { SLOW_TRAINER_SECONDS: '6' } },
        }),
      ],
    });

    // SIGTERM while the trainer runs: readiness drops at once, training still completes here
    await until('the trainer to start', async () => (await launches()).length > 0, 90_000);
    first.child.kill('SIGTERM');
    await until('readiness to drop', async () => (await fetch(`${firstHealth}/readyz`)).status === 503, 5_000);
    const exit = await first.exited;
    expect(exit).toEqual({ code: 0, signal: null });

    const events = (await handle.fetchHistory()).events ?? [];
    const EventType = temporal.api.enums.v1.EventType;
    const scheduled = events.find((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'trainModel')!;
    const started = events.filter((e) => e.activityTaskStartedEventAttributes?.scheduledEventId?.toString() === scheduled.eventId?.toString());
    const completed = events.find((e) => e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED && e.activityTaskCompletedEventAttributes?.scheduledEventId?.toString() === scheduled.eventId?.toString());
    expect(completed, 'trainModel completed by the draining worker').toBeDefined();
    expect(started).toHaveLength(1);
    expect(started[0]!.activityTaskStartedEventAttributes?.attempt).toBe(1);
    expect(started[0]!.activityTaskStartedEventAttributes?.identity).toContain(`${first.child.pid}@`);
    expect(await launches()).toHaveLength(1);

    // every line the worker wrote is one JSON object with time, level and message
    const lines = first.output().split('\n').filter((line) => line.trim() !== '');
    expect(lines.length).toBeGreaterThan(2);
    const notJson = lines.filter((line) => {
      try {
        const entry = JSON.parse(line) as Record<string, unknown>;
        return !(typeof entry.time === 'string' && typeof entry.level === 'string' && typeof entry.message === 'string');
      } catch {
        return true;
      }
    });
    expect(notJson).toEqual([]);
    expect(lines.some((line) => line.includes('draining'))).toBe(true);

    // a second worker replays the pipeline and finishes it
    const second = startWorker();
    const secondHealth = await healthUrl(second);
    const outcome = await resultWithin<PipelineOutcome>(handle);
    expect(outcome.outcome).toBe('registered');

    const metrics = await (await fetch(`${secondHealth}/metrics`)).text();
    // the SDK's own
    expect(metrics).toMatch(/^temporal_workflow_completed\{[^}]*workflow_type="continuousTraining"[^}]*\} 1$/m);
    expect(metrics).toMatch(/^temporal_activity_execution_latency_(seconds_)?bucket\{/m);
    // Driftline's, with their labels; stages the first worker ran are not counted again on replay
    const stage = (name: string) => sample(metrics, 'driftline_workflow_stage_entered', { stage: name, workflowType: 'continuousTraining', namespace });
    expect(stage('evaluating')).toBe(1);
    expect(stage('registering')).toBe(1);
    expect(stage('done')).toBe(1);
    expect(stage('validating')).toBeUndefined();
    expect(stage('training')).toBeUndefined();
    expect(sample(metrics, 'driftline_workflow_outcomes', { outcome: 'registered', workflowType: 'continuousTraining' })).toBe(1);
    expect(sample(metrics, 'driftline_activity_duration_seconds_count', { activityType: 'evaluateCandidate', outcome: 'completed', taskQueue: 'driftline' })).toBe(1);
    expect(sample(metrics, 'driftline_activity_duration_seconds_bucket', { activityType: 'predictWithModel', outcome: 'completed', le: '+Inf' })).toBeGreaterThanOrEqual(1);
    // Node's process metrics
    expect(metrics).toMatch(/^process_resident_memory_bytes \d+/m);

    second.child.kill('SIGTERM');
    expect(await second.exited).toEqual({ code: 0, signal: null });

    // spans from the client and both workers reached the collector, in one trace
    await clientTracing.shutdown();
    const spans = otlp.spans();
    const start = spans.find((s) => s.name === 'StartWorkflow:continuousTraining' && s.service === 'driftline-test-client');
    expect(start, JSON.stringify(spans)).toBeDefined();
    const inTrace = spans.filter((s) => s.traceId === start!.traceId);
    expect(inTrace.filter((s) => s.service === 'driftline-worker').map((s) => s.name)).toEqual(
      expect.arrayContaining(['RunWorkflow:continuousTraining', 'StartActivity:trainModel', 'RunActivity:trainModel', 'RunActivity:evaluateCandidate']),
    );
  });

  it('counts canary decisions once each, by kind', { timeout: 180_000 }, async () => {
    const db = testDb();
    const registry = new PostgresModelRegistry(db);
    const router = await startRouter({ db, flushIntervalMs: 100 });
    const dir = await mkdtemp(join(tmpdir(), 'driftline-prod-canary-'));
    const [v1, v2] = await Promise.all([trainExampleModel(join(dir, 'v1'), { epochs: 100 }), trainExampleModel(join(dir, 'v2'), { epochs: 150 })]);
    const [baseline, candidate] = await Promise.all([startModelServer({ model: v1.path }), startModelServer({ model: v2.path })]);
    try {
      const model = uniqueModel('prod-canary');
      await registerVersions(registry, model, [v1, v2]);
      await registry.moveAlias({ model, alias: 'production', version: 1, actor: 'release-manager', reason: 'first release', idempotencyKey: `${model}-prod` });
      const worker = startWorker(['--task-queue', TASK_QUEUES.orchestration]);
      const health = await healthUrl(worker);
      const plainClient = new Client({ connection, namespace });
      const { workflowId } = await startCanary(plainClient, {
        model,
        candidateVersion: 2,
        baselineVersion: 1,
        requestedBy: 'ci@github',
        plan: { steps: [{ weight: 20, minBakeSeconds: 600, minRequests: 5 }, { weight: 100, minBakeSeconds: 1, minRequests: 5 }], analysisIntervalSeconds: 1 },
        target: { kind: 'local', routerUrl: router.url, baselineUrl: baseline.url, candidateUrl: candidate.url },
      });
      const handle = plainClient.workflow.getHandle(workflowId);
      await until('the first step', async () => (await handle.query<CanaryStatus>('status')).step === 1);
      await handle.executeUpdate('promote', { args: [{ by: 'oncall' }] });
      const outcome = (await handle.result()) as CanaryOutcome;
      const kinds = outcome.decisions.map((d) => d.kind).filter((k) => k !== 'extended' && k !== 'hold');
      expect(kinds).toEqual(['started', 'promote-requested', 'promoted']);

      const metrics = await (await fetch(`${health}/metrics`)).text();
      for (const kind of kinds) expect(sample(metrics, 'driftline_canary_decisions', { kind, namespace, taskQueue: 'driftline' }), kind).toBe(1);
      expect(sample(metrics, 'driftline_workflow_outcomes', { outcome: 'promoted', workflowType: 'canaryDeployment' })).toBe(1);
      worker.child.kill('SIGTERM');
      expect(await worker.exited).toEqual({ code: 0, signal: null });
    } finally {
      await Promise.all([baseline.close(), candidate.close(), router.close()]);
      await db.destroy();
    }
  });

  it.each(DIST_BUNDLES)('replays every recorded history from the prebuilt bundle %s, interceptors included', async (bundle) => {
    const dir = join(HISTORIES_DIR, 'workflows');
    const files = (await readdir(dir)).filter((f) => f.endsWith('.json')).sort();
    expect(files.length).toBeGreaterThan(0);
    const histories = await Promise.all(files.map(async (file) => ({ workflowId: file.replace(/\.json$/, ''), history: JSON.parse(await readFile(join(dir, file), 'utf8')) })));
    const results = [];
    const options = { workflowBundle: { codePath: bundle }, sinks: bundledInterceptorSinks(), replayName: 'prebuilt-bundle' };
    for await (const result of Worker.runReplayHistories(options, histories)) results.push(result);
    expect(results.map((r) => [r.workflowId, r.error?.message ?? null])).toEqual(files.map((f) => [f.replace(/\.json$/, ''), null]));
  });
});

// --- helpers --------------------------------------------------------------------------------

function startWorker(extraArgs: string[] = []): CliProcess {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    TEMPORAL_ADDRESS: inject('temporalAddress'),
    TEMPORAL_NAMESPACE: namespace,
    DATABASE_URL: inject('databaseUrl'),
    DRIFTLINE_HOME: home,
    OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url,
  };
  delete env.DRIFTLINE_LOG_FORMAT;
  delete env.DRIFTLINE_LOG_LEVEL;
  const worker = startCli(['worker', '--health-port', '0', '--health-host', '127.0.0.1', '--shutdown-grace', '90s', ...extraArgs], env, DIST_ENTRY);
  workers.push(worker);
  return worker;
}

/** The health server's address, from its JSON start-up line. */
async function healthUrl(worker: CliProcess): Promise<string> {
  const output = await worker.waitFor(/"message":"health: (http:\/\/[^/"]+)/);
  return /"message":"health: (http:\/\/[^/"]+)/.exec(output)![1]!;
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

async function until(what: string, probe: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await probe().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The value of the one sample of `name` whose labels include `labels`, or undefined. */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  const values = text
    .split('\n')
    .filter((line) => line.startsWith(`${name}{`))
    .filter((line) => Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`)))
    .map((line) => Number(line.slice(line.lastIndexOf(' ') + 1)));
  if (values.length > 1) throw new Error(`${values.length} samples of ${name} match ${JSON.stringify(labels)}`);
  return values[0];
}

// --- the build ------------------------------------------------------------------------------

/** Runs `npm run build` unless dist/ is newer than every source file it is built from. */
async function buildIfStale(): Promise<void> {
  if ([DIST_ENTRY, ...DIST_BUNDLES].every((path) => existsSync(path))) {
    const built = Math.min(...[DIST_ENTRY, ...DIST_BUNDLES].map((path) => statSync(path).mtimeMs));
    const newest = Math.max(...['core', 'workflows', 'activities', 'workers', 'scripts'].flatMap((dir) => sourceTimes(join(REPO_ROOT, dir))));
    if (newest < built) return;
  }
  await new Promise<void>((resolve, reject) => {
    const build = spawn('npm', ['run', 'build'], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    build.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    build.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    build.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`npm run build exited with ${code}:\n${output}`))));
  });
}

function sourceTimes(dir: string): number[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceTimes(path);
    return entry.name.endsWith('.ts') ? [statSync(path).mtimeMs] : [];
  });
}

// --- a real OTLP/HTTP receiver (JSON encoding, the exporter's default) ----------------------

interface ReceivedSpan {
  name: string;
  traceId: string;
  service: string | undefined;
}

interface OtlpReceiver {
  url: string;
  spans(): ReceivedSpan[];
  close(): Promise<void>;
}

interface OtlpAttribute {
  key: string;
  value: { stringValue?: string };
}

interface OtlpTraces {
  resourceSpans?: Array<{ resource?: { attributes?: OtlpAttribute[] }; scopeSpans?: Array<{ spans?: Array<{ name: string; traceId: string }> }> }>;
}

async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const received: ReceivedSpan[] = [];
  const server: Server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      if (request.method !== 'POST' || request.url !== '/v1/traces' || !request.headers['content-type']?.includes('json')) {
        response.writeHead(415).end();
        return;
      }
      const traces = JSON.parse(body) as OtlpTraces;
      for (const resourceSpans of traces.resourceSpans ?? []) {
        const service = resourceSpans.resource?.attributes?.find((a) => a.key === 'service.name')?.value.stringValue;
        for (const scope of resourceSpans.scopeSpans ?? []) {
          for (const span of scope.spans ?? []) received.push({ name: span.name, traceId: span.traceId, service });
        }
      }
      response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    spans: () => [...received],
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
