import { Context } from '@temporalio/activity';

/** Heartbeats when called inside an activity; a no-op elsewhere (adapters also run from the CLI and tests). */
export function heartbeatIfActivity(detail: string): void {
  try {
    Context.current().heartbeat(detail);
  } catch {
    // not in an activity
  }
}
