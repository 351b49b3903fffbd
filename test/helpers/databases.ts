/**
 * An isolated, migrated database of the suite's kind, for tests that change global state (the
 * audit chain) or tamper with it: a separate in-memory PGlite server, or a new database on the
 * PostgreSQL server of DATABASE_URL. Dropped by `dispose`.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';
import { connectDatabase, LOOPBACK, type DriftlineDb } from '../../activities/db/database.ts';
import { startEmbeddedPostgres } from '../../activities/db/embedded-server.ts';
import { migrateToLatest } from '../../activities/db/migrator.ts';
import { freePort } from './ports.ts';

export interface IsolatedDatabase {
  url: string;
  db: DriftlineDb;
  dispose(): Promise<void>;
}

export async function isolatedDatabase(): Promise<IsolatedDatabase> {
  if (inject('databaseKind') === 'embedded') {
    const server = await startEmbeddedPostgres({ dataDir: 'memory://', host: LOOPBACK, port: await freePort() });
    const db = connectDatabase(server.url);
    await migrateToLatest(db as never);
    return {
      url: server.url,
      db,
      async dispose() {
        await db.destroy();
        await server.stop();
      },
    };
  }
  const shared = new URL(inject('databaseUrl'));
  const name = `driftline_iso_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: shared.toString() });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(shared);
  url.pathname = `/${name}`;
  const db = connectDatabase(url.toString());
  await migrateToLatest(db as never);
  return {
    url: url.toString(),
    db,
    async dispose() {
      await db.destroy();
      const client = new pg.Client({ connectionString: shared.toString() });
      await client.connect();
      await client.query(`drop database if exists ${name} with (force)`);
      await client.end();
    },
  };
}
