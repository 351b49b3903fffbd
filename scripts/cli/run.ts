/**
 * `driftline run`: start (or attach to) the continuous-training pipeline for a model and commit,
 * and with `--wait` follow it to its verdict, exiting with a code CI can act on.
 */
import { WorkflowFailedError, type Client, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { Command, Option } from 'commander';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { continuousTrainingInputSchema, type ContinuousTrainingInput, type PipelineOutcome, type PipelineStatus } from '../../core/training.ts';
import { detectRunContext } from '../lib/provenance.ts';
import { startContinuousTraining } from '../lib/start-pipeline.ts';
import { withTemporalClient } from '../lib/temporal-client.ts';
import { EXIT, UsageError } from './errors.ts';
import { readJsonFile } from './json-file.ts';
import { print, printJson } from './output.ts';

interface RunFlags {
  config?: string;
  model?: string;
  train?: string;
  holdout?: string;
  policy?: string;
  trainer?: string;
  param: string[];
  commit?: string;
  repository?: string;
  requestedBy?: string;
  trigger?: 'ci' | 'manual' | 'schedule';
  key?: string;
  wait?: boolean;
  json?: boolean;
}

export function runCommand(): Command {
  return new Command('run')
    .description('Start the continuous-training pipeline for a model (or attach to the one running for this commit).')
    .option('--config <file>', 'a whole pipeline definition (JSON); the flags below override its fields')
    .option('--model <name>', 'model name')
    .option('--train <uri>', 'training data: path, file:// or s3:// URI')
    .option('--holdout <uri>', 'holdout data: path, file:// or s3:// URI')
    .option('--policy <file>', 'policy file (JSON): data contract, evaluation gates (see `driftline policy schema`)')
    .option('--trainer <file|json>', 'trainer spec, inline JSON or a JSON file')
    .option('--param <key=value>', 'hyperparameter (repeatable; JSON values allowed)', (value: string, all: string[]) => [...all, value], [])
    .option('--commit <sha>', 'code commit (default: from the CI environment or git)')
    .option('--repository <url>', 'code repository (default: from the CI environment or git)')
    .option('--requested-by <who>', 'who asks (default: the CI actor or the local user)')
    .addOption(new Option('--trigger <kind>', 'why this run (default: ci in CI, else manual)').choices(['ci', 'manual', 'schedule']))
    .option('--key <key>', 'business key for the workflow id (default: the commit)')
    .option('--wait', 'follow the pipeline until it ends and exit with its outcome')
    .option('--json', 'print JSON')
    .action(async (flags: RunFlags) => {
      const input = await buildInput(flags);
      await withTemporalClient(async (client) => {
        const { handle, workflowId } = await startContinuousTraining(client, input, flags.key);
        if (!flags.wait) {
          if (flags.json) printJson({ workflowId, runId: handle.firstExecutionRunId });
          else print(`pipeline ${workflowId} (run ${handle.firstExecutionRunId}); follow it with \`driftline status ${workflowId}\``);
          return;
        }
        if (!flags.json) print(`pipeline ${workflowId}: following (Ctrl-C stops following, not the pipeline)`);
        const outcome = await follow(client, handle, Boolean(flags.json));
        if (flags.json) printJson({ workflowId, ...outcome });
        process.exitCode = exitCodeFor(outcome);
      });
    });
}

export async function buildInput(flags: RunFlags): Promise<ContinuousTrainingInput> {
  const base = flags.config ? ((await readJsonFile(flags.config, 'pipeline definition')) as Partial<ContinuousTrainingInput>) : {};
  const context = detectRunContext();
  const hyperparameters: Record<string, unknown> = { ...(base.hyperparameters ?? {}) };
  for (const pair of flags.param) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new UsageError(`--param takes key=value, got "${pair}".`);
    const raw = pair.slice(eq + 1);
    hyperparameters[pair.slice(0, eq)] = parseValue(raw);
  }
  const input = {
    ...base,
    model: flags.model ?? base.model,
    datasets: {
      train: toUri(flags.train) ?? base.datasets?.train,
      holdout: toUri(flags.holdout) ?? base.datasets?.holdout,
    },
    trainer: flags.trainer ? await readJsonOrInline(flags.trainer, 'trainer spec') : base.trainer,
    hyperparameters,
    policy: flags.policy ? await readJsonFile(flags.policy, 'policy') : base.policy,
    trigger: {
      ...base.trigger,
      kind: flags.trigger ?? base.trigger?.kind ?? context.trigger,
      codeCommit: flags.commit ?? base.trigger?.codeCommit ?? context.codeCommit,
      codeRepository: flags.repository ?? base.trigger?.codeRepository ?? context.codeRepository,
      requestedBy: flags.requestedBy ?? base.trigger?.requestedBy ?? context.requestedBy,
    },
  };
  const parsed = continuousTrainingInputSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new UsageError(`The pipeline is not valid: ${issue.path.join('.') || '(root)'}: ${issue.message}.`);
  }
  return input as ContinuousTrainingInput;
}

