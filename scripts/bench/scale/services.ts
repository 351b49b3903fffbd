/**
 * The services the scale benchmark runs on, all its own and all on loopback: a Temporal dev server
 * (the provisioned CLI, with Driftline's flags), a PostgreSQL (DATABASE_URL, else a private cluster
 * of the Debian server in the bench directory), and Driftline worker processes (`driftline worker`).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, createWriteStream, existsSync, mkdirSync, openSync, closeSync, readFileSync, readdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEV_SERVER_DYNAMIC_CONFIG, devServerArgs, waitForTemporal } from '../../lib/temporal-server.ts';
import { provisionTemporalCli } from '../../lib/temporal-cli.ts';
import { driftlineHome } from '../../lib/home.ts';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export interface Service {
  readonly describe: string;
  stop(): Promise<void>;
}

export interface TemporalService extends Service {
  readonly address: string;
  readonly pid: number;
}

/** Extra flags for the dev server, each there because the benchmark showed it mattered (README, benchmarks). */
export interface TemporalTuning {
  /** `--sqlite-pragma` values added to Driftline's journal_mode=WAL. */
  pragmas: readonly string[];
  /** `--dynamic-config-value KEY=VALUE` pairs. */
  dynamicConfig: readonly string[];
  /** Keep the server's SQLite database in memory instead of a file (no fsync per transaction). */
  inMemory: boolean;
}

export async function startTemporal(dir: string, tuning: TemporalTuning, log: (line: string) => void): Promise<TemporalService> {
  const cli = await provisionTemporalCli({ home: driftlineHome(), log });
  const port = await freePort();
  const uiPort = await freePort();
  const logFile = join(dir, 'temporal.log');
  const base = devServerArgs({ ip: '127.0.0.1', port, uiPort, namespace: 'default', dbFile: join(dir, 'temporal.db') });
  if (tuning.inMemory) base.splice(base.indexOf('--db-filename'), 2);
  const args = [
    ...base,
    ...tuning.pragmas.flatMap((value) => ['--sqlite-pragma', value]),
    ...tuning.dynamicConfig.flatMap((value) => ['--dynamic-config-value', value]),
  ];
  const fd = openSync(logFile, 'a');
  const child = spawn(cli.path, args, { stdio: ['ignore', fd, fd] });
  closeSync(fd);
  const address = `127.0.0.1:${port}`;
  await waitForTemporal(address, 'default', { timeoutMs: 60_000, child, logFile });
  return {
    address,
    pid: child.pid!,
    describe: `Temporal dev server ${cli.version} at ${address} (SQLite ${tuning.inMemory ? 'in memory' : 'file'}, journal_mode=WAL${tuning.pragmas.map((p) => `, ${p}`).join('')}; ${[...DEV_SERVER_DYNAMIC_CONFIG, ...tuning.dynamicConfig].join(', ')})`,
    stop: () => stopChild(child),
  };
}

export interface DatabaseService extends Service {
  readonly url: string;
  /** The postmaster, when the benchmark runs the server (its CPU is then counted). */
  readonly pid: number | null;
}

