/**
 * `driftline canary status|pause|resume|abort|promote <workflow-id>`: read and steer a running
 * canary through its `status` query and Workflow Updates (each recorded with who asked: `--by`,
 * default $DRIFTLINE_ACTOR or user@host). `driftline canary start <input.json>` starts one.
 * Connection: Temporal's environment configuration (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, …).
 */
import { withTemporalClient } from '../lib/temporal-client.ts';
import { type Client, WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import { Command } from 'commander';
import { readFile } from 'node:fs/promises';
import { hostname, userInfo } from 'node:os';
import { canaryInputSchema, canaryWorkflowId, type CanaryInput, type CanaryOutcome, type CanaryStatus } from '../../core/canary.ts';
import { TASK_QUEUES, WORKFLOW_TYPES } from '../../core/names.ts';
import type { CanaryControlResult } from '../../workflows/messages.ts';
import { UsageError } from './errors.ts';
import { formatValue, print, printJson, table } from './output.ts';

type ControlKind = 'pause' | 'resume' | 'abort' | 'promote';

interface ControlFlags {
  by?: string;
  reason?: string;
  json?: boolean;
}

const DESCRIPTIONS: Record<ControlKind, string> = {
  pause: 'Hold the current weights: no step passes until resumed (a regression still rolls back).',
  resume: 'Continue a paused canary (also one paused for too little traffic).',
  abort: 'Stop now: the baseline goes back to 100% and the aliases stay as they were.',
  promote: 'Skip the remaining steps: 100% to the candidate and move production to it.',
};

export function canaryCommand(): Command {
  const canary = new Command('canary').description('Read and steer canary deployments (canaryDeployment workflows).');
  canary
    .command('status')
    .description('Weights, step, per-metric statistics and the decision history of a canary.')
    .argument('<workflow-id>', 'the canary\'s workflow id (canary:<model>:v<version>)')
    .option('--json', 'print JSON')
    .action((workflowId: string, flags: { json?: boolean }) =>
      withTemporalClient(async (client) => {
        const status = await query(client, workflowId);
        if (flags.json) return printJson(status);
        for (const line of describeStatus(workflowId, status)) print(line);
      }),
    );
  for (const kind of ['pause', 'resume', 'abort', 'promote'] as const) {
    canary
      .command(kind)
      .description(DESCRIPTIONS[kind])
      .argument('<workflow-id>', 'the canary\'s workflow id')
      .option('--by <who>', 'who asks (recorded with the decision)')
      .option('--reason <text>', 'why (recorded with the decision)')
      .option('--json', 'print JSON')
      .action((workflowId: string, flags: ControlFlags) => withTemporalClient((client) => control(client, kind, workflowId, flags)));
  }
  canary
    .command('start')
    .description('Start a canary from a JSON input (model, candidateVersion, baselineVersion, requestedBy, plan, target); a second start attaches.')
    .argument('<input.json>', 'the canary input')
    .option('--json', 'print JSON')
    .action((file: string, flags: { json?: boolean }) =>
      withTemporalClient(async (client) => {
        const input = await loadInput(file);
        const { workflowId, runId } = await startCanary(client, input);
        if (flags.json) return printJson({ workflowId, runId });
        print(`canary ${workflowId} running (run ${runId}); follow it with: driftline canary status ${workflowId}`);
      }),
    );
  return canary;
}

/** Starts (or attaches to) the canary of a model version; the id comes from the model and version. */
export async function startCanary(client: Client, input: CanaryInput): Promise<{ workflowId: string; runId: string }> {
  const request = canaryInputSchema.parse(input);
  const workflowId = canaryWorkflowId(request.model, request.candidateVersion);
  const handle = await client.workflow.start(WORKFLOW_TYPES.canaryDeployment, {
    taskQueue: TASK_QUEUES.orchestration,
    workflowId,
    args: [input],
    workflowIdConflictPolicy: 'USE_EXISTING',
    staticSummary: `Canary ${request.model} v${request.candidateVersion} (${request.plan.steps.map((s) => `${s.weight}%`).join(' → ')}) on ${request.target.kind}`,
    staticDetails: `requested by ${request.requestedBy}; baseline ${request.baselineVersion === null ? 'the serving model' : `v${request.baselineVersion}`}`,
  });
  return { workflowId, runId: handle.firstExecutionRunId };
}

async function control(client: Client, kind: ControlKind, workflowId: string, flags: ControlFlags): Promise<void> {
  const by = flags.by?.trim() || process.env.DRIFTLINE_ACTOR?.trim() || `${userInfo().username}@${hostname()}`;
  const handle = client.workflow.getHandle(workflowId);
  let result: CanaryControlResult;
  try {
    result = await handle.executeUpdate<CanaryControlResult, [{ by: string; reason?: string }]>(kind, { args: [{ by, ...(flags.reason ? { reason: flags.reason } : {}) }] });
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) throw new UsageError(await whyNotRunning(handle, workflowId, kind));
    if (error instanceof WorkflowUpdateFailedError) throw new UsageError(`${kind} refused: ${error.cause?.message ?? error.message}`);
    throw error;
  }
  if (flags.json) return printJson(result);
  print(`${kind}: ${result.message} (by ${by})`);
  print(`stage ${result.status.stage}; weights baseline ${result.status.weights.baseline}% / candidate ${result.status.weights.candidate}%${result.status.weights.shadow ? ' (shadow on)' : ''}`);
}

