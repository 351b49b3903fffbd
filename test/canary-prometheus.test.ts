/**
 * The Prometheus metrics provider against a real Prometheus server scraping the real router's
 * `/metrics` every second: the provider's windows agree with the router's own counters, and a
 * canary judged from Prometheus rolls back a candidate that fails a share of its requests.
 *
 * The server binary: $PROMETHEUS_BIN, `.driftline/bin/prometheus`, or `prometheus` on PATH
 * (`bash scripts/setup-prometheus.sh` builds it with `go install`). Without one the suite is
 * skipped, unless DRIFTLINE_REQUIRE_PROMETHEUS=1 (CI), which makes a missing binary fail the run.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PrometheusProvider } from '../activities/metrics/prometheus.ts';
import { PostgresModelRegistry } from '../activities/registry/postgres-registry.ts';
import type { CanaryOutcome, MetricsSource } from '../core/canary.ts';
import { startCanary } from '../scripts/cli/canary.ts';
import { startModelServer, type ModelServer } from '../scripts/lib/router/model-server.ts';
import { startRouter, type Router } from '../scripts/lib/router/router.ts';
import { holdoutRows, registerVersions, trainExampleModel, type TrainedModel } from './fixtures/canary/models.ts';
import { startTraffic } from './fixtures/canary/traffic.ts';
import { testClient, testDb } from './helpers/env.ts';
import { uniqueModel } from './helpers/pipelines.ts';
import { freePort } from './helpers/ports.ts';

function findPrometheus(): string | null {
  const candidates = [process.env.PROMETHEUS_BIN?.trim(), fileURLToPath(new URL('../.driftline/bin/prometheus', import.meta.url)), ...(process.env.PATH ?? '').split(delimiter).map((dir) => join(dir, 'prometheus'))];
  for (const candidate of candidates) {
    if (!candidate) continue;
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // next
    }
  }
  if (process.env.DRIFTLINE_REQUIRE_PROMETHEUS === '1') throw new Error('no Prometheus binary but DRIFTLINE_REQUIRE_PROMETHEUS=1: run `bash scripts/setup-prometheus.sh`');
  return null;
}

const binary = findPrometheus();

describe.skipIf(!binary)('metrics from a real Prometheus', () => {
  let router: Router;
  let prometheus: ChildProcess;
  let prometheusUrl: string;
  let client: Awaited<ReturnType<typeof testClient>>;
  let db: ReturnType<typeof testDb>;
  let v1: TrainedModel;
  let v2: TrainedModel;
  let rows: Array<Record<string, string | number>>;
  const closers: Array<() => Promise<unknown>> = [];

  beforeAll(async () => {
    client = await testClient();
    db = testDb();
    const dir = await mkdtemp(join(tmpdir(), 'driftline-prometheus-'));
    [v1, v2] = await Promise.all([
      trainExampleModel(join(dir, 'v1'), { epochs: 150, learningRate: 0.5 }),
      trainExampleModel(join(dir, 'v2'), { epochs: 250, learningRate: 0.5 }),
    ]);
    rows = await holdoutRows();
    // the router without a database: Prometheus is the only record of what it served
    router = await startRouter({ db: null });
    closers.push(() => router.close());
    const port = await freePort();
    prometheusUrl = `http://127.0.0.1:${port}`;
    const config = join(dir, 'prometheus.yml');
    await writeFile(
      config,
      ['global:', '  scrape_interval: 1s', 'scrape_configs:', '  - job_name: driftline-router', '    static_configs:', `      - targets: ['${new URL(router.url).host}']`, ''].join('\n'),
    );
    prometheus = spawn(binary!, [`--config.file=${config}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`], { stdio: 'ignore' });
    closers.push(
      () =>
        new Promise<void>((resolve) => {
          if (prometheus.exitCode !== null) return resolve();
          prometheus.once('exit', () => resolve());
          prometheus.kill('SIGTERM');
        }),
    );
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (prometheus.exitCode !== null) throw new Error(`prometheus exited with code ${prometheus.exitCode}`);
      if (Date.now() > deadline) throw new Error(`prometheus did not become ready on ${prometheusUrl} within 60s`);
      const ready = await fetch(`${prometheusUrl}/-/ready`, { signal: AbortSignal.timeout(1000) }).catch(() => null);
      if (ready?.ok) break;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }, 120_000);

  afterAll(async () => {
    for (const close of closers.reverse()) await close().catch(() => {});
    await client?.close();
    await db?.destroy();
  });

  async function servers(candidateFaults: { errorRate?: number } = {}): Promise<[ModelServer, ModelServer]> {
    const pair = await Promise.all([startModelServer({ model: v1.path }), startModelServer({ model: v2.path, faults: candidateFaults })]);
    closers.push(...pair.map((s) => () => s.close()));
    return pair;
  }

  /** The router's own counter for a series, read from its /metrics text. */
  async function routerCounter(name: string, labels: Record<string, string>): Promise<number> {
    const text = await (await fetch(`${router.url}/metrics`)).text();
    const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
    const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && wanted.every((w) => l.includes(w)));
    return line ? Number(line.split(' ').at(-1)) : 0;
  }

  async function until(what: string, probe: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await probe())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }

  it('reads windows that match the router\'s own counters, per variant', { timeout: 120_000 }, async () => {
    const model = uniqueModel('prom-direct');
    const deploymentId = `prom-direct-${model}`;
    const [baseline, candidate] = await servers({ errorRate: 0.2 });
    const put = await fetch(`${router.url}/admin/routes/${model}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ deploymentId, generation: 1, baselineUrl: baseline.url, candidateUrl: candidate.url, weights: { baseline: 50, candidate: 50, shadow: false } }),
    });
    expect(put.status).toBe(200);
    const provider = new PrometheusProvider();
    const source: MetricsSource = { kind: 'prometheus', url: prometheusUrl, selector: 'job="driftline-router"', timeoutSeconds: 5 };
    const request = { deploymentId, model, target: { kind: 'local' as const, routerUrl: router.url, baselineUrl: baseline.url, candidateUrl: candidate.url }, source, shadowActive: false, customMetrics: [] };

    const traffic = startTraffic({ url: `${router.url}/models/${model}/predict`, rows, concurrency: 2, pauseMs: 5, maxRequests: 300 });
    await until('300 answers', async () => traffic.answers.length >= 300, 60_000);
    await traffic.stop();
    // every request answered; wait until Prometheus has scraped the final counters
    const expected = { baseline: await routerCounter('driftline_router_requests_total', { deployment: deploymentId, variant: 'baseline' }), candidate: await routerCounter('driftline_router_requests_total', { deployment: deploymentId, variant: 'candidate' }) };
    expect(expected.baseline + expected.candidate).toBe(traffic.answers.length);
    let first = await provider.collect({ ...request, cursor: null });
    await until('Prometheus to scrape the final counters', async () => {
      first = await provider.collect({ ...request, cursor: null });
      return first.raw.baseline.requests === expected.baseline && first.raw.candidate.requests === expected.candidate;
    });
    expect(first.raw.candidate.errors).toBe(await routerCounter('driftline_router_errors_total', { deployment: deploymentId, variant: 'candidate' }));
    expect(first.raw.candidate.errors).toBeGreaterThan(0); // the candidate fails 20%
    // latency samples from the histogram, one per request (bucket midpoints)
    expect(first.raw.baseline.latencyMs.length).toBe(expected.baseline);

    // a second window from the cursor holds only what came after it
    const more = startTraffic({ url: `${router.url}/models/${model}/predict`, rows, concurrency: 1, pauseMs: 5, maxRequests: 40 });
    await until('40 more answers', async () => more.answers.length >= 40);
    await more.stop();
    await until('the second window', async () => {
      const second = await provider.collect({ ...request, cursor: first.cursor });
      return second.raw.baseline.requests + second.raw.candidate.requests === more.answers.length;
    });
  });

  it('rolls back a failing candidate judged only from Prometheus', { timeout: 150_000 }, async () => {
    const model = uniqueModel('prom-canary');
    const registry = new PostgresModelRegistry(db);
    await registerVersions(registry, model, [v1, v2]);
    await registry.moveAlias({ model, alias: 'production', version: 1, actor: 'release-manager', reason: 'first release', idempotencyKey: `${model}-prod-1` });
    const [baseline, candidate] = await servers({ errorRate: 0.3 });
    await fetch(`${router.url}/admin/routes/${model}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ deploymentId: 'initial', generation: 0, baselineUrl: baseline.url, candidateUrl: null, weights: { baseline: 100, candidate: 0, shadow: false } }),
    });
    const traffic = startTraffic({ url: `${router.url}/models/${model}/predict`, rows, concurrency: 2, pauseMs: 12, maxSeconds: 120 });
    closers.push(() => traffic.stop());
    const { workflowId } = await startCanary(client.client, {
      model,
      candidateVersion: 2,
      baselineVersion: 1,
      requestedBy: 'ci@github',
      plan: { steps: [{ weight: 30, minBakeSeconds: 60 }, { weight: 100, minBakeSeconds: 60 }], analysisIntervalSeconds: 2 },
      target: { kind: 'local', routerUrl: router.url, baselineUrl: baseline.url, candidateUrl: candidate.url },
      metrics: { kind: 'prometheus', url: prometheusUrl, selector: 'job="driftline-router"' },
    });
    const outcome = (await client.client.workflow.getHandle(workflowId).result()) as CanaryOutcome;
    await traffic.stop();
    expect(outcome.outcome, outcome.reason).toBe('rolled-back');
    expect(outcome.reason).toMatch(/^error-rate regressed/);
    const errorRate = outcome.metrics.find((m) => m.name === 'error-rate')!;
    expect(errorRate.candidate.value!).toBeGreaterThan(0.1);
    expect(router.routes().get(model)?.weights).toEqual({ baseline: 100, candidate: 0, shadow: false });
  });
});
