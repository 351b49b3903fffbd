import { Command } from 'commander';
import { driftlineHome } from '../lib/home.ts';
import { openDatabase, resolveDatabaseTarget } from '../../activities/db/database.ts';
import { redact } from '../lib/dev-stack.ts';

export function dbCommand(): Command {
  const db = new Command('db').description("Driftline's database (DATABASE_URL, or the embedded one).");
  db.command('migrate')
    .description('Apply pending migrations and list what the database now has.')
    .option('--json', 'print the result as JSON')
    .action(async (options: { json?: boolean }) => {
      const ready = await openDatabase(resolveDatabaseTarget({ home: driftlineHome() }));
      try {
        const result = { url: redact(ready.url), applied: ready.migrations.applied, current: ready.migrations.current };
        if (options.json) process.stdout.write(`${JSON.stringify(result)}\n`);
        else {
          process.stdout.write(`database ${result.url}\n`);
          process.stdout.write(`applied now: ${result.applied.length ? result.applied.join(', ') : 'nothing (up to date)'}\n`);
          process.stdout.write(`migrations: ${result.current.join(', ')}\n`);
        }
      } finally {
        await ready.close();
      }
    });
  return db;
}
