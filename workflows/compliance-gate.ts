/**
 * complianceGate: proves, for one registered model version, that provenance, fairness,
 * explainability and security were checked, and that named people with the right roles approved
 * exactly that evidence. A child of continuousTraining, or started on its own (`cg:<model>:v<n>`).
 *
 *  1. checks (activities): each report stored by content and attached to the version as evidence;
 *  2. the evidence bundle: canonical JSON naming every report, the policy and the approvers file by
 *     sha256; its hash is what approvers sign;
 *  3. approvals: signed statements arrive as the `approve` / `reject` Workflow Updates. The validator
 *     (deterministic, here in the sandbox) refuses unknown approvers, wrong roles, bad signatures,
 *     statements about another gate, version or bundle, self-approval, duplicates and anything after
 *     the gate closed — refused updates leave no trace in the history. Accepted decisions go to the
 *     registry (with their signatures) and the audit log. Quorum per role approves; one accepted
 *     rejection rejects;
 *  4. deadlines (timers): escalation after one duration, automatic rejection after another. A
 *     deadline never approves.
 */
import {
  ActivityFailure,
  ApplicationFailure,
  allHandlersFinished,
  condition,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { ComplianceOrchestrationActivities, ComplianceTrainingActivities, LoadedApprovers } from '../activities/compliance/activities.ts';
import type { RegistryActivities } from '../activities/registry/activities.ts';
import type { TrainingActivities } from '../activities/training/activities.ts';
import { durationMs, EVIDENCE_KINDS, parseApprovalUpdate, quorumProblems, statementOf } from '../core/compliance-rules.ts';
import type {
  AcceptedDecision,
  ApprovalReceipt,
  ApproversFile,
  ArtifactRef,
  CheckResult,
  ComplianceGateInput,
  ComplianceGateOutcome,
  ComplianceGateRequest,
  ComplianceGateStatus,
  EvidenceBundle,
  GateStage,
  ProtectedAttribute,
  RoleProgress,
} from '../core/compliance.ts';
import { INVALID_INPUT, SEARCH_ATTRIBUTES, TASK_QUEUES } from '../core/names.ts';
import type { ModelVersionDetails } from '../core/registry.ts';
import { verifyApproval } from '../core/signatures.ts';
import { approveUpdate, complianceStatusQuery, rejectUpdate } from './messages.ts';
import { unvalidatedFields, validatedInput } from './input.ts';

const FINAL = [INVALID_INPUT, 'TrainingFailed', 'NotFound'];

// A worker that dies mid-activity is noticed when a timeout runs out, and under overload the server
// can lose an activity task after recording it started: light work times out after a minute, heavy
// work heartbeats (every check activity does, see activities/compliance/activities.ts).
const light = proxyActivities<RegistryActivities & ComplianceOrchestrationActivities>({
  taskQueue: TASK_QUEUES.orchestration,
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '500 milliseconds', maximumInterval: '30 seconds', nonRetryableErrorTypes: FINAL },
});
const heavy = proxyActivities<ComplianceTrainingActivities & TrainingActivities>({
  taskQueue: TASK_QUEUES.training,
  startToCloseTimeout: '6 hours',
  heartbeatTimeout: '1 minute',
  retry: { initialInterval: '1 second', maximumInterval: '1 minute', nonRetryableErrorTypes: FINAL },
});
/** Notifications are retried for an hour, then recorded as undelivered: a dead webhook never blocks a gate. */
const notifier = proxyActivities<ComplianceOrchestrationActivities>({
  taskQueue: TASK_QUEUES.orchestration,
  startToCloseTimeout: '30 seconds',
  scheduleToCloseTimeout: '1 hour',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '5 minutes', nonRetryableErrorTypes: ['WebhookRejected'] },
});

/** The status of a gate that has not recorded anything yet. */
function gateStatus(gate: string, subject: Pick<ComplianceGateRequest, 'model' | 'version' | 'requestedBy'>, waitingFor: string): ComplianceGateStatus {
  return {
    stage: 'checking',
    gate,
    model: subject.model,
    version: subject.version,
    requestedBy: subject.requestedBy,
    waitingFor,
    checks: [],
    evidenceBundle: null,
    policy: null,
    approvers: null,
    approverRoles: [],
    escalationContacts: [],
    quorum: [],
    decisions: [],
    deadlines: null,
    escalated: false,
    notifications: [],
    outcome: null,
  };
}

