/**
 * Every workflow type the Driftline worker registers. One file per workflow; this index is the
 * worker's `workflowsPath`, so a workflow exported here is a workflow the worker runs.
 */
export { continuousTraining } from './continuous-training.ts';
export { driftMonitor } from './drift-monitor.ts';
export { complianceGate } from './compliance-gate.ts';
export { canaryDeployment } from './canary-deployment.ts';
