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

/** Text fields of an approval update and their length bounds (the rule of `approvalUpdateSchema`). */
const APPROVAL_TEXT_FIELDS = [
  ['gate', 1, 1000],
  ['model', 1, 128],
  ['version', 0, 0],
  ['evidenceBundleSha256', 1, 128],
  ['approver', 1, 128],
  ['role', 1, 64],
  ['comment', 0, 4096],
  ['signature', 1, 256],
] as const;

/**
 * An approval update parsed by the rule of `approvalUpdateSchema` (the CLI's), without zod: the
 * gate validates every update with it. Problems read "field: what is wrong", the first one only.
 * test/workflow-input.test.ts holds the two equal.
 */
export function parseApprovalUpdate(raw: unknown): { ok: true; update: ParsedApprovalUpdate } | { ok: false; problem: string } {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return { ok: false, problem: 'expected an object' };
  const fields = raw as Record<string, unknown>;
  for (const [name, min, max] of APPROVAL_TEXT_FIELDS) {
    const value = fields[name];
    if (name === 'version') {
      if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) return { ok: false, problem: 'version: expected a positive integer' };
      continue;
    }
    if (name === 'comment' && value === undefined) continue;
    if (typeof value !== 'string') return { ok: false, problem: `${name}: expected a text` };
    if (value.length < min || value.length > max) return { ok: false, problem: `${name}: expected ${min === 0 ? 'at most' : `${min} to`} ${max} characters` };
  }
  const unknown = Object.keys(fields).filter((key) => !APPROVAL_TEXT_FIELDS.some(([name]) => name === key));
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
