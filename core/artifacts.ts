/**
 * Artifacts are addressed by URI and identified by content hash. Workflow payloads carry these
 * references, never the bytes (Temporal payloads stop at 2 MB).
 */
import { z } from 'zod';

export const SHA256_PATTERN = /^[0-9a-f]{64}$/;

export const sha256Schema = z.string().regex(SHA256_PATTERN, 'must be 64 lowercase hex digits (a sha256)');

export const artifactUriSchema = z
  .string()
  .url()
  .refine((value) => value.startsWith('file://') || value.startsWith('s3://'), {
    message: 'must be a file:// or s3:// URI',
  });

export interface ArtifactFingerprint {
  uri: string;
  sha256: string;
  bytes: number;
}
