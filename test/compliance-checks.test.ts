/**
 * The compliance checks' pieces, without a workflow: fairness figures against the values fairlearn
 * computes (test/fixtures/compliance/fairness.json, written by scripts/fixtures/fairness_fixtures.py),
 * security scanners really run (fixture scanners that behave like Trivy and npm audit, one that
 * crashes, one that is killed, one that is missing), signatures made by node:crypto and checked by
 * the workflow's verifier, and the policy and approvers-file schemas.
 */
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { auditAttribute, binLabel, type FairnessOptions } from '../core/fairness.ts';
import {
  approversFileSchema,
  compliancePolicySchema,
  describeIssue,
  durationMs,
  quorumProblems,
  type ApproversFile,
} from '../core/compliance.ts';
import { approvalMessage, decodeBase64, encodeBase64, verifyApproval, type ApprovalStatement } from '../core/signatures.ts';
import { parseFindings, runSecurityScan } from '../activities/compliance/security.ts';
import { generateApproverKeys, loadPrivateKey, publicKeyOfPrivate, signStatement } from '../scripts/cli/compliance.ts';

interface FairnessCase {
  name: string;
  min_group_size: number;
  groups: string[];
  y_true: number[];
  y_pred: number[];
  counts: Record<string, number>;
  evaluated_groups: string[];
  by_group?: Record<string, { selection_rate: number; true_positive_rate: number; false_positive_rate: number; count: number }>;
  demographic_parity_difference?: number;
  demographic_parity_ratio?: number;
  equalized_odds_difference?: number;
}

const fixtures = JSON.parse(readFileSync(new URL('./fixtures/compliance/fairness.json', import.meta.url), 'utf8')) as { fairlearn: string; cases: FairnessCase[] };
const SCANNERS = fileURLToPath(new URL('./fixtures/compliance/scanners/', import.meta.url));
const TOLERANCE = 1e-9;

function options(minGroupSize: number): FairnessOptions {
  return {
    positiveLabel: 1,
    minGroupSize,
    maxDemographicParityDifference: 0.1,
    maxEqualizedOddsDifference: 0.1,
    minDisparateImpactRatio: 0.8,
    insufficientData: 'fail',
  };
}

describe(`fairness figures equal fairlearn ${fixtures.fairlearn}'s`, () => {
  for (const c of fixtures.cases) {
    it(c.name, () => {
      const audit = auditAttribute('group', c.groups, c.y_true, c.y_pred, options(c.min_group_size));
      expect(Object.fromEntries(audit.groups.map((g) => [g.group, g.count]))).toEqual(c.counts);
      expect(audit.evaluatedGroups).toEqual(c.evaluated_groups);
      if (c.demographic_parity_difference === undefined) {
        expect(audit.status).toBe('insufficient-data');
        expect(audit.demographicParityDifference).toBeNull();
        expect(audit.violations[0]).toMatch(/^group: insufficient data: fewer than two groups have at least 30 rows \(big: 380, small: 20\)$/);
        return;
      }
      for (const [group, expected] of Object.entries(c.by_group!)) {
        const g = audit.groups.find((x) => x.group === group)!;
        expect(g.sufficient).toBe(true);
        expect(g.count).toBe(expected.count);
        expect(Math.abs(g.selectionRate - expected.selection_rate)).toBeLessThan(TOLERANCE);
        expect(Math.abs(g.truePositiveRate - expected.true_positive_rate)).toBeLessThan(TOLERANCE);
        expect(Math.abs(g.falsePositiveRate - expected.false_positive_rate)).toBeLessThan(TOLERANCE);
      }
      expect(Math.abs(audit.demographicParityDifference! - c.demographic_parity_difference)).toBeLessThan(TOLERANCE);
      expect(Math.abs(audit.equalizedOddsDifference! - c.equalized_odds_difference!)).toBeLessThan(TOLERANCE);
      expect(Math.abs(audit.disparateImpactRatio! - c.demographic_parity_ratio!)).toBeLessThan(TOLERANCE);
      // the four-fifths rule follows the ratio
      expect(audit.fourFifthsRule).toBe(c.demographic_parity_ratio! >= 0.8 ? 'pass' : 'fail');
      for (const small of Object.keys(c.counts).filter((g) => !c.evaluated_groups.includes(g))) {
        expect(audit.insufficientGroups).toContain(small);
        expect(audit.groups.find((g) => g.group === small)!.sufficient).toBe(false);
      }
    });
  }

  it('names each threshold broken, and passes a fair model', () => {
    const biased = fixtures.cases.find((c) => c.name === 'two groups, biased')!;
    const audit = auditAttribute('sex', biased.groups, biased.y_true, biased.y_pred, options(30));
    expect(audit.status).toBe('fail');
    expect(audit.violations).toEqual([
      'sex: demographic parity difference 0.1622 exceeds 0.1',
      'sex: equalized odds difference 0.2141 exceeds 0.1',
      expect.stringMatching(/^sex: disparate impact ratio 0\.5698 is below 0\.8 \("f" selected at 0\.\d+ vs "m" at 0\.\d+\)$/),
    ]);
    const fair = fixtures.cases.find((c) => c.name === 'two groups, fair')!;
    expect(auditAttribute('sex', fair.groups, fair.y_true, fair.y_pred, options(30))).toMatchObject({ status: 'pass', violations: [], fourFifthsRule: 'pass' });
  });

  it('cuts numeric attributes into bins', () => {
    const edges = [18, 25, 40, 65, 120];
    expect([18, 24.9, 25, 64, 65, 120, 17, 121, Number.NaN].map((v) => binLabel(v, edges))).toEqual([
      '[18, 25)',
      '[18, 25)',
      '[25, 40)',
      '[40, 65)',
      '[65, 120]',
      '[65, 120]',
      'out-of-range',
      'out-of-range',
      'out-of-range',
    ]);
  });
});

