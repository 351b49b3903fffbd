/**
 * `npm run bench:scale [-- --pipelines N]`: Driftline at scale on one machine, against Prefect in
 * the same run.
 *
 * What it does, all on loopback with services it starts itself (scale/services.ts):
 *  1. a Temporal dev server (the provisioned CLI, Driftline's flags, SQLite file), a PostgreSQL
 *     (DATABASE_URL, else a private cluster of the Debian server) and TWO `driftline worker`
 *     processes on the same task queues, sharing the load;
 *  2. starts N `continuousTraining` pipelines (default 1,000), each for its own model, through
 *     `startContinuousTraining` (the CLI's path): data validation against a contract, training with
 *     a real trainer (scripts/bench/trainers/stump.sh, a decision stump in sh + awk under the local
 *     trainer contract), prediction on the holdout, Driftline's evaluation, registration, and a
 *     compliance gate (child workflow) whose policy runs the provenance check (dataset and model
 *     sha256 recomputed against the lineage) and then waits for one signed `ml-lead` approval;
 *  3. once every gate waits, samples the RSS of both workers from /proc; then, with all of them
 *     still parked, runs --probe-pipelines more (default 20) one at a time from start to finish:
 *     the per-step overhead of an engine holding N pipelines but not saturated by their work, the
 *     regime Prefect's steps are measured in (the burst's own figure is reported beside it);
 *  4. approves every gate the way `driftline approve` does (Ed25519 signature over the gate's
 *     evidence bundle, sent as the `approve` Workflow Update) and waits for every pipeline;
 *  5. reads every history for the per-step overhead (definition in scale/overhead.ts) and checks that
 *     every pipeline completed exactly once, in Temporal and in the registry;
 *  6. stops Driftline's services, then runs Prefect (scale_prefect.py) in both its modes.
 * Prints one JSON object, then a table with each target and whether it is met.
 *
 * Defaults: Temporal in memory, `--worker tuned` with MALLOC_ARENA_MAX=2 and the SDK limits of
 * scale/worker.ts (cache 300, 10 workflow tasks, 10 activities per queue), as in the README's figures.
 * Options: --pipelines N (default 1000), --park-stall-minutes M (default 5: go on with the pipelines
 * parked when none more has parked for M minutes, and report where the others are stuck), --sqlite-pragma P and --dynamic-config K=V (repeatable, to the
 * Temporal dev server), --start-concurrency C (default 50), --approve-concurrency C
 * (default 32), --prefect-durable-steps K (default 30), --prefect-in-process-steps K (default 200),
 * --no-prefect, --probe-pipelines K (default 20; 0 skips the probe), --keep (leave the bench
 * directory), --out FILE (also write the JSON there).
 */
import { Client, Connection } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import pg from 'pg';
import { complianceGateWorkflowId, type CompliancePolicyInput } from '../../core/compliance.ts';
import type { ContinuousTrainingInput, PipelineOutcome } from '../../core/training.ts';
import { generateApproverKeys, sendDecision } from '../cli/compliance.ts';
import { startContinuousTraining } from '../lib/start-pipeline.ts';
import { analyseHistory, distribution, overheadOf, type Distribution, type StepTiming } from './scale/overhead.ts';
import { loadAverage, rssBytes, startPostgres, treeCpuSeconds, startTemporal, startWorker, type Service, type WorkerKind, type WorkerProcess, WORKER_KINDS } from './scale/services.ts';
import { bundleWorkflowCode } from '@temporalio/worker';
import { WORKFLOWS_PATH } from '../../workers/worker.ts';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const STUMP = join(REPO, 'scripts/bench/trainers/stump.sh');
const GiB = 1024 ** 3;

// ---- options ----------------------------------------------------------------------------------

interface Options {
  pipelines: number;
  startConcurrency: number;
  approveConcurrency: number;
  prefectDurableSteps: number;
  prefectInProcessSteps: number;
  prefect: boolean;
  /** Pipelines run one at a time, start to finish, while the others are parked (0: none). */
  probePipelines: number;
  /** Worker processes sharing the load (the issue asks for two). */
  workers: number;
  keep: boolean;
  out: string | null;
  sqlitePragmas: string[];
  dynamicConfig: string[];
  temporalInMemory: boolean;
  worker: WorkerKind;
  parkStallMinutes: number;
  /** Extra NODE_OPTIONS / MALLOC_ARENA_MAX style settings for the worker processes (KEY=VALUE). */
  workerEnv: Record<string, string>;
}

