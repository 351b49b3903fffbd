/**
 * The `local` training backend: runs a trainer command (any language) under the contract in
 * README.md, in a job directory derived from the job key.
 *
 * Exactly one training process per job, across retries and worker crashes:
 *   - a finished job leaves `result.json`; a retry returns it (`reused: true`);
 *   - a running job leaves `job.json` with the process id; the trainer runs in its own process group,
 *     so it outlives a killed worker, and a retry on this machine waits for that process instead of
 *     starting another; `launches.jsonl` records every start.
 * Cancellation kills the trainer's whole process group.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { access, appendFile, constants, mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { delimiter, join, resolve } from 'node:path';
import { createHash } from 'node:crypto';
import type { ArtifactStore } from '../artifacts/store.ts';
import { TrainingFailed, type JobHooks, type PredictionRequest, type PredictionResult, type TrainingBackend, type TrainingRequest, type TrainingResult } from './port.ts';

const HEARTBEAT_MS = 1000;
const KILL_GRACE_MS = 5000;

interface RunningJob {
  pid: number;
  startedAt: string;
  command: string[];
}

export class LocalTrainingBackend implements TrainingBackend {
  constructor(
    private readonly workRoot: string,
    private readonly artifacts: ArtifactStore,
  ) {}

  async train(request: TrainingRequest, hooks: JobHooks): Promise<TrainingResult> {
    if (request.trainer.backend !== 'local') throw new TrainingFailed('the local backend got a non-local trainer', true);
    const jobDir = this.jobDir(request.jobKey);
    const resultFile = join(jobDir, 'result.json');
    const finished = await readJson<TrainingResult>(resultFile);
    if (finished) return { ...finished, reused: true };

    await mkdir(jobDir, { recursive: true });
    const outputDir = join(jobDir, 'output');
    const logFile = join(jobDir, 'train.log');
    const running = await readJson<RunningJob>(join(jobDir, 'job.json'));
    const exitFile = join(jobDir, 'exit-code');
    let exitCode: number | null;
    const recorded = await readExitCode(exitFile);
    if (running && recorded !== undefined) {
      // A trainer started by a worker that died has already finished: use its outcome.
      exitCode = recorded;
    } else if (running && isAlive(running.pid)) {
      hooks.heartbeat({ phase: 'training', message: `resuming: trainer pid ${running.pid} is still running`, detail: { pid: running.pid } });
      await this.waitForOrphan(running.pid, jobDir, logFile, hooks);
      exitCode = (await readExitCode(exitFile)) ?? null;
    } else {
      // Nothing running: start (again) from a clean output directory.
      await rm(outputDir, { recursive: true, force: true });
      await mkdir(outputDir, { recursive: true });
      const scratch = join(jobDir, 'input');
      const trainPath = await this.artifacts.localCopy(request.trainData.uri, scratch);
      const holdoutPath = await this.artifacts.localCopy(request.holdoutData.uri, scratch);
      const hyperparametersFile = join(jobDir, 'hyperparameters.json');
      await writeFile(hyperparametersFile, JSON.stringify(request.hyperparameters));
      const args = ['train', '--train', trainPath, '--holdout', holdoutPath, '--hyperparameters', hyperparametersFile, '--output-dir', outputDir];
      exitCode = await this.run(request.trainer, args, jobDir, logFile, hooks, 'training');
    }
    if (exitCode !== 0) {
      throw new TrainingFailed(`the trainer exited with code ${exitCode}: ${await tail(logFile)}`, true);
    }

    const result = await this.collect(request, jobDir, outputDir);
    await writeFile(resultFile, JSON.stringify(result));
    return result;
  }

  async predict(request: PredictionRequest, hooks: JobHooks): Promise<PredictionResult> {
    if (request.trainer.backend !== 'local') throw new TrainingFailed('the local backend got a non-local trainer', true);
    const jobDir = join(this.jobDir(request.jobKey), `predict-${safeName(request.name)}`);
    const done = await readJson<PredictionResult>(join(jobDir, 'result.json'));
    if (done) return done;
    await mkdir(jobDir, { recursive: true });
    const modelPath = await this.artifacts.localCopy(request.artifactUri, join(jobDir, 'model'));
    const dataPath = await this.artifacts.localCopy(request.dataUri, join(jobDir, 'input'));
    const output = join(jobDir, 'predictions.csv');
    const logFile = join(jobDir, 'predict.log');
    const exitCode = await this.run(request.trainer, ['predict', '--model', modelPath, '--data', dataPath, '--output', output], jobDir, logFile, hooks, 'predicting');
    if (exitCode !== 0) throw new TrainingFailed(`predict exited with code ${exitCode}: ${await tail(logFile)}`, true);
    const exists = await stat(output).catch(() => undefined);
    if (!exists) throw new TrainingFailed(`predict exited 0 but wrote no ${output}`, true);
    const rows = (await readFile(output, 'utf8')).trim().split('\n').length - 1;
    const result: PredictionResult = { predictions: await this.artifacts.put(output), rows };
    await writeFile(join(jobDir, 'result.json'), JSON.stringify(result));
    return result;
  }

  /** The job's directory: readable, and unique per key even when keys differ only in odd characters. */
  private jobDir(jobKey: string): string {
    const digest = createHash('sha256').update(jobKey).digest('hex').slice(0, 12);
    return join(this.workRoot, `${safeName(jobKey).slice(0, 80)}-${digest}`);
  }

  private async run(
    trainer: Extract<TrainingRequest['trainer'], { backend: 'local' }>,
    args: string[],
    jobDir: string,
    logFile: string,
    hooks: JobHooks,
    phase: string,
  ): Promise<number | null> {
    const [program, ...baseArgs] = trainer.command;
    const cwd = trainer.workingDirectory ? resolve(trainer.workingDirectory) : process.cwd();
    const exitFile = join(jobDir, phase === 'training' ? 'exit-code' : 'predict-exit-code');
    await rm(exitFile, { force: true });
    const found = await commandExists(program!, cwd);
    if (!found) throw new TrainingFailed(`the trainer command "${program}" was not found (cwd ${cwd})`, true);
    const fd = openSync(logFile, 'a');
    let child;
    try {
      // A small shell wrapper writes the trainer's exit code to a file, so the outcome survives the
      // worker: a retry after a crash reads it instead of training again.
      const wrapper = '"$@"; code=$?; echo "$code" > "$DRIFTLINE_EXIT_FILE"; exit "$code"';
      child = spawn('/bin/sh', ['-c', wrapper, 'driftline-trainer', program!, ...baseArgs, ...args], {
        cwd,
        env: { ...process.env, ...trainer.env, DRIFTLINE_EXIT_FILE: exitFile },
        stdio: ['ignore', fd, fd],
        detached: true, // own process group: survives a worker crash, and can be killed as a whole
      });
    } finally {
      closeSync(fd);
    }
    // Listen for the exit before any await: a quick trainer can be done before the next tick.
    const exited = new Promise<number | null>((resolveExit) => child.once('exit', (code, signal) => resolveExit(signal ? null : code)));
    const spawned = await new Promise<number>((resolveSpawn, reject) => {
      child.once('spawn', () => resolveSpawn(child.pid!));
      child.once('error', (error: NodeJS.ErrnoException) =>
        reject(
          new TrainingFailed(
            error.code === 'ENOENT' ? `the trainer command "${program}" was not found (cwd ${cwd})` : `the trainer could not start: ${error.message}`,
            true,
          ),
        ),
      );
    });
    const job: RunningJob = { pid: spawned, startedAt: new Date().toISOString(), command: trainer.command };
    if (phase === 'training') {
      await writeFile(join(jobDir, 'job.json'), JSON.stringify(job));
      await appendFile(join(jobDir, 'launches.jsonl'), `${JSON.stringify(job)}\n`);
    }
    return this.supervise(spawned, exited, logFile, hooks, phase);
  }

  private async waitForOrphan(pid: number, _jobDir: string, logFile: string, hooks: JobHooks): Promise<number | null> {
    // Not our child: its exit code comes from the wrapper's file once it is gone.
    const exited = (async () => {
      while (isAlive(pid)) await sleep(200);
      return 0;
    })();
    return this.supervise(pid, exited, logFile, hooks, 'training');
  }

  private async supervise(pid: number, exited: Promise<number | null>, logFile: string, hooks: JobHooks, phase: string): Promise<number | null> {
    const onAbort = () => void killGroup(pid);
    hooks.signal.addEventListener('abort', onAbort, { once: true });
    const timer = setInterval(() => {
      void tail(logFile, 1).then((line) => hooks.heartbeat({ phase, message: line || `${phase} (pid ${pid})`, detail: { pid } }));
    }, HEARTBEAT_MS);
    try {
      const code = await exited;
      if (hooks.signal.aborted) throw new TrainingFailed(`${phase} was cancelled; trainer process group ${pid} was stopped`, true);
      return code;
    } finally {
      clearInterval(timer);
      hooks.signal.removeEventListener('abort', onAbort);
    }
  }

  private async collect(request: TrainingRequest, jobDir: string, outputDir: string): Promise<TrainingResult> {
    const files = await readdir(outputDir).catch(() => [] as string[]);
    const models = files.filter((f) => f.startsWith('model.'));
    if (models.length !== 1) {
      throw new TrainingFailed(
        `the trainer must write exactly one model.<ext> file to its output directory, found ${models.length ? models.join(', ') : 'none'}`,
        true,
      );
    }
    const metrics = await readTrainerMetrics(join(outputDir, 'metrics.json'));
    const artifact = await this.artifacts.put(join(outputDir, models[0]!));
    const running = await readJson<RunningJob>(join(jobDir, 'job.json'));
    return { backend: 'local', jobId: `local:${running?.pid ?? 'unknown'}:${request.jobKey}`, artifact, trainerMetrics: metrics, reused: false };
  }
}

