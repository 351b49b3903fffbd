/**
 * The registry on PostgreSQL (a real server or the embedded one) through Kysely.
 *
 * Concurrency: version numbers come from `models.latest_version`, bumped with an UPDATE that holds
 * the model's row lock until commit, so concurrent registrations get 1..n with no gap and no
 * duplicate. Audit appends lock the single `audit_head` row last, after any model lock, so lock
 * order is always model → head and transactions cannot deadlock.
 */
import { type z } from 'zod';
import type { Selectable, Transaction } from 'kysely';
import {
  attachEvidenceSchema,
  moveAliasSchema,
  recordApprovalSchema,
  registerVersionSchema,
  recordRunSchema,
  recordDriftCheckSchema,
  type DriftCheckRecord,
  type PipelineRunRecord,
  type AliasMoveRecord,
  type ApprovalRecord,
  type AuditAction,
  type AuditEvent,
  type EvidenceRecord,
  type Lineage,
  type ModelReference,
  type ModelSummary,
  type ModelVersionDetails,
  type ModelVersionRecord,
} from '../../core/registry.ts';
import type { DriftlineDb } from '../db/database.ts';
import type { DriftlineDatabase, DriftReportsTable, PipelineRunsTable, ModelVersionsTable, AliasMovesTable, EvidenceTable, ApprovalsTable, AuditLogTable } from '../db/schema.ts';
import { appendAuditEvent, canonicalJson, ChainVerifier } from './audit-chain.ts';
import { RegistryError, type AuditVerification, type ModelRegistry, type Written } from './port.ts';

type Trx = Transaction<DriftlineDatabase>;

const UNIQUE_VIOLATION = '23505';

export class PostgresModelRegistry implements ModelRegistry {
  constructor(private readonly db: DriftlineDb) {}

  async registerVersion(input: unknown): Promise<Written<ModelVersionRecord>> {
    const request = parse(registerVersionSchema, input, 'registration');
    return this.writeOnce(
      () => this.findVersionByKey(request.model, request.idempotencyKey),
      async (trx) => {
        const at = new Date();
        const createdModel = await trx
          .insertInto('models')
          .values({
            name: request.model,
            owner: request.owner ?? request.actor,
            description: request.description ?? '',
            created_by: request.actor,
          })
          .onConflict((oc) => oc.column('name').doNothing())
          .returning('name')
          .executeTakeFirst();
        const { latest_version: version } = await trx
          .updateTable('models')
          .set((eb) => ({ latest_version: eb('latest_version', '+', 1) }))
          .where('name', '=', request.model)
          .returning('latest_version')
          .executeTakeFirstOrThrow();
        const row = versionRow(request, version, at);
        await trx.insertInto('model_versions').values(row).execute();
        const record = toVersionRecord({ ...row, parameters: request.lineage.parameters, metrics: request.lineage.metrics } as never);
        if (createdModel) {
          await audit(trx, request.actor, 'model.created', request.model, null, at, {
            owner: request.owner ?? request.actor,
            description: request.description ?? '',
          });
        }
        await audit(trx, request.actor, 'version.registered', request.model, version, at, versionPayload(record, request.idempotencyKey));
        return record;
      },
    );
  }

  async moveAlias(input: unknown): Promise<Written<AliasMoveRecord>> {
    const request = parse(moveAliasSchema, input, 'alias move');
    return this.writeOnce(
      async () => {
        const row = await this.db.selectFrom('alias_moves').selectAll().where('idempotency_key', '=', request.idempotencyKey).executeTakeFirst();
        return row ? toAliasMove(row) : undefined;
      },
      async (trx) => {
        await lockModel(trx, request.model);
        await requireVersion(trx, request.model, request.version);
        const at = new Date();
        const current = await trx
          .selectFrom('aliases')
          .select('version')
          .where('model_name', '=', request.model)
          .where('alias', '=', request.alias)
          .executeTakeFirst();
        const move = {
          model_name: request.model,
          alias: request.alias,
          from_version: current?.version ?? null,
          to_version: request.version,
          actor: request.actor,
          reason: request.reason,
          workflow_id: request.workflow?.workflowId ?? null,
          run_id: request.workflow?.runId ?? null,
          idempotency_key: request.idempotencyKey,
          moved_at: at,
        };
        await trx
          .insertInto('aliases')
          .values({ model_name: request.model, alias: request.alias, version: request.version, updated_at: at })
          .onConflict((oc) => oc.columns(['model_name', 'alias']).doUpdateSet({ version: request.version, updated_at: at }))
          .execute();
        await trx.insertInto('alias_moves').values(move).execute();
        await audit(trx, request.actor, 'alias.moved', request.model, request.version, at, {
          alias: request.alias,
          fromVersion: move.from_version,
          toVersion: move.to_version,
          reason: request.reason,
          workflowId: move.workflow_id,
          runId: move.run_id,
          idempotencyKey: request.idempotencyKey,
        });
        return toAliasMove(move);
      },
    );
  }

