/**
 * A workflow's first step: validate and default its input, outside the workflow sandbox.
 *
 * Why outside: the SDK evaluates every module a workflow imports once per workflow it creates or
 * replays. zod and the policy schemas made up most of that — about 30 ms of CPU and 1.7 MiB of heap
 * per workflow on the 2-core machine we measure on (zod plus the schemas evaluated in fresh V8
 * contexts) — paid again on every sticky-cache miss, and held by every cached workflow.
 * test/workflow-input.test.ts keeps zod out of what workflows import. So workflows import no zod at all: the input goes
 * through the `validateWorkflowInput` local activity, which runs the same schemas once per worker
 * process and records the defaulted input in history (a marker, no server round trip).
 *
 * Workflows that started before this change validated inside the sandbox; on replay they take
 * that path again (same function, loaded only then), so their histories replay unchanged.
 */
import { ApplicationFailure, patched, proxyLocalActivities } from '@temporalio/workflow';
import type { WorkflowInputActivities } from '../activities/workflow-input/activities.ts';
import type { InputValidation, ValidatedWorkflow, WorkflowRequests } from '../core/workflow-input.ts';
import { INVALID_INPUT } from '../core/names.ts';

export const INPUT_VALIDATED_OUTSIDE_SANDBOX_PATCH = 'input-validated-outside-sandbox';

const local = proxyLocalActivities<WorkflowInputActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '200 milliseconds', maximumInterval: '10 seconds' },
});

/** The workflow's input, parsed with its defaults; a non-retryable INVALID_INPUT failure when it is not valid. */
export async function validatedInput<W extends ValidatedWorkflow>(workflow: W, raw: unknown): Promise<WorkflowRequests[W]> {
  const result = patched(INPUT_VALIDATED_OUTSIDE_SANDBOX_PATCH)
    ? ((await local.validateWorkflowInput({ workflow, input: raw })) as InputValidation<W>)
    : (await import(/* webpackMode: "eager" */ '../core/workflow-input.ts')).validateInputOf(workflow, raw);
  if (!result.valid) throw ApplicationFailure.nonRetryable(result.problem, INVALID_INPUT);
  return result.input;
}

/** The fields of an input not validated yet, for a status shown while it is: an empty record when it is not an object. */
export function unvalidatedFields(raw: unknown): Record<string, unknown> {
  return typeof raw === 'object' && raw !== null && !Array.isArray(raw) ? (raw as Record<string, unknown>) : {};
}
