/**
 * The drift monitor's activity: compare the latest window with the reference profile, store the
 * JSON and HTML reports by content, and hand the workflow a small summary (references, not data).
 * A window that cannot be read is a final failure (the workflow records it); I/O hiccups are retried.
 */
import { ApplicationFailure, Context } from '@temporalio/activity';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DriftCheckSummary } from '../../core/drift-monitor.ts';
import { INVALID_INPUT } from '../../core/names.ts';
import type { ArtifactStore } from '../artifacts/store.ts';
import { DatasetNotFound } from '../data/source.ts';
import { DriftDataError } from '../drift/errors.ts';
import { renderDriftHtml } from '../drift/html-report.ts';
import { analyseDrift } from '../drift/report.ts';

export interface CheckDriftInput {
  reference: string;
  current: string;
  policy?: Record<string, unknown>;
}

export function createMonitoringActivities(artifacts: ArtifactStore) {
  return {
    async checkDrift(input: CheckDriftInput): Promise<DriftCheckSummary> {
      const heartbeat = setInterval(() => Context.current().heartbeat({ phase: 'comparing', window: input.current }), 5000);
      const scratch = await mkdtemp(join(tmpdir(), 'driftline-drift-'));
      try {
        const analysis = await analyseDrift({ reference: input.reference, current: input.current, ...(input.policy ? { policy: input.policy } : {}) });
        const { report } = analysis;
        const jsonPath = join(scratch, 'drift-report.json');
        const htmlPath = join(scratch, 'drift-report.html');
        await writeFile(jsonPath, `${JSON.stringify(report, null, 2)}\n`);
        await writeFile(htmlPath, renderDriftHtml(report, analysis.distributions, { title: `Drift of ${input.current}` }));
        const stored = await artifacts.put(jsonPath);
        const html = await artifacts.put(htmlPath);
        return {
          window: { uri: report.current.uri, sha256: report.current.sha256 },
          report: { uri: stored.uri, sha256: stored.sha256 },
          htmlReport: { uri: html.uri, sha256: html.sha256 },
          datasetDrift: report.datasetDrift,
          driftShare: report.driftShare,
          driftedColumns: report.features.filter((f) => f.drift).map((f) => f.name),
          insufficientColumns: report.features.filter((f) => f.status !== 'ok').map((f) => f.name),
        };
      } catch (error) {
        if (error instanceof DriftDataError || error instanceof DatasetNotFound) {
          throw ApplicationFailure.nonRetryable(error.message, INVALID_INPUT);
        }
        throw error;
      } finally {
        clearInterval(heartbeat);
        await rm(scratch, { recursive: true, force: true });
      }
    },
  };
}

export type MonitoringActivities = ReturnType<typeof createMonitoringActivities>;