/** DATABASE_URL when set; otherwise a private cluster of the newest Debian PostgreSQL found. */
export async function startPostgres(dir: string): Promise<DatabaseService> {
  const given = process.env.DATABASE_URL?.trim();
  if (given) return { url: given, pid: null, describe: `PostgreSQL at DATABASE_URL (${given.replace(/\/\/[^@]*@/, '//…@')})`, stop: async () => {} };
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a)) : [];
  if (versions.length === 0) {
    throw new Error('bench:scale needs PostgreSQL: set DATABASE_URL, or install the Debian server (apt-get install postgresql).');
  }
  const bin = join(root, versions[0]!, 'bin');
  const data = join(dir, 'pgdata');
  mkdirSync(data, { recursive: true });
  // initdb refuses to run as root: as root, the cluster belongs to the `postgres` system user.
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    const pw = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
    const gid = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
    chownSync(dir, Number(pw.stdout.trim()), Number(gid.stdout.trim()));
    chownSync(data, Number(pw.stdout.trim()), Number(gid.stdout.trim()));
  }
  const run = (program: string, args: string[]) => {
    const result = asRoot
      ? spawnSync('runuser', ['-u', 'postgres', '--', join(bin, program), ...args], { encoding: 'utf8' })
      : spawnSync(join(bin, program), args, { encoding: 'utf8' });
    if (result.status !== 0) throw new Error(`${program} failed: ${(result.stderr || result.stdout).trim().split('\n').slice(-3).join(' | ')}`);
  };
  run('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync']);
  const port = await freePort();
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c max_connections=200 -c shared_buffers=256MB`;
  run('pg_ctl', ['-D', data, '-o', options, '-l', join(dir, 'postgres.log'), '-w', 'start']);
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    pid: Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0]),
    describe: `PostgreSQL ${versions[0]} (Debian server, private cluster in the bench directory, fsync on) at 127.0.0.1:${port}`,
    stop: async () => run('pg_ctl', ['-D', data, '-m', 'fast', '-w', 'stop']),
  };
}

export interface WorkerProcess extends Service {
  readonly pid: number;
}

/**
 * How a worker process is started: `production` is the compiled `driftline worker` of
 * `npm run build` (dist/, its prebuilt workflow bundle) as the Dockerfile runs it; `cli` the same
 * command from the sources through tsx; `tuned` the wiring of scale/worker.ts.
 */
export type WorkerKind = 'production' | 'cli' | 'tuned';
export const WORKER_KINDS: readonly WorkerKind[] = ['production', 'cli', 'tuned'];

export const PRODUCTION_WORKER = join(REPO, 'dist/scripts/cli/main.js');

export function workerArgv(kind: WorkerKind): string[] {
  switch (kind) {
    case 'production':
      return [PRODUCTION_WORKER, 'worker'];
    case 'cli':
      return [join(REPO, 'scripts/driftline.mjs'), 'worker'];
    case 'tuned':
      return ['--import', 'tsx', join(REPO, 'scripts/bench/scale/worker.ts')];
  }
}

/** One worker process, ready once it says it polls. */
export async function startWorker(name: string, kind: WorkerKind, env: NodeJS.ProcessEnv, logFile: string): Promise<WorkerProcess> {
  const fd = openSync(logFile, 'a');
  const child = spawn(process.execPath, workerArgv(kind), { cwd: REPO, env, stdio: ['ignore', 'pipe', fd] });
  closeSync(fd);
  // Everything the worker prints goes to its log; the start-up lines are also searched for readiness.
  const log = createWriteStream(logFile, { flags: 'a' });
  child.stdout!.pipe(log);
  await new Promise<void>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`${name} did not start polling within 120 s; see ${logFile}`)), 120_000);
    const ready = (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('worker: polling')) {
        clearTimeout(timer);
        child.stdout!.off('data', ready);
        resolve();
      }
    };
    child.stdout!.on('data', ready);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited with code ${code} while starting; see ${logFile}`));
    });
  });
  return { pid: child.pid!, describe: `${name} (pid ${child.pid})`, stop: () => stopChild(child) };
}

/** Resident set size of a process, from /proc (bytes). */
export function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  if (!match) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(match[1]) * 1024;
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  await exited;
  clearTimeout(timer);
}

/**
 * CPU seconds used so far by a process and its descendants (user + system, including reaped
 * children such as finished trainer processes), from /proc. Machine-load-independent cost.
 */
export function treeCpuSeconds(rootPid: number): number {
  const ticks = 100; // USER_HZ on Linux
  const parent = new Map<number, number>();
  const cpu = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // exited meanwhile
    }
    // Fields after the command name (which may contain spaces) start at ") ".
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const pid = Number(entry);
    parent.set(pid, Number(fields[1]));
    cpu.set(pid, (Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14])) / ticks);
  }
  let total = 0;
  for (const [pid, seconds] of cpu) {
    for (let p: number | undefined = pid; p !== undefined && p > 1; p = parent.get(p)) {
      if (p === rootPid) {
        total += seconds;
        break;
      }
    }
  }
  return total;
}

/** The 1-minute load average: how busy the machine was (other processes included). */
export function loadAverage(): number {
  return Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);
}
