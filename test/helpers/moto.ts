/**
 * moto_server: the AWS APIs (S3, SageMaker, CloudWatch) over real HTTP, for adapter tests.
 * Started when installed; CI installs it (`pip install 'moto[server]'`) and sets
 * DRIFTLINE_REQUIRE_MOTO=1 so that a missing install fails the run instead of skipping suites.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { access, constants } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './ports.ts';

export interface MotoServer {
  endpoint: string;
  stop(): Promise<void>;
}

export async function startMotoServer(): Promise<MotoServer | undefined> {
  const binary = await findMoto();
  if (!binary) {
    if (process.env.DRIFTLINE_REQUIRE_MOTO === '1') {
      throw new Error('moto_server is not installed but DRIFTLINE_REQUIRE_MOTO=1: run `pip install "moto[server]"`.');
    }
    return undefined;
  }
  const port = await freePort();
  const child: ChildProcess = spawn(binary, ['-H', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' });
  const endpoint = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`moto_server exited with code ${child.exitCode}`);
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

async function findMoto(): Promise<string | undefined> {
  const explicit = process.env.MOTO_SERVER?.trim();
  if (explicit) return explicit;
  const venv = fileURLToPath(new URL('../../.driftline/venv/bin/moto_server', import.meta.url));
  if (await access(venv, constants.X_OK).then(() => true, () => false)) return venv;
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
