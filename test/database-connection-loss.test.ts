/**
 * A database connection lost while a client is checked out (a PostgreSQL restart in the middle of a
 * transaction) must fail that transaction, not crash the process: `pg` emits 'error' on such a
 * client, and the pool listens only on idle ones. Found by the chaos suite (test/chaos/), where a
 * PostgreSQL crash took down the process holding the connection.
 */
import { sql } from 'kysely';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { connectDatabase } from '../activities/db/database.ts';
import { startTcpRelay, type TcpRelay } from './helpers/tcp-relay.ts';

let relay: TcpRelay | undefined;
afterAll(() => relay?.close());

describe('a database connection lost mid-transaction', () => {
  it('rejects the transaction and leaves the process running', async () => {
    const url = new URL(inject('databaseUrl'));
    relay = await startTcpRelay({ host: url.hostname, port: Number(url.port) });
    url.host = relay.address;
    const db = connectDatabase(url.toString());
    const uncaught: unknown[] = [];
    const onUncaught = (error: unknown) => uncaught.push(error);
    process.prependListener('uncaughtException', onUncaught);
    try {
      const transaction = db.transaction().execute(async (trx) => {
        await sql`select 1`.execute(trx);
        relay!.cut(); // the server goes away between two statements
        await new Promise((resolve) => setTimeout(resolve, 200));
        await sql`select 2`.execute(trx);
      });
      await expect(transaction).rejects.toThrow();
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(uncaught).toEqual([]);
      // the pool recovers: a new connection works
      expect((await sql<{ one: number }>`select 1 as one`.execute(db)).rows).toEqual([{ one: 1 }]);
    } finally {
      process.removeListener('uncaughtException', onUncaught);
      await db.destroy();
    }
  });
});
