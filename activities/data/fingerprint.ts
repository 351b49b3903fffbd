/**
 * Content fingerprints of datasets and other artifacts, streamed so a file of any size hashes in
 * constant memory. Runs on the training queue: hashing gigabytes is heavy work.
 */
import { ApplicationFailure, Context } from '@temporalio/activity';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { artifactUriSchema, type ArtifactFingerprint } from '../../core/artifacts.ts';
import { INVALID_INPUT } from '../../core/names.ts';

const HEARTBEAT_EVERY_BYTES = 64 * 1024 * 1024;

export async function fingerprintArtifact(input: { uri: string }): Promise<ArtifactFingerprint> {
  const parsed = artifactUriSchema.safeParse(input?.uri);
  if (!parsed.success) {
    throw ApplicationFailure.nonRetryable(`Artifact URI ${JSON.stringify(input?.uri)} ${parsed.error.issues[0]?.message}`, INVALID_INPUT);
  }
  const uri = parsed.data;
  if (!uri.startsWith('file://')) {
    throw ApplicationFailure.nonRetryable(`No artifact adapter for ${uri} yet (file:// only)`, INVALID_INPUT);
  }
  const path = fileURLToPath(uri);
  try {
    const info = await stat(path);
    if (!info.isFile()) throw ApplicationFailure.nonRetryable(`${uri} is not a file`, INVALID_INPUT);
  } catch (error) {
    if (error instanceof ApplicationFailure) throw error;
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw ApplicationFailure.nonRetryable(`${uri} does not exist`, INVALID_INPUT);
    }
    throw error; // permissions, I/O: may be transient, let Temporal retry
  }

  const hash = createHash('sha256');
  let bytes = 0;
  let nextHeartbeat = HEARTBEAT_EVERY_BYTES;
  const context = activityContext();
  for await (const chunk of createReadStream(path)) {
    hash.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
    if (context && bytes >= nextHeartbeat) {
      context.heartbeat({ bytes });
      nextHeartbeat += HEARTBEAT_EVERY_BYTES;
    }
  }
  return { uri, sha256: hash.digest('hex'), bytes };
}

/** The activity context when running as an activity; undefined when called directly (CLI, tests). */
function activityContext(): Context | undefined {
  try {
    return Context.current();
  } catch {
    return undefined;
  }
}
