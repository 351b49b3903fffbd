/**
 * The model registry on a real database (PGlite or PostgreSQL, whichever the run targets):
 * lineage round-trips, idempotent retries, the 50-way registration race, alias history, bad input,
 * transactions that fail half-way, and tampering found by the hash chain.
 */
import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { connectDatabase } from '../activities/db/database.ts';
import { PostgresModelRegistry } from '../activities/registry/postgres-registry.ts';
import { RegistryError } from '../activities/registry/port.ts';
import { hashEvent } from '../activities/registry/audit-chain.ts';
import type { RegisterVersionInput } from '../core/registry.ts';
import { lineage, sha } from './helpers/lineage.ts';
import { isolatedDatabase, type IsolatedDatabase } from './helpers/databases.ts';

function registration(model: string, key: string, extra: Partial<RegisterVersionInput> = {}): RegisterVersionInput {
  return {
    model,
    owner: 'risk-ml',
    lineage: lineage(),
    actor: 'ci@github',
    idempotencyKey: key,
    workflow: { workflowId: `ct:${model}:3f2c1d9`, runId: `run-${key}` },
    ...extra,
  };
}

let iso: IsolatedDatabase;
let registry: PostgresModelRegistry;

beforeEach(async () => {
  iso = await isolatedDatabase();
  registry = new PostgresModelRegistry(iso.db);
});
afterEach(async () => {
  await iso?.dispose();
});

async function countRows(table: 'audit_log' | 'model_versions' | 'models' | 'aliases' | 'alias_moves'): Promise<number> {
  const { rows } = await sql<{ n: string }>`select count(*) as n from ${sql.table(table)}`.execute(iso.db);
  return Number(rows[0]!.n);
}

