/**
 * `npm run bench:drift` (second part): the drift engine end to end, from CSV files on disk to the
 * report, against pandas.read_csv + scipy in the same run.
 *
 * Data: 20 numeric columns x 1,000,000 rows for the reference and for the current window, the same
 * seeded samples as the statistics benchmark (no drift, mild drift, range drift, heavy ties),
 * written as CSV with 6 decimals (integer columns as integers): ~150 MB per file.
 *
 * Each round, alternating so both sides see the same machine load:
 *  - Driftline, in a fresh Node process: `computeDriftReport({ reference, current,
 *    allStatistics: true })`, i.e. read and hash both CSVs, infer the kinds, sort, KS with p-value,
 *    Wasserstein-1, PSI, Jensen-Shannon and KL per column, and the verdicts. Timed inside the
 *    process around that one call; peak memory is the process's maxRSS.
 *  - pandas + scipy (scripts/bench/drift_e2e_pandas.py): read_csv of both files, then ks_2samp,
 *    wasserstein_distance, PSI and Jensen-Shannon per column. Timed inside Python.
 * Prints JSON: best and median seconds of each side, the ratio, Driftline's peak RSS against the
 * raw column bytes (20 x 2 x 1,000,000 x 8), and the largest disagreement between the two sides.
 *
 * Options (environment): DRIFT_E2E_ROUNDS (default 3), DRIFT_E2E_ROWS (default 1000000),
 * DRIFT_E2E_COLUMNS (default 20), PYTHON (default python3).
 */
import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, statSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_BIN_COUNT } from '../../core/drift/index.ts';
import { computeDriftReport } from '../../activities/drift/report.ts';
import { fillSample, XorShift128 } from '../fixtures/prng.ts';
import { columnKinds } from './columns.ts';

const rounds = Number(process.env.DRIFT_E2E_ROUNDS ?? 3);
const rows = Number(process.env.DRIFT_E2E_ROWS ?? 1_000_000);
const columnCount = Number(process.env.DRIFT_E2E_COLUMNS ?? 20);
const python = process.env.PYTHON ?? 'python3';
const bins = DEFAULT_BIN_COUNT;

interface ColumnResult {
  ks: number;
  p: number;
  w1: number;
  psi: number;
  js: number;
}