/** What a status can show of an input not validated yet. */
function startingFields(raw: unknown): Pick<ComplianceGateRequest, 'model' | 'version' | 'requestedBy'> {
  const fields = unvalidatedFields(raw);
  return {
    model: typeof fields.model === 'string' ? fields.model : '',
    version: typeof fields.version === 'number' ? fields.version : 0,
    requestedBy: typeof fields.requestedBy === 'string' ? fields.requestedBy : '',
  };
}

export async function complianceGate(rawInput: ComplianceGateInput): Promise<ComplianceGateOutcome> {
  // Handlers first, so a status query during input validation gets an answer.
  let started: Gate | undefined;
  const gateOrRefuse = () => {
    if (!started) throw new Error(`Gate ${workflowInfo().workflowId} is still starting: there is no evidence bundle to sign yet.`);
    return started;
  };
  setHandler(complianceStatusQuery, () => started?.status ?? gateStatus(workflowInfo().workflowId, startingFields(rawInput), 'its input to be validated'));
  setHandler(approveUpdate, (update) => gateOrRefuse().accept(update, 'approved'), { validator: (update) => gateOrRefuse().validate(update, 'approved') });
  setHandler(rejectUpdate, (update) => gateOrRefuse().accept(update, 'rejected'), { validator: (update) => gateOrRefuse().validate(update, 'rejected') });
  const gate = (started = new Gate(await validatedInput('complianceGate', rawInput)));
  upsertSearchAttributes([
    { key: SEARCH_ATTRIBUTES.model, value: gate.input.model },
    { key: SEARCH_ATTRIBUTES.version, value: gate.input.version },
  ]);

  try {
    await gate.runChecks();
  } catch (error) {
    // Bad input found by an activity (an unreadable or malformed approvers file, an unknown version) fails the gate as bad input.
    if (error instanceof ActivityFailure && error.cause instanceof ApplicationFailure && error.cause.type === INVALID_INPUT) {
      throw ApplicationFailure.nonRetryable(error.cause.message, INVALID_INPUT);
    }
    throw error;
  }
  if (!gate.closed) await gate.awaitDecision();
  return gate.finish();
}

class Gate {
  readonly status: ComplianceGateStatus;
  readonly gateId: string;
  private readonly runKey: string;
  private approvers: ApproversFile | null = null;
  private outstandingNotifications = 0;
  private modelArtifactUri = '';

  constructor(readonly input: ComplianceGateRequest) {
    const info = workflowInfo();
    this.gateId = info.workflowId;
    this.runKey = `${info.workflowId}/${info.runId}`;
    this.status = gateStatus(this.gateId, input, 'the compliance checks');
  }

  get closed(): boolean {
    return this.status.outcome !== null;
  }

  // ---- 1 + 2: checks, evidence, bundle ---------------------------------------------------------

