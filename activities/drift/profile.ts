/**
 * Reference profiles: everything the drift statistics need of the training data, fitted once and
 * stored as ONE artifact, so a scheduled monitor compares each new window without rereading (or
 * re-sorting) the reference dataset.
 *
 * Per numeric column the profile keeps the sorted non-missing values, so KS and Wasserstein stay
 * exact (a sketch would make them approximate), plus the missing count and the reference-quantile
 * bin edges; per binary column the counts of 0 and 1; per categorical column the value counts.
 *
 * File layout (`.dlprof`), little-endian:
 *   bytes 0-7    "DLPROF1\n"
 *   bytes 8-11   u32: length H of the JSON header
 *   bytes 12-15  u32: 0 (reserved)
 *   16..16+H     JSON header: source dataset (uri, sha256, bytes, rows, format), bins, columns
 *   padding to a multiple of 8, then the body: float64 / u32 arrays at 8-aligned offsets.
 * A numeric column is stored either as its sorted values, or (when it has many ties, as integer
 * columns do) as its distinct values plus a u32 count each: whichever is smaller. The file holds
 * no timestamp, so the same data and settings always give the same bytes and the same sha256: a
 * retried fit stores nothing new (the artifact store is content-addressed).
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ArtifactFingerprint } from '../../core/artifacts.ts';
import { quantileEdges } from '../../core/drift/binned.ts';
import type { ColumnSummary } from '../../core/drift/feature.ts';
import { declaredKinds, isIgnored, parseDriftPolicy, type ColumnKind, type DriftPolicy } from '../../core/drift/policy.ts';
import { createArtifactStore } from '../artifacts/store.ts';
import { writeObject } from '../data/object-store.ts';
import { DatasetNotFound, openStream } from '../data/source.ts';
import type { Dataset, DatasetFormat } from './column-builder.ts';
import { canonicalUri, readDataset } from './dataset-reader.ts';
import { DriftDataError } from './errors.ts';
import { summariseColumn } from './summary.ts';

export const PROFILE_EXTENSION = '.dlprof';
const MAGIC = Buffer.from('DLPROF1\n', 'latin1');
const PREAMBLE = 16;
const FORMAT_VERSION = 1;

export interface ProfileColumn {
  readonly name: string;
  readonly summary: ColumnSummary;
  /** Interior reference-quantile bin edges (numeric columns; empty for others). */
  readonly edges: Float64Array;
}

export interface ReferenceProfile {
  /** The dataset the profile was fitted from. */
  readonly source: { uri: string; sha256: string; bytes: number; rows: number; format: DatasetFormat };
  readonly bins: number;
  readonly columns: ProfileColumn[];
}

/** A profile as loaded from its artifact. */
export interface LoadedProfile {
  readonly uri: string;
  readonly sha256: string;
  readonly bytes: number;
  readonly profile: ReferenceProfile;
}

