/**
 * Fault injection (`npm run test:chaos`): 50 continuous-training pipelines (most on the local
 * trainer, some on SageMaker in moto) and a few canary deployments run while the suite
 *  - kill -9s a worker at random moments (seeded; CHAOS_SEED replays the schedule) and starts a new one,
 *  - kill -9s the Temporal dev server and starts it again on the same SQLite file,
 *  - crashes the real PostgreSQL (`pg_ctl stop -m immediate`) while registry writes are in flight,
 *  - kills moto_server while SageMaker training jobs run, and starts it again.
 * Then it checks: every pipeline finished as expected (registered or rejected, never failed), one
 * version per pipeline, one training job per pipeline, no canary step applied or decided twice, and
 * the audit chain verifies (`driftline audit verify`). It prints what it injected and what it checked.
 *
 * What "moto restarted mid-training" means here. moto keeps its state in memory; real SageMaker does
 * not forget a training job because its endpoint was unreachable. The fault that matters is the
 * outage: every AWS call fails for a while, and then the same jobs and objects are there again.
 * So moto records every request, and a restart replays the recording into the new moto before the
 * workers can reach it (see services.ts). The invariant is then the real one: across the outage the
 * backend re-describes its job by name and carries on with it; SageMaker holds exactly one training
 * job per pipeline (a duplicate would be a second generation, `<name>-r2`, since SageMaker never
 * reuses a name). A moto that really forgot its jobs would model a service losing its records, which
 * SageMaker does not do; the backend would then, by design, create the job again under its name.
 */
import { CreateBucketCommand, HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { ListTrainingJobsCommand, SageMakerClient } from '@aws-sdk/client-sagemaker';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { connectDatabase, type DriftlineDb } from '../../activities/db/database.ts';
import { migrateToLatest } from '../../activities/db/migrator.ts';
import { trainingJobName } from '../../activities/training/sagemaker-backend.ts';
import type { ContinuousTrainingInput, PipelineOutcome } from '../../core/training.ts';
import { startContinuousTraining } from '../../scripts/lib/start-pipeline.ts';
import { provisionTemporalCli } from '../../scripts/lib/temporal-cli.ts';
import { driftlineHome } from '../../scripts/lib/home.ts';
import { startRouter } from '../../scripts/lib/router/router.ts';
import { findMotoPython } from '../helpers/moto.ts';
import { CREDIT_HOLDOUT, CREDIT_TRAIN, REPO_ROOT, creditPipeline } from '../helpers/pipelines.ts';
import { runCli, type CliProcess } from '../helpers/processes.ts';
import { checkCanaries, startCanaries, type CanaryRun } from './canaries.ts';
import { Journal, print, seededRandom } from './journal.ts';
import { simulateContainers } from './sagemaker-container.ts';
import { sleep, startMoto, startPostgres, startTemporal, workerPool, type ChaosMoto, type ChaosPostgres, type ChaosTemporal, type WorkerPool } from './services.ts';

const PIPELINES = Number(process.env.CHAOS_PIPELINES ?? 50);
const SAGEMAKER_PIPELINES = Number(process.env.CHAOS_SAGEMAKER_PIPELINES ?? 6);
const REJECTED_PIPELINES = 6;
const CANARIES = Number(process.env.CHAOS_CANARIES ?? 3);
const WORKERS = 2;
const SEED = Number(process.env.CHAOS_SEED ?? Math.floor(Math.random() * 2 ** 31));
const BUCKET = 'driftline-chaos';
const AWS = { AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing', AWS_REGION: 'us-east-1' };
const credentials = { accessKeyId: 'testing', secretAccessKey: 'testing' };
/** How long moto holds a SageMaker job InProgress: the moto restart must land inside a training job. */
const TRAINING_SECONDS = 20;
const TRANSFORM_SECONDS = 3;

interface Pipeline {
  index: number;
  model: string;
  backend: 'local' | 'sagemaker';
  expected: 'registered' | 'rejected';
  startAtMs: number;
  startsFile?: string;
  workflowId?: string;
  handle?: WorkflowHandle;
  outcome?: PipelineOutcome;
  error?: string;
}

const teardown: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const step of teardown.reverse()) await step().catch((error: unknown) => console.error('chaos teardown:', error));
});

