/**
 * Provenance: the data and the model are what the lineage says they are. Each dataset of the
 * version's lineage (train, holdout) and the model artifact is hashed again and compared with the
 * recorded sha256; each dataset's sidecar metadata (`<dataset uri><suffix>`, a JSON object) must
 * declare every field the policy requires (use rights, consent, retention, ...).
 */
import type { z } from 'zod';
import type { provenanceCheckSchema } from '../../core/compliance.ts';
import type { Lineage } from '../../core/registry.ts';
import type { ArtifactStore } from '../artifacts/store.ts';
import { readObject } from '../data/object-store.ts';
import { DatasetNotFound } from '../data/source.ts';

export type ProvenancePolicy = z.infer<typeof provenanceCheckSchema>;

export interface HashCheck {
  role: 'train' | 'holdout' | 'model';
  uri: string;
  recordedSha256: string;
  actualSha256: string | null;
  match: boolean;
  error: string | null;
}

export interface MetadataCheck {
  role: 'train' | 'holdout';
  uri: string;
  found: boolean;
  present: string[];
  missing: string[];
  error: string | null;
}

export interface ProvenanceReport {
  check: 'provenance';
  status: 'pass' | 'fail';
  model: string;
  version: number;
  code: { repository: string | null; commit: string | null };
  hashes: HashCheck[];
  metadata: MetadataCheck[];
  requiredMetadata: string[];
  problems: string[];
}

export async function checkProvenance(
  artifacts: ArtifactStore,
  input: { model: string; version: number; lineage: Lineage; policy: ProvenancePolicy },
): Promise<ProvenanceReport> {
  const { lineage, policy } = input;
  const datasets: Array<{ role: 'train' | 'holdout'; uri: string; sha256: string }> = [{ role: 'train', ...lineage.trainData }];
  if (lineage.holdoutData) datasets.push({ role: 'holdout', ...lineage.holdoutData });
  const targets: Array<{ role: HashCheck['role']; uri: string; sha256: string }> = [...datasets];
  if (policy.verifyArtifact) targets.push({ role: 'model', ...lineage.artifact });

  const hashes: HashCheck[] = [];
  for (const target of targets) {
    try {
      const { sha256 } = await artifacts.stat(target.uri);
      hashes.push({ role: target.role, uri: target.uri, recordedSha256: target.sha256, actualSha256: sha256, match: sha256 === target.sha256, error: null });
    } catch (error) {
      if (!(error instanceof DatasetNotFound)) throw error; // transient: let Temporal retry
      hashes.push({ role: target.role, uri: target.uri, recordedSha256: target.sha256, actualSha256: null, match: false, error: error.message });
    }
  }

  const metadata: MetadataCheck[] = [];
  if (policy.requiredMetadata.length > 0) {
    for (const dataset of datasets) metadata.push(await readMetadata(dataset.role, `${dataset.uri}${policy.metadataSuffix}`, policy.requiredMetadata));
  }

  const problems: string[] = [];
  for (const h of hashes) {
    if (h.error) problems.push(`${h.role} ${h.uri} cannot be read: ${h.error}`);
    else if (!h.match) problems.push(`${h.role} ${h.uri} has sha256 ${h.actualSha256}, but the lineage recorded ${h.recordedSha256}`);
  }
  for (const m of metadata) {
    if (m.error) problems.push(`${m.role} data metadata ${m.uri}: ${m.error}`);
    else if (m.missing.length) problems.push(`${m.role} data metadata ${m.uri} lacks ${m.missing.map((f) => `"${f}"`).join(', ')}`);
  }
  return {
    check: 'provenance',
    status: problems.length ? 'fail' : 'pass',
    model: input.model,
    version: input.version,
    code: lineage.code,
    hashes,
    metadata,
    requiredMetadata: policy.requiredMetadata,
    problems,
  };
}

async function readMetadata(role: 'train' | 'holdout', uri: string, required: string[]): Promise<MetadataCheck> {
  let bytes: Uint8Array;
  try {
    bytes = await readObject(uri);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? (error as { name?: string }).name;
    if (code === 'ENOENT' || code === 'NoSuchKey' || code === 'NotFound') {
      return { role, uri, found: false, present: [], missing: required, error: 'no metadata file' };
    }
    throw error;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder().decode(bytes));
  } catch (error) {
    return { role, uri, found: true, present: [], missing: required, error: `not JSON (${(error as Error).message})` };
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    return { role, uri, found: true, present: [], missing: required, error: 'not a JSON object' };
  }
  const record = parsed as Record<string, unknown>;
  const present = required.filter((field) => declared(record[field]));
  return { role, uri, found: true, present, missing: required.filter((f) => !present.includes(f)), error: null };
}

/** A field counts as declared when it has a value: not absent, null, false, an empty string or an empty object/array. */
function declared(value: unknown): boolean {
  if (value === undefined || value === null || value === false) return false;
  if (typeof value === 'string') return value.trim().length > 0;
  if (Array.isArray(value)) return value.length > 0;
  if (typeof value === 'object') return Object.keys(value).length > 0;
  return true;
}

export function provenanceSummary(report: ProvenanceReport): string {
  if (report.status === 'pass') {
    const meta = report.requiredMetadata.length ? `; metadata ${report.requiredMetadata.join(', ')} declared` : '';
    return `${report.hashes.length} hash${report.hashes.length === 1 ? '' : 'es'} match the lineage${meta}`;
  }
  return report.problems.join('; ');
}
