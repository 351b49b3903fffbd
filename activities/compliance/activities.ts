/**
 * Compliance activities. Checks that read data or run tools are served on `driftline-training`
 * (`training`); reading the approvers file, storing the policy and the evidence bundle, the model
 * card, the gate's records and notifications on `driftline` (`orchestration`).
 *
 * Every report is stored by content in the artifact store and returned as a CheckResult (verdict,
 * one-line summary, URI and sha256); the workflow attaches it to the version as evidence. A data
 * problem (a missing column, an unreadable file) is a check that ended in `error`, with a report
 * saying why; transient faults are thrown and retried by Temporal.
 */
import { ApplicationFailure, Context } from '@temporalio/activity';
import { heartbeatIfActivity } from '../heartbeat.ts';
import canonicalize from 'canonicalize';
import { createHash } from 'node:crypto';
import { z } from 'zod';
import {
  approversFileSchema,
  biasCheckSchema,
  compliancePolicySchema,
  describeIssue,
  explainabilityCheckSchema,
  provenanceCheckSchema,
  protectedAttributeSchema,
  securityCheckSchema,
  type ApproversFile,
  type ArtifactRef,
  type CheckName,
  type CheckResult,
  type EvidenceBundle,
} from '../../core/compliance.ts';
import { INVALID_INPUT } from '../../core/names.ts';
import { lineageSchema } from '../../core/registry.ts';
import type { ArtifactStore } from '../artifacts/store.ts';
import type { DriftlineDb } from '../db/database.ts';
import { MalformedDataset } from '../data/csv-profile.ts';
import { readObject } from '../data/object-store.ts';
import { DatasetNotFound } from '../data/source.ts';
import { notifyActivities } from '../notify/webhook.ts';
import { RegistryError } from '../registry/port.ts';
import { auditBias, biasSummary } from './bias.ts';
import { explainabilitySummary, importanceChartSvg, planPermutations, scorePermutations, type PermutationPlan } from './explainability.ts';
import { reportJson, storeText } from './files.ts';
import { renderModelCard, type ModelCardInput } from './model-card.ts';
import { checkProvenance, provenanceSummary } from './provenance.ts';
import { recordComplianceEvent, type ComplianceEventInput, type ComplianceEventRecord } from './records.ts';
import { runSecurityScan, securitySummary } from './security.ts';

export interface ComplianceActivityDependencies {
  db: DriftlineDb;
  artifacts: ArtifactStore;
}

export interface LoadedApprovers {
  approvers: ApproversFile;
  artifact: ArtifactRef;
}

export interface PermutationDataset {
  dataset: ArtifactRef;
  plan: PermutationPlan;
}