  async attachEvidence(input: unknown): Promise<Written<EvidenceRecord>> {
    const request = parse(attachEvidenceSchema, input, 'evidence');
    const find = () =>
      this.db
        .selectFrom('evidence')
        .selectAll()
        .where('model_name', '=', request.model)
        .where('version', '=', request.version)
        .where('kind', '=', request.kind)
        .where('sha256', '=', request.sha256)
        .executeTakeFirst();
    return this.writeOnce(
      async () => {
        const row = await find();
        return row ? toEvidence(row) : undefined;
      },
      async (trx) => {
        await requireVersion(trx, request.model, request.version);
        const at = new Date();
        const row = {
          model_name: request.model,
          version: request.version,
          kind: request.kind,
          uri: request.uri,
          sha256: request.sha256,
          attached_by: request.actor,
          workflow_id: request.workflowId,
          attached_at: at,
        };
        await trx.insertInto('evidence').values(row).execute();
        await audit(trx, request.actor, 'evidence.attached', request.model, request.version, at, {
          kind: request.kind,
          uri: request.uri,
          sha256: request.sha256,
          workflowId: request.workflowId,
        });
        return toEvidence(row);
      },
    );
  }

  async recordApproval(input: unknown): Promise<Written<ApprovalRecord>> {
    const request = parse(recordApprovalSchema, input, 'approval');
    const find = () => this.db.selectFrom('approvals').selectAll().where('idempotency_key', '=', request.idempotencyKey).executeTakeFirst();
    return this.writeOnce(
      async () => {
        const row = await find();
        return row ? toApproval(row) : undefined;
      },
      async (trx) => {
        await requireVersion(trx, request.model, request.version);
        const at = new Date();
        const row = {
          model_name: request.model,
          version: request.version,
          decision: request.decision,
          approver: request.approver,
          role: request.role,
          evidence_bundle_sha256: request.evidenceBundleSha256,
          signature: request.signature,
          comment: request.comment,
          workflow_id: request.workflowId,
          idempotency_key: request.idempotencyKey,
          decided_at: at,
        };
        await trx.insertInto('approvals').values(row).execute();
        await audit(trx, request.approver, 'approval.recorded', request.model, request.version, at, {
          decision: request.decision,
          role: request.role,
          evidenceBundleSha256: request.evidenceBundleSha256,
          signature: request.signature,
          comment: request.comment,
          workflowId: request.workflowId,
          idempotencyKey: request.idempotencyKey,
        });
        return toApproval(row);
      },
    );
  }

  async recordRun(input: unknown): Promise<Written<PipelineRunRecord>> {
    const request = parse(recordRunSchema, input, 'pipeline run');
    const find = () =>
      this.db.selectFrom('pipeline_runs').selectAll().where('workflow_id', '=', request.workflowId).where('run_id', '=', request.runId).executeTakeFirst();
    return this.writeOnce(
      async () => {
        const row = await find();
        return row ? toRun(row) : undefined;
      },
      async (trx) => {
        const at = new Date();
        const row = {
          workflow_id: request.workflowId,
          run_id: request.runId,
          model_name: request.model,
          workflow_type: request.workflowType,
          outcome: request.outcome,
          version: request.version,
          reason: request.reason,
          trigger: request.trigger,
          requested_by: request.requestedBy,
          finished_at: at,
        };
        await trx.insertInto('pipeline_runs').values(row).execute();
        await audit(trx, request.requestedBy, 'run.finished', request.model, request.version, at, {
          workflowType: request.workflowType,
          workflowId: request.workflowId,
          runId: request.runId,
          outcome: request.outcome,
          reason: request.reason,
          trigger: request.trigger,
        });
        return toRun(row);
      },
    );
  }

