/**
 * `validateWorkflowInput`: the local activity a workflow calls first to validate and default its
 * input (workflows/input.ts). It runs in the worker's own context, where the schemas exist once.
 */
import { validateInputOf, type InputValidation, type ValidatedWorkflow } from '../../core/workflow-input.ts';

export interface WorkflowInputRequest {
  workflow: ValidatedWorkflow;
  input: unknown;
}

export const workflowInputActivities = {
  async validateWorkflowInput(request: WorkflowInputRequest): Promise<InputValidation<ValidatedWorkflow>> {
    return validateInputOf(request.workflow, request.input);
  },
};
export type WorkflowInputActivities = typeof workflowInputActivities;