describe('security scan', () => {
  const scanner = (name: string, command: string[], format: 'trivy' | 'npm-audit' = 'trivy') => ({ name, command, format, timeoutSeconds: 30 });

  it('runs scanners, parses their findings and fails on the policy severity', async () => {
    const report = await runSecurityScan({
      required: true,
      failOn: 'high',
      scanners: [scanner('trivy', [`${SCANNERS}fake-trivy.sh`, 'findings']), scanner('npm-audit', [`${SCANNERS}fake-npm-audit.sh`], 'npm-audit')],
    });
    expect(report.status).toBe('fail');
    expect(report.scanners.map((s) => [s.name, s.status, s.exitCode, s.counts, s.blocking])).toEqual([
      ['trivy', 'findings', 0, { critical: 0, high: 1, medium: 1, low: 1, unknown: 0 }, 1],
      // npm audit exits 1 when it finds something: a run, not a crash
      ['npm-audit', 'findings', 1, { critical: 1, high: 0, medium: 1, low: 0, unknown: 0 }, 1],
    ]);
    expect(report.scanners[0]!.findings[0]).toEqual({ id: 'CVE-2024-0001', severity: 'high', package: 'urllib3', title: 'request smuggling' });
    expect(report.problems).toEqual(['scanner trivy found 1 finding at or above high', 'scanner npm-audit found 1 finding at or above high']);

    const lenient = await runSecurityScan({ required: true, failOn: 'critical', scanners: [scanner('trivy', [`${SCANNERS}fake-trivy.sh`, 'findings'])] });
    expect(lenient.status).toBe('pass');
    const clean = await runSecurityScan({ required: true, failOn: 'low', scanners: [scanner('trivy', [`${SCANNERS}fake-trivy.sh`, 'clean'])] });
    expect(clean).toMatchObject({ status: 'pass', problems: [] });
    expect(clean.scanners[0]!.status).toBe('clean');
  });

  it('reports a missing, a crashed and a killed scanner as such, never as a clean scan', async () => {
    const policy = {
      failOn: 'high' as const,
      scanners: [
        scanner('grype', ['definitely-not-installed-scanner', 'dir:.']),
        scanner('crashing', [`${SCANNERS}crashing-scanner.sh`]),
        scanner('killed', [`${SCANNERS}killed-scanner.sh`]),
        scanner('trivy', [`${SCANNERS}fake-trivy.sh`, 'clean']),
      ],
    };
    const required = await runSecurityScan({ ...policy, required: true });
    expect(required.status).toBe('fail');
    expect(required.scanners.map((s) => [s.name, s.status])).toEqual([
      ['grype', 'missing'],
      ['crashing', 'crashed'],
      ['killed', 'crashed'],
      ['trivy', 'clean'],
    ]);
    expect(required.scanners[0]!.detail).toBe('"definitely-not-installed-scanner" was not found');
    expect(required.scanners[1]!.detail).toMatch(/^exit code 3; its output is not trivy JSON \(.+\): fatal: database download failed: no network$/);
    expect(required.scanners[2]!.detail).toMatch(/^killed by SIGKILL/);
    expect(required.problems[0]).toBe('scanner grype is missing: "definitely-not-installed-scanner" was not found');

    const optional = await runSecurityScan({ ...policy, required: false });
    expect(optional.status).toBe('not-run');

    const slow = await runSecurityScan({ required: true, failOn: 'high', scanners: [{ ...scanner('slow', ['sleep', '30']), timeoutSeconds: 1 }] });
    expect(slow.scanners[0]).toMatchObject({ status: 'crashed', detail: 'killed after its timeout of 1s' });
  });

  it('records "not run" explicitly when no scanner is configured', async () => {
    expect(await runSecurityScan({ required: false, failOn: 'high', scanners: [] })).toMatchObject({
      status: 'not-run',
      problems: ['no scanner is configured: not run'],
    });
    expect(await runSecurityScan({ required: true, failOn: 'high', scanners: [] })).toMatchObject({
      status: 'fail',
      problems: ['no scanner is configured: not run, but the policy requires a scan'],
    });
  });

  it('parses Grype, pip-audit and SARIF output', () => {
    expect(parseFindings('grype', JSON.stringify({ matches: [{ vulnerability: { id: 'GHSA-x', severity: 'Critical' }, artifact: { name: 'openssl' } }] }))).toEqual([
      { id: 'GHSA-x', severity: 'critical', package: 'openssl', title: '' },
    ]);
    expect(parseFindings('pip-audit', JSON.stringify({ dependencies: [{ name: 'flask', version: '0.5', vulns: [{ id: 'PYSEC-1', description: 'bad' }] }, { name: 'ok', vulns: [] }] }))).toEqual([
      { id: 'PYSEC-1', severity: 'high', package: 'flask', title: 'bad' },
    ]);
    const sarif = {
      runs: [{ tool: { driver: { rules: [{ id: 'R1', properties: { 'security-severity': '9.8' } }] } }, results: [{ ruleId: 'R1', message: { text: 'rce' } }, { ruleId: 'R2', level: 'note', message: { text: 'style' } }] }],
    };
    expect(parseFindings('sarif', JSON.stringify(sarif)).map((f) => [f.id, f.severity])).toEqual([
      ['R1', 'critical'],
      ['R2', 'low'],
    ]);
    expect(() => parseFindings('grype', '{"results":[]}')).toThrow(/no "matches" array/);
  });
});

