/**
 * `driftline serve`: the local inference router in front of model servers.
 *
 *   POST /models/<model>/predict      forwarded to the baseline or the candidate (sticky by the
 *                                     `x-driftline-key` header; a request without one gets a random key)
 *   PUT|GET|DELETE /admin/routes/<model>   the route (variant URLs, weights, shadow) — set by the deploy activity
 *   PUT|GET /admin/servers/<model>/v<n>    a model server the router hosts for a registered version (hosted-models.ts)
 *   GET /metrics                      Prometheus text format
 *   GET /healthz
 *
 * Shadow mirroring: while a route's `shadow` is on, every request served by the baseline is also
 * sent to the candidate; the candidate's answer is recorded with the baseline's answer to the same
 * request (for the divergence test) and is never returned: the client's response is built from the
 * primary answer only, and it is sent without waiting for the mirror.
 *
 * Every answer becomes a record (variant, role, status, latency, prediction) batched into
 * `deployment_requests` when a database is given, and a sample in the `/metrics` series. Routes are
 * saved to `router_routes`, so a restarted router serves what it served before.
 */
import { randomUUID } from 'node:crypto';
import { Agent, createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { request as httpsRequest, Agent as HttpsAgent } from 'node:https';
import { routerRouteSchema, type RouterRoute } from '../../../core/canary.ts';
import { routesToCandidate } from '../../../core/canary/routing.ts';
import { MODEL_NAME_PATTERN } from '../../../core/registry.ts';
import type { DriftlineDb } from '../../../activities/db/database.ts';
import { closeServer, HttpError, listen, readBody, readJson, sendError, sendJson } from './http.ts';
import { RouterMetrics } from './metrics.ts';
import { RecordWriter } from './records.ts';
import { HostedModels } from './hosted-models.ts';

export interface RouterOptions {
  host?: string;
  port?: number;
  /** Where records and routes are kept; without one the router only routes and serves /metrics. */
  db?: DriftlineDb | null;
  /** Names this router's saved routes (several routers may share a database). */
  routerId?: string;
  /** When set, admin requests must carry `authorization: Bearer <token>`. */
  adminToken?: string;
  upstreamTimeoutMs?: number;
  flushIntervalMs?: number;
}

export interface Router {
  url: string;
  routes(): Map<string, RouterRoute>;
  /** Writes the buffered records now (tests and shutdown). */
  flush(): Promise<void>;
  stats(): { served: number; mirrored: number; recordsWritten: number; recordsDropped: number; lastWriteError: string | null };
  close(): Promise<void>;
}

interface Answer {
  status: number;
  body: Buffer;
  contentType: string;
  latencyMs: number;
  error: boolean;
  prediction: number | null;
  label: number | null;
}

export async function startRouter(options: RouterOptions = {}): Promise<Router> {
  const db = options.db ?? null;
  const routerId = options.routerId ?? 'default';
  const timeoutMs = options.upstreamTimeoutMs ?? 10_000;
  const routes = new Map<string, RouterRoute>();
  const hostedModels = new HostedModels(options.host ?? '127.0.0.1');
  const metrics = new RouterMetrics();
  const records = new RecordWriter(db, { intervalMs: options.flushIntervalMs ?? 200, batchSize: 500, maxBuffered: 200_000 });
  const agent = new Agent({ keepAlive: true, maxSockets: 256 });
  const httpsAgent = new HttpsAgent({ keepAlive: true, maxSockets: 256 });
  const mirrors = new Set<Promise<void>>();
  let served = 0;
  let mirrored = 0;

  if (db) {
    for (const row of await db.selectFrom('router_routes').selectAll().where('router_id', '=', routerId).execute()) {
      const parsed = routerRouteSchema.safeParse(row.route);
      if (parsed.success) {
        routes.set(row.model_name, parsed.data);
        metrics.setWeights(row.model_name, parsed.data.weights);
      }
    }
  }

  function forward(url: string, path: string, body: Buffer, headers: IncomingMessage['headers']): Promise<Answer> {
    const target = new URL(path, url.endsWith('/') ? url : `${url}/`);
    const started = performance.now();
    return new Promise((resolve) => {
      const done = (answer: Omit<Answer, 'latencyMs'>) => resolve({ ...answer, latencyMs: performance.now() - started });
      const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
      const upstream = send(
        target,
        {
          method: 'POST',
          agent: target.protocol === 'https:' ? httpsAgent : agent,
          headers: { 'content-type': headers['content-type'] ?? 'application/json', 'content-length': body.length },
          timeout: timeoutMs,
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('end', () => {
            const payload = Buffer.concat(chunks);
            const status = response.statusCode ?? 502;
            const { prediction, label } = status < 400 ? firstPrediction(payload) : { prediction: null, label: null };
            done({ status, body: payload, contentType: String(response.headers['content-type'] ?? 'application/json'), error: status >= 500, prediction, label });
          });
          response.on('error', () => done(failure(502, 'the model server broke off its answer')));
        },
      );
      upstream.on('timeout', () => upstream.destroy(new Error('timeout')));
      upstream.on('error', (error) =>
        done(failure(error.message === 'timeout' ? 504 : 502, error.message === 'timeout' ? `the model server did not answer within ${timeoutMs} ms` : `the model server does not answer: ${error.message}`)),
      );
      upstream.end(body);
    });
  }

  async function predict(model: string, request: IncomingMessage, response: ServerResponse): Promise<void> {
    const route = routes.get(model);
    if (!route) throw new HttpError(404, `no route for model "${model}" on this router`);
    const key = headerValue(request.headers['x-driftline-key']) ?? randomUUID();
    const body = await readBody(request);
    const toCandidate = route.candidateUrl !== null && routesToCandidate(key, route.weights.candidate);
    const variant = toCandidate ? 'candidate' : 'baseline';
    const primaryUrl = toCandidate ? route.candidateUrl! : route.baselineUrl;
    const primary = forward(primaryUrl, 'predict', body, request.headers);
    if (route.weights.shadow && route.candidateUrl && !toCandidate) {
      mirrored++;
      const mirror = forward(route.candidateUrl, 'predict', body, request.headers);
      const pending = Promise.all([primary, mirror]).then(([p, m]) => {
        metrics.observe({ model, deployment: route.deploymentId, variant: 'candidate', role: 'shadow' }, m);
        records.add({
          ...recordOf(model, route, 'candidate', 'shadow', key, m),
          paired_error: p.error,
          paired_latency_ms: p.latencyMs,
          paired_prediction: p.prediction,
          paired_label: p.label,
        });
      });
      mirrors.add(pending);
      void pending.finally(() => mirrors.delete(pending));
    }
    const answer = await primary;
    served++;
    metrics.observe({ model, deployment: route.deploymentId, variant, role: 'primary' }, answer);
    records.add(recordOf(model, route, variant, 'primary', key, answer));
    response.writeHead(answer.status, {
      'content-type': answer.contentType,
      'content-length': answer.body.length,
      'x-driftline-variant': variant,
      'x-driftline-deployment': route.deploymentId,
    });
    response.end(answer.body);
  }

  function authorize(request: IncomingMessage): void {
    if (options.adminToken && request.headers.authorization !== `Bearer ${options.adminToken}`) throw new HttpError(401, 'admin requests need the router\'s token');
  }

  async function hostedServer(model: string, version: number, request: IncomingMessage, response: ServerResponse): Promise<void> {
    authorize(request);
    if (request.method === 'GET') {
      const hosted = hostedModels.get(model, version);
      if (!hosted) throw new HttpError(404, `this router hosts no server for ${model} v${version}`);
      return sendJson(response, 200, hosted);
    }
    if (request.method !== 'PUT') throw new HttpError(405, 'use GET or PUT');
    const body = (await readJson(request)) as { artifact?: unknown } | null;
    if (typeof body?.artifact !== 'string' || body.artifact.length === 0) throw new HttpError(400, 'expected {"artifact": "<path or file:// URI of the model>"}');
    return sendJson(response, 200, await hostedModels.serve(model, version, body.artifact));
  }

  async function admin(model: string, request: IncomingMessage, response: ServerResponse): Promise<void> {
    authorize(request);
    if (request.method === 'GET') {
      const route = routes.get(model);
      if (!route) throw new HttpError(404, `no route for model "${model}"`);
      return sendJson(response, 200, route);
    }
    if (request.method === 'DELETE') {
      routes.delete(model);
      metrics.setWeights(model, null);
      if (db) await db.deleteFrom('router_routes').where('router_id', '=', routerId).where('model_name', '=', model).execute();
      return sendJson(response, 200, { deleted: model });
    }
    if (request.method !== 'PUT') throw new HttpError(405, 'use GET, PUT or DELETE');
    const parsed = routerRouteSchema.safeParse(await readJson(request));
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new HttpError(400, `invalid route: ${issue.path.join('.')}: ${issue.message}`);
    }
    const next = parsed.data;
    const current = routes.get(model);
    // A retried or delayed older write must not undo a newer one.
    if (current && current.deploymentId === next.deploymentId && current.generation > next.generation) {
      return sendJson(response, 409, { error: `route generation ${next.generation} is older than the current ${current.generation}`, current });
    }
    if (db) {
      const now = new Date();
      await db
        .insertInto('router_routes')
        .values({ router_id: routerId, model_name: model, route: JSON.stringify(next), updated_at: now })
        .onConflict((oc) => oc.columns(['router_id', 'model_name']).doUpdateSet({ route: JSON.stringify(next), updated_at: now }))
        .execute();
    }
    routes.set(model, next);
    metrics.setWeights(model, next.weights);
    sendJson(response, 200, next);
  }

  const server = createServer((request, response) => {
    void (async () => {
      try {
        const path = new URL(request.url ?? '/', 'http://localhost').pathname;
        const predictMatch = /^\/models\/([^/]+)\/predict$/.exec(path);
        const adminMatch = /^\/admin\/routes\/([^/]+)$/.exec(path);
        const serverMatch = /^\/admin\/servers\/([^/]+)\/v(\d{1,9})$/.exec(path);
        if (serverMatch) return await hostedServer(modelName(serverMatch[1]!), Number(serverMatch[2]), request, response);
        if (predictMatch && request.method === 'POST') return await predict(modelName(predictMatch[1]!), request, response);
        if (adminMatch) return await admin(modelName(adminMatch[1]!), request, response);
        if (request.method === 'GET' && path === '/metrics') {
          const text = metrics.render();
          response.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8', 'content-length': Buffer.byteLength(text) });
          return response.end(text);
        }
        if (request.method === 'GET' && path === '/healthz') {
          return sendJson(response, 200, { ok: true, routes: [...routes.keys()], records: { written: records.written, dropped: records.dropped, lastError: records.lastError } });
        }
        throw new HttpError(404, 'expected POST /models/<model>/predict, /admin/routes/<model>, GET /metrics or GET /healthz');
      } catch (error) {
        sendError(response, error);
      }
    })();
  });
  server.keepAliveTimeout = 30_000;
  const url = await listen(server, options.host ?? '127.0.0.1', options.port ?? 0);

  return {
    url,
    routes: () => routes,
    async flush() {
      await Promise.all([...mirrors]);
      await records.flush();
    },
    stats: () => ({ served, mirrored, recordsWritten: records.written, recordsDropped: records.dropped, lastWriteError: records.lastError }),
    async close() {
      await closeServer(server);
      await hostedModels.closeAll();
      await Promise.all([...mirrors]);
      await records.close();
      agent.destroy();
      httpsAgent.destroy();
    },
  };
}

