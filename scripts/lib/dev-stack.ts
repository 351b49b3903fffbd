/**
 * `driftline dev`: the whole development stack on loopback — the Temporal dev server with its UI,
 * the embedded database (or DATABASE_URL), and a worker on both task queues. Idempotent: whatever
 * is already up (from an earlier `driftline dev`, or started by hand) is reused, not duplicated.
 */
import { NativeConnection } from '@temporalio/worker';
import { Connection } from '@temporalio/client';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isPortListening, PortInUseError } from '../../activities/net.ts';
import { LOOPBACK, openDatabase, resolveDatabaseTarget, type DriftlineDb, type ReadyDatabase } from '../../activities/db/database.ts';
import { createDriftlineWorkers, type DriftlineWorkers } from '../../workers/worker.ts';
import { codecFromEnvironment } from '../../core/payload-codec.ts';
import { serveCodec, type RunningCodecServer } from './codec-server.ts';
import { provisionTemporalCli } from './temporal-cli.ts';
import { ensureSearchAttributes, probeTemporal, startDevServer, waitForTemporal } from './temporal-server.ts';

export const DEFAULT_TEMPORAL_PORT = 7233;
export const DEFAULT_UI_PORT = 8233;
export const DEV_NAMESPACE = 'default';
export const DEFAULT_CODEC_PORT = 8234;
const CODEC_TOKEN_FILE = 'codec-token';

export interface DevStackOptions {
  home: string;
  temporalPort: number;
  uiPort: number;
  dbPort?: number;
  /** Port of the codec server started when payloads are encrypted (DRIFTLINE_CODEC_KEYS). */
  codecPort?: number;
  worker: boolean;
  env?: NodeJS.ProcessEnv;
  log: (line: string) => void;
}

/** What `.driftline/stack.json` records about a running stack, for the next `driftline dev`. */
interface StackRecord {
  pid: number;
  startedAt: string;
  temporal: { address: string; uiUrl: string; pid: number | null };
  database: { url: string; kind: 'postgres' | 'embedded' };
  worker: { taskQueues: string[] } | null;
  codec: { endpoint: string } | null;
}

export interface RunningStack {
  readonly temporalAddress: string;
  readonly uiUrl: string;
  readonly databaseUrl: string;
  readonly db: DriftlineDb;
  /** Resolves when the worker stops on its own (it failed); the stack is then stopped. */
  readonly stopped: Promise<void>;
  stop(): Promise<void>;
}

export type DevStackResult = { kind: 'started'; stack: RunningStack } | { kind: 'already-running'; record: StackRecord };

