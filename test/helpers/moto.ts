/**
 * moto_server: the AWS APIs (S3, SageMaker, CloudWatch) over real HTTP, for adapter tests.
 * Started when moto is installed (scripts/setup-python.sh); CI sets DRIFTLINE_REQUIRE_MOTO=1 so
 * that a missing install fails the run instead of skipping suites.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { access, constants, mkdir, rmdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './ports.ts';

export interface MotoServer {
  endpoint: string;
  stop(): Promise<void>;
}

export async function startMotoServer(): Promise<MotoServer | undefined> {
  const python = await findMotoPython();
  if (!python) {
    if (process.env.DRIFTLINE_REQUIRE_MOTO === '1') {
      throw new Error('moto_server is not installed but DRIFTLINE_REQUIRE_MOTO=1: run `bash scripts/setup-python.sh`.');
    }
    return undefined;
  }
  const port = await freePort();
  // moto's own server, plus the SageMaker job lifecycle and StopTrainingJob it lacks (see the launcher).
  const child: ChildProcess = spawn(python, [LAUNCHER, '-H', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' });
  const endpoint = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`moto_server exited with code ${child.exitCode}`);
    if (Date.now() > deadline) throw new Error(`moto_server did not answer on ${endpoint} within 30s`);
    try {
      const response = await fetch(`${endpoint}/moto-api/`, { signal: AbortSignal.timeout(1000) });
      if (response.ok) break;
    } catch {
      // not up yet
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return {
    endpoint,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

const LAUNCHER = fileURLToPath(new URL('../fixtures/moto/moto_server_sagemaker.py', import.meta.url));

/** A Python that can import moto: beside $MOTO_SERVER, the project venv, or python3 on PATH. */
export async function findMotoPython(): Promise<string | undefined> {
  const candidates: string[] = [];
  const explicit = process.env.MOTO_SERVER?.trim();
  if (explicit) candidates.push(join(dirname(explicit), 'python'));
  candidates.push(fileURLToPath(new URL('../../.driftline/venv/bin/python', import.meta.url)));
  const motoOnPath = await findMoto();
  if (motoOnPath) candidates.push(join(dirname(motoOnPath), 'python'), 'python3');
  for (const python of candidates) {
    try {
      execFileSync(python, ['-c', 'import moto.server, moto.sagemaker'], { stdio: 'ignore', timeout: 30_000 });
      return python;
    } catch {
      // not this one
    }
  }
  return undefined;
}

async function findMoto(): Promise<string | undefined> {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, 'moto_server');
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // keep looking
    }
  }
  return undefined;
}

/**
 * moto's state-manager transitions are global to the server. Suites that change the SageMaker
 * training-job transition hold this lock (a directory, atomic to create) for as long as they
 * depend on it, so two test files never fight over it.
 */
export async function withSageMakerLifecycle<T>(motoEndpoint: string, fn: () => Promise<T>): Promise<T> {
  const lock = join(tmpdir(), `driftline-moto-sagemaker-${new URL(motoEndpoint).port}.lock`);
  const deadline = Date.now() + 120_000;
  for (;;) {
    try {
      await mkdir(lock);
      break;
    } catch {
      if (Date.now() > deadline) throw new Error(`waited 120s for ${lock}`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
  try {
    return await fn();
  } finally {
    await rmdir(lock).catch(() => {});
  }
}
