/**
 * What a suite needs to talk to the shared services started by test/global-setup.ts, and a
 * helper to run an extra real worker (own task queue, own activities) inside one test.
 */
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { randomUUID } from 'node:crypto';
import { inject } from 'vitest';
import { connectDatabase, type DriftlineDb } from '../../activities/db/database.ts';

export function temporalAddress(): string {
  return inject('temporalAddress');
}

export async function testClient(): Promise<{ client: Client; close: () => Promise<void> }> {
  const connection = await Connection.connect({ address: temporalAddress() });
  return { client: new Client({ connection, namespace: inject('temporalNamespace') }), close: () => connection.close() };
}

export function testDb(): DriftlineDb {
  return connectDatabase(inject('databaseUrl'));
}

export function uniqueId(prefix: string): string {
  return `${prefix}-${randomUUID()}`;
}

/**
 * Runs `fn` while a real worker polls its own task queue (so tests never steal each other's tasks).
 * The worker shuts down when `fn` settles.
 */
export async function withWorker<T>(
  options: Omit<WorkerOptions, 'connection' | 'namespace' | 'taskQueue'> & { taskQueue?: string },
  fn: (taskQueue: string) => Promise<T>,
): Promise<T> {
  const connection = await NativeConnection.connect({ address: temporalAddress() });
  const taskQueue = options.taskQueue ?? uniqueId('test');
  try {
    const worker = await Worker.create({ ...options, connection, namespace: inject('temporalNamespace'), taskQueue });
    return await worker.runUntil(fn(taskQueue));
  } finally {
    await connection.close();
  }
}
