/**
 * Compliance commands:
 *   driftline keys generate --out <prefix>          an Ed25519 key pair for an approver
 *   driftline approve <gate> --key --as --role      sign the gate's evidence bundle and send the `approve` update
 *   driftline reject <gate> --key --as --role --reason
 *   driftline gate start <model>@<version> --policy --requested-by …   start a gate on a registered version
 *   driftline gate status <gate> | gate check-policy <file>
 *   driftline codec-server                          decode encrypted payloads for the Temporal UI/CLI (token required)
 *
 * Every refusal of the gate's validator is printed as the one sentence it gave, with exit code 2;
 * a malformed policy or approvers file is reported with its path and the offending field before any
 * workflow starts.
 */
import { withTemporalClient } from '../lib/temporal-client.ts';
import { serveCodec } from '../lib/codec-server.ts';
import { type Client, WorkflowUpdateFailedError } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/common';
import { Command } from 'commander';
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { access, readFile, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  approversFileSchema,
  compliancePolicySchema,
  complianceGateInputSchema,
  complianceGateWorkflowId,
  describeIssue,
  quorumProblems,
  statementOf,
  type ApprovalReceipt,
  type ApprovalUpdate,
  type ApproversFile,
  type CompliancePolicy,
  type ComplianceGateInput,
  type ComplianceGateStatus,
} from '../../core/compliance.ts';
import { TASK_QUEUES, WORKFLOW_TYPES } from '../../core/names.ts';
import { parseModelReference } from '../../core/registry.ts';
import { approvalMessageBytes, encodeBase64, type ApprovalStatement } from '../../core/signatures.ts';
import { trainerSchema } from '../../core/training.ts';
import { AesGcmPayloadCodec, CodecError, generateCodecKey, parseKeyring } from '../../core/payload-codec.ts';
import { UsageError } from './errors.ts';
import { readJsonFile } from './json-file.ts';
import { print, printJson, table } from './output.ts';

// ---------------------------------------------------------------------------------------------
// Keys and signatures

export interface GeneratedKeys {
  privateKeyPem: string;
  /** Standard base64 of the raw 32-byte public key: what the approvers file lists. */
  publicKey: string;
}

export function generateApproverKeys(): GeneratedKeys {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return { privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), publicKey: rawPublicKey(publicKey) };
}

function rawPublicKey(key: KeyObject): string {
  const jwk = key.export({ format: 'jwk' });
  return Buffer.from(jwk.x!, 'base64url').toString('base64');
}

export function loadPrivateKey(pem: string, source: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch (error) {
    throw new UsageError(`${source} is not a private key file (${(error as Error).message}); make one with "driftline keys generate".`);
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new UsageError(`${source} holds a ${key.asymmetricKeyType ?? 'non-asymmetric'} key, not an Ed25519 key.`);
  return key;
}

/** Signs approvalMessage(statement) with an Ed25519 private key: the base64 signature. */
export function signStatement(privateKey: KeyObject, statement: ApprovalStatement): string {
  return encodeBase64(new Uint8Array(sign(null, approvalMessageBytes(statement), privateKey)));
}

/** The base64 public key of a private key: to check a key file against the approvers file. */
export function publicKeyOfPrivate(privateKey: KeyObject): string {
  return rawPublicKey(createPublicKey(privateKey));
}

// ---------------------------------------------------------------------------------------------
// Policy and approvers files

export interface LoadedPolicy {
  policy: CompliancePolicy;
  approvers: ApproversFile;
  /** The approvers file as the workers will read it (file:// URI). */
  approversUri: string;
}

/** Reads and validates a policy file and the approvers file it names; every problem names the file and the field. */
export async function loadPolicyFile(path: string): Promise<LoadedPolicy> {
  const policyPath = resolve(path);
  const raw = await readJsonFile(policyPath, 'policy file');
  // A relative approvers path is relative to the policy file; workers get an absolute file:// URI.
  const approversField = (raw as { approvers?: { file?: unknown } })?.approvers?.file;
  if (typeof approversField === 'string' && !/^[a-z][a-z0-9+.-]*:\/\//i.test(approversField)) {
    (raw as { approvers: { file: string } }).approvers.file = pathToFileURL(resolve(dirname(policyPath), approversField)).href;
  }
  const parsed = compliancePolicySchema.safeParse(raw);
  if (!parsed.success) throw new UsageError(`${path}: ${describeIssue(parsed.error)}.`);
  const policy = parsed.data;
  const approversUri = policy.approvers.file;
  if (!approversUri.startsWith('file://') && !approversUri.startsWith('s3://')) {
    throw new UsageError(`${path}: approvers.file: must be a path, a file:// or an s3:// URI.`);
  }
  let approvers: ApproversFile;
  if (approversUri.startsWith('file://')) {
    const approversPath = fileURLToPath(approversUri);
    const json = await readJsonFile(approversPath, 'approvers file');
    const result = approversFileSchema.safeParse(json);
    if (!result.success) throw new UsageError(`${approversPath}: ${describeIssue(result.error)}.`);
    approvers = result.data;
  } else {
    approvers = { approvers: [], escalation: [] }; // read and checked by the gate's first activity
  }
  return { policy, approvers, approversUri };
}


// ---------------------------------------------------------------------------------------------
// Temporal


export async function gateStatus(client: Client, gateId: string): Promise<ComplianceGateStatus> {
  try {
    return await client.workflow.getHandle(gateId).query<ComplianceGateStatus>('status');
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) throw new UsageError(`There is no compliance gate "${gateId}".`);
    throw error;
  }
}

