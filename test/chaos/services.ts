/**
 * The processes the chaos suite owns and breaks: a real PostgreSQL server (its own data directory,
 * created with initdb), a Temporal dev server with a persistent SQLite file, moto_server behind a
 * TCP relay, and Driftline worker processes. Each one can be stopped and started again by the
 * suite; none is shared with `npm test`.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, existsSync, readdirSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { dirname, join } from 'node:path';
import { startDevServer, waitForTemporal } from '../../scripts/lib/temporal-server.ts';
import { freePort } from '../helpers/ports.ts';
import { startCli, type CliProcess } from '../helpers/processes.ts';
import { fileURLToPath } from 'node:url';

// ---------------------------------------------------------------- PostgreSQL

export interface ChaosPostgres {
  url: string;
  /** Crash and start again: `pg_ctl stop -m immediate` (no checkpoint, WAL recovery on start). */
  crashRestart(downMs: number): Promise<void>;
  stop(): Promise<void>;
}

/** The newest installed PostgreSQL's bin directory ($DRIFTLINE_PG_BIN, else /usr/lib/postgresql/<n>/bin). */
function postgresBin(): string {
  const explicit = process.env.DRIFTLINE_PG_BIN?.trim();
  if (explicit) return explicit;
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).filter((v) => existsSync(join(root, v, 'bin', 'initdb'))) : [];
  versions.sort((a, b) => Number(b) - Number(a));
  if (!versions[0]) throw new Error('the chaos suite needs a real PostgreSQL server: install Debian\'s postgresql (initdb under /usr/lib/postgresql/<n>/bin) or set DRIFTLINE_PG_BIN');
  return join(root, versions[0], 'bin');
}

/**
 * A private PostgreSQL cluster in `dir`, on a free loopback port. PostgreSQL refuses to run as root,
 * so under root (CI) the cluster belongs to the `postgres` user and its tools run through runuser.
 */
export async function startPostgres(dir: string): Promise<ChaosPostgres> {
  const bin = postgresBin();
  const asRoot = process.getuid?.() === 0;
  const data = join(dir, 'data');
  const log = join(dir, 'postgres.log');
  await mkdir(dir, { recursive: true });
  if (asRoot) {
    const { uid, gid } = postgresUser();
    chownSync(dir, uid, gid);
    chmodSync(dirname(dir), 0o711); // the postgres user must be able to reach its directory

  }
  const run = (tool: string, args: string[]) => {
    const command = asRoot ? 'runuser' : join(bin, tool);
    const argv = asRoot ? ['-u', 'postgres', '--', join(bin, tool), ...args] : args;
    execFileSync(command, argv, { stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000 });
  };
  run('initdb', ['-D', data, '-U', 'driftline', '--auth=trust', '-E', 'UTF8', '--no-sync']);
  const port = await freePort();
  const options = `-p ${port} -c listen_addresses=127.0.0.1 -k ${dir} -c fsync=on -c max_connections=200`;
  const start = () => run('pg_ctl', ['-D', data, '-l', log, '-w', '-t', '60', '-o', options, 'start']);
  const stop = (mode: 'immediate' | 'fast') => run('pg_ctl', ['-D', data, '-w', '-t', '60', '-m', mode, 'stop']);
  start();
  return {
    url: `postgres://driftline@127.0.0.1:${port}/postgres`,
    async crashRestart(downMs) {
      stop('immediate');
      await sleep(downMs);
      start();
    },
    async stop() {
      try {
        stop('fast');
      } catch {
        // already down
      }
    },
  };
}

function postgresUser(): { uid: number; gid: number } {
  const [uid, gid] = execFileSync('sh', ['-c', 'id -u postgres; id -g postgres']).toString().trim().split('\n').map(Number);
  if (!Number.isInteger(uid) || !Number.isInteger(gid)) throw new Error('running as root, the chaos suite needs the postgres system user (Debian\'s postgresql package creates it)');
  return { uid: uid!, gid: gid! };
}

