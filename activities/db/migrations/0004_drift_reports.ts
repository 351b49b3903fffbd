import { sql, type Kysely } from 'kysely';
import type { Migration } from 'kysely';

/** One row per drift check of a model's window: the verdict, the report by reference, or why it failed. */
export const driftReports: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('drift_reports')
      .addColumn('id', 'bigserial', (col) => col.primaryKey())
      .addColumn('model_name', 'text', (col) => col.notNull())
      .addColumn('workflow_id', 'text', (col) => col.notNull())
      .addColumn('run_id', 'text', (col) => col.notNull())
      .addColumn('window_uri', 'text', (col) => col.notNull())
      .addColumn('window_sha256', 'text')
      .addColumn('status', 'text', (col) => col.notNull().check(sql`status in ('drift', 'no-drift', 'failed')`))
      .addColumn('drift_share', 'double precision')
      .addColumn('drifted_columns', 'jsonb', (col) => col.notNull())
      .addColumn('report_uri', 'text')
      .addColumn('report_sha256', 'text')
      .addColumn('reason', 'text')
      .addColumn('checked_at', 'timestamptz', (col) => col.notNull())
      .addUniqueConstraint('drift_reports_once_per_run', ['workflow_id', 'run_id'])
      .execute();
    await db.schema.createIndex('drift_reports_model').on('drift_reports').columns(['model_name', 'checked_at']).execute();
  },
  async down(db: Kysely<unknown>) {
    await db.schema.dropTable('drift_reports').execute();
  },
};
