import { sql, type Kysely } from 'kysely';
import type { Migration } from 'kysely';

/**
 * Compliance gates' own decisions: checks done (with the evidence bundle's hash), escalation, and
 * the final decision (approved, rejected by an approver, by a failed check, or by the deadline).
 * Each row is written with its audit event in one transaction; approvals themselves live in
 * `approvals` (registry). The idempotency key makes a retried write return the first one.
 */
export const compliance: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('compliance_events')
      .addColumn('id', 'bigserial', (col) => col.primaryKey())
      .addColumn('idempotency_key', 'text', (col) => col.notNull().unique())
      .addColumn('workflow_id', 'text', (col) => col.notNull())
      .addColumn('run_id', 'text', (col) => col.notNull())
      .addColumn('model_name', 'text', (col) => col.notNull())
      .addColumn('version', 'integer', (col) => col.notNull())
      .addColumn('kind', 'text', (col) => col.notNull().check(sql`kind in ('checked', 'escalated', 'decided')`))
      .addColumn('payload', 'jsonb', (col) => col.notNull())
      .addColumn('actor', 'text', (col) => col.notNull())
      .addColumn('at', 'timestamptz', (col) => col.notNull())
      .addForeignKeyConstraint('compliance_events_version_fk', ['model_name', 'version'], 'model_versions', ['model_name', 'version'])
      .execute();
    await db.schema.createIndex('compliance_events_model').on('compliance_events').columns(['model_name', 'version', 'id']).execute();
  },
  async down(db: Kysely<unknown>) {
    await db.schema.dropTable('compliance_events').execute();
  },
};
