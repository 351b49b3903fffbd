/**
 * Runs the real `driftline` command as a child process, in its own process group so a test can
 * kill the whole stack at once (SIGKILL), as a crash or `kill -9` would.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const DRIFTLINE_BIN = fileURLToPath(new URL('../../scripts/driftline.mjs', import.meta.url));

export interface CliProcess {
  child: ChildProcess;
  output(): string;
  /** Resolves with the output once `pattern` appears; rejects if the process exits first or time runs out. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<string>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  killGroup(signal: NodeJS.Signals): void;
}

/** `entry`: the script node runs (the tsx launcher by default; a test of the build passes dist/'s). */
export function startCli(args: string[], env: NodeJS.ProcessEnv, entry: string = DRIFTLINE_BIN): CliProcess {
  const child = spawn(process.execPath, [entry, ...args], { env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const listeners = new Set<() => void>();
  const onData = (chunk: Buffer) => {
    output += chunk.toString();
    for (const listener of listeners) listener();
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return {
    child,
    output: () => output,
    exited,
    killGroup(signal) {
      try {
        process.kill(-child.pid!, signal);
      } catch {
        // already gone
      }
    },
    waitFor(pattern, timeoutMs = 120_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (pattern.test(output)) {
            cleanup();
            resolve(output);
          }
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`timed out waiting for ${pattern}; output so far:\n${output}`));
        }, timeoutMs);
        const cleanup = () => {
          clearTimeout(timer);
          listeners.delete(check);
        };
        listeners.add(check);
        void exited.then(({ code }) => {
          if (!pattern.test(output)) {
            cleanup();
            reject(new Error(`driftline exited with ${code} before ${pattern}; output:\n${output}`));
          }
        });
        check();
      });
    },
  };
}

/** Runs the CLI to completion. */
export async function runCli(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; output: string }> {
  const cli = startCli(args, env);
  const { code } = await cli.exited;
  return { code, output: cli.output() };
}
