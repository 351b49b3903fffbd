/**
 * `driftline dev` as a user runs it: a real Temporal dev server with its UI and search attributes,
 * the database, a worker; idempotent restarts, survival of kill -9, clean Ctrl-C, and a clear
 * message when a port belongs to someone else.
 */
import { Connection, Client } from '@temporalio/client';
import { createServer, type Server } from 'node:net';
import { mkdtemp, readFile, access, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { SEARCH_ATTRIBUTES, TASK_QUEUES } from '../core/names.ts';
import { isPortListening } from '../activities/net.ts';
import { freePort } from './helpers/ports.ts';
import { runCli, startCli, type CliProcess } from './helpers/processes.ts';

let home: string;
let ports: { temporal: number; ui: number; db: number };
let env: NodeJS.ProcessEnv;
const running: CliProcess[] = [];

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), 'driftline-dev-'));
  ports = { temporal: await freePort(), ui: await freePort(), db: await freePort() };
  env = {
    ...process.env,
    DRIFTLINE_HOME: home,
    TEMPORAL_CLI: inject('temporalCliPath'),
    DRIFTLINE_TEMPORAL_PORT: String(ports.temporal),
    DRIFTLINE_UI_PORT: String(ports.ui),
    DRIFTLINE_DB_PORT: String(ports.db),
    // On the PostgreSQL target the stack uses the suite's database; otherwise its own embedded one.
    DATABASE_URL: inject('databaseKind') === 'postgres' ? inject('databaseUrl') : '',
  };
});

afterAll(async () => {
  for (const cli of running) {
    cli.killGroup('SIGKILL');
    await cli.exited;
  }
});

function startStack(): CliProcess {
  const cli = startCli(['dev', '--no-example'], env);
  running.push(cli);
  return cli;
}

async function withClient<T>(fn: (client: Client, connection: Connection) => Promise<T>): Promise<T> {
  const connection = await Connection.connect({ address: `127.0.0.1:${ports.temporal}` });
  try {
    return await fn(new Client({ connection }), connection);
  } finally {
    await connection.close();
  }
}

describe('driftline dev', () => {
  it('brings the stack up, reuses it, survives kill -9, and stops cleanly on SIGINT', async () => {
    const first = startStack();
    const banner = await first.waitFor(/Ready\. Press Ctrl-C/);
    expect(banner).toContain(`Temporal UI http://127.0.0.1:${ports.ui}`);
    expect(banner).toMatch(/Worker +polling task queues driftline, driftline-training/);

    // the five search attributes, the UI, and pollers on both queues
    await withClient(async (client, connection) => {
      const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace: 'default' });
      for (const key of Object.values(SEARCH_ATTRIBUTES)) expect(Object.keys(customAttributes ?? {})).toContain(key.name);
      for (const taskQueue of Object.values(TASK_QUEUES)) {
        const kind = taskQueue === TASK_QUEUES.orchestration ? 1 : 2; // workflow / activity pollers
        const { pollers } = await connection.workflowService.describeTaskQueue({
          namespace: 'default',
          taskQueue: { name: taskQueue },
          taskQueueType: kind,
        });
        expect(pollers?.length ?? 0).toBeGreaterThan(0);
      }
      await client.workflow.start('continuousTraining', {
        taskQueue: 'parked-by-dev-stack-test',
        workflowId: 'survives-kill-9',
      });
    });
    const ui = await fetch(`http://127.0.0.1:${ports.ui}/`);
    expect(ui.status).toBe(200);

    // a second `driftline dev` reuses the running stack
    const second = await runCli(['dev', '--no-example'], env);
    expect(second.code).toBe(0);
    expect(second.output).toContain('Already running');

    // kill -9 the whole stack, start again: the workflow is still there
    first.killGroup('SIGKILL');
    await first.exited;
    const restarted = startStack();
    await restarted.waitFor(/Ready\. Press Ctrl-C/);
    await withClient(async (client) => {
      const description = await client.workflow.getHandle('survives-kill-9').describe();
      expect(description.status.name).toBe('RUNNING');
    });

    // Ctrl-C stops everything it started and removes its record
    restarted.killGroup('SIGINT');
    const { code } = await restarted.exited;
    expect(code).toBe(0);
    expect(restarted.output()).toContain('Stopped.');
    expect(await isPortListening('127.0.0.1', ports.temporal)).toBe(false);
    expect(await isPortListening('127.0.0.1', ports.ui)).toBe(false);
    await expect(access(join(home, 'stack.json'))).rejects.toThrow();
    await expect(readFile(join(home, 'temporal.db'))).resolves.toBeTruthy();
  });

  it('names the port and the flag when a port belongs to something else', async () => {
    const squatter: Server = createServer((socket) => {
      socket.on('error', () => {}); // probes hang up abruptly; that is expected
      socket.end('not temporal\n');
    });
    const port = await freePort();
    await new Promise<void>((resolve) => squatter.listen(port, '127.0.0.1', resolve));
    try {
      const result = await runCli(['dev', '--no-example', '--temporal-port', String(port)], env);
      expect(result.code).toBe(3);
      const lines = result.output.trim().split('\n');
      expect(lines.at(-1)).toBe(
        `driftline: Port ${port} is already in use by something that is not a Temporal server; stop that process, or choose another port with --temporal-port or DRIFTLINE_TEMPORAL_PORT.`,
      );
      expect(result.output).not.toMatch(/\n\s+at /); // no stack trace for a user's problem
    } finally {
      squatter.close();
    }
  });

  it('says exactly what to remove when the state under .driftline/ is damaged', async () => {
    const damaged = await mkdtemp(join(tmpdir(), 'driftline-damaged-'));
    const damagedEnv = { ...env, DRIFTLINE_HOME: damaged, DATABASE_URL: '' };
    const migrated = await runCli(['db', 'migrate'], damagedEnv);
    expect(migrated.code).toBe(0);
    await writeFile(join(damaged, 'pgdata', 'global', 'pg_control'), 'torn write');
    const badDb = await runCli(['db', 'migrate'], damagedEnv);
    expect(badDb.code).toBe(3);
    expect(badDb.output).toContain(`if its data is not needed, remove ${join(damaged, 'pgdata')} and start again`);

    await writeFile(join(damaged, 'temporal.db'), 'not a sqlite file');
    const badTemporal = await runCli(['dev', '--no-example', '--no-worker'], damagedEnv);
    expect(badTemporal.code).toBe(3);
    expect(badTemporal.output).toContain('file is not a database');
    expect(badTemporal.output).toContain(`If ${join(damaged, 'temporal.db')} is damaged, move it aside`);
    expect(badTemporal.output).not.toMatch(/\n\s+at /);
  });

  it('rejects a malformed port with a usage error', async () => {
    const result = await runCli(['dev', '--no-example', '--ui-port', '99999'], env);
    expect(result.code).toBe(2);
    expect(result.output).toContain('expected a TCP port between 1 and 65535, got "99999"');
  });
});
