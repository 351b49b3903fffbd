/**
 * The model registry's vocabulary: names, lineage, aliases, evidence and approvals, with the zod
 * schemas that guard every edge (activities, CLI). Pure: shared by workflows, activities and the CLI.
 */
import { z } from 'zod';
import { sha256Schema } from './artifacts.ts';

/** Model names and aliases: lowercase, digits, `.`, `_`, `-`; start with a letter or digit. */
export const MODEL_NAME_PATTERN = /^[a-z0-9][a-z0-9._-]{0,127}$/;
export const ALIAS_PATTERN = /^[a-z][a-z0-9_-]{0,63}$/;

export const modelNameSchema = z
  .string()
  .regex(MODEL_NAME_PATTERN, 'a model name is 1-128 characters of a-z, 0-9, ".", "_" or "-", starting with a letter or digit');
export const aliasSchema = z
  .string()
  .regex(ALIAS_PATTERN, 'an alias is 1-64 characters of a-z, 0-9, "_" or "-", starting with a letter');
export const versionNumberSchema = z.number().int().positive();

/** Aliases every pipeline understands; any other name matching ALIAS_PATTERN is allowed too. */
export const WELL_KNOWN_ALIASES = ['champion', 'challenger', 'staging', 'production'] as const;

const uriSchema = z.string().min(1).max(2048).refine((value) => /^[a-z][a-z0-9+.-]*:\/\//.test(value), {
  message: 'must be a URI such as file:///… or s3://bucket/key',
});
const nonEmpty = z.string().trim().min(1).max(512);

/** Metrics are finite numbers: a NaN or Infinity from a broken trainer is bad input, not a result. */
export const metricsSchema = z.record(z.string().min(1).max(128), z.number().finite());

type Json = string | number | boolean | null | Json[] | { [key: string]: Json };
const jsonSchema: z.ZodType<Json> = z.lazy(() =>
  z.union([z.string(), z.number().finite(), z.boolean(), z.null(), z.array(jsonSchema), z.record(z.string(), jsonSchema)]),
);

export const lineageSchema = z.object({
  code: z.object({ repository: nonEmpty.nullable().default(null), commit: nonEmpty.nullable().default(null) }),
  trainData: z.object({ uri: uriSchema, sha256: sha256Schema }),
  holdoutData: z.object({ uri: uriSchema, sha256: sha256Schema }).nullable().default(null),
  parameters: z.record(z.string(), jsonSchema).default({}),
  metrics: metricsSchema.default({}),
  artifact: z.object({ uri: uriSchema, sha256: sha256Schema }),
  training: z.object({ backend: nonEmpty, jobId: nonEmpty.nullable().default(null) }),
});
export type Lineage = z.infer<typeof lineageSchema>;
export type LineageInput = z.input<typeof lineageSchema>;

export const registerVersionSchema = z.object({
  model: modelNameSchema,
  /** Owner recorded when this registration creates the model. */
  owner: nonEmpty.optional(),
  description: z.string().max(4096).optional(),
  lineage: lineageSchema,
  status: z.enum(['registered', 'rejected']).default('registered'),
  statusReason: z.string().max(4096).nullable().default(null),
  actor: nonEmpty,
  /** Same key, same version: a retried registration never creates a second one. */
  idempotencyKey: nonEmpty,
  workflow: z.object({ workflowId: nonEmpty, runId: nonEmpty }).nullable().default(null),
});
export type RegisterVersionInput = z.input<typeof registerVersionSchema>;
export type RegisterVersionRequest = z.infer<typeof registerVersionSchema>;

export const moveAliasSchema = z.object({
  model: modelNameSchema,
  alias: aliasSchema,
  version: versionNumberSchema,
  actor: nonEmpty,
  reason: z.string().trim().min(1, 'say why the alias moves').max(4096),
  idempotencyKey: nonEmpty,
  workflow: z.object({ workflowId: nonEmpty, runId: nonEmpty }).nullable().default(null),
});
export type MoveAliasInput = z.input<typeof moveAliasSchema>;

export const attachEvidenceSchema = z.object({
  model: modelNameSchema,
  version: versionNumberSchema,
  kind: z.string().regex(/^[a-z][a-z0-9-]{0,63}$/, 'an evidence kind is lowercase words joined by "-"'),
  uri: uriSchema,
  sha256: sha256Schema,
  actor: nonEmpty,
  workflowId: nonEmpty.nullable().default(null),
});
export type AttachEvidenceInput = z.input<typeof attachEvidenceSchema>;