function recordOf(model: string, route: RouterRoute, variant: 'baseline' | 'candidate', role: 'primary' | 'shadow', key: string, answer: Answer) {
  return {
    deployment_id: route.deploymentId,
    model_name: model,
    variant,
    role,
    generation: route.generation,
    request_key: key.slice(0, 200),
    status: answer.status,
    error: answer.error,
    latency_ms: answer.latencyMs,
    prediction: answer.prediction,
    label: answer.label,
    at: new Date(),
  } as const;
}

function failure(status: number, message: string): Omit<Answer, 'latencyMs'> {
  return { status, body: Buffer.from(JSON.stringify({ error: message })), contentType: 'application/json', error: true, prediction: null, label: null };
}

/** The first prediction of a JSON answer: `{"predictions": [{"probability"|"score"|"prediction": …}]}` or `[…]`. */
export function firstPrediction(payload: Buffer): { prediction: number | null; label: number | null } {
  try {
    const body = JSON.parse(payload.toString('utf8')) as unknown;
    const list = Array.isArray(body) ? body : body && typeof body === 'object' ? (body as Record<string, unknown>).predictions : undefined;
    const first = Array.isArray(list) ? list[0] : undefined;
    if (typeof first === 'number') return { prediction: first, label: null };
    if (first && typeof first === 'object') {
      const o = first as Record<string, unknown>;
      const value = [o.probability, o.score, o.prediction].find((v) => typeof v === 'number') as number | undefined;
      return { prediction: value ?? null, label: typeof o.prediction === 'number' ? o.prediction : null };
    }
  } catch {
    // not JSON: no prediction to record
  }
  return { prediction: null, label: null };
}

function headerValue(value: string | string[] | undefined): string | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  return v && v.length > 0 ? v : undefined;
}

function modelName(raw: string): string {
  const name = decodeURIComponent(raw);
  if (!MODEL_NAME_PATTERN.test(name)) throw new HttpError(400, `"${name}" is not a model name`);
  return name;
}
