/**
 * `npm run bench:drift`: Driftline's numeric drift statistics against scipy/numpy on the same data.
 *
 * 20 numeric columns x 1,000,000 reference rows x 1,000,000 current rows, seeded (the PRNG twin in
 * scripts/fixtures/prng.ts), written once as raw float64 files to a temp directory. Each round times
 * Driftline (KS with p-value, Wasserstein-1, PSI, Jensen-Shannon — plus the KL and normalised W1 it
 * computes on the way — through `compareNumericColumns`, copying and sorting each column itself)
 * and then spawns `python3 scripts/bench/drift_scipy.py`, which loads the same files and times
 * ks_2samp, wasserstein_distance and the binned PSI / Jensen-Shannon. Rounds alternate so both
 * sides see the same machine load. Prints JSON: best and median seconds of each side, the ratio
 * driftline/scipy, the largest disagreement between the two sides' results, and Driftline's peak
 * memory against the raw column bytes.
 *
 * Options (environment): DRIFT_BENCH_ROUNDS (default 3), DRIFT_BENCH_ROWS (default 1000000),
 * DRIFT_BENCH_COLUMNS (default 20), PYTHON (default python3).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compareNumericColumns, DEFAULT_BIN_COUNT, type NumericDriftStatistics } from '../../core/drift/index.ts';
import { fillSample, XorShift128 } from '../fixtures/prng.ts';
import { columnKinds } from './columns.ts';

const rounds = Number(process.env.DRIFT_BENCH_ROUNDS ?? 3);
const rows = Number(process.env.DRIFT_BENCH_ROWS ?? 1_000_000);
const columnCount = Number(process.env.DRIFT_BENCH_COLUMNS ?? 20);
const python = process.env.PYTHON ?? 'python3';
const bins = DEFAULT_BIN_COUNT;

interface ColumnResult {
  ks: number;
  p: number;
  w1: number;
  psi: number;
  js: number;
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

function relDiff(a: number, b: number): number {
  return a === b ? 0 : Math.abs(a - b) / Math.max(Math.abs(a), Math.abs(b));
}

function runDriftline(data: [Float64Array, Float64Array][]): { seconds: number; results: ColumnResult[] } {
  const results: ColumnResult[] = [];
  const start = performance.now();
  for (const [ref, cur] of data) {
    const r = compareNumericColumns(ref, cur, { bins }) as NumericDriftStatistics;
    results.push({ ks: r.ks.statistic, p: r.ks.pValue, w1: r.wasserstein.distance, psi: r.binned.psi, js: r.binned.jensenShannon });
  }
  return { seconds: (performance.now() - start) / 1000, results };
}

function runScipy(dir: string): { seconds: number; versions: string; results: ColumnResult[] } {
  const script = new URL('./drift_scipy.py', import.meta.url).pathname;
  const out = spawnSync(python, [script, dir, String(columnCount), String(bins)], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (out.status !== 0) throw new Error(`${python} drift_scipy.py failed (${out.status}): ${out.stderr}`);
  const parsed = JSON.parse(out.stdout) as { seconds: number; numpy: string; scipy: string; columns: ColumnResult[] };
  return { seconds: parsed.seconds, versions: `numpy ${parsed.numpy}, scipy ${parsed.scipy}`, results: parsed.columns };
}

function main(): void {
  const rssAtStart = process.memoryUsage().rss;
  const dir = mkdtempSync(join(tmpdir(), 'driftline-bench-'));
  try {
    const data: [Float64Array, Float64Array][] = [];
    for (let c = 0; c < columnCount; c++) {
      const [refKind, curKind] = columnKinds(c);
      const ref = fillSample(new Float64Array(rows), new XorShift128(1000 + 2 * c), refKind);
      const cur = fillSample(new Float64Array(rows), new XorShift128(1001 + 2 * c), curKind);
      writeFileSync(join(dir, `ref_${String(c).padStart(2, '0')}.f64`), new Uint8Array(ref.buffer));
      writeFileSync(join(dir, `cur_${String(c).padStart(2, '0')}.f64`), new Uint8Array(cur.buffer));
      data.push([ref, cur]);
    }
    const rawColumnBytes = columnCount * 2 * rows * 8;
    const rssWithData = process.memoryUsage().rss;
    const peakBeforeStats = process.resourceUsage().maxRSS * 1024;

    const driftline: number[] = [];
    const scipy: number[] = [];
    let versions = '';
    let worst = { ks: 0, p: 0, w1: 0, psi: 0, js: 0 };
    for (let round = 0; round < rounds; round++) {
      const ours = runDriftline(data);
      driftline.push(ours.seconds);
      const theirs = runScipy(dir);
      scipy.push(theirs.seconds);
      versions = theirs.versions;
      ours.results.forEach((o, i) => {
        const t = theirs.results[i] as ColumnResult;
        worst = {
          ks: Math.max(worst.ks, relDiff(o.ks, t.ks)),
          p: Math.max(worst.p, Math.abs(o.p - t.p)),
          w1: Math.max(worst.w1, relDiff(o.w1, t.w1)),
          psi: Math.max(worst.psi, relDiff(o.psi, t.psi)),
          js: Math.max(worst.js, relDiff(o.js, t.js)),
        };
      });
      process.stderr.write(`round ${round + 1}/${rounds}: driftline ${ours.seconds.toFixed(3)} s, scipy ${theirs.seconds.toFixed(3)} s\n`);
    }
    const peakRss = process.resourceUsage().maxRSS * 1024;
    const report = {
      benchmark: 'drift-statistics',
      work: `${columnCount} numeric columns x ${rows} reference rows x ${rows} current rows: KS (statistic and p-value), Wasserstein-1, PSI and Jensen-Shannon (${bins} reference-quantile bins)`,
      peer: `${python} scripts/bench/drift_scipy.py (${versions}): ks_2samp, wasserstein_distance, numpy quantile/searchsorted bins, jensenshannon`,
      node: process.version,
      rounds,
      driftlineSeconds: { best: Math.min(...driftline), median: median(driftline), all: driftline },
      scipySeconds: { best: Math.min(...scipy), median: median(scipy), all: scipy },
      ratio: {
        best: Math.min(...driftline) / Math.min(...scipy),
        median: median(driftline) / median(scipy),
        target: 0.5,
      },
      agreement: {
        note: 'largest difference between the two sides over all columns and rounds (relative; p-value absolute)',
        ...worst,
      },
      memory: {
        rawColumnBytes,
        rssAtStartBytes: rssAtStart,
        rssWithDataBytes: rssWithData,
        peakRssBeforeStatisticsBytes: peakBeforeStats,
        peakRssBytes: peakRss,
        peakRssOverRawColumnBytes: peakRss / rawColumnBytes,
        statisticsExtraOverRawColumnBytes: (peakRss - rssWithData) / rawColumnBytes,
      },
    };
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main();
