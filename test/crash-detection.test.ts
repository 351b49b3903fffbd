/**
 * A worker that dies mid-activity is only noticed when the activity's heartbeat or start-to-close
 * timeout runs out. The chaos suite (test/chaos/) caught a pipeline stalled for 30 minutes because
 * its worker was killed during `evaluateCandidate` (start-to-close 30 min, no heartbeat), and registry
 * writes could stall 10 minutes the same way. Every activity a pipeline schedules must now let a
 * crash be noticed within a minute: a heartbeat timeout, or a start-to-close timeout, of at most 60 s.
 */
import { MockActivityEnvironment } from '@temporalio/testing';
import { temporal } from '@temporalio/proto';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { evaluationActivities, type EvaluationReport, type EvaluationRequest } from '../activities/evaluation/activities.ts';
import { startContinuousTraining } from '../scripts/lib/start-pipeline.ts';
import { generateApproverKeys } from '../scripts/cli/compliance.ts';
import { complianceGateWorkflowId } from '../core/compliance.ts';
import type { PipelineOutcome } from '../core/training.ts';
import { testClient } from './helpers/env.ts';
import { CREDIT_HOLDOUT, creditPipeline, resultWithin, uniqueModel } from './helpers/pipelines.ts';

const seconds = (d: { seconds?: unknown; nanos?: number | null } | null | undefined) => (d ? Number(d.seconds ?? 0) + (d.nanos ?? 0) / 1e9 : 0);

/** The activities of a history that would not notice a dead worker within a minute, and all their names. */
function slowToNoticeACrash(history: temporal.api.history.v1.IHistory): { scheduled: string[]; slow: string[] } {
  const attributes = (history.events ?? [])
    .filter((e) => e.eventType === temporal.api.enums.v1.EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED)
    .map((e) => e.activityTaskScheduledEventAttributes!);
  return {
    scheduled: attributes.map((a) => a.activityType?.name ?? '?'),
    slow: attributes
      .filter((a) => {
        const heartbeat = seconds(a.heartbeatTimeout);
        return !(heartbeat > 0 && heartbeat <= 60) && !(seconds(a.startToCloseTimeout) <= 60);
      })
      .map((a) => `${a.activityType?.name} (start-to-close ${seconds(a.startToCloseTimeout)} s, heartbeat ${seconds(a.heartbeatTimeout)} s)`),
  };
}

describe('crash detection', () => {
  it('every activity of a pipeline notices a dead worker within a minute', { timeout: 180_000 }, async () => {
    const { client, close } = await testClient();
    try {
      const model = uniqueModel('crash-detect');
      const { handle } = await startContinuousTraining(client, creditPipeline(model), 'timeouts');
      expect((await resultWithin<PipelineOutcome>(handle)).outcome).toBe('registered');
      const { scheduled, slow } = slowToNoticeACrash(await handle.fetchHistory());
      expect(scheduled).toContain('evaluateCandidate');
      expect(slow).toEqual([]);
    } finally {
      await close();
    }
  });

  it('so does every activity of the compliance gate, checks included', { timeout: 180_000 }, async () => {
    const { client, close } = await testClient();
    try {
      const dir = await mkdtemp(join(tmpdir(), 'driftline-gate-timeouts-'));
      const approversFile = join(dir, 'approvers.json');
      await writeFile(approversFile, JSON.stringify({ approvers: [{ id: 'alice', roles: ['ml-lead'], publicKey: generateApproverKeys().publicKey }], escalation: [] }));
      const model = uniqueModel('crash-detect-gate');
      const pipeline = creditPipeline(model);
      pipeline.policy = {
        ...pipeline.policy,
        compliance: {
          checks: { provenance: {}, modelCard: {} },
          approvers: { file: pathToFileURL(approversFile).href },
          quorum: { 'ml-lead': 1 },
          deadlines: { escalateAfter: '1 hour', rejectAfter: '2 hours' },
        },
      };
      await startContinuousTraining(client, pipeline, 'gate-timeouts');
      const gate = client.workflow.getHandle(complianceGateWorkflowId(model, 1));
      for (let i = 0; ; i++) {
        const status = (await gate.query('status').catch(() => null)) as { stage?: string } | null;
        if (status?.stage === 'awaiting-approval') break;
        if (i > 600) throw new Error(`the gate never waited for approvals: ${JSON.stringify(status)}`);
        await new Promise((r) => setTimeout(r, 200));
      }
      const { scheduled, slow } = slowToNoticeACrash(await gate.fetchHistory());
      expect(scheduled).toEqual(expect.arrayContaining(['checkProvenance', 'loadApproversFile', 'writeModelCard']));
      expect(slow).toEqual([]);
      await gate.terminate('test done');
    } finally {
      await close();
    }
  });

  it('evaluateCandidate heartbeats while it works', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'driftline-eval-heartbeat-'));
    const rows = (await readFile(CREDIT_HOLDOUT, 'utf8')).trim().split('\n').slice(1);
    const predictions = join(dir, 'predictions.csv');
    await writeFile(predictions, `prediction,probability\n${rows.map((r) => `${r.split(',').at(-1)},0.5`).join('\n')}\n`);
    const env = new MockActivityEnvironment();
    const beats: unknown[] = [];
    env.on('heartbeat', (details: unknown) => beats.push(details));
    const request: EvaluationRequest = {
      task: 'binary-classification',
      label: 'default',
      holdoutUri: pathToFileURL(CREDIT_HOLDOUT).href,
      candidatePredictionsUri: pathToFileURL(predictions).href,
      champion: null,
      policy: { thresholds: { accuracy: { min: 0.6 } } },
      seed: 1,
    };
    const report = (await env.run(evaluationActivities.evaluateCandidate, request)) as EvaluationReport;
    expect(report.candidate.accuracy).toBe(1);
    expect(beats.length).toBeGreaterThan(0);
  });
});
