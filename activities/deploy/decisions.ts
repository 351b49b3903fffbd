/**
 * Canary decisions: one row in `canary_decisions` and one `canary.decided` event in the audit
 * chain, in the same transaction. The idempotency key (deployment, first run, decision number)
 * makes a retried write return the first one.
 */
import type { CanaryDecision, MetricStatistics } from '../../core/canary.ts';
import type { DriftlineDb } from '../db/database.ts';
import { appendAuditEvent } from '../registry/audit-chain.ts';

export interface RecordDecisionInput {
  deploymentId: string;
  /** The first run of the canary (stays the same across continue-as-new). */
  runKey: string;
  model: string;
  candidateVersion: number;
  baselineVersion: number | null;
  decision: CanaryDecision;
  statistics: MetricStatistics[];
}

export async function recordDecision(db: DriftlineDb, input: RecordDecisionInput): Promise<{ created: boolean; auditSeq: number | null }> {
  const key = `${input.deploymentId}/${input.runKey}/${input.decision.seq}`;
  const existing = await db.selectFrom('canary_decisions').select('id').where('idempotency_key', '=', key).executeTakeFirst();
  if (existing) return { created: false, auditSeq: null };
  try {
    return await db.transaction().execute(async (trx) => {
      const at = new Date(input.decision.at);
      await trx
        .insertInto('canary_decisions')
        .values({
          deployment_id: input.deploymentId,
          model_name: input.model,
          candidate_version: input.candidateVersion,
          seq: input.decision.seq,
          kind: input.decision.kind,
          actor: input.decision.by,
          phase: input.decision.phase,
          step: input.decision.step,
          weights: JSON.stringify(input.decision.weights),
          reason: input.decision.reason,
          statistics: JSON.stringify(input.statistics),
          idempotency_key: key,
          decided_at: at,
        })
        .execute();
      const event = await appendAuditEvent(trx, {
        actor: input.decision.by,
        action: 'canary.decided',
        model: input.model,
        version: input.candidateVersion,
        at,
        payload: {
          deploymentId: input.deploymentId,
          seq: input.decision.seq,
          kind: input.decision.kind,
          phase: input.decision.phase,
          step: input.decision.step,
          weights: input.decision.weights,
          reason: input.decision.reason,
          baselineVersion: input.baselineVersion,
          statistics: input.statistics.map((m) => ({ name: m.name, eValue: m.eValue, threshold: m.threshold, pValue: m.pValue, verdict: m.verdict })),
          idempotencyKey: key,
        },
      });
      return { created: true, auditSeq: event.seq };
    });
  } catch (error) {
    if ((error as { code?: string }).code === '23505') return { created: false, auditSeq: null };
    throw error;
  }
}
