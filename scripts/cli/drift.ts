/**
 * `driftline drift`: compare a current window with a reference (a dataset or a fitted profile)
 * and print the verdict per column; `driftline drift profile` fits a reference profile once and
 * stores it. Exit codes: 0 when the comparison ran (drift or not), 4 (`checkFailed`) on drift with
 * --fail-on-drift, 2 for bad input (a missing file, a malformed row, a bad policy), 3 when the
 * storage could not be reached.
 */
import { Command, Option } from 'commander';
import { join } from 'node:path';
import { DriftInputError } from '../../core/drift/errors.ts';
import { DriftPolicyError, parseDriftPolicy } from '../../core/drift/policy.ts';
import { worstFirst, type DriftReport } from '../../core/drift/report.ts';
import { readObject, writeObject } from '../../activities/data/object-store.ts';
import type { DatasetFormat } from '../../activities/drift/column-builder.ts';
import { DATASET_FORMATS } from '../../activities/drift/dataset-reader.ts';
import { DriftDataError } from '../../activities/drift/errors.ts';
import { renderDriftHtml } from '../../activities/drift/html-report.ts';
import { fitAndStoreProfile } from '../../activities/drift/profile.ts';
import { analyseDrift } from '../../activities/drift/report.ts';
import { driftlineHome } from '../lib/home.ts';
import { EXIT, UsageError } from './errors.ts';
import { formatValue, print, printJson, table } from './output.ts';

interface CompareFlags {
  reference?: string;
  current?: string;
  policy?: string;
  format?: DatasetFormat;
  json?: boolean;
  html?: string;
  allStatistics?: boolean;
  failOnDrift?: boolean;
}

interface ProfileFlags {
  data?: string;
  out?: string;
  policy?: string;
  format?: DatasetFormat;
  json?: boolean;
}

const formatOption = () => new Option('--format <format>', 'dataset format when the extension does not say').choices(DATASET_FORMATS as string[]);

export function driftCommand(): Command {
  const drift = new Command('drift')
    .description('Compare a current data window with a reference dataset or profile, column by column.')
    .option('--reference <file|profile>', 'reference: a dataset (.csv, .tsv, .jsonl, .parquet) or a profile (.dlprof); path, file:// or s3://')
    .option('--current <file>', 'current window: a dataset; path, file:// or s3://')
    .option('--policy <file>', 'drift policy as JSON (per-column methods and thresholds, correction, dataset threshold)')
    .addOption(formatOption())
    .option('--json', 'print the report as JSON')
    .option('--html <out.html>', 'also write the report as one self-contained HTML file (path, file:// or s3://)')
    .option('--all-statistics', 'compute every statistic that applies to each column, not only its test')
    .option('--fail-on-drift', `exit with ${EXIT.checkFailed} when the dataset drifted`)
    .action((flags: CompareFlags) => handled(() => compare(flags)));

  drift
    .command('profile')
    .description('Fit a reference profile from training data once and store it (compare against it with --reference).')
    .option('--data <file>', 'the training data: a dataset; path, file:// or s3://')
    .option('--out <uri|path>', 'an artifact store root (directory or s3:// prefix; default $DRIFTLINE_ARTIFACTS or .driftline/artifacts), or an exact .dlprof destination')
    .option('--policy <file>', 'drift policy as JSON (column kinds, ignored columns, bins)')
    .addOption(formatOption())
    .option('--json', 'print JSON')
    // The root program parses options anywhere, so `drift profile … --json` can leave --json,
    // --policy or --format on the parent `drift` command: read them from both.
    .action((_flags: ProfileFlags, command: Command) => handled(() => profile(command.optsWithGlobals<ProfileFlags>())));

  return drift;
}

