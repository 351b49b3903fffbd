/**
 * Registry activities under Temporal: a worker that loses the result of a committed registration
 * (the activity commits, then its attempt fails) gets the same version on the retry, and bad input
 * fails the workflow once, without retries. A lookup of what does not exist yet answers null.
 */
import { Context } from '@temporalio/activity';
import { WorkflowFailedError } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRegistryActivities } from '../activities/registry/activities.ts';
import { PostgresModelRegistry } from '../activities/registry/postgres-registry.ts';
import { SEARCH_ATTRIBUTES } from '../core/names.ts';
import { isolatedDatabase, type IsolatedDatabase } from './helpers/databases.ts';
import { testClient, uniqueId, withWorker } from './helpers/env.ts';
import { saveHistoryIfRecording } from './helpers/histories.ts';
import { lineage } from './helpers/lineage.ts';

const EventType = temporal.api.enums.v1.EventType;
const workflowsPath = fileURLToPath(new URL('./fixtures/workflows/index.ts', import.meta.url));

let iso: IsolatedDatabase;
let client: Awaited<ReturnType<typeof testClient>>;

beforeAll(async () => {
  iso = await isolatedDatabase();
  client = await testClient();
});
afterAll(async () => {
  await client?.close();
  await iso?.dispose();
});

describe('registry activities', () => {
  it('a retried registration returns the version the first attempt committed', async () => {
    const registry = new PostgresModelRegistry(iso.db);
    const real = createRegistryActivities(registry);
    const activities = {
      ...real,
      async registerModelVersion(input: Parameters<typeof real.registerModelVersion>[0]) {
        const record = await real.registerModelVersion(input);
        if (Context.current().info.attempt === 1) throw new Error('lost the connection after the commit (simulated crash)');
        return record;
      },
    };
    const workflowId = uniqueId('ct:retry-model');
    const result = await withWorker({ workflowsPath, activities }, (taskQueue) =>
      client.client.workflow.execute('registerCandidate', {
        taskQueue,
        workflowId,
        args: [{ model: 'retry-model', owner: 'ml-platform', actor: 'ci@github', lineage: lineage() }],
      }),
    );
    expect(result).toEqual({ version: 1, alias: 'challenger' });

    const versions = await iso.db.selectFrom('model_versions').select(['version', 'workflow_id']).where('model_name', '=', 'retry-model').execute();
    expect(versions).toEqual([{ version: 1, workflow_id: workflowId }]);
    const history = await client.client.workflow.getHandle(workflowId).fetchHistory();
    const started = (history.events ?? []).filter((e) => e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED);
    expect(started.map((e) => e.activityTaskStartedEventAttributes?.attempt)).toContain(2);
    const details = await registry.getVersion({ model: 'retry-model', selector: { kind: 'alias', alias: 'challenger' } });
    expect(details.aliasHistory).toMatchObject([{ fromVersion: null, toVersion: 1, actor: 'ci@github', workflowId }]);
    const description = await client.client.workflow.getHandle(workflowId).describe();
    expect(description.typedSearchAttributes.get(SEARCH_ATTRIBUTES.version)).toBe(1);
    expect((await registry.verifyAudit()).ok).toBe(true);
    await saveHistoryIfRecording('fixtures', 'register-candidate-retried', history);
  });

  it('findModelVersion answers null for what does not exist yet, the version for what does, and refuses a bad reference', async () => {
    const registry = new PostgresModelRegistry(iso.db);
    const { findModelVersion, getModelLineage } = createRegistryActivities(registry);
    const model = uniqueId('find-model').replace(/[^a-z0-9-]/g, '-');
    expect(await findModelVersion({ reference: `${model}@champion` })).toBeNull(); // no such model
    await registry.registerVersion({ model, owner: 'ml-platform', actor: 'ci', lineage: lineage(), idempotencyKey: `${model}/1` });
    expect(await findModelVersion({ reference: `${model}@champion` })).toBeNull(); // no such alias
    expect(await findModelVersion({ reference: `${model}@7` })).toBeNull(); // no such version
    expect(await findModelVersion({ reference: `${model}@1` })).toMatchObject({ model, version: 1 });
    await expect(getModelLineage({ reference: `${model}@champion` })).rejects.toMatchObject({ type: 'NotFound', nonRetryable: true });
    await expect(findModelVersion({ reference: 'Not A Reference' })).rejects.toMatchObject({ type: 'InvalidInput', nonRetryable: true });
  });

  it('bad input fails the workflow once, as InvalidInput, and writes nothing', async () => {
    const registry = new PostgresModelRegistry(iso.db);
    const before = (await registry.auditLog()).length;
    const workflowId = uniqueId('ct:bad');
    const error = await withWorker({ workflowsPath, activities: createRegistryActivities(registry) }, (taskQueue) =>
      client.client.workflow.execute('registerCandidate', {
        taskQueue,
        workflowId,
        args: [{ model: 'bad-model', owner: 'x', actor: 'ci', lineage: lineage({ artifact: { uri: 's3://b/m.tar.gz', sha256: 'not-a-hash' } }) }],
      }),
    ).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(WorkflowFailedError);
    const cause = (error as WorkflowFailedError).cause?.cause as { type?: string; message?: string };
    expect(cause.type).toBe('InvalidInput');
    expect(cause.message).toContain('lineage.artifact.sha256: must be 64 lowercase hex digits');
    const history = await client.client.workflow.getHandle(workflowId).fetchHistory();
    expect((history.events ?? []).filter((e) => e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED)).toHaveLength(1);
    expect((await registry.auditLog()).length).toBe(before);
  });
});
