/**
 * What a worker runs for the drift monitor: fit a reference profile, and check one window against
 * it, storing the JSON and HTML reports as content-addressed artifacts and returning only
 * references and the verdict (Temporal payloads carry references, never data).
 *
 * Errors: bad data, a bad profile or a bad policy is final (`ApplicationFailure.nonRetryable`
 * with type InvalidInput, naming the file and column); a store that did not answer is thrown as
 * a retryable failure and left to the activity's retry policy.
 */
import { ApplicationFailure } from '@temporalio/activity';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DriftInputError } from '../../core/drift/errors.ts';
import { DriftPolicyError } from '../../core/drift/policy.ts';
import { INVALID_INPUT } from '../../core/names.ts';
import type { DriftCheckSummary } from '../../core/drift-monitor.ts';
import { createArtifactStore } from '../artifacts/store.ts';
import type { DatasetFormat } from './column-builder.ts';
import { DriftDataError } from './errors.ts';
import { renderDriftHtml } from './html-report.ts';
import { fitAndStoreProfile } from './profile.ts';
import { analyseDrift } from './report.ts';

export interface DriftCheckInput {
  /** A profile (`.dlprof`, from fitDriftProfile or `driftline drift profile`) or a reference dataset. */
  readonly reference: string;
  /** The window to check: a dataset URI (file:// or s3://). */
  readonly window: string;
  /** A drift policy (core/drift/policy.ts); defaults when absent. */
  readonly policy?: unknown;
  readonly allStatistics?: boolean;
  readonly format?: DatasetFormat;
  /** Also render and store the HTML report (default true). */
  readonly html?: boolean;
}

/** What the drift monitor gets back: references and the verdict (see core/drift-monitor.ts). */
export type DriftCheckResult = DriftCheckSummary;

/** Computes the report for one window and stores it (JSON, and HTML unless asked not to) by content. */
export async function runDriftCheck(input: DriftCheckInput, artifactsRoot: string): Promise<DriftCheckResult> {
  const analysis = await analyseDrift({
    reference: input.reference,
    current: input.window,
    ...(input.policy === undefined ? {} : { policy: input.policy }),
    allStatistics: input.allStatistics ?? false,
    ...(input.format ? { format: input.format } : {}),
  });
  const { report } = analysis;
  const store = createArtifactStore(artifactsRoot);
  const scratch = await mkdtemp(join(tmpdir(), 'driftline-drift-report-'));
  try {
    const jsonPath = join(scratch, 'drift-report.json');
    await writeFile(jsonPath, `${JSON.stringify(report, null, 2)}\n`);
    const json = await store.put(jsonPath);
    let html: DriftCheckResult['htmlReport'] = null;
    if (input.html ?? true) {
      const htmlPath = join(scratch, 'drift-report.html');
      await writeFile(htmlPath, renderDriftHtml(report, analysis.distributions, { datasetDriftShare: analysis.policy.datasetDriftShare }));
      const stored = await store.put(htmlPath);
      html = { uri: stored.uri, sha256: stored.sha256 };
    }
    return {
      window: { uri: report.current.uri, sha256: report.current.sha256 },
      report: { uri: json.uri, sha256: json.sha256 },
      htmlReport: html,
      datasetDrift: report.datasetDrift,
      driftShare: report.driftShare,
      driftedColumns: report.features.filter((f) => f.drift).map((f) => f.name),
      insufficientColumns: report.features.filter((f) => f.status === 'insufficient-data').map((f) => f.name),
    };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/** Turns the drift engine's errors into Temporal failures: final ones non-retryable. */
export function asActivityFailure(error: unknown, what: string): unknown {
  if (error instanceof DriftDataError) {
    return error.final
      ? ApplicationFailure.nonRetryable(`${what}: ${error.message}`, INVALID_INPUT, { problem: error.problem, uri: error.uri, column: error.column ?? null, line: error.line ?? null })
      : ApplicationFailure.retryable(`${what}: ${error.message}`, 'DriftDataUnreachable');
  }
  if (error instanceof DriftPolicyError || error instanceof DriftInputError) return ApplicationFailure.nonRetryable(`${what}: ${error.message}`, INVALID_INPUT);
  return error;
}

/** The activity implementations, for a worker to register (the artifact store root as in activities/index.ts). */
export function createDriftActivities(deps: { artifactsRoot: string }) {
  return {
    /** Fits a reference profile from training data and stores it in the artifact store. */
    async fitDriftProfile(input: { data: string; policy?: unknown; format?: DatasetFormat }) {
      try {
        return await fitAndStoreProfile({ ...input, out: deps.artifactsRoot });
      } catch (error) {
        throw asActivityFailure(error, 'Drift profile');
      }
    },
    /** Checks one window against a reference; stores the reports; returns references and the verdict. */
    async checkDrift(input: DriftCheckInput): Promise<DriftCheckResult> {
      try {
        return await runDriftCheck(input, deps.artifactsRoot);
      } catch (error) {
        throw asActivityFailure(error, 'Drift check');
      }
    },
  };
}