function parseOptions(argv: string[]): Options {
  const options: Options = {
    pipelines: 1000,
    startConcurrency: 50,
    approveConcurrency: 32,
    prefectDurableSteps: 30,
    prefectInProcessSteps: 200,
    prefect: true,
    probePipelines: 20,
    workers: 2,
    keep: false,
    out: null,
    sqlitePragmas: [],
    dynamicConfig: [],
    // The settings the README's figures were measured with; --worker cli, --temporal-file and
    // --worker-env KEY= (empty) go back to the plain ones.
    temporalInMemory: true,
    worker: 'tuned',
    parkStallMinutes: 5,
    workerEnv: {
      MALLOC_ARENA_MAX: '2',
      DRIFTLINE_MAX_CACHED_WORKFLOWS: '300',
      DRIFTLINE_MAX_CONCURRENT_WORKFLOW_TASKS: '10',
      DRIFTLINE_MAX_CONCURRENT_ACTIVITIES: '10',
    },
  };
  const integer = (flag: string, value: string | undefined, min: number): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min) throw new Error(`${flag} needs an integer ≥ ${min}, got ${value ?? 'nothing'}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    switch (flag) {
      case '--pipelines': options.pipelines = integer(flag, argv[++i], 1); break;
      case '--start-concurrency': options.startConcurrency = integer(flag, argv[++i], 1); break;
      case '--approve-concurrency': options.approveConcurrency = integer(flag, argv[++i], 1); break;
      case '--prefect-durable-steps': options.prefectDurableSteps = integer(flag, argv[++i], 1); break;
      case '--prefect-in-process-steps': options.prefectInProcessSteps = integer(flag, argv[++i], 1); break;
      case '--no-prefect': options.prefect = false; break;
      case '--probe-pipelines': options.probePipelines = integer(flag, argv[++i], 0); break;
      case '--workers': options.workers = integer(flag, argv[++i], 1); break;
      case '--keep': options.keep = true; break;
      case '--out': options.out = argv[++i] ?? null; break;
      case '--worker': {
        const kind = argv[++i];
        if (!WORKER_KINDS.includes(kind as WorkerKind)) throw new Error('--worker is production (compiled `driftline worker` from dist/), cli (the same from the sources) or tuned (scripts/bench/scale/worker.ts)');
        options.worker = kind as WorkerKind;
        break;
      }
      case '--worker-env': {
        const [key, ...value] = (argv[++i] ?? '').split('=');
        if (!key || value.length === 0) throw new Error('--worker-env needs KEY=VALUE (KEY= removes a default)');
        if (value.join('=') === '') delete options.workerEnv[key];
        else options.workerEnv[key] = value.join('=');
        break;
      }
      case '--park-stall-minutes': options.parkStallMinutes = integer(flag, argv[++i], 1); break;
      case '--temporal-in-memory': options.temporalInMemory = true; break;
      case '--temporal-file': options.temporalInMemory = false; break;
      case '--sqlite-pragma': options.sqlitePragmas.push(argv[++i] ?? ''); break;
      case '--dynamic-config': options.dynamicConfig.push(argv[++i] ?? ''); break;
      default: throw new Error(`unknown option ${flag} (see the header of scripts/bench/scale.ts)`);
    }
  }
  return options;
}

const WORKER_DESCRIPTIONS: Record<WorkerKind, string> = {
  production: 'compiled `driftline worker` (dist/scripts/cli/main.js, npm run build; its prebuilt workflow bundle), as the Dockerfile runs it',
  cli: '`driftline worker` from the sources (tsx; bundles the workflows with webpack at start-up)',
  tuned: 'scripts/bench/scale/worker.ts: both queues, every activity, a prebuilt workflow bundle and SDK limits',
};

// ---- helpers ----------------------------------------------------------------------------------

const log = (line: string) => process.stderr.write(`[bench:scale ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const round = (v: number, digits = 1) => Math.round(v * 10 ** digits) / 10 ** digits;

/** Runs fn over items with at most `limit` in flight. */
async function inPool<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        results[i] = await fn(items[i]!, i);
      }
    }),
  );
  return results;
}

/** A small labelled dataset: one feature x in [0,1), label = x > 0.4, 10% of labels flipped. */
function writeDataset(path: string, rows: number, seed: number): void {
  let state = seed >>> 0 || 1;
  const random = () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 2 ** 32;
  };
  const lines = ['x,label'];
  for (let i = 0; i < rows; i++) {
    const x = random();
    const flip = random() < 0.1;
    lines.push(`${x.toFixed(4)},${(x > 0.4) !== flip ? 1 : 0}`);
  }
  writeFileSync(path, `${lines.join('\n')}\n`);
}

// ---- the Driftline side -----------------------------------------------------------------------

/** A pipeline that did not reach the gate: where it is stuck. */
interface Straggler {
  model: string;
  workflowId: string;
  pending: string[];
}

async function describeStragglers(client: Client, models: readonly string[]): Promise<Straggler[]> {
  const parked = new Set<string>();
  for await (const e of client.workflow.list({ query: `WorkflowType='complianceGate' AND DriftlineStage='awaiting-approval'` })) parked.add(e.workflowId);
  const out: Straggler[] = [];
  for (const model of models) {
    const gateId = complianceGateWorkflowId(model, 1);
    if (parked.has(gateId)) continue;
    const ctId = `ct:${model}:scale`;
    const pending: string[] = [];
    for (const id of [ctId, gateId]) {
      const description = await client.workflow.getHandle(id).describe().catch(() => null);
      for (const a of description?.raw.pendingActivities ?? []) {
        const since = a.lastStartedTime ? Math.round((Date.now() - Number(a.lastStartedTime.seconds) * 1000) / 1000) : null;
        pending.push(`${id}: ${a.activityType?.name} ${String(a.state)} attempt ${a.attempt}${since !== null ? `, started ${since} s ago` : ''}`);
      }
    }
    out.push({ model, workflowId: ctId, pending });
  }
  return out;
}

