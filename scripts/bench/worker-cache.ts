/**
 * `npm run bench:worker` (after `npm run build`): what the workflow cache buys and costs on the
 * compiled production worker, measured on real Driftline pipelines against a real dev server and
 * the embedded database. Two measurements, each with its peer in the same run:
 *
 *  - throughput: a batch of light continuous-training runs (both datasets validated, the contract
 *    refuses them, the failure is recorded: 3 activities, ~5 workflow tasks each) on a worker with
 *    a cache far smaller than the batch (`--max-cached-workflows 10`: nearly every task replays the
 *    history; 0 is refused, a workflow validating its input in a local activity must stay cached
 *    until it completes) and with the given cache size;
 *  - memory: pipelines parked in the cache (an orchestration-only worker, so their first activity
 *    waits on the training queue with no poller), RSS and V8 heap from the worker's own /metrics,
 *    with that cache size and with the small one.
 *
 * Prints JSON on stdout and a summary on stderr.
 *
 * Throughput rounds alternate the two configurations (the machine is shared: one round proves little);
 * the median of each is reported with every round.
 *
 *   npm run bench:worker -- [--pipelines 40] [--parked 300] [--cache 1000] [--rounds 3] [--skip-memory] [--workflow-bundle <file>]
 */
import { Client } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { connectDatabase, LOOPBACK } from '../../activities/db/database.ts';
import { startEmbeddedPostgres } from '../../activities/db/embedded-server.ts';
import { migrateToLatest } from '../../activities/db/migrator.ts';
import { SEARCH_ATTRIBUTES, TASK_QUEUES } from '../../core/names.ts';
import type { ContinuousTrainingInput } from '../../core/training.ts';
import { driftlineHome } from '../lib/home.ts';
import { provisionTemporalCli } from '../lib/temporal-cli.ts';
import { freeLoopbackAddress } from '../../workers/metrics.ts';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const ENTRY = join(REPO, 'dist/scripts/cli/main.js');

const { values } = parseArgs({
  options: {
    pipelines: { type: 'string', default: '40' },
    parked: { type: 'string', default: '300' },
    cache: { type: 'string', default: '1000' },
    rounds: { type: 'string', default: '3' },
    'skip-memory': { type: 'boolean', default: false },
    /** another bundle for every worker (e.g. one built without the tracing interceptors) */
    'workflow-bundle': { type: 'string' },
  },
});
const PIPELINES = Number(values.pipelines);
const PARKED = Number(values.parked);
const CACHE = Number(values.cache);
const ROUNDS = Number(values.rounds);

if (!existsSync(ENTRY)) throw new Error('run `npm run build` first: the benchmark measures the compiled worker');

Runtime.install({ logger: new DefaultLogger('WARN') });
const log = (line: string) => process.stderr.write(`${line}\n`);
const cli = await provisionTemporalCli({ home: driftlineHome(), log });
const env = await TestWorkflowEnvironment.createLocal({
  server: { executable: { type: 'existing-path', path: cli.path }, ip: LOOPBACK, searchAttributes: Object.values(SEARCH_ATTRIBUTES), log: { format: 'pretty', level: 'error' } },
});
const port = Number((await freeLoopbackAddress()).split(':')[1]);
const database = await startEmbeddedPostgres({ dataDir: 'memory://', host: LOOPBACK, port });
const db = connectDatabase(database.url);
await migrateToLatest(db as never);
const home = await mkdtemp(join(tmpdir(), 'driftline-bench-worker-'));
const client = new Client({ connection: env.connection, namespace: 'default' });

interface RunningWorker {
  child: ChildProcess;
  health: string;
  stop(): Promise<void>;
}

