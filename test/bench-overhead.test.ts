/**
 * The scale benchmark's per-step overhead (scripts/bench/scale/overhead.ts), on a history recorded
 * from a real continuousTraining run: every first-attempt activity becomes one step, its times are
 * in the order the definition needs, and "ready" is the workflow task that scheduled it.
 */
import { historyFromJSON } from '@temporalio/common/lib/proto-utils.js';
import proto from '@temporalio/proto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { analyseHistory, distribution, overheadOf, percentile, timestampMs } from '../scripts/bench/scale/overhead.ts';
import { HISTORIES_DIR } from './helpers/histories.ts';

const { EventType } = proto.temporal.api.enums.v1;

describe('per-step overhead from a history', async () => {
  const history = historyFromJSON(JSON.parse(await readFile(join(HISTORIES_DIR, 'workflows', 'continuous-training-registered.json'), 'utf8')));
  const events = history.events ?? [];

  it('finds one step per completed activity, with times in order', () => {
    const { steps, retried, completedMs, startedMs } = analyseHistory('ct:test', events);
    const completed = events.filter((e) => e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED).length;
    expect(completed).toBeGreaterThan(5);
    expect(steps.length + retried).toBe(completed);
    for (const s of steps) {
      expect(s.readyMs).toBeLessThanOrEqual(s.scheduledMs);
      expect(s.scheduledMs).toBeLessThanOrEqual(s.startedMs);
      expect(s.startedMs).toBeLessThanOrEqual(s.completedMs);
    }
    expect(steps.map((s) => s.activityType)).toContain('trainModel');
    expect(startedMs).not.toBeNull();
    expect(completedMs!).toBeGreaterThan(startedMs!);
  });

  it('takes "ready" from the workflow task that scheduled the activity', () => {
    const { steps } = analyseHistory('ct:test', events);
    const train = steps.find((s) => s.activityType === 'trainModel')!;
    const scheduled = events.find(
      (e) => e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED && e.activityTaskScheduledEventAttributes?.activityType?.name === 'trainModel',
    )!;
    const wftCompleted = events.find((e) => Number(e.eventId) === Number(scheduled.activityTaskScheduledEventAttributes!.workflowTaskCompletedEventId))!;
    const wftScheduled = events.find((e) => Number(e.eventId) === Number(wftCompleted.workflowTaskCompletedEventAttributes!.scheduledEventId))!;
    expect(wftScheduled.eventType).toBe(EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED);
    expect(train.readyMs).toBe(timestampMs(wftScheduled.eventTime));
    const report = overheadOf([train]);
    expect(report.overhead.medianMs).toBeCloseTo(report.decision.medianMs + report.dispatch.medianMs, 2);
  });
});

describe('distribution', () => {
  it('uses nearest-rank percentiles', () => {
    const values = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(values, 50)).toBe(50);
    expect(percentile(values, 99)).toBe(99);
    expect(percentile([7], 99)).toBe(7);
    expect(distribution([3, 1, 2])).toMatchObject({ count: 3, medianMs: 2, p99Ms: 3, maxMs: 3, meanMs: 2 });
  });
});