interface ChildResult {
  seconds: number;
  rssBeforeBytes: number;
  peakRssBytes: number;
  columns: ColumnResult[];
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

function relDiff(a: number, b: number): number {
  return a === b ? 0 : Math.abs(a - b) / Math.max(Math.abs(a), Math.abs(b));
}

/** Writes one side's CSV: header c00..c19, then one row per sample index. */
function writeCsv(path: string, side: 0 | 1): void {
  const columns: Float64Array[] = [];
  const integer: boolean[] = [];
  for (let c = 0; c < columnCount; c++) {
    const kind = columnKinds(c)[side];
    columns.push(fillSample(new Float64Array(rows), new XorShift128(1000 + 2 * c + side), kind));
    integer.push(kind.kind === 'integers');
  }
  const fd = openSync(path, 'w');
  try {
    writeSync(fd, `${columns.map((_, c) => `c${String(c).padStart(2, '0')}`).join(',')}\n`);
    const batch: string[] = [];
    for (let r = 0; r < rows; r++) {
      const cells = new Array<string>(columnCount);
      for (let c = 0; c < columnCount; c++) {
        const v = (columns[c] as Float64Array)[r] as number;
        cells[c] = integer[c] ? String(v) : v.toFixed(6);
      }
      batch.push(cells.join(','));
      if (batch.length === 10_000 || r === rows - 1) {
        writeSync(fd, `${batch.join('\n')}\n`);
        batch.length = 0;
      }
    }
  } finally {
    closeSync(fd);
  }
}

/** Child mode: one timed computeDriftReport in a fresh process. */
async function child(reference: string, current: string): Promise<void> {
  const rssBeforeBytes = process.memoryUsage().rss;
  const start = performance.now();
  const report = await computeDriftReport({ reference, current, allStatistics: true, policy: { bins } });
  const seconds = (performance.now() - start) / 1000;
  const peakRssBytes = process.resourceUsage().maxRSS * 1024;
  const columns = report.features.map((f) => ({
    ks: f.statistics.ks ?? Number.NaN,
    p: f.statistics.ksPValue ?? Number.NaN,
    w1: f.statistics.wasserstein ?? Number.NaN,
    psi: f.statistics.psi ?? Number.NaN,
    js: f.statistics.jensenShannon ?? Number.NaN,
  }));
  process.stdout.write(JSON.stringify({ seconds, rssBeforeBytes, peakRssBytes, columns } satisfies ChildResult));
}

function runDriftline(reference: string, current: string): ChildResult {
  const script = fileURLToPath(import.meta.url);
  const out = spawnSync(process.execPath, ['--import', 'tsx', script, '--child', reference, current], {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (out.status !== 0) throw new Error(`driftline child failed (${out.status}): ${out.stderr}`);
  return JSON.parse(out.stdout) as ChildResult;
}

interface PandasResult {
  seconds: number;
  readSeconds: number;
  statisticsSeconds: number;
  pandas: string;
  numpy: string;
  scipy: string;
  peakRssBytes: number;
  columns: ColumnResult[];
}

function runPandas(reference: string, current: string): PandasResult {
  const script = fileURLToPath(new URL('./drift_e2e_pandas.py', import.meta.url));
  const out = spawnSync(python, [script, reference, current, String(bins)], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (out.status !== 0) throw new Error(`${python} drift_e2e_pandas.py failed (${out.status}): ${out.stderr}`);
  return JSON.parse(out.stdout) as PandasResult;
}

function main(): void {
  const dir = mkdtempSync(join(tmpdir(), 'driftline-bench-e2e-'));
  try {
    const reference = join(dir, 'reference.csv');
    const current = join(dir, 'current.csv');
    process.stderr.write(`writing ${columnCount} columns x ${rows} rows x 2 CSV files to ${dir}\n`);
    writeCsv(reference, 0);
    writeCsv(current, 1);
    const csvBytes = statSync(reference).size + statSync(current).size;
    const rawColumnBytes = columnCount * 2 * rows * 8;

    const ours: ChildResult[] = [];
    const theirs: PandasResult[] = [];
    let worst = { ks: 0, p: 0, w1: 0, psi: 0, js: 0 };
    for (let round = 0; round < rounds; round++) {
      const a = runDriftline(reference, current);
      const b = runPandas(reference, current);
      ours.push(a);
      theirs.push(b);
      a.columns.forEach((o, i) => {
        const t = b.columns[i] as ColumnResult;
        worst = {
          ks: Math.max(worst.ks, relDiff(o.ks, t.ks)),
          p: Math.max(worst.p, Math.abs(o.p - t.p)),
          w1: Math.max(worst.w1, relDiff(o.w1, t.w1)),
          psi: Math.max(worst.psi, relDiff(o.psi, t.psi)),
          js: Math.max(worst.js, relDiff(o.js, t.js)),
        };
      });
      process.stderr.write(`round ${round + 1}/${rounds}: driftline ${a.seconds.toFixed(3)} s, pandas+scipy ${b.seconds.toFixed(3)} s\n`);
    }
    const d = ours.map((r) => r.seconds);
    const p = theirs.map((r) => r.seconds);
    const peak = Math.max(...ours.map((r) => r.peakRssBytes));
    const last = theirs[theirs.length - 1] as PandasResult;
    const report = {
      benchmark: 'drift-e2e',
      work: `${columnCount} numeric columns x ${rows} reference rows and x ${rows} current rows, CSV on local disk (${csvBytes} bytes in all): read both files, then KS (statistic and p-value), Wasserstein-1, PSI and Jensen-Shannon per column`,
      driftline: 'computeDriftReport({ reference, current, allStatistics: true }) in a fresh Node process: streamed CSV read with sha256, kind inference, in-place sort, all statistics (also KL and normed W1), verdicts',
      peer: `${python} scripts/bench/drift_e2e_pandas.py (pandas ${last.pandas}, numpy ${last.numpy}, scipy ${last.scipy}): pandas.read_csv of both files, then ks_2samp, wasserstein_distance, numpy quantile/searchsorted bins, jensenshannon`,
      node: process.version,
      rounds,
      driftlineSeconds: { best: Math.min(...d), median: median(d), all: d },
      pandasScipySeconds: {
        best: Math.min(...p),
        median: median(p),
        all: p,
        readCsvMedian: median(theirs.map((r) => r.readSeconds)),
        statisticsMedian: median(theirs.map((r) => r.statisticsSeconds)),
      },
      ratio: { best: Math.min(...d) / Math.min(...p), median: median(d) / median(p), target: 1 },
      memory: {
        rawColumnBytes,
        driftlinePeakRssBytes: peak,
        driftlineRssBeforeWorkBytes: Math.max(...ours.map((r) => r.rssBeforeBytes)),
        peakRssOverRawColumnBytes: peak / rawColumnBytes,
        target: 2,
        pandasPeakRssBytes: Math.max(...theirs.map((r) => r.peakRssBytes)),
      },
      agreement: { note: 'largest difference between the two sides over all columns and rounds (relative; p-value absolute)', ...worst },
    };
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--child') await child(process.argv[3] as string, process.argv[4] as string);
else main();
