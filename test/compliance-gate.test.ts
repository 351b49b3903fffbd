/**
 * complianceGate end to end on the real dev server, run by the shared Driftline worker with the real
 * activities, the real registry and audit log, a model really trained by the example trainer, and a
 * webhook receiver listening on loopback. Gates are started directly on registered versions.
 */
import { WorkflowFailedError, WorkflowUpdateFailedError, type Client, type WorkflowHandle } from '@temporalio/client';
import type { ApplicationFailure } from '@temporalio/common';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import type { DriftlineDb } from '../activities/db/database.ts';
import { listComplianceEvents } from '../activities/compliance/records.ts';
import type { BiasReport } from '../activities/compliance/bias.ts';
import type { ExplainabilityReport } from '../activities/compliance/explainability.ts';
import { PostgresModelRegistry } from '../activities/registry/postgres-registry.ts';
import {
  statementOf,
  type ApprovalReceipt,
  type ApprovalUpdate,
  type CompliancePolicyInput,
  type ComplianceGateInput,
  type ComplianceGateOutcome,
  type ComplianceGateStatus,
  type EvidenceBundle,
} from '../core/compliance.ts';
import { SEARCH_ATTRIBUTES, TASK_QUEUES } from '../core/names.ts';
import { verifyApproval } from '../core/signatures.ts';
import { generateApproverKeys, loadPrivateKey, sendDecision, signStatement } from '../scripts/cli/compliance.ts';
import { UsageError } from '../scripts/cli/errors.ts';
import { testClient, testDb, temporalAddress } from './helpers/env.ts';
import { saveHistoryIfRecording } from './helpers/histories.ts';
import { CREDIT_HOLDOUT, CREDIT_TRAIN, JS_TRAINER, REPO_ROOT, sha256File, uniqueModel } from './helpers/pipelines.ts';

const run = promisify(execFile);
const SCANNERS = fileURLToPath(new URL('./fixtures/compliance/scanners/', import.meta.url));

let client: Client;
let closeClient: () => Promise<void>;
let db: DriftlineDb;
let registry: PostgresModelRegistry;
let dir: string;
let approversFile: string;
let model: { uri: string; sha256: string };
let data: { train: { uri: string; sha256: string }; holdout: { uri: string; sha256: string } };
const keys: Record<string, { file: string; publicKey: string }> = {};
let webhook: WebhookReceiver;

const PEOPLE = {
  alice: ['ml-lead'],
  bob: ['ml-lead'],
  carol: ['risk'],
  dave: ['ml-lead'], // requests changes in these tests
  erin: ['risk', 'cro'], // escalation contact
};

beforeAll(async () => {
  ({ client, close: closeClient } = await testClient());
  db = testDb();
  registry = new PostgresModelRegistry(db);
  dir = await mkdtemp(join(tmpdir(), 'driftline-gate-'));
  // a real model: the example trainer on the example data
  await mkdir(join(dir, 'model'));
  await writeFile(join(dir, 'hp.json'), JSON.stringify({ epochs: 150, learningRate: 0.5 }));
  await run(JS_TRAINER[0]!, [...JS_TRAINER.slice(1), 'train', '--train', CREDIT_TRAIN, '--holdout', CREDIT_HOLDOUT, '--hyperparameters', join(dir, 'hp.json'), '--output-dir', join(dir, 'model')], { cwd: REPO_ROOT });
  model = { uri: pathToFileURL(join(dir, 'model', 'model.json')).href, sha256: await sha256File(join(dir, 'model', 'model.json')) };
  // the data with their metadata sidecars (the holdout's lacks "retention")
  await copyFile(CREDIT_TRAIN, join(dir, 'train.csv'));
  await copyFile(CREDIT_HOLDOUT, join(dir, 'holdout.csv'));
  await writeFile(join(dir, 'train.csv.meta.json'), JSON.stringify({ useRights: 'internal credit scoring', consent: 'contract, art. 6(1)(b)', retention: '5 years' }));
  await writeFile(join(dir, 'holdout.csv.meta.json'), JSON.stringify({ useRights: 'internal credit scoring', consent: 'contract, art. 6(1)(b)', retention: '' }));
  data = {
    train: { uri: pathToFileURL(join(dir, 'train.csv')).href, sha256: await sha256File(CREDIT_TRAIN) },
    holdout: { uri: pathToFileURL(join(dir, 'holdout.csv')).href, sha256: await sha256File(CREDIT_HOLDOUT) },
  };
  const approvers = [];
  for (const [id, roles] of Object.entries(PEOPLE)) {
    const generated = generateApproverKeys();
    const file = join(dir, `${id}.key`);
    await writeFile(file, generated.privateKeyPem, { mode: 0o600 });
    keys[id] = { file, publicKey: generated.publicKey };
    approvers.push({ id, roles, publicKey: generated.publicKey });
  }
  approversFile = join(dir, 'approvers.json');
  await writeFile(approversFile, JSON.stringify({ approvers, escalation: ['erin'] }, null, 2));
  webhook = new WebhookReceiver();
  await webhook.start();
});

