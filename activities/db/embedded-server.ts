/**
 * The embedded database: PGlite (PostgreSQL compiled to WASM) served over the PostgreSQL wire
 * protocol by pglite-socket, so the rest of Driftline talks to it through `pg` exactly as it talks
 * to a real server. One SQL dialect and one driver everywhere.
 */
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import { mkdir } from 'node:fs/promises';

export interface EmbeddedPostgresOptions {
  /** Directory holding the data files, or `memory://` for a throw-away database. */
  dataDir: string;
  host: string;
  port: number;
  /**
   * Connections the socket server accepts at once. PGlite runs one backend; the server multiplexes
   * connections and keeps a transaction's statements together, so concurrent pools are safe.
   */
  maxConnections?: number;
}

export interface EmbeddedPostgres {
  readonly url: string;
  readonly dataDir: string;
  stop(): Promise<void>;
}

export class EmbeddedDatabaseError extends Error {
  override readonly name = 'EmbeddedDatabaseError';
}

export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  const { dataDir, host, port } = options;
  const inMemory = dataDir.startsWith('memory://');
  if (!inMemory) await mkdir(dataDir, { recursive: true });

  let pglite: PGlite;
  try {
    pglite = await PGlite.create(dataDir);
    await pglite.query('select 1');
  } catch (error) {
    throw new EmbeddedDatabaseError(
      `The embedded database in ${dataDir} could not be opened (${describe(error)}); ` +
        `if its data is not needed, remove ${dataDir} and start again, or set DATABASE_URL to use a PostgreSQL server.`,
      { cause: error },
    );
  }

  const server = new PGLiteSocketServer({ db: pglite, host, port, maxConnections: options.maxConnections ?? 64 });
  try {
    await server.start();
  } catch (error) {
    await pglite.close();
    throw error;
  }

  let stopped = false;
  return {
    url: `postgres://postgres@${host}:${port}/postgres`,
    dataDir,
    async stop() {
      if (stopped) return;
      stopped = true;
      await server.stop();
      await pglite.close();
    },
  };
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
