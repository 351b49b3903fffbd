/**
 * The driftline CLI. Each command is a small module; this file only declares them and turns
 * errors into one readable line and an exit code.
 */
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { EXIT, presentError } from './errors.ts';
import { devCommand } from './dev.ts';
import { workerCommand } from './worker.ts';
import { temporalCommand } from './temporal.ts';
import { dbCommand } from './db.ts';
import { modelsCommand } from './models.ts';
import { auditCommand } from './audit.ts';
import { runCommand } from './run.ts';
import { listCommand, statusCommand } from './pipelines.ts';
import { policyCommand } from './policy.ts';
import { scheduleCommand } from './schedule.ts';
import { driftCommand } from './drift.ts';
import { approveCommand, codecServerCommand, gateCommand, keysCommand, rejectCommand } from './compliance.ts';
import { canaryCommand } from './canary.ts';
import { serveCommand } from './serve.ts';
import { demoCommand } from './demo.ts';

export function buildProgram(): Command {
  const program = new Command('driftline')
    .description('Durable MLOps pipelines on Temporal: training, compliance gates, canary deployment, drift monitoring.');
  program.addCommand(devCommand());
  program.addCommand(workerCommand());
  program.addCommand(temporalCommand());
  program.addCommand(dbCommand());
  program.addCommand(modelsCommand());
  program.addCommand(auditCommand());
  program.addCommand(runCommand());
  program.addCommand(statusCommand());
  program.addCommand(listCommand());
  program.addCommand(policyCommand());
  program.addCommand(scheduleCommand());
  program.addCommand(driftCommand());
  program.addCommand(keysCommand());
  program.addCommand(approveCommand());
  program.addCommand(rejectCommand());
  program.addCommand(gateCommand());
  program.addCommand(codecServerCommand());
  program.addCommand(canaryCommand());
  program.addCommand(serveCommand());
  program.addCommand(demoCommand());
  applyToAll(program, (command) => command.exitOverride().showHelpAfterError('(add --help for usage)'));
  return program;
}

/** addCommand() does not pass settings down, so they are applied to every command explicitly. */
function applyToAll(command: Command, apply: (command: Command) => void): void {
  apply(command);
  for (const sub of command.commands) applyToAll(sub, apply);
}

/** Commander option parser for TCP ports. */
export function portOption(flags: string, description: string, envVar: string, fallback: number): Option {
  return new Option(flags, description)
    .env(envVar)
    .default(fallback)
    .argParser((value: string) => {
      const port = Number(value);
      if (!Number.isInteger(port) || port < 1 || port > 65535) {
        throw new InvalidArgumentError(`expected a TCP port between 1 and 65535, got "${value}".`);
      }
      return port;
    });
}

async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv);
    return process.exitCode === undefined ? EXIT.ok : Number(process.exitCode);
  } catch (error) {
    if (error instanceof CommanderError) {
      // commander already printed the message (or help/version, which exit 0)
      return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    const { message, code, showStack } = presentError(error);
    process.stderr.write(`driftline: ${message}\n`);
    if (showStack && error instanceof Error && error.stack) process.stderr.write(`${error.stack}\n`);
    return code;
  }
}

// `driftline … | head` closes stdout early: that is the reader's choice, not an error.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw error;
});

// Imported by tests for its program only: running main there would parse vitest's argv.
if (process.env.DRIFTLINE_CLI_NO_MAIN !== '1') process.exitCode = await main(process.argv);
