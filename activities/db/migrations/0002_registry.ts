import { sql, type Kysely } from 'kysely';
import type { Migration } from 'kysely';

/**
 * The model registry: models, numbered versions with their lineage, aliases with the history of
 * every move, evidence and approvals, and the hash-chained audit log that every change writes to
 * in the same transaction.
 */
export const registry: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('models')
      .addColumn('name', 'text', (col) => col.primaryKey())
      .addColumn('owner', 'text', (col) => col.notNull())
      .addColumn('description', 'text', (col) => col.notNull().defaultTo(''))
      // Version counter: bumped under the row lock, so numbers are gapless and race-free.
      .addColumn('latest_version', 'integer', (col) => col.notNull().defaultTo(0))
      .addColumn('created_by', 'text', (col) => col.notNull())
      .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
      .execute();

    await db.schema
      .createTable('model_versions')
      .addColumn('model_name', 'text', (col) => col.notNull().references('models.name'))
      .addColumn('version', 'integer', (col) => col.notNull().check(sql`version > 0`))
      .addColumn('idempotency_key', 'text', (col) => col.notNull())
      .addColumn('status', 'text', (col) => col.notNull().check(sql`status in ('registered', 'rejected')`))
      .addColumn('status_reason', 'text')
      .addColumn('code_repository', 'text')
      .addColumn('code_commit', 'text')
      .addColumn('train_data_uri', 'text', (col) => col.notNull())
      .addColumn('train_data_sha256', 'text', (col) => col.notNull())
      .addColumn('holdout_data_uri', 'text')
      .addColumn('holdout_data_sha256', 'text')
      .addColumn('parameters', 'jsonb', (col) => col.notNull())
      .addColumn('metrics', 'jsonb', (col) => col.notNull())
      .addColumn('artifact_uri', 'text', (col) => col.notNull())
      .addColumn('artifact_sha256', 'text', (col) => col.notNull())
      .addColumn('training_backend', 'text', (col) => col.notNull())
      .addColumn('training_job_id', 'text')
      .addColumn('workflow_id', 'text')
      .addColumn('run_id', 'text')
      .addColumn('created_by', 'text', (col) => col.notNull())
      .addColumn('created_at', 'timestamptz', (col) => col.notNull())
      .addPrimaryKeyConstraint('model_versions_pk', ['model_name', 'version'])
      .addUniqueConstraint('model_versions_idempotency', ['model_name', 'idempotency_key'])
      .execute();

    await db.schema
      .createTable('aliases')
      .addColumn('model_name', 'text', (col) => col.notNull())
      .addColumn('alias', 'text', (col) => col.notNull())
      .addColumn('version', 'integer', (col) => col.notNull())
      .addColumn('updated_at', 'timestamptz', (col) => col.notNull())
      .addPrimaryKeyConstraint('aliases_pk', ['model_name', 'alias'])
      .addForeignKeyConstraint('aliases_version_fk', ['model_name', 'version'], 'model_versions', ['model_name', 'version'])
      .execute();

    await db.schema
      .createTable('alias_moves')
      .addColumn('id', 'bigserial', (col) => col.primaryKey())
      .addColumn('model_name', 'text', (col) => col.notNull().references('models.name'))
      .addColumn('alias', 'text', (col) => col.notNull())
      .addColumn('from_version', 'integer')
      .addColumn('to_version', 'integer', (col) => col.notNull())
      .addColumn('actor', 'text', (col) => col.notNull())
      .addColumn('reason', 'text', (col) => col.notNull())
      .addColumn('workflow_id', 'text')
      .addColumn('run_id', 'text')
      .addColumn('idempotency_key', 'text', (col) => col.notNull().unique())
      .addColumn('moved_at', 'timestamptz', (col) => col.notNull())
      .execute();

    await db.schema
      .createTable('evidence')
      .addColumn('id', 'bigserial', (col) => col.primaryKey())
      .addColumn('model_name', 'text', (col) => col.notNull())
      .addColumn('version', 'integer', (col) => col.notNull())
      .addColumn('kind', 'text', (col) => col.notNull())
      .addColumn('uri', 'text', (col) => col.notNull())
      .addColumn('sha256', 'text', (col) => col.notNull())
      .addColumn('attached_by', 'text', (col) => col.notNull())
      .addColumn('workflow_id', 'text')
      .addColumn('attached_at', 'timestamptz', (col) => col.notNull())
      .addForeignKeyConstraint('evidence_version_fk', ['model_name', 'version'], 'model_versions', ['model_name', 'version'])
      .addUniqueConstraint('evidence_once', ['model_name', 'version', 'kind', 'sha256'])
      .execute();

    await db.schema
      .createTable('approvals')
      .addColumn('id', 'bigserial', (col) => col.primaryKey())
      .addColumn('model_name', 'text', (col) => col.notNull())
      .addColumn('version', 'integer', (col) => col.notNull())
      .addColumn('decision', 'text', (col) => col.notNull().check(sql`decision in ('approved', 'rejected')`))
      .addColumn('approver', 'text', (col) => col.notNull())
      .addColumn('role', 'text', (col) => col.notNull())
      .addColumn('evidence_bundle_sha256', 'text', (col) => col.notNull())
      .addColumn('signature', 'text')
      .addColumn('comment', 'text', (col) => col.notNull().defaultTo(''))
      .addColumn('workflow_id', 'text')
      .addColumn('idempotency_key', 'text', (col) => col.notNull().unique())
      .addColumn('decided_at', 'timestamptz', (col) => col.notNull())
      .addForeignKeyConstraint('approvals_version_fk', ['model_name', 'version'], 'model_versions', ['model_name', 'version'])
      .execute();

    await db.schema
      .createTable('audit_log')
      .addColumn('seq', 'bigint', (col) => col.primaryKey().check(sql`seq > 0`))
      .addColumn('at', 'timestamptz', (col) => col.notNull())
      .addColumn('actor', 'text', (col) => col.notNull())
      .addColumn('action', 'text', (col) => col.notNull())
      .addColumn('model_name', 'text')
      .addColumn('version', 'integer')
      .addColumn('payload', 'jsonb', (col) => col.notNull())
      .addColumn('prev_hash', 'text', (col) => col.notNull())
      .addColumn('hash', 'text', (col) => col.notNull().unique())
      .execute();
    await db.schema.createIndex('audit_log_model').on('audit_log').columns(['model_name', 'seq']).execute();

    // The head of the chain: one row, locked by every append so events are numbered and linked in order.
    await db.schema
      .createTable('audit_head')
      .addColumn('id', 'text', (col) => col.primaryKey().check(sql`id = 'head'`))
      .addColumn('seq', 'bigint', (col) => col.notNull())
      .addColumn('hash', 'text', (col) => col.notNull())
      .execute();
    await sql`insert into audit_head (id, seq, hash) values ('head', 0, ${'0'.repeat(64)})`.execute(db);
  },
  async down(db: Kysely<unknown>) {
    for (const table of ['audit_head', 'audit_log', 'approvals', 'evidence', 'alias_moves', 'aliases', 'model_versions', 'models']) {
      await db.schema.dropTable(table).execute();
    }
  },
};