async function startWorker(args: string[]): Promise<RunningWorker> {
  const bundle = values['workflow-bundle'] ? ['--workflow-bundle', values['workflow-bundle']] : [];
  const child = spawn(process.execPath, [ENTRY, 'worker', '--health-port', '0', '--health-host', '127.0.0.1', ...bundle, ...args], {
    env: { ...process.env, TEMPORAL_ADDRESS: env.address, TEMPORAL_NAMESPACE: 'default', DATABASE_URL: database.url, DRIFTLINE_HOME: home, DRIFTLINE_LOG_FORMAT: 'json', DRIFTLINE_LOG_LEVEL: 'INFO' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const health = await new Promise<string>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /"message":"health: (http:\/\/[^/"]+)/.exec(output);
      if (match) resolve(match[1]!);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`worker exited with ${code}: ${output}`)));
  });
  await until(async () => (await fetch(`${health}/readyz`)).ok);
  return {
    child,
    health,
    async stop() {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

async function until(probe: () => Promise<boolean>, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe().catch(() => false))) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function gauge(health: string, name: string): Promise<number> {
  const text = await (await fetch(`${health}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
  if (!line) throw new Error(`no ${name} in /metrics`);
  return Number(line.slice(line.lastIndexOf(' ') + 1));
}

function pipeline(model: string): ContinuousTrainingInput {
  return {
    model,
    datasets: { train: pathToFileURL(join(REPO, 'scripts/examples/credit/train.csv')).href, holdout: pathToFileURL(join(REPO, 'scripts/examples/credit/holdout.csv')).href },
    trainer: { backend: 'local', command: ['node', 'scripts/examples/trainers/logistic-regression.mjs'], workingDirectory: REPO },
    hyperparameters: {},
    // a contract the data cannot meet: validation refuses it and the run records its failure
    policy: { dataContract: { label: 'default', task: 'binary-classification', minRows: 10_000_000, columns: {} }, evaluation: { thresholds: {} } },
    trigger: { kind: 'manual', codeCommit: 'bench', codeRepository: 'bench', requestedBy: 'bench' },
  } as unknown as ContinuousTrainingInput;
}

async function throughput(cacheArgs: string[], label: string): Promise<{ label: string; pipelines: number; seconds: number; perSecond: number }> {
  const worker = await startWorker(cacheArgs);
  const started = performance.now();
  const handles = await Promise.all(
    Array.from({ length: PIPELINES }, (_, i) => client.workflow.start('continuousTraining', { taskQueue: TASK_QUEUES.orchestration, workflowId: `bench-${label}-${i}-${Date.now()}`, args: [pipeline(`bench-${label}-${i}`)] })),
  );
  await Promise.all(handles.map((h) => h.result().catch(() => undefined)));
  const seconds = (performance.now() - started) / 1000;
  await worker.stop();
  const result = { label, pipelines: PIPELINES, seconds: round(seconds), perSecond: round(PIPELINES / seconds) };
  log(`throughput ${label}: ${PIPELINES} pipelines in ${result.seconds} s (${result.perSecond}/s)`);
  return result;
}

async function memory(cache: number): Promise<Record<string, number>> {
  const worker = await startWorker(['--task-queue', TASK_QUEUES.orchestration, '--max-cached-workflows', String(cache)]);
  const park = (n: number, tag: string) =>
    Promise.all(Array.from({ length: n }, (_, i) => client.workflow.start('continuousTraining', { taskQueue: TASK_QUEUES.orchestration, workflowId: `park-${cache}-${tag}-${i}-${Date.now()}`, args: [pipeline(`park-${i}`)] })));
  const scheduled = async (n: number) => {
    // every parked run has run its first task once its validation activities are scheduled
    const count = await client.workflow.count(`WorkflowType = 'continuousTraining' AND DriftlineStage = 'validating' AND ExecutionStatus = 'Running'`);
    return count.count >= n;
  };
  const warm = await park(10, 'warm');
  await until(() => scheduled(10));
  await new Promise((r) => setTimeout(r, 3000));
  const before = { rss: await gauge(worker.health, 'process_resident_memory_bytes'), heap: await gauge(worker.health, 'nodejs_heap_size_used_bytes') };
  const parked = await park(PARKED, 'main');
  await until(() => scheduled(PARKED + 10), 300_000);
  await new Promise((r) => setTimeout(r, 3000));
  const after = { rss: await gauge(worker.health, 'process_resident_memory_bytes'), heap: await gauge(worker.health, 'nodejs_heap_size_used_bytes') };
  const cached = await gauge(worker.health, 'temporal_sticky_cache_size');
  await worker.stop();
  await Promise.all([...warm, ...parked].map((h) => h.terminate('benchmark done').catch(() => undefined)));
  const result = {
    cache,
    parked: PARKED,
    stickyCacheSize: cached,
    rssBeforeMiB: mib(before.rss),
    rssAfterMiB: mib(after.rss),
    rssPerWorkflowKiB: round((after.rss - before.rss) / PARKED / 1024),
    heapPerWorkflowKiB: round((after.heap - before.heap) / PARKED / 1024),
  };
  log(`memory cache=${cache}: ${PARKED} parked, sticky cache ${cached}; RSS ${result.rssBeforeMiB} → ${result.rssAfterMiB} MiB (${result.rssPerWorkflowKiB} KiB per workflow), heap ${result.heapPerWorkflowKiB} KiB per workflow`);
  return result;
}

function median(xs: number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : round((sorted[mid - 1]! + sorted[mid]!) / 2);
}
function round(n: number): number {
  return Math.round(n * 100) / 100;
}
function mib(bytes: number): number {
  return round(bytes / 1024 / 1024);
}

/** The peer: a cache far smaller than the batch, so nearly every workflow task replays. */
const SMALL_CACHE = 10;

try {
  const rounds: Record<string, number[]> = { [`cache-${SMALL_CACHE}`]: [], [`cache-${CACHE}`]: [] };
  for (let round = 0; round < ROUNDS; round++) {
    rounds[`cache-${SMALL_CACHE}`]!.push((await throughput(['--max-cached-workflows', String(SMALL_CACHE)], `cache-${SMALL_CACHE}`)).perSecond);
    rounds[`cache-${CACHE}`]!.push((await throughput(['--max-cached-workflows', String(CACHE)], `cache-${CACHE}`)).perSecond);
  }
  const results = {
    throughput: Object.entries(rounds).map(([label, perSecond]) => ({ label, pipelines: PIPELINES, pipelinesPerSecond: perSecond, median: median(perSecond) })),
    memory: values['skip-memory'] ? [] : [await memory(CACHE), await memory(SMALL_CACHE)],
    machine: { cpus: (await import('node:os')).cpus().length, node: process.version },
  };
  process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
} finally {
  await db.destroy();
  await database.stop();
  await env.teardown();
}
