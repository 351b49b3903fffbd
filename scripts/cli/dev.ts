import { installRuntime } from '../../workers/runtime.ts';
import { Command } from 'commander';
import { portOption } from './main.ts';
import { driftlineHome } from '../lib/home.ts';
import { DEFAULT_CODEC_PORT, DEFAULT_TEMPORAL_PORT, DEFAULT_UI_PORT, startDevStack } from '../lib/dev-stack.ts';
import { DEFAULT_EMBEDDED_PORT } from '../../activities/db/database.ts';

interface DevFlags {
  temporalPort: number;
  uiPort: number;
  dbPort: number;
  codecPort: number;
  worker: boolean;
}

export function devCommand(): Command {
  return new Command('dev')
    .description('Start the development stack on loopback: Temporal dev server and UI, database, worker.')
    .addOption(portOption('--temporal-port <port>', 'Temporal frontend port', 'DRIFTLINE_TEMPORAL_PORT', DEFAULT_TEMPORAL_PORT))
    .addOption(portOption('--ui-port <port>', 'Temporal UI port', 'DRIFTLINE_UI_PORT', DEFAULT_UI_PORT))
    .addOption(portOption('--db-port <port>', 'embedded database port (ignored with DATABASE_URL)', 'DRIFTLINE_DB_PORT', DEFAULT_EMBEDDED_PORT))
    .addOption(portOption('--codec-port <port>', 'payload codec server port (only with DRIFTLINE_CODEC_KEYS set)', 'DRIFTLINE_CODEC_PORT', DEFAULT_CODEC_PORT))
    .option('--no-worker', 'do not start a worker (run `driftline worker` yourself)')
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
      log('Ready. Press Ctrl-C to stop what this command started.');
      await new Promise<void>((resolve) => {
        const onSignal = (signal: NodeJS.Signals) => {
          log(`\n${signal}: stopping...`);
          void stack.stop().then(resolve);
        };
        process.once('SIGINT', onSignal);
        process.once('SIGTERM', onSignal);
        void stack.stopped.then(resolve);
      });
      log('Stopped.');
    });
}