export function isProfileUri(uri: string): boolean {
  return uri.replace(/[?#].*$/, '').toLowerCase().endsWith(PROFILE_EXTENSION);
}

/** Summarises every column of a dataset (sorting numeric columns in place: the dataset is consumed). */
export function profileFromDataset(dataset: Dataset, bins: number): ReferenceProfile {
  const columns = dataset.columns.map((column): ProfileColumn => {
    const summary = summariseColumn(column);
    const edges = summary.kind === 'numeric' && summary.sorted.values.length > 0 ? quantileEdges(summary.sorted.values, bins) : new Float64Array(0);
    return { name: column.name, summary, edges };
  });
  return {
    source: { uri: canonicalUri(dataset.uri), sha256: dataset.sha256, bytes: dataset.bytes, rows: dataset.rows, format: dataset.format },
    bins,
    columns,
  };
}

export interface FitProfileInput {
  /** The training data: a path, file:// or s3:// URI of a CSV, TSV, JSON Lines or Parquet file. */
  readonly data: string;
  /** Column kinds, ignored columns and bins come from the policy (defaults otherwise). */
  readonly policy?: unknown;
  readonly format?: DatasetFormat;
}

export async function fitProfile(input: FitProfileInput): Promise<ReferenceProfile> {
  const policy = parseDriftPolicy(input.policy);
  const dataset = await readDataset(input.data, {
    kinds: declaredKinds(policy),
    include: (name) => !isIgnored(policy, name),
    ...(input.format ? { format: input.format } : {}),
  });
  if (dataset.rows === 0) throw new DriftDataError('empty', input.data, `${input.data} has a header but no rows: a reference needs data`);
  return profileFromDataset(dataset, policy.bins);
}

// ---- encoding ---------------------------------------------------------------------------------

type ColumnHeader =
  | {
      name: string;
      kind: 'numeric';
      missing: number;
      count: number;
      edges: number[];
      /** 'values': `count` float64 at `offset`; 'runs': `distinct` float64 at `offset`, then `distinct` u32 at `countsOffset`. */
      encoding: 'values' | 'runs';
      offset: number;
      distinct?: number;
      countsOffset?: number;
    }
  | { name: string; kind: 'binary'; missing: number; zeros: number; ones: number }
  | { name: string; kind: 'categorical'; missing: number; counts: Array<[string, number]> };

interface ProfileHeader {
  format: 'driftline-drift-profile';
  version: number;
  source: ReferenceProfile['source'];
  bins: number;
  columns: ColumnHeader[];
}

const align8 = (n: number): number => Math.ceil(n / 8) * 8;

export function encodeProfile(profile: ReferenceProfile): Buffer {
  const parts: Uint8Array[] = [];
  let bodyLength = 0;
  const append = (bytes: Uint8Array): number => {
    const offset = bodyLength;
    parts.push(bytes);
    bodyLength += bytes.length;
    const pad = align8(bodyLength) - bodyLength;
    if (pad) {
      parts.push(new Uint8Array(pad));
      bodyLength += pad;
    }
    return offset;
  };
  const columns = profile.columns.map((column): ColumnHeader => {
    const s = column.summary;
    if (s.kind === 'binary') return { name: column.name, kind: 'binary', missing: s.missing, zeros: s.zeros, ones: s.ones };
    if (s.kind === 'categorical') return { name: column.name, kind: 'categorical', missing: s.missing, counts: [...s.counts.entries()] };
    const values = s.sorted.values;
    const edges = Array.from(column.edges);
    const base = { name: column.name, kind: 'numeric' as const, missing: s.sorted.missing, count: values.length, edges };
    const runs = distinctRuns(values);
    if (runs && runs.values.length * 12 < values.length * 8) {
      const offset = append(bytesOf(runs.values));
      const countsOffset = append(bytesOf(runs.counts));
      return { ...base, encoding: 'runs', offset, distinct: runs.values.length, countsOffset };
    }
    return { ...base, encoding: 'values', offset: append(bytesOf(values)) };
  });
  const header: ProfileHeader = { format: 'driftline-drift-profile', version: FORMAT_VERSION, source: profile.source, bins: profile.bins, columns };
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const preamble = Buffer.alloc(PREAMBLE);
  MAGIC.copy(preamble, 0);
  preamble.writeUInt32LE(json.length, 8);
  const headerPad = new Uint8Array(align8(PREAMBLE + json.length) - PREAMBLE - json.length);
  return Buffer.concat([preamble, json, headerPad, ...parts]);
}

export function decodeProfile(bytes: Buffer, uri: string): ReferenceProfile {
  const bad = (why: string): DriftDataError => new DriftDataError('bad-profile', uri, `${uri} is not a usable drift profile: ${why}`);
  if (bytes.length < PREAMBLE || !bytes.subarray(0, 8).equals(MAGIC)) throw bad('it does not start with the profile signature');
  const headerLength = bytes.readUInt32LE(8);
  if (PREAMBLE + headerLength > bytes.length) throw bad('it is truncated');
  let header: ProfileHeader;
  try {
    header = JSON.parse(bytes.toString('utf8', PREAMBLE, PREAMBLE + headerLength)) as ProfileHeader;
  } catch {
    throw bad('its header is not valid JSON');
  }
  if (header.format !== 'driftline-drift-profile' || header.version !== FORMAT_VERSION) {
    throw bad(`it is version ${String(header.version)}, this Driftline reads version ${FORMAT_VERSION}`);
  }
  const bodyStart = align8(PREAMBLE + headerLength);
  // Typed-array views need 8-byte alignment of the absolute offset; a copy fixes a misaligned buffer.
  const aligned = (bytes.byteOffset + bodyStart) % 8 === 0 ? bytes : Buffer.from(bytes);
  const view = <T extends Float64Array | Uint32Array>(Kind: { new (buffer: ArrayBufferLike, offset: number, length: number): T; BYTES_PER_ELEMENT: number }, offset: number, length: number): T => {
    const start = bodyStart + offset;
    if (start + length * Kind.BYTES_PER_ELEMENT > aligned.length) throw bad('it is truncated');
    return new Kind(aligned.buffer, aligned.byteOffset + start, length);
  };
  const columns = header.columns.map((column): ProfileColumn => {
    if (column.kind === 'binary') return { name: column.name, summary: { kind: 'binary', zeros: column.zeros, ones: column.ones, missing: column.missing }, edges: new Float64Array(0) };
    if (column.kind === 'categorical') {
      return { name: column.name, summary: { kind: 'categorical', counts: new Map(column.counts), missing: column.missing }, edges: new Float64Array(0) };
    }
    let values: Float64Array;
    if (column.encoding === 'values') values = view(Float64Array, column.offset, column.count);
    else {
      const distinct = view(Float64Array, column.offset, column.distinct ?? 0);
      const counts = view(Uint32Array, column.countsOffset ?? 0, column.distinct ?? 0);
      values = new Float64Array(column.count);
      let at = 0;
      for (let i = 0; i < distinct.length; i++) {
        const n = counts[i] as number;
        if (at + n > values.length) throw bad(`column "${column.name}" has more values than it declares`);
        values.fill(distinct[i] as number, at, at + n);
        at += n;
      }
      if (at !== values.length) throw bad(`column "${column.name}" has fewer values than it declares`);
    }
    return { name: column.name, summary: { kind: 'numeric', sorted: { values, missing: column.missing } }, edges: Float64Array.from(column.edges) };
  });
  return { source: header.source, bins: header.bins, columns };
}

function bytesOf(array: Float64Array | Uint32Array): Uint8Array {
  return new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
}

/** Distinct values and their counts of a sorted array, or undefined once they stop paying off. */
function distinctRuns(sorted: Float64Array): { values: Float64Array; counts: Uint32Array } | undefined {
  const limit = Math.floor((sorted.length * 8) / 12);
  const values: number[] = [];
  const counts: number[] = [];
  for (let i = 0; i < sorted.length; ) {
    const value = sorted[i] as number;
    let j = i + 1;
    // Object.is keeps -0 and 0 apart, so the decoded bytes are the encoded ones.
    while (j < sorted.length && Object.is(sorted[j], value)) j++;
    values.push(value);
    counts.push(j - i);
    if (values.length > limit) return undefined;
    i = j;
  }
  return { values: Float64Array.from(values), counts: Uint32Array.from(counts) };
}

// ---- storing and loading ----------------------------------------------------------------------

/**
 * Stores a profile. `out` ending in `.dlprof` is the exact destination (path, file:// or s3://);
 * anything else is an artifact store root (a directory or s3:// prefix), where the profile lands
 * content-addressed as `<root>/sha256/ab/<sha256>.dlprof`.
 */
export async function storeProfile(profile: ReferenceProfile, out: string): Promise<ArtifactFingerprint> {
  const bytes = encodeProfile(profile);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  if (isProfileUri(out)) {
    await writeObject(out, bytes, 'application/octet-stream');
    return { uri: out.includes('://') ? out : pathToFileURL(resolve(out)).href, sha256, bytes: bytes.length };
  }
  const scratch = await mkdtemp(join(tmpdir(), 'driftline-profile-'));
  try {
    const path = join(scratch, `reference${PROFILE_EXTENSION}`);
    await writeFile(path, bytes);
    return await createArtifactStore(out).put(path);
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/** Fits a profile from the training data and stores it (see storeProfile for `out`). */
export async function fitAndStoreProfile(input: FitProfileInput & { out: string }): Promise<ArtifactFingerprint & { rows: number; columns: Array<{ name: string; kind: ColumnKind }> }> {
  const profile = await fitProfile(input);
  const stored = await storeProfile(profile, input.out);
  return { ...stored, rows: profile.source.rows, columns: profile.columns.map((c) => ({ name: c.name, kind: c.summary.kind })) };
}

const CONTENT_ADDRESSED = /([0-9a-f]{64})\.dlprof$/;
const cache = new Map<string, Promise<LoadedProfile>>();
const CACHE_ENTRIES = 2;

/**
 * Loads a profile by URI. A content-addressed profile (its name is its sha256) is checked against
 * that hash and kept in memory (the last two), so a worker checking window after window reads it
 * once; any other URI is read every time, since its content may have been replaced.
 */
export function loadProfile(uri: string): Promise<LoadedProfile> {
  const addressed = CONTENT_ADDRESSED.exec(uri)?.[1];
  if (!addressed) return readProfile(uri, undefined);
  const hit = cache.get(uri);
  if (hit) {
    cache.delete(uri);
    cache.set(uri, hit); // most recently used last
    return hit;
  }
  const loading = readProfile(uri, addressed);
  cache.set(uri, loading);
  loading.catch(() => cache.delete(uri));
  while (cache.size > CACHE_ENTRIES) cache.delete(cache.keys().next().value as string);
  return loading;
}

async function readProfile(uri: string, expectedSha256: string | undefined): Promise<LoadedProfile> {
  let source;
  try {
    source = await openStream(uri);
  } catch (error) {
    if (error instanceof DatasetNotFound) throw new DriftDataError('not-found', uri, error.message, { cause: error });
    if (error instanceof RangeError) throw new DriftDataError('unsupported', uri, error.message, { cause: error });
    throw new DriftDataError('unreachable', uri, `${uri} could not be read: ${(error as Error).message}`, { cause: error });
  }
  const chunks: Buffer[] = [];
  const hash = createHash('sha256');
  try {
    for await (const chunk of source) {
      hash.update(chunk as Buffer);
      chunks.push(chunk as Buffer);
    }
  } catch (error) {
    throw new DriftDataError('unreachable', uri, `${uri} could not be read: ${(error as Error).message}`, { cause: error });
  }
  const bytes = Buffer.concat(chunks);
  const sha256 = hash.digest('hex');
  if (expectedSha256 && sha256 !== expectedSha256) {
    throw new DriftDataError('bad-profile', uri, `${uri} is damaged: its sha256 is ${sha256}, but its name says ${expectedSha256}`);
  }
  return { uri, sha256, bytes: bytes.length, profile: decodeProfile(bytes, uri) };
}

/** The reference columns a policy asks for, checked against what the profile was fitted with. */
export function profileColumnsFor(profile: ReferenceProfile, policy: DriftPolicy, uri: string): ProfileColumn[] {
  const kinds = declaredKinds(policy);
  return profile.columns.filter((column) => {
    if (isIgnored(policy, column.name)) return false;
    const declared = kinds[column.name];
    if (declared && declared !== column.summary.kind) {
      throw new DriftDataError(
        'mixed-types',
        uri,
        `${uri}: the policy declares column "${column.name}" ${declared}, but the profile was fitted with it ${column.summary.kind}; fit the profile again with this policy`,
        { column: column.name },
      );
    }
    return true;
  });
}
