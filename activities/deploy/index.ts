/**
 * Builds the deployment and metrics activities with their default adapters: the local router
 * target, the SageMaker target and CloudWatch provider (AWS settings from the environment, or the
 * clients given), the local-records and Prometheus providers.
 */
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { SageMakerClient } from '@aws-sdk/client-sagemaker';
import type { ArtifactStore } from '../artifacts/store.ts';
import type { DriftlineDb } from '../db/database.ts';
import type { ModelRegistry } from '../registry/port.ts';
import { CloudWatchProvider } from '../metrics/cloudwatch.ts';
import { LocalRecordsProvider } from '../metrics/local-records.ts';
import { createMetricsActivities } from '../metrics/activities.ts';
import { PrometheusProvider } from '../metrics/prometheus.ts';
import { createDeployActivities, heartbeatIfActivity } from './activities.ts';
import { LocalRouterTarget } from './local-router.ts';
import { SageMakerEndpointTarget } from './sagemaker-endpoint.ts';

export interface CanaryActivityDependencies {
  db: DriftlineDb;
  registry: ModelRegistry;
  artifacts: ArtifactStore;
  scratchDir: string;
  /** Client factories per region; default: the SDK's usual settings (AWS_REGION, AWS_ENDPOINT_URL, …). */
  sagemaker?: (region: string | undefined) => SageMakerClient;
  cloudwatch?: (region: string | undefined) => CloudWatchClient;
  /** How often to poll an endpoint that is updating (default 5 s). */
  endpointPollMs?: number;
}

export function createCanaryActivities(deps: CanaryActivityDependencies) {
  const sagemakerClients = new Map<string, SageMakerClient>();
  const cloudwatchClients = new Map<string, CloudWatchClient>();
  const sagemaker = deps.sagemaker ?? ((region) => cached(sagemakerClients, region, () => new SageMakerClient(region ? { region } : {})));
  const cloudwatch = deps.cloudwatch ?? ((region) => cached(cloudwatchClients, region, () => new CloudWatchClient(region ? { region } : {})));
  return {
    ...createDeployActivities({
      db: deps.db,
      registry: deps.registry,
      artifacts: deps.artifacts,
      scratchDir: deps.scratchDir,
      targets: {
        local: new LocalRouterTarget(),
        sagemaker: new SageMakerEndpointTarget({ client: sagemaker, heartbeat: heartbeatIfActivity, pollIntervalMs: deps.endpointPollMs ?? 5_000 }),
      },
    }),
    ...createMetricsActivities({
      local: new LocalRecordsProvider(deps.db),
      cloudwatch: new CloudWatchProvider(cloudwatch),
      prometheus: new PrometheusProvider(),
    }),
  };
}

export type CanaryActivities = ReturnType<typeof createCanaryActivities>;

function cached<T>(map: Map<string, T>, region: string | undefined, make: () => T): T {
  const key = region ?? '';
  let client = map.get(key);
  if (!client) {
    client = make();
    map.set(key, client);
  }
  return client;
}
