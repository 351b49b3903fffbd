/**
 * Encrypted payloads: an AES-256-GCM PayloadCodec for clients and workers, with key ids and
 * rotation, and the request handler of `driftline codec-server` (Temporal's codec-server protocol,
 * so the Temporal UI and CLI can show decoded payloads to people who hold the server's token).
 *
 * Wire format of an encrypted payload: metadata `encoding: binary/encrypted`, `encryption-key-id:
 * <id>`, `encryption-cipher: AES-256-GCM`; data = 12-byte random IV ‖ ciphertext ‖ 16-byte tag of the
 * original Payload (protobuf), with the key id as additional authenticated data. Rotation: new
 * payloads use the keyring's `current` key; older keys stay in the ring to decode what they wrote.
 *
 * Uses WebCrypto (global in Node 20), so it needs no Node import; it is never run inside workflows.
 */
import type { Payload, PayloadCodec } from '@temporalio/common';
import proto from '@temporalio/proto';
import { z } from 'zod';
import { decodeBase64, encodeBase64, utf8 } from './signatures.ts';

export const ENCRYPTED_ENCODING = 'binary/encrypted';
export const KEY_ID_METADATA = 'encryption-key-id';
export const CIPHER_METADATA = 'encryption-cipher';
const CIPHER = 'AES-256-GCM';
const IV_BYTES = 12;

const keyIdSchema = z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'a key id is 1-64 letters, digits, ".", "_" or "-"');

/** `DRIFTLINE_CODEC_KEYS`: `{ "current": "2026-11", "keys": { "2026-11": "<base64 32 bytes>", "2026-05": "…" } }`. */
export const keyringSchema = z
  .object({
    current: keyIdSchema,
    keys: z.record(
      keyIdSchema,
      z.string().refine((k) => decodeBase64(k)?.length === 32, { message: 'must be base64 of 32 random bytes (openssl rand -base64 32)' }),
    ),
  })
  .strict()
  .refine((ring) => ring.current in ring.keys, { message: 'the current key id must be one of the keys', path: ['current'] });
export type Keyring = z.infer<typeof keyringSchema>;

export class CodecError extends Error {
  override readonly name = 'CodecError';
}

export class AesGcmPayloadCodec implements PayloadCodec {
  private readonly keys = new Map<string, ReturnType<typeof globalThis.crypto.subtle.importKey>>();
  private readonly current: string;

  constructor(keyring: Keyring) {
    const ring = keyringSchema.parse(keyring);
    this.current = ring.current;
    for (const [id, secret] of Object.entries(ring.keys)) {
      this.keys.set(id, globalThis.crypto.subtle.importKey('raw', decodeBase64(secret)!, 'AES-GCM', false, ['encrypt', 'decrypt']));
    }
  }

  get currentKeyId(): string {
    return this.current;
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    const key = await this.keys.get(this.current)!;
    return Promise.all(
      payloads.map(async (payload) => {
        const plain = proto.temporal.api.common.v1.Payload.encode(payload).finish();
        const iv = globalThis.crypto.getRandomValues(new Uint8Array(IV_BYTES));
        const sealed = new Uint8Array(await globalThis.crypto.subtle.encrypt({ name: 'AES-GCM', iv, additionalData: utf8(this.current) }, key, plain));
        const data = new Uint8Array(IV_BYTES + sealed.length);
        data.set(iv, 0);
        data.set(sealed, IV_BYTES);
        return {
          metadata: { encoding: utf8(ENCRYPTED_ENCODING), [KEY_ID_METADATA]: utf8(this.current), [CIPHER_METADATA]: utf8(CIPHER) },
          data,
        };
      }),
    );
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return Promise.all(
      payloads.map(async (payload) => {
        if (text(payload.metadata?.encoding) !== ENCRYPTED_ENCODING) return payload; // written before encryption was on
        const keyId = text(payload.metadata?.[KEY_ID_METADATA]);
        const key = keyId ? this.keys.get(keyId) : undefined;
        if (!key) throw new CodecError(`This payload was encrypted with key "${keyId ?? '?'}", which is not in the keyring (keys: ${[...this.keys.keys()].join(', ')})`);
        const data = payload.data ?? new Uint8Array();
        if (data.length < IV_BYTES + 16) throw new CodecError('Encrypted payload is truncated');
        let plain: ArrayBuffer;
        try {
          plain = await globalThis.crypto.subtle.decrypt({ name: 'AES-GCM', iv: data.subarray(0, IV_BYTES), additionalData: utf8(keyId!) }, await key, data.subarray(IV_BYTES));
        } catch {
          throw new CodecError(`Encrypted payload does not authenticate with key "${keyId}" (altered, or a different key under the same id)`);
        }
        return proto.temporal.api.common.v1.Payload.decode(new Uint8Array(plain)) as Payload;
      }),
    );
  }
}

function text(bytes: Uint8Array | null | undefined): string | null {
  return bytes ? new TextDecoder().decode(bytes) : null;
}

/** A fresh random key, base64 (for `DRIFTLINE_CODEC_KEYS`). */
export function generateCodecKey(): string {
  return encodeBase64(globalThis.crypto.getRandomValues(new Uint8Array(32)));
}

