/**
 * `driftline status <workflow-id>` and `driftline list`: what is running, where it is, how it ended.
 * `list` is a visibility query over Driftline's search attributes, the same one the Temporal UI runs.
 */
import { Command, Option } from 'commander';
import { SEARCH_ATTRIBUTES, WORKFLOW_TYPES } from '../../core/names.ts';
import type { PipelineStatus } from '../../core/training.ts';
import { withTemporalClient } from '../lib/temporal-client.ts';
import { UsageError } from './errors.ts';
import { print, printJson, table } from './output.ts';

export function statusCommand(): Command {
  return new Command('status')
    .description('Show where a pipeline is: stage, steps, metrics, decision.')
    .argument('<workflow-id>', 'e.g. ct:credit-default:3f2c1d9')
    .option('--json', 'print JSON')
    .action(async (workflowId: string, flags: { json?: boolean }) => {
      await withTemporalClient(async (client) => {
        const handle = client.workflow.getHandle(workflowId);
        const description = await handle.describe();
        let status: PipelineStatus | null = null;
        if (description.type === WORKFLOW_TYPES.continuousTraining) {
          status = (await handle.query('status').catch(() => null)) as PipelineStatus | null;
        }
        const attributes = {
          model: description.typedSearchAttributes.get(SEARCH_ATTRIBUTES.model) ?? null,
          stage: description.typedSearchAttributes.get(SEARCH_ATTRIBUTES.stage) ?? null,
          outcome: description.typedSearchAttributes.get(SEARCH_ATTRIBUTES.outcome) ?? null,
          version: description.typedSearchAttributes.get(SEARCH_ATTRIBUTES.version) ?? null,
        };
        const summary = {
          workflowId,
          runId: description.runId,
          type: description.type,
          state: description.status.name,
          started: description.startTime.toISOString(),
          closed: description.closeTime?.toISOString() ?? null,
          ...attributes,
          status,
        };
        if (flags.json) return printJson(summary);
        print(`${workflowId}  [${summary.state}]  ${description.type}`);
        const rows = [
          ['model', attributes.model ?? '-'],
          ['stage', attributes.stage ?? '-'],
          ['outcome', attributes.outcome ?? '-'],
          ['version', attributes.version === null ? '-' : `v${attributes.version}`],
          ['started', summary.started],
          ['closed', summary.closed ?? '-'],
        ];
        for (const line of table(rows)) print(`  ${line}`);
        if (status) {
          print('', );
          print('steps');
          for (const step of status.steps) print(`  ${step.step.padEnd(12)} ${step.result ?? 'running'}  ${step.startedAt}  ${step.detail ?? ''}`);
          if (status.metrics.candidate) print(`metrics    ${Object.entries(status.metrics.candidate).map(([k, v]) => `${k}=${Number(v.toPrecision(4))}`).join('  ')}`);
          if (status.decision) print(`decision   ${status.decision}`);
        }
      });
    });
}

export function listCommand(): Command {
  return new Command('list')
    .description('List pipelines and monitors, newest first, filtered by the Driftline search attributes.')
    .option('--model <name>', 'only this model')
    .option('--stage <stage>', 'only pipelines at this stage (e.g. training)')
    .option('--outcome <outcome>', 'only this outcome (registered, rejected, failed, drift, ...)')
    .addOption(new Option('--type <type>', 'only this workflow type').choices(Object.values(WORKFLOW_TYPES)))
    .option('--limit <n>', 'at most this many', (v) => positive(v), 20)
    .option('--json', 'print JSON')
    .action(async (flags: { model?: string; stage?: string; outcome?: string; type?: string; limit: number; json?: boolean }) => {
      const clauses = [`${SEARCH_ATTRIBUTES.model.name} IS NOT NULL`];
      const quote = (v: string) => `'${v.replace(/'/g, "\\'")}'`;
      if (flags.model) clauses.push(`${SEARCH_ATTRIBUTES.model.name} = ${quote(flags.model)}`);
      if (flags.stage) clauses.push(`${SEARCH_ATTRIBUTES.stage.name} = ${quote(flags.stage)}`);
      if (flags.outcome) clauses.push(`${SEARCH_ATTRIBUTES.outcome.name} = ${quote(flags.outcome)}`);
      if (flags.type) clauses.push(`WorkflowType = ${quote(flags.type)}`);
      const query = clauses.join(' AND ');
      const rows = await withTemporalClient(async (client) => {
        const found = [];
        for await (const execution of client.workflow.list({ query })) {
          found.push({
            workflowId: execution.workflowId,
            type: execution.type,
            state: execution.status.name,
            model: execution.typedSearchAttributes.get(SEARCH_ATTRIBUTES.model) ?? null,
            stage: execution.typedSearchAttributes.get(SEARCH_ATTRIBUTES.stage) ?? null,
            outcome: execution.typedSearchAttributes.get(SEARCH_ATTRIBUTES.outcome) ?? null,
            started: execution.startTime.toISOString(),
          });
          if (found.length >= flags.limit) break;
        }
        return found;
      });
      if (flags.json) return printJson(rows);
      if (rows.length === 0) return print('No matching workflows.');
      for (const line of table([
        ['WORKFLOW', 'TYPE', 'STATE', 'STAGE', 'OUTCOME', 'STARTED'],
        ...rows.map((r) => [r.workflowId, r.type, r.state, r.stage ?? '-', r.outcome ?? '-', r.started]),
      ]))
        print(line);
    });
}

function positive(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`expected a positive whole number, got "${value}".`);
  return n;
}
