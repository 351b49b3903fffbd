import { resolve } from 'node:path';

/** Driftline's state directory: `$DRIFTLINE_HOME`, or `.driftline/` in the current directory. */
export function driftlineHome(env: NodeJS.ProcessEnv = process.env): string {
  return resolve(env.DRIFTLINE_HOME?.trim() || '.driftline');
}