export function createComplianceActivities(deps: ComplianceActivityDependencies) {
  const { artifacts } = deps;

  // Every check heartbeats while it works, so the gate notices a dead worker within its heartbeat
  // timeout instead of the six-hour start-to-close.
  const training = heartbeating({
    async checkProvenance(input: { model: string; version: number; lineage: unknown; policy: unknown }): Promise<CheckResult> {
      const lineage = parseInput(lineageSchema, input.lineage, 'lineage');
      const policy = parseInput(provenanceCheckSchema, input.policy, 'provenance policy');
      const report = await checkProvenance(artifacts, { model: input.model, version: input.version, lineage, policy });
      return result('provenance', report.status, provenanceSummary(report), await storeText(artifacts, 'provenance.json', reportJson(report)));
    },

    async auditBias(input: { holdoutUri: string; predictionsUri: string; label: string; attributes: unknown[]; policy: unknown }): Promise<CheckResult> {
      const policy = parseInput(biasCheckSchema, input.policy, 'bias policy');
      const attributes = parseInput(z.array(protectedAttributeSchema).min(1, 'name at least one protected attribute'), input.attributes, 'protected attributes');
      return dataErrorsAsResult(artifacts, 'bias', async () => {
        const report = await auditBias({ ...input, attributes, policy });
        return result('bias', report.status, biasSummary(report), await storeText(artifacts, 'bias-audit.json', reportJson(report)));
      });
    },

    /** Writes the holdout followed by each feature's shuffled copies: one dataset for one predict call. */
    async planPermutationImportance(input: { holdoutUri: string; label: string; policy: unknown }): Promise<PermutationDataset | { error: string }> {
      const policy = parseInput(explainabilityCheckSchema, input.policy, 'explainability policy');
      try {
        const { csv, plan } = await planPermutations({ holdoutUri: input.holdoutUri, label: input.label, policy });
        return { dataset: await storeText(artifacts, 'permuted-holdout.csv', csv), plan };
      } catch (error) {
        if (isDataError(error)) return { error: (error as Error).message };
        throw error;
      }
    },

    async scorePermutationImportance(input: { holdoutUri: string; label: string; predictionsUri: string; plan: PermutationPlan }): Promise<CheckResult> {
      return dataErrorsAsResult(artifacts, 'explainability', async () => {
        const report = await scorePermutations(input);
        const json = await storeText(artifacts, 'explainability.json', reportJson(report));
        const chart = await storeText(artifacts, 'explainability.svg', importanceChartSvg(report));
        return { ...result('explainability', 'pass', explainabilitySummary(report), json), attachments: [{ kind: 'explainability-chart', ...chart }] };
      });
    },

    async runSecurityScan(input: { policy: unknown }): Promise<CheckResult> {
      const policy = parseInput(securityCheckSchema, input.policy, 'security policy');
      const context = Context.current();
      const beat = setInterval(() => context.heartbeat('scanning'), 5000);
      try {
        const report = await runSecurityScan(policy, { signal: context.cancellationSignal, heartbeat: (d) => context.heartbeat(d) });
        return result('security', report.status, securitySummary(report), await storeText(artifacts, 'security-scan.json', reportJson(report)));
      } finally {
        clearInterval(beat);
      }
    },
  });

  const orchestration = {
    ...notifyActivities,

    /** Reads and validates the approvers file, and stores the exact bytes by content (they become evidence). */
    async loadApproversFile(input: { file: string; sha256?: string }): Promise<LoadedApprovers> {
      let bytes: Uint8Array;
      try {
        bytes = await readObject(input.file);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code ?? (error as { name?: string }).name;
        if (code === 'ENOENT' || code === 'NoSuchKey' || code === 'NoSuchBucket' || code === 'EISDIR' || error instanceof RangeError) {
          throw ApplicationFailure.nonRetryable(`Approvers file ${input.file} cannot be read: ${(error as Error).message}`, INVALID_INPUT);
        }
        throw error;
      }
      const sha256 = createHash('sha256').update(bytes).digest('hex');
      if (input.sha256 && input.sha256 !== sha256) {
        throw ApplicationFailure.nonRetryable(`Approvers file ${input.file} has sha256 ${sha256}, but the policy pins ${input.sha256}`, INVALID_INPUT);
      }
      const approvers = parseApproversFile(new TextDecoder().decode(bytes), input.file);
      const stored = await storeText(artifacts, 'approvers.json', new TextDecoder().decode(bytes));
      return { approvers, artifact: stored };
    },

    /** Stores the policy as canonical JSON (RFC 8785), so its hash names exactly these rules. */
    async storeCompliancePolicy(input: { policy: unknown }): Promise<ArtifactRef> {
      const policy = parseInput(compliancePolicySchema, input.policy, 'compliance policy');
      return storeText(artifacts, 'compliance-policy.json', canonical(policy));
    },

    async writeModelCard(input: ModelCardInput): Promise<CheckResult> {
      const markdown = await renderModelCard(input);
      const stored = await storeText(artifacts, 'model-card.md', markdown);
      return result('model-card', 'pass', `model card of ${input.model} v${input.version} (${markdown.split('\n').length} lines)`, stored);
    },

    /** Stores the bundle as canonical JSON; its sha256 is what approvers sign. */
    async storeEvidenceBundle(bundle: EvidenceBundle): Promise<ArtifactRef> {
      return storeText(artifacts, 'evidence-bundle.json', canonical(bundle));
    },

    async recordComplianceEvent(input: Omit<ComplianceEventInput, 'workflowId' | 'runId'>): Promise<ComplianceEventRecord> {
      const execution = Context.current().info.workflowExecution;
      if (!execution) throw ApplicationFailure.nonRetryable('recordComplianceEvent must be called from a workflow', INVALID_INPUT);
      try {
        return await recordComplianceEvent(deps.db, { ...input, workflowId: execution.workflowId, runId: execution.runId });
      } catch (error) {
        if (error instanceof RegistryError) throw ApplicationFailure.nonRetryable(error.message, error.code === 'not-found' ? 'NotFound' : INVALID_INPUT);
        throw error;
      }
    },
  };

  return { training, orchestration };
}

export type ComplianceActivities = ReturnType<typeof createComplianceActivities>;
export type ComplianceTrainingActivities = ComplianceActivities['training'];
export type ComplianceOrchestrationActivities = ComplianceActivities['orchestration'];

/** Parses an approvers file's text; a problem is one line naming the file and the field. */
export function parseApproversFile(text: string, source: string): ApproversFile {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw ApplicationFailure.nonRetryable(`Approvers file ${source} is not JSON: ${(error as Error).message}`, INVALID_INPUT);
  }
  const parsed = approversFileSchema.safeParse(json);
  if (!parsed.success) throw ApplicationFailure.nonRetryable(`Approvers file ${source}: ${describeIssue(parsed.error)}`, INVALID_INPUT);
  return parsed.data;
}

export function canonical(value: unknown): string {
  const text = canonicalize(value);
  if (text === undefined) throw new TypeError('value has no JSON form');
  return text;
}

function result(check: CheckName, status: CheckResult['status'], summary: string, report: ArtifactRef | null): CheckResult {
  return { check, status, summary, report, attachments: [] };
}

function isDataError(error: unknown): boolean {
  return error instanceof MalformedDataset || error instanceof DatasetNotFound || error instanceof RangeError;
}

/** A data problem ends the check in `error`, with a stored report that says why. */
async function dataErrorsAsResult(artifacts: ArtifactStore, check: CheckName, fn: () => Promise<CheckResult>): Promise<CheckResult> {
  try {
    return await fn();
  } catch (error) {
    if (!isDataError(error)) throw error;
    const message = (error as Error).message;
    return result(check, 'error', message, await storeText(artifacts, `${check}-error.json`, reportJson({ check, status: 'error', error: message })));
  }
}

function parseInput<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw ApplicationFailure.nonRetryable(`Invalid ${what}: ${describeIssue(parsed.error)}`, INVALID_INPUT);
  return parsed.data;
}

/** Wraps each activity so that it heartbeats every 5 s while it runs (a no-op outside an activity). */
function heartbeating<T extends Record<string, (input: never) => Promise<unknown>>>(activities: T): T {
  return Object.fromEntries(
    Object.entries(activities).map(([name, fn]) => [
      name,
      async (input: never) => {
        const beat = setInterval(() => heartbeatIfActivity(name), 5000);
        try {
          return await fn(input);
        } finally {
          clearInterval(beat);
        }
      },
    ]),
  ) as T;
}
