/**
 * The worker's probe and scrape endpoint (node:http), for Kubernetes and Prometheus:
 *
 * - `GET /healthz`: 200 while the process serves HTTP (liveness).
 * - `GET /readyz`: 200 when every worker is RUNNING and the Temporal server answers; 503 with the
 *   reasons otherwise, and at once after SIGTERM (readiness).
 * - `GET /metrics`: Prometheus text (see metrics.ts).
 *
 * Port `DRIFTLINE_HEALTH_PORT` or `--health-port` (9464 when the flag has no value).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export const DEFAULT_HEALTH_PORT = 9464;

export interface Readiness {
  ready: boolean;
  /** Why not, for a person reading `kubectl describe` or curl. */
  reasons: string[];
}

export interface HealthServerOptions {
  port: number;
  host: string;
  readiness: () => Promise<Readiness>;
  metrics: () => Promise<string>;
}

export interface HealthServer {
  readonly port: number;
  readonly url: string;
  close(): Promise<void>;
}

export async function startHealthServer(options: HealthServerOptions): Promise<HealthServer> {
  const server: Server = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://localhost').pathname;
    const reply = (status: number, type: string, body: string) => {
      response.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' }).end(request.method === 'HEAD' ? undefined : body);
    };
    if (request.method !== 'GET' && request.method !== 'HEAD') return reply(405, 'text/plain', 'method not allowed\n');
    switch (path) {
      case '/healthz':
        return reply(200, 'text/plain', 'ok\n');
      case '/readyz':
        return void options.readiness().then(
          (r) => reply(r.ready ? 200 : 503, 'application/json', `${JSON.stringify(r)}\n`),
          (error: unknown) => reply(503, 'application/json', `${JSON.stringify({ ready: false, reasons: [String(error)] })}\n`),
        );
      case '/metrics':
        return void options.metrics().then(
          (text) => reply(200, 'text/plain; version=0.0.4; charset=utf-8', text),
          (error: unknown) => reply(500, 'text/plain', `metrics unavailable: ${String(error)}\n`),
        );
      default:
        return reply(404, 'text/plain', 'not found: try /healthz, /readyz or /metrics\n');
    }
  });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(options.port, options.host, resolve));
  const { port } = server.address() as AddressInfo;
  const shownHost = options.host === '0.0.0.0' || options.host === '::' ? '127.0.0.1' : options.host;
  return {
    port,
    url: `http://${shownHost}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