describe('approval signatures', () => {
  const statement: ApprovalStatement = {
    gate: 'cg:credit:v3',
    model: 'credit',
    version: 3,
    evidenceBundleSha256: 'a'.repeat(64),
    decision: 'approved',
    approver: 'alice@acme.example',
    role: 'ml-lead',
    comment: 'Reviewed the bias audit — fine.\nSecond line "quoted".',
  };

  it('signs with node:crypto (the CLI) and verifies in pure JS (the workflow), bound to every field', () => {
    const keys = generateApproverKeys();
    const privateKey = loadPrivateKey(keys.privateKeyPem, 'test key');
    expect(publicKeyOfPrivate(privateKey)).toBe(keys.publicKey);
    const signature = signStatement(privateKey, statement);
    expect(decodeBase64(signature)).toHaveLength(64);
    expect(verifyApproval(statement, signature, keys.publicKey)).toBe(true);
    for (const change of [
      { gate: 'cg:credit:v4' },
      { model: 'credit2' },
      { version: 4 },
      { evidenceBundleSha256: 'b'.repeat(64) },
      { decision: 'rejected' as const },
      { approver: 'mallory' },
      { role: 'risk' },
      { comment: 'something else' },
    ]) {
      expect(verifyApproval({ ...statement, ...change }, signature, keys.publicKey)).toBe(false);
    }
    expect(verifyApproval(statement, signature, generateApproverKeys().publicKey)).toBe(false);
    expect(verifyApproval(statement, 'not base64!', keys.publicKey)).toBe(false);
    expect(verifyApproval(statement, signature.slice(0, -4), keys.publicKey)).toBe(false);
  });

  it('signs a text in which no field can pose as another', () => {
    expect(approvalMessage({ ...statement, comment: 'x"\nrole: "risk' })).toBe(
      [
        'driftline approval statement v1',
        'gate: "cg:credit:v3"',
        'model: "credit"',
        'version: 3',
        `evidence-bundle-sha256: ${'a'.repeat(64)}`,
        'decision: approved',
        'approver: "alice@acme.example"',
        'role: "ml-lead"',
        'comment: "x\\"\\nrole: \\"risk"',
        '',
      ].join('\n'),
    );
  });

  it('encodes base64 canonically', () => {
    for (const n of [0, 1, 2, 3, 31, 32, 33, 64]) {
      const bytes = Uint8Array.from({ length: n }, (_, i) => (i * 37 + 11) & 0xff);
      expect(encodeBase64(bytes)).toBe(Buffer.from(bytes).toString('base64'));
      expect(decodeBase64(Buffer.from(bytes).toString('base64'))).toEqual(bytes);
    }
    expect(decodeBase64('QQ=')).toBeNull();
    expect(decodeBase64('QR==')).toBeNull(); // stray bits in the padding
  });
});

