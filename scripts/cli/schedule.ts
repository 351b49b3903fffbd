/**
 * `driftline schedule …`: Temporal Schedules for retraining and drift monitors, with cron
 * expressions, time zone, overlap policy and pause notes. Temporal runs them; this is the handle.
 */
import { ScheduleAlreadyRunning } from '@temporalio/client';
import { Command, Option } from 'commander';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createDriftMonitorSchedule, createTrainingSchedule, OVERLAP_POLICIES, type OverlapName } from '../lib/schedules.ts';
import { withTemporalClient } from '../lib/temporal-client.ts';
import { buildInput } from './run.ts';
import { UsageError } from './errors.ts';
import { print, printJson, table } from './output.ts';

const overlapOption = () =>
  new Option('--overlap <policy>', 'what to do when a run is still going at the next tick').choices(Object.keys(OVERLAP_POLICIES)).default('skip');

export function scheduleCommand(): Command {
  const schedule = new Command('schedule').description('Cron schedules for retraining and drift monitoring (Temporal Schedules).');
  const create = schedule.command('create').description('Create a schedule.');

  create
    .command('training')
    .description('Retrain a model on a cron.')
    .requiredOption('--cron <expr...>', 'cron expression(s), e.g. "0 2 * * *"')
    .requiredOption('--config <file>', 'pipeline definition (JSON), as for `driftline run --config`')
    .option('--model <name>', 'model name (overrides the definition)')
    .option('--timezone <tz>', 'IANA time zone of the cron, e.g. Europe/Paris')
    .addOption(overlapOption())
    .option('--note <text>', 'a note shown with the schedule')
    .option('--paused', 'create it paused')
    .option('--json', 'print JSON')
    .action(async (flags: { cron: string[]; config: string; model?: string; timezone?: string; overlap: OverlapName; note?: string; paused?: boolean; json?: boolean }) => {
      const input = await buildInput({ config: flags.config, param: [], ...(flags.model ? { model: flags.model } : {}), trigger: 'schedule' });
      await withTemporalClient(async (client) => {
        const handle = await createOrExplain(() => createTrainingSchedule(client, input, flags));
        report(handle.scheduleId, flags.json);
      });
    });

  create
    .command('drift')
    .description('Check a model for drift on a cron, and retrain on drift.')
    .requiredOption('--model <name>', 'model name')
    .requiredOption('--reference <uri>', 'reference profile (driftline drift profile) or dataset')
    .requiredOption('--window <uri>', 'where the latest production window is published')
    .requiredOption('--cron <expr...>', 'cron expression(s), e.g. "0 * * * *"')
    .option('--policy <file>', 'drift policy (JSON)')
    .option('--retrain-config <file>', 'pipeline definition to run on drift (JSON)')
    .option('--cooldown-minutes <n>', 'no new retraining until this long after the last one', (v) => Number(v), 360)
    .option('--timezone <tz>', 'IANA time zone of the cron')
    .option('--note <text>', 'a note shown with the schedule')
    .option('--paused', 'create it paused')
    .option('--json', 'print JSON')
    .action(
      async (flags: {
        model: string;
        reference: string;
        window: string;
        cron: string[];
        policy?: string;
        retrainConfig?: string;
        cooldownMinutes: number;
        timezone?: string;
        note?: string;
        paused?: boolean;
        json?: boolean;
      }) => {
        const retraining = flags.retrainConfig
          ? { pipeline: await buildInput({ config: flags.retrainConfig, param: [], model: flags.model, trigger: 'schedule' }), cooldownMinutes: flags.cooldownMinutes }
          : undefined;
        const policy = flags.policy ? (JSON.parse(await readFile(flags.policy, 'utf8')) as Record<string, unknown>) : undefined;
        await withTemporalClient(async (client) => {
          const handle = await createOrExplain(() =>
            createDriftMonitorSchedule(
              client,
              { model: flags.model, reference: toUri(flags.reference), window: toUri(flags.window), ...(policy ? { policy } : {}), ...(retraining ? { retraining } : {}) },
              flags,
            ),
          );
          report(handle.scheduleId, flags.json);
        });
      },
    );

  schedule
    .command('list')
    .description('List schedules.')
    .option('--json', 'print JSON')
    .action(async (flags: { json?: boolean }) => {
      const rows = await withTemporalClient(async (client) => {
        const found = [];
        for await (const s of client.schedule.list()) {
          found.push({
            scheduleId: s.scheduleId,
            workflowType: s.action?.type === 'startWorkflow' ? s.action.workflowType : null,
            paused: s.state.paused,
            note: s.state.note ?? null,
            nextAction: s.info.nextActionTimes[0]?.toISOString() ?? null,
          });
        }
        return found;
      });
      if (flags.json) return printJson(rows);
      if (rows.length === 0) return print('No schedules.');
      for (const line of table([['SCHEDULE', 'WORKFLOW', 'PAUSED', 'NEXT', 'NOTE'], ...rows.map((r) => [r.scheduleId, r.workflowType ?? '-', r.paused ? 'yes' : 'no', r.nextAction ?? '-', r.note ?? ''])]))
        print(line);
    });

  schedule
    .command('describe')
    .argument('<schedule-id>')
    .description('Show a schedule: spec, state, recent and next runs.')
    .option('--json', 'print JSON')
    .action(async (id: string, flags: { json?: boolean }) => {
      await withTemporalClient(async (client) => {
        const d = await client.schedule.getHandle(id).describe();
        const summary = {
          scheduleId: d.scheduleId,
          // The server turns cron strings into calendar specs; Driftline's schedules keep the string in their memo.
          cron: Array.isArray(d.memo?.cron) ? (d.memo.cron as string[]) : (d.spec.calendars ?? []).map((c) => c.comment || JSON.stringify(c)),
          timezone: d.spec.timezone ?? 'UTC',
          paused: d.state.paused,
          note: d.state.note ?? null,
          overlap: d.policies.overlap,
          recentActions: d.info.recentActions.map((a) => ({ scheduledAt: a.scheduledAt.toISOString(), workflowId: a.action.workflow.workflowId })),
          nextActionTimes: d.info.nextActionTimes.map((t) => t.toISOString()),
        };
        if (flags.json) return printJson(summary);
        print(`${summary.scheduleId}  ${summary.paused ? '[paused]' : '[active]'}  ${summary.cron.join(', ')} (${summary.timezone}), overlap ${summary.overlap}`);
        if (summary.note) print(`  note: ${summary.note}`);
        for (const a of summary.recentActions) print(`  ran   ${a.scheduledAt}  ${a.workflowId}`);
        for (const t of summary.nextActionTimes.slice(0, 3)) print(`  next  ${t}`);
      });
    });

  for (const [name, description] of [
    ['pause', 'Pause a schedule (with a note saying why).'],
    ['unpause', 'Unpause a schedule.'],
  ] as const) {
    schedule
      .command(name)
      .argument('<schedule-id>')
      .description(description)
      .option('--note <text>', 'why')
      .action(async (id: string, flags: { note?: string }) => {
        await withTemporalClient(async (client) => {
          const handle = client.schedule.getHandle(id);
          if (name === 'pause') await handle.pause(flags.note);
          else await handle.unpause(flags.note);
          print(`${id}: ${name === 'pause' ? 'paused' : 'unpaused'}`);
        });
      });
  }

  schedule
    .command('trigger')
    .argument('<schedule-id>')
    .description('Run a schedule now, once.')
    .action(async (id: string) => {
      await withTemporalClient(async (client) => {
        await client.schedule.getHandle(id).trigger();
        print(`${id}: triggered`);
      });
    });

  schedule
    .command('backfill')
    .argument('<schedule-id>')
    .description('Run the schedule for every tick in a past period.')
    .requiredOption('--start <time>', 'ISO time, e.g. 2026-11-01T00:00:00Z')
    .requiredOption('--end <time>', 'ISO time')
    .addOption(overlapOption().default('allow-all'))
    .action(async (id: string, flags: { start: string; end: string; overlap: OverlapName }) => {
      const start = new Date(flags.start);
      const end = new Date(flags.end);
      if (Number.isNaN(start.getTime()) || Number.isNaN(end.getTime())) throw new UsageError('--start and --end take ISO times such as 2026-11-01T00:00:00Z.');
      if (end <= start) throw new UsageError('--end must be after --start.');
      await withTemporalClient(async (client) => {
        await client.schedule.getHandle(id).backfill({ start, end, overlap: OVERLAP_POLICIES[flags.overlap] });
        print(`${id}: backfilling ${start.toISOString()} .. ${end.toISOString()}`);
      });
    });

  schedule
    .command('delete')
    .argument('<schedule-id>')
    .description('Delete a schedule (runs it started are not affected).')
    .action(async (id: string) => {
      await withTemporalClient(async (client) => {
        await client.schedule.getHandle(id).delete();
        print(`${id}: deleted`);
      });
    });

  return schedule;
}

async function createOrExplain<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    if (error instanceof ScheduleAlreadyRunning) throw new UsageError(`A schedule named ${error.scheduleId} already exists; delete it first or use \`driftline schedule describe ${error.scheduleId}\`.`);
    throw error;
  }
}

function report(scheduleId: string, json?: boolean): void {
  if (json) printJson({ scheduleId });
  else print(`created schedule ${scheduleId}`);
}

function toUri(value: string): string {
  return value.includes('://') ? value : pathToFileURL(resolve(value)).href;
}