  async listRuns(model: string, options: { trigger?: string } = {}): Promise<PipelineRunRecord[]> {
    let query = this.db.selectFrom('pipeline_runs').selectAll().where('model_name', '=', model);
    if (options.trigger) query = query.where('trigger', '=', options.trigger);
    const rows = await query.orderBy('finished_at').execute();
    return rows.map(toRun);
  }

  async recordDriftCheck(input: unknown): Promise<Written<DriftCheckRecord>> {
    const request = parse(recordDriftCheckSchema, input, 'drift check');
    const find = () =>
      this.db.selectFrom('drift_reports').selectAll().where('workflow_id', '=', request.workflowId).where('run_id', '=', request.runId).executeTakeFirst();
    return this.writeOnce(
      async () => {
        const row = await find();
        return row ? toDriftCheck(row) : undefined;
      },
      async (trx) => {
        const at = new Date();
        const row = {
          model_name: request.model,
          workflow_id: request.workflowId,
          run_id: request.runId,
          window_uri: request.window.uri,
          window_sha256: request.window.sha256,
          status: request.status,
          drift_share: request.driftShare,
          drifted_columns: JSON.stringify(request.driftedColumns),
          report_uri: request.report?.uri ?? null,
          report_sha256: request.report?.sha256 ?? null,
          reason: request.reason,
          checked_at: at,
        };
        await trx.insertInto('drift_reports').values(row).execute();
        await audit(trx, request.actor, 'drift.checked', request.model, null, at, {
          workflowId: request.workflowId,
          runId: request.runId,
          window: request.window,
          status: request.status,
          driftShare: request.driftShare,
          driftedColumns: request.driftedColumns,
          report: request.report,
          reason: request.reason,
        });
        return toDriftCheck({ ...row, id: '0', drifted_columns: request.driftedColumns });
      },
    );
  }

  async listDriftChecks(model: string): Promise<DriftCheckRecord[]> {
    const rows = await this.db.selectFrom('drift_reports').selectAll().where('model_name', '=', model).orderBy('id').execute();
    return rows.map(toDriftCheck);
  }

  async listModels(): Promise<ModelSummary[]> {
    const models = await this.db.selectFrom('models').selectAll().orderBy('name').execute();
    const aliases = await this.db.selectFrom('aliases').select(['model_name', 'alias', 'version']).execute();
    return models.map((m) => ({
      name: m.name,
      owner: m.owner,
      description: m.description,
      latestVersion: m.latest_version,
      aliases: Object.fromEntries(aliases.filter((a) => a.model_name === m.name).map((a) => [a.alias, a.version])),
      createdAt: m.created_at.toISOString(),
    }));
  }

  async getVersion(reference: ModelReference): Promise<ModelVersionDetails> {
    const model = await this.db.selectFrom('models').select(['name', 'latest_version']).where('name', '=', reference.model).executeTakeFirst();
    if (!model) throw new RegistryError('not-found', `There is no model named "${reference.model}".`);
    let version: number;
    switch (reference.selector.kind) {
      case 'latest':
        if (model.latest_version === 0) throw new RegistryError('not-found', `Model "${reference.model}" has no versions yet.`);
        version = model.latest_version;
        break;
      case 'version':
        version = reference.selector.version;
        break;
      case 'alias': {
        const alias = await this.db
          .selectFrom('aliases')
          .select('version')
          .where('model_name', '=', reference.model)
          .where('alias', '=', reference.selector.alias)
          .executeTakeFirst();
        if (!alias) throw new RegistryError('not-found', `Model "${reference.model}" has no alias "${reference.selector.alias}".`);
        version = alias.version;
        break;
      }
    }
    const row = await this.db.selectFrom('model_versions').selectAll().where('model_name', '=', reference.model).where('version', '=', version).executeTakeFirst();
    if (!row) throw new RegistryError('not-found', `Model "${reference.model}" has no version ${version}.`);
    const [aliases, moves, evidence, approvals] = await Promise.all([
      this.db.selectFrom('aliases').select('alias').where('model_name', '=', reference.model).where('version', '=', version).orderBy('alias').execute(),
      this.db
        .selectFrom('alias_moves')
        .selectAll()
        .where('model_name', '=', reference.model)
        .where((eb) => eb.or([eb('to_version', '=', version), eb('from_version', '=', version)]))
        .orderBy('id')
        .execute(),
      this.db.selectFrom('evidence').selectAll().where('model_name', '=', reference.model).where('version', '=', version).orderBy('id').execute(),
      this.db.selectFrom('approvals').selectAll().where('model_name', '=', reference.model).where('version', '=', version).orderBy('id').execute(),
    ]);
    return {
      ...toVersionRecord(row),
      aliases: aliases.map((a) => a.alias),
      aliasHistory: moves.map(toAliasMove),
      evidence: evidence.map(toEvidence),
      approvals: approvals.map(toApproval),
    };
  }