describe('model registry', () => {
  it('round-trips the whole lineage of a version', async () => {
    const written = await registry.registerVersion(registration('fraud-detector', 'k1'));
    expect(written.created).toBe(true);
    expect(written.value.version).toBe(1);
    const details = await registry.getVersion({ model: 'fraud-detector', selector: { kind: 'version', version: 1 } });
    expect(details.lineage).toEqual(lineage());
    expect(details.workflow).toEqual({ workflowId: 'ct:fraud-detector:3f2c1d9', runId: 'run-k1' });
    expect(details.status).toBe('registered');
    expect(details.createdBy).toBe('ci@github');

    const rejected = await registry.registerVersion(
      registration('fraud-detector', 'k2', { status: 'rejected', statusReason: 'f1 0.81 is below the gate 0.85' }),
    );
    expect(rejected.value).toMatchObject({ version: 2, status: 'rejected', statusReason: 'f1 0.81 is below the gate 0.85' });
    const latest = await registry.getVersion({ model: 'fraud-detector', selector: { kind: 'latest' } });
    expect(latest.version).toBe(2);

    const events = await registry.auditLog({ model: 'fraud-detector' });
    expect(events.map((e) => e.action)).toEqual(['model.created', 'version.registered', 'version.registered']);
    expect((await registry.verifyAudit()).ok).toBe(true);
  });

  it('returns the same version to a retried registration', async () => {
    const first = await registry.registerVersion(registration('churn', 'same-key'));
    const retry = await registry.registerVersion(registration('churn', 'same-key'));
    expect(retry.created).toBe(false);
    expect(retry.value).toEqual(first.value);
    // and concurrently: ten copies of one new request produce one version
    const burst = await Promise.all(Array.from({ length: 10 }, () => registry.registerVersion(registration('churn', 'burst-key'))));
    expect(new Set(burst.map((w) => w.value.version))).toEqual(new Set([2]));
    expect(burst.filter((w) => w.created)).toHaveLength(1);
    expect(await countRows('model_versions')).toBe(2);
    expect(await countRows('audit_log')).toBe(3);
  });

  it('numbers 50 concurrent registrations from many connections 1..50, each exactly once', async () => {
    // five independent pools stand in for five worker processes
    const pools = Array.from({ length: 5 }, () => new PostgresModelRegistry(connectDatabase(iso.url, { maxConnections: 10 })));
    try {
      const results = await Promise.all(
        Array.from({ length: 50 }, (_, i) => pools[i % pools.length]!.registerVersion(registration('race-model', `race-${i}`))),
      );
      const versions = results.map((r) => r.value.version).sort((a, b) => a - b);
      expect(versions).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
      expect(results.every((r) => r.created)).toBe(true);
      const events = await registry.auditLog({ model: 'race-model' });
      expect(events.filter((e) => e.action === 'version.registered')).toHaveLength(50);
      expect(events.filter((e) => e.action === 'model.created')).toHaveLength(1);
      const verification = await registry.verifyAudit();
      expect(verification).toMatchObject({ ok: true, events: 51 });
    } finally {
      await Promise.all(pools.map((p) => (p as unknown as { db: { destroy(): Promise<void> } }).db.destroy()));
    }
  });

  it('keeps the full history of alias moves', async () => {
    for (const key of ['a', 'b', 'c']) await registry.registerVersion(registration('ranker', key));
    await registry.moveAlias({ model: 'ranker', alias: 'champion', version: 1, actor: 'alice', reason: 'first model', idempotencyKey: 'm1' });
    await registry.moveAlias({ model: 'ranker', alias: 'champion', version: 2, actor: 'ct-pipeline', reason: 'beats v1 on holdout', idempotencyKey: 'm2' });
    const retried = await registry.moveAlias({ model: 'ranker', alias: 'champion', version: 2, actor: 'ct-pipeline', reason: 'beats v1 on holdout', idempotencyKey: 'm2' });
    expect(retried.created).toBe(false);
    await registry.moveAlias({ model: 'ranker', alias: 'champion', version: 1, actor: 'bob', reason: 'rollback: v2 error rate', idempotencyKey: 'm3' });
    await registry.moveAlias({ model: 'ranker', alias: 'shadow-eu', version: 3, actor: 'carol', reason: 'user-defined alias', idempotencyKey: 'm4' });

    const v1 = await registry.getVersion({ model: 'ranker', selector: { kind: 'alias', alias: 'champion' } });
    expect(v1.version).toBe(1);
    expect(v1.aliases).toEqual(['champion']);
    expect(v1.aliasHistory.map((m) => [m.fromVersion, m.toVersion, m.actor, m.reason])).toEqual([
      [null, 1, 'alice', 'first model'],
      [1, 2, 'ct-pipeline', 'beats v1 on holdout'],
      [2, 1, 'bob', 'rollback: v2 error rate'],
    ]);
    expect((await registry.listModels()).find((m) => m.name === 'ranker')?.aliases).toEqual({ champion: 1, 'shadow-eu': 3 });
    expect(await countRows('alias_moves')).toBe(4);
  });

  it('attaches evidence and records approvals once', async () => {
    await registry.registerVersion(registration('credit', 'k'));
    const evidence = { model: 'credit', version: 1, kind: 'bias-audit', uri: 's3://acme-ml/reports/bias.json', sha256: sha('bias'), actor: 'compliance-gate' };
    expect((await registry.attachEvidence(evidence)).created).toBe(true);
    expect((await registry.attachEvidence(evidence)).created).toBe(false);
    const approval = {
      model: 'credit',
      version: 1,
      decision: 'approved' as const,
      approver: 'alice',
      role: 'risk-officer',
      evidenceBundleSha256: sha('bundle'),
      signature: 'ed25519:abc',
      idempotencyKey: 'approval-1',
    };
    expect((await registry.recordApproval(approval)).created).toBe(true);
    expect((await registry.recordApproval(approval)).created).toBe(false);
    const details = await registry.getVersion({ model: 'credit', selector: { kind: 'version', version: 1 } });
    expect(details.evidence).toHaveLength(1);
    expect(details.approvals).toMatchObject([{ decision: 'approved', approver: 'alice', role: 'risk-officer', signed: true }]);
    expect((await registry.verifyAudit()).ok).toBe(true);
  });

  it('refuses bad input with a clear error and writes nothing', async () => {
    await registry.registerVersion(registration('fraud', 'k'));
    await registry.registerVersion(registration('other-model', 'k'));
    const before = await countRows('audit_log');
    const cases: Array<[() => Promise<unknown>, RegExp]> = [
      [() => registry.registerVersion(registration('Fraud Detector!', 'x')), /Invalid registration: model: a model name is/],
      [() => registry.registerVersion(registration('fraud', 'x', { lineage: lineage({ artifact: { uri: 's3://b/k', sha256: 'abc' } }) })), /lineage.artifact.sha256: must be 64 lowercase hex digits/],
      [() => registry.registerVersion(registration('fraud', 'x', { lineage: lineage({ metrics: { accuracy: Number.NaN } }) })), /lineage.metrics.accuracy/],
      [() => registry.moveAlias({ model: 'fraud', alias: 'champion', version: 7, actor: 'a', reason: 'r', idempotencyKey: 'x' }), /Model "fraud" has no version 7/],
      [() => registry.moveAlias({ model: 'ghost', alias: 'champion', version: 1, actor: 'a', reason: 'r', idempotencyKey: 'y' }), /There is no model named "ghost"/],
      [() => registry.moveAlias({ model: 'fraud', alias: 'Champion!', version: 1, actor: 'a', reason: 'r', idempotencyKey: 'z' }), /an alias is/],
      [() => registry.getVersion({ model: 'fraud', selector: { kind: 'alias', alias: 'production' } }), /has no alias "production"/],
    ];
    for (const [call, message] of cases) {
      const error = await call().then(() => undefined, (e: unknown) => e);
      expect(error).toBeInstanceOf(RegistryError);
      expect((error as Error).message).toMatch(message);
    }
    expect(await countRows('audit_log')).toBe(before);
    expect(await countRows('aliases')).toBe(0);
    expect(await countRows('model_versions')).toBe(2);
  });

  it('leaves nothing behind when a transaction fails half-way', async () => {
    // A real database fault at the last step of the transaction: the audit insert is refused.
    await sql`create function refuse_boom() returns trigger language plpgsql as $$
      begin
        if new.model_name = 'boom' then raise exception 'disk full (simulated)'; end if;
        return new;
      end $$`.execute(iso.db);
    await sql`create trigger refuse_boom before insert on audit_log for each row execute function refuse_boom()`.execute(iso.db);
    await expect(registry.registerVersion(registration('boom', 'k'))).rejects.toThrow(/disk full/);
    const { rows } = await sql<{ n: string }>`select count(*) as n from models where name = 'boom'`.execute(iso.db);
    expect(Number(rows[0]!.n)).toBe(0);
    expect(await countRows('model_versions')).toBe(0);
    expect(await countRows('audit_log')).toBe(0);
    await sql`drop trigger refuse_boom on audit_log`.execute(iso.db);
    // the failed attempt burned no version number
    expect((await registry.registerVersion(registration('boom', 'k'))).value.version).toBe(1);
    expect((await registry.verifyAudit()).ok).toBe(true);
  });
});

