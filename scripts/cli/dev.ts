import { installRuntime } from '../../workers/runtime.ts';
import { Command } from 'commander';
import { portOption } from './main.ts';
import { driftlineHome } from '../lib/home.ts';
import { DEFAULT_CODEC_PORT, DEFAULT_TEMPORAL_PORT, DEFAULT_UI_PORT, startDevStack } from '../lib/dev-stack.ts';
import { DEFAULT_EMBEDDED_PORT } from '../../activities/db/database.ts';
import type { PipelineOutcome } from '../../core/training.ts';
import { DEFAULT_ROUTER_PORT, describeWaitingGate, startExample, type RunningExample } from '../lib/example/run-example.ts';

/** One line for a finished pipeline, e.g. "v2 promoted by the canary: …". */
export function describeOutcome(outcome: PipelineOutcome): string {
  if (outcome.outcome === 'registered') {
    return outcome.deployment ? `v${outcome.version} ${outcome.deployment.outcome}: ${outcome.deployment.reason}` : `v${outcome.version} registered`;
  }
  if (outcome.outcome === 'rejected') return `v${outcome.version} rejected: ${outcome.reasons.join('; ')}`;
  return `failed: ${outcome.reason}`;
}

interface DevFlags {
  temporalPort: number;
  uiPort: number;
  dbPort: number;
  codecPort: number;
  routerPort: number;
  worker: boolean;
  example: boolean;
}

export function devCommand(): Command {
  return new Command('dev')
    .description('Start the development stack on loopback: Temporal dev server and UI, database, worker.')
    .addOption(portOption('--temporal-port <port>', 'Temporal frontend port', 'DRIFTLINE_TEMPORAL_PORT', DEFAULT_TEMPORAL_PORT))
    .addOption(portOption('--ui-port <port>', 'Temporal UI port', 'DRIFTLINE_UI_PORT', DEFAULT_UI_PORT))
    .addOption(portOption('--db-port <port>', 'embedded database port (ignored with DATABASE_URL)', 'DRIFTLINE_DB_PORT', DEFAULT_EMBEDDED_PORT))
    .addOption(portOption('--codec-port <port>', 'payload codec server port (only with DRIFTLINE_CODEC_KEYS set)', 'DRIFTLINE_CODEC_PORT', DEFAULT_CODEC_PORT))
    .addOption(portOption('--router-port <port>', 'the example\'s inference router (driftline serve) port', 'DRIFTLINE_ROUTER_PORT', DEFAULT_ROUTER_PORT))
    .option('--no-worker', 'do not start a worker (run `driftline worker` yourself)')
    .option('--no-example', 'do not set up or run the bundled example (credit-default)')
    .action(async (flags: DevFlags) => {
      installRuntime();
      const log = (line: string) => process.stdout.write(`${line}\n`);
      const home = driftlineHome();
      log(`Driftline dev stack (state in ${home})`);
      const result = await startDevStack({
        home,
        temporalPort: flags.temporalPort,
        uiPort: flags.uiPort,
        dbPort: flags.dbPort,
        codecPort: flags.codecPort,
        worker: flags.worker,
        log,
      });
      if (result.kind === 'already-running') {
        const { record } = result;
        log(`Already running (pid ${record.pid}, since ${record.startedAt}); reusing it.`);
        log(`Temporal    ${record.temporal.address}`);
        log(`Temporal UI ${record.temporal.uiUrl}`);
        log(`Database    ${record.database.url}`);
        log(`Worker      ${record.worker ? record.worker.taskQueues.join(', ') : 'none'}`);
        return;
      }
      const { stack } = result;
      let example: RunningExample | undefined;
      if (flags.example && flags.worker) {
        try {
          example = await startExample({ temporalAddress: stack.temporalAddress, db: stack.db, home, routerPort: flags.routerPort, log });
          const run = await example.driftedRunOnce();
          if (run) {
            for (const line of describeWaitingGate(home, run)) log(line);
            void example.context.client.workflow
              .getHandle(run.pipelineId)
              .result()
              .then(
                (outcome: PipelineOutcome) => log(`Example     ${run.pipelineId} finished: ${describeOutcome(outcome)}`),
                (error: unknown) => log(`Example     ${run.pipelineId} failed: ${error instanceof Error ? error.message : String(error)}`),
              );
          }
        } catch (error) {
          await example?.stop();
          await stack.stop();
          throw error;
        }
      }
      log('Ready. Press Ctrl-C to stop what this command started.');
      await new Promise<void>((resolve) => {
        const onSignal = (signal: NodeJS.Signals) => {
          log(`\n${signal}: stopping...`);
          void (example ? example.stop() : Promise.resolve()).then(() => stack.stop()).then(resolve);
        };
        process.once('SIGINT', onSignal);
        process.once('SIGTERM', onSignal);
        void stack.stopped.then(resolve);
      });
      log('Stopped.');
    });
}
