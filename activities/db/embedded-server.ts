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

  const server = new PGLiteSocketServer({
    db: keepExtendedQueriesTogether(pglite),
    host,
    port,
    maxConnections: options.maxConnections ?? 64,
  });
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

/**
 * pglite-socket runs one protocol message at a time from whichever connection is next, and keeps a
 * connection's messages together only inside a transaction. A `pg` query outside a transaction is
 * several messages (Parse, Bind, Describe, Execute, Sync) sharing the backend's unnamed portal, so
 * two connections' queries could interleave and one would fail with 'portal "" does not exist'.
 * This view of the database reports "in a transaction" from the first extended-protocol message to
 * its Sync, which makes the server keep that connection's sequence together too.
 */
function keepExtendedQueriesTogether(pglite: PGlite): PGlite {
  let sequenceOpen = false;
  return new Proxy(pglite, {
    get(target, property, receiver) {
      if (property === 'isInTransaction') return () => sequenceOpen || target.isInTransaction();
      if (property === 'execProtocolRawStream') {
        return (message: Uint8Array, ...rest: unknown[]) => {
          const type = String.fromCharCode(message[0] ?? 0);
          if (type === 'S') sequenceOpen = false;
          else if ('PBDECH'.includes(type)) sequenceOpen = true;
          return (target.execProtocolRawStream as (...args: unknown[]) => unknown)(message, ...rest);
        };
      }
      if (property === 'exec') {
        // the server calls exec('ROLLBACK') for a client that vanished mid-transaction or mid-sequence
        return (...args: unknown[]) => {
          sequenceOpen = false;
          return (target.exec as (...a: unknown[]) => unknown)(...args);
        };
      }
      const value = Reflect.get(target, property, receiver) as unknown;
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
