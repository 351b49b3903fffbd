import { Command } from 'commander';
import { driftlineHome } from '../lib/home.ts';
import { provisionTemporalCli } from '../lib/temporal-cli.ts';

export function temporalCommand(): Command {
  const temporal = new Command('temporal').description('Manage the pinned Temporal CLI and dev server binary.');
  temporal
    .command('provision')
    .description('Find or install the pinned Temporal CLI and print its path.')
    .option('--json', 'print the result as JSON')
    .action(async (options: { json?: boolean }) => {
      const cli = await provisionTemporalCli({ home: driftlineHome() });
      process.stdout.write(options.json ? `${JSON.stringify(cli)}\n` : `${cli.path}\n`);
    });
  return temporal;
}