  async runChecks(): Promise<void> {
    const { input } = this;
    const { policy } = input;
    this.stage('checking', 'the compliance checks');
    const version = await this.lookUpVersion();
    this.modelArtifactUri = version.lineage.artifact.uri;
    const loaded: LoadedApprovers = await light.loadApproversFile.executeWithOptions(
      { startToCloseTimeout: '1 minute', retry: { nonRetryableErrorTypes: FINAL }, summary: `read approvers file ${policy.approvers.file}` },
      [{ file: policy.approvers.file, ...(policy.approvers.sha256 ? { sha256: policy.approvers.sha256 } : {}) }],
    );
    this.approvers = loaded.approvers;
    const problems = quorumProblems(policy, loaded.approvers, input.requestedBy);
    if (problems.length) throw ApplicationFailure.nonRetryable(`The quorum cannot be met: ${problems.join('; ')}`, INVALID_INPUT);
    this.status.approvers = loaded.artifact;
    this.status.approverRoles = loaded.approvers.approvers.map((a) => ({ id: a.id, roles: a.roles }));
    this.status.escalationContacts = loaded.approvers.escalation;
    this.status.quorum = this.progress();

    const needs = this.predictionNeeds(version);
    const policyRef = await light.storeCompliancePolicy.executeWithOptions({ startToCloseTimeout: '1 minute', summary: 'store the compliance policy' }, [{ policy }]);
    this.status.policy = policyRef;
    await Promise.all([this.attach(EVIDENCE_KINDS.policy, policyRef), this.attach(EVIDENCE_KINDS.approvers, loaded.artifact)]);

    const names = Object.entries(policy.checks).filter(([, v]) => v !== undefined).map(([k]) => k);
    setCurrentDetails(`**checking** ${input.model} v${input.version}: ${names.length ? names.join(', ') : 'no checks configured'}`);
    const running: Array<Promise<CheckResult>> = [];
    if (policy.checks.provenance) {
      running.push(
        heavy.checkProvenance.executeWithOptions(this.heavyOptions('provenance: recompute data and model hashes'), [
          { model: input.model, version: input.version, lineage: version.lineage, policy: policy.checks.provenance },
        ]),
      );
    }
    if (policy.checks.security) {
      running.push(
        heavy.runSecurityScan.executeWithOptions({ ...this.heavyOptions('security scan'), heartbeatTimeout: '1 minute' }, [{ policy: policy.checks.security }]),
      );
    }
    if (policy.checks.bias && needs) {
      const bias = policy.checks.bias;
      running.push(
        (async () => {
          const predicted = await this.predict('compliance-holdout', needs.holdoutUri, 'bias');
          if ('failed' in predicted) return predicted.failed;
          return heavy.auditBias.executeWithOptions(this.heavyOptions(`bias audit: ${needs.attributes.map(attributeName).join(', ')}`), [
            { holdoutUri: needs.holdoutUri, predictionsUri: predicted.uri, label: needs.label, attributes: needs.attributes, policy: bias },
          ]);
        })(),
      );
    }
    if (policy.checks.explainability && needs) {
      const explain = policy.checks.explainability;
      running.push(
        (async (): Promise<CheckResult> => {
          const plan = await heavy.planPermutationImportance.executeWithOptions(this.heavyOptions('explainability: shuffle each feature of the holdout'), [
            { holdoutUri: needs.holdoutUri, label: needs.label, policy: explain },
          ]);
          if ('error' in plan) return { check: 'explainability', status: 'error', summary: plan.error, report: null, attachments: [] };
          const predicted = await this.predict('compliance-permuted', plan.dataset.uri, 'explainability');
          if ('failed' in predicted) return predicted.failed;
          return heavy.scorePermutationImportance.executeWithOptions(this.heavyOptions('explainability: score the permutations'), [
            { holdoutUri: needs.holdoutUri, label: needs.label, predictionsUri: predicted.uri, plan: plan.plan },
          ]);
        })(),
      );
    }
    const results = await Promise.all(running);
    this.status.checks = results;
    if (policy.checks.modelCard) {
      const card = await light.writeModelCard.executeWithOptions({ startToCloseTimeout: '1 minute', summary: 'write the model card' }, [
        {
          ...(policy.checks.modelCard.title ? { title: policy.checks.modelCard.title } : {}),
          gate: this.gateId,
          model: input.model,
          version: input.version,
          requestedBy: input.requestedBy,
          registeredAt: version.createdAt,
          registeredBy: version.createdBy,
          lineage: version.lineage,
          quorum: policy.quorum,
          checks: results,
        },
      ]);
      this.status.checks = [...results, card];
    }
    await Promise.all(
      this.status.checks.flatMap((c) => [
        ...(c.report ? [this.attach(EVIDENCE_KINDS[c.check], c.report)] : []),
        ...c.attachments.map((a) => this.attach(a.kind, a)),
      ]),
    );

    const bundle: EvidenceBundle = {
      format: 'driftline-evidence-bundle/v1',
      gate: this.gateId,
      model: input.model,
      version: input.version,
      requestedBy: input.requestedBy,
      createdAt: new Date().toISOString(),
      lineage: {
        code: version.lineage.code,
        trainData: version.lineage.trainData,
        holdoutData: version.lineage.holdoutData,
        artifact: version.lineage.artifact,
        metrics: version.lineage.metrics,
      },
      policy: policyRef,
      approvers: loaded.artifact,
      quorum: policy.quorum,
      checks: this.status.checks.map((c) => ({ check: c.check, status: c.status, summary: c.summary, report: c.report, attachments: c.attachments })),
    };
    const stored = await light.storeEvidenceBundle.executeWithOptions({ startToCloseTimeout: '1 minute', summary: 'store the evidence bundle' }, [bundle]);
    await this.attach(EVIDENCE_KINDS.bundle, stored);
    this.status.evidenceBundle = stored;
    await light.recordComplianceEvent.executeWithOptions({ startToCloseTimeout: '1 minute', summary: 'record the checks in the audit log' }, [
      {
        kind: 'checked',
        model: input.model,
        version: input.version,
        actor: input.requestedBy,
        payload: {
          evidenceBundle: { uri: stored.uri, sha256: stored.sha256 },
          checks: this.status.checks.map((c) => ({ check: c.check, status: c.status, summary: c.summary })),
        },
      },
    ]);

    const failed = this.status.checks.filter((c) => c.status === 'fail' || c.status === 'error');
    if (failed.length && policy.onCheckFailure === 'reject') {
      this.close('rejected', 'failed-checks', `checks failed: ${failed.map((c) => `${c.check}: ${c.summary}`).join('; ')}`);
    }
  }