/**
 * A closed canary refuses updates at the server: say how it ended instead of "not found". The
 * outcome is read from the workflow's result, which the server keeps; a query would need a worker
 * to replay the whole history, and in one CI run it gave no outcome.
 */
async function whyNotRunning(handle: ReturnType<Client['workflow']['getHandle']>, workflowId: string, kind: ControlKind): Promise<string> {
  try {
    const description = await handle.describe();
    const outcome =
      description.status.name === 'COMPLETED' ? await handle.result().then((result: CanaryOutcome) => result.outcome, () => null) : null;
    return `canary ${workflowId} has finished (${outcome ?? description.status.name.toLowerCase()}): it can no longer ${kind}.`;
  } catch {
    return `there is no canary with id "${workflowId}".`;
  }
}

async function query(client: Client, workflowId: string): Promise<CanaryStatus> {
  try {
    return await client.workflow.getHandle(workflowId).query<CanaryStatus>('status');
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) throw new UsageError(`there is no canary with id "${workflowId}".`);
    throw error;
  }
}

export function describeStatus(workflowId: string, s: CanaryStatus): string[] {
  const lines = [
    `Canary    ${workflowId}: ${s.model} v${s.candidateVersion} against ${s.baselineVersion === null ? 'the serving model' : `v${s.baselineVersion}`}`,
    `Stage     ${s.stage}${s.phase === 'step' ? ` (step ${s.step} of ${s.steps})` : ''}`,
    `Weights   baseline ${s.weights.baseline}%, candidate ${s.weights.candidate}%${s.weights.shadow ? ', candidate shadowing every baseline request' : ''}`,
  ];
  if (s.paused) lines.push(`Paused    by ${s.paused.by} at ${s.paused.at}: ${s.paused.reason}`);
  if (s.current && !s.outcome) {
    lines.push(`Current   since ${s.current.startedAt}, bake ${s.current.bakeSeconds}s, ${s.current.candidateRequests} of ${s.current.minRequests} candidate requests, ${s.current.extensions} extension(s)`);
  }
  if (s.lastAnalysis) lines.push(`Analysis  ${s.lastAnalysis.at}: ${s.lastAnalysis.verdict}: ${s.lastAnalysis.reason}`);
  lines.push('');
  const rows = [['METRIC', 'E-VALUE', 'FAILS AT', 'P-VALUE', 'CANDIDATE', 'BASELINE', 'N (C/B)', 'VERDICT']];
  for (const m of s.metrics) {
    rows.push([m.name, formatValue(m.eValue), formatValue(m.threshold), formatValue(m.pValue), m.candidate.value === null ? '-' : formatValue(m.candidate.value), m.baseline.value === null ? '-' : formatValue(m.baseline.value), `${m.candidate.n}/${m.baseline.n}`, m.verdict]);
  }
  lines.push(...table(rows), '', 'Decisions');
  for (const d of s.decisions) lines.push(`  ${String(d.seq).padStart(3)}  ${d.at}  ${d.kind.padEnd(17)} by ${d.by}: ${d.reason}`);
  if (s.outcome) lines.push('', `Outcome   ${s.outcome.outcome}: ${s.outcome.reason}`);
  return lines;
}

async function loadInput(file: string): Promise<CanaryInput> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    throw new UsageError(`cannot read ${file}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new UsageError(`${file} is not JSON`);
  }
  const parsed = canaryInputSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new UsageError(`invalid canary input in ${file}: ${issue.path.join('.')}: ${issue.message}`);
  }
  return json as CanaryInput;
}