  async auditLog(options: { model?: string; afterSeq?: number; limit?: number } = {}): Promise<AuditEvent[]> {
    let query = this.db.selectFrom('audit_log').selectAll().orderBy('seq').limit(options.limit ?? 1000);
    if (options.model) query = query.where('model_name', '=', options.model);
    if (options.afterSeq) query = query.where('seq', '>', String(options.afterSeq));
    return (await query.execute()).map(toAuditEvent);
  }

  /**
   * Walks the whole chain (in pages, so any length fits in memory), checks it against the stored
   * head and an optional exported anchor, then checks that the registry's tables still say what
   * their audit events say: an UPDATE behind the registry's back shows up as a mismatch.
   */
  async verifyAudit(options: { anchor?: { seq: number; hash: string; source: string } } = {}): Promise<AuditVerification> {
    const verifier = new ChainVerifier();
    const expectedState = new StateFromLog();
    let after = 0;
    for (;;) {
      const page = await this.db.selectFrom('audit_log').selectAll().where('seq', '>', String(after)).orderBy('seq').limit(2000).execute();
      if (page.length === 0) break;
      for (const row of page) {
        const event = toAuditEvent(row);
        if (!verifier.accept(event)) return this.verdict(verifier);
        expectedState.apply(event);
      }
      after = Number(page.at(-1)!.seq);
    }
    const head = await this.db.selectFrom('audit_head').select(['seq', 'hash']).where('id', '=', 'head').executeTakeFirstOrThrow();
    if (!verifier.checkHead({ seq: Number(head.seq), hash: head.hash }, 'the stored chain head')) return this.verdict(verifier);
    if (options.anchor && !verifier.checkHead(options.anchor, options.anchor.source)) return this.verdict(verifier);
    const mismatch = await expectedState.compareWith(this.db);
    if (mismatch) verifier.problem = mismatch;
    return this.verdict(verifier);
  }

  private verdict(verifier: ChainVerifier): AuditVerification {
    return { ok: !verifier.problem, events: verifier.count, head: verifier.head, problem: verifier.problem ?? null };
  }

  /**
   * The shape of every registry write: the result of an earlier call with the same key if there is
   * one; otherwise the change and its audit event in one transaction. When a concurrent call with
   * the same key commits first, the unique constraint refuses this one and the winner's result is
   * returned, so callers see exactly one write however many times they retry.
   */
  private async writeOnce<T>(find: () => Promise<T | undefined>, write: (trx: Trx) => Promise<T>): Promise<Written<T>> {
    const previous = await find();
    if (previous !== undefined) return { value: previous, created: false };
    try {
      return { value: await this.db.transaction().execute(write), created: true };
    } catch (error) {
      if (isUniqueViolation(error)) {
        const winner = await find();
        if (winner !== undefined) return { value: winner, created: false };
      }
      throw error;
    }
  }

  private async findVersionByKey(model: string, key: string): Promise<ModelVersionRecord | undefined> {
    const row = await this.db.selectFrom('model_versions').selectAll().where('model_name', '=', model).where('idempotency_key', '=', key).executeTakeFirst();
    return row ? toVersionRecord(row) : undefined;
  }
}