  private async lookUpVersion(): Promise<ModelVersionDetails> {
    try {
      return await light.getModelLineage.executeWithOptions(
        { startToCloseTimeout: '1 minute', retry: { nonRetryableErrorTypes: FINAL }, summary: `look up ${this.input.model}@${this.input.version}` },
        [{ reference: `${this.input.model}@${this.input.version}` }],
      );
    } catch (error) {
      if (error instanceof ActivityFailure && error.cause instanceof ApplicationFailure && error.cause.type === 'NotFound') {
        throw ApplicationFailure.nonRetryable(`No such version to gate: ${error.cause.message}`, INVALID_INPUT);
      }
      throw error;
    }
  }

  /** What the bias audit and explainability need to call the model; bad input when the policy asks for them without it. */
  private predictionNeeds(version: ModelVersionDetails) {
    const { input } = this;
    const { bias, explainability } = input.policy.checks;
    if (!bias && !explainability) return null;
    const which = [bias ? 'bias audit' : null, explainability ? 'explainability' : null].filter(Boolean).join(' and ');
    const missing: string[] = [];
    if (!input.trainer) missing.push('the model\'s trainer (input.trainer, whose predict entry point they call)');
    if (!input.label) missing.push('the label column (input.label)');
    const holdoutUri = input.holdoutUri ?? version.lineage.holdoutData?.uri;
    if (!holdoutUri) missing.push('a holdout (input.holdoutUri; the version\'s lineage has none)');
    const attributes: ProtectedAttribute[] = [...(bias?.protectedAttributes ?? [])];
    for (const column of input.sensitiveColumns ?? []) if (!attributes.some((a) => attributeName(a) === column)) attributes.push(column);
    if (bias && attributes.length === 0) missing.push('at least one protected attribute (policy.checks.bias.protectedAttributes or input.sensitiveColumns)');
    if (missing.length) throw ApplicationFailure.nonRetryable(`The policy's ${which} needs ${missing.join(', ')}`, INVALID_INPUT);
    return { trainer: input.trainer!, label: input.label!, holdoutUri: holdoutUri!, attributes };
  }

  private async predict(name: string, dataUri: string, check: 'bias' | 'explainability'): Promise<{ uri: string } | { failed: CheckResult }> {
    try {
      const result = await heavy.predictWithModel.executeWithOptions({ ...this.heavyOptions(`${check}: predict ${dataUri} with v${this.input.version}`), heartbeatTimeout: '30 seconds' }, [
        { jobKey: this.runKey, name, trainer: this.input.trainer!, artifactUri: this.modelArtifactUri, dataUri },
      ]);
      return { uri: result.predictions.uri };
    } catch (error) {
      if (error instanceof ActivityFailure && error.cause instanceof ApplicationFailure && FINAL.includes(error.cause.type ?? '')) {
        return { failed: { check, status: 'error', summary: `the model's predict entry point failed: ${error.cause.message}`, report: null, attachments: [] } };
      }
      throw error;
    }
  }

  private heavyOptions(summary: string) {
    return {
      taskQueue: TASK_QUEUES.training,
      startToCloseTimeout: '6 hours',
      heartbeatTimeout: '1 minute',
      retry: { initialInterval: '1 second', maximumInterval: '1 minute', nonRetryableErrorTypes: FINAL },
      summary,
    } as const;
  }

