/**
 * The drift report as ONE self-contained HTML file: inline CSS and inline SVG, no scripts, no
 * fonts or images fetched from anywhere, so it opens offline, from an email attachment, or from
 * an artifact bucket. Columns are listed worst first; each shows the reference and current
 * distributions drawn over each other on shared bins, the verdict and every statistic computed.
 *
 * Colours: reference blue (#2f6db5) and current orange (#d9640b) stay distinguishable with the
 * common colour-vision deficiencies and both pass 4.5:1 contrast on white for the text that uses
 * them; verdicts carry a word as well as a colour.
 */
import { featureSeverity, worstFirst, type DriftReport, type FeatureReport, type FeatureStatistics } from '../../core/drift/report.ts';
import type { DriftMethod } from '../../core/drift/policy.ts';
import type { FeatureDistribution } from './distributions.ts';

export interface HtmlReportOptions {
  readonly title?: string;
  /** The policy's dataset threshold, shown next to the share of drifted columns. */
  readonly datasetDriftShare?: number;
}

const REFERENCE = '#2f6db5';
const CURRENT = '#d9640b';

const METHOD_NAMES: Record<DriftMethod, string> = {
  ks: 'Kolmogorov–Smirnov test',
  wasserstein: 'Wasserstein distance (normed)',
  psi: 'Population Stability Index',
  'jensen-shannon': 'Jensen–Shannon distance',
  kl: 'Kullback–Leibler divergence',
  'chi-square': 'Chi-square test',
  'z-test': 'Two-proportion z-test',
};

const STATISTIC_NAMES: Record<keyof FeatureStatistics, string> = {
  ks: 'KS statistic',
  ksPValue: 'KS p-value',
  wasserstein: 'Wasserstein-1',
  wassersteinNormed: 'Wasserstein (normed)',
  psi: 'PSI',
  jensenShannon: 'Jensen–Shannon',
  klDivergence: 'KL divergence',
  chiSquare: 'Chi-square',
  chiSquarePValue: 'Chi-square p-value',
  zTestPValue: 'z-test p-value',
};