describe('chaos: worker, Temporal, PostgreSQL and moto faults during 50 pipelines', () => {
  it('finishes every pipeline once, with one version and one training job each, no duplicate canary step, and an intact audit chain', async () => {
    const journal = new Journal(SEED);
    const random = seededRandom(SEED);
    journal.note(`seed ${SEED}: ${PIPELINES} pipelines (${SAGEMAKER_PIPELINES} on SageMaker in moto, ${REJECTED_PIPELINES} expected to be rejected), ${CANARIES} canaries, ${WORKERS} workers`);

    // ------------------------------------------------------------ services the suite owns
    const root = await mkdtemp(join(tmpdir(), 'driftline-chaos-'));
    teardown.push(() => rm(root, { recursive: true, force: true }));
    const python = await findMotoPython();
    if (!python) throw new Error('the chaos suite needs moto (bash scripts/setup-python.sh)');
    const cli = await provisionTemporalCli({ home: driftlineHome(), log: () => {} });

    const postgres: ChaosPostgres = await startPostgres(join(root, 'pg'));
    teardown.push(() => postgres.stop());
    const temporalServer: ChaosTemporal = await startTemporal(cli.path, await dir(root, 'temporal'));
    teardown.push(() => temporalServer.stop());
    const moto: ChaosMoto = await startMoto(python, await dir(root, 'moto'));
    teardown.push(() => moto.stop());
    journal.note(`PostgreSQL ${postgres.url}, Temporal ${temporalServer.address} (CLI ${cli.version}), moto ${moto.endpoint}`);

    const db: DriftlineDb = connectDatabase(postgres.url, { maxConnections: 4 });
    teardown.push(() => db.destroy());
    await migrateToLatest(db as never);

    const s3 = new S3Client({ endpoint: moto.endpoint, forcePathStyle: true, region: 'us-east-1', credentials, maxAttempts: 10 });
    const sagemaker = new SageMakerClient({ endpoint: moto.endpoint, region: 'us-east-1', credentials, maxAttempts: 10 });
    teardown.push(async () => (s3.destroy(), sagemaker.destroy()));
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'data/train.csv', Body: await readFile(CREDIT_TRAIN) }));
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'data/holdout.csv', Body: await readFile(CREDIT_HOLDOUT) }));
    const setTransitions = async (endpoint: string) => {
      for (const [model, seconds] of [['sagemaker::training_job', TRAINING_SECONDS], ['sagemaker::transform_job', TRANSFORM_SECONDS]] as const) {
        const response = await fetch(`${endpoint}/moto-api/state-manager/set-transition`, { method: 'POST', body: JSON.stringify({ model_name: model, transition: { progression: 'time', seconds } }) });
        if (!response.ok) throw new Error(`moto refused the ${model} transition: HTTP ${response.status}`);
      }
    };
    await setTransitions(moto.endpoint);
    const containers = simulateContainers({ s3, sagemaker, bucket: BUCKET, outputPrefix: 'models', label: 'default' });
    teardown.push(() => containers.stop());

    const home = await dir(root, 'home');
    const startsDir = await dir(root, 'starts');
    const workers: WorkerPool = workerPool({
      ...process.env,
      ...AWS,
      AWS_ENDPOINT_URL: moto.endpoint,
      TEMPORAL_ADDRESS: temporalServer.address,
      TEMPORAL_NAMESPACE: 'default',
      DATABASE_URL: postgres.url,
      DRIFTLINE_HOME: home,
      DRIFTLINE_ARTIFACTS: join(home, 'artifacts'),
    });
    teardown.push(() => workers.stopAll());
    await Promise.all(Array.from({ length: WORKERS }, () => workers.start()));
    journal.note(`${WORKERS} workers polling`);

    const connection = await Connection.connect({ address: temporalServer.address });
    teardown.push(() => connection.close());
    const client = new Client({ connection, namespace: 'default' });

    const router = await startRouter({ db, flushIntervalMs: 100 });
    teardown.push(() => router.close());

    // ------------------------------------------------------------ the workload
    const prefix = `chaos-${randomBytes(3).toString('hex')}`;
    const pipelines: Pipeline[] = Array.from({ length: PIPELINES }, (_, index) => {
      const backend = index < SAGEMAKER_PIPELINES ? 'sagemaker' : 'local';
      const expected = index >= PIPELINES - REJECTED_PIPELINES ? 'rejected' : 'registered';
      // SageMaker pipelines start first so that their training overlaps the moto restart.
      const startAtMs = backend === 'sagemaker' ? Math.floor(random() * 5_000) : 3_000 + Math.floor(random() * 60_000);
      return { index, model: `${prefix}-${backend === 'sagemaker' ? 'sm' : 'local'}-${String(index).padStart(2, '0')}`, backend, expected, startAtMs };
    });
    const inputOf = (p: Pipeline): ContinuousTrainingInput => {
      const base = creditPipeline(p.model);
      const policy =
        p.expected === 'rejected'
          ? { ...base.policy, evaluation: { ...base.policy.evaluation, thresholds: { accuracy: { min: 0.995 } } } }
          : base.policy;
      if (p.backend === 'sagemaker') {
        return {
          ...base,
          policy,
          datasets: { train: `s3://${BUCKET}/data/train.csv`, holdout: `s3://${BUCKET}/data/holdout.csv` },
          trainer: {
            backend: 'sagemaker',
            image: '123456789012.dkr.ecr.us-east-1.amazonaws.com/driftline-logreg:1.4',
            roleArn: 'arn:aws:iam::123456789012:role/driftline-training',
            instanceType: 'ml.m5.xlarge',
            instanceCount: 1,
            volumeSizeGb: 30,
            maxRuntimeSeconds: 3600,
            outputS3Uri: `s3://${BUCKET}/models`,
            transformInstanceType: 'ml.m5.large',
          },
        };
      }
      p.startsFile = join(startsDir, `${p.model}.txt`);
      return {
        ...base,
        policy,
        trainer: {
          backend: 'local',
          command: ['test/fixtures/trainers/chaos-trainer.sh'],
          workingDirectory: REPO_ROOT,
          env: { CHAOS_STARTS: p.startsFile, CHAOS_TRAIN_SECONDS: String(1 + Math.floor(random() * 5)) },
        },
      };
    };
    const inputs = new Map(pipelines.map((p) => [p.index, inputOf(p)]));

    const began = Date.now();
    const starting = pipelines.map(async (p) => {
      await sleep(p.startAtMs);
      const { handle, workflowId } = await retrying(`start ${p.model}`, () => startContinuousTraining(client, inputs.get(p.index)!, 'chaos'));
      p.handle = handle;
      p.workflowId = workflowId;
      try {
        p.outcome = await resultOf<PipelineOutcome>(handle, 9 * 60_000 - (Date.now() - began));
      } catch (error) {
        p.error = error instanceof Error ? error.message : String(error);
      }
    });
    const canaryRuns: Promise<CanaryRun[]> = startCanaries({ client, db, router, count: CANARIES, prefix, closers: teardown });

    // ------------------------------------------------------------ the faults
    let finished = false;
    const finishedCount = () => pipelines.filter((p) => p.outcome || p.error).length;
    const faults: Array<Promise<void>> = [];

    // kill -9 a worker at a random moment of its working life (after 3–15 s of polling), and start a
    // replacement at once, in the background (bundling the workflows takes a while on a loaded
    // machine): kills keep coming while pipelines run, yet every worker gets some work done
    const replacements: Array<Promise<unknown>> = [];
    faults.push(
      (async () => {
        let kills = 0;
        while (!finished && kills < 12) {
          const workAtLeast = 3_000 + random() * 12_000;
          let victim: CliProcess | undefined;
          while (!finished && !victim) {
            const eligible = workers.alive().filter((w) => workers.pollingFor(w) >= workAtLeast);
            victim = eligible[Math.floor(random() * eligible.length)];
            if (!victim) await sleep(250);
          }
          if (victim) {
            const alive = workers.alive();
            const trainers = await readdir(startsDir).catch(() => []);
            journal.inject('worker-kill', `kill -9 worker pid ${victim.child.pid} after ${Math.round(workers.pollingFor(victim) / 1000)} s of polling (${alive.length} polling; ${finishedCount()}/${PIPELINES} pipelines finished, ${trainers.length} local trainings started)`);
            await workers.kill(victim);
            kills++;
            replacements.push(workers.start().catch((error: unknown) => journal.note(`a replacement worker did not start: ${String(error).slice(0, 200)}`)));
          }
          await sleep(2_000 + random() * 6_000);
        }
      })(),
    );

    // restart the Temporal dev server once, with many pipelines in flight (after 5–15 local trainings began)
    faults.push(
      (async () => {
        const trainings = 5 + Math.floor(random() * 11);
        while (!finished && (await readdir(startsDir).catch(() => [])).length < trainings) await sleep(200);
        journal.inject('temporal-restart', `kill -9 the dev server, 2 s down, start on the same SQLite file (${finishedCount()}/${PIPELINES} finished)`);
        await temporalServer.killRestart(2_000);
        journal.note('Temporal is back');
      })(),
    );

    // crash PostgreSQL twice while a registry write is in flight: once early in the registrations
    // and once in their thick (by pipelines finished, so a slow machine does not miss them)
    let caughtWrites = 0;
    faults.push(
      (async () => {
        for (const after of [1 + Math.floor(random() * 4), Math.floor(PIPELINES * (0.3 + random() * 0.3))]) {
          while (!finished && finishedCount() < after) await sleep(100);
          if (finished) return;
          const caught = await catchRegistryWrite(postgres.url, 60_000);
          if (caught) caughtWrites++;
          journal.inject('postgres-restart', `pg_ctl stop -m immediate, 1.5 s down, start (${caught ? `caught mid-write: ${caught}` : 'no registry write seen in 60 s'}; ${finishedCount()}/${PIPELINES} finished)`);
          await postgres.crashRestart(1_500);
          journal.note('PostgreSQL is back');
        }
      })(),
    );

    // kill moto while SageMaker training jobs are InProgress, and bring it back with its state
    let trainingAtMotoRestart = 0;
    faults.push(
      (async () => {
        const deadline = Date.now() + 300_000;
        let running: string[] = [];
        while (Date.now() < deadline) {
          const jobs = await sagemaker.send(new ListTrainingJobsCommand({ StatusEquals: 'InProgress', MaxResults: 100 })).catch(() => undefined);
          running = (jobs?.TrainingJobSummaries ?? []).map((j) => j.TrainingJobName!);
          // two jobs at once if that comes within a minute, else the first one seen
          if (running.length >= Math.min(2, SAGEMAKER_PIPELINES) || (running.length >= 1 && Date.now() > deadline - 240_000) || finished) break;
          await sleep(250);
        }
        trainingAtMotoRestart = running.length;
        journal.inject('moto-restart', `kill -9 moto_server with ${running.length} SageMaker training jobs InProgress, 3 s down, new moto replays the recorded requests`);
        await moto.killRestart(3_000, async (direct) => {
          await setTransitions(direct);
          // the replay must have rebuilt what clients rely on
          const s3Direct = new S3Client({ endpoint: direct, forcePathStyle: true, region: 'us-east-1', credentials });
          const smDirect = new SageMakerClient({ endpoint: direct, region: 'us-east-1', credentials });
          try {
            await s3Direct.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'data/holdout.csv' }));
            const known = (await smDirect.send(new ListTrainingJobsCommand({ MaxResults: 100 }))).TrainingJobSummaries ?? [];
            journal.note(`moto replayed: ${known.length} training jobs known again`);
          } finally {
            s3Direct.destroy();
            smDirect.destroy();
          }
        });
      })(),
    );

    // ------------------------------------------------------------ wait for every pipeline
    await Promise.all(starting);
    journal.note(`all pipelines answered (${pipelines.filter((p) => p.outcome).length} results, ${pipelines.filter((p) => p.error).length} errors)`);
    const canaries = await canaryRuns;
    await Promise.all(canaries.map((run) => resultOf(client.workflow.getHandle(run.workflowId), 4 * 60_000).catch((error: unknown) => journal.note(String(error)))));
    finished = true;
    await Promise.all(faults);
    await Promise.all(replacements);
    await containers.stop();

    // ------------------------------------------------------------ what must hold
    const injected = (fault: string) => journal.injections.filter((i) => i.fault === fault).length;
    journal.check(
      'faults injected',
      injected('worker-kill') >= 3 && injected('temporal-restart') === 1 && caughtWrites >= 1 && injected('moto-restart') === 1 && trainingAtMotoRestart >= 1,
      `${injected('worker-kill')} worker kills (${workers.started()} workers started), ${injected('temporal-restart')} Temporal restart, ` +
        `${injected('postgres-restart')} PostgreSQL crashes (${caughtWrites} during a registry write), ${injected('moto-restart')} moto restart (${trainingAtMotoRestart} SageMaker jobs training)`,
    );

    journal.check(
      'no worker crashed on its own',
      workers.crashes().length === 0,
      workers.crashes().length === 0
        ? `only the suite's kills ended workers; ${workers.failedStarts().length} start attempts gave up while a service was down${workers.failedStarts().length ? ` (e.g. "${workers.failedStarts()[0]}")` : ''}`
        : workers.crashes().slice(0, 3).join('; '),
    );

    // every pipeline finished as expected, in one run
    const wrong = pipelines.filter((p) => p.outcome?.outcome !== p.expected).map((p) => `${p.model}: ${p.error ?? JSON.stringify(p.outcome)}`);
    const runs = await Promise.all(pipelines.map((p) => countRuns(client, p.workflowId!)));
    const multiRun = pipelines.filter((_, i) => runs[i] !== 1).map((p, i) => `${p.workflowId} has ${runs[i]} runs`);
    const registered = pipelines.filter((p) => p.outcome?.outcome === 'registered').length;
    const rejected = pipelines.filter((p) => p.outcome?.outcome === 'rejected').length;
    journal.check(
      'every pipeline finished',
      wrong.length === 0 && multiRun.length === 0,
      wrong.length + multiRun.length === 0 ? `${PIPELINES} workflows completed in one run each: ${registered} registered, ${rejected} rejected (as expected), 0 failed` : [...wrong, ...multiRun].slice(0, 5).join('; '),
    );

    // exactly one version per pipeline, and one recorded run
    const versions = await db.selectFrom('model_versions').select(['model_name', 'version', 'status', 'training_job_id']).where('model_name', 'like', `${prefix}-%`).where('model_name', 'not like', `${prefix}-canary-%`).execute();
    const byModel = new Map<string, typeof versions>();
    for (const v of versions) byModel.set(v.model_name, [...(byModel.get(v.model_name) ?? []), v]);
    const badVersions = pipelines.filter((p) => byModel.get(p.model)?.length !== 1 || byModel.get(p.model)![0]!.version !== 1 || byModel.get(p.model)![0]!.status !== p.expected);
    const pipelineRuns = await db.selectFrom('pipeline_runs').select(['model_name']).where('model_name', 'like', `${prefix}-%`).where('workflow_type', '=', 'continuousTraining').execute();
    const runsByModel = new Map<string, number>();
    for (const r of pipelineRuns) runsByModel.set(r.model_name, (runsByModel.get(r.model_name) ?? 0) + 1);
    const badRuns = pipelines.filter((p) => runsByModel.get(p.model) !== 1);
    journal.check(
      'exactly one version per pipeline',
      badVersions.length === 0 && badRuns.length === 0,
      badVersions.length + badRuns.length === 0
        ? `${versions.length} model_versions rows for ${PIPELINES} pipelines, each v1 with the expected status; ${pipelineRuns.length} pipeline_runs rows`
        : [...badVersions.map((p) => `${p.model}: ${JSON.stringify(byModel.get(p.model) ?? [])}`), ...badRuns.map((p) => `${p.model}: ${runsByModel.get(p.model) ?? 0} pipeline_runs`)].slice(0, 5).join('; '),
    );

    // one training job per pipeline: local trainer processes (counted by the trainer itself), local
    // job directories, trainModel scheduled once per run; SageMaker jobs in moto
    const local = pipelines.filter((p) => p.backend === 'local');
    const starts = await Promise.all(local.map(async (p) => (await readFile(p.startsFile!, 'utf8').catch(() => '')).split('\n').filter(Boolean).length));
    const jobDirs = await readdir(join(home, 'jobs')).catch(() => [] as string[]);
    const trainScheduled = await Promise.all(pipelines.map((p) => scheduledCount(p.handle!, 'trainModel')));
    const smJobs = (await sagemaker.send(new ListTrainingJobsCommand({ MaxResults: 100 }))).TrainingJobSummaries ?? [];
    const problems: string[] = [];
    local.forEach((p, i) => {
      if (starts[i] !== 1) problems.push(`${p.model}: ${starts[i]} trainer processes`);
    });
    if (jobDirs.length !== local.length) problems.push(`${jobDirs.length} local job directories for ${local.length} local pipelines`);
    pipelines.forEach((p, i) => {
      if (trainScheduled[i] !== 1) problems.push(`${p.workflowId}: trainModel scheduled ${trainScheduled[i]} times`);
    });
    for (const p of pipelines.filter((q) => q.backend === 'sagemaker')) {
      const runId = (await p.handle!.describe()).runId;
      const name = trainingJobName(p.model, `${p.workflowId}/${runId}`);
      const mine = smJobs.filter((j) => j.TrainingJobName!.startsWith(name.slice(0, -17)));
      if (mine.length !== 1 || mine[0]!.TrainingJobName !== name) problems.push(`${p.model}: SageMaker jobs ${mine.map((j) => j.TrainingJobName).join(', ') || 'none'}`);
      const lineage = byModel.get(p.model)?.[0]?.training_job_id ?? '';
      if (!lineage.endsWith(`/${name}`)) problems.push(`${p.model}: version lineage names job ${lineage}, not ${name}`);
    }
    journal.check(
      'one training job per pipeline',
      problems.length === 0,
      problems.length === 0
        ? `${starts.reduce((a, b) => a + b, 0)} local trainer processes and ${jobDirs.length} job directories for ${local.length} local pipelines; ${smJobs.length} SageMaker training jobs for ${SAGEMAKER_PIPELINES} SageMaker pipelines; trainModel scheduled once in each of ${PIPELINES} histories`
        : problems.slice(0, 6).join('; '),
    );

    await checkCanaries(client, db, canaries, journal);

    // the audit chain, through the CLI exactly as an operator runs it
    const verify = await runCli(['audit', 'verify', '--json'], { ...process.env, DATABASE_URL: postgres.url });
    const verdict = verify.code === 0 ? (JSON.parse(verify.output) as { ok: boolean; events: number; head: { seq: number } }) : undefined;
    journal.check(
      'driftline audit verify passes',
      verify.code === 0 && verdict?.ok === true,
      verdict ? `exit ${verify.code}: chain intact, ${verdict.events} events, head #${verdict.head.seq}` : `exit ${verify.code}: ${verify.output.trim().slice(0, 400)}`,
    );

    print(journal.summary());
    expect(journal.failures()).toEqual([]);
  });
});