  private attach(kind: string, ref: ArtifactRef): Promise<unknown> {
    return light.attachModelEvidence.executeWithOptions({ startToCloseTimeout: '1 minute', retry: { nonRetryableErrorTypes: FINAL }, summary: `attach ${kind}` }, [
      { model: this.input.model, version: this.input.version, kind, uri: ref.uri, sha256: ref.sha256, actor: this.input.requestedBy },
    ]);
  }

  // ---- 3 + 4: approvals and deadlines ----------------------------------------------------------

  async awaitDecision(): Promise<void> {
    const { policy } = this.input;
    const escalateMs = durationMs(policy.deadlines.escalateAfter)!;
    const rejectMs = durationMs(policy.deadlines.rejectAfter)!;
    const openedAt = Date.now();
    this.status.deadlines = { escalateAt: new Date(openedAt + escalateMs).toISOString(), rejectAt: new Date(openedAt + rejectMs).toISOString() };
    this.stage('awaiting-approval', this.describeWait());
    this.notify('requested', `Approval requested: *${this.input.model} v${this.input.version}* (gate \`${this.gateId}\`), requested by ${this.input.requestedBy}.`, [
      this.pendingText(),
      `Evidence bundle sha256 \`${this.status.evidenceBundle!.sha256}\`. Approve with \`driftline approve ${this.gateId} --key <your key> --as <you> --role <role>\`.`,
      `Escalates at ${this.status.deadlines.escalateAt}; rejected automatically at ${this.status.deadlines.rejectAt} if no quorum.`,
    ]);

    if (!(await condition(() => this.closed, escalateMs))) await this.escalate();
    if (!this.closed) {
      const remaining = Math.max(1, openedAt + rejectMs - Date.now());
      if (!(await condition(() => this.closed, remaining))) {
        this.close('rejected', 'deadline', `no quorum by the deadline (${policy.deadlines.rejectAfter} after approval was requested): ${this.missingText()}`);
      }
    }
  }

  private async escalate(): Promise<void> {
    this.status.escalated = true;
    const contacts = this.status.escalationContacts;
    this.stage('escalated', this.describeWait());
    this.notify(
      'escalated',
      `Overdue: *${this.input.model} v${this.input.version}* (gate \`${this.gateId}\`) still lacks approvals after ${this.input.policy.deadlines.escalateAfter}.` +
        (contacts.length ? ` Escalating to ${contacts.join(', ')}.` : ''),
      [this.pendingText(), `Rejected automatically at ${this.status.deadlines!.rejectAt} without quorum; a deadline never approves.`],
    );
    await light.recordComplianceEvent.executeWithOptions({ startToCloseTimeout: '1 minute', summary: 'record the escalation' }, [
      {
        kind: 'escalated',
        model: this.input.model,
        version: this.input.version,
        actor: 'driftline',
        payload: { escalatedTo: contacts, missing: this.missingText(), rejectAt: this.status.deadlines!.rejectAt },
      },
    ]);
    if (!this.closed) this.stage('escalated', this.describeWait());
  }

  /** The update validator: throws one sentence for anything the gate cannot accept. Deterministic. */
  validate(raw: unknown, decision: 'approved' | 'rejected'): void {
    const what = decision === 'approved' ? 'approval' : 'rejection';
    if (this.closed) {
      const o = this.status.outcome!;
      throw new Error(`Gate ${this.gateId} is closed (${o.outcome}: ${o.reason}); no further ${what} is accepted.`);
    }
    const parsed = parseApprovalUpdate(raw);
    if (!parsed.ok) throw new Error(`The ${what} is malformed: ${parsed.problem}.`);
    const update = parsed.update;
    const bundle = this.status.evidenceBundle;
    if (!bundle || !this.approvers) throw new Error(`Gate ${this.gateId} is still running its checks: there is no evidence bundle to sign yet.`);
    const approver = this.approvers.approvers.find((a) => a.id === update.approver);
    if (!approver) throw new Error(`"${update.approver}" is not an approver in the approvers file ${this.input.policy.approvers.file}.`);
    if (!approver.roles.includes(update.role)) {
      throw new Error(`"${update.approver}" does not hold the role "${update.role}" (their roles: ${approver.roles.join(', ')}).`);
    }
    const roles = Object.keys(this.input.policy.quorum);
    if (decision === 'approved' && !roles.includes(update.role)) {
      throw new Error(`This gate needs no "${update.role}" approval (it needs ${roles.map((r) => `"${r}"`).join(', ')}).`);
    }
    if (decision === 'approved' && update.approver === this.input.requestedBy) {
      throw new Error(`"${update.approver}" requested this change and cannot approve it: four-eyes rule.`);
    }
    if (update.gate !== this.gateId) throw new Error(`The statement is signed for gate "${update.gate}", not for this gate "${this.gateId}".`);
    if (update.model !== this.input.model || update.version !== this.input.version) {
      throw new Error(`The statement is signed for ${update.model} version ${update.version}, but this gate decides ${this.input.model} version ${this.input.version}.`);
    }
    if (update.evidenceBundleSha256 !== bundle.sha256) {
      throw new Error(`The statement is signed over evidence bundle ${update.evidenceBundleSha256}, but this gate's evidence bundle is ${bundle.sha256}: review the current evidence and sign again.`);
    }
    if (!verifyApproval(statementOf(update, decision), update.signature, approver.publicKey)) {
      throw new Error(`The signature does not verify with ${update.approver}'s public key: it was not made with their key over this ${what}.`);
    }
    const previous = this.status.decisions.find((d) => d.approver === update.approver);
    if (previous) throw new Error(`"${update.approver}" has already ${previous.decision} this gate (as ${previous.role}); one decision per approver.`);
  }

