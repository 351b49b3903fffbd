/**
 * What a suite needs to talk to the shared services started by test/global-setup.ts, and a
 * helper to run an extra real worker (own task queue, own activities) inside one test.
 */
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { randomUUID } from 'node:crypto';
import { inject } from 'vitest';
import { msToTs } from '@temporalio/common/lib/time.js';
import { connectDatabase, type DriftlineDb } from '../../activities/db/database.ts';
import { ensureSearchAttributes } from '../../scripts/lib/temporal-server.ts';

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

/**
 * A fresh namespace on the shared dev server, with Driftline's search attributes, for tests that
 * run their own worker processes and must not share task queues with the suite's worker.
 */
export async function isolatedNamespace(prefix: string): Promise<{ namespace: string; connection: Connection; client: Client }> {
  const namespace = `${prefix}-${randomUUID().slice(0, 8)}`;
  const connection = await Connection.connect({ address: temporalAddress() });
  await connection.workflowService.registerNamespace({ namespace, workflowExecutionRetentionPeriod: msToTs('1 day') });
  // a new namespace takes a moment to reach every service of the dev server
  for (let attempt = 0; ; attempt++) {
    try {
      await connection.workflowService.describeNamespace({ namespace });
      await ensureSearchAttributes(connection, namespace);
      break;
    } catch (error) {
      if (attempt > 60) throw error;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  return { namespace, connection, client: new Client({ connection, namespace }) };
}
