/**
 * Every `driftline` command line in the CI templates under infra/ci/ is accepted by the CLI: same
 * commands, same flags, valid values. Commands are parsed by the real program with its actions
 * replaced, so nothing runs.
 */
import type { Command } from 'commander';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from './helpers/pipelines.ts';

// scripts/cli/main.ts runs the CLI when imported unless told not to.
process.env.DRIFTLINE_CLI_NO_MAIN = '1';

async function templates(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries.filter((e) => e.isFile() && /\.ya?ml$/.test(e.name)).map((e) => join(e.parentPath, e.name));
}

/** `npx driftline …` lines, with CI variables replaced by plausible values. */
function commandLines(yaml: string): string[][] {
  return yaml
    .split('\n')
    .map((line) => /(?:run:|-)\s+npx driftline (.+)$/.exec(line.trim())?.[1])
    .filter((line): line is string => Boolean(line))
    .map((line) => line.replace(/\$\{\{[^}]+\}\}/g, '123').replace(/\$[A-Z_]+/g, '456').split(/\s+/));
}

function inert(command: Command): void {
  command.action(() => {});
  for (const sub of command.commands) inert(sub);
}

describe('CI templates', () => {
  it('use only command lines the CLI accepts', async () => {
    const { buildProgram } = await import('../scripts/cli/main.ts');
    const files = await templates(join(REPO_ROOT, 'infra/ci'));
    expect(files.length).toBeGreaterThanOrEqual(3);
    let checked = 0;
    for (const file of files) {
      for (const args of commandLines(await readFile(file, 'utf8'))) {
        const program = buildProgram();
        inert(program);
        await expect(program.parseAsync(['node', 'driftline', ...args]), `${file}: driftline ${args.join(' ')}`).resolves.toBeDefined();
        checked++;
      }
    }
    expect(checked).toBeGreaterThanOrEqual(6);
  });

  it('would catch a template that uses a flag the CLI does not have', async () => {
    const { buildProgram } = await import('../scripts/cli/main.ts');
    const program = buildProgram();
    inert(program);
    await expect(program.parseAsync(['node', 'driftline', 'run', '--config', 'x.json', '--wiat'])).rejects.toThrow(/unknown option '--wiat'/);
  });
});