export interface DecisionFlags {
  key: string;
  as: string;
  role: string;
  comment?: string;
  /** The evidence bundle the person reviewed; default: the gate's current one. */
  evidence?: string;
}

/**
 * Signs a decision on the gate's evidence bundle and sends it as the `approve` or `reject` update.
 * A validator refusal becomes a UsageError carrying the validator's sentence.
 */
export async function sendDecision(client: Client, gateId: string, decision: 'approved' | 'rejected', flags: DecisionFlags): Promise<ApprovalReceipt> {
  const key = loadPrivateKey(await readFile(resolve(flags.key), 'utf8').catch(() => {
    throw new UsageError(`Cannot read the key file ${flags.key}.`);
  }), flags.key);
  const status = await gateStatus(client, gateId);
  if (status.outcome) throw new UsageError(`Gate ${gateId} is closed (${status.outcome.outcome}: ${status.outcome.reason}); no further decision is accepted.`);
  if (!status.evidenceBundle) throw new UsageError(`Gate ${gateId} is still running its checks: there is no evidence bundle to sign yet.`);
  const update: ApprovalUpdate = {
    gate: gateId,
    model: status.model,
    version: status.version,
    evidenceBundleSha256: flags.evidence ?? status.evidenceBundle.sha256,
    approver: flags.as,
    role: flags.role,
    comment: flags.comment ?? '',
    signature: '',
  };
  update.signature = signStatement(key, statementOf({ ...update, comment: update.comment ?? '' }, decision));
  try {
    return await client.workflow.getHandle(gateId).executeUpdate<ApprovalReceipt, [ApprovalUpdate]>(decision === 'approved' ? 'approve' : 'reject', { args: [update] });
  } catch (error) {
    if (error instanceof WorkflowUpdateFailedError) throw new UsageError(error.cause?.message ?? error.message);
    if (error instanceof WorkflowNotFoundError || /already completed/i.test((error as Error).message)) {
      throw new UsageError(`Gate ${gateId} has finished; no further decision is accepted.`);
    }
    throw error;
  }
}

// ---------------------------------------------------------------------------------------------
// Commands

export function keysCommand(): Command {
  const keys = new Command('keys').description('Approver keys (Ed25519) for signing compliance decisions.');
  keys
    .command('generate')
    .description('Make a key pair: <out>.key (private, PKCS#8 PEM, mode 600) and <out>.pub; prints the approvers-file entry.')
    .requiredOption('--out <prefix>', 'path prefix of the two files, e.g. ~/.driftline/alice')
    .option('--id <approver>', 'the approver id to put in the printed entry (an email address or a handle)')
    .option('--role <role...>', 'roles to put in the printed entry')
    .option('--force', 'overwrite existing files')
    .option('--json', 'print JSON')
    .action(async (flags: { out: string; id?: string; role?: string[]; force?: boolean; json?: boolean }) => {
      const keyPath = resolve(`${flags.out}.key`);
      const pubPath = resolve(`${flags.out}.pub`);
      if (!flags.force) {
        for (const path of [keyPath, pubPath]) {
          if (await access(path).then(() => true, () => false)) throw new UsageError(`${path} exists; pass --force to overwrite it.`);
        }
      }
      const generated = generateApproverKeys();
      await writeFile(keyPath, generated.privateKeyPem, { mode: 0o600 });
      await writeFile(pubPath, `${generated.publicKey}\n`);
      const entry = { id: flags.id ?? '<your id>', roles: flags.role ?? ['<role>'], publicKey: generated.publicKey };
      if (flags.json) return printJson({ privateKey: keyPath, publicKeyFile: pubPath, publicKey: generated.publicKey, approversEntry: entry });
      print(`private key  ${keyPath} (keep it secret)`);
      print(`public key   ${pubPath}`);
      print('');
      print('Add this entry to the approvers file:');
      print(JSON.stringify(entry, null, 2));
    });
  return keys;
}

