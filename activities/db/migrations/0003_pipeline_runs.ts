import { sql, type Kysely } from 'kysely';
import type { Migration } from 'kysely';

/** How each pipeline run ended, with its reason: failed runs leave a record even without a version. */
export const pipelineRuns: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('pipeline_runs')
      .addColumn('workflow_id', 'text', (col) => col.notNull())
      .addColumn('run_id', 'text', (col) => col.notNull())
      .addColumn('model_name', 'text', (col) => col.notNull())
      .addColumn('workflow_type', 'text', (col) => col.notNull())
      .addColumn('outcome', 'text', (col) => col.notNull().check(sql`outcome in ('registered', 'rejected', 'failed', 'promoted', 'rolled-back')`))
      .addColumn('version', 'integer')
      .addColumn('reason', 'text')
      .addColumn('trigger', 'text', (col) => col.notNull())
      .addColumn('requested_by', 'text', (col) => col.notNull())
      .addColumn('finished_at', 'timestamptz', (col) => col.notNull())
      .addPrimaryKeyConstraint('pipeline_runs_pk', ['workflow_id', 'run_id'])
      .execute();
    await db.schema.createIndex('pipeline_runs_model').on('pipeline_runs').columns(['model_name', 'finished_at']).execute();
  },
  async down(db: Kysely<unknown>) {
    await db.schema.dropTable('pipeline_runs').execute();
  },
};
