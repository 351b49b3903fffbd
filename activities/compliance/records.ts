/**
 * The gate's own decisions in the database and the audit log: `compliance.checked` (evidence bundle
 * built), `compliance.escalated`, `compliance.decided`. Each is written once per gate run (its key is
 * `<workflowId>/<runId>/<kind>`), with its audit event in the same transaction.
 */
import type { AuditAction } from '../../core/registry.ts';
import type { DriftlineDb } from '../db/database.ts';
import type { JsonValue } from '../db/schema.ts';
import { appendAuditEvent } from '../registry/audit-chain.ts';
import { RegistryError } from '../registry/port.ts';

export type ComplianceEventKind = 'checked' | 'escalated' | 'decided';

export interface ComplianceEventInput {
  workflowId: string;
  runId: string;
  kind: ComplianceEventKind;
  model: string;
  version: number;
  actor: string;
  payload: Record<string, JsonValue>;
}

export interface ComplianceEventRecord {
  kind: ComplianceEventKind;
  model: string;
  version: number;
  workflowId: string;
  actor: string;
  payload: Record<string, JsonValue>;
  at: string;
  /** False when an earlier attempt already wrote it. */
  created: boolean;
}

const UNIQUE_VIOLATION = '23505';

export async function recordComplianceEvent(db: DriftlineDb, input: ComplianceEventInput): Promise<ComplianceEventRecord> {
  const key = `${input.workflowId}/${input.runId}/${input.kind}`;
  const find = () => db.selectFrom('compliance_events').selectAll().where('idempotency_key', '=', key).executeTakeFirst();
  const previous = await find();
  if (previous) return toRecord(previous, false);
  try {
    return await db.transaction().execute(async (trx) => {
      const version = await trx
        .selectFrom('model_versions')
        .select('version')
        .where('model_name', '=', input.model)
        .where('version', '=', input.version)
        .executeTakeFirst();
      if (!version) throw new RegistryError('not-found', `${input.model} has no version ${input.version}`);
      const at = new Date();
      const row = {
        idempotency_key: key,
        workflow_id: input.workflowId,
        run_id: input.runId,
        model_name: input.model,
        version: input.version,
        kind: input.kind,
        payload: JSON.stringify(input.payload),
        actor: input.actor,
        at,
      };
      await trx.insertInto('compliance_events').values(row).execute();
      await appendAuditEvent(trx, {
        actor: input.actor,
        // Compliance actions extend the registry's list (core/registry.ts AuditAction).
        action: `compliance.${input.kind}` satisfies AuditAction,
        model: input.model,
        version: input.version,
        payload: { ...input.payload, workflowId: input.workflowId, runId: input.runId, idempotencyKey: key },
        at,
      });
      return { kind: input.kind, model: input.model, version: input.version, workflowId: input.workflowId, actor: input.actor, payload: input.payload, at: at.toISOString(), created: true };
    });
  } catch (error) {
    if ((error as { code?: string }).code === UNIQUE_VIOLATION) {
      const winner = await find();
      if (winner) return toRecord(winner, false);
    }
    throw error;
  }
}

export async function listComplianceEvents(db: DriftlineDb, model: string, version?: number): Promise<ComplianceEventRecord[]> {
  let query = db.selectFrom('compliance_events').selectAll().where('model_name', '=', model);
  if (version !== undefined) query = query.where('version', '=', version);
  return (await query.orderBy('id').execute()).map((row) => toRecord(row, false));
}

function toRecord(
  row: { kind: ComplianceEventKind; model_name: string; version: number; workflow_id: string; actor: string; payload: JsonValue; at: Date },
  created: boolean,
): ComplianceEventRecord {
  return {
    kind: row.kind,
    model: row.model_name,
    version: row.version,
    workflowId: row.workflow_id,
    actor: row.actor,
    payload: row.payload as Record<string, JsonValue>,
    at: row.at.toISOString(),
    created,
  };
}