export function renderDriftHtml(report: DriftReport, distributions: readonly FeatureDistribution[], options: HtmlReportOptions = {}): string {
  const title = options.title ?? 'Data drift report';
  const byName = new Map(distributions.map((d) => [d.name, d]));
  const features = worstFirst(report.features);
  const judged = report.features.filter((f) => f.status === 'ok');
  const drifted = judged.filter((f) => f.drift);
  const insufficient = report.features.length - judged.length;
  const share = options.datasetDriftShare;
  const verdict = report.datasetDrift ? 'Dataset drift detected' : 'No dataset drift';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escape(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<main>
<header class="top">
  <div>
    <p class="eyebrow">Driftline</p>
    <h1>${escape(title)}</h1>
    <p class="muted">Generated ${escape(formatDate(report.generatedAt))}</p>
  </div>
  <div class="verdict ${report.datasetDrift ? 'bad' : 'good'}">
    <span class="verdict-word">${verdict}</span>
    <span class="verdict-detail">${drifted.length} of ${judged.length} column${judged.length === 1 ? '' : 's'} drifted (${percent(report.driftShare)})${share === undefined ? '' : ` · dataset threshold ${percent(share)}`}${insufficient ? ` · ${insufficient} with too little data` : ''}</span>
  </div>
</header>

<section class="datasets">
  ${datasetCard('Reference', report.reference, REFERENCE)}
  ${datasetCard('Current', report.current, CURRENT)}
</section>

<section>
  <h2>Columns, worst first</h2>
  <table class="summary">
    <thead><tr><th>Column</th><th>Kind</th><th>Test</th><th class="num">Score</th><th class="num">p-value</th><th class="num">Threshold</th><th>Verdict</th></tr></thead>
    <tbody>
${features.map(summaryRow).join('\n')}
    </tbody>
  </table>
</section>

<section>
  <div class="legend" aria-label="legend">
    <span><i style="background:${REFERENCE}"></i>Reference</span>
    <span><i style="background:${CURRENT}"></i>Current</span>
    <span class="muted">Bars show the share of each side's non-missing rows in each bin or category.</span>
  </div>
${features.map((f) => featureCard(f, byName.get(f.name))).join('\n')}
</section>
<footer class="muted">Statistics: KS, Wasserstein-1, PSI, Jensen–Shannon (base 2), KL, chi-square and z-test as in scipy/statsmodels. Numeric PSI, JS and KL use reference-quantile bins.</footer>
</main>
</body>
</html>
`;
}

function datasetCard(label: string, dataset: DriftReport['reference'], colour: string): string {
  return `<div class="dataset">
    <p class="dataset-label"><i style="background:${colour}"></i>${label}</p>
    <p class="uri" title="${escape(dataset.uri)}">${escape(dataset.uri)}</p>
    <p class="muted">${dataset.rows.toLocaleString('en-US')} rows · sha256 <code title="${escape(dataset.sha256)}">${escape(dataset.sha256.slice(0, 12))}…</code></p>
  </div>`;
}

function badge(feature: FeatureReport): string {
  if (feature.status !== 'ok') return '<span class="badge none">Too little data</span>';
  return feature.drift ? '<span class="badge bad">Drift</span>' : '<span class="badge good">No drift</span>';
}

function anchor(name: string): string {
  return `col-${name.replace(/[^A-Za-z0-9_-]/g, (c) => `_${c.charCodeAt(0).toString(16)}`)}`;
}

function summaryRow(feature: FeatureReport): string {
  return `      <tr><td><a href="#${anchor(feature.name)}">${escape(feature.name)}</a></td><td>${feature.kind}</td><td>${METHOD_NAMES[feature.method]}</td><td class="num">${formatNumber(feature.score)}</td><td class="num">${formatP(feature.pValue)}</td><td class="num">${formatNumber(feature.threshold)}</td><td>${badge(feature)}</td></tr>`;
}

function ruleText(feature: FeatureReport): string {
  if (feature.status !== 'ok' || feature.score === null) return 'Not enough non-missing rows on one side for a verdict.';
  if (feature.pValue !== null) {
    const holds = feature.pValue < feature.threshold;
    return `p-value ${formatP(feature.pValue)} ${holds ? '<' : '≥'} ${formatNumber(feature.threshold)}`;
  }
  const holds = feature.score >= feature.threshold;
  return `score ${formatNumber(feature.score)} ${holds ? '≥' : '<'} ${formatNumber(feature.threshold)}`;
}

function featureCard(feature: FeatureReport, distribution: FeatureDistribution | undefined): string {
  const stats = (Object.keys(STATISTIC_NAMES) as Array<keyof FeatureStatistics>)
    .filter((key) => feature.statistics[key] !== undefined)
    .map((key) => `<div><dt>${STATISTIC_NAMES[key]}</dt><dd>${key.endsWith('PValue') ? formatP(feature.statistics[key] as number) : formatNumber(feature.statistics[key] as number)}</dd></div>`)
    .join('');
  const severity = featureSeverity(feature);
  return `<article class="feature ${feature.status !== 'ok' ? 'none' : feature.drift ? 'bad' : 'good'}" id="${anchor(feature.name)}" data-severity="${Number.isFinite(severity) ? severity.toFixed(3) : ''}">
  <header>
    <h3>${escape(feature.name)}</h3>
    ${badge(feature)}
    <span class="muted kind">${feature.kind}</span>
  </header>
  <p class="rule"><strong>${METHOD_NAMES[feature.method]}</strong> · ${ruleText(feature)}</p>
  <div class="body">
    ${plot(feature, distribution)}
    <dl class="stats">${stats}<div><dt>Missing (reference)</dt><dd>${feature.missing.reference.toLocaleString('en-US')}</dd></div><div><dt>Missing (current)</dt><dd>${feature.missing.current.toLocaleString('en-US')}</dd></div></dl>
  </div>
</article>`;
}

// ---- plots ------------------------------------------------------------------------------------

const W = 720;
const H = 240;
const M = { top: 14, right: 12, bottom: 44, left: 48 };

function plot(feature: FeatureReport, distribution: FeatureDistribution | undefined): string {
  const label = `Reference and current distribution of ${feature.name}`;
  const open = `<svg class="plot" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${escape(label)}" xmlns="http://www.w3.org/2000/svg">`;
  if (!distribution) {
    return `${open}<rect x="0.5" y="0.5" width="${W - 1}" height="${H - 1}" fill="#f7f8fa" stroke="#e3e6ea"/><text x="${W / 2}" y="${H / 2}" text-anchor="middle" class="axis">No values to draw</text></svg>`;
  }
  const maxShare = Math.max(...distribution.reference, ...distribution.current, 1e-9);
  const yTicks = niceTicks(0, maxShare, 4);
  const yMax = yTicks[yTicks.length - 1] as number;
  const plotW = W - M.left - M.right;
  const plotH = H - M.top - M.bottom;
  const y = (share: number) => M.top + plotH - (share / yMax) * plotH;
  const parts: string[] = [open];
  for (const tick of yTicks) {
    const ty = y(tick).toFixed(1);
    parts.push(`<line x1="${M.left}" x2="${W - M.right}" y1="${ty}" y2="${ty}" class="grid"/>`);
    parts.push(`<text x="${M.left - 6}" y="${ty}" dy="0.32em" text-anchor="end" class="axis">${percentTick(tick, yTicks)}</text>`);
  }
  if (distribution.kind === 'numeric') {
    const { edges } = distribution;
    const lo = edges[0] as number;
    const hi = edges[edges.length - 1] as number;
    const x = (v: number) => M.left + ((v - lo) / (hi - lo)) * plotW;
    const bars = (shares: number[], colour: string, opacity: number) =>
      shares
        .map((share, k) => {
          const x0 = x(edges[k] as number);
          const x1 = x(edges[k + 1] as number);
          const top = y(share);
          return `<rect x="${x0.toFixed(1)}" y="${top.toFixed(1)}" width="${Math.max(0, x1 - x0 - 1).toFixed(1)}" height="${(M.top + plotH - top).toFixed(1)}" fill="${colour}" fill-opacity="${opacity}"/>`;
        })
        .join('');
    const outline = (shares: number[], colour: string, width: number) => {
      let d = `M${x(lo).toFixed(1)},${y(0).toFixed(1)}`;
      shares.forEach((share, k) => {
        d += ` L${x(edges[k] as number).toFixed(1)},${y(share).toFixed(1)} L${x(edges[k + 1] as number).toFixed(1)},${y(share).toFixed(1)}`;
      });
      d += ` L${x(hi).toFixed(1)},${y(0).toFixed(1)}`;
      return `<path d="${d}" fill="none" stroke="${colour}" stroke-width="${width}" stroke-linejoin="round"/>`;
    };
    // Reference as filled bars, current as a strong outline over a faint fill: where they overlap
    // both stay readable instead of mixing into one muddy colour.
    parts.push(`<g class="reference">${bars(distribution.reference, REFERENCE, 0.45)}</g>`, `<g class="current">${bars(distribution.current, CURRENT, 0.08)}</g>`);
    parts.push(outline(distribution.reference, REFERENCE, 1), outline(distribution.current, CURRENT, 2.4));
    const first = distribution.integers ? lo + 0.5 : lo;
    const last = distribution.integers ? hi - 0.5 : hi;
    for (const tick of niceTicks(first, last, 6, distribution.integers)) {
      if (tick < lo || tick > hi) continue;
      parts.push(`<line x1="${x(tick).toFixed(1)}" x2="${x(tick).toFixed(1)}" y1="${M.top + plotH}" y2="${M.top + plotH + 4}" class="tick"/>`);
      parts.push(`<text x="${x(tick).toFixed(1)}" y="${M.top + plotH + 17}" text-anchor="middle" class="axis">${formatTick(tick)}</text>`);
    }
    const outside = distribution.outside.reference + distribution.outside.current;
    if (outside > 0) {
      parts.push(`<text x="${W - M.right}" y="${H - 6}" text-anchor="end" class="note">end bins include ${outside.toLocaleString('en-US')} value${outside === 1 ? '' : 's'} beyond the drawn range</text>`);
    }
  } else {
    const n = distribution.categories.length;
    const slot = plotW / n;
    const barW = Math.min(28, (slot * 0.8) / 2);
    distribution.categories.forEach((category, k) => {
      const centre = M.left + slot * (k + 0.5);
      const ref = distribution.reference[k] as number;
      const cur = distribution.current[k] as number;
      parts.push(`<rect x="${(centre - barW).toFixed(1)}" y="${y(ref).toFixed(1)}" width="${barW.toFixed(1)}" height="${(M.top + plotH - y(ref)).toFixed(1)}" fill="${REFERENCE}" fill-opacity="0.85"><title>${escape(category)}: reference ${percent(ref)}</title></rect>`);
      parts.push(`<rect x="${centre.toFixed(1)}" y="${y(cur).toFixed(1)}" width="${barW.toFixed(1)}" height="${(M.top + plotH - y(cur)).toFixed(1)}" fill="${CURRENT}" fill-opacity="0.85"><title>${escape(category)}: current ${percent(cur)}</title></rect>`);
      const shown = category.length > 16 ? `${category.slice(0, 15)}…` : category;
      const rotate = n > 6;
      parts.push(
        rotate
          ? `<text transform="translate(${centre.toFixed(1)},${M.top + plotH + 12}) rotate(-30)" text-anchor="end" class="axis">${escape(shown)}</text>`
          : `<text x="${centre.toFixed(1)}" y="${M.top + plotH + 17}" text-anchor="middle" class="axis">${escape(shown)}</text>`,
      );
    });
  }
  parts.push(`<line x1="${M.left}" x2="${W - M.right}" y1="${M.top + plotH}" y2="${M.top + plotH}" class="baseline"/>`);
  parts.push('</svg>');
  return parts.join('');
}

/** About `count` round tick values covering [lo, hi]. */
function niceTicks(lo: number, hi: number, count: number, integers = false): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = Math.max(integers ? 1 : 0, ([1, 2, 2.5, 5, 10].find((m) => m * magnitude >= raw) ?? 10) * magnitude);
  const start = Math.ceil(lo / step - 1e-9) * step;
  const ticks: number[] = [];
  // Round each tick to the step's precision so 0.30000000000000004 prints as 0.3.
  const digits = Math.max(0, -Math.floor(Math.log10(step)) + 1);
  for (let v = start; v <= hi + step * 1e-9; v += step) ticks.push(Number(v.toFixed(digits)));
  if (lo === 0 && ticks[0] !== 0) ticks.unshift(0);
  if ((ticks[ticks.length - 1] as number) < hi) ticks.push(Number((start + ticks.length * step).toFixed(digits)));
  return ticks;
}

