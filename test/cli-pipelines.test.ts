/**
 * The operator's CLI against the real dev server and the shared worker: `driftline run --wait` and
 * its exit code for each outcome, `status`, `list`, `policy validate|schema`, and `schedule …`
 * including backfill.
 */
import { readFile, writeFile, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { PostgresModelRegistry } from '../activities/registry/postgres-registry.ts';
import type { DriftlineDb } from '../activities/db/database.ts';
import { testDb } from './helpers/env.ts';
import { CREDIT_TRAIN, REPO_ROOT, uniqueModel } from './helpers/pipelines.ts';
import { runCli, startCli } from './helpers/processes.ts';
import { startTcpRelay } from './helpers/tcp-relay.ts';

let dir: string;
let config: string;
let env: NodeJS.ProcessEnv;
let db: DriftlineDb;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'driftline-cli-run-'));
  const example = (await readFile(join(REPO_ROOT, 'scripts/examples/credit/pipeline.json'), 'utf8')).replaceAll('/REPO/', `${REPO_ROOT.replace(/\/$/, '')}/`);
  const definition = JSON.parse(example);
  definition.trainer.workingDirectory = REPO_ROOT;
  definition.policy.evaluation.champion.resamples = 300;
  config = join(dir, 'pipeline.json');
  await writeFile(config, JSON.stringify(definition));
  env = { ...process.env, TEMPORAL_ADDRESS: inject('temporalAddress'), TEMPORAL_NAMESPACE: 'default', DRIFTLINE_USER: 'cli-test' };
  db = testDb();
});
afterAll(async () => {
  await db?.destroy();
});