async function dir(root: string, name: string): Promise<string> {
  const path = join(root, name);
  await mkdir(path, { recursive: true });
  return path;
}

/** Calls that the suite itself makes may meet a Temporal restart: try again for a while. */
async function retrying<T>(what: string, fn: () => Promise<T>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (error) {
      if (Date.now() > deadline) throw new Error(`${what}: ${error instanceof Error ? error.message : String(error)}`);
      await sleep(500);
    }
  }
}

/**
 * The workflow's result. Long polls break while the dev server restarts, so errors that are not the
 * workflow's own are retried until the deadline, which names where the workflow is stuck.
 */
async function resultOf<T>(handle: WorkflowHandle, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('deadline')), Math.max(1, deadline - Date.now()))));
      try {
        return (await Promise.race([handle.result(), late])) as T;
      } finally {
        clearTimeout(timer);
      }
    } catch (error) {
      const name = (error as Error).name;
      if (name === 'WorkflowFailedError') throw error;
      if (Date.now() >= deadline) {
        const description = await handle.describe().catch(() => undefined);
        const pending = description?.raw.pendingActivities?.map((a) => `${a.activityType?.name} attempt ${a.attempt} (${a.lastFailure?.message ?? 'no failure'})`);
        throw new Error(`${handle.workflowId} did not finish in time: ${description?.status.name ?? 'unknown'}; pending ${JSON.stringify(pending)}`);
      }
      await sleep(500);
    }
  }
}

