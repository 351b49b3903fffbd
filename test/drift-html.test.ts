/**
 * The HTML drift report in a real browser: Debian's Chromium, headless, renders the report of the
 * credit example, takes a screenshot and dumps the DOM. The screenshot must be a real picture
 * (1280 x 2000, many colours, the reference and current colours on it), and the DOM must hold one
 * SVG plot per column, worst column first, with nothing fetched from anywhere.
 *
 * Without Chromium the suite is skipped on a developer's machine and FAILS in CI
 * (`apt-get install chromium`). No tool downloads a browser.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { inflateSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { worstFirst } from '../core/drift/report.ts';
import { renderDriftHtml } from '../activities/drift/html-report.ts';
import { analyseDrift, type DriftAnalysis } from '../activities/drift/report.ts';

const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const haveChromium = existsSync(CHROMIUM);
const EXAMPLES = new URL('../scripts/examples/credit/', import.meta.url).pathname;
/** Kept after the run so a person can look at it. */
const SCREENSHOT_DIR = process.env.DRIFTLINE_SCREENSHOT_DIR ?? join(tmpdir(), 'driftline-drift-html');

function chromium(args: string[], timeoutMs = 90_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const profile = mkdtempSync(join(tmpdir(), 'driftline-chromium-'));
  const flags = [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    `--user-data-dir=${profile}`,
    ...args,
  ];
  return new Promise((resolve, reject) => {
    const child = spawn(CHROMIUM, flags, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`chromium timed out; stderr:\n${stderr}`));
    }, timeoutMs);
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(timer);
      rmSync(profile, { recursive: true, force: true });
      resolve({ code, stdout, stderr });
    });
  });
}

interface Png {
  width: number;
  height: number;
  /** RGB(A) rows, unfiltered */
  pixels: Buffer;
  channels: number;
}

/** A minimal PNG decoder (8-bit RGB / RGBA, non-interlaced: what Chromium writes). */
function decodePng(bytes: Buffer): Png {
  expect(bytes.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])), 'PNG signature').toBe(true);
  let offset = 8;
  let width = 0;
  let height = 0;
  let channels = 0;
  const idat: Buffer[] = [];
  while (offset < bytes.length) {
    const length = bytes.readUInt32BE(offset);
    const type = bytes.toString('latin1', offset + 4, offset + 8);
    const data = bytes.subarray(offset + 8, offset + 8 + length);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      expect(data[8], 'bit depth').toBe(8);
      expect(data[12], 'interlace').toBe(0);
      channels = data[9] === 6 ? 4 : data[9] === 2 ? 3 : 0;
      expect(channels, `colour type ${data[9]}`).toBeGreaterThan(0);
    } else if (type === 'IDAT') idat.push(data);
    offset += 12 + length;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  const pixels = Buffer.alloc(height * stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)] as number;
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    for (let x = 0; x < stride; x++) {
      const a = x >= channels ? (pixels[y * stride + x - channels] as number) : 0;
      const b = y > 0 ? (pixels[(y - 1) * stride + x] as number) : 0;
      const c = x >= channels && y > 0 ? (pixels[(y - 1) * stride + x - channels] as number) : 0;
      let predictor = 0;
      if (filter === 1) predictor = a;
      else if (filter === 2) predictor = b;
      else if (filter === 3) predictor = (a + b) >> 1;
      else if (filter === 4) {
        const p = a + b - c;
        const pa = Math.abs(p - a);
        const pb = Math.abs(p - b);
        const pc = Math.abs(p - c);
        predictor = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      }
      pixels[y * stride + x] = ((line[x] as number) + predictor) & 0xff;
    }
  }
  return { width, height, pixels, channels };
}

function colourCounts(png: Png): Map<number, number> {
  const counts = new Map<number, number>();
  for (let i = 0; i < png.pixels.length; i += png.channels) {
    const rgb = ((png.pixels[i] as number) << 16) | ((png.pixels[i + 1] as number) << 8) | (png.pixels[i + 2] as number);
    counts.set(rgb, (counts.get(rgb) ?? 0) + 1);
  }
  return counts;
}

describe.skipIf(!haveChromium && !process.env.CI)('HTML drift report in headless Chromium', { timeout: 240_000 }, () => {
  let dir: string;
  let htmlPath: string;
  let analysis: DriftAnalysis;

  beforeAll(async () => {
    if (!haveChromium) throw new Error(`Chromium is required in CI but ${CHROMIUM} does not exist: apt-get install -y chromium`);
    dir = mkdtempSync(join(tmpdir(), 'driftline-drift-html-'));
    analysis = await analyseDrift({ reference: join(EXAMPLES, 'train.csv'), current: join(EXAMPLES, 'current-drifted.csv'), allStatistics: true });
    htmlPath = join(dir, 'report.html');
    writeFileSync(htmlPath, renderDriftHtml(analysis.report, analysis.distributions, { datasetDriftShare: analysis.policy.datasetDriftShare }));
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('is one self-contained file: inline CSS and SVG, no script, nothing fetched', () => {
    const html = readFileSync(htmlPath, 'utf8');
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).toContain('<style>');
    expect(html).not.toMatch(/<script|<link|<img|@import|url\(|src=/i);
    // The only URL is the SVG namespace, which is a name, not a fetch.
    expect(new Set(html.match(/https?:\/\/[^\s"')]+/g) ?? [])).toEqual(new Set(['http://www.w3.org/2000/svg']));
  });

  it('renders in Chromium: one SVG plot per column, worst first, and a real screenshot', async () => {
    const url = pathToFileURL(htmlPath).href;
    const dom = await chromium(['--dump-dom', url]);
    expect(dom.code, dom.stderr).toBe(0);
    const features = analysis.report.features;
    const plots = dom.stdout.match(/<svg class="plot"/g) ?? [];
    expect(plots).toHaveLength(features.length);
    const articles = [...dom.stdout.matchAll(/<article class="feature [a-z]+" id="col-([^"]+)"[^>]*>[\s\S]*?<\/article>/g)];
    expect(articles.map((m) => m[1])).toEqual(worstFirst(features).map((f) => f.name));
    for (const article of articles) expect(article[0].match(/<svg class="plot"/g), `plot in ${article[1]}`).toHaveLength(1);
    expect(dom.stdout).toContain('Dataset drift detected');

    mkdirSync(SCREENSHOT_DIR, { recursive: true });
    const screenshot = join(SCREENSHOT_DIR, 'drift-report.png');
    rmSync(screenshot, { force: true });
    const shot = await chromium([`--screenshot=${screenshot}`, '--window-size=1280,2000', '--hide-scrollbars', url]);
    expect(shot.code, shot.stderr).toBe(0);
    expect(statSync(screenshot).size).toBeGreaterThan(30_000);
    const png = decodePng(readFileSync(screenshot));
    expect([png.width, png.height]).toEqual([1280, 2000]);
    const colours = colourCounts(png);
    expect(colours.size, 'distinct colours').toBeGreaterThan(500);
    const [dominant] = [...colours.values()].sort((a, b) => b - a);
    expect((dominant as number) / (png.width * png.height), 'share of the most common colour').toBeLessThan(0.9);
    // The legend swatches are solid: the reference blue and the current orange are on the page.
    expect(colours.get(0x2f6db5) ?? 0, 'reference blue pixels').toBeGreaterThan(100);
    expect(colours.get(0xd9640b) ?? 0, 'current orange pixels').toBeGreaterThan(100);
    console.log(`drift report screenshot: ${screenshot}`);
  });
});
