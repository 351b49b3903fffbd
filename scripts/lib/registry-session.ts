import { openDatabase, resolveDatabaseTarget } from '../../activities/db/database.ts';
import { PostgresModelRegistry } from '../../activities/registry/postgres-registry.ts';
import type { ModelRegistry } from '../../activities/registry/port.ts';
import type { DriftlineDb } from '../../activities/db/database.ts';
import { driftlineHome } from './home.ts';

/** Opens the registry for one CLI command (DATABASE_URL, the running dev stack's database, or the embedded files). */
export async function withRegistry<T>(fn: (registry: ModelRegistry, db: DriftlineDb) => Promise<T>): Promise<T> {
  const database = await openDatabase(resolveDatabaseTarget({ home: driftlineHome() }), { maxConnections: 4 });
  try {
    return await fn(new PostgresModelRegistry(database.db), database.db);
  } finally {
    await database.close();
  }
}
