import { sql, type Kysely } from 'kysely';
import type { Migration } from 'kysely';

/**
 * The first migration: a one-row table that marks a database as Driftline's and gives it an id.
 * The dev stack reads it to tell its own embedded database from some other server on the port.
 */
export const instance: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('driftline_instance')
      .addColumn('id', 'text', (col) => col.primaryKey().check(sql`id = 'driftline'`))
      .addColumn('instance_id', 'uuid', (col) => col.notNull().defaultTo(sql`gen_random_uuid()`))
      .addColumn('created_at', 'timestamptz', (col) => col.notNull().defaultTo(sql`now()`))
      .execute();
    await sql`insert into driftline_instance (id) values ('driftline') on conflict do nothing`.execute(db);
  },
  async down(db: Kysely<unknown>) {
    await db.schema.dropTable('driftline_instance').execute();
  },
};
