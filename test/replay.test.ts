/**
 * Replays every recorded history against today's workflow code. A change that would make a
 * running workflow non-deterministic fails here, before it ships; guard such changes with patched().
 */
import { Worker } from '@temporalio/worker';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { HISTORIES_DIR } from './helpers/histories.ts';
import { WORKFLOWS_PATH } from '../workers/worker.ts';

const SETS = {
  workflows: WORKFLOWS_PATH,
  // Started before workflows validated their input in a local activity (workflows/input.ts).
  'workflows-validated-in-sandbox': WORKFLOWS_PATH,
  fixtures: fileURLToPath(new URL('./fixtures/workflows/index.ts', import.meta.url)),
} as const;

async function historiesIn(set: string): Promise<string[]> {
  try {
    return (await readdir(join(HISTORIES_DIR, set))).filter((file) => file.endsWith('.json')).sort();
  } catch {
    return [];
  }
}

describe('replay of recorded histories', async () => {
  const all = await Promise.all(Object.keys(SETS).map(async (set) => ({ set, files: await historiesIn(set) })));
  it('has recorded histories to replay', () => {
    expect(all.reduce((n, { files }) => n + files.length, 0)).toBeGreaterThan(0);
  });
  for (const { set, files } of all) {
    for (const file of files) {
      it(`${set}/${file} replays deterministically`, async () => {
        const history = JSON.parse(await readFile(join(HISTORIES_DIR, set, file), 'utf8'));
        await Worker.runReplayHistory(
          { workflowsPath: SETS[set as keyof typeof SETS], replayName: `${set}/${file}` },
          history,
          file.replace(/\.json$/, ''),
        );
      });
    }
  }
});
