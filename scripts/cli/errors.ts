import { TemporalCliProvisionError } from '../lib/temporal-cli.ts';
import { PortInUseError } from '../../activities/net.ts';
import { EmbeddedDatabaseError } from '../../activities/db/embedded-server.ts';
import { MigrationError } from '../../activities/db/migrator.ts';
import { TemporalStartError } from '../lib/temporal-server.ts';
import { TemporalUnreachable } from '../lib/temporal-client.ts';
import { CodecError } from '../../core/payload-codec.ts';

/** Exit codes every driftline command shares (documented in README.md). */
export const EXIT = {
  ok: 0,
  failure: 1,
  usage: 2,
  environment: 3,
  /** A check ran and found a problem (e.g. `audit verify` on a broken chain). */
  checkFailed: 4,
  /** `driftline run --wait`: the pipeline's outcome, for CI. */
  rejectedByEvaluation: 10,
  rejectedByCompliance: 11,
  rolledBack: 12,
  pipelineFailed: 13,
} as const;

/** A mistake the user can fix: printed as one line, never with a stack trace. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** Maps an error to the line and exit code a person should see. Unknown errors keep their stack. */
export function presentError(error: unknown): { message: string; code: number; showStack: boolean } {
  if (error instanceof UsageError || error instanceof RangeError) {
    return { message: error.message, code: EXIT.usage, showStack: false };
  }
  if (
    error instanceof PortInUseError ||
    error instanceof TemporalCliProvisionError ||
    error instanceof EmbeddedDatabaseError ||
    error instanceof MigrationError ||
    error instanceof TemporalStartError ||
    error instanceof TemporalUnreachable ||
    error instanceof CodecError
  ) {
    return { message: error.message, code: EXIT.environment, showStack: false };
  }
  // A workflow the server does not know, a schedule that exists already: the user's to fix.
  const name = (error as { name?: string } | null)?.name;
  if (name === 'WorkflowNotFoundError' || name === 'ScheduleNotFoundError' || name === 'ScheduleAlreadyRunning' || name === 'WorkflowExecutionAlreadyStartedError') {
    return { message: (error as Error).message, code: EXIT.usage, showStack: false };
  }
  if (name === 'ZodError') {
    const issue = (error as { issues?: Array<{ path: PropertyKey[]; message: string }> }).issues?.[0];
    return { message: `Invalid input: ${issue ? `${issue.path.join('.')}: ${issue.message}` : (error as Error).message}`, code: EXIT.usage, showStack: false };
  }
  const message = error instanceof Error ? error.message : String(error);
  return { message, code: EXIT.failure, showStack: true };
}
