import { mkdtemp, writeFile, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { cliVersion, provisionTemporalCli, TEMPORAL_CLI_VERSION } from '../scripts/lib/temporal-cli.ts';
import { freePort } from './helpers/ports.ts';

describe('Temporal CLI provisioning', () => {
  it('finds the pinned version and reports it', async () => {
    expect(await cliVersion(inject('temporalCliPath'))).toBe(TEMPORAL_CLI_VERSION);
  });

  it('prefers TEMPORAL_CLI', async () => {
    const home = await mkdtemp(join(tmpdir(), 'driftline-cli-'));
    const found = await provisionTemporalCli({ home, env: { TEMPORAL_CLI: inject('temporalCliPath'), PATH: '' }, log: () => {} });
    expect(found).toEqual({ path: inject('temporalCliPath'), version: TEMPORAL_CLI_VERSION, source: 'TEMPORAL_CLI' });
  });

  it('skips a temporal on PATH of another version and reuses the cache', async () => {
    const home = await mkdtemp(join(tmpdir(), 'driftline-cli-'));
    const fakeDir = await mkdtemp(join(tmpdir(), 'driftline-path-'));
    // An old CLI on PATH: a real executable that answers like temporal 1.1.0 would.
    await writeFile(join(fakeDir, 'temporal'), '#!/bin/sh\necho "temporal version 1.1.0 (Server 1.25.0, UI 2.30.0)"\n');
    await chmod(join(fakeDir, 'temporal'), 0o755);
    const cachedDir = join(home, 'bin');
    const { mkdir, copyFile } = await import('node:fs/promises');
    await mkdir(cachedDir, { recursive: true });
    await copyFile(inject('temporalCliPath'), join(cachedDir, 'temporal'));
    const lines: string[] = [];
    const found = await provisionTemporalCli({ home, env: { PATH: fakeDir }, log: (line) => lines.push(line) });
    expect(found.source).toBe('cache');
    expect(lines.join('\n')).toContain('is version 1.1.0, not 1.5.1');
  });

  it('fails with one sentence naming every fix when nothing works', async () => {
    const home = await mkdtemp(join(tmpdir(), 'driftline-cli-'));
    const closed = await freePort(); // nothing listens: the download fails at once
    const error = await provisionTemporalCli({
      home,
      env: { PATH: '' },
      log: () => {},
      releaseBaseUrl: `http://127.0.0.1:${closed}/releases`,
    }).catch((e: unknown) => e as Error);
    expect(error).toBeInstanceOf(Error);
    const message = (error as Error).message;
    expect(message.split('\n')).toHaveLength(1);
    for (const fix of ['TEMPORAL_CLI', 'PATH', 'internet', 'install Go', 'go install github.com/temporalio/cli/cmd/temporal@v1.5.1']) {
      expect(message).toContain(fix);
    }
    expect(message).toContain('Go is not installed');
  });
});
