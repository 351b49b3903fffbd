/**
 * Encrypted payloads: the AES-256-GCM codec (key ids, rotation, tampering), the codec server's
 * protocol (token, CORS), and a real run: a worker and a client with the codec on the real dev
 * server, whose raw history the real Temporal CLI shows without plaintext, and decoded through
 * `driftline codec-server` for a holder of the token.
 */
import { Client, Connection } from '@temporalio/client';
import type { Payload } from '@temporalio/common';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, inject, it } from 'vitest';
import { AesGcmPayloadCodec, CodecError, generateCodecKey, handleCodecRequest, parseKeyring, type Keyring } from '../core/payload-codec.ts';
import { encodeBase64, utf8 } from '../core/signatures.ts';
import { startCodecServer } from '../scripts/cli/compliance.ts';
import { temporalAddress, uniqueId, withWorker } from './helpers/env.ts';

const run = promisify(execFile);
const json = (value: unknown): Payload => ({ metadata: { encoding: utf8('json/plain') }, data: utf8(JSON.stringify(value)) });
const text = (bytes: Uint8Array | null | undefined) => new TextDecoder().decode(bytes ?? new Uint8Array());
const k1 = generateCodecKey();
const k2 = generateCodecKey();
const ringV1: Keyring = { current: 'k1', keys: { k1 } };
const ringV2: Keyring = { current: 'k2', keys: { k1, k2 } };
const TOKEN = 'test-codec-token-0123456789';

describe('AES-256-GCM payload codec', () => {
  it('encrypts every payload under the current key id and decodes after rotation', async () => {
    const before = new AesGcmPayloadCodec(ringV1);
    const [sealed] = await before.encode([json({ applicant: 'Ada Lovelace', income: 91000 })]);
    expect(text(sealed!.metadata!.encoding)).toBe('binary/encrypted');
    expect(text(sealed!.metadata!['encryption-key-id'])).toBe('k1');
    expect(text(sealed!.data)).not.toContain('Ada');
    const [again] = await before.encode([json({ applicant: 'Ada Lovelace', income: 91000 })]);
    expect(encodeBase64(again!.data!)).not.toBe(encodeBase64(sealed!.data!)); // fresh IV each time

    const after = new AesGcmPayloadCodec(ringV2);
    const [opened] = await after.decode([sealed!]);
    expect(JSON.parse(text(opened!.data))).toEqual({ applicant: 'Ada Lovelace', income: 91000 });
    expect(text(opened!.metadata!.encoding)).toBe('json/plain');
    const [fresh] = await after.encode([json('x')]);
    expect(text(fresh!.metadata!['encryption-key-id'])).toBe('k2');
    // a ring without k2 cannot read what k2 wrote, and says which key is missing
    await expect(before.decode([fresh!])).rejects.toThrow('This payload was encrypted with key "k2", which is not in the keyring (keys: k1)');
    // unencrypted payloads (written before encryption was on) pass through
    expect(await after.decode([json(1)])).toEqual([json(1)]);
  });

  it('refuses altered ciphertext and a key id swapped in the metadata', async () => {
    const codec = new AesGcmPayloadCodec(ringV2);
    const [sealed] = await codec.encode([json({ secret: true })]);
    const flipped = Uint8Array.from(sealed!.data!);
    flipped[20] = flipped[20]! ^ 1;
    await expect(codec.decode([{ ...sealed!, data: flipped }])).rejects.toThrow(CodecError);
    await expect(codec.decode([{ ...sealed!, metadata: { ...sealed!.metadata, 'encryption-key-id': utf8('k1') } }])).rejects.toThrow(/does not authenticate with key "k1"/);
  });

  it('validates the keyring with the field at fault', () => {
    expect(() => parseKeyring('{"current":"k3","keys":{"k1":"' + k1 + '"}}', 'DRIFTLINE_CODEC_KEYS')).toThrow('DRIFTLINE_CODEC_KEYS: current: the current key id must be one of the keys');
    expect(() => parseKeyring('{"current":"k1","keys":{"k1":"c2hvcnQ="}}', 'keys.json')).toThrow('keys.json: keys.k1: must be base64 of 32 random bytes (openssl rand -base64 32)');
    expect(() => parseKeyring('{', 'keys.json')).toThrow(/^keys\.json is not JSON/);
  });
});

