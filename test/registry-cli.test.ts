/**
 * The registry as a person uses it: `driftline models list|show` and `driftline audit log|verify`,
 * run as real processes against a real database; tampering done with plain SQL makes
 * `audit verify` name the first bad event and exit non-zero.
 */
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { sql } from 'kysely';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { PostgresModelRegistry } from '../activities/registry/postgres-registry.ts';
import { isolatedDatabase, type IsolatedDatabase } from './helpers/databases.ts';
import { lineage, sha } from './helpers/lineage.ts';
import { runCli } from './helpers/processes.ts';

let iso: IsolatedDatabase;
let env: NodeJS.ProcessEnv;
let dir: string;

beforeAll(async () => {
  iso = await isolatedDatabase();
  dir = await mkdtemp(join(tmpdir(), 'driftline-cli-'));
  env = { ...process.env, DATABASE_URL: iso.url, DRIFTLINE_HOME: join(dir, '.driftline') };
  const registry = new PostgresModelRegistry(iso.db);
  const base = { model: 'fraud-detector', owner: 'risk-ml', actor: 'ci@github', workflow: { workflowId: 'ct:fraud-detector:3f2c1d9', runId: 'r1' } };
  await registry.registerVersion({ ...base, lineage: lineage(), idempotencyKey: 'v1' });
  await registry.registerVersion({ ...base, lineage: lineage({ metrics: { accuracy: 0.95, f1: 0.9 } }), idempotencyKey: 'v2' });
  await registry.moveAlias({ model: 'fraud-detector', alias: 'champion', version: 2, actor: 'alice', reason: 'beats v1 on holdout', idempotencyKey: 'a1' });
  await registry.attachEvidence({ model: 'fraud-detector', version: 2, kind: 'bias-audit', uri: 's3://acme-ml/reports/bias.json', sha256: sha('bias'), actor: 'compliance-gate' });
  await registry.recordApproval({
    model: 'fraud-detector',
    version: 2,
    decision: 'approved',
    approver: 'alice',
    role: 'risk-officer',
    evidenceBundleSha256: sha('bundle'),
    idempotencyKey: 'ap1',
  });
});
afterAll(async () => {
  await iso?.dispose();
});

describe('driftline models', () => {
  it('lists models', async () => {
    const { code, output } = await runCli(['models', 'list', '--json'], env);
    expect(code).toBe(0);
    expect(JSON.parse(output)).toMatchObject([{ name: 'fraud-detector', latestVersion: 2, aliases: { champion: 2 }, owner: 'risk-ml' }]);
    const text = await runCli(['models', 'list'], env);
    expect(text.output).toMatch(/fraud-detector\s+v2\s+champion=v2\s+risk-ml/);
  });

  it('shows a version with its whole lineage', async () => {
    const { code, output } = await runCli(['models', 'show', 'fraud-detector@champion'], env);
    expect(code).toBe(0);
    for (const expected of [
      'fraud-detector v2  [registered]  aliases: champion',
      'code        github.com/acme/fraud @ 3f2c1d9e8b7a',
      `sha256 ${sha('train')}`,
      `sha256 ${sha('holdout')}`,
      's3://acme-ml/fraud/models/model.tar.gz',
      'training    sagemaker job driftline-ct-fraud-3f2c1d9',
      'parameters  features=["amount","merchant"]  learningRate=0.1  maxDepth=6',
      'metrics     accuracy=0.95  f1=0.9',
      'workflow    ct:fraud-detector:3f2c1d9 (run r1)',
      'champion  new -> v2  by alice  "beats v1 on holdout"',
      `bias-audit  s3://acme-ml/reports/bias.json  sha256 ${sha('bias')}`,
      'approved by alice (risk-officer)',
    ]) {
      expect(output).toContain(expected);
    }
    const json = JSON.parse((await runCli(['models', 'show', 'fraud-detector@1', '--json'], env)).output);
    expect(json.lineage).toEqual(lineage());
  });

  it('explains unknown and malformed references in one line', async () => {
    const ghost = await runCli(['models', 'show', 'ghost'], env);
    expect(ghost.code).toBe(2);
    expect(ghost.output.trim()).toBe('driftline: There is no model named "ghost".');
    const badAlias = await runCli(['models', 'show', 'fraud-detector@production'], env);
    expect(badAlias.output.trim()).toBe('driftline: Model "fraud-detector" has no alias "production".');
    const malformed = await runCli(['models', 'show', 'Fraud Detector'], env);
    expect(malformed.code).toBe(2);
    expect(malformed.output).toContain('is not a model reference');
  });
});

describe('driftline audit', () => {
  it('prints the log and verifies an intact chain, exporting its head', async () => {
    const log = await runCli(['audit', 'log', '--model', 'fraud-detector'], env);
    expect(log.code).toBe(0);
    expect(log.output).toMatch(/#4\s+\S+\s+alice\s+alias\.moved\s+fraud-detector@v2\s+champion: new -> v2 "beats v1 on holdout"/);
    const headFile = join(dir, 'anchors', 'head.json');
    const verify = await runCli(['audit', 'verify', '--export-head', headFile], env);
    expect(verify.code).toBe(0);
    expect(verify.output).toContain('audit chain intact: 6 events, head #6');
    expect(JSON.parse(await readFile(headFile, 'utf8'))).toMatchObject({ seq: 6, hash: expect.stringMatching(/^[0-9a-f]{64}$/) });
  });

  it.runIf(inject('motoEndpoint'))('anchors the head in S3 and catches a truncated log with it', async () => {
    const endpoint = inject('motoEndpoint')!;
    const awsEnv = { AWS_ENDPOINT_URL: endpoint, AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing', AWS_REGION: 'us-east-1' };
    const s3 = new S3Client({ endpoint, forcePathStyle: true, region: 'us-east-1', credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } });
    await s3.send(new CreateBucketCommand({ Bucket: 'audit-anchors' }));
    const exported = await runCli(['audit', 'verify', '--export-head', 's3://audit-anchors/driftline/head.json'], { ...env, ...awsEnv });
    expect(exported.code).toBe(0);
    expect(exported.output).toContain('chain head written to s3://audit-anchors/driftline/head.json');

    // someone removes the approval and its event, and fixes up the head so the chain looks whole
    await sql`delete from approvals`.execute(iso.db);
    await sql`delete from audit_log where seq = 6`.execute(iso.db);
    const fifth = await sql<{ hash: string }>`select hash from audit_log where seq = 5`.execute(iso.db);
    await sql`update audit_head set seq = 5, hash = ${fifth.rows[0]!.hash}`.execute(iso.db);
    expect((await runCli(['audit', 'verify'], env)).code).toBe(0);

    const anchored = await runCli(['audit', 'verify', '--anchor', 's3://audit-anchors/driftline/head.json'], { ...env, ...awsEnv });
    expect(anchored.code).toBe(4);
    expect(anchored.output).toContain('audit chain BROKEN at event #6 (truncated)');
  });

  it('names the first event changed behind the registry and exits non-zero', async () => {
    await sql`update audit_log set actor = 'mallory' where seq = 4`.execute(iso.db);
    const verify = await runCli(['audit', 'verify'], env);
    expect(verify.code).toBe(4);
    expect(verify.output).toContain('audit chain BROKEN at event #4 (altered): the content of event 4 no longer matches its hash');
    const json = JSON.parse((await runCli(['audit', 'verify', '--json'], env)).output);
    expect(json).toMatchObject({ ok: false, problem: { seq: 4, kind: 'altered' } });
  });
});
