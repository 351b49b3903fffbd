/**
 * The foundation's end-to-end check: a real workflow on the shared dev server, executed by a
 * real worker, calling the real fingerprint activity that the shared Driftline worker serves on
 * the training queue; assertions read the workflow's history and visibility.
 */
import { WorkflowFailedError } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL, fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { sql } from 'kysely';
import { SEARCH_ATTRIBUTES, TASK_QUEUES } from '../core/names.ts';
import { instanceId } from '../activities/db/database.ts';
import { testClient, testDb, uniqueId, withWorker } from './helpers/env.ts';
import { saveHistoryIfRecording } from './helpers/histories.ts';

const EventType = temporal.api.enums.v1.EventType;
const workflowsPath = fileURLToPath(new URL('./fixtures/workflows/index.ts', import.meta.url));

let client: Awaited<ReturnType<typeof testClient>>;
let dir: string;

beforeAll(async () => {
  client = await testClient();
  dir = await mkdtemp(join(tmpdir(), 'driftline-harness-'));
});
afterAll(async () => {
  await client?.close();
});

describe('test harness', () => {
  it('runs a real workflow whose activity is served by the shared Driftline worker', async () => {
    const files = ['train.csv', 'holdout.csv'].map((name) => join(dir, name));
    await writeFile(files[0]!, 'x,y\n1,0\n2,1\n');
    await writeFile(files[1]!, 'x,y\n3,1\n');
    const uris = files.map((file) => pathToFileURL(file).href);
    const workflowId = uniqueId('harness');

    const result = await withWorker({ workflowsPath }, (taskQueue) =>
      client.client.workflow.execute('fingerprintDatasets', {
        taskQueue,
        workflowId,
        args: [{ model: 'harness-model', uris }],
        staticSummary: 'harness: fingerprint two datasets',
      }),
    );

    for (const [i, file] of files.entries()) {
      const bytes = await readFile(file);
      expect(result[i]).toEqual({
        uri: uris[i],
        sha256: createHash('sha256').update(bytes).digest('hex'),
        bytes: bytes.length,
      });
    }

    const history = await client.client.workflow.getHandle(workflowId).fetchHistory();
    const events = history.events ?? [];
    const scheduled = events.filter((e) => e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED);
    expect(scheduled).toHaveLength(2);
    for (const event of scheduled) {
      expect(event.activityTaskScheduledEventAttributes?.activityType?.name).toBe('fingerprintArtifact');
      expect(event.activityTaskScheduledEventAttributes?.taskQueue?.name).toBe(TASK_QUEUES.training);
    }
    expect(events.filter((e) => e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED)).toHaveLength(2);
    expect(events.filter((e) => e.eventType === EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES)).toHaveLength(2);
    await saveHistoryIfRecording('fixtures', 'fingerprint-datasets-success', history);

    const description = await client.client.workflow.getHandle(workflowId).describe();
    expect(description.typedSearchAttributes.get(SEARCH_ATTRIBUTES.model)).toBe('harness-model');
    expect(description.typedSearchAttributes.get(SEARCH_ATTRIBUTES.stage)).toBe('done');
  });

  it('fails bad input once, without retries, as InvalidInput', async () => {
    const workflowId = uniqueId('harness-bad');
    const missing = pathToFileURL(join(dir, 'does-not-exist.csv')).href;
    const run = withWorker({ workflowsPath }, (taskQueue) =>
      client.client.workflow.execute('fingerprintDatasets', {
        taskQueue,
        workflowId,
        args: [{ model: 'harness-model', uris: [missing] }],
      }),
    );
    const error = await run.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(WorkflowFailedError);
    const cause = (error as WorkflowFailedError).cause?.cause as { type?: string; message?: string } | undefined;
    expect(cause?.type).toBe('InvalidInput');
    expect(cause?.message).toContain('does not exist');

    const history = await client.client.workflow.getHandle(workflowId).fetchHistory();
    const failed = (history.events ?? []).filter((e) => e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED);
    expect(failed).toHaveLength(1);
    expect(failed[0]?.activityTaskFailedEventAttributes?.failure?.applicationFailureInfo?.nonRetryable).toBe(true);
    await saveHistoryIfRecording('fixtures', 'fingerprint-datasets-invalid-input', history);
  });

  it('shares one migrated database', async () => {
    const db = testDb();
    try {
      expect(await instanceId(db)).toMatch(/^[0-9a-f-]{36}$/);
      const { rows } = await sql<{ name: string }>`select name from driftline_migration order by name`.execute(db);
      expect(rows.map((r) => r.name)).toContain('0001_instance');
      expect(['postgres', 'embedded']).toContain(inject('databaseKind'));
    } finally {
      await db.destroy();
    }
  });
});