  /** The update handler: runs only after validate() accepted. State changes first (synchronously), then the record. */
  async accept(raw: unknown, decision: 'approved' | 'rejected'): Promise<ApprovalReceipt> {
    const parsed = parseApprovalUpdate(raw);
    if (!parsed.ok) throw new Error(`The approval update is malformed: ${parsed.problem}.`); // the validator refused it already
    const update = parsed.update;
    const accepted: AcceptedDecision = {
      approver: update.approver,
      role: update.role,
      decision,
      comment: update.comment,
      signature: update.signature,
      at: new Date().toISOString(),
    };
    this.status.decisions.push(accepted);
    this.status.quorum = this.progress();
    if (decision === 'rejected') {
      this.close('rejected', 'rejection', `rejected by ${update.approver} (${update.role})${update.comment ? `: ${update.comment}` : ''}`);
    } else if (this.status.quorum.every((q) => q.approvedBy.length >= q.required)) {
      const by = this.status.decisions.filter((d) => d.decision === 'approved').map((d) => `${d.approver} (${d.role})`);
      this.close('approved', 'quorum', `approved by ${by.join(', ')}`);
    } else if (!this.closed) {
      this.stage(this.status.stage === 'escalated' ? 'escalated' : 'awaiting-approval', this.describeWait());
    }
    await light.recordModelApproval.executeWithOptions({ startToCloseTimeout: '1 minute', retry: { nonRetryableErrorTypes: FINAL }, summary: `record ${decision} by ${update.approver}` }, [
      {
        model: this.input.model,
        version: this.input.version,
        decision,
        approver: update.approver,
        role: update.role,
        evidenceBundleSha256: update.evidenceBundleSha256,
        signature: update.signature,
        comment: update.comment,
        idempotencyKey: `${this.runKey}/decision/${update.approver}`,
      },
    ]);
    return {
      accepted: true,
      decision,
      approver: update.approver,
      role: update.role,
      gate: this.status.outcome?.outcome ?? 'open',
      quorum: this.status.quorum,
    };
  }

  /** Closes the gate at once (later updates are refused); finish() records it. */
  private close(outcome: 'approved' | 'rejected', closedBy: ComplianceGateOutcome['closedBy'], reason: string): void {
    if (this.closed) return;
    this.status.outcome = {
      outcome,
      model: this.input.model,
      version: this.input.version,
      evidenceBundleSha256: this.status.evidenceBundle?.sha256 ?? '',
      decidedBy: [...this.status.decisions],
      reason,
      closedBy,
    };
    this.status.waitingFor = 'nothing: the gate is closed';
  }

