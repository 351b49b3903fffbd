/**
 * Runs and recognises the Temporal dev server: the flags Driftline always passes, readiness and
 * identity probes, and search-attribute registration for a server someone else started.
 */
import { Connection } from '@temporalio/client';
import proto from '@temporalio/proto';
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync, readFileSync } from 'node:fs';
import { SEARCH_ATTRIBUTES, SEARCH_ATTRIBUTE_FLAGS } from '../../core/names.ts';
import { isPortListening } from '../../activities/net.ts';

// @temporalio/proto is CommonJS: its namespaces come through the default export under ESM.
const { temporal } = proto;
type IndexedValueType = proto.temporal.api.enums.v1.IndexedValueType;

export interface DevServerSettings {
  ip: string;
  port: number;
  uiPort: number;
  namespace: string;
  /** SQLite file that keeps every workflow across restarts. */
  dbFile: string;
  logLevel?: 'debug' | 'info' | 'warn' | 'error';
  /** The payload codec server the UI should decode through (encryption on). */
  uiCodecEndpoint?: string;
}

/**
 * Dynamic config the dev server always gets. The dev server has one history shard, and each shard's
 * transfer, timer and visibility queue readers are capped at 20 reads per second by default (sized
 * for clusters of hundreds of shards). With one shard that cap is the whole engine's: once a burst
 * of 20 reads is spent, every activity dispatch and every workflow task waits ~40 ms for the next
 * read. Measured with a workflow of no-op activities run back to back: decision 53 ms, dispatch
 * 42 ms per step with the default; 11 ms and 3 ms with this (README, "Benchmarks").
 */
export const DEV_SERVER_DYNAMIC_CONFIG: readonly string[] = [
  'history.transferProcessorMaxPollRPS=1000',
  'history.timerProcessorMaxPollRPS=1000',
  'history.visibilityProcessorMaxPollRPS=1000',
];

/** DEV_SERVER_DYNAMIC_CONFIG as `temporal server start-dev` flags. */
export const DEV_SERVER_DYNAMIC_CONFIG_FLAGS: readonly string[] = DEV_SERVER_DYNAMIC_CONFIG.flatMap((value) => ['--dynamic-config-value', value]);

export function devServerArgs(settings: DevServerSettings): string[] {
  return [
    'server',
    'start-dev',
    '--ip',
    settings.ip,
    '--port',
    String(settings.port),
    '--ui-port',
    String(settings.uiPort),
    '--namespace',
    settings.namespace,
    '--db-filename',
    settings.dbFile,
    // WAL keeps readers and the writer apart and survives a kill -9 without a torn database.
    '--sqlite-pragma',
    'journal_mode=WAL',
    '--log-level',
    settings.logLevel ?? 'warn',
    ...SEARCH_ATTRIBUTE_FLAGS.flatMap((flag) => ['--search-attribute', flag]),
    ...DEV_SERVER_DYNAMIC_CONFIG_FLAGS,
    ...(settings.uiCodecEndpoint ? ['--ui-codec-endpoint', settings.uiCodecEndpoint] : []),
  ];
}

export function startDevServer(cliPath: string, settings: DevServerSettings, logFile: string): ChildProcess {
  const fd = openSync(logFile, 'a');
  try {
    return spawn(cliPath, devServerArgs(settings), { stdio: ['ignore', fd, fd] });
  } finally {
    closeSync(fd);
  }
}

export type TemporalProbe = 'temporal' | 'other' | 'closed';

/** Whether host:port is a Temporal frontend, something else, or nothing at all. */
export async function probeTemporal(host: string, port: number): Promise<TemporalProbe> {
  if (!(await isPortListening(host, port))) return 'closed';
  try {
    const connection = await Connection.connect({ address: `${host}:${port}`, connectTimeout: '3s' });
    try {
      await connection.workflowService.getSystemInfo({});
      return 'temporal';
    } finally {
      await connection.close();
    }
  } catch {
    return 'other';
  }
}

/** Waits until the frontend answers and the namespace exists, or the child exits, or time runs out. */
export async function waitForTemporal(
  address: string,
  namespace: string,
  options: { timeoutMs: number; child?: ChildProcess; logFile?: string; dbFile?: string },
): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  let exited: number | null | undefined;
  options.child?.once('exit', (code) => (exited = code));
  let lastError: unknown;
  while (Date.now() < deadline) {
    if (exited !== undefined) {
      const reason = options.logFile ? lastErrorLine(options.logFile) : undefined;
      const advice = options.dbFile
        ? ` If ${options.dbFile} is damaged, move it aside (its workflows are lost) and start again.`
        : '';
      throw new TemporalStartError(
        `The Temporal dev server exited with code ${exited} while starting` +
          `${reason ? ` (${reason})` : ''}; see ${options.logFile ?? 'its log'}.${advice}`,
      );
    }
    try {
      const connection = await Connection.connect({ address, connectTimeout: '2s' });
      try {
        await connection.workflowService.describeNamespace({ namespace });
        return;
      } finally {
        await connection.close();
      }
    } catch (error) {
      lastError = error;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
  throw new Error(
    `The Temporal dev server at ${address} did not become ready in ${options.timeoutMs / 1000}s` +
      ` (${lastError instanceof Error ? lastError.message : String(lastError)}); see ${options.logFile ?? 'its log'}.`,
  );
}

/** The dev server could not start for a reason its log explains (bad state file, bad flag). */
export class TemporalStartError extends Error {
  override readonly name = 'TemporalStartError';
}

function lastErrorLine(logFile: string): string | undefined {
  try {
    const lines = readFileSync(logFile, 'utf8').trim().split('\n');
    const line = lines.reverse().find((l) => l.includes('level=ERROR')) ?? lines[0];
    return /msg="([^"]*)"/.exec(line ?? '')?.[1] ?? line;
  } catch {
    return undefined;
  }
}

const INDEXED_VALUE_TYPES: Record<string, IndexedValueType> = {
  KEYWORD: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
  INT: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_INT,
  TEXT: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_TEXT,
  DOUBLE: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_DOUBLE,
  BOOL: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_BOOL,
  DATETIME: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_DATETIME,
  KEYWORD_LIST: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD_LIST,
};

/**
 * Registers any of Driftline's search attributes the namespace lacks (a server started by someone
 * else, or by an older Driftline). Returns the names it added.
 */
export async function ensureSearchAttributes(connection: Connection, namespace: string): Promise<string[]> {
  const existing = await connection.operatorService.listSearchAttributes({ namespace });
  const known = new Set(Object.keys(existing.customAttributes ?? {}));
  const missing = Object.values(SEARCH_ATTRIBUTES).filter((key) => !known.has(key.name));
  if (missing.length === 0) return [];
  const searchAttributes: Record<string, IndexedValueType> = {};
  for (const key of missing) {
    const type = INDEXED_VALUE_TYPES[key.type];
    if (type === undefined) throw new Error(`No indexed value type for ${key.type}`);
    searchAttributes[key.name] = type;
  }
  await connection.operatorService.addSearchAttributes({ namespace, searchAttributes });
  return missing.map((key) => key.name);
}