function decisionCommand(name: 'approve' | 'reject'): Command {
  const decision = name === 'approve' ? 'approved' : 'rejected';
  const command = new Command(name)
    .description(
      name === 'approve'
        ? "Sign the gate's evidence bundle with your key and approve it in the role given."
        : "Sign a rejection of the gate's evidence bundle with your key; one accepted rejection closes the gate.",
    )
    .argument('<gate>', 'the gate\'s workflow id, e.g. cg:credit-default:v3')
    .requiredOption('--key <file>', 'your private key (from driftline keys generate)')
    .requiredOption('--as <approver>', 'your approver id, as in the approvers file')
    .requiredOption('--role <role>', 'the role you decide in, e.g. ml-lead')
    .option('--evidence <sha256>', 'the evidence bundle you reviewed (default: the gate\'s current bundle)')
    .option('--json', 'print JSON');
  if (name === 'approve') command.option('--comment <text>', 'a comment, signed with the decision');
  else command.requiredOption('--reason <text>', 'why, signed with the decision');
  return command.action(async (gate: string, flags: DecisionFlags & { reason?: string; json?: boolean }) => {
    const receipt = await withTemporalClient((client) => sendDecision(client, gate, decision, { ...flags, ...(flags.reason ? { comment: flags.reason } : {}) }));
    if (flags.json) return printJson(receipt);
    print(`${receipt.decision === 'approved' ? 'Approved' : 'Rejected'} ${gate} as ${receipt.approver} (${receipt.role}); signature accepted and recorded.`);
    if (receipt.gate === 'open') {
      const missing = receipt.quorum.filter((q) => q.approvedBy.length < q.required).map((q) => `${q.required - q.approvedBy.length} × ${q.role}`);
      print(`The gate stays open: still needs ${missing.join(', ')}.`);
    } else print(`The gate is now ${receipt.gate}.`);
  });
}

export function approveCommand(): Command {
  return decisionCommand('approve');
}

export function rejectCommand(): Command {
  return decisionCommand('reject');
}

interface StartFlags {
  policy: string;
  requestedBy: string;
  id?: string;
  holdout?: string;
  trainer?: string;
  label?: string;
  sensitive?: string[];
  json?: boolean;
}

