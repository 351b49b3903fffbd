/**
 * The `sagemaker` deployment target: a real-time endpoint whose production variants carry the
 * traffic weights.
 *
 * - Candidate already a production variant of the endpoint's configuration: only
 *   `UpdateEndpointWeightsAndCapacities` is used, at each step and on rollback.
 * - Otherwise (the candidate's `modelName` is given): a new endpoint configuration with the original
 *   production variants plus the candidate — as a shadow variant for the shadow phase, as a production
 *   variant at weight 0 for the steps — is put in place with `UpdateEndpoint`, then the weights move
 *   with `UpdateEndpointWeightsAndCapacities`. Rollback sets the candidate's weight to 0 at once and
 *   then returns the endpoint to its original configuration.
 *
 * Configuration names are derived from the deployment id, so a retry finds what an earlier attempt
 * created instead of creating another.
 */
import {
  DescribeEndpointCommand,
  DescribeEndpointConfigCommand,
  CreateEndpointConfigCommand,
  UpdateEndpointCommand,
  UpdateEndpointWeightsAndCapacitiesCommand,
  type DescribeEndpointCommandOutput,
  type ProductionVariant,
  type SageMakerClient,
} from '@aws-sdk/client-sagemaker';
import { createHash } from 'node:crypto';
import type { SageMakerTarget, TrafficWeights } from '../../core/canary.ts';
import type { JsonValue } from '../db/schema.ts';
import { TargetError, type DeploymentTargetAdapter, type PrepareRequest, type PreparedTarget, type TrafficRequest } from './port.ts';

interface Snapshot {
  endpointConfigName: string;
  candidateInConfig: boolean;
  weights: Record<string, number>;
}

export interface SageMakerTargetOptions {
  /** A client for the target's region (the SDK's usual settings give credentials and endpoint). */
  client: (region: string | undefined) => SageMakerClient;
  pollIntervalMs?: number;
  /** Called while waiting for an endpoint update (activities heartbeat here). */
  heartbeat?: (detail: string) => void;
  waitTimeoutMs?: number;
}

export class SageMakerEndpointTarget implements DeploymentTargetAdapter<SageMakerTarget> {
  constructor(private readonly options: SageMakerTargetOptions) {}

  async prepare(request: PrepareRequest<SageMakerTarget>): Promise<PreparedTarget> {
    const { target } = request;
    const client = this.options.client(target.region);
    const endpoint = await this.describe(client, target.endpointName);
    if (endpoint.EndpointStatus !== 'InService') throw new Error(`endpoint ${target.endpointName} is ${endpoint.EndpointStatus}, not InService: waiting`);
    const configName = endpoint.EndpointConfigName!;
    const config = await client.send(new DescribeEndpointConfigCommand({ EndpointConfigName: configName }));
    const production = config.ProductionVariants ?? [];
    if (!production.some((v) => v.VariantName === target.baselineVariant)) {
      throw new TargetError(`endpoint ${target.endpointName} (configuration ${configName}) has no production variant "${target.baselineVariant}"; it has ${production.map((v) => v.VariantName).join(', ') || 'none'}`);
    }
    const candidateInConfig = production.some((v) => v.VariantName === target.candidateVariant.name);
    if (!candidateInConfig && !target.candidateVariant.modelName) {
      throw new TargetError(`variant "${target.candidateVariant.name}" is not in endpoint configuration ${configName}: give candidateVariant.modelName to add it`);
    }
    if (request.shadow && candidateInConfig) {
      throw new TargetError(`a shadow phase needs the candidate as a new shadow variant, but "${target.candidateVariant.name}" already serves in ${configName}: drop the shadow phase or use a new variant`);
    }
    const weights: Record<string, number> = {};
    for (const v of endpoint.ProductionVariants ?? []) weights[v.VariantName!] = v.CurrentWeight ?? v.DesiredWeight ?? 0;
    for (const v of production) if (weights[v.VariantName!] === undefined) weights[v.VariantName!] = v.InitialVariantWeight ?? 0;
    const snapshot: Snapshot = { endpointConfigName: configName, candidateInConfig, weights };
    return {
      kind: 'sagemaker',
      snapshot: snapshot as unknown as JsonValue,
      description: `endpoint ${target.endpointName} on configuration ${configName} (${Object.entries(weights).map(([n, w]) => `${n}=${w}`).join(', ')})`,
    };
  }

  async setTraffic(request: TrafficRequest<SageMakerTarget>): Promise<TrafficWeights> {
    const { target, weights } = request;
    const client = this.options.client(target.region);
    const snapshot = request.prepared.snapshot as unknown as Snapshot;
    if (weights.shadow) {
      await this.useConfig(client, target, await this.ensureConfig(client, target, snapshot, request.deploymentId, 'shadow'));
      return weights;
    }
    if (!snapshot.candidateInConfig) await this.useConfig(client, target, await this.ensureConfig(client, target, snapshot, request.deploymentId, 'canary'));
    await client.send(
      new UpdateEndpointWeightsAndCapacitiesCommand({
        EndpointName: target.endpointName,
        DesiredWeightsAndCapacities: [
          { VariantName: target.baselineVariant, DesiredWeight: weights.baseline / 100 },
          { VariantName: target.candidateVariant.name, DesiredWeight: weights.candidate / 100 },
        ],
      }),
    );
    return this.effectiveWeights(await this.waitInService(client, target.endpointName), target);
  }