afterAll(async () => {
  await webhook.stop();
  await closeClient?.();
  await db?.destroy();
});

async function registerVersion(name: string, lineage: Partial<{ trainSha256: string }> = {}): Promise<number> {
  const { value } = await registry.registerVersion({
    model: name,
    owner: 'credit-risk',
    actor: 'ci@github',
    idempotencyKey: randomBytes(8).toString('hex'),
    lineage: {
      code: { repository: 'github.com/acme/credit', commit: '3f2c1d9e' },
      trainData: { uri: data.train.uri, sha256: lineage.trainSha256 ?? data.train.sha256 },
      holdoutData: data.holdout,
      parameters: { epochs: 150, learningRate: 0.5 },
      metrics: { accuracy: 0.81, rocAuc: 0.84 },
      artifact: model,
      training: { backend: 'local', jobId: 'example' },
    },
  });
  return value.version;
}

function policy(overrides: Partial<CompliancePolicyInput> = {}): CompliancePolicyInput {
  return {
    checks: { provenance: {}, modelCard: {} },
    approvers: { file: pathToFileURL(approversFile).href },
    quorum: { 'ml-lead': 1, risk: 1 },
    deadlines: { escalateAfter: '1 hour', rejectAfter: '2 hours' },
    notifications: { webhookUrl: webhook.url },
    ...overrides,
  };
}

async function startGate(input: Partial<ComplianceGateInput> & { model: string; version: number }): Promise<WorkflowHandle> {
  return client.workflow.start('complianceGate', {
    taskQueue: TASK_QUEUES.orchestration,
    workflowId: `cg:${input.model}:v${input.version}`,
    args: [{ requestedBy: 'dave', policy: policy(), ...input }],
  });
}

async function status(handle: WorkflowHandle): Promise<ComplianceGateStatus> {
  return handle.query<ComplianceGateStatus>('status');
}