interface FollowedOutcome {
  outcome: PipelineOutcome['outcome'] | 'rejected-by-compliance' | 'rolled-back' | 'promoted';
  detail: unknown;
}

/** Polls the status query, printing each change; survives a lost connection by retrying. */
async function follow(_client: Client, handle: WorkflowHandle, quiet: boolean): Promise<FollowedOutcome> {
  const started = Date.now();
  const tty = process.stdout.isTTY && !quiet;
  let last = '';
  let result: Promise<unknown> | undefined;
  let settled: { value?: unknown; error?: unknown } | undefined;
  const watch = () => {
    result = handle.result().then(
      (value) => (settled = { value }),
      (error: unknown) => {
        if (error instanceof WorkflowFailedError) settled = { error };
        else result = undefined; // connection trouble: watch again on the next tick
      },
    );
  };
  watch();
  for (let failures = 0; !settled; ) {
    await new Promise((r) => setTimeout(r, 1000));
    if (!result) watch();
    try {
      const status = (await handle.query('status')) as PipelineStatus;
      failures = 0;
      const step = status.steps.at(-1);
      const line = `${elapsed(started)}  ${status.stage}${step?.detail ? `: ${step.detail}` : ''}`;
      if (line.slice(line.indexOf(' ')) !== last.slice(last.indexOf(' ')) && !quiet) {
        if (tty) process.stdout.write(`\r\x1b[2K${line}`);
        else print(line);
      }
      last = line;
    } catch (error) {
      if (settled) break;
      failures++;
      if (!quiet && failures === 3) print(`(lost the connection to Temporal: ${error instanceof Error ? error.message : String(error)}; retrying)`);
      await new Promise((r) => setTimeout(r, Math.min(10_000, 500 * 2 ** failures)));
    }
  }
  if (tty) print();
  if (settled?.error) {
    const failure = (settled.error as WorkflowFailedError).cause;
    const detail = failure instanceof ApplicationFailure ? failure.details?.[0] : undefined;
    if (!quiet) print(`failed: ${failure?.message ?? String(settled.error)}`);
    return { outcome: 'failed', detail: detail ?? { reason: failure?.message } };
  }
  const outcome = settled!.value as PipelineOutcome;
  if (outcome.outcome === 'rejected' && outcome.by === 'compliance') {
    if (!quiet) print(`rejected by the compliance gate: ${outcome.reasons.join('; ')}`);
    return { outcome: 'rejected-by-compliance', detail: outcome };
  }
  if (outcome.outcome === 'registered' && outcome.deployment && outcome.deployment.outcome !== 'skipped') {
    const { deployment } = outcome;
    if (!quiet) print(`canary ${deployment.canary}: ${deployment.outcome}: ${deployment.reason}`);
    // An aborted canary also left the baseline serving: for CI it did not ship, like a rollback.
    return { outcome: deployment.outcome === 'promoted' ? 'promoted' : 'rolled-back', detail: outcome };
  }
  if (!quiet) {
    if (outcome.outcome === 'registered') print(`registered ${outcome.model} v${outcome.version} as challenger`);
    else if (outcome.outcome === 'rejected') print(`rejected ${outcome.model} v${outcome.version}: ${outcome.reasons.join('; ')}`);
    else print(`${outcome.outcome}`);
  }
  return { outcome: outcome.outcome, detail: outcome };
}

export function exitCodeFor(outcome: FollowedOutcome): number {
  switch (outcome.outcome) {
    case 'registered':
    case 'promoted':
      return EXIT.ok;
    case 'rejected':
      return EXIT.rejectedByEvaluation;
    case 'rejected-by-compliance':
      return EXIT.rejectedByCompliance;
    case 'rolled-back':
      return EXIT.rolledBack;
    case 'failed':
      return EXIT.pipelineFailed;
  }
}

function elapsed(since: number): string {
  const seconds = Math.round((Date.now() - since) / 1000);
  return `${String(Math.floor(seconds / 60)).padStart(2, '0')}:${String(seconds % 60).padStart(2, '0')}`;
}

function toUri(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  return value.includes('://') ? value : pathToFileURL(resolve(value)).href;
}

function parseValue(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}


async function readJsonOrInline(value: string, what: string): Promise<unknown> {
  if (value.trim().startsWith('{')) {
    try {
      return JSON.parse(value);
    } catch (error) {
      throw new UsageError(`The ${what} is not valid JSON: ${(error as Error).message}.`);
    }
  }
  return readJsonFile(value, what);
}
