/**
 * The deployment-target port: how a canary moves traffic. Adapters: `local` (the `driftline serve`
 * router, through its admin endpoint) and `sagemaker` (endpoint configurations and
 * UpdateEndpointWeightsAndCapacities). Every call is idempotent: a retry sets the same weights again.
 */
import type { DeploymentTarget, TrafficWeights } from '../../core/canary.ts';
import type { JsonValue } from '../db/schema.ts';

export interface PrepareRequest<T extends DeploymentTarget = DeploymentTarget> {
  deploymentId: string;
  model: string;
  target: T;
  /** The plan has a shadow phase: the target must be able to mirror traffic. */
  shadow: boolean;
}

/** What the target looked like before the canary (restored on rollback), as plain JSON. */
export interface PreparedTarget {
  kind: DeploymentTarget['kind'];
  snapshot: JsonValue;
  /** One line for people: what was found and what will change. */
  description: string;
}

export interface TrafficRequest<T extends DeploymentTarget = DeploymentTarget> {
  deploymentId: string;
  model: string;
  target: T;
  prepared: PreparedTarget;
  /** Increases with every change a canary makes, so a stale retry never undoes a newer change. */
  generation: number;
  weights: TrafficWeights;
}

export interface DeploymentTargetAdapter<T extends DeploymentTarget = DeploymentTarget> {
  /** Checks that every variant answers and records the state to restore. Throws a TargetError when it cannot work. */
  prepare(request: PrepareRequest<T>): Promise<PreparedTarget>;
  /** Sets the weights (and shadow mirroring); returns the weights now in effect, read back from the target. */
  setTraffic(request: TrafficRequest<T>): Promise<TrafficWeights>;
  /** Puts the target back as it was before the canary (the baseline serving everything). */
  restore(request: Omit<TrafficRequest<T>, 'weights'>): Promise<TrafficWeights>;
}

/** A target that cannot do what was asked, and will not by retrying (bad endpoint, unknown variant). */
export class TargetError extends Error {
  override readonly name = 'TargetError';
}
