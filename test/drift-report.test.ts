/**
 * The drift report end to end on the bundled credit example: its JSON shape and every number in
 * it against the scipy-checked statistics functions, reference profiles (round trip, content
 * addressing, reuse without the reference data, S3), the policy (defaults by kind and size,
 * overrides, Benjamini-Hochberg, insufficient data, the dataset threshold), and the `driftline
 * drift` command run as a real process.
 */
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  benjaminiHochberg,
  chiSquareHomogeneity,
  compareNumericColumns,
  countCategories,
  DriftPolicyError,
  jensenShannonFromCounts,
  klFromCounts,
  parseDriftPolicy,
  psiFromCounts,
  twoProportionZTest,
  type DriftReport,
  type FeatureReport,
  type NumericDriftStatistics,
} from '../core/drift/index.ts';
import { ApplicationFailure } from '@temporalio/common';
import { createDriftActivities } from '../activities/drift/activities.ts';
import { DriftDataError } from '../activities/drift/errors.ts';
import { decodeProfile, encodeProfile, fitAndStoreProfile, fitProfile, loadProfile, storeProfile } from '../activities/drift/profile.ts';
import { computeDriftReport } from '../activities/drift/report.ts';
import { freePort } from './helpers/ports.ts';
import { runCli } from './helpers/processes.ts';

const EXAMPLES = new URL('../scripts/examples/credit/', import.meta.url).pathname;
const TRAIN = join(EXAMPLES, 'train.csv');
const DRIFTED = join(EXAMPLES, 'current-drifted.csv');
const HOLDOUT = join(EXAMPLES, 'holdout.csv');

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'driftline-drift-report-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function csvByHand(path: string): { header: string[]; rows: string[][] } {
  const lines = readFileSync(path, 'utf8').trimEnd().split('\n');
  return { header: lines[0]!.split(','), rows: lines.slice(1).map((l) => l.split(',')) };
}

function columnOf(path: string, name: string): string[] {
  const { header, rows } = csvByHand(path);
  const j = header.indexOf(name);
  return rows.map((r) => r[j]!);
}

function numbersOf(path: string, name: string): Float64Array {
  return Float64Array.from(columnOf(path, name), Number);
}

/** The first `rows` data rows of a CSV, as a new file. */
function head(path: string, rows: number, name: string): string {
  const lines = readFileSync(path, 'utf8').split('\n');
  const out = join(dir, name);
  writeFileSync(out, `${lines.slice(0, rows + 1).join('\n')}\n`);
  return out;
}

function feature(report: DriftReport, name: string): FeatureReport {
  const found = report.features.find((f) => f.name === name);
  if (!found) throw new Error(`no feature ${name}`);
  return found;
}

const NUMERIC = ['income', 'debt_ratio', 'age', 'late_payments'];