/** What the tables must hold, rebuilt from the audit log alone; compared with the tables at the end. */
class StateFromLog {
  private readonly versions = new Map<string, { seq: number; payload: Record<string, unknown> }>();
  private readonly aliases = new Map<string, { seq: number; version: number }>();
  private readonly evidence = new Map<string, number>();
  private readonly approvals = new Map<string, number>();
  private readonly runs = new Map<string, { seq: number; outcome: unknown; reason: unknown }>();

  apply(event: AuditEvent): void {
    const key = `${event.model}@${event.version}`;
    switch (event.action) {
      case 'version.registered':
        this.versions.set(key, { seq: event.seq, payload: event.payload });
        break;
      case 'alias.moved':
        this.aliases.set(`${event.model}#${String(event.payload.alias)}`, { seq: event.seq, version: event.version ?? -1 });
        break;
      case 'evidence.attached':
        this.evidence.set(`${key}/${String(event.payload.kind)}/${String(event.payload.sha256)}`, event.seq);
        break;
      case 'approval.recorded':
        this.approvals.set(String(event.payload.idempotencyKey), event.seq);
        break;
      case 'run.finished':
        this.runs.set(`${String(event.payload.workflowId)}/${String(event.payload.runId)}`, { seq: event.seq, outcome: event.payload.outcome, reason: event.payload.reason });
        break;
      case 'model.created':
        break;
    }
  }

  async compareWith(db: DriftlineDb): Promise<{ seq: number; kind: 'state-mismatch'; detail: string } | undefined> {
    const problems: Array<{ seq: number; kind: 'state-mismatch'; detail: string }> = [];
    const versionRows = await db.selectFrom('model_versions').selectAll().execute();
    const seenVersions = new Set<string>();
    for (const row of versionRows) {
      const key = `${row.model_name}@${row.version}`;
      seenVersions.add(key);
      const logged = this.versions.get(key);
      if (!logged) {
        problems.push({ seq: Number.MAX_SAFE_INTEGER, kind: 'state-mismatch', detail: `model_versions has ${key}, which no audit event registered` });
        continue;
      }
      const current = versionPayload(toVersionRecord(row), row.idempotency_key);
      if (canonicalJson(current) !== canonicalJson(logged.payload)) {
        const fields = Object.keys(current).filter(
          (field) => canonicalJson((current as Record<string, unknown>)[field] ?? null) !== canonicalJson(logged.payload[field] ?? null),
        );
        problems.push({ seq: logged.seq, kind: 'state-mismatch', detail: `model_versions ${key} no longer matches event ${logged.seq} (${fields.join(', ')} changed)` });
      }
    }
    for (const [key, logged] of this.versions) {
      if (!seenVersions.has(key)) problems.push({ seq: logged.seq, kind: 'state-mismatch', detail: `model_versions ${key}, registered by event ${logged.seq}, was deleted` });
    }
    const aliasRows = await db.selectFrom('aliases').select(['model_name', 'alias', 'version']).execute();
    const seenAliases = new Set<string>();
    for (const row of aliasRows) {
      const key = `${row.model_name}#${row.alias}`;
      seenAliases.add(key);
      const logged = this.aliases.get(key);
      if (!logged) problems.push({ seq: Number.MAX_SAFE_INTEGER, kind: 'state-mismatch', detail: `alias ${row.model_name}@${row.alias} was never moved through the registry` });
      else if (logged.version !== row.version) {
        problems.push({ seq: logged.seq, kind: 'state-mismatch', detail: `alias ${row.model_name}@${row.alias} points at version ${row.version}, but event ${logged.seq} moved it to ${logged.version}` });
      }
    }
    for (const [key, logged] of this.aliases) {
      if (!seenAliases.has(key)) problems.push({ seq: logged.seq, kind: 'state-mismatch', detail: `alias ${key.replace('#', '@')}, moved by event ${logged.seq}, was deleted` });
    }
    const evidenceRows = await db.selectFrom('evidence').select(['model_name', 'version', 'kind', 'sha256']).execute();
    for (const row of evidenceRows) {
      const key = `${row.model_name}@${row.version}/${row.kind}/${row.sha256}`;
      if (!this.evidence.has(key)) problems.push({ seq: Number.MAX_SAFE_INTEGER, kind: 'state-mismatch', detail: `evidence ${key} has no audit event` });
      this.evidence.delete(key);
    }
    for (const [key, seq] of this.evidence) problems.push({ seq, kind: 'state-mismatch', detail: `evidence ${key}, attached by event ${seq}, was deleted` });
    const approvalRows = await db.selectFrom('approvals').select(['idempotency_key']).execute();
    for (const row of approvalRows) {
      if (!this.approvals.has(row.idempotency_key)) problems.push({ seq: Number.MAX_SAFE_INTEGER, kind: 'state-mismatch', detail: `approval ${row.idempotency_key} has no audit event` });
      this.approvals.delete(row.idempotency_key);
    }
    for (const [key, seq] of this.approvals) problems.push({ seq, kind: 'state-mismatch', detail: `approval ${key}, recorded by event ${seq}, was deleted` });
    const runRows = await db.selectFrom('pipeline_runs').select(['workflow_id', 'run_id', 'outcome', 'reason']).execute();
    for (const row of runRows) {
      const key = `${row.workflow_id}/${row.run_id}`;
      const logged = this.runs.get(key);
      if (!logged) problems.push({ seq: Number.MAX_SAFE_INTEGER, kind: 'state-mismatch', detail: `pipeline run ${key} has no audit event` });
      else if (logged.outcome !== row.outcome || logged.reason !== row.reason) {
        problems.push({ seq: logged.seq, kind: 'state-mismatch', detail: `pipeline run ${key} no longer matches event ${logged.seq} (outcome or reason changed)` });
      }
      this.runs.delete(key);
    }
    for (const [key, logged] of this.runs) problems.push({ seq: logged.seq, kind: 'state-mismatch', detail: `pipeline run ${key}, recorded by event ${logged.seq}, was deleted` });
    problems.sort((a, b) => a.seq - b.seq);
    return problems[0];
  }
}

