/**
 * Opens a dataset or artifact by URI as a byte stream: `file://` from disk, `s3://` through the
 * AWS SDK. Missing objects become a `DatasetNotFound` error (final: retrying will not create them);
 * anything else (network, throttling) is left to Temporal's retries.
 */
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { type Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { parseLocation, s3Client } from './object-store.ts';

export class DatasetNotFound extends Error {
  override readonly name = 'DatasetNotFound';
}

export async function openStream(uri: string): Promise<Readable> {
  const location = parseLocation(uri);
  if (location.kind === 'file') {
    const path = uri.startsWith('file://') ? fileURLToPath(uri) : location.path;
    try {
      const info = await stat(path);
      if (!info.isFile()) throw new DatasetNotFound(`${uri} is not a file`);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new DatasetNotFound(`${uri} does not exist`);
      if ((error as NodeJS.ErrnoException).code === 'EACCES') throw new DatasetNotFound(`${uri} is not readable (permission denied)`);
      throw error;
    }
    return createReadStream(path);
  }
  try {
    const response = await s3Client().send(new GetObjectCommand({ Bucket: location.bucket, Key: location.key }));
    if (!response.Body) throw new DatasetNotFound(`${uri} has no content`);
    return response.Body as Readable;
  } catch (error) {
    const name = (error as { name?: string }).name;
    if (name === 'NoSuchKey' || name === 'NoSuchBucket' || name === 'NotFound') throw new DatasetNotFound(`${uri} does not exist`);
    if (name === 'AccessDenied' || name === 'Forbidden') throw new DatasetNotFound(`${uri} is not readable with the worker's AWS credentials (access denied)`);
    throw error;
  }
}