// ---- formatting -------------------------------------------------------------------------------

function escape(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);
}

function formatNumber(value: number | null): string {
  if (value === null) return '–';
  if (value === 0) return '0';
  const magnitude = Math.abs(value);
  if (magnitude >= 1e5 || magnitude < 1e-3) return value.toExponential(2).replace('e', '×10^').replace(/\^\+?(-?\d+)$/, '<sup>$1</sup>');
  return String(Number(value.toPrecision(4)));
}

function formatP(value: number | null): string {
  if (value === null) return '–';
  if (value === 0) return '≈ 0'; // below the smallest double
  return formatNumber(value);
}

function formatTick(value: number): string {
  const magnitude = Math.abs(value);
  if (magnitude !== 0 && (magnitude >= 1e5 || magnitude < 1e-3)) return value.toExponential(1);
  return String(Number(value.toPrecision(6)));
}

function percent(share: number): string {
  return `${Number((share * 100).toFixed(share * 100 >= 10 || share === 0 ? 0 : 1))}%`;
}

/** A y-axis label with as many decimals as the tick step needs (2.5% steps keep their .5). */
function percentTick(share: number, ticks: number[]): string {
  const step = ((ticks[1] ?? 1) - (ticks[0] ?? 0)) * 100;
  const decimals = step >= 1 && Number.isInteger(Number(step.toFixed(6))) ? 0 : Math.max(1, -Math.floor(Math.log10(step)) + 1);
  return `${(share * 100).toFixed(Math.min(decimals, 4))}%`;
}

