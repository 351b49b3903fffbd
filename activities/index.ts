/**
 * Builds the activity implementations each task queue serves, from the adapters they need.
 * Workers call this once per process; workflows only ever see the activity *types*.
 */
import type { DriftlineDb } from './db/database.ts';
import { fingerprintArtifact } from './data/fingerprint.ts';
import { createRegistryActivities } from './registry/activities.ts';
import { PostgresModelRegistry } from './registry/postgres-registry.ts';

export interface ActivityDependencies {
  db: DriftlineDb;
}

export type ActivityImplementations = Record<string, (...args: never[]) => Promise<unknown>>;

export interface ActivitiesByQueue {
  /** Served on the `driftline` task queue: registry writes, statistics, notifications. */
  orchestration: ActivityImplementations;
  /** Served on the `driftline-training` task queue: training and other heavy work. */
  training: ActivityImplementations;
}

export function createActivities(deps: ActivityDependencies): ActivitiesByQueue {
  const registry = new PostgresModelRegistry(deps.db);
  return {
    orchestration: { ...createRegistryActivities(registry) },
    training: { fingerprintArtifact },
  };
}
