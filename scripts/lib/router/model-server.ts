/**
 * The built-in model server for the example trainer's models (`model.json` of kind
 * `logistic-regression`, written by scripts/examples/trainers/logistic-regression.mjs): loads the
 * file once and answers `POST /predict` with the same encoding and sigmoid the trainer's `predict`
 * uses, so a canary can put a registered version behind the router without any other serving stack.
 *
 *   POST /predict  {"rows": [{"income": 55.1, "employment": "salaried", …}]}  (or "instances", or one row)
 *     → {"predictions": [{"prediction": 0, "probability": 0.1234}], "model": {"sha256": "…"}}
 *   GET  /healthz  → {"ok": true, "kind": "logistic-regression", "sha256": "…", "features": […]}
 *
 * `faults` injects failures for drills and tests: a share of requests answered 500, extra latency.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { closeServer, HttpError, listen, readJson, sendError, sendJson } from './http.ts';

const encoderSchema = z.array(
  z.discriminatedUnion('kind', [
    z.object({ name: z.string(), kind: z.literal('numeric'), mean: z.number(), std: z.number() }),
    z.object({ name: z.string(), kind: z.literal('categorical'), levels: z.array(z.string()) }),
  ]),
);
export const logisticModelSchema = z.object({
  kind: z.literal('logistic-regression'),
  label: z.string(),
  encoder: encoderSchema,
  weights: z.array(z.number()),
});
export type LogisticModel = z.infer<typeof logisticModelSchema>;

export interface ModelServerOptions {
  /** Path or file:// URI of a model.json from the example trainer. */
  model: string;
  host?: string;
  port?: number;
  faults?: { errorRate?: number; extraLatencyMs?: number };
}

export interface ModelServer {
  url: string;
  sha256: string;
  server: Server;
  /** Requests answered so far (including injected failures). */
  requests(): number;
  setFaults(faults: { errorRate?: number; extraLatencyMs?: number }): void;
  close(): Promise<void>;
}

export async function loadLogisticModel(location: string): Promise<{ model: LogisticModel; sha256: string }> {
  const path = location.startsWith('file://') ? fileURLToPath(location) : location;
  const bytes = await readFile(path);
  let parsed: unknown;
  try {
    parsed = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new Error(`${location} is not JSON: the built-in model server loads model.json files of the example trainer`);
  }
  const result = logisticModelSchema.safeParse(parsed);
  if (!result.success) throw new Error(`${location} is not a logistic-regression model of the example trainer: ${result.error.issues[0]!.message}`);
  if (result.data.weights.length !== 1 + result.data.encoder.reduce((n, f) => n + (f.kind === 'numeric' ? 1 : f.levels.length), 0)) {
    throw new Error(`${location}: the weights do not match the encoder`);
  }
  return { model: result.data, sha256: createHash('sha256').update(bytes).digest('hex') };
}

/** The probability of the positive class for one row (the trainer's encoding: intercept, standardised numbers, one-hot levels). */
export function predictRow(model: LogisticModel, row: Record<string, unknown>): number {
  let z = model.weights[0]!;
  let j = 1;
  for (const feature of model.encoder) {
    const raw = row[feature.name];
    if (feature.kind === 'numeric') {
      const value = typeof raw === 'number' ? raw : Number(raw);
      if (raw === undefined || raw === null || raw === '' || !Number.isFinite(value)) {
        throw new HttpError(400, `feature "${feature.name}" must be a number`);
      }
      z += model.weights[j++]! * ((value - feature.mean) / feature.std);
    } else {
      if (raw === undefined || raw === null) throw new HttpError(400, `feature "${feature.name}" is missing`);
      const text = String(raw);
      for (const level of feature.levels) z += model.weights[j++]! * (text === level ? 1 : 0);
    }
  }
  return 1 / (1 + Math.exp(-z));
}

export async function startModelServer(options: ModelServerOptions): Promise<ModelServer> {
  const { model, sha256 } = await loadLogisticModel(options.model);
  let faults = { errorRate: 0, extraLatencyMs: 0, ...options.faults };
  let served = 0;
  const server = createServer((request, response) => {
    void (async () => {
      try {
        const path = new URL(request.url ?? '/', 'http://localhost').pathname;
        if (request.method === 'GET' && path === '/healthz') {
          return sendJson(response, 200, { ok: true, kind: model.kind, sha256, features: model.encoder.map((f) => f.name) });
        }
        if (request.method !== 'POST' || path !== '/predict') throw new HttpError(404, 'expected POST /predict or GET /healthz');
        const body = await readJson(request);
        served++;
        if (faults.extraLatencyMs > 0) await new Promise((r) => setTimeout(r, faults.extraLatencyMs));
        if (faults.errorRate > 0 && Math.random() < faults.errorRate) throw new HttpError(500, 'injected failure');
        const rows = rowsOf(body);
        const predictions = rows.map((row) => {
          const probability = predictRow(model, row);
          return { prediction: probability >= 0.5 ? 1 : 0, probability: Number(probability.toFixed(8)) };
        });
        sendJson(response, 200, { predictions, model: { sha256 } });
      } catch (error) {
        sendError(response, error);
      }
    })();
  });
  const url = await listen(server, options.host ?? '127.0.0.1', options.port ?? 0);
  return {
    url,
    sha256,
    server,
    requests: () => served,
    setFaults(next) {
      faults = { errorRate: 0, extraLatencyMs: 0, ...next };
    },
    close: () => closeServer(server),
  };
}

function rowsOf(body: unknown): Array<Record<string, unknown>> {
  if (body && typeof body === 'object' && !Array.isArray(body)) {
    const object = body as Record<string, unknown>;
    const list = object.rows ?? object.instances;
    if (Array.isArray(list)) {
      if (list.length === 0 || list.length > 1000) throw new HttpError(400, 'send 1 to 1000 rows');
      return list.map((row) => {
        if (!row || typeof row !== 'object' || Array.isArray(row)) throw new HttpError(400, 'each row must be an object of features');
        return row as Record<string, unknown>;
      });
    }
    return [object];
  }
  throw new HttpError(400, 'expected {"rows": [{…features…}]}');
}