interface DriftlineResult {
  pipelines: number;
  services: { temporal: string; database: string; workers: string[]; workerKind: string };
  bench: { trainer: string; checks: string; quorum: string; approval: string };
  start: { seconds: number; perSecond: number };
  parked: { count: number; allParkedAfterSeconds: number; perSecond: number; stragglers: Straggler[] };
  memoryWhileParked: { samples: number; maxSumBytes: number; maxSumMiB: number; perWorkerMiB: number[]; idleBeforeMiB: number[]; perPipelineAboveIdleKiB: number };
  approve: { seconds: number; perSecond: number };
  /** CPU milliseconds per pipeline used by the benchmark's own processes, and the machine's load average. */
  cpuMsPerPipeline: { toTheGate: Record<string, number>; afterApproval: Record<string, number> };
  loadAverage: { atStart: number; whenParked: number; atEnd: number };
  completion: { secondsAfterFirstApproval: number; perSecond: number; endToEndSeconds: number };
  overhead: {
    definition: string;
    steps: number;
    retriedLeftOut: number;
    all: ReturnType<typeof overheadOf>;
    /** Pipelines run one at a time while the others were parked (--probe-pipelines). */
    probe: ReturnType<typeof overheadOf> & { pipelines: number; whileParked: number; steps: number };
    toTheGate: Distribution;
    afterApproval: Distribution;
    byActivity: Record<string, Distribution>;
  };
  exactlyOnce: {
    ok: boolean;
    temporal: { continuousTraining: number; complianceGate: number; completedOnce: number; registeredV1: number };
    registry: { modelsWithOneVersion: number; pipelineRunsRegistered: number; approvals: number };
    training: { jobs: number; launches: number };
    problems: string[];
  };
}

/** What this run started, stopped in reverse order at the end or on Ctrl-C. */
const services: Service[] = [];
async function stopAll(): Promise<void> {
  while (services.length) {
    const service = services.pop()!;
    await service.stop().catch((e: unknown) => log(`stopping ${service.describe}: ${String(e)}`));
  }
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    log(`${signal}: stopping what the benchmark started`);
    void stopAll().finally(() => process.exit(130));
  });
}

