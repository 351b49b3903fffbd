/**
 * The artifact store port: models, predictions and reports stored by content. An object's key is
 * its sha256, so the same bytes are stored once however often a retry or a re-run puts them, and a
 * reference (URI + sha256) in a workflow payload always names exactly one content.
 */
import { HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { copyFile, mkdir, rename, stat } from 'node:fs/promises';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { ArtifactFingerprint } from '../../core/artifacts.ts';
import { openStream } from '../data/source.ts';
import { parseLocation, s3Client } from '../data/object-store.ts';

export interface ArtifactStore {
  /** Stores a local file by content; returns its URI in the store. */
  put(localPath: string): Promise<ArtifactFingerprint>;
  /** Makes an artifact available as a local file (a no-op for file:// URIs), returning its path. */
  localCopy(uri: string, scratchDir: string): Promise<string>;
  /** Size and sha256 of any artifact URI, streamed. */
  stat(uri: string): Promise<ArtifactFingerprint>;
}

export async function sha256OfFile(path: string): Promise<{ sha256: string; bytes: number }> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of createReadStream(path)) {
    hash.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
  }
  return { sha256: hash.digest('hex'), bytes };
}

/** `DRIFTLINE_ARTIFACTS` (a directory or an s3:// prefix), else `<home>/artifacts`. */
export function createArtifactStore(root: string): ArtifactStore {
  if (root.startsWith('s3://')) return new S3ArtifactStore(root.replace(/\/+$/, ''));
  return new FileArtifactStore(root.startsWith('file://') ? fileURLToPath(root) : resolve(root));
}

abstract class BaseStore implements ArtifactStore {
  abstract put(localPath: string): Promise<ArtifactFingerprint>;

  async localCopy(uri: string, scratchDir: string): Promise<string> {
    if (uri.startsWith('file://')) return fileURLToPath(uri);
    const { key } = parseLocation(uri) as { key: string };
    const target = join(scratchDir, basename(key));
    await mkdir(scratchDir, { recursive: true });
    const partial = `${target}.partial`;
    await pipeline(await openStream(uri), createWriteStream(partial));
    await rename(partial, target);
    return target;
  }

  async stat(uri: string): Promise<ArtifactFingerprint> {
    const hash = createHash('sha256');
    let bytes = 0;
    for await (const chunk of await openStream(uri)) {
      hash.update(chunk as Buffer);
      bytes += (chunk as Buffer).length;
    }
    return { uri, sha256: hash.digest('hex'), bytes };
  }
}

class FileArtifactStore extends BaseStore {
  constructor(private readonly root: string) {
    super();
  }

  async put(localPath: string): Promise<ArtifactFingerprint> {
    const { sha256, bytes } = await sha256OfFile(localPath);
    const target = join(this.root, 'sha256', sha256.slice(0, 2), `${sha256}${extname(localPath)}`);
    const exists = await stat(target).then(
      (s) => s.size === bytes,
      () => false,
    );
    if (!exists) {
      await mkdir(dirname(target), { recursive: true });
      const partial = `${target}.${process.pid}.partial`;
      await copyFile(localPath, partial);
      await rename(partial, target); // atomic: readers see the whole file or none
    }
    return { uri: pathToFileURL(target).href, sha256, bytes };
  }
}

class S3ArtifactStore extends BaseStore {
  constructor(private readonly prefix: string) {
    super();
  }

  async put(localPath: string): Promise<ArtifactFingerprint> {
    const { sha256, bytes } = await sha256OfFile(localPath);
    const uri = `${this.prefix}/sha256/${sha256.slice(0, 2)}/${sha256}${extname(localPath)}`;
    const { bucket, key } = parseLocation(uri) as { bucket: string; key: string };
    const present = await s3Client()
      .send(new HeadObjectCommand({ Bucket: bucket, Key: key }))
      .then(
        (head) => head.ContentLength === bytes,
        () => false,
      );
    if (!present) {
      await s3Client().send(
        new PutObjectCommand({ Bucket: bucket, Key: key, Body: createReadStream(localPath), ContentLength: bytes, Metadata: { sha256 } }),
      );
    }
    return { uri, sha256, bytes };
  }
}