describe('driftline run --wait', () => {
  it('exits 0 when the candidate is registered, 10 when evaluation rejects it, 13 when the run fails', { timeout: 120_000 }, async () => {
    const model = uniqueModel('cli-credit');
    const ok = await runCli(['run', '--config', config, '--model', model, '--commit', 'c1', '--wait'], env);
    expect(ok.output).toContain(`registered ${model} v1 as challenger`);
    expect(ok.code).toBe(0);

    await new PostgresModelRegistry(db).moveAlias({ model, alias: 'champion', version: 1, actor: 'test', reason: 'baseline', idempotencyKey: `${model}-champion` });
    const weaker = await runCli(['run', '--config', config, '--model', model, '--commit', 'c2', '--param', 'features=["age"]', '--wait', '--json'], env);
    expect(weaker.code).toBe(10);
    expect(JSON.parse(weaker.output)).toMatchObject({ workflowId: `ct:${model}:c2`, outcome: 'rejected' });

    const broken = join(dir, 'broken.csv');
    await writeFile(broken, (await readFile(CREDIT_TRAIN, 'utf8')).replace('employment', 'job'));
    const failed = await runCli(['run', '--config', config, '--model', model, '--commit', 'c3', '--train', broken, '--wait'], env);
    expect(failed.code).toBe(13);
    expect(failed.output).toContain('column "employment" is missing');

    const status = await runCli(['status', `ct:${model}:c1`, '--json'], env);
    expect(JSON.parse(status.output)).toMatchObject({ type: 'continuousTraining', state: 'COMPLETED', model, outcome: 'registered', stage: 'done', version: 1 });
    let listed: Array<{ workflowId: string }> = [];
    for (let i = 0; i < 50 && listed.length < 3; i++) {
      listed = JSON.parse((await runCli(['list', '--model', model, '--json'], env)).output);
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(listed.map((r) => r.workflowId).sort()).toEqual([`ct:${model}:c1`, `ct:${model}:c2`, `ct:${model}:c3`]);
  });

  it('keeps following through a lost connection to the server and still exits with the outcome', { timeout: 180_000 }, async () => {
    const [host, port] = inject('temporalAddress').split(':');
    const relay = await startTcpRelay({ host: host!, port: Number(port) });
    try {
      const model = uniqueModel('cli-lost');
      // a slow trainer keeps the pipeline running while the network is away
      const definition = JSON.parse(await readFile(config, 'utf8'));
      const slow = join(dir, 'slow-config.json');
      await writeFile(slow, JSON.stringify({ ...definition, hyperparameters: { ...definition.hyperparameters, epochs: 3000 } }));
      const following = startCli(['run', '--config', slow, '--model', model, '--commit', 'lost-connection', '--wait'], { ...env, TEMPORAL_ADDRESS: relay.address });
      await following.waitFor(/: following/, 60_000);
      relay.cut({ refuse: true });
      await following.waitFor(/lost the connection to Temporal/, 90_000);
      relay.restore();
      const { code } = await following.exited;
      expect(following.output()).toMatch(/registered .* v1 as challenger/);
      expect(code, following.output()).toBe(0);
    } finally {
      await relay.close();
    }
  });

  it('says in one line what is wrong with bad input or an unreachable server', async () => {
    const badPolicy = join(dir, 'bad-policy.json');
    await writeFile(badPolicy, JSON.stringify({ dataContract: { label: 'y', task: 'clustering', columns: {} } }));
    const usage = await runCli(['run', '--config', config, '--policy', badPolicy], env);
    expect(usage.code).toBe(2);
    expect(usage.output.trim()).toMatch(/^driftline: The pipeline is not valid: policy\.dataContract\.task: /);
    const missing = await runCli(['run', '--config', join(dir, 'nope.json')], env);
    expect(missing.output.trim()).toBe(`driftline: Cannot read the pipeline definition ${join(dir, 'nope.json')}: no such file.`);
    const unreachable = await runCli(['run', '--config', config, '--commit', 'x'], { ...env, TEMPORAL_ADDRESS: '127.0.0.1:1' });
    expect(unreachable.code).toBe(3);
    expect(unreachable.output.trim().split('\n')).toHaveLength(1);
    expect(unreachable.output).toContain('Cannot reach the Temporal server at 127.0.0.1:1');
    const unknown = await runCli(['status', 'ct:nobody:nothing'], env);
    expect(unknown.code).toBe(2);
    expect(unknown.output).not.toMatch(/\n\s+at /);
  });
});

describe('driftline policy', () => {
  it('validates a policy file and prints its JSON Schema', async () => {
    const definition = JSON.parse(await readFile(config, 'utf8'));
    const good = join(dir, 'policy.json');
    await writeFile(good, JSON.stringify(definition.policy));
    const ok = await runCli(['policy', 'validate', good], env);
    expect(ok.code).toBe(0);
    expect(ok.output).toContain('valid (5 columns in the data contract, label "default")');
    const bad = join(dir, 'policy-bad.json');
    await writeFile(bad, JSON.stringify({ ...definition.policy, evaluation: { thresholds: { accuracy: { min: 'high' } } } }));
    const wrong = await runCli(['policy', 'validate', bad], env);
    expect(wrong.code).toBe(2);
    expect(wrong.output.trim()).toMatch(new RegExp(`^driftline: ${bad.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: evaluation\\.thresholds\\.accuracy\\.min: `));
    const schema = JSON.parse((await runCli(['policy', 'schema'], env)).output);
    expect(schema.title).toBe('Driftline pipeline policy');
    expect(schema.properties.dataContract.required).toContain('label');
  });
});

/** An hourly cron whose next tick is 30 to 31 minutes after `now`, and its two latest ticks before `now`. */
function hourlyCronAwayFrom(now: Date): { cron: string; lastTicks: [Date, Date] } {
  const minute = (now.getUTCMinutes() + 31) % 60;
  const latest = new Date(now);
  latest.setUTCMinutes(minute, 0, 0);
  if (latest > now) latest.setUTCHours(latest.getUTCHours() - 1);
  return { cron: `${minute} * * * *`, lastTicks: [new Date(latest.getTime() - 3_600_000), latest] };
}

describe('driftline schedule', () => {
  it('creates, lists, describes, pauses, unpauses, triggers, backfills and deletes', { timeout: 120_000 }, async () => {
    const model = uniqueModel('cli-scheduled');
    const id = `retrain:${model}`;
    // Hourly at the minute half an hour away: the schedule must not fire on its own while the test
    // counts its actions (a run that started at 13:59 once saw a fourth action at 14:00).
    const { cron, lastTicks } = hourlyCronAwayFrom(new Date());
    const created = await runCli(['schedule', 'create', 'training', '--config', config, '--model', model, '--cron', cron, '--note', 'hourly retraining'], env);
    expect(created.output).toContain(`created schedule ${id}`);
    const again = await runCli(['schedule', 'create', 'training', '--config', config, '--model', model, '--cron', cron], env);
    expect(again.code).toBe(2);
    expect(again.output).toContain(`A schedule named ${id} already exists`);

    const listed = JSON.parse((await runCli(['schedule', 'list', '--json'], env)).output) as Array<{ scheduleId: string }>;
    expect(listed.map((s) => s.scheduleId)).toContain(id);
    const described = JSON.parse((await runCli(['schedule', 'describe', id, '--json'], env)).output);
    expect(described).toMatchObject({ scheduleId: id, paused: false, note: 'hourly retraining', overlap: 'SKIP' });
    expect(described.cron).toEqual([cron]);

    await runCli(['schedule', 'pause', id, '--note', 'data freeze'], env);
    expect(JSON.parse((await runCli(['schedule', 'describe', id, '--json'], env)).output)).toMatchObject({ paused: true, note: 'data freeze' });
    await runCli(['schedule', 'unpause', id], env);
    expect(JSON.parse((await runCli(['schedule', 'describe', id, '--json'], env)).output)).toMatchObject({ paused: false });

    expect((await runCli(['schedule', 'trigger', id], env)).code).toBe(0);
    // backfill the two most recent past ticks
    const start = new Date(lastTicks[0].getTime() - 1000);
    const end = new Date(lastTicks[1].getTime() + 1000);
    const backfill = await runCli(['schedule', 'backfill', id, '--start', start.toISOString(), '--end', end.toISOString()], env);
    expect(backfill.code).toBe(0);
    let actions: unknown[] = [];
    for (let i = 0; i < 30 && actions.length < 3; i++) {
      actions = JSON.parse((await runCli(['schedule', 'describe', id, '--json'], env)).output).recentActions;
      if (actions.length < 3) await new Promise((r) => setTimeout(r, 1000));
    }
    expect(actions).toHaveLength(3); // the trigger and the two backfilled ticks

    const bad = await runCli(['schedule', 'backfill', id, '--start', 'yesterday', '--end', 'today'], env);
    expect(bad.code).toBe(2);
    expect((await runCli(['schedule', 'delete', id], env)).output).toContain(`${id}: deleted`);
    const gone = await runCli(['schedule', 'describe', id], env);
    expect(gone.code).toBe(2);
  });
});