export const recordApprovalSchema = z.object({
  model: modelNameSchema,
  version: versionNumberSchema,
  decision: z.enum(['approved', 'rejected']),
  approver: nonEmpty,
  role: nonEmpty,
  evidenceBundleSha256: sha256Schema,
  signature: z.string().max(4096).nullable().default(null),
  comment: z.string().max(4096).default(''),
  idempotencyKey: nonEmpty,
  workflowId: nonEmpty.nullable().default(null),
});
export type RecordApprovalInput = z.input<typeof recordApprovalSchema>;

/** `name`, `name@3` or `name@champion`. */
export type ModelReference =
  | { model: string; selector: { kind: 'latest' } }
  | { model: string; selector: { kind: 'version'; version: number } }
  | { model: string; selector: { kind: 'alias'; alias: string } };

export function parseModelReference(text: string): ModelReference {
  const at = text.indexOf('@');
  const model = modelNameSchema.parse(at === -1 ? text : text.slice(0, at));
  if (at === -1) return { model, selector: { kind: 'latest' } };
  const rest = text.slice(at + 1);
  if (/^\d+$/.test(rest)) return { model, selector: { kind: 'version', version: versionNumberSchema.parse(Number(rest)) } };
  return { model, selector: { kind: 'alias', alias: aliasSchema.parse(rest) } };
}

export interface ModelVersionRecord {
  model: string;
  version: number;
  status: 'registered' | 'rejected';
  statusReason: string | null;
  lineage: Lineage;
  workflow: { workflowId: string; runId: string } | null;
  createdBy: string;
  createdAt: string;
}

export interface AliasMoveRecord {
  alias: string;
  fromVersion: number | null;
  toVersion: number;
  actor: string;
  reason: string;
  workflowId: string | null;
  movedAt: string;
}

export interface EvidenceRecord {
  kind: string;
  uri: string;
  sha256: string;
  attachedBy: string;
  attachedAt: string;
}

export interface ApprovalRecord {
  decision: 'approved' | 'rejected';
  approver: string;
  role: string;
  evidenceBundleSha256: string;
  signed: boolean;
  comment: string;
  decidedAt: string;
}

export interface ModelVersionDetails extends ModelVersionRecord {
  aliases: string[];
  aliasHistory: AliasMoveRecord[];
  evidence: EvidenceRecord[];
  approvals: ApprovalRecord[];
}

export interface ModelSummary {
  name: string;
  owner: string;
  description: string;
  latestVersion: number;
  aliases: Record<string, number>;
  createdAt: string;
}

export interface AuditEvent {
  seq: number;
  at: string;
  actor: string;
  action: AuditAction;
  model: string | null;
  version: number | null;
  payload: Record<string, unknown>;
  prevHash: string;
  hash: string;
}

export type AuditAction =
  | 'model.created'
  | 'version.registered'
  | 'alias.moved'
  | 'evidence.attached'
  | 'approval.recorded'
  | 'run.finished'
  | 'drift.checked'
  | 'compliance.checked'
  | 'compliance.escalated'
  | 'compliance.decided'
  | 'canary.decided';

export const recordDriftCheckSchema = z.object({
  model: modelNameSchema,
  workflowId: nonEmpty,
  runId: nonEmpty,
  window: z.object({ uri: uriSchema, sha256: sha256Schema.nullable().default(null) }),
  status: z.enum(['drift', 'no-drift', 'failed']),
  driftShare: z.number().min(0).max(1).nullable().default(null),
  driftedColumns: z.array(z.string()).default([]),
  report: z.object({ uri: uriSchema, sha256: sha256Schema }).nullable().default(null),
  reason: z.string().max(16_384).nullable().default(null),
  actor: nonEmpty,
});
export type RecordDriftCheckInput = z.input<typeof recordDriftCheckSchema>;

export interface DriftCheckRecord {
  model: string;
  workflowId: string;
  window: { uri: string; sha256: string | null };
  status: 'drift' | 'no-drift' | 'failed';
  driftShare: number | null;
  driftedColumns: string[];
  report: { uri: string; sha256: string } | null;
  reason: string | null;
  checkedAt: string;
}

export const recordRunSchema = z.object({
  model: modelNameSchema,
  workflowType: nonEmpty,
  workflowId: nonEmpty,
  runId: nonEmpty,
  outcome: z.enum(['registered', 'rejected', 'failed', 'promoted', 'rolled-back']),
  version: versionNumberSchema.nullable().default(null),
  reason: z.string().max(16_384).nullable().default(null),
  trigger: nonEmpty,
  requestedBy: nonEmpty,
});
export type RecordRunInput = z.input<typeof recordRunSchema>;

export interface PipelineRunRecord {
  model: string;
  workflowType: string;
  workflowId: string;
  runId: string;
  outcome: 'registered' | 'rejected' | 'failed' | 'promoted' | 'rolled-back';
  version: number | null;
  reason: string | null;
  trigger: string;
  requestedBy: string;
  finishedAt: string;
}

export const GENESIS_HASH = '0'.repeat(64);
