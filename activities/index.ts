/**
 * Builds the activity implementations each task queue serves, from the adapters they need.
 * Workers call this once per process; workflows only ever see the activity *types*.
 */
import { join } from 'node:path';
import type { DriftlineDb } from './db/database.ts';
import { createArtifactStore } from './artifacts/store.ts';
import { dataActivities } from './data/activities.ts';
import { fingerprintArtifact } from './data/fingerprint.ts';
import { evaluationActivities } from './evaluation/activities.ts';
import { createComplianceActivities } from './compliance/activities.ts';
import { createCanaryActivities } from './deploy/index.ts';
import { createRegistryActivities } from './registry/activities.ts';
import { PostgresModelRegistry } from './registry/postgres-registry.ts';
import { createTrainingActivities, type TrainingBackends } from './training/activities.ts';
import { LocalTrainingBackend } from './training/local-backend.ts';
import { createDriftActivities } from './drift/activities.ts';
import { workflowInputActivities } from './workflow-input/activities.ts';
import { SageMakerTrainingBackend } from './training/sagemaker-backend.ts';
import { SageMakerClient } from '@aws-sdk/client-sagemaker';

export interface ActivityDependencies {
  db: DriftlineDb;
  /** Driftline's state directory: local training jobs run under `<home>/jobs`. */
  home: string;
  /** Where artifacts are stored by content: a directory or an s3:// prefix (default `<home>/artifacts`). */
  artifactsRoot?: string;
  /** Extra training backends (SageMaker), keyed by the trainer spec's `backend`. */
  backends?: Partial<TrainingBackends>;
}

export type ActivityImplementations = Record<string, (...args: never[]) => Promise<unknown>>;

export interface ActivitiesByQueue {
  /** Served on the `driftline` task queue: input validation (local), registry writes, evaluation, notifications. */
  orchestration: ActivityImplementations;
  /** Served on the `driftline-training` task queue: data validation, training, prediction. */
  training: ActivityImplementations;
}

export function createActivities(deps: ActivityDependencies): ActivitiesByQueue {
  const registry = new PostgresModelRegistry(deps.db);
  const artifactsRoot = deps.artifactsRoot ?? process.env.DRIFTLINE_ARTIFACTS ?? join(deps.home, 'artifacts');
  const artifacts = createArtifactStore(artifactsRoot);
  const training = createTrainingActivities({
    local: new LocalTrainingBackend(join(deps.home, 'jobs'), artifacts),
    // The client reads region, credentials and endpoint (AWS_ENDPOINT_URL) from the usual AWS settings.
    sagemaker: new SageMakerTrainingBackend(new SageMakerClient({}), artifacts),
    ...deps.backends,
  });
  const compliance = createComplianceActivities({ db: deps.db, artifacts });
  return {
    orchestration: {
      ...workflowInputActivities,
      ...createRegistryActivities(registry),
      ...evaluationActivities,
      ...compliance.orchestration,
      ...createCanaryActivities({ db: deps.db, registry, artifacts, scratchDir: join(deps.home, 'canary') }),
    },
    training: { fingerprintArtifact, ...dataActivities, ...training, ...compliance.training, ...createDriftActivities({ artifactsRoot }) },
  };
}
