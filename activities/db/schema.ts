/**
 * Kysely's view of Driftline's tables. Each migration that adds or changes a table updates the
 * matching interface here, so a query against a column that does not exist fails to compile.
 */
import type { ColumnType, Generated } from 'kysely';

/** A timestamp column written by the database (`now()`), read back as a Date. */
export type CreatedAt = ColumnType<Date, never, never>;

export interface DriftlineInstanceTable {
  /** Always `'driftline'`: the table holds exactly one row. */
  id: ColumnType<'driftline', 'driftline', never>;
  /** Random id minted once per database, so logs and exports can say which store they came from. */
  instance_id: Generated<string>;
  created_at: Generated<Date>;
}

export interface DriftlineDatabase {
  driftline_instance: DriftlineInstanceTable;
}