export function gateCommand(): Command {
  const gate = new Command('gate').description('Compliance gates: start one on a registered version, see where it stands, check a policy.');
  gate
    .command('start')
    .description('Start a compliance gate on a registered version (<model>@<version>).')
    .argument('<reference>', 'model and version, e.g. credit-default@3')
    .requiredOption('--policy <file>', 'compliance policy (JSON); its approvers.file is relative to it')
    .requiredOption('--requested-by <who>', 'who asks for the approval (they cannot approve it themselves)')
    .option('--id <workflowId>', 'workflow id (default cg:<model>:v<version>)')
    .option('--holdout <uri>', 'holdout for the bias audit and explainability (default: the lineage\'s)')
    .option('--trainer <file>', 'the model\'s trainer spec (JSON), whose predict entry point the checks call')
    .option('--label <column>', 'the label column of the holdout')
    .option('--sensitive <column...>', 'protected attributes to audit, in addition to the policy\'s')
    .option('--json', 'print JSON')
    .action(async (reference: string, flags: StartFlags) => {
      const { input, workflowId } = await prepareGate(reference, flags);
      const handle = await withTemporalClient((client) =>
        client.workflow.start(WORKFLOW_TYPES.complianceGate, {
          taskQueue: TASK_QUEUES.orchestration,
          workflowId,
          args: [input],
          workflowIdConflictPolicy: 'USE_EXISTING',
          staticSummary: `Compliance gate for ${input.model} v${input.version}`,
          staticDetails: `requested by ${input.requestedBy}; policy ${resolve(flags.policy)}`,
        }),
      );
      if (flags.json) return printJson({ workflowId, runId: handle.firstExecutionRunId });
      print(`Started compliance gate ${workflowId} for ${input.model} v${input.version}.`);
      print(`Follow it with: driftline gate status ${workflowId}`);
    });

  gate
    .command('status')
    .description('Where a gate stands: checks, evidence bundle, who may still approve, deadlines, decision.')
    .argument('<gate>', 'the gate\'s workflow id')
    .option('--json', 'print JSON')
    .action(async (gateId: string, flags: { json?: boolean }) => {
      const status = await withTemporalClient((client) => gateStatus(client, gateId));
      if (flags.json) return printJson(status);
      for (const line of describeStatus(status)) print(line);
    });

  gate
    .command('check-policy')
    .description('Validate a compliance policy and the approvers file it names, without starting anything.')
    .argument('<file>', 'compliance policy (JSON)')
    .option('--requested-by <who>', 'also check that the quorum can be met without this requester')
    .action(async (file: string, flags: { requestedBy?: string }) => {
      const loaded = await loadPolicyFile(file);
      const problems = quorumProblems(loaded.policy, loaded.approvers, flags.requestedBy ?? '');
      if (problems.length && loaded.approversUri.startsWith('file://')) throw new UsageError(`${file}: the quorum cannot be met: ${problems.join('; ')}.`);
      print(`${file}: valid. Checks: ${Object.keys(loaded.policy.checks).join(', ') || 'none'}; quorum ${Object.entries(loaded.policy.quorum).map(([r, n]) => `${n} × ${r}`).join(', ')}; ` +
        `escalates after ${loaded.policy.deadlines.escalateAfter}, rejected after ${loaded.policy.deadlines.rejectAfter}.`);
    });
  return gate;
}

/** Validates everything a gate start needs, before any workflow starts. */
export async function prepareGate(reference: string, flags: StartFlags): Promise<{ input: ComplianceGateInput; workflowId: string }> {
  let ref;
  try {
    ref = parseModelReference(reference);
  } catch (error) {
    throw new UsageError(`"${reference}" is not a model reference: ${(error as Error).message}`);
  }
  if (ref.selector.kind !== 'version') throw new UsageError(`Give an exact version to gate, e.g. ${ref.model}@3 (not "${reference}").`);
  const loaded = await loadPolicyFile(flags.policy);
  const problems = quorumProblems(loaded.policy, loaded.approvers, flags.requestedBy);
  if (problems.length && loaded.approversUri.startsWith('file://')) throw new UsageError(`${flags.policy}: the quorum cannot be met: ${problems.join('; ')}.`);
  let trainer: unknown;
  if (flags.trainer) {
    const parsed = trainerSchema.safeParse(await readJsonFile(resolve(flags.trainer), 'trainer file'));
    if (!parsed.success) throw new UsageError(`${flags.trainer}: ${describeIssue(parsed.error)}.`);
    trainer = parsed.data;
  }
  const holdout = flags.holdout && !/^[a-z][a-z0-9+.-]*:\/\//i.test(flags.holdout) ? pathToFileURL(resolve(flags.holdout)).href : flags.holdout;
  const input: ComplianceGateInput = {
    model: ref.model,
    version: ref.selector.version,
    requestedBy: flags.requestedBy,
    policy: loaded.policy,
    ...(holdout ? { holdoutUri: holdout } : {}),
    ...(trainer ? { trainer: trainer as ComplianceGateInput['trainer'] } : {}),
    ...(flags.label ? { label: flags.label } : {}),
    ...(flags.sensitive?.length ? { sensitiveColumns: flags.sensitive } : {}),
  };
  const checked = complianceGateInputSchema.safeParse(input);
  if (!checked.success) throw new UsageError(`Invalid gate input: ${describeIssue(checked.error)}.`);
  return { input, workflowId: flags.id ?? complianceGateWorkflowId(ref.model, ref.selector.version) };
}

