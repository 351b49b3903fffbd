/**
 * Worker settings an operator tunes: cache size, concurrency, pollers, shutdown grace. Each is a
 * `driftline worker` flag with an environment variable, so a container sets them without a
 * command line. Unset means the SDK's default (README, "Production worker", has measured guidance).
 */
import { InvalidArgumentError, Option } from 'commander';
import type { WorkerOptions } from '@temporalio/worker';
import { TASK_QUEUES, type TaskQueueName } from '../core/names.ts';

export interface WorkerTuning {
  /** Workflows kept in memory between tasks (sticky cache); 0 replays every workflow on every task. */
  maxCachedWorkflows?: number;
  maxConcurrentWorkflowTaskExecutions?: number;
  maxConcurrentActivityTaskExecutions?: number;
  maxConcurrentWorkflowTaskPolls?: number;
  maxConcurrentActivityTaskPolls?: number;
  /** How long in-flight tasks may run after SIGTERM before their activities are cancelled. */
  shutdownGraceTime: string;
}

/** Fits Kubernetes' default 30 s terminationGracePeriodSeconds with room to close connections. */
export const DEFAULT_SHUTDOWN_GRACE = '25s';

interface TuningFlag {
  key: Exclude<keyof WorkerTuning, 'shutdownGraceTime'>;
  flag: string;
  env: string;
  description: string;
  min: number;
}

const TUNING_FLAGS: readonly TuningFlag[] = [
  { key: 'maxCachedWorkflows', flag: '--max-cached-workflows', env: 'DRIFTLINE_MAX_CACHED_WORKFLOWS', description: 'workflows kept in the sticky cache (at least 1: a workflow validating its input in a local activity stays cached until that completes)', min: 1 },
  { key: 'maxConcurrentWorkflowTaskExecutions', flag: '--max-concurrent-workflow-tasks', env: 'DRIFTLINE_MAX_CONCURRENT_WORKFLOW_TASKS', description: 'workflow tasks run at once', min: 2 },
  { key: 'maxConcurrentActivityTaskExecutions', flag: '--max-concurrent-activities', env: 'DRIFTLINE_MAX_CONCURRENT_ACTIVITIES', description: 'activities run at once, per task queue', min: 1 },
  { key: 'maxConcurrentWorkflowTaskPolls', flag: '--workflow-pollers', env: 'DRIFTLINE_WORKFLOW_POLLERS', description: 'concurrent workflow task polls', min: 1 },
  { key: 'maxConcurrentActivityTaskPolls', flag: '--activity-pollers', env: 'DRIFTLINE_ACTIVITY_POLLERS', description: 'concurrent activity task polls, per task queue', min: 1 },
];

function integerAtLeast(min: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`expected an integer of at least ${min}, got "${value}".`);
    return n;
  };
}

function duration(value: string): string {
  // the SDK takes a number of milliseconds or an ms-style string ("25s", "2m")
  if (/^\d+$/.test(value)) return `${value}ms`;
  if (/^\d+(\.\d+)?\s*(ms|s|m|h)$/.test(value)) return value.replace(/\s+/g, '');
  throw new InvalidArgumentError(`expected a duration such as 25s, 2m or 500ms, got "${value}".`);
}

/** The commander options for every tuning setting (added to `driftline worker`). */
export function tuningOptions(): Option[] {
  return [
    ...TUNING_FLAGS.map((t) => new Option(`${t.flag} <n>`, t.description).env(t.env).argParser(integerAtLeast(t.min))),
    new Option('--shutdown-grace <duration>', 'after SIGTERM, how long in-flight activities may finish before they are cancelled')
      .env('DRIFTLINE_SHUTDOWN_GRACE')
      .default(DEFAULT_SHUTDOWN_GRACE)
      .argParser(duration),
  ];
}

/** Reads the parsed flags (commander camel-cases them) back into a WorkerTuning. */
export function tuningFromFlags(flags: Record<string, unknown>): WorkerTuning {
  const tuning: WorkerTuning = { shutdownGraceTime: (flags.shutdownGrace as string | undefined) ?? DEFAULT_SHUTDOWN_GRACE };
  const byFlag: Record<string, TuningFlag['key']> = {
    maxCachedWorkflows: 'maxCachedWorkflows',
    maxConcurrentWorkflowTasks: 'maxConcurrentWorkflowTaskExecutions',
    maxConcurrentActivities: 'maxConcurrentActivityTaskExecutions',
    workflowPollers: 'maxConcurrentWorkflowTaskPolls',
    activityPollers: 'maxConcurrentActivityTaskPolls',
  };
  for (const [flag, key] of Object.entries(byFlag)) {
    if (typeof flags[flag] === 'number') tuning[key] = flags[flag];
  }
  return tuning;
}

/** The SDK options for one task queue's worker: workflow settings only where workflows run. */
export function workerOptionsFor(taskQueue: TaskQueueName, tuning: WorkerTuning): Partial<WorkerOptions> {
  const options: Partial<WorkerOptions> = { shutdownGraceTime: tuning.shutdownGraceTime };
  if (tuning.maxConcurrentActivityTaskExecutions !== undefined) options.maxConcurrentActivityTaskExecutions = tuning.maxConcurrentActivityTaskExecutions;
  if (tuning.maxConcurrentActivityTaskPolls !== undefined) options.maxConcurrentActivityTaskPolls = tuning.maxConcurrentActivityTaskPolls;
  if (taskQueue === TASK_QUEUES.orchestration) {
    if (tuning.maxCachedWorkflows !== undefined) options.maxCachedWorkflows = tuning.maxCachedWorkflows;
    if (tuning.maxConcurrentWorkflowTaskExecutions !== undefined) options.maxConcurrentWorkflowTaskExecutions = tuning.maxConcurrentWorkflowTaskExecutions;
    if (tuning.maxConcurrentWorkflowTaskPolls !== undefined) options.maxConcurrentWorkflowTaskPolls = tuning.maxConcurrentWorkflowTaskPolls;
  }
  return options;
}
