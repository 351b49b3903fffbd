/**
 * The `local` deployment target: a `driftline serve` router, driven through its admin endpoint.
 * Variants are model-server URLs; the router does weighted, sticky routing and shadow mirroring.
 */
import { routerRouteSchema, type LocalTarget, type RouterRoute, type TrafficWeights } from '../../core/canary.ts';
import type { JsonValue } from '../db/schema.ts';
import { TargetError, type DeploymentTargetAdapter, type PrepareRequest, type PreparedTarget, type TrafficRequest } from './port.ts';

const TIMEOUT_MS = 5_000;

export class LocalRouterTarget implements DeploymentTargetAdapter<LocalTarget> {
  /** The router's admin token (`DRIFTLINE_ROUTER_TOKEN`), when it has one. */
  constructor(private readonly adminToken: string | undefined = process.env.DRIFTLINE_ROUTER_TOKEN) {}

  async prepare(request: PrepareRequest<LocalTarget>): Promise<PreparedTarget> {
    const { target, model } = request;
    await answers(`${target.routerUrl.replace(/\/$/, '')}/healthz`, 'the router');
    await answers(`${target.baselineUrl.replace(/\/$/, '')}/healthz`, 'the baseline model server');
    await answers(`${target.candidateUrl.replace(/\/$/, '')}/healthz`, 'the candidate model server');
    const current = await this.readRoute(target, model);
    if (current && current.deploymentId !== request.deploymentId && isActive(current)) {
      throw new TargetError(
        `model "${model}" is already in canary ${current.deploymentId} on ${target.routerUrl} (candidate ${current.weights.candidate}%${current.weights.shadow ? ', shadow' : ''}); finish or abort it first`,
      );
    }
    const previous = current && current.deploymentId === request.deploymentId ? null : current;
    return {
      kind: 'local',
      snapshot: { previousRoute: previous as unknown as JsonValue },
      description: previous ? `router ${target.routerUrl} routed ${model} to ${previous.candidateUrl && previous.weights.candidate === 100 ? previous.candidateUrl : previous.baselineUrl}` : `router ${target.routerUrl} had no route for ${model}`,
    };
  }

  async setTraffic(request: TrafficRequest<LocalTarget>): Promise<TrafficWeights> {
    const route: RouterRoute = {
      deploymentId: request.deploymentId,
      generation: request.generation,
      baselineUrl: request.target.baselineUrl,
      candidateUrl: request.target.candidateUrl,
      weights: request.weights,
    };
    return (await this.writeRoute(request.target, request.model, route)).weights;
  }

  async restore(request: Omit<TrafficRequest<LocalTarget>, 'weights'>): Promise<TrafficWeights> {
    const snapshot = request.prepared.snapshot as { previousRoute?: RouterRoute | null } | null;
    const previous = snapshot?.previousRoute ? routerRouteSchema.safeParse(snapshot.previousRoute) : null;
    if (previous?.success) {
      // the route as it was, written under this canary's id so that no later write of ours can be mistaken for it
      const restored = { ...previous.data, deploymentId: request.deploymentId, generation: request.generation };
      await this.writeRoute(request.target, request.model, restored);
      return previous.data.weights;
    }
    const route: RouterRoute = {
      deploymentId: request.deploymentId,
      generation: request.generation,
      baselineUrl: request.target.baselineUrl,
      candidateUrl: null,
      weights: { baseline: 100, candidate: 0, shadow: false },
    };
    return (await this.writeRoute(request.target, request.model, route)).weights;
  }