describe('the report', () => {
  it('has exactly the documented shape, and every number is the statistics functions\' own', async () => {
    const report = await computeDriftReport({ reference: TRAIN, current: DRIFTED, allStatistics: true });
    expect(Object.keys(report)).toEqual(['reference', 'current', 'features', 'datasetDrift', 'driftShare', 'generatedAt']);
    expect(report.reference).toEqual({ uri: pathToFileURL(TRAIN).href, sha256: expect.stringMatching(/^[0-9a-f]{64}$/), rows: 3000 });
    expect(report.current).toEqual({ uri: pathToFileURL(DRIFTED).href, sha256: expect.stringMatching(/^[0-9a-f]{64}$/), rows: 1000 });
    expect(new Date(report.generatedAt).toISOString()).toBe(report.generatedAt);
    expect(report.features.map((f) => f.name)).toEqual(['income', 'debt_ratio', 'age', 'late_payments', 'employment', 'default']);
    for (const f of report.features) {
      expect(Object.keys(f)).toEqual(['name', 'kind', 'method', 'score', 'pValue', 'threshold', 'drift', 'statistics', 'missing', 'status']);
      expect(f.status).toBe('ok');
      expect(f.missing).toEqual({ reference: 0, current: 0 });
    }

    // Numeric columns: a 3,000-row reference is "large": Wasserstein (normed) >= 0.1.
    for (const name of NUMERIC) {
      const f = feature(report, name);
      const expected = compareNumericColumns(numbersOf(TRAIN, name), numbersOf(DRIFTED, name), { bins: 10 }) as NumericDriftStatistics;
      expect(f.kind).toBe('numeric');
      expect(f.method).toBe('wasserstein');
      expect(f.threshold).toBe(0.1);
      expect(f.statistics).toEqual({
        ks: expected.ks.statistic,
        ksPValue: expected.ks.pValue,
        wasserstein: expected.wasserstein.distance,
        wassersteinNormed: expected.wasserstein.normalised,
        psi: expected.binned.psi,
        jensenShannon: expected.binned.jensenShannon,
        klDivergence: expected.binned.kl,
      });
      expect(f.score).toBe(expected.wasserstein.normalised);
      expect(f.pValue).toBeNull();
      expect(f.drift).toBe(expected.wasserstein.normalised >= 0.1);
    }

    // Categorical: Jensen-Shannon on the category counts; chi-square etc. as extras.
    const counts = countCategories(columnOf(TRAIN, 'employment'), columnOf(DRIFTED, 'employment'));
    const chi = chiSquareHomogeneity(counts.referenceCounts, counts.currentCounts);
    const employment = feature(report, 'employment');
    expect(employment).toMatchObject({ kind: 'categorical', method: 'jensen-shannon', threshold: 0.1, pValue: null });
    expect(employment.statistics).toEqual({
      chiSquare: chi.statistic,
      chiSquarePValue: chi.pValue,
      psi: psiFromCounts(counts.referenceCounts, counts.currentCounts),
      jensenShannon: jensenShannonFromCounts(counts.referenceCounts, counts.currentCounts),
      klDivergence: klFromCounts(counts.referenceCounts, counts.currentCounts),
    });
    expect(employment.score).toBe(employment.statistics.jensenShannon);

    // Binary: the two-proportion z-test, p < 0.05.
    const ref = numbersOf(TRAIN, 'default');
    const cur = numbersOf(DRIFTED, 'default');
    const ones = (a: Float64Array) => a.reduce((s, v) => s + v, 0);
    const z = twoProportionZTest(ones(ref), ref.length, ones(cur), cur.length);
    const label = feature(report, 'default');
    expect(label).toMatchObject({ kind: 'binary', method: 'z-test', threshold: 0.05, score: z.statistic, pValue: z.pValue, drift: z.pValue < 0.05 });
    expect(label.statistics.zTestPValue).toBe(z.pValue);

    const drifted = report.features.filter((f) => f.drift).length;
    expect(drifted).toBe(4); // income, debt_ratio, late_payments shifted by the generator; default follows them
    expect(report.driftShare).toBe(drifted / 6);
    expect(report.datasetDrift).toBe(true);
  });

  it('reports only the method\'s statistics unless all are asked for', async () => {
    const report = await computeDriftReport({ reference: TRAIN, current: DRIFTED });
    expect(Object.keys(feature(report, 'income').statistics)).toEqual(['wasserstein', 'wassersteinNormed']);
    expect(Object.keys(feature(report, 'employment').statistics)).toEqual(['jensenShannon']);
    expect(Object.keys(feature(report, 'default').statistics)).toEqual(['zTestPValue']);
  });

  it('finds no drift between the training data and a holdout from the same distribution', async () => {
    const report = await computeDriftReport({ reference: TRAIN, current: HOLDOUT });
    expect(report.features.filter((f) => f.drift)).toEqual([]);
    expect(report.driftShare).toBe(0);
    expect(report.datasetDrift).toBe(false);
  });
});