export async function readTrainerMetrics(path: string): Promise<Record<string, number>> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(path, 'utf8'));
  } catch (error) {
    throw new TrainingFailed(`metrics.json is missing or not JSON (${(error as Error).message})`, true);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new TrainingFailed('metrics.json must be a JSON object of numbers', true);
  const metrics: Record<string, number> = {};
  for (const [name, value] of Object.entries(parsed)) {
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      throw new TrainingFailed(`metrics.json has a non-finite or non-numeric value for "${name}": ${JSON.stringify(value)}`, true);
    }
    metrics[name] = value;
  }
  return metrics;
}

async function readExitCode(path: string): Promise<number | undefined> {
  try {
    const code = Number((await readFile(path, 'utf8')).trim());
    return Number.isInteger(code) ? code : undefined;
  } catch {
    return undefined;
  }
}

/** Whether `program` resolves to an executable (a path relative to cwd, or a name on PATH). */
async function commandExists(program: string, cwd: string): Promise<boolean> {
  const candidates = program.includes('/')
    ? [resolve(cwd, program)]
    : (process.env.PATH ?? '').split(delimiter).filter(Boolean).map((dir) => join(dir, program));
  for (const candidate of candidates) {
    try {
      await access(candidate, constants.X_OK);
      return true;
    } catch {
      // keep looking
    }
  }
  return false;
}

function safeName(text: string): string {
  return text.replace(/[^A-Za-z0-9._-]+/g, '_');
}

async function readJson<T>(path: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function killGroup(pid: number): Promise<void> {
  try {
    process.kill(-pid, 'SIGTERM');
  } catch {
    return;
  }
  const deadline = Date.now() + KILL_GRACE_MS;
  while (isAlive(pid) && Date.now() < deadline) await sleep(100);
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

async function tail(path: string, lines = 5): Promise<string> {
  try {
    const text = (await readFile(path, 'utf8')).trim();
    return text.split('\n').slice(-lines).join(' | ');
  } catch {
    return '';
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