describe('policy and approvers file', () => {
  const key = () => {
    const { publicKey } = generateKeyPairSync('ed25519');
    return Buffer.from(publicKey.export({ format: 'jwk' }).x!, 'base64url').toString('base64');
  };
  const policy = {
    checks: { provenance: { requiredMetadata: ['consent'] } },
    approvers: { file: 'file:///repo/approvers.json' },
    quorum: { 'ml-lead': 1, risk: 1 },
    deadlines: { escalateAfter: '2 days', rejectAfter: '7 days' },
  };

  it('fills defaults and names the offending field', () => {
    const parsed = compliancePolicySchema.parse(policy);
    expect(parsed.onCheckFailure).toBe('reject');
    expect(parsed.checks.provenance).toEqual({ requiredMetadata: ['consent'], metadataSuffix: '.meta.json', verifyArtifact: true });
    const bad = (p: unknown) => describeIssue(compliancePolicySchema.safeParse(p).error!);
    expect(bad({ ...policy, deadlines: { escalateAfter: '2 fortnights', rejectAfter: '7 days' } })).toBe(
      'deadlines.escalateAfter: must be a duration such as "30 seconds", "4 hours" or "7 days"',
    );
    expect(bad({ ...policy, deadlines: { escalateAfter: '8 days', rejectAfter: '7 days' } })).toBe('deadlines.escalateAfter: escalateAfter must be shorter than rejectAfter');
    expect(bad({ ...policy, quorum: { 'ML Lead': 1 } })).toMatch(/^quorum\.ML Lead: /);
    expect(bad({ ...policy, checks: { bias: { minGroupSize: 0 } } })).toMatch(/^checks\.bias\.minGroupSize: /);
    expect(bad({ ...policy, checks: { fairness: {} } })).toMatch(/^checks: Unrecognized key/);
    expect(bad({ ...policy, deadlines: { escalateAfter: '1 day', rejectAfter: '2 days', approveAfter: '3 days' } })).toMatch(/^deadlines: Unrecognized key.*approveAfter/);
    expect([durationMs('90 seconds'), durationMs('2h'), durationMs('1.5 days'), durationMs('0 s'), durationMs('soon')]).toEqual([90_000, 7_200_000, 129_600_000, null, null]);
  });

  it('checks approvers, keys, escalation contacts and whether the quorum can be met', () => {
    const file: ApproversFile = approversFileSchema.parse({
      approvers: [
        { id: 'alice', roles: ['ml-lead'], publicKey: key() },
        { id: 'carol', roles: ['risk'], publicKey: key() },
      ],
      escalation: ['carol'],
    });
    expect(quorumProblems(compliancePolicySchema.parse(policy), file, 'dave')).toEqual([]);
    expect(quorumProblems(compliancePolicySchema.parse(policy), file, 'carol')).toEqual([
      'role "risk" needs 1 approval but the approvers file lists 0 eligible holders (the requester carol cannot approve their own change)',
    ]);
    const bad = (f: unknown) => describeIssue(approversFileSchema.safeParse(f).error!);
    expect(bad({ approvers: [{ id: 'alice', roles: ['ml-lead'], publicKey: 'abc' }] })).toBe('approvers[0].publicKey: must be an Ed25519 public key: base64 of 32 bytes');
    const k = key();
    expect(bad({ approvers: [{ id: 'alice', roles: ['ml-lead'], publicKey: k }, { id: 'bob', roles: ['risk'], publicKey: k }] })).toBe('approvers[1].publicKey: "bob" has the same public key as "alice"');
    expect(bad({ approvers: [{ id: 'alice', roles: ['ml-lead'], publicKey: key() }], escalation: ['zed'] })).toBe('escalation[0]: "zed" is not an approver listed in this file');
    expect(bad({ approvers: [{ id: 'alice', roles: [], publicKey: key() }] })).toMatch(/^approvers\[0\]\.roles: /);
  });
});