function parse<T>(schema: z.ZodType<T>, input: unknown, what: string): T {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const path = issue.path.length ? `${issue.path.join('.')}: ` : '';
  throw new RegistryError('invalid', `Invalid ${what}: ${path}${issue.message}`);
}

async function audit(
  trx: Trx,
  actor: string,
  action: AuditAction,
  model: string,
  version: number | null,
  at: Date,
  payload: Record<string, unknown>,
): Promise<void> {
  await appendAuditEvent(trx, { actor, action, model, version, payload, at });
}

async function lockModel(trx: Trx, model: string): Promise<void> {
  const row = await trx.selectFrom('models').select('name').where('name', '=', model).forUpdate().executeTakeFirst();
  if (!row) throw new RegistryError('not-found', `There is no model named "${model}".`);
}

async function requireVersion(trx: Trx, model: string, version: number): Promise<void> {
  const row = await trx.selectFrom('model_versions').select('version').where('model_name', '=', model).where('version', '=', version).executeTakeFirst();
  if (row) return;
  const exists = await trx.selectFrom('models').select('name').where('name', '=', model).executeTakeFirst();
  throw new RegistryError('not-found', exists ? `Model "${model}" has no version ${version}.` : `There is no model named "${model}".`);
}

function versionRow(request: z.infer<typeof registerVersionSchema>, version: number, at: Date) {
  const { lineage } = request;
  return {
    model_name: request.model,
    version,
    idempotency_key: request.idempotencyKey,
    status: request.status,
    status_reason: request.statusReason,
    code_repository: lineage.code.repository,
    code_commit: lineage.code.commit,
    train_data_uri: lineage.trainData.uri,
    train_data_sha256: lineage.trainData.sha256,
    holdout_data_uri: lineage.holdoutData?.uri ?? null,
    holdout_data_sha256: lineage.holdoutData?.sha256 ?? null,
    parameters: JSON.stringify(lineage.parameters),
    metrics: JSON.stringify(lineage.metrics),
    artifact_uri: lineage.artifact.uri,
    artifact_sha256: lineage.artifact.sha256,
    training_backend: lineage.training.backend,
    training_job_id: lineage.training.jobId,
    workflow_id: request.workflow?.workflowId ?? null,
    run_id: request.workflow?.runId ?? null,
    created_by: request.actor,
    created_at: at,
  };
}

