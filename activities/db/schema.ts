/**
 * Kysely's view of Driftline's tables. Each migration that adds or changes a table updates the
 * matching interface here, so a query against a column that does not exist fails to compile.
 */
import type { ColumnType, Generated } from 'kysely';

/** A timestamp column written by the database (`now()`), read back as a Date. */
export type CreatedAt = ColumnType<Date, never, never>;

export interface DriftlineInstanceTable {
  /** Always `'driftline'`: the table holds exactly one row. */
  id: ColumnType<'driftline', 'driftline', never>;
  /** Random id minted once per database, so logs and exports can say which store they came from. */
  instance_id: Generated<string>;
  created_at: Generated<Date>;
}

export interface DriftlineDatabase extends RegistryTables {
  driftline_instance: DriftlineInstanceTable;
  compliance_events: ComplianceEventsTable;
}

/** JSON stored in jsonb columns: what the registry writes and reads back. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
type Json = ColumnType<JsonValue, string, string>;

export interface ModelsTable {
  name: string;
  owner: string;
  description: Generated<string>;
  latest_version: Generated<number>;
  created_by: string;
  created_at: Generated<Date>;
}

export interface ModelVersionsTable {
  model_name: string;
  version: number;
  idempotency_key: string;
  status: 'registered' | 'rejected';
  status_reason: string | null;
  code_repository: string | null;
  code_commit: string | null;
  train_data_uri: string;
  train_data_sha256: string;
  holdout_data_uri: string | null;
  holdout_data_sha256: string | null;
  parameters: Json;
  metrics: Json;
  artifact_uri: string;
  artifact_sha256: string;
  training_backend: string;
  training_job_id: string | null;
  workflow_id: string | null;
  run_id: string | null;
  created_by: string;
  created_at: Date;
}

export interface AliasesTable {
  model_name: string;
  alias: string;
  version: number;
  updated_at: Date;
}

export interface AliasMovesTable {
  id: Generated<string>;
  model_name: string;
  alias: string;
  from_version: number | null;
  to_version: number;
  actor: string;
  reason: string;
  workflow_id: string | null;
  run_id: string | null;
  idempotency_key: string;
  moved_at: Date;
}

export interface EvidenceTable {
  id: Generated<string>;
  model_name: string;
  version: number;
  kind: string;
  uri: string;
  sha256: string;
  attached_by: string;
  workflow_id: string | null;
  attached_at: Date;
}

export interface ApprovalsTable {
  id: Generated<string>;
  model_name: string;
  version: number;
  decision: 'approved' | 'rejected';
  approver: string;
  role: string;
  evidence_bundle_sha256: string;
  signature: string | null;
  comment: Generated<string>;
  workflow_id: string | null;
  idempotency_key: string;
  decided_at: Date;
}

export interface AuditLogTable {
  /** bigint: pg returns it as a string. */
  seq: ColumnType<string, string | number, never>;
  at: Date;
  actor: string;
  action: string;
  model_name: string | null;
  version: number | null;
  payload: Json;
  prev_hash: string;
  hash: string;
}

export interface AuditHeadTable {
  id: 'head';
  seq: ColumnType<string, string | number, string | number>;
  hash: string;
}

export interface PipelineRunsTable {
  workflow_id: string;
  run_id: string;
  model_name: string;
  workflow_type: string;
  outcome: 'registered' | 'rejected' | 'failed' | 'promoted' | 'rolled-back';
  version: number | null;
  reason: string | null;
  trigger: string;
  requested_by: string;
  finished_at: Date;
}

export interface DriftReportsTable {
  id: Generated<string>;
  model_name: string;
  workflow_id: string;
  run_id: string;
  window_uri: string;
  window_sha256: string | null;
  status: 'drift' | 'no-drift' | 'failed';
  drift_share: number | null;
  drifted_columns: Json;
  report_uri: string | null;
  report_sha256: string | null;
  reason: string | null;
  checked_at: Date;
}

export interface DeploymentsTable {
  deployment_id: string;
  model_name: string;
  candidate_version: number;
  baseline_version: number | null;
  target_kind: string;
  target: Json;
  weights: Json;
  generation: ColumnType<number, number | undefined, number>;
  status: 'active' | 'promoted' | 'rolled-back' | 'aborted';
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
}

export interface DeploymentRequestsTable {
  /** bigserial: pg returns it as a string. */
  id: ColumnType<string, never, never>;
  deployment_id: string;
  model_name: string;
  variant: 'baseline' | 'candidate';
  role: 'primary' | 'shadow';
  generation: number;
  request_key: string;
  status: number;
  error: boolean;
  latency_ms: number;
  prediction: number | null;
  label: number | null;
  paired_error: boolean | null;
  paired_latency_ms: number | null;
  paired_prediction: number | null;
  paired_label: number | null;
  at: Date;
}

export interface RouterRoutesTable {
  router_id: string;
  model_name: string;
  route: Json;
  updated_at: Date;
}

export interface CanaryDecisionsTable {
  id: Generated<string>;
  deployment_id: string;
  model_name: string;
  candidate_version: number;
  seq: number;
  kind: string;
  actor: string;
  phase: string;
  step: number;
  weights: Json;
  reason: string;
  statistics: Json;
  idempotency_key: string;
  decided_at: Date;
}

export interface RegistryTables {
  deployments: DeploymentsTable;
  deployment_requests: DeploymentRequestsTable;
  router_routes: RouterRoutesTable;
  canary_decisions: CanaryDecisionsTable;
  pipeline_runs: PipelineRunsTable;
  drift_reports: DriftReportsTable;
  models: ModelsTable;
  model_versions: ModelVersionsTable;
  aliases: AliasesTable;
  alias_moves: AliasMovesTable;
  evidence: EvidenceTable;
  approvals: ApprovalsTable;
  audit_log: AuditLogTable;
  audit_head: AuditHeadTable;
}

/** A compliance gate's own decisions (migration 0005): checked, escalated, decided. */
export interface ComplianceEventsTable {
  id: Generated<string>;
  idempotency_key: string;
  workflow_id: string;
  run_id: string;
  model_name: string;
  version: number;
  kind: 'checked' | 'escalated' | 'decided';
  payload: Json;
  actor: string;
  at: Date;
}