describe('codec server protocol', () => {
  const options = { codec: new AesGcmPayloadCodec(ringV2), token: TOKEN, allowedOrigins: ['http://127.0.0.1:8233'] };
  const body = async (payloads: Payload[]) => JSON.stringify({ payloads: payloads.map((p) => ({ metadata: Object.fromEntries(Object.entries(p.metadata!).map(([k, v]) => [k, encodeBase64(v!)])), data: encodeBase64(p.data!) })) });

  it('decodes for a holder of the token only, with CORS for the UI origin', async () => {
    const [sealed] = await options.codec.encode([json({ applicant: 'Ada' })]);
    const request = { method: 'POST', path: '/decode', headers: { origin: 'http://127.0.0.1:8233' }, body: await body([sealed!]) };
    expect((await handleCodecRequest(request, options)).status).toBe(401);
    expect((await handleCodecRequest({ ...request, headers: { authorization: 'Bearer wrong-token-wrong-token' } }, options)).status).toBe(401);
    for (const authorised of [
      { ...request, headers: { ...request.headers, authorization: `Bearer ${TOKEN}` } },
      { ...request, path: `/t/${TOKEN}/decode` },
    ]) {
      const reply = await handleCodecRequest(authorised, options);
      expect(reply.status).toBe(200);
      expect(reply.headers['access-control-allow-origin']).toBe('http://127.0.0.1:8233');
      const decoded = JSON.parse(reply.body) as { payloads: Array<{ data: string }> };
      expect(JSON.parse(Buffer.from(decoded.payloads[0]!.data, 'base64').toString('utf8'))).toEqual({ applicant: 'Ada' });
    }
    const preflight = await handleCodecRequest({ method: 'OPTIONS', path: '/decode', headers: { origin: 'http://127.0.0.1:8233' }, body: '' }, options);
    expect(preflight).toMatchObject({ status: 204, headers: { 'access-control-allow-headers': 'content-type, x-namespace, authorization' } });
    const foreign = await handleCodecRequest({ ...request, path: `/t/${TOKEN}/decode`, headers: { origin: 'https://evil.example' } }, options);
    expect(foreign.headers['access-control-allow-origin']).toBeUndefined();
    expect((await handleCodecRequest({ ...request, path: '/elsewhere' }, options)).status).toBe(404);
    expect((await handleCodecRequest({ ...request, path: `/t/${TOKEN}/decode`, body: '{}' }, options)).status).toBe(400);
  });
});

describe('encrypted workflow payloads on the real server', () => {
  it('keeps plaintext out of the history; the codec server shows it to a token holder', async () => {
    const codec = new AesGcmPayloadCodec(ringV1);
    const secret = { applicant: 'Ada Lovelace', income: 91377 };
    const connection = await Connection.connect({ address: temporalAddress() });
    const server = await startCodecServer({ host: '127.0.0.1', port: 0, token: TOKEN, allowOrigin: ['http://127.0.0.1:8233'], ...keysFileFor(ringV2) });
    try {
      const workflowId = uniqueId('codec');
      await withWorker(
        {
          workflowsPath: fileURLToPath(new URL('./fixtures/compliance/codec/workflows.ts', import.meta.url)),
          activities: { seal: async (value: string) => `sealed: ${value}` },
          dataConverter: { payloadCodecs: [codec] },
        },
        async (taskQueue) => {
          const client = new Client({ connection, namespace: inject('temporalNamespace'), dataConverter: { payloadCodecs: [codec] } });
          const result = await client.workflow.execute('keepSecret', { taskQueue, workflowId, args: [secret] });
          expect(result).toBe('sealed: Ada Lovelace earns 91377');
        },
      );
      const cli = inject('temporalCliPath');
      const show = (...extra: string[]) =>
        run(cli, ['workflow', 'show', '--workflow-id', workflowId, '--address', temporalAddress(), '--namespace', inject('temporalNamespace'), '--output', 'json', ...extra], { maxBuffer: 16 * 1024 * 1024 });
      const raw = (await show()).stdout;
      expect(raw).toContain('encryption-key-id');
      expect(raw).toContain(Buffer.from('binary/encrypted').toString('base64'));
      for (const plain of ['Ada Lovelace', '91377', Buffer.from('Ada Lovelace').toString('base64').slice(0, 12), 'sealed:']) expect(raw).not.toContain(plain);
      // after rotation, the codec server (keyring k1 + k2) decodes history written under k1
      const decoded = payloadTexts((await show('--codec-endpoint', `http://127.0.0.1:${server.port}/t/${TOKEN}`)).stdout);
      expect(decoded).toContain(JSON.stringify(secret));
      expect(decoded).toContain('"sealed: Ada Lovelace earns 91377"');
      expect(payloadTexts(raw).some((t) => t.includes('Ada'))).toBe(false);
      const refused = await show('--codec-endpoint', `http://127.0.0.1:${server.port}/t/not-the-token-at-all`).then(
        (r) => r.stdout,
        (e: { stdout?: string; stderr?: string }) => `${e.stdout ?? ''}${e.stderr ?? ''}`,
      );
      expect(refused).not.toContain('Ada Lovelace');
      expect(payloadTexts(refused.slice(refused.indexOf('{'))).some((t) => t.includes('Ada'))).toBe(false);
    } finally {
      await server.close();
      await connection.close();
    }
  });
});

function keysFileFor(ring: Keyring): { keysFile: string } {
  const file = join(mkdtempSync(join(tmpdir(), 'driftline-codec-')), 'keys.json');
  writeFileSync(file, JSON.stringify(ring));
  return { keysFile: file };
}

/** The data of every payload in `temporal workflow show --output json`, base64-decoded. */
function payloadTexts(output: string): string[] {
  const texts: string[] = [];
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) node.forEach(walk);
    else if (node && typeof node === 'object') {
      const record = node as Record<string, unknown>;
      if (record.metadata && typeof record.data === 'string') texts.push(Buffer.from(record.data, 'base64').toString('utf8'));
      Object.values(record).forEach(walk);
    }
  };
  try {
    walk(JSON.parse(output));
  } catch {
    return [];
  }
  return texts;
}