async function compare(flags: CompareFlags): Promise<void> {
  if (!flags.reference) throw new UsageError('drift needs --reference <file|profile> (see driftline drift --help).');
  if (!flags.current) throw new UsageError('drift needs --current <file> (see driftline drift --help).');
  const policy = flags.policy ? await loadPolicy(flags.policy) : undefined;
  const analysis = await analyseDrift({
    reference: flags.reference,
    current: flags.current,
    ...(policy === undefined ? {} : { policy }),
    allStatistics: flags.allStatistics ?? false,
    ...(flags.format ? { format: flags.format } : {}),
  });
  const { report } = analysis;
  if (flags.html) {
    await writeObject(flags.html, renderDriftHtml(report, analysis.distributions, { datasetDriftShare: analysis.policy.datasetDriftShare }), 'text/html; charset=utf-8');
  }
  if (flags.json) printJson(report);
  else {
    for (const line of describeReport(report, analysis.policy.datasetDriftShare)) print(line);
    if (flags.html) print(`HTML report written to ${flags.html}`);
  }
  if (report.datasetDrift && flags.failOnDrift) process.exitCode = EXIT.checkFailed;
}

async function profile(flags: ProfileFlags): Promise<void> {
  if (!flags.data) throw new UsageError('drift profile needs --data <file> (see driftline drift profile --help).');
  const policy = flags.policy ? await loadPolicy(flags.policy) : undefined;
  const out = flags.out ?? process.env.DRIFTLINE_ARTIFACTS?.trim() ?? join(driftlineHome(), 'artifacts');
  const stored = await fitAndStoreProfile({ data: flags.data, out, ...(policy === undefined ? {} : { policy }), ...(flags.format ? { format: flags.format } : {}) });
  if (flags.json) return printJson(stored);
  print(`Profile of ${flags.data}: ${stored.rows.toLocaleString('en-US')} rows, ${stored.columns.length} columns (${stored.columns.map((c) => `${c.name}:${c.kind}`).join(', ')})`);
  print(`stored at ${stored.uri}`);
  print(`sha256 ${stored.sha256}, ${stored.bytes.toLocaleString('en-US')} bytes`);
}

export function describeReport(report: DriftReport, datasetDriftShare: number): string[] {
  const lines = [
    `Reference  ${report.reference.uri}  (${report.reference.rows.toLocaleString('en-US')} rows, sha256 ${report.reference.sha256.slice(0, 12)}…)`,
    `Current    ${report.current.uri}  (${report.current.rows.toLocaleString('en-US')} rows, sha256 ${report.current.sha256.slice(0, 12)}…)`,
    '',
  ];
  const rows = [['COLUMN', 'KIND', 'TEST', 'SCORE', 'P-VALUE', 'THRESHOLD', 'VERDICT']];
  for (const f of worstFirst(report.features)) {
    const verdict = f.status !== 'ok' ? 'insufficient data' : f.drift ? 'DRIFT' : 'ok';
    rows.push([f.name, f.kind, f.method, f.score === null ? '-' : formatValue(f.score), f.pValue === null ? '-' : formatValue(f.pValue), formatValue(f.threshold), verdict]);
  }
  lines.push(...table(rows), '');
  const judged = report.features.filter((f) => f.status === 'ok');
  const drifted = judged.filter((f) => f.drift).length;
  const share = `${Math.round(report.driftShare * 100)}%`;
  lines.push(
    `Dataset drift: ${report.datasetDrift ? 'YES' : 'no'}: ${drifted} of ${judged.length} columns drifted (${share}; the dataset drifts at ${Math.round(datasetDriftShare * 100)}%)`,
  );
  return lines;
}

async function loadPolicy(uri: string): Promise<unknown> {
  let text: string;
  try {
    text = new TextDecoder().decode(await readObject(uri));
  } catch (error) {
    throw new UsageError(`Cannot read the drift policy ${uri}: ${(error as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`The drift policy ${uri} is not valid JSON: ${(error as Error).message}`);
  }
  try {
    parseDriftPolicy(parsed);
  } catch (error) {
    if (error instanceof DriftPolicyError) throw new UsageError(`${uri}: ${error.message}`);
    throw error;
  }
  return parsed;
}

/**
 * Bad data and bad policies are the user's to fix: one line, exit 2. A store that did not answer
 * is the environment: one line, exit 3 (errors.ts knows nothing of the drift engine's errors).
 */
async function handled(run: () => Promise<void>): Promise<void> {
  try {
    await run();
  } catch (error) {
    if (error instanceof DriftDataError && !error.final) {
      process.stderr.write(`driftline: ${error.message}\n`);
      process.exitCode = EXIT.environment;
      return;
    }
    if (error instanceof DriftDataError || error instanceof DriftPolicyError || error instanceof DriftInputError) throw new UsageError(error.message);
    throw error;
  }
}