/** Parses `DRIFTLINE_CODEC_KEYS` (JSON text); a problem names the field. */
export function parseKeyring(json: string, source: string): Keyring {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch (error) {
    throw new CodecError(`${source} is not JSON: ${(error as Error).message}`);
  }
  const parsed = keyringSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new CodecError(`${source}: ${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  return parsed.data;
}

// ---------------------------------------------------------------------------------------------
// Codec server protocol: POST <base>/encode|decode with {"payloads": [{"metadata": {k: b64}, "data": b64}]}.

interface JsonPayload {
  metadata?: Record<string, string>;
  data?: string;
}

export interface CodecHttpRequest {
  method: string;
  path: string;
  headers: Record<string, string | undefined>;
  body: string;
}

export interface CodecHttpResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export interface CodecServerOptions {
  codec: PayloadCodec;
  /** Required in the path (`/t/<token>/decode`) or as `Authorization: Bearer <token>`. */
  token: string;
  /** Origins allowed to call from a browser (the Temporal UI), e.g. http://127.0.0.1:8233. */
  allowedOrigins: string[];
}

/** Handles one codec-server request; pure apart from the codec itself. */
export async function handleCodecRequest(request: CodecHttpRequest, options: CodecServerOptions): Promise<CodecHttpResponse> {
  const origin = request.headers.origin;
  const cors: Record<string, string> =
    origin && (options.allowedOrigins.includes(origin) || options.allowedOrigins.includes('*'))
      ? {
          'access-control-allow-origin': origin,
          'access-control-allow-methods': 'POST, OPTIONS',
          'access-control-allow-headers': 'content-type, x-namespace, authorization',
          'access-control-allow-credentials': 'true',
          vary: 'origin',
        }
      : {};
  const reply = (status: number, body: unknown): CodecHttpResponse => ({
    status,
    headers: { 'content-type': 'application/json', ...cors },
    body: JSON.stringify(body),
  });
  if (request.method === 'OPTIONS') return { status: 204, headers: cors, body: '' };
  const match = /^(?:\/t\/([^/]+))?\/(encode|decode)\/?$/.exec(request.path.split('?')[0]!);
  if (!match) return reply(404, { message: 'not found: POST /encode or /decode (optionally under /t/<token>)' });
  if (request.method !== 'POST') return reply(405, { message: 'use POST' });
  const bearer = /^Bearer (.+)$/i.exec(request.headers.authorization ?? '')?.[1];
  const presented = match[1] ? decodeURIComponent(match[1]) : bearer;
  if (!presented || !constantTimeEqual(presented, options.token)) return reply(401, { message: 'a valid codec-server token is required' });
  let payloads: JsonPayload[];
  try {
    const parsed = JSON.parse(request.body) as { payloads?: unknown };
    if (!Array.isArray(parsed.payloads)) throw new Error('no "payloads" array');
    payloads = parsed.payloads as JsonPayload[];
  } catch (error) {
    return reply(400, { message: `bad request body: ${(error as Error).message}` });
  }
  try {
    const input = payloads.map(fromJson);
    const output = match[2] === 'encode' ? await options.codec.encode(input) : await options.codec.decode(input);
    return reply(200, { payloads: output.map(toJson) });
  } catch (error) {
    return reply(error instanceof CodecError ? 422 : 500, { message: (error as Error).message });
  }
}

function fromJson(p: JsonPayload): Payload {
  const metadata: Record<string, Uint8Array> = {};
  for (const [k, v] of Object.entries(p.metadata ?? {})) metadata[k] = decodeBase64(v) ?? new Uint8Array();
  return { metadata, data: p.data ? (decodeBase64(p.data) ?? new Uint8Array()) : new Uint8Array() };
}

function toJson(p: Payload): JsonPayload {
  const metadata: Record<string, string> = {};
  for (const [k, v] of Object.entries(p.metadata ?? {})) if (v) metadata[k] = encodeBase64(v);
  return { metadata, data: encodeBase64(p.data ?? new Uint8Array()) };
}

function constantTimeEqual(a: string, b: string): boolean {
  const x = utf8(a);
  const y = utf8(b);
  let diff = x.length ^ y.length;
  for (let i = 0; i < Math.max(x.length, y.length); i++) diff |= (x[i] ?? 0) ^ (y[i] ?? 0);
  return diff === 0;
}

/**
 * The codec clients and workers use when encryption is on: `DRIFTLINE_CODEC_KEYS` (keyring JSON) in
 * the given environment, or undefined when it is unset. Wire it as `dataConverter: { payloadCodecs: [codec] }`.
 */
export function codecFromEnvironment(env: Record<string, string | undefined>): AesGcmPayloadCodec | undefined {
  const json = env.DRIFTLINE_CODEC_KEYS?.trim();
  return json ? new AesGcmPayloadCodec(parseKeyring(json, 'DRIFTLINE_CODEC_KEYS')) : undefined;
}

/**
 * The data converter every Driftline client and worker uses: Temporal's default, plus the
 * AES-256-GCM codec when `DRIFTLINE_CODEC_KEYS` is set. One function so that a worker and the
 * CLI can never disagree about whether payloads are encrypted.
 */
export function dataConverterFromEnvironment(env: Record<string, string | undefined>): { payloadCodecs: PayloadCodec[] } | undefined {
  const codec = codecFromEnvironment(env);
  return codec ? { payloadCodecs: [codec] } : undefined;
}