describe('the policy', () => {
  it('defaults: a reference of at most 1,000 rows gets KS and chi-square (p < 0.05)', async () => {
    const small = head(TRAIN, 1000, 'train-1000.csv');
    const report = await computeDriftReport({ reference: small, current: DRIFTED });
    expect(report.features.map((f) => [f.name, f.method, f.threshold])).toEqual([
      ['income', 'ks', 0.05],
      ['debt_ratio', 'ks', 0.05],
      ['age', 'ks', 0.05],
      ['late_payments', 'ks', 0.05],
      ['employment', 'chi-square', 0.05],
      ['default', 'z-test', 0.05],
    ]);
    const income = feature(report, 'income');
    const expected = compareNumericColumns(numbersOf(small, 'income'), numbersOf(DRIFTED, 'income')) as NumericDriftStatistics;
    expect(income.score).toBe(expected.ks.statistic);
    expect(income.pValue).toBe(expected.ks.pValue);
    expect(income.drift).toBe(expected.ks.pValue < 0.05);
    expect(income.statistics).toEqual({ ks: expected.ks.statistic, ksPValue: expected.ks.pValue });
    const employment = feature(report, 'employment');
    expect(employment.pValue).toBe(employment.statistics.chiSquarePValue);
  });

  it('per-column methods, thresholds, kinds and ignored columns; per-method default thresholds', async () => {
    const report = await computeDriftReport({
      reference: TRAIN,
      current: DRIFTED,
      policy: {
        thresholds: { wasserstein: 0.5 },
        columns: {
          income: { method: 'psi', threshold: 0.2 },
          age: { ignore: true },
          late_payments: { kind: 'categorical' },
          employment: { method: 'chi-square', threshold: 0.001 },
        },
      },
    });
    expect(report.features.map((f) => [f.name, f.kind, f.method, f.threshold])).toEqual([
      ['income', 'numeric', 'psi', 0.2],
      ['debt_ratio', 'numeric', 'wasserstein', 0.5],
      ['late_payments', 'categorical', 'jensen-shannon', 0.1],
      ['employment', 'categorical', 'chi-square', 0.001],
      ['default', 'binary', 'z-test', 0.05],
    ]);
    const income = feature(report, 'income');
    expect(income.score).toBe(income.statistics.psi);
    expect(income.drift).toBe((income.score as number) >= 0.2);
    const late = countCategories(columnOf(TRAIN, 'late_payments'), columnOf(DRIFTED, 'late_payments'));
    expect(feature(report, 'late_payments').score).toBe(jensenShannonFromCounts(late.referenceCounts, late.currentCounts));
    const employment = feature(report, 'employment');
    expect(employment.drift).toBe((employment.pValue as number) < 0.001);
  });

  it('refuses a method that does not fit the column, and malformed policies, by name', async () => {
    await expect(computeDriftReport({ reference: TRAIN, current: DRIFTED, policy: { columns: { employment: { method: 'ks' } } } })).rejects.toThrow(
      /column "employment" is categorical, and ks does not apply to it/,
    );
    expect(() => parseDriftPolicy({ columns: { x: { kind: 'binary', method: 'wasserstein' } } })).toThrow(DriftPolicyError);
    expect(() => parseDriftPolicy({ thresholds: { ks: 1.5 } })).toThrow(/thresholds\.ks: a p-value threshold must be below 1/);
    expect(() => parseDriftPolicy({ minRows: 0 })).toThrow(/minRows/);
    expect(() => parseDriftPolicy({ unknownKey: 1 })).toThrow(DriftPolicyError);
    expect(parseDriftPolicy(undefined)).toMatchObject({ minRows: 30, bins: 10, smallReferenceRows: 1000, correction: 'none', datasetDriftShare: 0.5 });
  });

  it('Benjamini-Hochberg equals statsmodels multipletests(method="fdr_bh")', () => {
    // statsmodels 0.15: multipletests([0.01, 0.04, 0.03, 0.2, 0.005, 0.04, 0.9], method='fdr_bh')[1]
    const expected = [0.035, 0.056, 0.056, 0.23333333333333336, 0.035, 0.056, 0.9];
    const adjusted = benjaminiHochberg([0.01, 0.04, 0.03, 0.2, 0.005, 0.04, 0.9]);
    adjusted.forEach((p, i) => expect(p).toBeCloseTo(expected[i]!, 15));
    expect(benjaminiHochberg([])).toEqual([]);
  });

  it('with the correction, p-value tests are judged on BH-adjusted p-values across columns', async () => {
    const small = head(TRAIN, 600, 'train-600.csv');
    const plain = await computeDriftReport({ reference: small, current: HOLDOUT });
    const corrected = await computeDriftReport({ reference: small, current: HOLDOUT, policy: { correction: 'benjamini-hochberg' } });
    const raw = plain.features.map((f) => f.pValue as number);
    const adjusted = benjaminiHochberg(raw);
    corrected.features.forEach((f, i) => {
      expect(f.pValue).toBeCloseTo(adjusted[i]!, 15);
      expect(f.statistics).toEqual(plain.features[i]!.statistics); // the raw p-values stay in statistics
      expect(f.drift).toBe(adjusted[i]! < f.threshold);
    });
  });

  it('too few rows gives "insufficient data", never a verdict, and does not count toward the share', async () => {
    const tiny = head(DRIFTED, 20, 'current-20.csv');
    const report = await computeDriftReport({ reference: TRAIN, current: tiny });
    for (const f of report.features) {
      expect(f).toMatchObject({ status: 'insufficient-data', score: null, pValue: null, drift: false, statistics: {} });
    }
    expect(report.driftShare).toBe(0);
    expect(report.datasetDrift).toBe(false);
    const lowered = await computeDriftReport({ reference: TRAIN, current: tiny, policy: { minRows: 10 } });
    expect(lowered.features.every((f) => f.status === 'ok')).toBe(true);

    // One column missing in almost every current row: only that column lacks a verdict.
    const { header, rows } = csvByHand(DRIFTED);
    const j = header.indexOf('income');
    const sparse = join(dir, 'sparse-income.csv');
    writeFileSync(sparse, `${header.join(',')}\n${rows.map((r, i) => r.map((v, k) => (k === j && i >= 5 ? '' : v)).join(',')).join('\n')}\n`);
    const partial = await computeDriftReport({ reference: TRAIN, current: sparse });
    expect(feature(partial, 'income')).toMatchObject({ status: 'insufficient-data', missing: { reference: 0, current: 995 } });
    expect(partial.features.filter((f) => f.status === 'ok')).toHaveLength(5);
    expect(partial.driftShare).toBe(partial.features.filter((f) => f.drift).length / 5);
  });

  it('the dataset threshold decides the dataset verdict', async () => {
    const strict = await computeDriftReport({ reference: TRAIN, current: DRIFTED, policy: { datasetDriftShare: 0.9 } });
    expect(strict.driftShare).toBeCloseTo(4 / 6, 15);
    expect(strict.datasetDrift).toBe(false);
  });
});

