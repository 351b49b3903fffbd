import type { Kysely } from 'kysely';
import { Migrator, type MigrationResult } from 'kysely';
import { MIGRATIONS } from './migrations/index.ts';

export interface MigrationReport {
  applied: string[];
  /** Names of every migration the database now has, oldest first. */
  current: string[];
}

export class MigrationError extends Error {
  override readonly name = 'MigrationError';
}

function migratorFor(db: Kysely<unknown>): Migrator {
  return new Migrator({
    db,
    provider: { getMigrations: async () => ({ ...MIGRATIONS }) },
    // Kysely takes a lock row while migrating, so two workers starting at once apply each step once.
    migrationTableName: 'driftline_migration',
    migrationLockTableName: 'driftline_migration_lock',
  });
}

/** Applies every pending migration. Safe to call from many processes at once. */
export async function migrateToLatest(db: Kysely<unknown>): Promise<MigrationReport> {
  const migrator = migratorFor(db);
  const { error, results } = await migrator.migrateToLatest();
  const failed = results?.find((r: MigrationResult) => r.status === 'Error');
  if (error || failed) {
    const detail = error instanceof Error ? error.message : String(error ?? 'unknown error');
    throw new MigrationError(
      `Database migration ${failed?.migrationName ?? ''} failed: ${detail}`.replace('  ', ' '),
      { cause: error },
    );
  }
  const applied = (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
  const current = (await migrator.getMigrations()).filter((m) => m.executedAt).map((m) => m.name);
  return { applied, current };
}
