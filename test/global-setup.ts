/**
 * Starts, once per `npm test`, the real services every suite shares:
 *  - ONE ephemeral Temporal dev server (the provisioned, pinned CLI) with Driftline's search attributes;
 *  - the database: a fresh throw-away database on the PostgreSQL named by DATABASE_URL, or the
 *    embedded PGlite server (in memory) when DATABASE_URL is unset; migrations applied;
 *  - moto_server for the AWS APIs, when it is installed (always in CI);
 *  - a real Driftline worker on both task queues, with the real workflows and activities.
 * Suites receive addresses through vitest's `inject()`; see test/helpers/env.ts.
 */
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Runtime, DefaultLogger } from '@temporalio/worker';
import type { TestProject } from 'vitest/node';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { SEARCH_ATTRIBUTES } from '../core/names.ts';
import { provisionTemporalCli } from '../scripts/lib/temporal-cli.ts';
import { DEV_SERVER_DYNAMIC_CONFIG_FLAGS } from '../scripts/lib/temporal-server.ts';
import { driftlineHome } from '../scripts/lib/home.ts';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../activities/db/embedded-server.ts';
import { connectDatabase, LOOPBACK } from '../activities/db/database.ts';
import { migrateToLatest } from '../activities/db/migrator.ts';
import { createDriftlineWorkers } from '../workers/worker.ts';
import { freePort } from './helpers/ports.ts';
import { startMotoServer } from './helpers/moto.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    temporalAddress: string;
    temporalCliPath: string;
    temporalNamespace: string;
    databaseUrl: string;
    databaseKind: 'postgres' | 'embedded';
    workerHome: string;
    motoEndpoint: string | null;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const teardowns: Array<() => Promise<unknown>> = [];
  const teardown = async () => {
    for (const step of teardowns.reverse()) await step().catch((error: unknown) => console.error(error));
  };
  try {
    Runtime.install({ logger: new DefaultLogger('WARN') });

    const cli = await provisionTemporalCli({ home: driftlineHome(), log: (line) => console.log(line) });
    const env = await TestWorkflowEnvironment.createLocal({
      server: {
        executable: { type: 'existing-path', path: cli.path },
        ip: LOOPBACK,
        searchAttributes: Object.values(SEARCH_ATTRIBUTES),
        log: { format: 'pretty', level: 'error' },
        // the same queue-reader rates as every dev server Driftline starts (DEV_SERVER_DYNAMIC_CONFIG)
        extraArgs: [...DEV_SERVER_DYNAMIC_CONFIG_FLAGS],
      },
    });
    teardowns.push(() => env.teardown());

    const database = await prepareDatabase();
    teardowns.push(database.dispose);

    const moto = await startMotoServer();
    if (moto) teardowns.push(() => moto.stop());

    const db = connectDatabase(database.url);
    teardowns.push(() => db.destroy());
    await migrateToLatest(db as never);

    const home = await mkdtemp(join(tmpdir(), 'driftline-test-home-'));
    teardowns.push(() => rm(home, { recursive: true, force: true }));
    const workers = await createDriftlineWorkers({ connection: env.nativeConnection, namespace: 'default', db, home });
    const running = workers.run();
    teardowns.push(async () => {
      workers.shutdown();
      await running;
    });

    console.log(
      `test services: Temporal ${env.address} (CLI ${cli.version}, ${cli.source}); database ${database.kind}; ` +
        `moto ${moto ? moto.endpoint : 'not installed'}`,
    );
    project.provide('temporalAddress', env.address);
    project.provide('temporalCliPath', cli.path);
    project.provide('temporalNamespace', 'default');
    project.provide('databaseUrl', database.url);
    project.provide('databaseKind', database.kind);
    project.provide('workerHome', home);
    project.provide('motoEndpoint', moto?.endpoint ?? null);
    return teardown;
  } catch (error) {
    await teardown();
    throw error;
  }
}

interface TestDatabase {
  kind: 'postgres' | 'embedded';
  url: string;
  dispose: () => Promise<void>;
}

/** A database no earlier run has touched, so suites can assert on exact contents. */
async function prepareDatabase(): Promise<TestDatabase> {
  const serverUrl = process.env.DATABASE_URL?.trim();
  if (!serverUrl) {
    const embedded: EmbeddedPostgres = await startEmbeddedPostgres({
      dataDir: 'memory://',
      host: LOOPBACK,
      port: await freePort(),
    });
    return { kind: 'embedded', url: embedded.url, dispose: () => embedded.stop() };
  }
  const name = `driftline_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  try {
    await admin.query(`create database ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    kind: 'postgres',
    url: url.toString(),
    async dispose() {
      const client = new pg.Client({ connectionString: serverUrl });
      await client.connect();
      try {
        await client.query(`drop database if exists ${name} with (force)`);
      } finally {
        await client.end();
      }
    },
  };
}
