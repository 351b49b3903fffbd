/**
 * The latency judge on a busy machine: two real model servers behind the real router, serving the
 * CLI test's two versions (and then one model twice), real loopback traffic at the CLI test's 10%,
 * on whatever else this machine is running. Their latency differs only by noise — the event loop,
 * the scheduler, the other processes on the cores — so the judge must not call it a regression.
 * This is the situation in which a paused canary of the CLI test was once rolled back.
 *
 * The router's records are cut into 1-second windows (the CLI test's analysis interval) and judged
 * by both judge versions, so the figures show what each would have done.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DriftlineDb } from '../activities/db/database.ts';
import { judgeSettingsSchema } from '../core/canary.ts';
import { createJudge, judgeThresholds, metricStatistics, observeWindow, type JudgeVersion } from '../core/canary/judge.ts';
import { summariseWindow } from '../core/canary/summary.ts';
import { startModelServer } from '../scripts/lib/router/model-server.ts';
import { startRouter, type Router } from '../scripts/lib/router/router.ts';
import { holdoutRows, trainExampleModel, type TrainedModel } from './fixtures/canary/models.ts';
import { startTraffic } from './fixtures/canary/traffic.ts';
import { testDb } from './helpers/env.ts';
import { uniqueModel } from './helpers/pipelines.ts';

let db: DriftlineDb;
let router: Router;
let v1: TrainedModel;
let v2: TrainedModel;
let rows: Array<Record<string, string | number>>;
const closers: Array<() => Promise<unknown>> = [];

beforeAll(async () => {
  db = testDb();
  const dir = await mkdtemp(join(tmpdir(), 'driftline-noise-'));
  [v1, v2] = await Promise.all([
    trainExampleModel(join(dir, 'v1'), { epochs: 150, learningRate: 0.5 }),
    trainExampleModel(join(dir, 'v2'), { epochs: 250, learningRate: 0.5 }),
  ]);
  rows = await holdoutRows();
  router = await startRouter({ db, flushIntervalMs: 100 });
  closers.push(() => router.close());
});

afterAll(async () => {
  for (const close of closers.reverse()) await close().catch(() => {});
  await db?.destroy();
});

/** Serves `baseline` and `candidate` at 10% for `seconds` of traffic; returns the records in 1 s windows. */
async function recordedWindows(prefix: string, baseline: TrainedModel, candidate: TrainedModel, seconds: number) {
  const model = uniqueModel(prefix);
  const servers = await Promise.all([startModelServer({ model: baseline.path }), startModelServer({ model: candidate.path })]);
  closers.push(...servers.map((s) => () => s.close()));
  const deploymentId = `noise-${model}`;
  const put = await fetch(`${router.url}/admin/routes/${model}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ deploymentId, generation: 1, baselineUrl: servers[0]!.url, candidateUrl: servers[1]!.url, weights: { baseline: 90, candidate: 10, shadow: false } }),
  });
  expect(put.status).toBe(200);
  const traffic = startTraffic({ url: `${router.url}/models/${model}/predict`, rows, concurrency: 2, pauseMs: 12, maxSeconds: seconds });
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  await traffic.stop();
  await router.flush();
  const records = await db
    .selectFrom('deployment_requests')
    .select(['variant', 'error', 'latency_ms', 'prediction', 'at'])
    .where('deployment_id', '=', deploymentId)
    .where('role', '=', 'primary')
    .orderBy('id')
    .execute();
  const windows = new Map<number, typeof records>();
  for (const r of records) {
    const second = Math.floor(new Date(r.at).getTime() / 1000);
    windows.set(second, [...(windows.get(second) ?? []), r]);
  }
  return [...windows.entries()].sort((a, b) => a[0] - b[0]).map(([, w]) => w);
}

/** Judges the windows with one judge version; the latency test's largest e-value and its threshold. */
function judge(windows: Awaited<ReturnType<typeof recordedWindows>>, version: JudgeVersion) {
  // the CLI test's judge: the defaults, every test on
  const settings = judgeSettingsSchema.parse({});
  let state = createJudge(settings, null, version);
  const maxE: Record<string, number> = {};
  const arm = (w: (typeof windows)[number], variant: string) => {
    const mine = w.filter((r) => r.variant === variant);
    return { requests: mine.length, errors: mine.filter((r) => r.error).length, latencyMs: mine.map((r) => r.latency_ms), predictions: mine.map((r) => r.prediction ?? Number.NaN) };
  };
  for (const w of windows) {
    state = observeWindow(state, summariseWindow({ baseline: arm(w, 'baseline'), candidate: arm(w, 'candidate'), shadow: null }, judgeThresholds(state), settings, null), settings);
    for (const m of metricStatistics(state)) maxE[m.name] = Math.max(maxE[m.name] ?? 1, m.eValue);
  }
  const latency = metricStatistics(state).find((m) => m.name === 'latency')!;
  return { maxE, maxLatencyE: maxE.latency!, threshold: latency.threshold, candidateMeanMs: latency.candidate.value, baselineMeanMs: latency.baseline.value, candidateRequests: latency.candidate.n };
}

describe('the latency judge between two model servers on a busy machine', () => {
  for (const [name, pick] of [
    ['the CLI test\'s two versions', () => [v1, v2]],
    ['one model on two servers (A/A)', () => [v1, v1]],
  ] as const) {
    it(`stays under its threshold for ${name}`, { timeout: 120_000 }, async () => {
      const [baseline, candidate] = pick();
      const windows = await recordedWindows('noise', baseline!, candidate!, 40);
      const v1Judge = judge(windows, 1);
      const v2Judge = judge(windows, 2);
      // the figures, whatever the verdict: what each judge version saw on this machine today
      console.log(`latency noise, ${name}: ${windows.length} windows; v1 ${JSON.stringify(v1Judge)}; v2 ${JSON.stringify(v2Judge)}`);
      expect(v2Judge.candidateRequests).toBeGreaterThan(100);
      expect(v2Judge.maxLatencyE).toBeLessThan(v2Judge.threshold);
    });
  }
});
