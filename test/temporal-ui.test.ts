/**
 * The Temporal UI as a person sees it, in headless Chromium (Debian's, driven by playwright-core).
 *
 * `driftline dev` runs with encryption on (DRIFTLINE_CODEC_KEYS): it starts the codec server and
 * gives the UI its endpoint. A pipeline started with `driftline run` stops at the compliance gate.
 * Then:
 *  - the raw history, as `temporal workflow show` prints it without the codec, has no plaintext of
 *    the pipeline's input;
 *  - the UI, filtered by `DriftlineModel`, lists the pipeline and its gate; the pipeline's page shows
 *    the decoded input (through the codec server); the gate's page says who may approve.
 * Screenshots are kept in DRIFTLINE_SCREENSHOT_DIR (default: a temp directory printed by the test).
 */
import { Client, Connection } from '@temporalio/client';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { complianceGateWorkflowId, type ComplianceGateStatus } from '../core/compliance.ts';
import { AesGcmPayloadCodec, generateCodecKey, parseKeyring } from '../core/payload-codec.ts';
import { generateApproverKeys } from '../scripts/cli/compliance.ts';
import { creditPipeline, uniqueModel } from './helpers/pipelines.ts';
import { freePort } from './helpers/ports.ts';
import { runCli, startCli, type CliProcess } from './helpers/processes.ts';

const run = promisify(execFile);
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
// In CI the browser is installed by .ci/run: its absence is a failure there, not a skip.
const haveChromium = existsSync(CHROMIUM) || process.env.CI === 'true';

let home: string;
let env: NodeJS.ProcessEnv;
let stack: CliProcess;
let ports: { temporal: number; ui: number; db: number; codec: number };
let browser: Browser | undefined;
let screenshots: string;
const keyring = JSON.stringify({ current: 'k1', keys: { k1: generateCodecKey() } });

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), 'driftline-ui-'));
  screenshots = process.env.DRIFTLINE_SCREENSHOT_DIR ?? join(home, 'screenshots');
  await mkdir(screenshots, { recursive: true });
  ports = { temporal: await freePort(), ui: await freePort(), db: await freePort(), codec: await freePort() };
  env = {
    ...process.env,
    DRIFTLINE_HOME: home,
    TEMPORAL_CLI: inject('temporalCliPath'),
    DRIFTLINE_TEMPORAL_PORT: String(ports.temporal),
    DRIFTLINE_UI_PORT: String(ports.ui),
    DRIFTLINE_DB_PORT: String(ports.db),
    DRIFTLINE_CODEC_PORT: String(ports.codec),
    DRIFTLINE_CODEC_KEYS: keyring,
    DATABASE_URL: inject('databaseKind') === 'postgres' ? inject('databaseUrl') : '',
    TEMPORAL_ADDRESS: `127.0.0.1:${ports.temporal}`,
    TEMPORAL_NAMESPACE: 'default',
  };
  stack = startCli(['dev', '--no-example'], env);
  await stack.waitFor(/Ready\./, 150_000);
  if (haveChromium) {
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  }
}, 200_000);

afterAll(async () => {
  await browser?.close();
  if (stack) {
    stack.killGroup('SIGINT');
    await Promise.race([stack.exited, new Promise((r) => setTimeout(r, 20_000))]);
    stack.killGroup('SIGKILL');
  }
});

/** A client that reads the encrypted payloads the way the workers write them. */
async function withCodecClient<T>(fn: (client: Client) => Promise<T>): Promise<T> {
  const connection = await Connection.connect({ address: env.TEMPORAL_ADDRESS! });
  try {
    const codec = new AesGcmPayloadCodec(parseKeyring(keyring, 'test keyring'));
    return await fn(new Client({ connection, dataConverter: { payloadCodecs: [codec] } }));
  } finally {
    await connection.close();
  }
}

