/**
 * The compliance gate's vocabulary: the policy (which checks run and their thresholds, who approves
 * and how many per role, deadlines, notifications), the approvers file (people, roles, Ed25519
 * public keys, escalation contacts), the approval updates and what they sign, the evidence bundle,
 * and the gate's input, status and outcome. Pure: shared by the workflow, activities and the CLI.
 *
 * Deadlines only ever reject: a gate that times out is rejected, never approved.
 */
import { z } from 'zod';
import { sha256Schema } from './artifacts.ts';
import { modelNameSchema, versionNumberSchema } from './registry.ts';
import { metricNameSchema, trainerSchema } from './training-spec.ts';
import { isEd25519PublicKey } from './signatures.ts';
import { durationMs } from './compliance-rules.ts';

export { describeIssue, durationMs, EVIDENCE_KINDS, quorumProblems, statementOf } from './compliance-rules.ts';
export { complianceGateWorkflowId } from './workflow-ids.ts';

const text = z.string().trim().min(1).max(512);
const storageUri = z.string().min(1).max(2048).refine((v) => v.startsWith('file://') || v.startsWith('s3://'), {
  message: 'must be a file:// or s3:// URI',
});

/** Roles such as `ml-lead`, `risk`, `legal`. */
export const roleSchema = z.string().regex(/^[a-z][a-z0-9-]{0,63}$/, 'a role is lowercase words joined by "-", e.g. "ml-lead"');
/** Approver ids: an email address or a handle. */
export const approverIdSchema = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._@+-]{0,127}$/, 'an approver id is an email address or a handle (letters, digits, . _ @ + -)');

export const durationSchema = z.string().refine((v) => durationMs(v) !== null, {
  message: 'must be a duration such as "30 seconds", "4 hours" or "7 days"',
});

// ---------------------------------------------------------------------------------------------
// Checks

export const provenanceCheckSchema = z
  .object({
    /**
     * Metadata every dataset of the lineage must declare (e.g. "useRights", "consent", "retention"),
     * read from a sidecar JSON object stored beside the dataset: `<dataset uri><metadataSuffix>`.
     */
    requiredMetadata: z.array(z.string().min(1).max(128)).default([]),
    metadataSuffix: z.string().min(1).max(64).default('.meta.json'),
    /** Also recompute the model artifact's sha256. */
    verifyArtifact: z.boolean().default(true),
  })
  .strict();

/** A protected attribute: a column of categories, or a numeric column cut into bins `[a, b)`. */
export const protectedAttributeSchema = z.union([
  z.string().min(1).max(128),
  z
    .object({
      column: z.string().min(1).max(128),
      bins: z.array(z.number().finite()).min(2).refine((edges) => edges.every((e, i) => i === 0 || e > edges[i - 1]!), { message: 'bin edges must increase' }),
    })
    .strict(),
]);
export type ProtectedAttribute = z.infer<typeof protectedAttributeSchema>;

export const biasCheckSchema = z
  .object({
    /** Columns of the holdout to audit; the gate input's `sensitiveColumns` are added to them. */
    protectedAttributes: z.array(protectedAttributeSchema).default([]),
    /** The favourable outcome (a predicted or true label equal to it counts as positive). */
    positiveLabel: z.number().default(1),
    /** Groups with fewer rows are reported as "insufficient data" and left out of the figures. */
    minGroupSize: z.number().int().min(1).default(30),
    maxDemographicParityDifference: z.number().min(0).max(1).default(0.1),
    maxEqualizedOddsDifference: z.number().min(0).max(1).default(0.1),
    /** The four-fifths rule: the lowest selection rate over the highest must reach this. */
    minDisparateImpactRatio: z.number().min(0).max(1).default(0.8),
    /** What an attribute with fewer than two groups of sufficient size counts as. */
    insufficientData: z.enum(['fail', 'pass']).default('fail'),
  })
  .strict();
export type BiasCheckPolicy = z.infer<typeof biasCheckSchema>;

export const explainabilityCheckSchema = z
  .object({
    /** Score whose drop measures importance; default accuracy (classification) or r2 (regression). */
    metric: metricNameSchema.optional(),
    repeats: z.number().int().min(1).max(50).default(5),
    seed: z.number().int().min(0).max(0xffffffff).default(0),
    /** Feature columns to permute (default: every holdout column except the label). */
    features: z.array(z.string().min(1)).optional(),
    /** Rows of the holdout used (the first ones): bounds the prediction job's size. */
    maxRows: z.number().int().min(10).max(1_000_000).default(2000),
  })
  .strict();
export type ExplainabilityCheckPolicy = z.infer<typeof explainabilityCheckSchema>;

export const SEVERITIES = ['low', 'medium', 'high', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];
export const SCANNER_FORMATS = ['trivy', 'grype', 'npm-audit', 'pip-audit', 'sarif'] as const;