async function countRuns(client: Client, workflowId: string): Promise<number> {
  let n = 0;
  for await (const _ of client.workflow.list({ query: `WorkflowId = '${workflowId}'` })) n++;
  return n;
}

async function scheduledCount(handle: WorkflowHandle, activity: string): Promise<number> {
  const history = await handle.fetchHistory();
  return (history.events ?? []).filter(
    (e) => e.eventType === temporal.api.enums.v1.EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED && e.activityTaskScheduledEventAttributes?.activityType?.name === activity,
  ).length;
}

/**
 * Waits until another session is running a write on the registry's tables (pg_stat_activity), so
 * the crash lands mid-write; returns the statement, or undefined after `timeoutMs`.
 */
async function catchRegistryWrite(url: string, timeoutMs: number): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: url });
  client.on('error', () => {});
  await client.connect();
  try {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const { rows } = await client.query<{ query: string }>(
        `select query from pg_stat_activity
          where pid <> pg_backend_pid() and (state = 'active' or state like 'idle in transaction%')
            and query ~* '(insert into|update) "?(model_versions|models|audit_log|audit_head|aliases|alias_moves|pipeline_runs|canary_decisions)'
          limit 1`,
      );
      if (rows[0]) return rows[0].query.replace(/\s+/g, ' ').slice(0, 90);
      await sleep(5);
    }
    return undefined;
  } finally {
    await client.end().catch(() => {});
  }
}
