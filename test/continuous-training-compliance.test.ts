/**
 * continuousTraining with a compliance section: the pipeline registers the candidate, hands over to
 * the compliance gate as a child workflow, waits there for signed approvals given from the terminal
 * (`driftline approve` / `driftline reject`), and ends with the gate's verdict; `driftline run
 * --wait` exits 11 when compliance rejects.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { ComplianceGateStatus, CompliancePolicyInput } from '../core/compliance.ts';
import { complianceGateWorkflowId } from '../core/compliance.ts';
import type { PipelineOutcome, PipelineStatus } from '../core/training.ts';
import { generateApproverKeys } from '../scripts/cli/compliance.ts';
import { startContinuousTraining } from '../scripts/lib/start-pipeline.ts';
import { testClient } from './helpers/env.ts';
import { creditPipeline, resultWithin, uniqueModel } from './helpers/pipelines.ts';
import { runCli, startCli } from './helpers/processes.ts';

let client: Awaited<ReturnType<typeof testClient>>;
let dir: string;
let compliance: CompliancePolicyInput;
const keys: Record<string, string> = {};
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  client = await testClient();
  dir = await mkdtemp(join(tmpdir(), 'driftline-ct-gate-'));
  const approvers = [];
  for (const [id, roles] of Object.entries({ alice: ['ml-lead'], carol: ['risk'] })) {
    const generated = generateApproverKeys();
    keys[id] = join(dir, `${id}.key`);
    await writeFile(keys[id], generated.privateKeyPem, { mode: 0o600 });
    approvers.push({ id, roles, publicKey: generated.publicKey });
  }
  const approversFile = join(dir, 'approvers.json');
  await writeFile(approversFile, JSON.stringify({ approvers, escalation: ['carol'] }));
  compliance = {
    checks: { modelCard: {} },
    approvers: { file: pathToFileURL(approversFile).href },
    quorum: { 'ml-lead': 1, risk: 1 },
    deadlines: { escalateAfter: '1 hour', rejectAfter: '2 hours' },
  };
  env = { ...process.env, TEMPORAL_ADDRESS: inject('temporalAddress'), TEMPORAL_NAMESPACE: 'default' };
});
afterAll(async () => {
  await client?.close();
});

async function awaitingApproval(model: string, version: number): Promise<ComplianceGateStatus> {
  const gate = client.client.workflow.getHandle(complianceGateWorkflowId(model, version));
  for (let i = 0; ; i++) {
    const status = (await gate.query('status').catch(() => null)) as ComplianceGateStatus | null;
    if (status?.stage === 'awaiting-approval') return status;
    if (i > 600) throw new Error(`gate never waited for approvals: ${JSON.stringify(status)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('continuousTraining with a compliance gate', () => {
  it('waits at the gate, then registers once both roles approve from the terminal', async () => {
    const model = uniqueModel('credit-gated');
    const input = creditPipeline(model);
    input.policy = { ...input.policy, compliance };
    const { handle } = await startContinuousTraining(client.client, input, 'gated');
    const gate = await awaitingApproval(model, 1);
    expect(gate.approverRoles).toEqual([
      { id: 'alice', roles: ['ml-lead'] },
      { id: 'carol', roles: ['risk'] },
    ]);
    const pipeline = (await handle.query('status')) as PipelineStatus;
    expect(pipeline.stage).toBe('compliance');

    const gateId = complianceGateWorkflowId(model, 1);
    const alice = await runCli(['approve', gateId, '--key', keys.alice!, '--as', 'alice', '--role', 'ml-lead'], env);
    expect(alice.code).toBe(0);
    const carol = await runCli(['approve', gateId, '--key', keys.carol!, '--as', 'carol', '--role', 'risk'], env);
    expect(carol.code).toBe(0);

    const outcome = await resultWithin<PipelineOutcome>(handle);
    expect(outcome).toMatchObject({ outcome: 'registered', version: 1 });
    const final = (await handle.query('status')) as PipelineStatus;
    expect(final.steps.map((s) => s.step)).toEqual(['validating', 'training', 'evaluating', 'registering', 'compliance']);
    expect(final.decision).toBe('registered v1 as challenger, approved by the compliance gate');
  });

  it('ends rejected when an approver rejects, and `run --wait` exits 11', async () => {
    const model = uniqueModel('credit-gate-no');
    const definition = creditPipeline(model);
    definition.policy = { ...definition.policy, compliance };
    const config = join(dir, `${model}.json`);
    await writeFile(config, JSON.stringify(definition));
    const follower = startCli(['run', '--config', config, '--key', 'refused', '--wait'], env);
    await awaitingApproval(model, 1);
    const refused = await runCli(['reject', complianceGateWorkflowId(model, 1), '--key', keys.carol!, '--as', 'carol', '--role', 'risk', '--reason', 'bias report not reviewed'], env);
    expect(refused.code).toBe(0);
    const { code } = await follower.exited;
    expect(code).toBe(11);
    expect(follower.output()).toContain('rejected by the compliance gate');
  });
});