async function startGatedPipeline(model: string, owner: string): Promise<{ pipelineId: string; gateId: string }> {
  const dir = await mkdtemp(join(home, 'pipeline-'));
  const { publicKey } = generateApproverKeys();
  const approversFile = join(dir, 'approvers.json');
  await writeFile(approversFile, JSON.stringify({ approvers: [{ id: 'alice', roles: ['ml-lead'], publicKey }], escalation: [] }));
  const pipeline = creditPipeline(model, { owner });
  pipeline.policy = {
    ...pipeline.policy,
    compliance: {
      checks: { modelCard: {} },
      approvers: { file: pathToFileURL(approversFile).href },
      quorum: { 'ml-lead': 1 },
      deadlines: { escalateAfter: '1 hour', rejectAfter: '2 hours' },
    },
  };
  const config = join(dir, 'pipeline.json');
  await writeFile(config, JSON.stringify(pipeline));
  const started = await runCli(['run', '--config', config, '--key', 'ui-check', '--json'], env);
  expect(started.code, started.output).toBe(0);
  const { workflowId } = JSON.parse(started.output.slice(started.output.indexOf('{'))) as { workflowId: string };
  const gateId = complianceGateWorkflowId(model, 1);
  await withCodecClient(async (client) => {
    for (let i = 0; ; i++) {
      const status = (await client.workflow.getHandle(gateId).query('status').catch(() => null)) as ComplianceGateStatus | null;
      if (status?.stage === 'awaiting-approval') return;
      if (i > 600) throw new Error(`the gate never waited for approvals: ${JSON.stringify(status)}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  });
  return { pipelineId: workflowId, gateId };
}

/** The text of the page and all its frames, once it matches `pattern` (or an error after `timeoutMs`). */
async function textInFrames(page: Page, pattern: RegExp, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let text = '';
  while (Date.now() < deadline) {
    const parts = await Promise.all(page.frames().map((frame) => frame.locator('body').innerText({ timeout: 2000 }).catch(() => '')));
    text = parts.join('\n').replace(/\s+/g, ' ');
    if (pattern.test(text)) return text;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`${pattern} did not show within ${timeoutMs / 1000}s; the page and its frames read:\n${text}`);
}

async function shot(page: Page, name: string): Promise<string> {
  const path = join(screenshots, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

describe('Temporal UI with encrypted payloads', () => {
  const model = uniqueModel('ui-credit');
  const owner = `owner-${Math.random().toString(36).slice(2, 10)}`;
  let ids: { pipelineId: string; gateId: string };

  it('keeps the input out of the raw history, which holds only ciphertext', async () => {
    ids = await startGatedPipeline(model, owner);
    const { stdout } = await run(inject('temporalCliPath'), ['workflow', 'show', '--workflow-id', ids.pipelineId, '--address', env.TEMPORAL_ADDRESS!, '--output', 'json'], {
      maxBuffer: 64 * 1024 * 1024,
    });
    // The CLI prints payloads as they are stored: metadata and data base64-encoded.
    expect(stdout).toContain(Buffer.from('binary/encrypted').toString('base64'));
    const stored = [...stdout.matchAll(/"data": "([A-Za-z0-9+/=]+)"/g)].map((m) => Buffer.from(m[1]!, 'base64').toString('utf8'));
    expect(stored.length).toBeGreaterThan(5);
    expect(stdout).not.toContain(owner);
    expect(stored.filter((text) => text.includes(owner) || text.includes('train.csv'))).toEqual([]);
    // ...while a client holding the key reads the input back
    const [input] = await withCodecClient(async (client) => {
      const description = await client.workflow.getHandle(ids.pipelineId).fetchHistory();
      const payloads = description.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads ?? [];
      return new AesGcmPayloadCodec(parseKeyring(keyring, 'test keyring')).decode(payloads);
    });
    expect(Buffer.from(input!.data!).toString('utf8')).toContain(owner);
  }, 240_000);

  it.skipIf(!haveChromium)('shows the pipeline, its decoded input and the pending approval in the UI', async () => {
    expect(ids, 'the pipeline from the previous test').toBeDefined();
    const ui = `http://127.0.0.1:${ports.ui}`;
    let page = await browser!.newPage({ viewport: { width: 1600, height: 1000 } });
    const decodeCalls: string[] = [];
    page.on('request', (request) => {
      if (request.url().startsWith(`http://127.0.0.1:${ports.codec}/`)) decodeCalls.push(`${request.method()} ${new URL(request.url()).pathname.replace(/\/t\/[^/]+/, '/t/<token>')}`);
    });

    // The list, filtered by the model's search attribute: the pipeline and its gate, and nothing else.
    await page.goto(`${ui}/namespaces/default/workflows?query=${encodeURIComponent(`DriftlineModel="${model}"`)}`);
    await page.getByText(ids.pipelineId).first().waitFor({ timeout: 60_000 });
    await page.getByText(ids.gateId).first().waitFor({ timeout: 60_000 });
    const listText = await page.locator('body').innerText();
    expect(listText).toContain('continuousTraining');
    expect(listText).toContain('complianceGate');
    await shot(page, 'workflows-filtered-by-model');

    // The pipeline: its summary, its stage, and its input decoded through the codec server.
    await page.getByRole('link', { name: ids.pipelineId }).first().click();
    await page.waitForURL(/\/workflows\/ct%3A|\/workflows\/ct:/, { timeout: 60_000 });
    await page.getByText(owner).first().waitFor({ timeout: 60_000 });
    const pipelineText = await page.locator('body').innerText();
    expect(pipelineText).toContain(`Train ${model}`); // static summary
    expect(pipelineText).toContain('compliance'); // the stage it waits in
    expect(decodeCalls.some((call) => call.endsWith('/decode'))).toBe(true);
    const pipelineShot = await shot(page, 'pipeline-waiting-for-approval');

    // The gate, opened as a link someone was sent: what it waits for and who may give it.
    await page.close();
    page = await browser!.newPage({ viewport: { width: 1600, height: 1000 } });
    await page.goto(`${ui}/namespaces/default/workflows/${encodeURIComponent(ids.gateId)}`);
    // The history has loaded (and been decoded) once an activity summary shows.
    await page.getByText('record the checks in the audit log').first().waitFor({ timeout: 60_000 });
    // Summary and current details (asked of the worker through the metadata query) live under this tab.
    await page.getByRole('link', { name: 'User Metadata' }).or(page.getByRole('tab', { name: 'User Metadata' })).first().click();
    // The UI renders summaries and details (Markdown) in sandboxed frames: read every frame.
    const rendered = await textInFrames(page, /may approve: alice/, 60_000).catch(async (error: unknown) => {
      await shot(page, 'compliance-gate-FAILED');
      throw error;
    });
    expect(rendered).toMatch(/awaiting-approval/);
    expect(rendered).toContain(`Compliance gate for ${model} v1`);
    expect(await page.locator('body').innerText()).toContain('complianceGate');
    const gateShot = await shot(page, 'compliance-gate-pending-approval');
    console.log(`Temporal UI screenshots: ${pipelineShot}, ${gateShot}`);
    await page.close();
  }, 240_000);
});
