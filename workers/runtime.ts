import { DefaultLogger, Runtime, type LogLevel } from '@temporalio/worker';

let installed = false;

/**
 * Installs the SDK runtime once per process, logging at `DRIFTLINE_LOG_LEVEL` (default WARN):
 * worker state changes at INFO drown out what a person needs to see in a terminal.
 */
export function installRuntime(level: LogLevel = (process.env.DRIFTLINE_LOG_LEVEL?.toUpperCase() as LogLevel) || 'WARN'): void {
  if (installed) return;
  Runtime.install({ logger: new DefaultLogger(level) });
  installed = true;
}