  async restore(request: Omit<TrafficRequest<SageMakerTarget>, 'weights'>): Promise<TrafficWeights> {
    const { target } = request;
    const client = this.options.client(target.region);
    const snapshot = request.prepared.snapshot as unknown as Snapshot;
    let endpoint = await this.waitInService(client, target.endpointName);
    const serving = (endpoint.ProductionVariants ?? []).map((v) => v.VariantName);
    if (serving.includes(target.candidateVariant.name)) {
      // stop the candidate's traffic at once; a configuration change takes minutes
      await client.send(
        new UpdateEndpointWeightsAndCapacitiesCommand({
          EndpointName: target.endpointName,
          DesiredWeightsAndCapacities: [
            { VariantName: target.baselineVariant, DesiredWeight: snapshot.weights[target.baselineVariant] ?? 1 },
            { VariantName: target.candidateVariant.name, DesiredWeight: snapshot.candidateInConfig ? (snapshot.weights[target.candidateVariant.name] ?? 0) : 0 },
          ],
        }),
      );
      endpoint = await this.waitInService(client, target.endpointName);
    }
    if (endpoint.EndpointConfigName !== snapshot.endpointConfigName) {
      await client.send(new UpdateEndpointCommand({ EndpointName: target.endpointName, EndpointConfigName: snapshot.endpointConfigName }));
      endpoint = await this.waitInService(client, target.endpointName);
    }
    return this.effectiveWeights(endpoint, target);
  }

  /** The configuration for a phase, created once under a name derived from the deployment. */
  private async ensureConfig(client: SageMakerClient, target: SageMakerTarget, snapshot: Snapshot, deploymentId: string, phase: 'shadow' | 'canary'): Promise<string> {
    const suffix = createHash('sha256').update(deploymentId).digest('hex').slice(0, 10);
    const name = `${target.endpointName.slice(0, 38)}-${suffix}-${phase}`;
    try {
      await client.send(new DescribeEndpointConfigCommand({ EndpointConfigName: name }));
      return name;
    } catch (error) {
      if (!isValidationError(error)) throw error;
    }
    const original = await client.send(new DescribeEndpointConfigCommand({ EndpointConfigName: snapshot.endpointConfigName }));
    const production = (original.ProductionVariants ?? []).map((v) => ({ ...v }));
    const candidate: ProductionVariant = {
      VariantName: target.candidateVariant.name,
      ModelName: target.candidateVariant.modelName!,
      InstanceType: target.candidateVariant.instanceType as ProductionVariant['InstanceType'],
      InitialInstanceCount: target.candidateVariant.initialInstanceCount,
      InitialVariantWeight: phase === 'shadow' ? 1 : 0,
    };
    await client.send(
      new CreateEndpointConfigCommand({
        EndpointConfigName: name,
        ProductionVariants: phase === 'canary' ? [...production, candidate] : production,
        ...(phase === 'shadow' ? { ShadowProductionVariants: [candidate] } : {}),
        ...(original.DataCaptureConfig ? { DataCaptureConfig: original.DataCaptureConfig } : {}),
        ...(original.KmsKeyId ? { KmsKeyId: original.KmsKeyId } : {}),
        Tags: [{ Key: 'driftline:deployment', Value: deploymentId.slice(0, 256) }],
      }),
    );
    return name;
  }

  private async useConfig(client: SageMakerClient, target: SageMakerTarget, configName: string): Promise<void> {
    const endpoint = await this.waitInService(client, target.endpointName);
    if (endpoint.EndpointConfigName === configName) return;
    await client.send(new UpdateEndpointCommand({ EndpointName: target.endpointName, EndpointConfigName: configName, RetainAllVariantProperties: false }));
    await this.waitInService(client, target.endpointName);
  }

  private effectiveWeights(endpoint: DescribeEndpointCommandOutput, target: SageMakerTarget): TrafficWeights {
    const weightOf = (name: string) => {
      const v = (endpoint.ProductionVariants ?? []).find((p) => p.VariantName === name);
      return v?.CurrentWeight ?? v?.DesiredWeight ?? 0;
    };
    const b = weightOf(target.baselineVariant);
    const c = weightOf(target.candidateVariant.name);
    const total = b + c;
    const candidate = total > 0 ? Math.round((1000 * c) / total) / 10 : 0;
    const shadow = (endpoint.ShadowProductionVariants ?? []).some((v) => v.VariantName === target.candidateVariant.name);
    return { baseline: Math.round((100 - candidate) * 10) / 10, candidate, shadow };
  }

  private async describe(client: SageMakerClient, name: string): Promise<DescribeEndpointCommandOutput> {
    try {
      return await client.send(new DescribeEndpointCommand({ EndpointName: name }));
    } catch (error) {
      if (isValidationError(error)) throw new TargetError(`SageMaker has no endpoint named "${name}": ${(error as Error).message}`);
      throw error;
    }
  }

  private async waitInService(client: SageMakerClient, name: string): Promise<DescribeEndpointCommandOutput> {
    const deadline = Date.now() + (this.options.waitTimeoutMs ?? 60 * 60_000);
    for (;;) {
      const endpoint = await this.describe(client, name);
      if (endpoint.EndpointStatus === 'InService') return endpoint;
      if (endpoint.EndpointStatus === 'Failed') throw new TargetError(`endpoint ${name} failed: ${endpoint.FailureReason ?? 'no reason given'}`);
      if (Date.now() > deadline) throw new Error(`endpoint ${name} is still ${endpoint.EndpointStatus}`);
      this.options.heartbeat?.(`endpoint ${name} is ${endpoint.EndpointStatus}`);
      await new Promise((r) => setTimeout(r, this.options.pollIntervalMs ?? 5_000));
    }
  }
}

function isValidationError(error: unknown): boolean {
  const name = (error as { name?: string }).name ?? '';
  return name === 'ValidationException' || name === 'ValidationError' || /could not find/i.test((error as Error).message ?? '');
}