describe('reference profiles', () => {
  it('round-trip through one artifact, content-addressed and deterministic, with the same report', async () => {
    const store = join(dir, 'store');
    const stored = await fitAndStoreProfile({ data: TRAIN, out: store });
    expect(stored.uri).toMatch(new RegExp(`^${pathToFileURL(store).href}/sha256/${stored.sha256.slice(0, 2)}/${stored.sha256}\\.dlprof$`));
    expect(stored.rows).toBe(3000);
    expect(stored.columns).toEqual([
      { name: 'income', kind: 'numeric' },
      { name: 'debt_ratio', kind: 'numeric' },
      { name: 'age', kind: 'numeric' },
      { name: 'late_payments', kind: 'numeric' },
      { name: 'employment', kind: 'categorical' },
      { name: 'default', kind: 'binary' },
    ]);
    const again = await fitAndStoreProfile({ data: TRAIN, out: store });
    expect(again.sha256).toBe(stored.sha256); // a retried fit stores nothing new

    // The bytes decode to exactly what was fitted: sorted values (incl. run-length columns), counts, edges.
    const profile = await fitProfile({ data: TRAIN });
    const decoded = decodeProfile(encodeProfile(profile), 'memory');
    expect(decoded).toEqual(profile);
    const age = decoded.columns.find((c) => c.name === 'age')!;
    expect(age.summary.kind === 'numeric' && Array.from(age.summary.sorted.values)).toEqual(Array.from(numbersOf(TRAIN, 'age')).sort((a, b) => a - b));
    expect(age.edges.length).toBeGreaterThan(0);

    const fromData = await computeDriftReport({ reference: TRAIN, current: DRIFTED, allStatistics: true });
    const fromProfile = await computeDriftReport({ reference: stored.uri, current: DRIFTED, allStatistics: true });
    expect(fromProfile.reference).toEqual({ uri: stored.uri, sha256: stored.sha256, rows: 3000 });
    expect(fromProfile.features).toEqual(fromData.features);
    expect(fromProfile.driftShare).toBe(fromData.driftShare);
  });

  it('compares many windows without the reference data, loading a content-addressed profile once', async () => {
    const copy = join(dir, 'train-copy.csv');
    copyFileSync(TRAIN, copy);
    const stored = await fitAndStoreProfile({ data: copy, out: join(dir, 'store-reuse') });
    unlinkSync(copy); // the reference data is gone: only the profile remains
    const first = await loadProfile(stored.uri);
    const drifted = await computeDriftReport({ reference: stored.uri, current: DRIFTED });
    const holdout = await computeDriftReport({ reference: stored.uri, current: HOLDOUT });
    expect(await loadProfile(stored.uri)).toBe(first); // cached: not read again
    expect(drifted.datasetDrift).toBe(true);
    expect(holdout.datasetDrift).toBe(false);
    expect(first.profile.source.uri).toBe(pathToFileURL(copy).href);
  });

  it('refuses a damaged or foreign profile by name', async () => {
    const stored = await fitAndStoreProfile({ data: TRAIN, out: join(dir, 'store-damage') });
    mkdirSync(join(dir, 'damaged'), { recursive: true });
    const bytes = readFileSync(new URL(stored.uri));
    bytes[bytes.length - 1] = (bytes[bytes.length - 1] as number) ^ 0xff;
    const damagedPath = join(dir, 'damaged', `${stored.sha256}.dlprof`);
    writeFileSync(damagedPath, bytes);
    const damaged = await computeDriftReport({ reference: damagedPath, current: DRIFTED }).catch((e: unknown) => e);
    expect(damaged).toBeInstanceOf(DriftDataError);
    expect((damaged as DriftDataError).problem).toBe('bad-profile');
    expect((damaged as Error).message).toContain('is damaged');
    const foreign = join(dir, 'foreign.dlprof');
    writeFileSync(foreign, 'income,age\n1,2\n');
    await expect(computeDriftReport({ reference: foreign, current: DRIFTED })).rejects.toThrow(/foreign\.dlprof is not a usable drift profile/);
  });

  const motoEndpoint = inject('motoEndpoint');
  it.skipIf(!motoEndpoint && process.env.CI !== 'true')('stores and loads a profile in S3 (moto)', async () => {
    if (!motoEndpoint) throw new Error('moto_server is required in CI');
    Object.assign(process.env, { AWS_ENDPOINT_URL: motoEndpoint, AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing', AWS_REGION: 'us-east-1' });
    const bucket = `drift-profiles-${Date.now()}`;
    const s3 = new S3Client({ endpoint: motoEndpoint, forcePathStyle: true, region: 'us-east-1', credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } });
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    s3.destroy();
    const profile = await fitProfile({ data: TRAIN });
    const stored = await storeProfile(profile, `s3://${bucket}/profiles`);
    expect(stored.uri).toBe(`s3://${bucket}/profiles/sha256/${stored.sha256.slice(0, 2)}/${stored.sha256}.dlprof`);
    const report = await computeDriftReport({ reference: stored.uri, current: DRIFTED });
    expect(report.reference).toEqual({ uri: stored.uri, sha256: stored.sha256, rows: 3000 });
    expect(report.datasetDrift).toBe(true);
    const missing = await computeDriftReport({ reference: `s3://${bucket}/profiles/absent.dlprof`, current: DRIFTED }).catch((e: unknown) => e);
    expect((missing as DriftDataError).problem).toBe('not-found');
  });
});

describe('the activities the drift monitor calls', () => {
  it('checkDrift stores the JSON and HTML reports by content and returns references and the verdict', async () => {
    const root = join(dir, 'activity-artifacts');
    const activities = createDriftActivities({ artifactsRoot: root });
    const profile = await activities.fitDriftProfile({ data: TRAIN });
    const result = await activities.checkDrift({ reference: profile.uri, window: DRIFTED });
    expect(result).toMatchObject({
      window: { uri: pathToFileURL(DRIFTED).href },
      datasetDrift: true,
      driftedColumns: ['income', 'debt_ratio', 'late_payments', 'default'],
      insufficientColumns: [],
    });
    const stored = JSON.parse(readFileSync(new URL(result.report.uri), 'utf8')) as DriftReport;
    expect(stored.reference.uri).toBe(profile.uri);
    expect(stored.driftShare).toBe(result.driftShare);
    expect(result.report.uri).toMatch(new RegExp(`/sha256/${result.report.sha256.slice(0, 2)}/${result.report.sha256}\\.json$`));
    expect(readFileSync(new URL(result.htmlReport!.uri), 'utf8')).toContain('<svg class="plot"');
  });

  it('bad input is a non-retryable InvalidInput failure naming the file and column', async () => {
    const activities = createDriftActivities({ artifactsRoot: join(dir, 'activity-artifacts') });
    const raggedPath = join(dir, 'ragged-window.csv');
    writeFileSync(raggedPath, 'income,debt_ratio\n1,2\n3\n');
    const failure = await activities.checkDrift({ reference: TRAIN, window: raggedPath }).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(ApplicationFailure);
    expect((failure as ApplicationFailure).nonRetryable).toBe(true);
    expect((failure as ApplicationFailure).type).toBe('InvalidInput');
    expect((failure as ApplicationFailure).message).toContain(`${raggedPath} line 3`);
    const policy = await activities.checkDrift({ reference: TRAIN, window: DRIFTED, policy: { minRows: -1 } }).catch((e: unknown) => e);
    expect((policy as ApplicationFailure).nonRetryable).toBe(true);
  });
});

// Each case starts real `driftline` processes (TypeScript compiled on the fly): give a busy machine room.
describe('driftline drift (the CLI, as a real process)', { timeout: 240_000 }, () => {
  const env = () => ({ ...process.env, DRIFTLINE_HOME: join(dir, 'home'), NO_COLOR: '1' });

  it('prints the report as JSON, equal to computeDriftReport; exit 0 on drift, 4 with --fail-on-drift', async () => {
    const { code, output } = await runCli(['drift', '--reference', TRAIN, '--current', DRIFTED, '--json', '--all-statistics'], env());
    expect(code).toBe(0);
    const printed = JSON.parse(output) as DriftReport;
    const direct = await computeDriftReport({ reference: TRAIN, current: DRIFTED, allStatistics: true });
    expect({ ...printed, generatedAt: '' }).toEqual({ ...direct, generatedAt: '' });

    const failing = await runCli(['drift', '--reference', TRAIN, '--current', DRIFTED, '--fail-on-drift'], env());
    expect(failing.code).toBe(4);
    expect(failing.output).toMatch(/Dataset drift: YES: 4 of 6 columns drifted/);
    expect(failing.output).toMatch(/late_payments\s+numeric\s+wasserstein\s+[\d.]+\s+-\s+0\.1\s+DRIFT/);
    const calm = await runCli(['drift', '--reference', TRAIN, '--current', HOLDOUT, '--fail-on-drift'], env());
    expect(calm.code).toBe(0);
    expect(calm.output).toMatch(/Dataset drift: no: 0 of 6 columns drifted/);
  });

  it('fits a profile with `drift profile`, then compares against it and writes the HTML report', async () => {
    const store = join(dir, 'cli-store');
    const fitted = await runCli(['drift', 'profile', '--data', TRAIN, '--out', store, '--json'], env());
    expect(fitted.code).toBe(0);
    const stored = JSON.parse(fitted.output) as { uri: string; sha256: string; rows: number };
    expect(stored.rows).toBe(3000);
    const html = join(dir, 'cli-report.html');
    const policy = join(dir, 'policy.json');
    writeFileSync(policy, JSON.stringify({ columns: { age: { ignore: true } } }));
    const compared = await runCli(['drift', '--reference', stored.uri, '--current', DRIFTED, '--html', html, '--policy', policy], env());
    expect(compared.code).toBe(0);
    expect(compared.output).toContain(`Reference  ${stored.uri}`);
    expect(compared.output).toContain(`HTML report written to ${html}`);
    expect(compared.output).not.toMatch(/^age\s/m);
    expect(readFileSync(html, 'utf8').match(/<svg class="plot"/g)).toHaveLength(5);
    const text = await runCli(['drift', 'profile', '--data', TRAIN, '--out', join(dir, 'exact.dlprof')], env());
    expect(text.code).toBe(0);
    expect(text.output).toContain(`stored at ${pathToFileURL(join(dir, 'exact.dlprof')).href}`);
  });

  it('bad input: one line naming the file, exit 2, no stack trace', async () => {
    const missing = await runCli(['drift', '--reference', TRAIN, '--current', join(dir, 'nope.csv')], env());
    expect(missing.code).toBe(2);
    expect(missing.output.trim()).toBe(`driftline: ${join(dir, 'nope.csv')} does not exist`);
    const raggedPath = join(dir, 'ragged.csv');
    writeFileSync(raggedPath, 'income,debt_ratio\n1,2\n3\n');
    const ragged = await runCli(['drift', '--reference', raggedPath, '--current', DRIFTED], env());
    expect(ragged.code).toBe(2);
    expect(ragged.output.trim()).toBe(`driftline: ${raggedPath} line 3: the row has 1 field but the header has 2`);
    const badPolicy = join(dir, 'bad-policy.json');
    writeFileSync(badPolicy, JSON.stringify({ columns: { employment: { method: 'ks' } } }));
    const policy = await runCli(['drift', '--reference', TRAIN, '--current', DRIFTED, '--policy', badPolicy], env());
    expect(policy.code).toBe(2);
    expect(policy.output).toMatch(/^driftline: .*employment.*ks does not apply/);
    expect(policy.output.trim().split('\n')).toHaveLength(1);
    const usage = await runCli(['drift', '--current', DRIFTED], env());
    expect(usage.code).toBe(2);
    expect(usage.output).toContain('drift needs --reference');
  });

  it('an S3 endpoint that does not answer: one line naming the object, exit 3', async () => {
    const port = await freePort(); // nothing listens there
    const { code, output } = await runCli(['drift', '--reference', TRAIN, '--current', 's3://bucket/window.csv'], {
      ...env(),
      AWS_ENDPOINT_URL: `http://127.0.0.1:${port}`,
      AWS_ACCESS_KEY_ID: 'testing',
      AWS_SECRET_ACCESS_KEY: 'testing',
      AWS_REGION: 'us-east-1',
      AWS_MAX_ATTEMPTS: '1',
    });
    expect(code).toBe(3);
    expect(output.trim().split('\n').filter((l) => l.startsWith('driftline:'))).toEqual([expect.stringMatching(/^driftline: s3:\/\/bucket\/window\.csv could not be read: /)]);
    expect(output).not.toMatch(/\n\s+at /);
  });
});
