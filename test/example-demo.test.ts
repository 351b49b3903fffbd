/**
 * The bundled example as a newcomer meets it:
 *  - `driftline dev` (what `npm start` runs) on a fresh state directory sets the example up, finds
 *    drift in the batch, stops at the compliance gate and prints the approve commands; running
 *    exactly those commands takes the model through the canary to production;
 *  - `driftline demo` (what `npm run demo` runs) does the same unattended and exits 0.
 * Real dev server, real worker, real router, model servers and traffic.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { freePort } from './helpers/ports.ts';
import { runCli, startCli, type CliProcess } from './helpers/processes.ts';

const running: CliProcess[] = [];
afterAll(async () => {
  for (const cli of running) {
    cli.killGroup('SIGINT');
    await Promise.race([cli.exited, new Promise((r) => setTimeout(r, 20_000))]);
    cli.killGroup('SIGKILL');
  }
});

describe('the bundled example', () => {
  it('npm start: stops at the gate, prints the approve commands, and those commands take the model to production', { timeout: 600_000 }, async () => {
    const home = await mkdtemp(join(tmpdir(), 'driftline-start-'));
    const env = {
      ...process.env,
      DRIFTLINE_HOME: home,
      TEMPORAL_CLI: inject('temporalCliPath'),
      DRIFTLINE_TEMPORAL_PORT: String(await freePort()),
      DRIFTLINE_UI_PORT: String(await freePort()),
      DRIFTLINE_DB_PORT: String(await freePort()),
      DRIFTLINE_ROUTER_PORT: String(await freePort()),
      DATABASE_URL: '',
    };
    const stack = startCli(['dev'], env);
    running.push(stack);
    const printed = await stack.waitFor(/Ready\./, 420_000);
    const commands = [...printed.matchAll(/npm run driftline -- (approve \S+ --key \S+ --as \S+ --role \S+)/g)].map((m) => m[1]!.split(' '));
    expect(commands.map((c) => c.slice(-4))).toEqual([
      ['--as', 'alice', '--role', 'ml-lead'],
      ['--as', 'carol', '--role', 'risk'],
    ]);
    const cliEnv = { ...env, TEMPORAL_ADDRESS: `127.0.0.1:${env.DRIFTLINE_TEMPORAL_PORT}` };
    for (const command of commands) {
      const result = await runCli(command, cliEnv);
      expect(result.code, result.output).toBe(0);
    }
    const finished = await stack.waitFor(/ct:credit-default:drift finished: .*/, 300_000);
    expect(finished).toMatch(/ct:credit-default:drift finished: v2 promoted/);
    const models = await runCli(['models', 'show', 'credit-default@production', '--json'], cliEnv);
    expect(models.code, models.output).toBe(0);
    expect(JSON.parse(models.output.slice(models.output.indexOf('{'))).version).toBe(2);
    // a second start finds everything in place and does not run the drifted batch again
    stack.killGroup('SIGINT');
    await stack.exited;
    const again = startCli(['dev'], env);
    running.push(again);
    const second = await again.waitFor(/Ready\./, 300_000);
    expect(second).not.toMatch(/training the baseline|schedule .* created|approve it as/);
    expect(second).toMatch(/serves credit-default v2/);
  });

  it('npm run demo: the whole lifecycle unattended, exit 0 with a summary', { timeout: 600_000 }, async () => {
    const demo = await runCli(['demo'], { ...process.env, TEMPORAL_CLI: inject('temporalCliPath') });
    expect(demo.output).toMatch(/Summary: credit-default v2 promoted: every step passed/);
    expect(demo.output).toMatch(/production is v2/);
    expect(demo.code, demo.output).toBe(0);
  });
});
