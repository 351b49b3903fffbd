/**
 * Signals, updates and queries of Driftline's workflows: the names clients use, in one place.
 */
import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { PipelineStatus } from '../core/training.ts';
import type { ApprovalReceipt, ApprovalUpdate, ComplianceGateStatus } from '../core/compliance.ts';
import type { CanaryControlRequest, CanaryStatus } from '../core/canary.ts';

/** Where a continuous-training run is, what it has done, and what it decided. */
export const pipelineStatusQuery = defineQuery<PipelineStatus>('status');

// --- complianceGate -------------------------------------------------------------------------
// `driftline approve|reject` send a signed statement (core/compliance.ts ApprovalUpdate) as one of
// these Workflow Updates; the gate's validator refuses anything it cannot accept, with one sentence.

/** A signed approval of the gate's evidence bundle. */
export const approveUpdate = defineUpdate<ApprovalReceipt, [ApprovalUpdate]>('approve');
/** A signed rejection; one accepted rejection closes the gate as rejected. */
export const rejectUpdate = defineUpdate<ApprovalReceipt, [ApprovalUpdate]>('reject');
/** The gate's checks, evidence bundle, quorum progress (who may still approve), decisions and deadlines. */
export const complianceStatusQuery = defineQuery<ComplianceGateStatus>('status');

// --- canaryDeployment -----------------------------------------------------------------------
// `driftline canary pause|resume|abort|promote` send these Workflow Updates; each is recorded with
// who asked (`by`). The validators refuse an update to a finished canary with one sentence.

/** What a canary control update answers: what it did, and the status after it. */
export interface CanaryControlResult {
  accepted: boolean;
  message: string;
  status: CanaryStatus;
}
/** Hold the current weights: no step passes while paused (a regression still rolls back). */
export const canaryPauseUpdate = defineUpdate<CanaryControlResult, [CanaryControlRequest]>('pause');
/** Continue after a pause (also after a pause for too little traffic, which restarts the extensions). */
export const canaryResumeUpdate = defineUpdate<CanaryControlResult, [CanaryControlRequest]>('resume');
/** Stop the canary now: the rollback saga puts the baseline back to 100% and the aliases as they were. */
export const canaryAbortUpdate = defineUpdate<CanaryControlResult, [CanaryControlRequest]>('abort');
/** Skip to 100% and promote the candidate now. */
export const canaryPromoteUpdate = defineUpdate<CanaryControlResult, [CanaryControlRequest]>('promote');
/** Weights, step, per-metric statistics and the decision history of a canary. */
export const canaryStatusQuery = defineQuery<CanaryStatus>('status');