function formatDate(iso: string): string {
  return iso.replace('T', ' ').replace(/\.\d+Z$/, ' UTC').replace(/Z$/, ' UTC');
}

const STYLE = `
:root { color-scheme: light; --ink: #1d2430; --muted: #5b6472; --line: #e3e6ea; --panel: #ffffff; --page: #f4f5f7;
  --bad: #b42318; --bad-bg: #fde9e7; --good: #1a7f37; --good-bg: #e6f4ea; --none: #4b5563; --none-bg: #eceff3; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--page); color: var(--ink);
  font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", "Noto Sans", "Liberation Sans", Arial, sans-serif; }
main { max-width: 1120px; margin: 0 auto; padding: 32px 28px 48px; }
h1 { font-size: 28px; line-height: 1.2; margin: 2px 0 4px; letter-spacing: -0.01em; }
h2 { font-size: 18px; margin: 32px 0 12px; }
h3 { font-size: 17px; margin: 0; font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, "Liberation Mono", monospace; }
.eyebrow { margin: 0; text-transform: uppercase; letter-spacing: 0.08em; font-size: 12px; font-weight: 600; color: var(--muted); }
.muted { color: var(--muted); }
p { margin: 0; }
.top { display: flex; justify-content: space-between; align-items: flex-end; gap: 24px; flex-wrap: wrap; }
.verdict { border-radius: 10px; padding: 14px 18px; display: flex; flex-direction: column; min-width: 300px; border: 1px solid transparent; }
.verdict.bad { background: var(--bad-bg); color: var(--bad); border-color: #f6c4bf; }
.verdict.good { background: var(--good-bg); color: var(--good); border-color: #b7dfc2; }
.verdict-word { font-size: 20px; font-weight: 700; }
.verdict-detail { font-size: 14px; color: var(--ink); }
.datasets { display: grid; grid-template-columns: 1fr 1fr; gap: 16px; margin-top: 24px; }
.dataset { background: var(--panel); border: 1px solid var(--line); border-radius: 10px; padding: 14px 16px; min-width: 0; }
.dataset-label { font-weight: 600; display: flex; align-items: center; gap: 8px; }
.uri { font-family: ui-monospace, Menlo, Consolas, "Liberation Mono", monospace; font-size: 13px; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; margin: 4px 0 2px; }
code { font-family: ui-monospace, Menlo, Consolas, "Liberation Mono", monospace; font-size: 12.5px; }
i { display: inline-block; width: 12px; height: 12px; border-radius: 3px; }
table.summary { width: 100%; border-collapse: collapse; background: var(--panel); border: 1px solid var(--line); border-radius: 10px; overflow: hidden; font-size: 14px; }
table.summary th { text-align: left; font-weight: 600; color: var(--muted); background: #fafbfc; font-size: 12.5px; text-transform: uppercase; letter-spacing: 0.04em; }
table.summary th, table.summary td { padding: 9px 14px; border-bottom: 1px solid var(--line); }
table.summary tr:last-child td { border-bottom: 0; }
table.summary a { color: var(--ink); font-weight: 600; font-family: ui-monospace, Menlo, Consolas, "Liberation Mono", monospace; text-decoration: none; }
.num { text-align: right; font-variant-numeric: tabular-nums; }
.badge { display: inline-block; border-radius: 999px; padding: 1px 10px; font-size: 12.5px; font-weight: 600; white-space: nowrap; }
.badge.bad { background: var(--bad-bg); color: var(--bad); }
.badge.good { background: var(--good-bg); color: var(--good); }
.badge.none { background: var(--none-bg); color: var(--none); }
.legend { display: flex; gap: 20px; align-items: center; margin: 28px 0 12px; font-size: 14px; flex-wrap: wrap; }
.legend span { display: inline-flex; align-items: center; gap: 7px; }
.feature { background: var(--panel); border: 1px solid var(--line); border-left: 5px solid var(--line); border-radius: 10px; padding: 16px 18px; margin-bottom: 16px; }
.feature.bad { border-left-color: var(--bad); }
.feature.good { border-left-color: var(--good); }
.feature > header { display: flex; align-items: center; gap: 12px; }
.feature .kind { margin-left: auto; font-size: 13px; }
.rule { margin: 6px 0 10px; font-size: 14px; }
.body { display: flex; gap: 24px; align-items: flex-start; flex-wrap: wrap; }
svg.plot { flex: 0 0 auto; max-width: 100%; height: auto; font-size: 11.5px; }
svg .axis { fill: #4b5563; }
svg .note { fill: #6b7280; font-size: 10.5px; }
svg .grid { stroke: #eceef1; stroke-width: 1; }
svg .tick, svg .baseline { stroke: #9aa1ab; stroke-width: 1; }
.stats { margin: 0; display: grid; grid-template-columns: 1fr; gap: 6px; min-width: 210px; font-size: 13.5px; }
.stats div { display: flex; justify-content: space-between; gap: 16px; border-bottom: 1px dashed var(--line); padding-bottom: 4px; }
.stats dt { color: var(--muted); }
.stats dd { margin: 0; font-variant-numeric: tabular-nums; font-weight: 600; }
footer { margin-top: 28px; font-size: 12.5px; }
@media print { body { background: #fff; } .feature { break-inside: avoid; } }
`;
