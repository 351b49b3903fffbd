import { sql, type Kysely } from 'kysely';
import type { Migration } from 'kysely';

/**
 * Deployments (canaries): their current routing, every request the local router served (per
 * variant, batched), the router's routes (so a restarted router serves what it served), and every
 * canary decision (also in the audit log).
 */
export const deployments: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('deployments')
      .addColumn('deployment_id', 'text', (col) => col.primaryKey())
      .addColumn('model_name', 'text', (col) => col.notNull())
      .addColumn('candidate_version', 'integer', (col) => col.notNull())
      .addColumn('baseline_version', 'integer')
      .addColumn('target_kind', 'text', (col) => col.notNull())
      .addColumn('target', 'jsonb', (col) => col.notNull())
      .addColumn('weights', 'jsonb', (col) => col.notNull())
      .addColumn('generation', 'integer', (col) => col.notNull().defaultTo(0))
      .addColumn('status', 'text', (col) => col.notNull().check(sql`status in ('active', 'promoted', 'rolled-back', 'aborted')`))
      .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
      .addColumn('updated_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
      .execute();
    await db.schema.createIndex('deployments_model').on('deployments').columns(['model_name', 'created_at']).execute();

    await db.schema
      .createTable('deployment_requests')
      .addColumn('id', 'bigserial', (col) => col.primaryKey())
      .addColumn('deployment_id', 'text', (col) => col.notNull())
      .addColumn('model_name', 'text', (col) => col.notNull())
      .addColumn('variant', 'text', (col) => col.notNull().check(sql`variant in ('baseline', 'candidate')`))
      .addColumn('role', 'text', (col) => col.notNull().check(sql`role in ('primary', 'shadow')`))
      .addColumn('generation', 'integer', (col) => col.notNull())
      .addColumn('request_key', 'text', (col) => col.notNull())
      .addColumn('status', 'integer', (col) => col.notNull())
      .addColumn('error', 'boolean', (col) => col.notNull())
      .addColumn('latency_ms', 'double precision', (col) => col.notNull())
      .addColumn('prediction', 'double precision')
      .addColumn('label', 'double precision')
      // shadow records: how the primary (baseline) answered the same request
      .addColumn('paired_error', 'boolean')
      .addColumn('paired_latency_ms', 'double precision')
      .addColumn('paired_prediction', 'double precision')
      .addColumn('paired_label', 'double precision')
      .addColumn('at', 'timestamptz', (col) => col.notNull())
      .execute();
    await db.schema.createIndex('deployment_requests_by_deployment').on('deployment_requests').columns(['deployment_id', 'id']).execute();

    await db.schema
      .createTable('router_routes')
      .addColumn('router_id', 'text', (col) => col.notNull())
      .addColumn('model_name', 'text', (col) => col.notNull())
      .addColumn('route', 'jsonb', (col) => col.notNull())
      .addColumn('updated_at', 'timestamptz', (col) => col.notNull())
      .addPrimaryKeyConstraint('router_routes_pk', ['router_id', 'model_name'])
      .execute();

    await db.schema
      .createTable('canary_decisions')
      .addColumn('id', 'bigserial', (col) => col.primaryKey())
      .addColumn('deployment_id', 'text', (col) => col.notNull())
      .addColumn('model_name', 'text', (col) => col.notNull())
      .addColumn('candidate_version', 'integer', (col) => col.notNull())
      .addColumn('seq', 'integer', (col) => col.notNull())
      .addColumn('kind', 'text', (col) => col.notNull())
      .addColumn('actor', 'text', (col) => col.notNull())
      .addColumn('phase', 'text', (col) => col.notNull())
      .addColumn('step', 'integer', (col) => col.notNull())
      .addColumn('weights', 'jsonb', (col) => col.notNull())
      .addColumn('reason', 'text', (col) => col.notNull())
      .addColumn('statistics', 'jsonb', (col) => col.notNull())
      .addColumn('idempotency_key', 'text', (col) => col.notNull().unique())
      .addColumn('decided_at', 'timestamptz', (col) => col.notNull())
      .execute();
    await db.schema.createIndex('canary_decisions_by_deployment').on('canary_decisions').columns(['deployment_id', 'seq']).execute();
  },
  async down(db: Kysely<unknown>) {
    await db.schema.dropTable('canary_decisions').execute();
    await db.schema.dropTable('router_routes').execute();
    await db.schema.dropTable('deployment_requests').execute();
    await db.schema.dropTable('deployments').execute();
  },
};