export const scannerSchema = z
  .object({
    name: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, 'a scanner name is lowercase letters, digits, ".", "_" or "-"'),
    /** argv; its standard output is parsed in `format`. */
    command: z.array(z.string().min(1)).min(1),
    workingDirectory: z.string().min(1).optional(),
    format: z.enum(SCANNER_FORMATS),
    timeoutSeconds: z.number().int().min(1).max(24 * 3600).default(600),
  })
  .strict();
export type ScannerSpec = z.infer<typeof scannerSchema>;

export const securityCheckSchema = z
  .object({
    /** A required scan that did not run (no scanner, scanner missing or crashed) fails the check. */
    required: z.boolean().default(false),
    /** Findings at or above this severity fail the check. */
    failOn: z.enum(SEVERITIES).default('high'),
    scanners: z.array(scannerSchema).default([]),
  })
  .strict();
export type SecurityCheckPolicy = z.infer<typeof securityCheckSchema>;

export const modelCardCheckSchema = z.object({ title: text.optional() }).strict();

// ---------------------------------------------------------------------------------------------
// Policy

export const compliancePolicySchema = z
  .object({
    name: text.optional(),
    checks: z
      .object({
        provenance: provenanceCheckSchema.optional(),
        bias: biasCheckSchema.optional(),
        explainability: explainabilityCheckSchema.optional(),
        security: securityCheckSchema.optional(),
        modelCard: modelCardCheckSchema.optional(),
      })
      .strict(),
    /** A failed check rejects the gate at once (`reject`), or is put before the approvers (`ask-approvers`). */
    onCheckFailure: z.enum(['reject', 'ask-approvers']).default('reject'),
    /** The approvers file (file:// or s3://; the CLI resolves a path relative to the policy file). */
    approvers: z.object({ file: z.string().min(1).max(2048), sha256: sha256Schema.optional() }).strict(),
    /** Approvals needed per role, e.g. { "ml-lead": 1, "risk": 1 }. */
    quorum: z.record(roleSchema, z.number().int().min(1).max(50)).refine((q) => Object.keys(q).length > 0, { message: 'name at least one role' }),
    deadlines: z
      .object({
        /** Reminder, and escalation to the approvers file's escalation contacts. */
        escalateAfter: durationSchema,
        /** Automatic rejection. A gate is never approved by a deadline. */
        rejectAfter: durationSchema,
      })
      .strict()
      .refine((d) => durationMs(d.escalateAfter)! < durationMs(d.rejectAfter)!, {
        message: 'escalateAfter must be shorter than rejectAfter',
        path: ['escalateAfter'],
      }),
    notifications: z
      .object({
        /** Slack-compatible incoming webhook: JSON `{ text, blocks }` on request, escalation and decision. */
        webhookUrl: z.string().url().refine((v) => /^https?:\/\//.test(v), { message: 'must be an http(s) URL' }),
      })
      .strict()
      .optional(),
  })
  .strict();
export type CompliancePolicy = z.infer<typeof compliancePolicySchema>;
export type CompliancePolicyInput = z.input<typeof compliancePolicySchema>;

// ---------------------------------------------------------------------------------------------
// Approvers file

export const approverSchema = z
  .object({
    id: approverIdSchema,
    name: text.optional(),
    roles: z.array(roleSchema).min(1),
    /** Ed25519 public key, standard base64 of its 32 bytes (`driftline keys generate` prints it). */
    publicKey: z.string().refine(isEd25519PublicKey, { message: 'must be an Ed25519 public key: base64 of 32 bytes' }),
  })
  .strict();
export type Approver = z.infer<typeof approverSchema>;

export const approversFileSchema = z
  .object({
    approvers: z.array(approverSchema).min(1),
    /** Who is told when a gate is overdue: ids of approvers listed above. */
    escalation: z.array(approverIdSchema).default([]),
  })
  .strict()
  .superRefine((file, ctx) => {
    const seen = new Set<string>();
    file.approvers.forEach((a, i) => {
      if (seen.has(a.id)) ctx.addIssue({ code: 'custom', path: ['approvers', i, 'id'], message: `approver "${a.id}" is listed twice` });
      seen.add(a.id);
    });
    const keys = new Map<string, string>();
    file.approvers.forEach((a, i) => {
      const other = keys.get(a.publicKey);
      if (other) ctx.addIssue({ code: 'custom', path: ['approvers', i, 'publicKey'], message: `"${a.id}" has the same public key as "${other}"` });
      keys.set(a.publicKey, a.id);
    });
    file.escalation.forEach((id, i) => {
      if (!seen.has(id)) ctx.addIssue({ code: 'custom', path: ['escalation', i], message: `"${id}" is not an approver listed in this file` });
    });
  });
export type ApproversFile = z.infer<typeof approversFileSchema>;

// ---------------------------------------------------------------------------------------------
// Gate input, updates, status, outcome

export const complianceGateInputSchema = z.object({
  model: modelNameSchema,
  version: versionNumberSchema,
  /** Who asks for this version to be approved; four eyes: they cannot approve it themselves. */
  requestedBy: text,
  policy: compliancePolicySchema,
  /** The holdout the bias audit and explainability run on (default: the version's lineage holdout). */
  holdoutUri: storageUri.optional(),
  /** The model's trainer, whose predict entry point the bias audit and explainability call. */
  trainer: trainerSchema.optional(),
  /** The label column of the holdout. */
  label: text.optional(),
  /** Protected attributes to audit, in addition to the policy's. */
  sensitiveColumns: z.array(z.string().min(1).max(128)).optional(),
});
export type ComplianceGateInput = z.input<typeof complianceGateInputSchema>;
export type ComplianceGateRequest = z.infer<typeof complianceGateInputSchema>;

/** What `driftline approve|reject` sends as the `approve` / `reject` update: a signed statement. */
export const approvalUpdateSchema = z
  .object({
    gate: z.string().min(1).max(1000),
    model: z.string().min(1).max(128),
    version: z.number().int().positive(),
    evidenceBundleSha256: z.string().min(1).max(128),
    approver: z.string().min(1).max(128),
    role: z.string().min(1).max(64),
    comment: z.string().max(4096).default(''),
    /** Ed25519 signature (base64) of approvalMessage({ ...these fields, decision }). */
    signature: z.string().min(1).max(256),
  })
  .strict();
export type ApprovalUpdate = z.input<typeof approvalUpdateSchema>;

export interface AcceptedDecision {
  approver: string;
  role: string;
  decision: 'approved' | 'rejected';
  comment: string;
  /** Base64 Ed25519 signature over approvalMessage() of this decision. */
  signature: string;
  at: string;
}

export interface RoleProgress {
  role: string;
  required: number;
  approvedBy: string[];
  /** Who may still approve for this role (holders who have not decided, minus the requester). */
  eligible: string[];
}

/** What the update returns to the approver's CLI. */
export interface ApprovalReceipt {
  accepted: true;
  decision: 'approved' | 'rejected';
  approver: string;
  role: string;
  gate: 'open' | 'approved' | 'rejected';
  quorum: RoleProgress[];
}

export type CheckName = 'provenance' | 'bias' | 'explainability' | 'security' | 'model-card';
export type CheckStatus = 'pass' | 'fail' | 'not-run' | 'error';

export interface ArtifactRef {
  uri: string;
  sha256: string;
}

/** One check as the gate records it: its verdict and its stored report. */
export interface CheckResult {
  check: CheckName;
  status: CheckStatus;
  summary: string;
  /** The report (JSON, or Markdown for the model card); null when the check could not produce one. */
  report: ArtifactRef | null;
  /** More artifacts of the same check (the explainability chart). */
  attachments: Array<ArtifactRef & { kind: string }>;
}

/**
 * The evidence bundle: canonical JSON (RFC 8785) stored by content; its sha256 is what approvers
 * sign. It names the gate, the version's lineage hashes, the policy and approvers file by hash, and
 * every check's verdict and report by hash, so any later change to any of them changes the hash.
 */
export interface EvidenceBundle {
  format: 'driftline-evidence-bundle/v1';
  gate: string;
  model: string;
  version: number;
  requestedBy: string;
  createdAt: string;
  lineage: {
    code: { repository: string | null; commit: string | null };
    trainData: ArtifactRef;
    holdoutData: ArtifactRef | null;
    artifact: ArtifactRef;
    metrics: Record<string, number>;
  };
  policy: ArtifactRef;
  approvers: ArtifactRef;
  quorum: Record<string, number>;
  checks: Array<{ check: CheckName; status: CheckStatus; summary: string; report: ArtifactRef | null; attachments: Array<ArtifactRef & { kind: string }> }>;
}

export type GateStage = 'checking' | 'awaiting-approval' | 'escalated' | 'done';

export interface ComplianceGateStatus {
  stage: GateStage;
  gate: string;
  model: string;
  version: number;
  requestedBy: string;
  /** What the gate is doing or waiting for, in one sentence. */
  waitingFor: string;
  checks: CheckResult[];
  evidenceBundle: ArtifactRef | null;
  policy: ArtifactRef | null;
  approvers: ArtifactRef | null;
  /** Who may approve: every approver with their roles (public keys are in the approvers file). */
  approverRoles: Array<{ id: string; roles: string[] }>;
  escalationContacts: string[];
  quorum: RoleProgress[];
  decisions: AcceptedDecision[];
  deadlines: { escalateAt: string; rejectAt: string } | null;
  escalated: boolean;
  notifications: Array<{ event: 'requested' | 'escalated' | 'decided'; at: string; delivered: boolean | null; error: string | null }>;
  outcome: ComplianceGateOutcome | null;
}

export interface ComplianceGateOutcome {
  outcome: 'approved' | 'rejected';
  model: string;
  version: number;
  /** Exactly what was approved or rejected: the evidence bundle's sha256. */
  evidenceBundleSha256: string;
  /** Accepted signed decisions, in the order they arrived (empty for a rejection by the gate itself). */
  decidedBy: AcceptedDecision[];
  reason: string;
  /** Who or what closed the gate: an approver's quorum or rejection, a failed check, or the deadline. */
  closedBy: 'quorum' | 'rejection' | 'failed-checks' | 'deadline';
}