export function describeStatus(s: ComplianceGateStatus): string[] {
  const lines = [`${s.gate}: ${s.model} v${s.version}, requested by ${s.requestedBy}  [${s.outcome ? s.outcome.outcome : s.stage}]`];
  if (s.outcome) lines.push(`  decision     ${s.outcome.outcome} (${s.outcome.closedBy}): ${s.outcome.reason}`);
  else lines.push(`  waiting for  ${s.waitingFor}`);
  if (s.evidenceBundle) lines.push(`  evidence     ${s.evidenceBundle.sha256}  ${s.evidenceBundle.uri}`);
  if (s.deadlines) lines.push(`  deadlines    escalate ${s.deadlines.escalateAt}${s.escalated ? ' (escalated)' : ''}, reject ${s.deadlines.rejectAt}`);
  if (s.checks.length) {
    lines.push('', ...table([['CHECK', 'STATUS', 'SUMMARY'], ...s.checks.map((c) => [c.check, c.status, c.summary])]).map((l) => `  ${l}`));
  }
  if (s.quorum.length) {
    lines.push('', ...table([['ROLE', 'APPROVED', 'MAY APPROVE'], ...s.quorum.map((q) => [q.role, `${q.approvedBy.length}/${q.required} ${q.approvedBy.join(' ')}`.trim(), q.eligible.join(' ') || '-'])]).map((l) => `  ${l}`));
  }
  for (const d of s.decisions) lines.push(`  ${d.at}  ${d.decision} by ${d.approver} (${d.role})${d.comment ? `: ${d.comment}` : ''}`);
  return lines;
}

// ---------------------------------------------------------------------------------------------
// Codec server

interface CodecServerFlags {
  host: string;
  port: number;
  keysFile?: string;
  token?: string;
  allowOrigin: string[];
  newKey?: string;
}

/**
 * `driftline codec-server`: decodes (and encodes) payloads for the Temporal UI and CLI
 * (`--codec-endpoint`), for people who hold its token. Keys: DRIFTLINE_CODEC_KEYS or --keys-file.
 */
export function codecServerCommand(): Command {
  return new Command('codec-server')
    .description('Serve the AES-256-GCM payload codec to the Temporal UI/CLI (POST /encode, /decode), token required.')
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--port <port>', 'port to listen on', (v) => Number(v), 8888)
    .option('--keys-file <file>', 'keyring JSON ({"current": id, "keys": {id: base64 key}}); default: DRIFTLINE_CODEC_KEYS')
    .option('--token <token>', 'the token people must present (default: DRIFTLINE_CODEC_TOKEN)')
    .option('--allow-origin <origin...>', 'browser origins allowed (the Temporal UI)', ['http://127.0.0.1:8233', 'http://localhost:8233'])
    .option('--new-key <id>', 'print a new random key for the keyring under this id, and exit')
    .action(async (flags: CodecServerFlags) => {
      if (flags.newKey) {
        printJson({ [flags.newKey]: generateCodecKey() });
        return;
      }
      const server = await startCodecServer(flags);
      print(`codec server on http://${flags.host}:${server.port} (key ids: ${server.keyIds.join(', ')}; current ${server.current})`);
      print(`Temporal UI codec endpoint: http://${flags.host}:${server.port}/t/<token>   (or send "Authorization: Bearer <token>")`);
      await new Promise<void>((resolve) => {
        const stop = () => server.close().then(resolve);
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
    });
}

export async function startCodecServer(flags: Omit<CodecServerFlags, 'newKey'>): Promise<{ port: number; keyIds: string[]; current: string; close: () => Promise<void> }> {
  const source = flags.keysFile ?? 'DRIFTLINE_CODEC_KEYS';
  const json = flags.keysFile ? await readFile(resolve(flags.keysFile), 'utf8').catch(() => undefined) : process.env.DRIFTLINE_CODEC_KEYS;
  if (!json) throw new UsageError(flags.keysFile ? `Cannot read the keyring ${flags.keysFile}.` : 'codec-server needs keys: set DRIFTLINE_CODEC_KEYS or pass --keys-file.');
  let codec: AesGcmPayloadCodec;
  let keyIds: string[];
  try {
    const ring = parseKeyring(json, source);
    codec = new AesGcmPayloadCodec(ring);
    keyIds = Object.keys(ring.keys);
  } catch (error) {
    if (error instanceof CodecError) throw new UsageError(`${error.message}.`);
    throw error;
  }
  const token = flags.token ?? process.env.DRIFTLINE_CODEC_TOKEN;
  if (!token || token.length < 16) throw new UsageError('codec-server needs a token of at least 16 characters: --token or DRIFTLINE_CODEC_TOKEN.');
  const server = await serveCodec({ codec, token, host: flags.host, port: flags.port, allowedOrigins: flags.allowOrigin });
  return { port: server.port, keyIds, current: codec.currentKeyId, close: () => server.close() };
}
