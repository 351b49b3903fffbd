/**
 * `driftline demo` (`npm run demo`): the whole lifecycle, unattended, in a throwaway state directory
 * on free ports, so it never touches the stack `npm start` runs. A baseline goes to production, the
 * drift monitor finds drift in a batch and starts a retraining, the compliance gate collects the
 * demo approvers' signatures (they sign for themselves here), the canary rolls the candidate out,
 * and the command exits 0 with a summary once the candidate is production.
 */
import { Command } from 'commander';
import { mkdtemp } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { installRuntime } from '../../workers/runtime.ts';
import { startDevStack } from '../lib/dev-stack.ts';
import { driftlineHome } from '../lib/home.ts';
import { provisionTemporalCli } from '../lib/temporal-cli.ts';
import { approveAndFollow, startExample } from '../lib/example/run-example.ts';
import { EXAMPLE_MODEL } from '../lib/example/credit-example.ts';
import { describeOutcome } from './dev.ts';
import { EXIT } from './errors.ts';
import { print } from './output.ts';

export function demoCommand(): Command {
  return new Command('demo')
    .description('Run the bundled example from drift to production, unattended, on a throwaway stack; exits 0 when the candidate is promoted.')
    .option('--keep', 'keep the stack running at the end (Ctrl-C stops it)')
    .action(async (flags: { keep?: boolean }) => {
      installRuntime();
      const started = Date.now();
      const log = (line: string) => print(`${elapsed(started)}  ${line}`);
      const home = await mkdtemp(join(tmpdir(), 'driftline-demo-'));
      // The Temporal CLI comes from the project's usual cache (built once), not the throwaway directory.
      const cli = await provisionTemporalCli({ home: driftlineHome(), env: process.env, log });
      // DATABASE_URL would point the throwaway stack at someone's real database: the demo keeps its own.
      const env = { ...process.env, DATABASE_URL: '', TEMPORAL_CLI: cli.path };
      const result = await startDevStack({
        home,
        temporalPort: await freePort(),
        uiPort: await freePort(),
        dbPort: await freePort(),
        codecPort: await freePort(),
        worker: true,
        env,
        log,
      });
      if (result.kind !== 'started') throw new Error('the demo found a stack already running in its fresh state directory');
      const { stack } = result;
      log(`Demo        state in ${home}; Temporal UI ${stack.uiUrl}`);
      const example = await startExample({ temporalAddress: stack.temporalAddress, db: stack.db, home, routerPort: await freePort(), log });
      try {
        const run = await example.driftedRunOnce();
        if (!run) throw new Error('the demo found a drifted run already made in its fresh state directory');
        log(`Demo        ${run.pipelineId} registered ${EXAMPLE_MODEL} v${run.version}; the compliance gate ${run.gateId} waits for two signatures`);
        const outcome = await approveAndFollow(example, run, log);
        const production = await example.context.registry.getVersion({ model: EXAMPLE_MODEL, selector: { kind: 'alias', alias: 'production' } });
        const promoted = outcome.outcome === 'registered' && outcome.deployment?.outcome === 'promoted' && production.version === outcome.version;
        print('');
        print(`Summary: ${EXAMPLE_MODEL} ${describeOutcome(outcome)}`);
        print(`         production is v${production.version}; pipeline ${run.pipelineId}, gate ${run.gateId}, canary ${outcome.outcome === 'registered' ? (outcome.deployment?.canary ?? '-') : '-'}`);
        print(`         ${Math.round((Date.now() - started) / 1000)} s from a fresh stack to production`);
        process.exitCode = promoted ? EXIT.ok : EXIT.failure;
        if (flags.keep) {
          log('Demo        kept running; press Ctrl-C to stop');
          await new Promise<void>((resolve) => process.once('SIGINT', () => resolve()));
        }
      } finally {
        await example.stop();
        await stack.stop();
      }
    });
}

function elapsed(since: number): string {
  const seconds = Math.round((Date.now() - since) / 1000);
  return `${String(Math.floor(seconds / 60)).padStart(2, '0')}:${String(seconds % 60).padStart(2, '0')}`;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no free port'))));
    });
  });
}