export async function startDevStack(options: DevStackOptions): Promise<DevStackResult> {
  const { home, log } = options;
  const env = options.env ?? process.env;
  await mkdir(join(home, 'logs'), { recursive: true });
  const recordPath = join(home, 'stack.json');

  const previous = await readStackRecord(recordPath);
  if (previous && previous.pid !== process.pid && isAlive(previous.pid)) {
    const [host, port] = splitAddress(previous.temporal.address);
    if ((await probeTemporal(host, port)) === 'temporal') return { kind: 'already-running', record: previous };
  }

  const cleanups: Array<() => Promise<void>> = [];
  const stopAll = async () => {
    for (const cleanup of cleanups.reverse()) {
      await cleanup().catch((error: unknown) => log(`  while stopping: ${String(error)}`));
    }
    cleanups.length = 0;
  };

  try {
    const address = `${LOOPBACK}:${options.temporalPort}`;
    const uiUrl = `http://${LOOPBACK}:${options.uiPort}`;

    // 0. Encryption: the codec server comes first, so the UI can be started pointing at it.
    const codec = codecFromEnvironment(env);
    const dataConverter = codec ? { payloadCodecs: [codec] } : undefined;
    let codecServer: RunningCodecServer | undefined;
    if (codec) {
      codecServer = await serveCodec({
        codec,
        token: await codecToken(home, env),
        host: LOOPBACK,
        port: options.codecPort ?? DEFAULT_CODEC_PORT,
        allowedOrigins: [uiUrl, `http://localhost:${options.uiPort}`],
      }).catch((error: unknown) => {
        if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') {
          throw new PortInUseError(options.codecPort ?? DEFAULT_CODEC_PORT, 'the payload codec server', '--codec-port or DRIFTLINE_CODEC_PORT');
        }
        throw error;
      });
      const server = codecServer;
      cleanups.push(() => server.close());
      log(`Codec       payloads encrypted with AES-256-GCM; codec server on ${LOOPBACK}:${server.port} (token in ${join(home, CODEC_TOKEN_FILE)})`);
    }

    // 1. Temporal
    const logFile = join(home, 'logs', 'temporal.log');
    let temporalPid: number | null = null;
    const probe = await probeTemporal(LOOPBACK, options.temporalPort);
    if (probe === 'other') {
      throw new PortInUseError(options.temporalPort, 'a Temporal server', '--temporal-port or DRIFTLINE_TEMPORAL_PORT');
    }
    if (probe === 'temporal') {
      const orphan = previous?.temporal.pid;
      if (orphan && previous.temporal.address === address && isAlive(orphan)) {
        // Our own server from a stack that was killed: adopt it so Ctrl-C stops it this time.
        temporalPid = orphan;
        cleanups.push(() => stopPid(orphan));
        log(`Temporal    reusing the dev server left running at ${address} (pid ${orphan})`);
      } else {
        log(`Temporal    reusing the server already running at ${address}`);
      }
      if (codecServer) {
        log(`Temporal UI was started before encryption was on; to decode in it, set its codec endpoint (Data Encoder) to ${codecServer.uiEndpoint}`);
      }
    } else {
      if (await isPortListening(LOOPBACK, options.uiPort)) {
        throw new PortInUseError(options.uiPort, 'the Temporal UI', '--ui-port or DRIFTLINE_UI_PORT');
      }
      const cli = await provisionTemporalCli({ home, env, log });
      log(`Temporal    starting the dev server v${cli.version} (${cli.source}: ${cli.path})`);
      const child = startDevServer(
        cli.path,
        {
          ip: LOOPBACK,
          port: options.temporalPort,
          uiPort: options.uiPort,
          namespace: DEV_NAMESPACE,
          dbFile: join(home, 'temporal.db'),
          ...(codecServer ? { uiCodecEndpoint: codecServer.uiEndpoint } : {}),
        },
        logFile,
      );
      temporalPid = child.pid ?? null;
      cleanups.push(() => stopChild(child));
      await waitForTemporal(address, DEV_NAMESPACE, { timeoutMs: 90_000, child, logFile, dbFile: join(home, 'temporal.db') });
    }
    const client = await Connection.connect({ address });
    try {
      const added = await ensureSearchAttributes(client, DEV_NAMESPACE);
      if (added.length > 0) log(`Temporal    registered search attributes ${added.join(', ')}`);
    } finally {
      await client.close();
    }

    // 2. Database
    const target = resolveDatabaseTarget({ home, env, ...(options.dbPort ? { embeddedPort: options.dbPort } : {}) });
    const database: ReadyDatabase = await openDatabase(target);
    cleanups.push(() => database.close());
    const dbDescription =
      target.kind === 'postgres'
        ? `PostgreSQL from DATABASE_URL`
        : database.embedded
          ? `embedded PGlite, data in ${target.dataDir}`
          : `reusing the embedded database already serving on port ${target.port}`;
    log(`Database    ${redact(database.url)} (${dbDescription}; migrations: ${database.migrations.current.length} applied)`);

    // 3. Worker
    let workers: DriftlineWorkers | undefined;
    let workerDone: Promise<void> = new Promise(() => {});
    if (options.worker) {
      const connection = await NativeConnection.connect({ address });
      cleanups.push(() => connection.close());
      workers = await createDriftlineWorkers({ connection, namespace: DEV_NAMESPACE, db: database.db, home, dataConverter });
      const running = workers.run();
      const w = workers;
      cleanups.push(async () => {
        w.shutdown();
        await running.catch(() => {});
      });
      workerDone = running.then(
        () => {},
        (error: unknown) => log(`Worker      stopped: ${error instanceof Error ? error.message : String(error)}`),
      );
      log(`Worker      polling task queues ${workers.taskQueues.join(', ')}`);
    }

    const record: StackRecord = {
      pid: process.pid,
      startedAt: new Date().toISOString(),
      temporal: { address, uiUrl, pid: temporalPid },
      database: { url: redact(database.url), kind: target.kind },
      worker: workers ? { taskQueues: [...workers.taskQueues] } : null,
      codec: codecServer ? { endpoint: `http://${LOOPBACK}:${codecServer.port}` } : null,
    };
    await writeFile(recordPath, `${JSON.stringify(record, null, 2)}\n`);
    cleanups.unshift(() => rm(recordPath, { force: true }));

    if (await uiAnswers(uiUrl)) log(`Temporal UI ${uiUrl}`);
    else log(`Temporal UI not answering at ${uiUrl} (the server in use may run without its UI)`);

    let stopping: Promise<void> | undefined;
    const stop = () => (stopping ??= stopAll());
    return {
      kind: 'started',
      stack: {
        temporalAddress: address,
        uiUrl,
        databaseUrl: database.url,
        db: database.db,
        stopped: workerDone.then(stop),
        stop,
      },
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

/**
 * The codec server's token: DRIFTLINE_CODEC_TOKEN, else one generated on first use and kept in the
 * state directory (owner-only), so a restarted stack and a UI that outlived it keep agreeing.
 */
async function codecToken(home: string, env: NodeJS.ProcessEnv): Promise<string> {
  const given = env.DRIFTLINE_CODEC_TOKEN?.trim();
  if (given) return given;
  const path = join(home, CODEC_TOKEN_FILE);
  const kept = await readFile(path, 'utf8').then((text) => text.trim(), () => '');
  if (kept.length >= 16) return kept;
  const token = randomBytes(24).toString('base64url');
  await writeFile(path, `${token}\n`, { mode: 0o600 });
  return token;
}

async function uiAnswers(url: string): Promise<boolean> {
  for (let attempt = 0; attempt < 20; attempt++) {
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2000) });
      if (response.ok) return true;
    } catch {
      // not yet
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return false;
}

async function readStackRecord(path: string): Promise<StackRecord | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as StackRecord;
  } catch {
    return undefined; // absent, or half-written by a killed process: start afresh
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

function splitAddress(address: string): [string, number] {
  const index = address.lastIndexOf(':');
  return [address.slice(0, index), Number(address.slice(index + 1))];
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

async function stopPid(pid: number): Promise<void> {
  if (!isAlive(pid)) return;
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + 15_000;
  while (isAlive(pid) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
  if (isAlive(pid)) process.kill(pid, 'SIGKILL');
}

/** Hides a password in a connection string before it is printed or written down. */
export function redact(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return url;
  }
}