  /**
   * The full local target for a pipeline's candidate: the router hosts a model server for the
   * candidate's artifact, and the baseline is the server the router sends the model's traffic to now.
   */
  async targetForCandidate(routerUrl: string, model: string, version: number, artifactUri: string): Promise<LocalTarget> {
    const base = routerUrl.replace(/\/$/, '');
    await answers(`${base}/healthz`, 'the router');
    const current = await this.readRoute({ kind: 'local', routerUrl, baselineUrl: routerUrl, candidateUrl: routerUrl }, model);
    if (!current) throw new TargetError(`the router at ${routerUrl} serves no route for "${model}": put the production version behind it first (PUT /admin/routes/${model})`);
    if (isActive(current)) throw new TargetError(`model "${model}" is already in canary ${current.deploymentId} on ${routerUrl}; finish or abort it first`);
    const servingUrl = current.candidateUrl && current.weights.candidate === 100 ? current.candidateUrl : current.baselineUrl;
    const response = await call(`${base}/admin/servers/${encodeURIComponent(model)}/v${version}`, {
      method: 'PUT',
      headers: { ...this.headers(), 'content-type': 'application/json' },
      body: JSON.stringify({ artifact: artifactUri }),
    });
    if (response.status === 400 || response.status === 401 || response.status === 409) throw new TargetError(`the router cannot host ${model} v${version}: ${await response.text()}`);
    if (!response.ok) throw new Error(`the router answered ${response.status} when asked to host ${model} v${version}: ${await response.text()}`);
    const hosted = (await response.json()) as { url: string };
    return { kind: 'local', routerUrl, baselineUrl: servingUrl, candidateUrl: hosted.url };
  }

  private async readRoute(target: LocalTarget, model: string): Promise<RouterRoute | null> {
    const response = await call(`${routesUrl(target, model)}`, { method: 'GET', headers: this.headers() });
    if (response.status === 404) return null;
    if (!response.ok) throw new TargetError(`the router refused to show its route for ${model}: ${response.status} ${await response.text()}`);
    const parsed = routerRouteSchema.safeParse(await response.json());
    return parsed.success ? parsed.data : null;
  }

  private async writeRoute(target: LocalTarget, model: string, route: RouterRoute): Promise<RouterRoute> {
    const response = await call(routesUrl(target, model), {
      method: 'PUT',
      headers: { ...this.headers(), 'content-type': 'application/json' },
      body: JSON.stringify(route),
    });
    if (response.status === 409) {
      // a newer change of this canary is already in place: report what is in effect
      const body = (await response.json()) as { current: RouterRoute };
      return body.current;
    }
    if (response.status === 400 || response.status === 401) throw new TargetError(`the router refused the route: ${await response.text()}`);
    if (!response.ok) throw new Error(`the router answered ${response.status} when setting the route: ${await response.text()}`);
    const applied = routerRouteSchema.parse(await response.json());
    return applied;
  }

  private headers(): Record<string, string> {
    return this.adminToken ? { authorization: `Bearer ${this.adminToken}` } : {};
  }
}

function isActive(route: RouterRoute): boolean {
  return route.weights.shadow || (route.candidateUrl !== null && route.weights.candidate > 0 && route.weights.candidate < 100);
}

function routesUrl(target: LocalTarget, model: string): string {
  return `${target.routerUrl.replace(/\/$/, '')}/admin/routes/${encodeURIComponent(model)}`;
}

async function answers(url: string, what: string): Promise<void> {
  const response = await call(url, { method: 'GET' }).catch((error: Error) => {
    throw new Error(`${what} at ${new URL(url).origin} does not answer (${error instanceof NoAnswer ? error.reason : error.message})`);
  });
  if (!response.ok) throw new Error(`${what} at ${new URL(url).origin} is not healthy: GET ${new URL(url).pathname} answered ${response.status}`);
}

class NoAnswer extends Error {
  constructor(
    url: string,
    readonly reason: string,
  ) {
    super(`${new URL(url).origin} does not answer (${reason})`);
  }
}

async function call(url: string, init: RequestInit): Promise<Response> {
  try {
    return await fetch(url, { ...init, signal: AbortSignal.timeout(TIMEOUT_MS) });
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause;
    const reason = (error as Error).name === 'TimeoutError' ? `no answer within ${TIMEOUT_MS / 1000}s` : (cause?.code ?? (error as Error).message);
    throw new NoAnswer(url, reason);
  }
}