describe('audit verification finds tampering done with plain SQL', () => {
  /** model.created #1, version.registered #2 and #3, alias.moved #4, evidence.attached #5 */
  async function history(): Promise<void> {
    await registry.registerVersion(registration('fraud', 'k1'));
    await registry.registerVersion(registration('fraud', 'k2'));
    await registry.moveAlias({ model: 'fraud', alias: 'champion', version: 2, actor: 'alice', reason: 'better f1', idempotencyKey: 'm' });
    await registry.attachEvidence({ model: 'fraud', version: 2, kind: 'bias-audit', uri: 's3://r/bias.json', sha256: sha('bias'), actor: 'gate' });
    expect((await registry.verifyAudit()).ok).toBe(true);
  }

  it('an edited event', async () => {
    await history();
    await sql`update audit_log set payload = jsonb_set(payload, '{reason}', '"nobody asked"') where seq = 4`.execute(iso.db);
    expect(await registry.verifyAudit()).toMatchObject({ ok: false, problem: { seq: 4, kind: 'altered' } });
  });

  it('a deleted event', async () => {
    await history();
    await sql`delete from audit_log where seq = 2`.execute(iso.db);
    expect(await registry.verifyAudit()).toMatchObject({ ok: false, problem: { seq: 2, kind: 'deleted' } });
  });

  it('deleted events at the end of the log', async () => {
    await history();
    await sql`delete from audit_log where seq >= 4`.execute(iso.db);
    expect(await registry.verifyAudit()).toMatchObject({ ok: false, problem: { seq: 4, kind: 'truncated' } });
  });

  it('reordered events', async () => {
    await history();
    await sql`update audit_log set seq = 1000 where seq = 2`.execute(iso.db);
    await sql`update audit_log set seq = 2 where seq = 3`.execute(iso.db);
    await sql`update audit_log set seq = 3 where seq = 1000`.execute(iso.db);
    const result = await registry.verifyAudit();
    expect(result.ok).toBe(false);
    expect(result.problem?.seq).toBe(2);
    expect(['reordered', 'altered']).toContain(result.problem?.kind);
  });

  it('an event rewritten together with its own hash', async () => {
    await history();
    const { rows } = await sql<{ seq: string; at: Date; actor: string; action: string; model_name: string; version: number; payload: Record<string, unknown>; prev_hash: string }>`
      select * from audit_log where seq = 3`.execute(iso.db);
    const row = rows[0]!;
    const payload = { ...row.payload, createdBy: 'mallory' };
    const forged = hashEvent({
      seq: 3, at: row.at.toISOString(), actor: row.actor, action: row.action as never, model: row.model_name, version: row.version, payload, prevHash: row.prev_hash,
    });
    await sql`update audit_log set payload = ${JSON.stringify(payload)}::jsonb, hash = ${forged} where seq = 3`.execute(iso.db);
    expect(await registry.verifyAudit()).toMatchObject({ ok: false, problem: { seq: 3, kind: 'rewritten' } });
  });

  it('a registry table edited behind the log', async () => {
    await history();
    await sql`update model_versions set metrics = '{"accuracy": 0.99}' where model_name = 'fraud' and version = 1`.execute(iso.db);
    const result = await registry.verifyAudit();
    expect(result).toMatchObject({ ok: false, problem: { seq: 2, kind: 'state-mismatch' } });
    expect(result.problem?.detail).toContain('model_versions fraud@1 no longer matches event 2 (lineage changed)');
  });

  it('an alias pointed elsewhere behind the log', async () => {
    await history();
    await sql`update aliases set version = 1 where alias = 'champion'`.execute(iso.db);
    expect(await registry.verifyAudit()).toMatchObject({ ok: false, problem: { seq: 4, kind: 'state-mismatch' } });
  });

  it('a whole chain rebuilt from scratch is caught by an exported anchor', async () => {
    await history();
    const anchor = (await registry.verifyAudit()).head;
    await sql`delete from evidence`.execute(iso.db);
    await sql`delete from audit_log where seq = 5`.execute(iso.db);
    const fourth = await sql<{ hash: string }>`select hash from audit_log where seq = 4`.execute(iso.db);
    await sql`update audit_head set seq = 4, hash = ${fourth.rows[0]!.hash}`.execute(iso.db);
    expect((await registry.verifyAudit()).ok).toBe(true); // consistent without outside reference
    expect(await registry.verifyAudit({ anchor: { ...anchor, source: 'the exported head' } })).toMatchObject({
      ok: false,
      problem: { seq: 5, kind: 'truncated' },
    });
  });
});
