/**
 * The registry port: what workflows (through activities) and the CLI ask of the model registry.
 * Every write is idempotent (a retried call returns the first call's result) and writes its audit
 * event in the same transaction.
 */
import type {
  AttachEvidenceInput,
  AuditEvent,
  EvidenceRecord,
  ApprovalRecord,
  AliasMoveRecord,
  ModelReference,
  ModelSummary,
  ModelVersionDetails,
  ModelVersionRecord,
  MoveAliasInput,
  RecordApprovalInput,
  RegisterVersionInput,
  RecordRunInput,
  PipelineRunRecord,
  RecordDriftCheckInput,
  DriftCheckRecord,
} from '../../core/registry.ts';
import type { ChainProblem } from './audit-chain.ts';

export interface Written<T> {
  value: T;
  /** False when an earlier call with the same key already wrote it (a retry). */
  created: boolean;
}

export interface AuditVerification {
  ok: boolean;
  events: number;
  head: { seq: number; hash: string };
  problem: ChainProblem | null;
}

export interface ModelRegistry {
  registerVersion(input: RegisterVersionInput): Promise<Written<ModelVersionRecord>>;
  moveAlias(input: MoveAliasInput): Promise<Written<AliasMoveRecord>>;
  attachEvidence(input: AttachEvidenceInput): Promise<Written<EvidenceRecord>>;
  recordApproval(input: RecordApprovalInput): Promise<Written<ApprovalRecord>>;
  /** How a pipeline run ended (once per workflow run; a retry returns the first record). */
  recordRun(input: RecordRunInput): Promise<Written<PipelineRunRecord>>;
  listRuns(model: string, options?: { trigger?: string }): Promise<PipelineRunRecord[]>;
  /** One drift check of a model's window (once per monitor run). */
  recordDriftCheck(input: RecordDriftCheckInput): Promise<Written<DriftCheckRecord>>;
  listDriftChecks(model: string): Promise<DriftCheckRecord[]>;
  listModels(): Promise<ModelSummary[]>;
  getVersion(reference: ModelReference): Promise<ModelVersionDetails>;
  auditLog(options?: { model?: string; afterSeq?: number; limit?: number }): Promise<AuditEvent[]>;
  verifyAudit(options?: { anchor?: { seq: number; hash: string; source: string } }): Promise<AuditVerification>;
}

/** A request the registry refuses; never worth retrying. */
export class RegistryError extends Error {
  override readonly name = 'RegistryError';
  constructor(
    readonly code: 'not-found' | 'invalid' | 'conflict',
    message: string,
  ) {
    super(message);
  }
}
