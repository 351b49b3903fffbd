/**
 * Ed25519 signatures over approval statements, verified in pure JavaScript so the compliance gate's
 * update validator can run them deterministically inside the workflow sandbox (no Node built-ins, no
 * Buffer, no randomness: verification needs none). Keys and signatures travel as standard base64.
 *
 * What an approver signs is `approvalMessage(statement)`: a short, line-oriented UTF-8 text naming
 * the gate (its workflow id), the model, the version, the evidence bundle's sha256, the decision, the
 * approver, the role they act in and their comment. Every string is JSON-quoted, so no field can
 * smuggle a newline or impersonate another field.
 */
import * as ed from '@noble/ed25519';
import { sha512 } from '@noble/hashes/sha2.js';

ed.hashes.sha512 = sha512;

export const APPROVAL_MESSAGE_HEADER = 'driftline approval statement v1';

export interface ApprovalStatement {
  /** Workflow id of the compliance gate. */
  gate: string;
  model: string;
  version: number;
  evidenceBundleSha256: string;
  decision: 'approved' | 'rejected';
  approver: string;
  role: string;
  comment: string;
}

/** The exact text an approver signs (its UTF-8 bytes). */
export function approvalMessage(statement: ApprovalStatement): string {
  return [
    APPROVAL_MESSAGE_HEADER,
    `gate: ${JSON.stringify(statement.gate)}`,
    `model: ${JSON.stringify(statement.model)}`,
    `version: ${String(statement.version)}`,
    `evidence-bundle-sha256: ${statement.evidenceBundleSha256}`,
    `decision: ${statement.decision}`,
    `approver: ${JSON.stringify(statement.approver)}`,
    `role: ${JSON.stringify(statement.role)}`,
    `comment: ${JSON.stringify(statement.comment)}`,
    '',
  ].join('\n');
}

export function approvalMessageBytes(statement: ApprovalStatement): Uint8Array {
  return utf8(approvalMessage(statement));
}

/** True when `signature` (base64, 64 bytes) is `publicKey`'s (base64, 32 bytes) Ed25519 signature of the statement. */
export function verifyApproval(statement: ApprovalStatement, signature: string, publicKey: string): boolean {
  const sig = decodeBase64(signature);
  const key = decodeBase64(publicKey);
  if (!sig || sig.length !== 64 || !key || key.length !== 32) return false;
  try {
    // RFC 8032 strict verification: non-canonical encodings and small-order keys are refused.
    return ed.verify(sig, approvalMessageBytes(statement), key, { zip215: false });
  } catch {
    return false;
  }
}

/** Signs with a raw 32-byte Ed25519 secret key (tests and tools; the CLI signs with node:crypto). */
export function signApproval(statement: ApprovalStatement, secretKey: Uint8Array): string {
  return encodeBase64(ed.sign(approvalMessageBytes(statement), secretKey));
}

/** Public key (base64) of a raw 32-byte Ed25519 secret key. */
export function publicKeyOf(secretKey: Uint8Array): string {
  return encodeBase64(ed.getPublicKey(secretKey));
}

/** A well-formed Ed25519 public key: base64 of 32 bytes that decode to a curve point. */
export function isEd25519PublicKey(text: string): boolean {
  const bytes = decodeBase64(text);
  if (!bytes || bytes.length !== 32) return false;
  try {
    ed.Point.fromBytes(bytes, false);
    return true;
  } catch {
    return false;
  }
}

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const LOOKUP: Record<string, number> = Object.fromEntries([...ALPHABET].map((c, i) => [c, i]));

/** Standard base64 with padding; null when the text is not canonical base64. */
export function decodeBase64(text: string): Uint8Array | null {
  if (typeof text !== 'string' || text.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) return null;
  const padding = text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0;
  const out = new Uint8Array((text.length / 4) * 3 - padding);
  let o = 0;
  for (let i = 0; i < text.length; i += 4) {
    const a = LOOKUP[text[i]!]!;
    const b = LOOKUP[text[i + 1]!]!;
    const c = text[i + 2] === '=' ? 0 : LOOKUP[text[i + 2]!]!;
    const d = text[i + 3] === '=' ? 0 : LOOKUP[text[i + 3]!]!;
    const n = (a << 18) | (b << 12) | (c << 6) | d;
    if (o < out.length) out[o++] = (n >> 16) & 0xff;
    if (o < out.length) out[o++] = (n >> 8) & 0xff;
    if (o < out.length) out[o++] = n & 0xff;
  }
  // Canonical only: re-encoding must give the same text (no stray bits in the padding).
  return encodeBase64(out) === text ? out : null;
}

export function encodeBase64(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.length; i += 3) {
    const a = bytes[i]!;
    const b = i + 1 < bytes.length ? bytes[i + 1]! : 0;
    const c = i + 2 < bytes.length ? bytes[i + 2]! : 0;
    const n = (a << 16) | (b << 8) | c;
    out += ALPHABET[(n >> 18) & 63]! + ALPHABET[(n >> 12) & 63]!;
    out += i + 1 < bytes.length ? ALPHABET[(n >> 6) & 63]! : '=';
    out += i + 2 < bytes.length ? ALPHABET[n & 63]! : '=';
  }
  return out;
}

/** UTF-8 bytes of a string, without relying on TextEncoder being present in the sandbox. */
export function utf8(text: string): Uint8Array {
  const out: number[] = [];
  for (const char of text) {
    const cp = char.codePointAt(0)!;
    if (cp < 0x80) out.push(cp);
    else if (cp < 0x800) out.push(0xc0 | (cp >> 6), 0x80 | (cp & 63));
    else if (cp < 0x10000) out.push(0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 63), 0x80 | (cp & 63));
    else out.push(0xf0 | (cp >> 18), 0x80 | ((cp >> 12) & 63), 0x80 | ((cp >> 6) & 63), 0x80 | (cp & 63));
  }
  return Uint8Array.from(out);
}