async function runDriftline(options: Options, dir: string): Promise<DriftlineResult> {
  try {
    const temporal = await startTemporal(dir, { pragmas: options.sqlitePragmas, dynamicConfig: options.dynamicConfig, inMemory: options.temporalInMemory }, log);
    services.push(temporal);
    log(temporal.describe);
    const database = await startPostgres(join(dir, 'pg'));
    services.push(database);
    log(database.describe);

    const home = join(dir, 'home');
    const env: NodeJS.ProcessEnv = { ...process.env, ...options.workerEnv, TEMPORAL_ADDRESS: temporal.address, TEMPORAL_NAMESPACE: 'default', DATABASE_URL: database.url, DRIFTLINE_HOME: home };
    if (options.worker === 'tuned') {
      const bundle = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: { trace() {}, debug() {}, info() {}, warn() {}, error: log, log() {} } as never });
      env.BENCH_WORKFLOW_BUNDLE = join(dir, 'workflow-bundle.js');
      writeFileSync(env.BENCH_WORKFLOW_BUNDLE, bundle.code);
    }
    const workers: WorkerProcess[] = [];
    // One at a time, so the second does not race the first on migrations (they would serialise anyway).
    for (const name of Array.from({ length: options.workers }, (_, i) => `worker-${i + 1}`)) {
      const worker = await startWorker(name, options.worker, env, join(dir, `${name}.log`));
      workers.push(worker);
      services.push(worker);
      log(`${worker.describe} polls driftline and driftline-training`);
    }

    await sleep(3000);
    const idleRss = workers.map((w) => rssBytes(w.pid));
    log(`worker RSS before any pipeline: ${idleRss.map((b) => (b / 2 ** 20).toFixed(0)).join(' + ')} MiB`);

    // CPU used by the benchmark's own processes, per phase: what a pipeline costs whatever else runs here.
    const cpuNow = () => ({
      workers: workers.reduce((sum, w) => sum + treeCpuSeconds(w.pid), 0),
      temporal: treeCpuSeconds(temporal.pid),
      postgres: database.pid ? treeCpuSeconds(database.pid) : 0,
    });
    const cpuAtStart = cpuNow();
    const loads = [loadAverage()];

    // Inputs: data, approver key, policy.
    const train = join(dir, 'train.csv');
    const holdout = join(dir, 'holdout.csv');
    writeDataset(train, 400, 7);
    writeDataset(holdout, 200, 11);
    const keys = generateApproverKeys();
    const keyFile = join(dir, 'alice.key');
    writeFileSync(keyFile, keys.privateKeyPem, { mode: 0o600 });
    const approversFile = join(dir, 'approvers.json');
    writeFileSync(approversFile, JSON.stringify({ approvers: [{ id: 'alice', roles: ['ml-lead'], publicKey: keys.publicKey }], escalation: [] }));
    const compliance: CompliancePolicyInput = {
      checks: { provenance: {} },
      approvers: { file: pathToFileURL(approversFile).href },
      quorum: { 'ml-lead': 1 },
      deadlines: { escalateAfter: '1 day', rejectAfter: '2 days' },
    };
    const tag = Date.now().toString(36);
    const models = Array.from({ length: options.pipelines }, (_, i) => `bench-${tag}-${i}`);
    const input = (model: string): ContinuousTrainingInput => ({
      model,
      owner: 'bench',
      datasets: { train: pathToFileURL(train).href, holdout: pathToFileURL(holdout).href },
      trainer: { backend: 'local', command: [STUMP], workingDirectory: REPO },
      hyperparameters: {},
      policy: {
        dataContract: { label: 'label', task: 'binary-classification', minRows: 100, minClassShare: 0.2, columns: { x: { type: 'numeric', min: 0, max: 1 } } },
        evaluation: { thresholds: { accuracy: { min: 0.7 } } },
        compliance,
      },
      trigger: { kind: 'ci', codeCommit: 'scale', codeRepository: 'bench/scale', requestedBy: 'ci@bench' },
    });

    const connection = await Connection.connect({ address: temporal.address });
    const client = new Client({ connection, namespace: 'default' });
    try {
      // 1. Start.
      log(`starting ${options.pipelines} pipelines (${options.startConcurrency} start requests in flight)`);
      const startedAt = Date.now();
      const ids = await inPool(models, options.startConcurrency, async (model) => (await startContinuousTraining(client, input(model), 'scale')).workflowId);
      const startSeconds = (Date.now() - startedAt) / 1000;
      log(`started ${ids.length} in ${startSeconds.toFixed(1)} s`);

      // 2. Park: every gate awaiting approval, or as many as get there before progress stalls for
      // --park-stall-minutes (an activity task lost under overload is only recovered by its
      // start-to-close timeout, up to hours for heavy activities: those pipelines are reported).
      let parkedAfter = 0;
      let stragglers: Straggler[] = [];
      for (let lastLogged = 0, lastCount = -1, lastProgress = Date.now(); ; ) {
        const parked = (await client.workflow.count(`WorkflowType='complianceGate' AND DriftlineStage='awaiting-approval'`)).count;
        const failed = (await client.workflow.count(`ExecutionStatus='Failed' OR ExecutionStatus='Terminated' OR ExecutionStatus='TimedOut'`)).count;
        if (failed > 0) throw new Error(`${failed} workflow(s) failed before reaching the gate; see ${dir}`);
        if (parked !== lastCount) [lastCount, lastProgress] = [parked, Date.now()];
        if (parked >= options.pipelines) {
          parkedAfter = (Date.now() - startedAt) / 1000;
          break;
        }
        if (parked > 0 && Date.now() - lastProgress > options.parkStallMinutes * 60_000) {
          parkedAfter = (lastProgress - startedAt) / 1000;
          stragglers = await describeStragglers(client, models);
          log(`parking stalled at ${parked}/${options.pipelines} for ${options.parkStallMinutes} min; going on without: ${JSON.stringify(stragglers.slice(0, 5))}`);
          break;
        }
        if (Date.now() - lastLogged > 10_000) {
          log(`parked ${parked}/${options.pipelines}`);
          lastLogged = Date.now();
        }
        await sleep(500);
      }
      const waiting = new Set(stragglers.map((s) => s.model));
      const parkedModels = models.filter((m) => !waiting.has(m));
      log(`${parkedModels.length} parked at the gate ${parkedAfter.toFixed(1)} s after the first start`);

      const cpuAtPark = cpuNow();
      loads.push(loadAverage());

      // 3. Memory while parked: both workers, sampled for a few seconds.
      const samples: number[][] = [];
      for (let i = 0; i < 10; i++) {
        samples.push(workers.map((w) => rssBytes(w.pid)));
        await sleep(500);
      }
      const sums = samples.map((s) => s.reduce((a, b) => a + b, 0));
      const maxSum = Math.max(...sums);
      const perWorkerMax = workers.map((_, w) => Math.max(...samples.map((s) => s[w]!)));
      log(`worker RSS while parked: ${(maxSum / 2 ** 20).toFixed(0)} MiB (${perWorkerMax.map((b) => (b / 2 ** 20).toFixed(0)).join(' + ')})`);
      // Written now as well, so a run stopped later still leaves its first half on record.
      log(`so far: ${JSON.stringify({ startSeconds, parkedAfter, maxSumRssMiB: maxSum / 2 ** 20, idleRssMiB: idleRss.map((b) => b / 2 ** 20), cpuToTheGate: cpuAtPark, cpuAtStart, loads })}`);

      // 3b. Probe: with every other pipeline parked, pipelines run one at a time, start to finish
      // (approved as soon as their gate waits). Their steps measure what the engine adds to a step
      // when the machine is not saturated by other pipelines' work — the same regime in which
      // Prefect's steps are measured — while 1,000 pipelines are in flight.
      const probeModels = Array.from({ length: options.probePipelines }, (_, i) => `bench-${tag}-probe-${i}`);
      const probeIds: string[] = [];
      if (probeModels.length) log(`probe: ${probeModels.length} pipelines one at a time while ${parkedModels.length} are parked`);
      for (const model of probeModels) {
        const { workflowId } = await startContinuousTraining(client, input(model), 'scale');
        probeIds.push(workflowId);
        const gate = client.workflow.getHandle(complianceGateWorkflowId(model, 1));
        // Asked of visibility (the server alone): querying the gate would put query tasks on the
        // very worker whose steps are being measured.
        for (const deadline = Date.now() + 120_000; ; await sleep(1000)) {
          const { count } = await client.workflow.count(`WorkflowId='${gate.workflowId}' AND DriftlineStage='awaiting-approval'`);
          if (count === 1) break;
          if (Date.now() > deadline) throw new Error(`probe pipeline ${model} did not reach its gate within 2 min; see ${dir}`);
        }
        await sendDecision(client, gate.workflowId, 'approved', { key: keyFile, as: 'alice', role: 'ml-lead' });
        await client.workflow.getHandle(workflowId).result();
      }
      models.push(...probeModels);
      ids.push(...probeIds);
      const cpuAfterProbe = cpuNow();

      // 4. Approve every gate, signed, through the Workflow Update `driftline approve` sends.
      const approveStarted = Date.now();
      await inPool(parkedModels, options.approveConcurrency, (model) => sendDecision(client, complianceGateWorkflowId(model, 1), 'approved', { key: keyFile, as: 'alice', role: 'ml-lead' }));
      const approveSeconds = (Date.now() - approveStarted) / 1000;
      log(`approved ${parkedModels.length} gates in ${approveSeconds.toFixed(1)} s`);
      for (;;) {
        const done = (await client.workflow.count(`WorkflowType='continuousTraining' AND ExecutionStatus!='Running'`)).count;
        if (done >= parkedModels.length + probeIds.length) break;
        await sleep(500);
      }

      const cpuAtEnd = cpuNow();
      loads.push(loadAverage());
      const perPipeline = (a: typeof cpuAtEnd, b: typeof cpuAtEnd) =>
        Object.fromEntries(Object.entries(a).map(([k, v]) => [k, round(((b as Record<string, number>)[k]! - v) / options.pipelines * 1000, 1)])) as Record<string, number>;
      const cpu = { toTheGate: perPipeline(cpuAtStart, cpuAtPark), afterApproval: perPipeline(cpuAfterProbe, cpuAtEnd) };

      // 5. Histories: overhead, completion times, results.
      log('reading histories');
      const gateIds = models.map((m) => complianceGateWorkflowId(m, 1));
      const analyses = await inPool([...ids, ...gateIds], 16, async (id) => {
        const history = await client.workflow.getHandle(id).fetchHistory();
        const events = history.events ?? [];
        const completed = events.find((e) => e.workflowExecutionCompletedEventAttributes)?.workflowExecutionCompletedEventAttributes;
        const result = completed?.result?.payloads?.[0] ? defaultPayloadConverter.fromPayload<PipelineOutcome>(completed.result.payloads[0]) : null;
        return { id, analysis: analyseHistory(id, events), result };
      });
      const probeWorkflows = new Set([...probeIds, ...probeModels.map((m) => complianceGateWorkflowId(m, 1))]);
      const allSteps: StepTiming[] = analyses.flatMap((a) => a.analysis.steps);
      const steps = allSteps.filter((s) => !probeWorkflows.has(s.workflowId));
      const probeSteps = allSteps.filter((s) => probeWorkflows.has(s.workflowId));
      const retried = analyses.reduce((n, a) => n + a.analysis.retried, 0);
      const pipelineAnalyses = analyses.slice(0, ids.length);
      const lastCompletion = Math.max(...pipelineAnalyses.filter((a) => !probeWorkflows.has(a.id)).map((a) => a.analysis.completedMs ?? NaN).filter(Number.isFinite));
      const completionSeconds = (lastCompletion - approveStarted) / 1000;
      const byActivity: Record<string, Distribution> = {};
      for (const type of [...new Set(steps.map((s) => s.activityType))].sort()) {
        byActivity[type] = distribution(steps.filter((s) => s.activityType === type).map((s) => s.startedMs - s.readyMs));
      }

      // 6. Exactly once.
      const problems: string[] = [];
      const executions = async (type: string) => {
        const counts = new Map<string, { runs: number; completed: number }>();
        for await (const execution of client.workflow.list({ query: `WorkflowType='${type}'` })) {
          const entry = counts.get(execution.workflowId) ?? { runs: 0, completed: 0 };
          entry.runs++;
          if (execution.status.name === 'COMPLETED') entry.completed++;
          counts.set(execution.workflowId, entry);
        }
        return counts;
      };
      const ctRuns = await executions('continuousTraining');
      const cgRuns = await executions('complianceGate');
      const completedOnce = [...ids.map((id) => ctRuns.get(id)), ...gateIds.map((id) => cgRuns.get(id))].filter((e) => e?.runs === 1 && e.completed === 1).length;
      if (ctRuns.size !== ids.length) problems.push(`${ctRuns.size} continuousTraining workflow ids, expected ${ids.length}`);
      if (cgRuns.size !== gateIds.length) problems.push(`${cgRuns.size} complianceGate workflow ids, expected ${gateIds.length}`);
      if (completedOnce !== ids.length + gateIds.length) problems.push(`${ids.length + gateIds.length - completedOnce} workflow(s) not completed exactly once`);
      const registeredV1 = pipelineAnalyses.filter((a) => a.result?.outcome === 'registered' && a.result.version === 1).length;
      if (registeredV1 !== ids.length) problems.push(`${ids.length - registeredV1} pipeline(s) did not end registered as v1`);

      const pool = new pg.Pool({ connectionString: database.url, max: 2 });
      const countPerModel = async (sql: string) => {
        const { rows } = await pool.query<{ model_name: string; n: string }>(sql, [`bench-${tag}-%`]);
        return new Map(rows.map((r) => [r.model_name, Number(r.n)]));
      };
      const versions = await countPerModel(`select model_name, count(*) n from model_versions where model_name like $1 group by model_name`);
      const runs = await countPerModel(`select model_name, count(*) n from pipeline_runs where model_name like $1 and outcome = 'registered' group by model_name`);
      const approvals = await countPerModel(`select model_name, count(*) n from approvals where model_name like $1 and decision = 'approved' group by model_name`);
      await pool.end();
      const exactlyOne = (m: Map<string, number>) => models.filter((model) => m.get(model) === 1).length;
      const registry = { modelsWithOneVersion: exactlyOne(versions), pipelineRunsRegistered: exactlyOne(runs), approvals: exactlyOne(approvals) };
      for (const [what, n] of Object.entries(registry)) if (n !== models.length) problems.push(`registry: ${models.length - n} model(s) without exactly one ${what}`);

      // The local backend appends one line to launches.jsonl per trainer start.
      const jobsDir = join(home, 'jobs');
      const jobDirs = existsSync(jobsDir) ? readdirSync(jobsDir) : [];
      let launches = 0;
      for (const job of jobDirs) {
        const file = join(jobsDir, job, 'launches.jsonl');
        const n = existsSync(file) ? readFileSync(file, 'utf8').trim().split('\n').filter(Boolean).length : 0;
        if (n !== 1) problems.push(`job ${job}: ${n} trainer launches`);
        launches += n;
      }
      if (jobDirs.length !== models.length) problems.push(`${jobDirs.length} training jobs for ${models.length} pipelines`);

      return {
        pipelines: options.pipelines,
        services: {
          temporal: temporal.describe,
          database: database.describe,
          workers: workers.map((w) => w.describe),
          workerKind:
            WORKER_DESCRIPTIONS[options.worker] +
            (Object.keys(options.workerEnv).length ? `; env ${Object.entries(options.workerEnv).map(([k, v]) => `${k}=${v}`).join(' ')}` : ''),
        },
        bench: {
          trainer: 'scripts/bench/trainers/stump.sh: decision stump (sh + awk) under the local trainer contract; 400 training rows, 200 holdout rows, one feature',
          checks: 'data contract (2 datasets), evaluation (accuracy ≥ 0.7, computed by Driftline from predictions), compliance: provenance (dataset and model sha256 recomputed)',
          quorum: "one Ed25519-signed approval by role 'ml-lead'",
          approval: 'sendDecision (what `driftline approve` runs): read the gate status, sign its evidence bundle, send the `approve` Workflow Update',
        },
        start: { seconds: round(startSeconds, 2), perSecond: round(options.pipelines / startSeconds) },
        parked: { count: parkedModels.length, allParkedAfterSeconds: round(parkedAfter, 1), perSecond: round(parkedModels.length / parkedAfter, 2), stragglers },
        memoryWhileParked: {
          samples: samples.length,
          maxSumBytes: maxSum,
          maxSumMiB: round(maxSum / 2 ** 20),
          perWorkerMiB: perWorkerMax.map((b) => round(b / 2 ** 20)),
          idleBeforeMiB: idleRss.map((b) => round(b / 2 ** 20)),
          perPipelineAboveIdleKiB: round((maxSum - idleRss.reduce((a, b) => a + b, 0)) / 1024 / options.pipelines),
        },
        approve: { seconds: round(approveSeconds, 2), perSecond: round(parkedModels.length / approveSeconds) },
        cpuMsPerPipeline: cpu,
        loadAverage: { atStart: loads[0]!, whenParked: loads[1]!, atEnd: loads[2]! },
        completion: {
          secondsAfterFirstApproval: round(completionSeconds, 2),
          perSecond: round(parkedModels.length / completionSeconds),
          endToEndSeconds: round((lastCompletion - startedAt) / 1000, 1),
        },
        overhead: {
          definition:
            'per activity: ActivityTaskStarted - WorkflowTaskScheduled of the workflow task that scheduled it ' +
            '(= decision: workflow task dispatched, workflow code run, command persisted; + dispatch: activity task queued and handed to a worker); ' +
            "the activity's own execution (Started -> Completed) is excluded; every completed first-attempt activity of both workflows of every pipeline",
          steps: steps.length,
          retriedLeftOut: retried,
          all: overheadOf(steps),
          probe: { pipelines: probeModels.length, whileParked: parkedModels.length, steps: probeSteps.length, ...overheadOf(probeSteps) },
          toTheGate: distribution(steps.filter((s) => s.readyMs < approveStarted).map((s) => s.startedMs - s.readyMs)),
          afterApproval: distribution(steps.filter((s) => s.readyMs >= approveStarted).map((s) => s.startedMs - s.readyMs)),
          byActivity,
        },
        exactlyOnce: {
          ok: problems.length === 0,
          temporal: { continuousTraining: ctRuns.size, complianceGate: cgRuns.size, completedOnce, registeredV1 },
          registry,
          training: { jobs: jobDirs.length, launches },
          problems: problems.slice(0, 20),
        },
      };
    } finally {
      await connection.close();
    }
  } finally {
    log('stopping workers, Temporal and PostgreSQL');
    await stopAll();
  }
}

