/**
 * Signals, updates and queries of Driftline's workflows: the names clients use, in one place.
 */
import { defineQuery } from '@temporalio/workflow';
import type { PipelineStatus } from '../core/training.ts';

/** Where a continuous-training run is, what it has done, and what it decided. */
export const pipelineStatusQuery = defineQuery<PipelineStatus>('status');
