/**
 * The compliance gate's rules that run inside the workflow: durations, the quorum's feasibility,
 * what an approval signs, evidence kinds. Free of zod (types only from ./compliance.ts), because
 * every module a workflow imports is evaluated again for each workflow (workflows/input.ts).
 */
import type { z } from 'zod';
import type { ApprovalStatement } from './signatures.ts';
import type { approvalUpdateSchema, ApproversFile, CheckName, CompliancePolicy } from './compliance.ts';

// ---------------------------------------------------------------------------------------------
// Durations: "90 seconds", "2h", "7 days". Kept as text in the policy; converted with durationMs.

const DURATION_UNITS: Record<string, number> = {
  ms: 1, millisecond: 1, milliseconds: 1,
  s: 1000, sec: 1000, secs: 1000, second: 1000, seconds: 1000,
  m: 60_000, min: 60_000, mins: 60_000, minute: 60_000, minutes: 60_000,
  h: 3_600_000, hour: 3_600_000, hours: 3_600_000,
  d: 86_400_000, day: 86_400_000, days: 86_400_000,
  w: 604_800_000, week: 604_800_000, weeks: 604_800_000,
};

/** Milliseconds of a duration text, or null when it is not one. */
export function durationMs(text: string): number | null {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-z]+)\s*$/i.exec(text);
  if (!match) return null;
  const unit = DURATION_UNITS[match[2]!.toLowerCase()];
  if (unit === undefined) return null;
  const value = Number(match[1]) * unit;
  return Number.isFinite(value) && value > 0 ? Math.round(value) : null;
}

/** A zod error as "field.path: message" (the first issue), for one-line reports. */
export function describeIssue(error: z.ZodError): string {
  const issue = error.issues[0]!;
  const path = issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : String(p))).join('.').replace(/\.\[/g, '[');
  return path ? `${path}: ${issue.message}` : issue.message;
}

/**
 * Problems that make a quorum impossible: a role nobody holds, or fewer holders than the quorum
 * needs once the requester (who may not approve their own change) is left out.
 */
export function quorumProblems(policy: Pick<CompliancePolicy, 'quorum'>, approvers: ApproversFile, requestedBy: string): string[] {
  const problems: string[] = [];
  for (const [role, needed] of Object.entries(policy.quorum)) {
    const holders = approvers.approvers.filter((a) => a.roles.includes(role) && a.id !== requestedBy);
    if (holders.length < needed) {
      problems.push(
        `role "${role}" needs ${needed} approval${needed > 1 ? 's' : ''} but the approvers file lists ${holders.length} eligible holder${holders.length === 1 ? '' : 's'}` +
          (approvers.approvers.some((a) => a.id === requestedBy && a.roles.includes(role)) ? ` (the requester ${requestedBy} cannot approve their own change)` : ''),
      );
    }
  }
  return problems;
}

export function statementOf(update: z.infer<typeof approvalUpdateSchema>, decision: 'approved' | 'rejected'): ApprovalStatement {
  return {
    gate: update.gate,
    model: update.model,
    version: update.version,
    evidenceBundleSha256: update.evidenceBundleSha256,
    decision,
    approver: update.approver,
    role: update.role,
    comment: update.comment,
  };
}

/** Evidence kinds attached to the version, by check. */
export const EVIDENCE_KINDS: Record<CheckName | 'bundle' | 'policy' | 'approvers' | 'explainability-chart', string> = {
  provenance: 'provenance-report',
  bias: 'bias-audit',
  explainability: 'explainability-report',
  'explainability-chart': 'explainability-chart',
  security: 'security-scan',
  'model-card': 'model-card',
  policy: 'compliance-policy',
  approvers: 'approvers-file',
  bundle: 'evidence-bundle',
};

// ---------------------------------------------------------------------------------------------
// The approve / reject update, checked by the gate's update validator.

export type ParsedApprovalUpdate = z.infer<typeof approvalUpdateSchema>;

/** The fields of an approval update in the schema's order (the first problem names the first bad field). */
type ApprovalField = { name: keyof ParsedApprovalUpdate } & ({ kind: 'text'; min: number; max: number; optional?: true } | { kind: 'positive-integer' });
const APPROVAL_FIELDS: readonly ApprovalField[] = [
  { name: 'gate', kind: 'text', min: 1, max: 1000 },
  { name: 'model', kind: 'text', min: 1, max: 128 },
  { name: 'version', kind: 'positive-integer' },
  { name: 'evidenceBundleSha256', kind: 'text', min: 1, max: 128 },
  { name: 'approver', kind: 'text', min: 1, max: 128 },
  { name: 'role', kind: 'text', min: 1, max: 64 },
  { name: 'comment', kind: 'text', min: 0, max: 4096, optional: true },
  { name: 'signature', kind: 'text', min: 1, max: 256 },
];

function fieldProblem(field: ApprovalField, value: unknown): string | null {
  if (field.kind === 'positive-integer') {
    return typeof value === 'number' && Number.isSafeInteger(value) && value > 0 ? null : 'expected a positive integer';
  }
  if (value === undefined && field.optional) return null;
  if (typeof value !== 'string') return 'expected a text';
  if (value.length < field.min || value.length > field.max) return `expected ${field.min === 0 ? 'at most' : `${field.min} to`} ${field.max} characters`;
  return null;
}

/**
 * An approval update parsed by the rule of `approvalUpdateSchema` (the CLI's), without zod: the
 * gate validates every update with it. Problems read "field: what is wrong", the first one only.
 * test/workflow-input.test.ts holds the two equal.
 */
export function parseApprovalUpdate(raw: unknown): { ok: true; update: ParsedApprovalUpdate } | { ok: false; problem: string } {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return { ok: false, problem: 'expected an object' };
  const fields = raw as Record<string, unknown>;
  for (const field of APPROVAL_FIELDS) {
    const problem = fieldProblem(field, fields[field.name]);
    if (problem) return { ok: false, problem: `${field.name}: ${problem}` };
  }
  const unknown = Object.keys(fields).filter((key) => !APPROVAL_FIELDS.some((field) => field.name === key));
  if (unknown.length) return { ok: false, problem: `unrecognized key${unknown.length > 1 ? 's' : ''}: ${unknown.map((k) => `"${k}"`).join(', ')}` };
  const text = (name: string) => fields[name] as string;
  return {
    ok: true,
    update: {
      gate: text('gate'),
      model: text('model'),
      version: fields.version as number,
      evidenceBundleSha256: text('evidenceBundleSha256'),
      approver: text('approver'),
      role: text('role'),
      comment: (fields.comment as string | undefined) ?? '',
      signature: text('signature'),
    },
  };
}
