/**
 * Reads and writes whole small objects (reports, anchors, manifests) by URI: `file://` or a plain
 * path, and `s3://bucket/key` through the AWS SDK. The S3 endpoint follows the SDK's own settings
 * (AWS_REGION, AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_S3, credentials chain); a custom endpoint such
 * as moto or MinIO is addressed path-style.
 */
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

type Location = { kind: 'file'; path: string } | { kind: 's3'; bucket: string; key: string };

export function parseLocation(uri: string): Location {
  if (uri.startsWith('s3://')) {
    const rest = uri.slice('s3://'.length);
    const slash = rest.indexOf('/');
    if (slash <= 0 || slash === rest.length - 1) throw new RangeError(`"${uri}" is not an s3://bucket/key URI.`);
    return { kind: 's3', bucket: rest.slice(0, slash), key: rest.slice(slash + 1) };
  }
  if (uri.startsWith('file://')) return { kind: 'file', path: fileURLToPath(uri) };
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(uri)) throw new RangeError(`"${uri}": only file:// and s3:// locations are supported.`);
  return { kind: 'file', path: resolve(uri) };
}

let s3: S3Client | undefined;
export function s3Client(): S3Client {
  const endpoint = process.env.AWS_ENDPOINT_URL_S3 ?? process.env.AWS_ENDPOINT_URL;
  s3 ??= new S3Client({ forcePathStyle: Boolean(endpoint), ...(process.env.AWS_REGION ? {} : { region: 'us-east-1' }) });
  return s3;
}

export async function writeObject(uri: string, body: string | Uint8Array, contentType = 'application/json'): Promise<void> {
  const location = parseLocation(uri);
  if (location.kind === 'file') {
    await mkdir(dirname(location.path), { recursive: true });
    await writeFile(location.path, body);
    return;
  }
  await s3Client().send(new PutObjectCommand({ Bucket: location.bucket, Key: location.key, Body: body, ContentType: contentType }));
}

export async function readObject(uri: string): Promise<Uint8Array> {
  const location = parseLocation(uri);
  if (location.kind === 'file') return new Uint8Array(await readFile(location.path));
  const response = await s3Client().send(new GetObjectCommand({ Bucket: location.bucket, Key: location.key }));
  if (!response.Body) throw new Error(`${uri} has no body`);
  return response.Body.transformToByteArray();
}
