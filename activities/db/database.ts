/**
 * One factory for Driftline's database, whichever target it runs on: a PostgreSQL server named
 * by DATABASE_URL, or the embedded PGlite server. Callers get a migrated Kysely instance.
 */
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { join } from 'node:path';
import { isPortListening, PortInUseError } from '../net.ts';
import { startEmbeddedPostgres, type EmbeddedPostgres } from './embedded-server.ts';
import { migrateToLatest, type MigrationReport } from './migrator.ts';
import type { DriftlineDatabase } from './schema.ts';

export const DEFAULT_EMBEDDED_PORT = 55432;
export const LOOPBACK = '127.0.0.1';

export type DatabaseTarget =
  | { readonly kind: 'postgres'; readonly url: string }
  | { readonly kind: 'embedded'; readonly dataDir: string; readonly host: string; readonly port: number };

export type DriftlineDb = Kysely<DriftlineDatabase>;

/** DATABASE_URL wins; otherwise the embedded database under the Driftline home directory. */
export function resolveDatabaseTarget(options: {
  home: string;
  env?: NodeJS.ProcessEnv;
  embeddedPort?: number;
}): DatabaseTarget {
  const env = options.env ?? process.env;
  const url = env.DATABASE_URL?.trim();
  if (url) return { kind: 'postgres', url };
  return {
    kind: 'embedded',
    dataDir: join(options.home, 'pgdata'),
    host: LOOPBACK,
    port: options.embeddedPort ?? parsePort(env.DRIFTLINE_DB_PORT, 'DRIFTLINE_DB_PORT') ?? DEFAULT_EMBEDDED_PORT,
  };
}

export function embeddedUrl(host: string, port: number): string {
  return `postgres://postgres@${host}:${port}/postgres`;
}

/** A Kysely instance over a `pg` pool. No migration, no checks: see `openDatabase` for that. */
export function connectDatabase(url: string, options: { maxConnections?: number } = {}): DriftlineDb {
  const pool = new pg.Pool({ connectionString: url, max: options.maxConnections ?? 10 });
  // A client that loses its server (a restart or crash of PostgreSQL) must not crash the process.
  // The pool only listens for errors on idle clients; a client that is checked out (mid-query, or
  // between the statements of a transaction) emits 'error' with no listener, which Node turns into
  // an uncaught exception. Its queries are rejected anyway (pg fails every pending query first),
  // so the caller sees the failure and Temporal retries the activity.
  pool.on('error', () => {});
  pool.on('connect', (client) => client.on('error', () => {}));
  return new Kysely<DriftlineDatabase>({ dialect: new PostgresDialect({ pool }) });
}

export interface ReadyDatabase {
  readonly db: DriftlineDb;
  readonly url: string;
  readonly target: DatabaseTarget;
  /** Set when this call started the embedded server in this process (it stops with `close`). */
  readonly embedded: EmbeddedPostgres | undefined;
  readonly migrations: MigrationReport;
  close(): Promise<void>;
}

/**
 * Returns a migrated database for the target. For the embedded target it reuses a server already
 * answering on the port (another Driftline process) or starts one in this process.
 */
export async function openDatabase(
  target: DatabaseTarget,
  options: { maxConnections?: number; startEmbedded?: boolean } = {},
): Promise<ReadyDatabase> {
  let embedded: EmbeddedPostgres | undefined;
  let url: string;
  if (target.kind === 'postgres') {
    url = target.url;
  } else {
    url = embeddedUrl(target.host, target.port);
    if (await isPortListening(target.host, target.port)) {
      if (!(await answersPostgres(url))) {
        throw new PortInUseError(target.port, 'a PostgreSQL server', '--db-port or DRIFTLINE_DB_PORT');
      }
    } else if (options.startEmbedded ?? true) {
      embedded = await startEmbeddedPostgres(target);
    }
  }

  const db = connectDatabase(url, options);
  try {
    const migrations = await migrateToLatest(db as Kysely<unknown>);
    return {
      db,
      url,
      target,
      embedded,
      migrations,
      async close() {
        await db.destroy();
        await embedded?.stop();
      },
    };
  } catch (error) {
    await db.destroy();
    await embedded?.stop();
    throw error;
  }
}

async function answersPostgres(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query('select 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

/** The id of this Driftline database (written by the first migration). */
export async function instanceId(db: DriftlineDb): Promise<string> {
  const row = await db.selectFrom('driftline_instance').select('instance_id').executeTakeFirstOrThrow();
  return row.instance_id;
}

/** Server version string, for status lines ("PostgreSQL 15.18" or PGlite's). */
export async function serverVersion(db: DriftlineDb): Promise<string> {
  const { rows } = await sql<{ version: string }>`select version() as version`.execute(db);
  return rows[0]?.version ?? 'unknown';
}

export function parsePort(value: string | undefined, name: string): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new RangeError(`${name} must be a TCP port between 1 and 65535, got "${value}".`);
  }
  return port;
}
