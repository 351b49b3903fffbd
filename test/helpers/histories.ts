/**
 * Histories of real runs, kept under test/fixtures/histories/<set>/ and replayed by
 * test/replay.test.ts so that a change which breaks running workflows fails in CI.
 * Set DRIFTLINE_RECORD_HISTORIES=1 to (re)write them from a test run; commit the result.
 */
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import type { temporal } from '@temporalio/proto';
import { mkdir, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

export const HISTORIES_DIR = fileURLToPath(new URL('../fixtures/histories/', import.meta.url));

export async function saveHistoryIfRecording(
  set: 'fixtures' | 'workflows',
  name: string,
  history: temporal.api.history.v1.IHistory,
): Promise<void> {
  if (process.env.DRIFTLINE_RECORD_HISTORIES !== '1') return;
  const dir = join(HISTORIES_DIR, set);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, `${name}.json`), `${historyToJSON(history)}\n`);
}