// ---------------------------------------------------------------- Temporal

export interface ChaosTemporal {
  address: string;
  /** kill -9 the dev server and start it again on the same port and SQLite file. */
  killRestart(downMs: number): Promise<void>;
  stop(): Promise<void>;
}

export async function startTemporal(cliPath: string, dir: string): Promise<ChaosTemporal> {
  const port = await freePort();
  const settings = { ip: '127.0.0.1', port, uiPort: await freePort(), namespace: 'default', dbFile: join(dir, 'temporal.db'), logLevel: 'error' as const };
  const logFile = join(dir, 'temporal.log');
  const address = `127.0.0.1:${port}`;
  let child: ChildProcess;
  const start = async () => {
    child = startDevServer(cliPath, settings, logFile);
    await waitForTemporal(address, 'default', { timeoutMs: 90_000, child, logFile, dbFile: settings.dbFile });
  };
  const kill = async (signal: NodeJS.Signals) => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill(signal);
    await exited;
  };
  await start();
  return {
    address,
    async killRestart(downMs) {
      await kill('SIGKILL');
      await sleep(downMs);
      await start();
    },
    stop: () => kill('SIGTERM'),
  };
}

// ---------------------------------------------------------------- moto

const LAUNCHER = fileURLToPath(new URL('../fixtures/moto/moto_server_sagemaker.py', import.meta.url));

export interface ChaosMoto {
  /** The address workers use: a relay that stays put while moto behind it is replaced. */
  endpoint: string;
  /** The recording of every request moto served (both lifetimes), one JSON object per line. */
  recordingFile: string;
  /**
   * Stops moto (kill -9) and starts a new one whose state is rebuilt from the recording before
   * any client can reach it; see the suite's comment on what this fault models.
   */
  killRestart(downMs: number, afterReplay: (directEndpoint: string) => Promise<void>): Promise<void>;
  stop(): Promise<void>;
}

/**
 * moto keeps its state in memory, so a restarted moto_server knows nothing. AWS does not forget a
 * training job or an S3 object because its endpoint was unreachable for a while, and that outage is
 * the fault the suite means. So moto runs with its request recorder on; a restart starts a fresh
 * moto on a new port, has it replay the recording (rebuilding buckets, objects and jobs), and only
 * then points the relay at it. While moto is down the relay resets every connection, which clients
 * see as the endpoint failing.
 */
export async function startMoto(python: string, dir: string): Promise<ChaosMoto> {
  const recordingFile = join(dir, 'moto-recording.jsonl');
  await writeFile(recordingFile, '');
  let upstream = 0;
  let child: ChildProcess | undefined;
  const open = new Set<Socket>();
  const relay: Server = createServer((socket) => {
    if (!upstream) return socket.destroy();
    const target = connect(upstream, '127.0.0.1');
    open.add(socket).add(target);
    const close = () => {
      socket.destroy();
      target.destroy();
      open.delete(socket);
      open.delete(target);
    };
    socket.on('error', close).on('close', close);
    target.on('error', close).on('close', close);
    socket.pipe(target).pipe(socket);
  });
  const relayPort = await freePort();
  await new Promise<void>((resolve) => relay.listen(relayPort, '127.0.0.1', resolve));

  const launch = async (): Promise<{ port: number; process: ChildProcess }> => {
    const port = await freePort();
    const process_ = spawn(python, [LAUNCHER, '-H', '127.0.0.1', '-p', String(port)], {
      stdio: 'ignore',
      env: { ...process.env, MOTO_ENABLE_RECORDING: 'True', MOTO_RECORDER_FILEPATH: recordingFile },
    });
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (process_.exitCode !== null) throw new Error(`moto_server exited with code ${process_.exitCode}`);
      if (Date.now() > deadline) throw new Error('moto_server did not answer within 60s');
      const ok = await fetch(`http://127.0.0.1:${port}/moto-api/`, { signal: AbortSignal.timeout(1000) }).then((r) => r.ok).catch(() => false);
      if (ok) return { port, process: process_ };
      await sleep(200);
    }
  };
  const kill = async () => {
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child!.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  };

  const first = await launch();
  child = first.process;
  upstream = first.port;
  return {
    endpoint: `http://127.0.0.1:${relayPort}`,
    recordingFile,
    async killRestart(downMs, afterReplay) {
      upstream = 0;
      for (const socket of open) socket.destroy();
      await kill();
      await sleep(downMs);
      const next = await launch();
      child = next.process;
      const direct = `http://127.0.0.1:${next.port}`;
      // Replaying is not recorded again (moto pauses its recorder while it replays).
      const replay = await fetch(`${direct}/moto-api/recorder/replay-recording`, { method: 'POST' });
      if (!replay.ok) throw new Error(`moto could not replay its recording: HTTP ${replay.status}`);
      await afterReplay(direct);
      upstream = next.port;
    },
    async stop() {
      upstream = 0;
      for (const socket of open) socket.destroy();
      await kill();
      await new Promise((resolve) => relay.close(resolve));
    },
  };
}