  async finish(): Promise<ComplianceGateOutcome> {
    // Approvals being recorded finish first, so the decision follows them in the audit log.
    await condition(allHandlersFinished);
    const outcome = { ...this.status.outcome!, decidedBy: [...this.status.decisions] };
    this.status.outcome = outcome;
    await light.recordComplianceEvent.executeWithOptions({ startToCloseTimeout: '1 minute', summary: `record the decision: ${outcome.outcome}` }, [
      {
        kind: 'decided',
        model: this.input.model,
        version: this.input.version,
        actor: outcome.closedBy === 'quorum' || outcome.closedBy === 'rejection' ? outcome.decidedBy.at(-1)!.approver : 'driftline',
        payload: {
          outcome: outcome.outcome,
          closedBy: outcome.closedBy,
          reason: outcome.reason,
          evidenceBundleSha256: outcome.evidenceBundleSha256,
          decidedBy: outcome.decidedBy.map((d) => ({ approver: d.approver, role: d.role, decision: d.decision })),
        },
      },
    ]);
    this.stage('done', `nothing: ${outcome.outcome}`);
    upsertSearchAttributes([{ key: SEARCH_ATTRIBUTES.outcome, value: outcome.outcome }]);
    setCurrentDetails(`**${outcome.outcome}**: ${outcome.reason}`);
    this.notify('decided', `${outcome.outcome === 'approved' ? 'Approved' : 'Rejected'}: *${this.input.model} v${this.input.version}* (gate \`${this.gateId}\`): ${outcome.reason}.`, [
      `Evidence bundle sha256 \`${outcome.evidenceBundleSha256}\`.`,
    ]);
    // Give undelivered notifications a while, then finish regardless.
    await condition(() => this.outstandingNotifications === 0, '10 minutes');
    return outcome;
  }

  // ---- helpers -------------------------------------------------------------------------------

  private stage(stage: GateStage, waitingFor: string): void {
    this.status.stage = stage;
    this.status.waitingFor = waitingFor;
    upsertSearchAttributes([{ key: SEARCH_ATTRIBUTES.stage, value: stage }]);
    if (stage !== 'checking' && stage !== 'done') setCurrentDetails(`**${stage}**: waiting for ${waitingFor}`);
  }

  private progress(): RoleProgress[] {
    const approvers = this.approvers?.approvers ?? [];
    return Object.entries(this.input.policy.quorum).map(([role, required]) => ({
      role,
      required,
      approvedBy: this.status.decisions.filter((d) => d.decision === 'approved' && d.role === role).map((d) => d.approver),
      eligible: approvers
        .filter((a) => a.roles.includes(role) && a.id !== this.input.requestedBy && !this.status.decisions.some((d) => d.approver === a.id))
        .map((a) => a.id),
    }));
  }

  private missingText(): string {
    const missing = this.status.quorum.filter((q) => q.approvedBy.length < q.required);
    return `still missing ${missing.map((q) => `${q.required - q.approvedBy.length} × ${q.role}`).join(', ')}`;
  }

  private pendingText(): string {
    return this.status.quorum
      .filter((q) => q.approvedBy.length < q.required)
      .map((q) => `${q.required - q.approvedBy.length} × ${q.role} (may approve: ${q.eligible.join(', ') || 'nobody left'})`)
      .join('; ');
  }

  private describeWait(): string {
    const d = this.status.deadlines;
    return `signed approvals of evidence bundle ${this.status.evidenceBundle?.sha256.slice(0, 12)}…: ${this.pendingText()}` +
      (d ? (this.status.escalated ? `; rejected automatically at ${d.rejectAt}` : `; escalates at ${d.escalateAt}, rejected automatically at ${d.rejectAt}`) : '');
  }

  private notify(event: 'requested' | 'escalated' | 'decided', text: string, sections: string[]): void {
    const url = this.input.policy.notifications?.webhookUrl;
    if (!url) return;
    const record: ComplianceGateStatus['notifications'][number] = { event, at: new Date().toISOString(), delivered: null, error: null };
    this.status.notifications.push(record);
    this.outstandingNotifications++;
    notifier.notifyWebhook
      .executeWithOptions({ summary: `notify: ${event}` }, [
        { url, text, sections, context: [`gate \`${this.gateId}\``, `model ${this.input.model} v${this.input.version}`, `event ${event}`] },
      ])
      .then(
        () => {
          record.delivered = true;
        },
        (error: unknown) => {
          record.delivered = false;
          record.error = error instanceof ActivityFailure && error.cause ? error.cause.message : String(error);
        },
      )
      .finally(() => {
        this.outstandingNotifications--;
      });
  }
}

function attributeName(attribute: ProtectedAttribute): string {
  return typeof attribute === 'string' ? attribute : attribute.column;
}