// ---- the Prefect side -------------------------------------------------------------------------

interface PrefectSide {
  steps: number;
  medianMs: number;
  p99Ms: number;
  meanMs: number;
  maxMs: number;
}
interface PrefectResult {
  prefect: string | null;
  inProcess?: PrefectSide;
  durable?: PrefectSide & { clientWall: PrefectSide; createdToRunning?: PrefectSide };
  error?: string;
  settings?: Record<string, unknown>;
}

async function runPrefect(options: Options, dir: string): Promise<PrefectResult> {
  const venv = process.env.DRIFTLINE_PREFECT_VENV ?? join(REPO, '.driftline/prefect-venv');
  const python = join(venv, 'bin/python');
  if (!existsSync(python)) {
    log(`no Prefect venv at ${venv}: running scripts/bench/setup-prefect.sh`);
    const setup = spawn('bash', [join(REPO, 'scripts/bench/setup-prefect.sh')], { stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, DRIFTLINE_PREFECT_VENV: venv } });
    const code = await new Promise<number | null>((r) => setup.once('exit', r));
    if (code !== 0) return { prefect: null, error: `scripts/bench/setup-prefect.sh exited with ${code}: Prefect could not be installed` };
  }
  log('running Prefect (in-process tasks, then flow runs through a process work pool)');
  const child = spawn(python, [join(REPO, 'scripts/bench/scale_prefect.py')], {
    env: {
      ...process.env,
      PREFECT_HOME: join(dir, 'prefect'),
      PREFECT_BENCH_IN_PROCESS_STEPS: String(options.prefectInProcessSteps),
      PREFECT_BENCH_DURABLE_STEPS: String(options.prefectDurableSteps),
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const code = await new Promise<number | null>((r) => child.once('exit', r));
  const last = out.trim().split('\n').at(-1) ?? '';
  try {
    return JSON.parse(last) as PrefectResult;
  } catch {
    return { prefect: null, error: `scale_prefect.py exited with ${code} and printed no result: ${last.slice(0, 300)}` };
  }
}

// ---- report -----------------------------------------------------------------------------------

interface Target {
  target: string;
  measured: string;
  met: boolean | null;
}

/**
 * The issue's targets, each judged on what it can mean on this machine. Per-step overhead is judged
 * on the probe: steps run while the N pipelines are in flight (parked at the gate, every one of them
 * held by the engine), one pipeline at a time, which is also how Prefect's durable steps are timed.
 * During the start burst a step mostly waits for a core (N × the CPU per pipeline on the machine's
 * cores), which says how much work the machine has, not how much the engine adds per step; those
 * rows are printed with that arithmetic and not judged.
 */
function targets(d: DriftlineResult, p: PrefectResult | null, cores: number): Target[] {
  const burst = d.overhead.all.overhead.medianMs;
  const probe = d.overhead.probe;
  const probeMedian = probe.overhead.medianMs;
  const durable = p?.durable?.medianMs;
  const probed = probe.steps > 0;
  const ratio = (ours: number) => (durable === undefined ? `not measured (${p?.error ?? 'Prefect not run'})` : `${round(durable / ours)}× (${durable} ms vs ${ours} ms)`);
  const cpuToTheGate = Object.values(d.cpuMsPerPipeline.toTheGate).reduce((a, b) => a + b, 0);
  const burstWork = `${d.pipelines} × ${round(cpuToTheGate)} CPU-ms to the gate on ${cores} cores = ${round((d.pipelines * cpuToTheGate) / cores / 1000)} s of work; all parked after ${d.parked.allParkedAfterSeconds} s`;
  return [
    { target: 'at least 1,000 concurrent pipelines', measured: `${d.pipelines}`, met: d.pipelines >= 1000 },
    {
      target: `median per-step overhead ≤ 25 ms, steps run while ${probe.whileParked} pipelines are in flight`,
      measured: probed ? `${probeMedian} ms (p99 ${probe.overhead.p99Ms} ms, ${probe.steps} steps of ${probe.pipelines} pipelines run one at a time)` : 'not measured (--probe-pipelines 0)',
      met: probed ? probeMedian <= 25 : null,
    },
    {
      target: "≥ 10× lower than Prefect's durable mode, both one step at a time",
      measured: probed ? ratio(probeMedian) : 'not measured (--probe-pipelines 0)',
      met: durable === undefined || !probed ? null : durable / probeMedian >= 10,
    },
    {
      target: `(reported) per-step overhead during the burst of ${d.pipelines} starts`,
      measured: `median ${burst} ms, p99 ${d.overhead.all.overhead.p99Ms} ms; ${durable === undefined ? '' : `${ratio(burst)}; `}CPU-bound: ${burstWork}`,
      met: null,
    },
    {
      target: '1,000 parked pipelines within 1 GB of worker memory',
      measured: `${d.memoryWhileParked.maxSumMiB} MiB for ${d.parked.count} (${d.memoryWhileParked.perWorkerMiB.join(' + ')})`,
      met: d.parked.count >= 1000 ? d.memoryWhileParked.maxSumBytes <= GiB : null,
    },
    { target: 'every pipeline completes exactly once', measured: d.exactlyOnce.ok ? 'yes' : d.exactlyOnce.problems.join('; '), met: d.exactlyOnce.ok },
  ];
}

function printTable(d: DriftlineResult, p: PrefectResult | null, goals: Target[]): void {
  const rows: string[][] = [];
  const o = d.overhead.all;
  rows.push(['Driftline', '']);
  rows.push(['  pipelines', `${d.pipelines} (${d.services.workers.length} worker${d.services.workers.length > 1 ? 's' : ''})`]);
  rows.push(['  start throughput', `${d.start.perSecond} pipelines/s (${d.start.seconds} s for all)`]);
  rows.push(['  parked at the gate', `${d.parked.count} after ${d.parked.allParkedAfterSeconds} s (${d.parked.perSecond} pipelines/s through training, evaluation, registration, checks)`]);
  if (d.parked.stragglers.length) rows.push(['  never reached the gate', `${d.parked.stragglers.length}: ${d.parked.stragglers.slice(0, 3).map((s) => s.pending.join(', ') || s.workflowId).join('; ')}`]);
  rows.push(['  worker RSS while parked (sum)', `${d.memoryWhileParked.maxSumMiB} MiB (${d.memoryWhileParked.perWorkerMiB.join(' + ')}), idle before: ${d.memoryWhileParked.idleBeforeMiB.join(' + ')} MiB; ${d.memoryWhileParked.perPipelineAboveIdleKiB} KiB per pipeline above idle`]);
  rows.push(['  approvals sent', `${d.approve.perSecond}/s (${d.approve.seconds} s)`]);
  rows.push(['  completion throughput', `${d.completion.perSecond} pipelines/s (${d.completion.secondsAfterFirstApproval} s after the first approval)`]);
  rows.push(['  per-step overhead, the burst', `median ${o.overhead.medianMs} ms, p99 ${o.overhead.p99Ms} ms over ${o.overhead.count} activity steps`]);
  rows.push(['    decision | dispatch', `median ${o.decision.medianMs} | ${o.dispatch.medianMs} ms; p99 ${o.decision.p99Ms} | ${o.dispatch.p99Ms} ms`]);
  rows.push(['    up to the gate | after approval', `median ${d.overhead.toTheGate.medianMs} | ${d.overhead.afterApproval.medianMs} ms; p99 ${d.overhead.toTheGate.p99Ms} | ${d.overhead.afterApproval.p99Ms} ms`]);
  const pr = d.overhead.probe;
  if (pr.steps) {
    rows.push([`  per-step overhead, one at a time`, `median ${pr.overhead.medianMs} ms, p99 ${pr.overhead.p99Ms} ms over ${pr.steps} steps of ${pr.pipelines} pipelines run while ${pr.whileParked} were parked`]);
    rows.push(['    decision | dispatch', `median ${pr.decision.medianMs} | ${pr.dispatch.medianMs} ms; p99 ${pr.decision.p99Ms} | ${pr.dispatch.p99Ms} ms`]);
  }
  const cpuText = (c: Record<string, number>) => `${round(Object.values(c).reduce((a, b) => a + b, 0))} (workers ${c.workers}, Temporal ${c.temporal}, PostgreSQL ${c.postgres})`;
  rows.push(['  CPU ms per pipeline, to the gate', cpuText(d.cpuMsPerPipeline.toTheGate)]);
  rows.push(['  CPU ms per pipeline, after approval', cpuText(d.cpuMsPerPipeline.afterApproval)]);
  rows.push([`  machine load average (${cpus().length} cores)`, `${d.loadAverage.atStart} at start, ${d.loadAverage.whenParked} when parked, ${d.loadAverage.atEnd} at the end`]);
  rows.push(['  exactly once', d.exactlyOnce.ok ? `yes (${d.exactlyOnce.temporal.completedOnce} workflows, ${d.exactlyOnce.registry.modelsWithOneVersion} versions, ${d.exactlyOnce.training.launches} trainer launches)` : 'NO']);
  rows.push([`Prefect ${p?.prefect ?? ''}`.trim(), p?.error ? `error: ${p.error}` : '']);
  if (p?.inProcess) rows.push(['  tasks in one flow process (not durable per step)', `median ${p.inProcess.medianMs} ms, p99 ${p.inProcess.p99Ms} ms over ${p.inProcess.steps} tasks`]);
  if (p?.durable) rows.push(['  flow run per step via work pool + worker (durable)', `median ${p.durable.medianMs} ms, p99 ${p.durable.p99Ms} ms over ${p.durable.steps} flow runs`]);
  const width = Math.max(...rows.map((r) => r[0]!.length));
  console.log('');
  for (const [k, v] of rows) console.log(`${k!.padEnd(width)}  ${v}`);
  console.log('');
  console.log(`Per-step overhead, Driftline: ${d.overhead.definition}.`);
  console.log("Per-step overhead, Prefect: wall time of the step minus the step's own work (scripts/bench/scale_prefect.py).");
  console.log('');
  const tw = Math.max(...goals.map((g) => g.target.length));
  for (const g of goals) console.log(`${g.met === null ? 'n/a ' : g.met ? 'MET ' : 'MISS'}  ${g.target.padEnd(tw)}  ${g.measured}`);
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const dir = mkdtempSync(join(tmpdir(), 'driftline-bench-scale-'));
  chmodSync(dir, 0o755); // the private PostgreSQL cluster inside runs as the postgres user
  log(`bench directory ${dir}`);
  try {
    const driftline = await runDriftline(options, dir);
    const prefect = options.prefect ? await runPrefect(options, dir) : null;
    const cores = cpus().length;
    const goals = targets(driftline, prefect, cores);
    const result = { benchmark: 'scale', machine: { cpus: cores }, driftline, prefect, targets: goals };
    const json = JSON.stringify(result);
    console.log(json);
    if (options.out) writeFileSync(options.out, `${JSON.stringify(result, null, 2)}\n`);
    printTable(driftline, prefect, goals);
    if (goals.some((g) => g.met === false)) process.exitCode = 1;
  } finally {
    if (!options.keep) rmSync(dir, { recursive: true, force: true });
    else log(`kept ${dir}`);
  }
}

await main();
