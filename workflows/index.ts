/**
 * Every workflow type the Driftline worker registers. One file per workflow; this index is the
 * worker's `workflowsPath`, so a workflow exported here is a workflow the worker runs.
 *
 * The four product workflows (continuousTraining, complianceGate, canaryDeployment, driftMonitor)
 * land here as their issues are built.
 */
export {};