async function until(handle: WorkflowHandle, predicate: (s: ComplianceGateStatus) => boolean, what: string, timeoutMs = 60_000): Promise<ComplianceGateStatus> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = await status(handle);
    if (predicate(s)) return s;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; status: ${JSON.stringify(s)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Signs `overrides` applied to the gate's true statement with `signer`'s key, as `as`, and sends it. */
async function send(
  handle: WorkflowHandle,
  s: ComplianceGateStatus,
  decision: 'approved' | 'rejected',
  as: string,
  role: string,
  overrides: Partial<ApprovalUpdate> & { signer?: string } = {},
): Promise<ApprovalReceipt> {
  const { signer, ...fields } = overrides;
  const update: ApprovalUpdate = {
    gate: s.gate,
    model: s.model,
    version: s.version,
    evidenceBundleSha256: s.evidenceBundle!.sha256,
    approver: as,
    role,
    comment: '',
    signature: '',
    ...fields,
  };
  const key = loadPrivateKey(await readFile(keys[signer ?? as]?.file ?? keys.alice!.file, 'utf8'), 'key');
  if (!fields.signature) update.signature = signStatement(key, statementOf({ ...update, comment: update.comment ?? '' }, decision));
  return handle.executeUpdate<ApprovalReceipt, [ApprovalUpdate]>(decision === 'approved' ? 'approve' : 'reject', { args: [update] });
}

async function refusal(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(WorkflowUpdateFailedError);
  return ((error as WorkflowUpdateFailedError).cause as Error).message;
}

async function failureOf(handle: WorkflowHandle): Promise<ApplicationFailure> {
  const error = await handle.result().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(WorkflowFailedError);
  return (error as WorkflowFailedError).cause as ApplicationFailure;
}

describe('complianceGate', () => {
  it('refuses every invalid decision without a trace, approves at quorum, and records each signed approval', async () => {
    const name = uniqueModel('gate-quorum');
    const version = await registerVersion(name);
    const handle = await startGate({ model: name, version });
    const s = await until(handle, (x) => x.stage === 'awaiting-approval', 'approvals to open');
    expect(s.checks.map((c) => [c.check, c.status])).toEqual([
      ['provenance', 'pass'],
      ['model-card', 'pass'],
    ]);
    expect(s.quorum).toEqual([
      { role: 'ml-lead', required: 1, approvedBy: [], eligible: ['alice', 'bob'] }, // not dave: he asked
      { role: 'risk', required: 1, approvedBy: [], eligible: ['carol', 'erin'] },
    ]);
    expect(s.waitingFor).toMatch(/^signed approvals of evidence bundle [0-9a-f]{12}…: 1 × ml-lead \(may approve: alice, bob\); 1 × risk \(may approve: carol, erin\); escalates at /);
    const description = await handle.describe();
    expect(description.typedSearchAttributes.get(SEARCH_ATTRIBUTES.stage)).toBe('awaiting-approval');
    expect(description.typedSearchAttributes.get(SEARCH_ATTRIBUTES.version)).toBe(version);

    const bundleSha = s.evidenceBundle!.sha256;
    const other = 'f'.repeat(64);
    expect(await refusal(send(handle, s, 'approved', 'mallory', 'ml-lead'))).toBe(`"mallory" is not an approver in the approvers file ${pathToFileURL(approversFile).href}.`);
    expect(await refusal(send(handle, s, 'approved', 'alice', 'risk'))).toBe('"alice" does not hold the role "risk" (their roles: ml-lead).');
    expect(await refusal(send(handle, s, 'approved', 'erin', 'cro'))).toBe('This gate needs no "cro" approval (it needs "ml-lead", "risk").');
    expect(await refusal(send(handle, s, 'approved', 'alice', 'ml-lead', { signer: 'bob' }))).toBe(
      'The signature does not verify with alice\'s public key: it was not made with their key over this approval.',
    );
    expect(await refusal(send(handle, s, 'approved', 'alice', 'ml-lead', { evidenceBundleSha256: other }))).toBe(
      `The statement is signed over evidence bundle ${other}, but this gate's evidence bundle is ${bundleSha}: review the current evidence and sign again.`,
    );
    expect(await refusal(send(handle, s, 'approved', 'alice', 'ml-lead', { version: version + 1 }))).toBe(
      `The statement is signed for ${name} version ${version + 1}, but this gate decides ${name} version ${version}.`,
    );
    expect(await refusal(send(handle, s, 'approved', 'alice', 'ml-lead', { gate: `cg:${name}:v99` }))).toBe(
      `The statement is signed for gate "cg:${name}:v99", not for this gate "${s.gate}".`,
    );
    expect(await refusal(send(handle, s, 'approved', 'dave', 'ml-lead'))).toBe('"dave" requested this change and cannot approve it: four-eyes rule.');
    expect(await refusal(send(handle, s, 'approved', 'alice', 'ml-lead', { signature: 'bm90IGEgc2lnbmF0dXJl' }))).toMatch(/^The signature does not verify/);
    expect(await refusal(handle.executeUpdate('approve', { args: [{ gate: s.gate, approver: 'alice' }] }))).toMatch(/^The approval is malformed: model: /);
    // a signature over the approval sent as a rejection does not verify either
    const approvalSignature = signStatement(loadPrivateKey(await readFile(keys.alice!.file, 'utf8'), 'k'), statementOf({ gate: s.gate, model: name, version, evidenceBundleSha256: bundleSha, approver: 'alice', role: 'ml-lead', comment: '', signature: '' }, 'approved'));
    expect(await refusal(send(handle, s, 'rejected', 'alice', 'ml-lead', { signature: approvalSignature }))).toMatch(/^The signature does not verify with alice's public key: it was not made with their key over this rejection\.$/);

    // the same refusal reaches the CLI as one sentence, exit code 2
    const cli = await runCli(['approve', s.gate, '--key', keys.bob!.file, '--as', 'bob', '--role', 'risk']);
    expect(cli).toEqual({ code: 2, stdout: '', stderr: 'driftline: "bob" does not hold the role "risk" (their roles: ml-lead).\n' });

    const first = await sendDecision(client, s.gate, 'approved', { key: keys.alice!.file, as: 'alice', role: 'ml-lead', comment: 'model card and bias audit reviewed' });
    expect(first).toMatchObject({ accepted: true, decision: 'approved', approver: 'alice', role: 'ml-lead', gate: 'open' });
    expect(first.quorum.map((q) => [q.role, q.approvedBy, q.eligible])).toEqual([
      ['ml-lead', ['alice'], ['bob']],
      ['risk', [], ['carol', 'erin']],
    ]);
    expect(await refusal(send(handle, s, 'approved', 'alice', 'ml-lead'))).toBe('"alice" has already approved this gate (as ml-lead); one decision per approver.');

    webhook.hold((m) => m.text.startsWith('Approved'));
    const cliApprove = await runCli(['approve', s.gate, '--key', keys.carol!.file, '--as', 'carol', '--role', 'risk']);
    expect(cliApprove.code).toBe(0);
    expect(cliApprove.stdout).toBe(`Approved ${s.gate} as carol (risk); signature accepted and recorded.\nThe gate is now approved.\n`);
    // closed, though the workflow still runs (its decision notification is held): anything more is refused
    await until(handle, (x) => x.stage === 'done', 'the decision to be recorded');
    await webhook.waitFor((m) => m.text.startsWith('Approved'));
    expect(await refusal(send(handle, s, 'approved', 'erin', 'risk'))).toMatch(/^Gate cg:.* is closed \(approved: approved by alice \(ml-lead\), carol \(risk\)\); no further approval is accepted\.$/);
    webhook.release();

    const outcome = (await handle.result()) as ComplianceGateOutcome;
    expect(outcome).toMatchObject({ outcome: 'approved', model: name, version, evidenceBundleSha256: bundleSha, closedBy: 'quorum', reason: 'approved by alice (ml-lead), carol (risk)' });
    expect(outcome.decidedBy.map((d) => [d.approver, d.role, d.decision, d.comment])).toEqual([
      ['alice', 'ml-lead', 'approved', 'model card and bias audit reviewed'],
      ['carol', 'risk', 'approved', ''],
    ]);
    // refused updates leave no trace: the history holds the two accepted updates only
    const history = await handle.fetchHistory();
    expect(history.events!.filter((e) => e.workflowExecutionUpdateAcceptedEventAttributes).length).toBe(2);
    expect(history.events!.some((e) => e.workflowExecutionUpdateRejectedEventAttributes)).toBe(false);
    const finished = await handle.describe();
    expect(finished.typedSearchAttributes.get(SEARCH_ATTRIBUTES.outcome)).toBe('approved');
    expect(finished.typedSearchAttributes.get(SEARCH_ATTRIBUTES.stage)).toBe('done');

    // the registry holds both approvals with their signatures, bound to the bundle
    const details = await registry.getVersion({ model: name, selector: { kind: 'version', version } });
    expect(details.approvals.map((a) => [a.approver, a.role, a.decision, a.evidenceBundleSha256, a.signed])).toEqual([
      ['alice', 'ml-lead', 'approved', bundleSha, true],
      ['carol', 'risk', 'approved', bundleSha, true],
    ]);
    expect(details.evidence.map((e) => e.kind).sort()).toEqual(['approvers-file', 'compliance-policy', 'evidence-bundle', 'model-card', 'provenance-report']);
    // ... and the audit log holds each signed statement: verifiable again from the log and the approvers file alone
    const events = (await registry.auditLog({ model: name })).map((e) => ({ ...e, action: e.action as string }));
    const approvals = events.filter((e) => e.action === 'approval.recorded');
    expect(approvals).toHaveLength(2);
    const approversJson = JSON.parse(await readFile(approversFile, 'utf8')) as { approvers: Array<{ id: string; publicKey: string }> };
    for (const event of approvals) {
      const p = event.payload as { decision: 'approved'; role: string; evidenceBundleSha256: string; signature: string; comment: string; workflowId: string };
      const statement = { gate: p.workflowId, model: event.model!, version: event.version!, evidenceBundleSha256: p.evidenceBundleSha256, decision: p.decision, approver: event.actor, role: p.role, comment: p.comment };
      const key = approversJson.approvers.find((a) => a.id === event.actor)!.publicKey;
      expect(verifyApproval(statement, p.signature, key)).toBe(true);
    }
    expect(events.map((e) => e.action).filter((a) => a.startsWith('compliance.'))).toEqual(['compliance.checked', 'compliance.decided']);
    const decided = events.find((e) => e.action === 'compliance.decided')!;
    expect(decided.payload).toMatchObject({ outcome: 'approved', closedBy: 'quorum', evidenceBundleSha256: bundleSha });
    expect(events.findIndex((e) => e.action === 'compliance.decided')).toBeGreaterThan(events.findLastIndex((e) => e.action === 'approval.recorded'));
    expect((await registry.verifyAudit()).ok).toBe(true);

    // the bundle is stored by content and names every report by hash
    const bundleBytes = await readFile(fileURLToPath(s.evidenceBundle!.uri));
    expect(createHash('sha256').update(bundleBytes).digest('hex')).toBe(bundleSha);
    const bundle = JSON.parse(bundleBytes.toString('utf8')) as EvidenceBundle;
    expect(bundle).toMatchObject({ format: 'driftline-evidence-bundle/v1', gate: s.gate, model: name, version, requestedBy: 'dave', quorum: { 'ml-lead': 1, risk: 1 } });
    expect(bundle.lineage.artifact).toEqual(model);
    expect(bundle.checks.map((c) => [c.check, c.report?.sha256])).toEqual(s.checks.map((c) => [c.check, c.report?.sha256]));
    expect(bundle.approvers.sha256).toBe(await sha256File(approversFile));
    const card = await readFile(fileURLToPath(s.checks.find((c) => c.check === 'model-card')!.report!.uri), 'utf8');
    expect(card).toContain(`# Model card: ${name} v${version}`);
    expect(card).toContain('| provenance | **pass** |');

    expect(webhook.received.filter((m) => m.context.includes(`gate \`${s.gate}\``)).map((m) => m.event)).toEqual(['event requested', 'event decided']);
    await saveHistoryIfRecording('workflows', 'compliance-gate-approved', history);
  });

  it('closes as rejected on one accepted rejection', async () => {
    const name = uniqueModel('gate-reject');
    const version = await registerVersion(name);
    const handle = await startGate({ model: name, version, policy: policy({ quorum: { 'ml-lead': 2 } }) });
    const s = await until(handle, (x) => x.stage === 'awaiting-approval', 'approvals to open');
    expect((await send(handle, s, 'approved', 'alice', 'ml-lead')).gate).toBe('open');
    // carol holds no role this quorum needs, but any approver may reject in a role they hold
    const receipt = await sendDecision(client, s.gate, 'rejected', { key: keys.carol!.file, as: 'carol', role: 'risk', comment: 'the holdout is not representative of 2026 applicants' });
    expect(receipt).toMatchObject({ decision: 'rejected', gate: 'rejected' });
    const outcome = (await handle.result()) as ComplianceGateOutcome;
    expect(outcome).toMatchObject({ outcome: 'rejected', closedBy: 'rejection', reason: 'rejected by carol (risk): the holdout is not representative of 2026 applicants' });
    expect(outcome.decidedBy.map((d) => [d.approver, d.decision])).toEqual([
      ['alice', 'approved'],
      ['carol', 'rejected'],
    ]);
    const details = await registry.getVersion({ model: name, selector: { kind: 'version', version } });
    expect(details.approvals.map((a) => [a.approver, a.decision, a.comment])).toEqual([
      ['alice', 'approved', ''],
      ['carol', 'rejected', 'the holdout is not representative of 2026 applicants'],
    ]);
    const decided = (await listComplianceEvents(db, name, version)).find((e) => e.kind === 'decided')!;
    expect(decided).toMatchObject({ actor: 'carol', payload: { outcome: 'rejected', closedBy: 'rejection' } });
    // a finished gate: the CLI says so in one line
    expect(await runCli(['approve', s.gate, '--key', keys.bob!.file, '--as', 'bob', '--role', 'ml-lead'])).toEqual({
      code: 2,
      stdout: '',
      stderr: `driftline: Gate ${s.gate} is closed (rejected: rejected by carol (risk): the holdout is not representative of 2026 applicants); no further decision is accepted.\n`,
    });
  });

  it('escalates after one deadline and rejects after the other, never approving', async () => {
    const name = uniqueModel('gate-deadline');
    const version = await registerVersion(name);
    const handle = await startGate({ model: name, version, policy: policy({ deadlines: { escalateAfter: '2 seconds', rejectAfter: '6 seconds' } }) });
    const s = await until(handle, (x) => x.stage === 'awaiting-approval', 'approvals to open');
    await send(handle, s, 'approved', 'bob', 'ml-lead'); // half a quorum is no approval
    const escalated = await until(handle, (x) => x.escalated, 'escalation', 20_000);
    expect(escalated.stage).toBe('escalated');
    expect((await handle.describe()).typedSearchAttributes.get(SEARCH_ATTRIBUTES.stage)).toBe('escalated');
    const outcome = (await handle.result()) as ComplianceGateOutcome;
    expect(outcome).toMatchObject({ outcome: 'rejected', closedBy: 'deadline', reason: 'no quorum by the deadline (6 seconds after approval was requested): still missing 1 × risk' });
    expect(outcome.decidedBy.map((d) => d.approver)).toEqual(['bob']);

    const messages = webhook.received.filter((m) => m.context.includes(`gate \`${s.gate}\``));
    expect(messages.map((m) => m.event)).toEqual(['event requested', 'event escalated', 'event decided']);
    expect(messages[1]!.text).toBe(`Overdue: *${name} v${version}* (gate \`${s.gate}\`) still lacks approvals after 2 seconds. Escalating to erin.`);
    expect(messages[1]!.sections[0]).toBe('1 × risk (may approve: carol, erin)');
    expect(messages[2]!.text).toMatch(/^Rejected: .*no quorum by the deadline/);
    expect(webhook.bodies.every((b) => typeof b.text === 'string' && Array.isArray(b.blocks))).toBe(true);
    const events = await listComplianceEvents(db, name, version);
    expect(events.map((e) => [e.kind, e.actor])).toEqual([
      ['checked', 'dave'],
      ['escalated', 'driftline'],
      ['decided', 'driftline'],
    ]);
    expect(events[1]!.payload).toMatchObject({ escalatedTo: ['erin'], missing: 'still missing 1 × risk' });
    const final = await status(handle);
    expect(final.notifications.map((n) => [n.event, n.delivered])).toEqual([
      ['requested', true],
      ['escalated', true],
      ['decided', true],
    ]);
    await saveHistoryIfRecording('workflows', 'compliance-gate-deadline', await handle.fetchHistory());
  });

  it('rejects at once when a check fails, with the evidence recorded', async () => {
    const name = uniqueModel('gate-tampered');
    const version = await registerVersion(name, { trainSha256: 'e'.repeat(64) }); // the lineage does not match the data
    const handle = await startGate({ model: name, version });
    const outcome = (await handle.result()) as ComplianceGateOutcome;
    expect(outcome.outcome).toBe('rejected');
    expect(outcome.closedBy).toBe('failed-checks');
    expect(outcome.reason).toBe(`checks failed: provenance: train ${data.train.uri} has sha256 ${data.train.sha256}, but the lineage recorded ${'e'.repeat(64)}`);
    expect(outcome.decidedBy).toEqual([]);
    const details = await registry.getVersion({ model: name, selector: { kind: 'version', version } });
    expect(details.evidence.map((e) => e.kind)).toContain('evidence-bundle');
    expect(details.evidence.find((e) => e.kind === 'evidence-bundle')!.sha256).toBe(outcome.evidenceBundleSha256);
  });

  it('runs the bias audit, explainability, security scan and provenance on a trained model', async () => {
    const name = uniqueModel('gate-checks');
    const version = await registerVersion(name);
    const handle = await startGate({
      model: name,
      version,
      trainer: { backend: 'local', command: JS_TRAINER, workingDirectory: REPO_ROOT },
      label: 'default',
      sensitiveColumns: ['employment'],
      policy: policy({
        onCheckFailure: 'ask-approvers',
        checks: {
          provenance: { requiredMetadata: ['useRights', 'consent', 'retention'] },
          bias: { protectedAttributes: [{ column: 'age', bins: [18, 30, 45, 120] }], minGroupSize: 100, maxDemographicParityDifference: 1, maxEqualizedOddsDifference: 1, minDisparateImpactRatio: 0 },
          explainability: { repeats: 2, maxRows: 300, seed: 7 },
          security: {
            required: false,
            failOn: 'critical',
            scanners: [
              { name: 'trivy', command: [`${SCANNERS}fake-trivy.sh`, 'findings'], format: 'trivy' },
              { name: 'grype', command: ['grype-is-not-installed-here'], format: 'grype' },
            ],
          },
          modelCard: { title: 'Credit default model' },
        },
      }),
    });
    const s = await until(handle, (x) => x.stage === 'awaiting-approval', 'approvals to open', 120_000);
    const byCheck = Object.fromEntries(s.checks.map((c) => [c.check, c]));
    expect(Object.keys(byCheck).sort()).toEqual(['bias', 'explainability', 'model-card', 'provenance', 'security']);
    // the holdout's sidecar leaves "retention" empty
    expect(byCheck.provenance).toMatchObject({ status: 'fail', summary: `holdout data metadata ${data.holdout.uri}.meta.json lacks "retention"` });
    // one scanner ran, one is missing: not a clean scan, and not required: "not run"
    expect(byCheck.security).toMatchObject({ status: 'not-run', summary: 'trivy: 1 high, 1 medium, 1 low; grype: missing (fails on critical)' });

    const bias = JSON.parse(await readFile(fileURLToPath(byCheck.bias!.report!.uri), 'utf8')) as BiasReport;
    expect(bias.status).toBe('pass');
    expect(bias.rows).toBe(1000);
    expect(bias.attributes.map((a) => a.attribute)).toEqual(['age', 'employment']);
    const employment = bias.attributes[1]!;
    expect(employment.groups.map((g) => [g.group, g.count, g.sufficient])).toEqual([
      ['salaried', 715, true],
      ['self-employed', 216, true],
      ['unemployed', 69, false],
    ]);
    expect(employment.insufficientGroups).toEqual(['unemployed']);
    expect(employment.demographicParityDifference).toBeCloseTo(Math.abs(employment.groups[0]!.selectionRate - employment.groups[1]!.selectionRate), 12);
    expect(bias.attributes[0]!.groups.map((g) => g.group)).toEqual(['[18, 30)', '[30, 45)', '[45, 120]']);

    const explain = JSON.parse(await readFile(fileURLToPath(byCheck.explainability!.report!.uri), 'utf8')) as ExplainabilityReport;
    expect(explain).toMatchObject({ method: 'permutation-importance', metric: 'accuracy', task: 'binary-classification', rows: 300, repeats: 2 });
    expect(explain.features.map((f) => f.feature).sort()).toEqual(['age', 'debt_ratio', 'employment', 'income', 'late_payments']);
    expect(explain.baseline).toBeGreaterThan(0.6);
    expect(explain.features[0]!.importance).toBeGreaterThan(0); // the model relies on something
    const chart = byCheck.explainability!.attachments[0]!;
    expect(chart.kind).toBe('explainability-chart');
    expect(await readFile(fileURLToPath(chart.uri), 'utf8')).toMatch(/^<svg [^]*<\/svg>\n$/);

    const card = await readFile(fileURLToPath(byCheck['model-card']!.report!.uri), 'utf8');
    for (const heading of ['# Credit default model', '### Provenance', '### Bias audit', '### Explainability', '### Security scan', '| unemployed | 69 |']) expect(card).toContain(heading);

    const details = await registry.getVersion({ model: name, selector: { kind: 'version', version } });
    expect(details.evidence.map((e) => e.kind).sort()).toEqual([
      'approvers-file',
      'bias-audit',
      'compliance-policy',
      'evidence-bundle',
      'explainability-chart',
      'explainability-report',
      'model-card',
      'provenance-report',
      'security-scan',
    ]);
    for (const e of details.evidence) expect(await sha256File(fileURLToPath(e.uri))).toBe(e.sha256);

    await sendDecision(client, s.gate, 'rejected', { key: keys.alice!.file, as: 'alice', role: 'ml-lead', comment: 'holdout metadata incomplete' });
    expect(await handle.result()).toMatchObject({ outcome: 'rejected', closedBy: 'rejection' });
  });

  it('fails fast on bad input: a malformed approvers file, checks without what they need', async () => {
    const name = uniqueModel('gate-bad');
    const version = await registerVersion(name);
    const badApprovers = join(dir, 'bad-approvers.json');
    await writeFile(badApprovers, JSON.stringify({ approvers: [{ id: 'alice', roles: ['ml-lead'], publicKey: 'not-a-key' }] }));
    const badFile = await startGate({ model: name, version, policy: policy({ approvers: { file: pathToFileURL(badApprovers).href } }) });
    const failure = await failureOf(badFile);
    expect(failure.type).toBe('InvalidInput');
    expect(failure.message).toBe(`Approvers file ${pathToFileURL(badApprovers).href}: approvers[0].publicKey: must be an Ed25519 public key: base64 of 32 bytes`);

    const noTrainer = await client.workflow.start('complianceGate', {
      taskQueue: TASK_QUEUES.orchestration,
      workflowId: `cg:${name}:v${version}:bias`,
      args: [{ model: name, version, requestedBy: 'dave', policy: policy({ checks: { bias: {} } }) }],
    });
    expect((await failureOf(noTrainer)).message).toBe(
      "The policy's bias audit needs the model's trainer (input.trainer, whose predict entry point they call), the label column (input.label), " +
        'at least one protected attribute (policy.checks.bias.protectedAttributes or input.sensitiveColumns)',
    );
    const selfQuorum = await client.workflow.start('complianceGate', {
      taskQueue: TASK_QUEUES.orchestration,
      workflowId: `cg:${name}:v${version}:quorum`,
      args: [{ model: name, version, requestedBy: 'carol', policy: policy({ quorum: { risk: 2 } }) }],
    });
    expect((await failureOf(selfQuorum)).message).toBe(
      'The quorum cannot be met: role "risk" needs 2 approvals but the approvers file lists 1 eligible holder (the requester carol cannot approve their own change)',
    );
    const unknownVersion = await startGate({ model: name, version: version + 5 });
    expect((await failureOf(unknownVersion)).message).toMatch(/^No such version to gate: /);
  });

  it('reports a malformed policy with its path and field before any workflow starts (CLI)', async () => {
    const name = uniqueModel('gate-cli');
    const version = await registerVersion(name);
    const policyFile = join(dir, `${name}-policy.json`);
    await writeFile(policyFile, JSON.stringify({ ...policy(), approvers: { file: 'approvers.json' }, deadlines: { escalateAfter: '3 days', rejectAfter: '1 day' } }));
    const bad = await runCli(['gate', 'start', `${name}@${version}`, '--policy', policyFile, '--requested-by', 'dave']);
    expect(bad).toEqual({ code: 2, stdout: '', stderr: `driftline: ${policyFile}: deadlines.escalateAfter: escalateAfter must be shorter than rejectAfter.\n` });
    const badApprovers = join(dir, 'approvers-typo.json');
    await writeFile(badApprovers, JSON.stringify({ approvers: [{ id: 'alice', role: ['ml-lead'], publicKey: keys.alice!.publicKey }] }));
    await writeFile(policyFile, JSON.stringify({ ...policy(), approvers: { file: 'approvers-typo.json' } }));
    const typo = await runCli(['gate', 'start', `${name}@${version}`, '--policy', policyFile, '--requested-by', 'dave']);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toMatch(new RegExp(`^driftline: ${badApprovers.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: approvers\\[0\\]\\.roles: .+\\.\\n$`));
    await expect(client.workflow.getHandle(`cg:${name}:v${version}`).describe()).rejects.toThrow(/not found/i);

    // a good policy, with the approvers file relative to it, starts the gate
    await writeFile(policyFile, JSON.stringify({ ...policy(), approvers: { file: 'approvers.json' } }));
    const good = await runCli(['gate', 'start', `${name}@${version}`, '--policy', policyFile, '--requested-by', 'dave']);
    expect(good).toMatchObject({ code: 0, stdout: `Started compliance gate cg:${name}:v${version} for ${name} v${version}.\nFollow it with: driftline gate status cg:${name}:v${version}\n` });
    const handle = client.workflow.getHandle(`cg:${name}:v${version}`);
    await until(handle, (x) => x.stage === 'awaiting-approval', 'approvals to open');
    const shown = await runCli(['gate', 'status', `cg:${name}:v${version}`]);
    expect(shown.stdout).toContain('ml-lead  0/1');
    await expect(sendDecision(client, `cg:${name}:v${version}`, 'approved', { key: keys.dave!.file, as: 'dave', role: 'ml-lead' })).rejects.toThrow(UsageError);
    await sendDecision(client, `cg:${name}:v${version}`, 'rejected', { key: keys.bob!.file, as: 'bob', role: 'ml-lead', comment: 'test done' });
    expect(await handle.result()).toMatchObject({ outcome: 'rejected' });
  });
});

async function runCli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [join(REPO_ROOT, 'scripts/driftline.mjs'), ...args],
      { cwd: REPO_ROOT, env: { ...process.env, TEMPORAL_ADDRESS: temporalAddress(), TEMPORAL_NAMESPACE: inject('temporalNamespace') } },
      (error, stdout, stderr) => resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

interface ReceivedMessage {
  text: string;
  sections: string[];
  context: string[];
  event: string;
}

/** A Slack-compatible webhook receiver on loopback; it can hold a message's response until released. */
class WebhookReceiver {
  readonly received: ReceivedMessage[] = [];
  readonly bodies: Array<{ text?: unknown; blocks?: unknown }> = [];
  url = '';
  private server: Server | null = null;
  private holding: ((m: ReceivedMessage) => boolean) | null = null;
  private held: Array<() => void> = [];

  async start(): Promise<void> {
    this.server = createServer((request, response) => void this.handle(request).then((hold) => {
      const answer = () => response.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
      if (hold) this.held.push(answer);
      else answer();
    }));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hooks/slack`;
  }

  private async handle(request: IncomingMessage): Promise<boolean> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { text: string; blocks: Array<{ type: string; text?: { text: string }; elements?: Array<{ text: string }> }> };
    this.bodies.push(body);
    const context = body.blocks.find((b) => b.type === 'context')?.elements?.map((e) => e.text) ?? [];
    const message = { text: body.text, sections: body.blocks.slice(1).filter((b) => b.type === 'section').map((b) => b.text!.text), context, event: context.find((c) => c.startsWith('event ')) ?? '' };
    // a retried delivery of the same message is recorded once
    if (!this.received.some((m) => m.text === message.text && m.event === message.event && m.context.join() === message.context.join())) this.received.push(message);
    return this.holding?.(message) ?? false;
  }

  hold(predicate: (m: ReceivedMessage) => boolean): void {
    this.holding = predicate;
  }

  release(): void {
    this.holding = null;
    for (const answer of this.held.splice(0)) answer();
  }

  async waitFor(predicate: (m: ReceivedMessage) => boolean, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.received.some(predicate)) {
      if (Date.now() > deadline) throw new Error('webhook message not received');
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async stop(): Promise<void> {
    this.release();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
