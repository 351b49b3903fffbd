/**
 * The audit log is a hash chain: each event stores the sha256 of the previous event, and its own
 * hash covers its sequence number, time, actor, action, subject and payload in canonical JSON
 * (RFC 8785, via `canonicalize`). Editing, deleting or reordering any event breaks the chain at
 * that event; exporting the head (seq + hash) lets it be anchored outside the database.
 */
import canonicalize from 'canonicalize';
import { createHash } from 'node:crypto';
import type { Transaction } from 'kysely';
import { GENESIS_HASH, type AuditAction, type AuditEvent } from '../../core/registry.ts';
import type { DriftlineDatabase, JsonValue } from '../db/schema.ts';

export interface EventContent {
  seq: number;
  at: string;
  actor: string;
  action: AuditAction;
  model: string | null;
  version: number | null;
  payload: Record<string, unknown>;
  prevHash: string;
}

export function canonicalJson(value: unknown): string {
  const text = canonicalize(value);
  if (text === undefined) throw new TypeError('value has no JSON form');
  return text;
}

export function hashEvent(event: EventContent): string {
  const { seq, at, actor, action, model, version, payload, prevHash } = event;
  return createHash('sha256')
    .update(canonicalJson({ seq, at, actor, action, model, version, payload, prevHash }))
    .digest('hex');
}

/**
 * Appends one event inside the caller's transaction. The head row is locked first, so appends are
 * numbered and linked strictly in commit order, and an aborted transaction leaves no trace.
 */
export async function appendAuditEvent(
  trx: Transaction<DriftlineDatabase>,
  event: { actor: string; action: AuditAction; model: string | null; version: number | null; payload: Record<string, unknown>; at: Date },
): Promise<AuditEvent> {
  const head = await trx
    .selectFrom('audit_head')
    .select(['seq', 'hash'])
    .where('id', '=', 'head')
    .forUpdate()
    .executeTakeFirstOrThrow();
  // Round-trip the payload through JSON so what we hash is exactly what jsonb will give back.
  const payload = JSON.parse(JSON.stringify(event.payload)) as Record<string, unknown>;
  const content: EventContent = {
    seq: Number(head.seq) + 1,
    at: event.at.toISOString(),
    actor: event.actor,
    action: event.action,
    model: event.model,
    version: event.version,
    payload,
    prevHash: head.hash,
  };
  const hash = hashEvent(content);
  await trx
    .insertInto('audit_log')
    .values({
      seq: content.seq,
      at: event.at,
      actor: content.actor,
      action: content.action,
      model_name: content.model,
      version: content.version,
      payload: JSON.stringify(payload as JsonValue),
      prev_hash: content.prevHash,
      hash,
    })
    .execute();
  await trx.updateTable('audit_head').set({ seq: content.seq, hash }).where('id', '=', 'head').execute();
  return { ...content, hash };
}

export type ChainProblemKind = 'altered' | 'deleted' | 'reordered' | 'rewritten' | 'truncated' | 'state-mismatch';

export interface ChainProblem {
  /** The first event that can no longer be trusted. */
  seq: number;
  kind: ChainProblemKind;
  detail: string;
}

/** Walks events in seq order and reports the first break; feed it every event, oldest first. */
export class ChainVerifier {
  private expectedSeq = 1;
  private prevHash = GENESIS_HASH;
  private readonly seenHashes = new Map<string, number>();
  problem: ChainProblem | undefined;
  count = 0;

  accept(event: AuditEvent): boolean {
    if (this.problem) return false;
    this.count++;
    if (event.seq !== this.expectedSeq) {
      this.problem =
        event.seq > this.expectedSeq
          ? { seq: this.expectedSeq, kind: 'deleted', detail: `events ${rangeText(this.expectedSeq, event.seq - 1)} are missing` }
          : { seq: event.seq, kind: 'reordered', detail: `event ${event.seq} appears after event ${this.expectedSeq - 1}` };
      return false;
    }
    const recomputed = hashEvent(event);
    if (event.prevHash !== this.prevHash) {
      const claimed = this.seenHashes.get(event.prevHash);
      if (claimed !== undefined) {
        this.problem = { seq: event.seq, kind: 'reordered', detail: `event ${event.seq} was written to follow event ${claimed}, not ${event.seq - 1}` };
      } else if (recomputed === event.hash && event.seq > 1) {
        this.problem = {
          seq: event.seq - 1,
          kind: 'rewritten',
          detail: `event ${event.seq - 1} was changed and re-hashed: event ${event.seq} still links to its original hash`,
        };
      } else {
        this.problem = { seq: event.seq, kind: 'altered', detail: `event ${event.seq} does not link to the event before it` };
      }
      return false;
    }
    if (recomputed !== event.hash) {
      this.problem = { seq: event.seq, kind: 'altered', detail: `the content of event ${event.seq} no longer matches its hash` };
      return false;
    }
    this.seenHashes.set(event.hash, event.seq);
    this.prevHash = event.hash;
    this.expectedSeq++;
    return true;
  }

  /** The head every event so far leads to. */
  get head(): { seq: number; hash: string } {
    return { seq: this.expectedSeq - 1, hash: this.prevHash };
  }

  /** Checks the walk's end against a recorded head (the database's, or an exported anchor). */
  checkHead(expected: { seq: number; hash: string }, source: string): boolean {
    if (this.problem) return false;
    const head = this.head;
    if (expected.seq > head.seq) {
      this.problem = {
        seq: head.seq + 1,
        kind: 'truncated',
        detail: `${source} records ${expected.seq} events but only ${head.seq} remain: events ${rangeText(head.seq + 1, expected.seq)} were deleted`,
      };
      return false;
    }
    // An older anchor must name an event the walk passed through, with the same hash.
    const matches = expected.seq === 0 || this.seenHashes.get(expected.hash) === expected.seq;
    if (!matches) {
      this.problem = { seq: expected.seq, kind: 'altered', detail: `event ${expected.seq} does not match the hash in ${source}` };
      return false;
    }
    return true;
  }
}

function rangeText(from: number, to: number): string {
  return from === to ? `${from}` : `${from}-${to}`;
}