// ---------------------------------------------------------------- workers

export interface WorkerPool {
  /** Workers polling now. */
  alive(): CliProcess[];
  /** How long a worker has been polling, in ms. */
  pollingFor(worker: CliProcess): number;
  /**
   * Starts a worker and waits until it polls. Like a process supervisor, it starts it again when it
   * exits before that (a worker refuses to start while PostgreSQL or Temporal is down).
   */
  start(): Promise<CliProcess>;
  /** kill -9 one worker's process group (the worker; a local trainer runs in its own group and survives). */
  kill(worker: CliProcess): Promise<void>;
  stopAll(): Promise<void>;
  started(): number;
  /** Start attempts that exited before polling, with their last line. */
  failedStarts(): string[];
  /** Workers that died after polling without being killed by the suite. */
  crashes(): string[];
}

export function workerPool(env: NodeJS.ProcessEnv): WorkerPool {
  const all: CliProcess[] = [];
  const alive = new Set<CliProcess>();
  const since = new Map<CliProcess, number>();
  const killed = new Set<CliProcess>();
  const failedStarts: string[] = [];
  const crashes: string[] = [];
  let stopping = false;
  const pool: WorkerPool = {
    alive: () => [...alive],
    pollingFor: (worker) => Date.now() - (since.get(worker) ?? Date.now()),
    started: () => all.length,
    failedStarts: () => failedStarts,
    crashes: () => crashes,
    async start() {
      for (let attempt = 1; ; attempt++) {
        const worker = startCli(['worker'], env);
        all.push(worker);
        try {
          await worker.waitFor(/worker: polling/, 180_000);
        } catch (error) {
          const lines = worker.output().trim().split('\n');
          failedStarts.push(lines[lines.length - 1] ?? String(error));
          if (attempt >= 30 || stopping) throw error;
          await sleep(1_000);
          continue;
        }
        alive.add(worker);
        since.set(worker, Date.now());
        void worker.exited.then(({ code, signal }) => {
          alive.delete(worker);
          if (killed.has(worker) || stopping) return;
          const lines = worker.output().trim().split('\n');
          crashes.push(`pid ${worker.child.pid} exited (${signal ?? code}): ${lines.slice(-3).join(' | ')}`);
          void pool.start().catch(() => {}); // a supervisor would restart it
        });
        return worker;
      }
    },
    async kill(worker) {
      killed.add(worker);
      worker.killGroup('SIGKILL');
      await worker.exited;
      alive.delete(worker);
    },
    async stopAll() {
      stopping = true;
      for (const worker of all) {
        killed.add(worker);
        worker.killGroup('SIGKILL');
        await worker.exited;
      }
    },
  };
  return pool;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
