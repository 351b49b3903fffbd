/**
 * The worker's log lines. `json` writes one JSON object per line to stdout (what log collectors
 * read): the SDK's own messages, native Core messages (forwarded), workflow and activity
 * `log.*` calls, and Driftline's, all through the Runtime logger. `text` is the SDK's human format.
 */
import { DefaultLogger, type LogEntry, type Logger, type LogLevel } from '@temporalio/worker';

export type LogFormat = 'json' | 'text';

export const LOG_FORMATS: readonly LogFormat[] = ['json', 'text'];

/** `DRIFTLINE_LOG_FORMAT`, else json when stdout is not a terminal (a container, a pipe). */
export function resolveLogFormat(env: NodeJS.ProcessEnv = process.env, stdoutIsTTY = Boolean(process.stdout.isTTY)): LogFormat {
  const chosen = env.DRIFTLINE_LOG_FORMAT?.trim().toLowerCase();
  if (chosen) {
    if (!(LOG_FORMATS as readonly string[]).includes(chosen)) throw new Error(`DRIFTLINE_LOG_FORMAT must be json or text, got "${chosen}".`);
    return chosen as LogFormat;
  }
  return stdoutIsTTY ? 'text' : 'json';
}

/** `DRIFTLINE_LOG_LEVEL`, else INFO for json (machines filter) and WARN for a person at a terminal. */
export function resolveLogLevel(format: LogFormat, env: NodeJS.ProcessEnv = process.env): LogLevel {
  const chosen = env.DRIFTLINE_LOG_LEVEL?.trim().toUpperCase();
  const levels: LogLevel[] = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR'];
  if (chosen) {
    if (!(levels as string[]).includes(chosen)) throw new Error(`DRIFTLINE_LOG_LEVEL must be one of ${levels.join(', ')}, got "${chosen}".`);
    return chosen as LogLevel;
  }
  return format === 'json' ? 'INFO' : 'WARN';
}

export function createLogger(format: LogFormat, level: LogLevel, write: (line: string) => void = (line) => process.stdout.write(line)): Logger {
  return format === 'json' ? new DefaultLogger(level, (entry) => write(`${jsonLogLine(entry)}\n`)) : new DefaultLogger(level);
}

/** One log entry as one line of JSON: time, level, message, then the SDK's metadata as fields. */
export function jsonLogLine(entry: LogEntry): string {
  const time = new Date(Number(entry.timestampNanos / 1_000_000n)).toISOString();
  const record = { time, level: entry.level.toLowerCase(), message: entry.message, ...entry.meta };
  return JSON.stringify(record, (_key, value: unknown) => {
    if (typeof value === 'bigint') return value.toString();
    if (value instanceof Error) return { name: value.name, message: value.message, stack: value.stack };
    return value;
  });
}