/** What a `version.registered` event records, and what verification expects the row to still say. */
function versionPayload(record: ModelVersionRecord, idempotencyKey: string): Record<string, unknown> {
  return JSON.parse(
    JSON.stringify({
      status: record.status,
      statusReason: record.statusReason,
      lineage: record.lineage,
      workflow: record.workflow,
      createdBy: record.createdBy,
      idempotencyKey,
    }),
  ) as Record<string, unknown>;
}

function toVersionRecord(row: Selectable<ModelVersionsTable>): ModelVersionRecord {
  const lineage: Lineage = {
    code: { repository: row.code_repository, commit: row.code_commit },
    trainData: { uri: row.train_data_uri, sha256: row.train_data_sha256 },
    holdoutData: row.holdout_data_uri && row.holdout_data_sha256 ? { uri: row.holdout_data_uri, sha256: row.holdout_data_sha256 } : null,
    parameters: row.parameters as Lineage['parameters'],
    metrics: row.metrics as Lineage['metrics'],
    artifact: { uri: row.artifact_uri, sha256: row.artifact_sha256 },
    training: { backend: row.training_backend, jobId: row.training_job_id },
  };
  return {
    model: row.model_name,
    version: row.version,
    status: row.status,
    statusReason: row.status_reason,
    lineage,
    workflow: row.workflow_id && row.run_id ? { workflowId: row.workflow_id, runId: row.run_id } : null,
    createdBy: row.created_by,
    createdAt: row.created_at.toISOString(),
  };
}

function toAliasMove(row: Omit<Selectable<AliasMovesTable>, 'id' | 'model_name' | 'run_id' | 'idempotency_key'>): AliasMoveRecord {
  return {
    alias: row.alias,
    fromVersion: row.from_version,
    toVersion: row.to_version,
    actor: row.actor,
    reason: row.reason,
    workflowId: row.workflow_id,
    movedAt: row.moved_at.toISOString(),
  };
}

function toEvidence(row: Omit<Selectable<EvidenceTable>, 'id'>): EvidenceRecord {
  return { kind: row.kind, uri: row.uri, sha256: row.sha256, attachedBy: row.attached_by, attachedAt: row.attached_at.toISOString() };
}

function toApproval(row: Omit<Selectable<ApprovalsTable>, 'id'>): ApprovalRecord {
  return {
    decision: row.decision,
    approver: row.approver,
    role: row.role,
    evidenceBundleSha256: row.evidence_bundle_sha256,
    signed: row.signature !== null,
    comment: row.comment,
    decidedAt: row.decided_at.toISOString(),
  };
}

function toRun(row: Selectable<PipelineRunsTable>): PipelineRunRecord {
  return {
    model: row.model_name,
    workflowType: row.workflow_type,
    workflowId: row.workflow_id,
    runId: row.run_id,
    outcome: row.outcome,
    version: row.version,
    reason: row.reason,
    trigger: row.trigger,
    requestedBy: row.requested_by,
    finishedAt: row.finished_at.toISOString(),
  };
}

function toDriftCheck(row: Selectable<DriftReportsTable>): DriftCheckRecord {
  return {
    model: row.model_name,
    workflowId: row.workflow_id,
    window: { uri: row.window_uri, sha256: row.window_sha256 },
    status: row.status,
    driftShare: row.drift_share,
    driftedColumns: row.drifted_columns as string[],
    report: row.report_uri && row.report_sha256 ? { uri: row.report_uri, sha256: row.report_sha256 } : null,
    reason: row.reason,
    checkedAt: row.checked_at.toISOString(),
  };
}

function toAuditEvent(row: Selectable<AuditLogTable>): AuditEvent {
  return {
    seq: Number(row.seq),
    at: row.at.toISOString(),
    actor: row.actor,
    action: row.action as AuditAction,
    model: row.model_name,
    version: row.version,
    payload: row.payload as Record<string, unknown>,
    prevHash: row.prev_hash,
    hash: row.hash,
  };
}

function isUniqueViolation(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: string }).code === UNIQUE_VIOLATION;
}
