/**
 * The model card: one Markdown document assembled from the version's lineage and metrics and every
 * check report the gate produced (read back from the artifact store by URI, and checked against
 * their sha256 first). It is evidence itself: approvers sign a bundle that includes its hash.
 */
import { createHash } from 'node:crypto';
import type { CheckResult } from '../../core/compliance.ts';
import type { Lineage } from '../../core/registry.ts';
import { readObject } from '../data/object-store.ts';
import type { BiasReport } from './bias.ts';
import type { ExplainabilityReport } from './explainability.ts';
import type { ProvenanceReport } from './provenance.ts';
import type { SecurityReport } from './security.ts';

export interface ModelCardInput {
  title?: string;
  gate: string;
  model: string;
  version: number;
  requestedBy: string;
  registeredAt: string | null;
  registeredBy: string | null;
  lineage: Lineage;
  quorum: Record<string, number>;
  checks: CheckResult[];
}

export async function renderModelCard(input: ModelCardInput): Promise<string> {
  const { lineage } = input;
  const lines: string[] = [];
  lines.push(`# ${input.title ?? `Model card: ${input.model} v${input.version}`}`, '');
  lines.push(`Compliance gate \`${input.gate}\`, requested by ${input.requestedBy}.`, '');
  lines.push('## Model', '');
  lines.push('| | |', '|---|---|');
  lines.push(`| model | ${cell(input.model)} |`);
  lines.push(`| version | ${input.version} |`);
  if (input.registeredAt) lines.push(`| registered | ${input.registeredAt}${input.registeredBy ? ` by ${cell(input.registeredBy)}` : ''} |`);
  lines.push(`| code | ${lineage.code.repository || lineage.code.commit ? `${cell(lineage.code.repository ?? '?')} @ \`${cell(lineage.code.commit ?? '?')}\`` : 'not recorded'} |`);
  lines.push(`| training | ${cell(lineage.training.backend)}${lineage.training.jobId ? ` job \`${cell(lineage.training.jobId)}\`` : ''} |`);
  lines.push(`| artifact | \`${cell(lineage.artifact.uri)}\` (sha256 \`${lineage.artifact.sha256}\`) |`);
  lines.push('');
  lines.push('## Data', '');
  lines.push('| role | location | sha256 |', '|---|---|---|');
  lines.push(`| train | \`${cell(lineage.trainData.uri)}\` | \`${lineage.trainData.sha256}\` |`);
  if (lineage.holdoutData) lines.push(`| holdout | \`${cell(lineage.holdoutData.uri)}\` | \`${lineage.holdoutData.sha256}\` |`);
  lines.push('');
  const params = Object.entries(lineage.parameters);
  if (params.length) {
    lines.push('## Parameters', '', '| name | value |', '|---|---|');
    for (const [k, v] of params) lines.push(`| ${cell(k)} | \`${cell(JSON.stringify(v))}\` |`);
    lines.push('');
  }
  const metrics = Object.entries(lineage.metrics);
  lines.push('## Evaluation (holdout, computed by Driftline)', '');
  if (metrics.length) {
    lines.push('| metric | value |', '|---|---|');
    for (const [k, v] of metrics) lines.push(`| ${cell(k)} | ${fmt(v)} |`);
  } else lines.push('No metrics recorded.');
  lines.push('');

  lines.push('## Compliance checks', '');
  lines.push('| check | status | summary | report sha256 |', '|---|---|---|---|');
  for (const c of input.checks) lines.push(`| ${c.check} | **${c.status}** | ${cell(c.summary)} | ${c.report ? `\`${c.report.sha256}\`` : '-'} |`);
  lines.push('');

  for (const c of input.checks) {
    if (!c.report) continue;
    const report = await readReport(c.report.uri, c.report.sha256);
    if (c.check === 'provenance') provenanceSection(lines, report as ProvenanceReport);
    if (c.check === 'bias') biasSection(lines, report as BiasReport);
    if (c.check === 'explainability') explainabilitySection(lines, report as ExplainabilityReport, c);
    if (c.check === 'security') securitySection(lines, report as SecurityReport);
  }

  lines.push('## Approval', '');
  lines.push(`Signed approvals required: ${Object.entries(input.quorum).map(([role, n]) => `${n} × ${role}`).join(', ')}. ` +
    'Approvers sign the evidence bundle that lists this card\'s sha256; see the version\'s approvals in the registry.', '');
  return `${lines.join('\n')}\n`;
}

async function readReport(uri: string, sha256: string): Promise<unknown> {
  const bytes = await readObject(uri);
  const actual = createHash('sha256').update(bytes).digest('hex');
  if (actual !== sha256) throw new Error(`report ${uri} has sha256 ${actual}, expected ${sha256}`);
  return JSON.parse(new TextDecoder().decode(bytes));
}

function provenanceSection(lines: string[], r: ProvenanceReport): void {
  lines.push('### Provenance', '');
  lines.push('| what | location | recorded sha256 | matches |', '|---|---|---|---|');
  for (const h of r.hashes) lines.push(`| ${h.role} | \`${cell(h.uri)}\` | \`${h.recordedSha256.slice(0, 16)}…\` | ${h.error ? `unreadable: ${cell(h.error)}` : h.match ? 'yes' : `**no** (\`${h.actualSha256?.slice(0, 16)}…\`)`} |`);
  if (r.requiredMetadata.length) {
    lines.push('', `Required metadata: ${r.requiredMetadata.join(', ')}.`, '');
    for (const m of r.metadata) lines.push(`- ${m.role}: ${m.error ? cell(m.error) : m.missing.length ? `missing ${m.missing.join(', ')}` : 'all declared'}`);
  }
  lines.push('');
}

function biasSection(lines: string[], r: BiasReport): void {
  lines.push('### Bias audit', '');
  lines.push(
    `${r.rows} holdout rows; positive label ${r.positiveLabel}; groups under ${r.thresholds.minGroupSize} rows are "insufficient data". ` +
      `Bounds: parity difference ≤ ${r.thresholds.maxDemographicParityDifference}, equalized odds difference ≤ ${r.thresholds.maxEqualizedOddsDifference}, ` +
      `disparate impact ≥ ${r.thresholds.minDisparateImpactRatio} (four-fifths rule).`,
    '',
  );
  for (const a of r.attributes) {
    lines.push(`**${cell(a.attribute)}**: ${a.status}` +
      (a.demographicParityDifference === null ? '' : ` — parity difference ${fmt(a.demographicParityDifference)}, equalized odds difference ${fmt(a.equalizedOddsDifference!)}, disparate impact ${a.disparateImpactRatio === null ? 'n/a' : fmt(a.disparateImpactRatio)}`), '');
    lines.push('| group | rows | selection rate | TPR | FPR | |', '|---|---|---|---|---|---|');
    for (const g of a.groups) lines.push(`| ${cell(g.group)} | ${g.count} | ${fmt(g.selectionRate)} | ${fmt(g.truePositiveRate)} | ${fmt(g.falsePositiveRate)} | ${g.sufficient ? '' : 'insufficient data'} |`);
    lines.push('');
  }
}

function explainabilitySection(lines: string[], r: ExplainabilityReport, c: CheckResult): void {
  lines.push('### Explainability', '');
  lines.push(`Permutation importance: drop in ${r.metric} (baseline ${fmt(r.baseline)}) over ${r.repeats} shuffles of each feature, ${r.rows} rows.`, '');
  lines.push('| feature | importance | std |', '|---|---|---|');
  for (const f of r.features) lines.push(`| ${cell(f.feature)} | ${fmt(f.importance)} | ${fmt(f.std)} |`);
  const chart = c.attachments.find((a) => a.kind === 'explainability-chart');
  if (chart) lines.push('', `Chart: \`${chart.uri}\` (sha256 \`${chart.sha256}\`)`);
  lines.push('');
}

function securitySection(lines: string[], r: SecurityReport): void {
  lines.push('### Security scan', '');
  if (r.scanners.length === 0) {
    lines.push(`**Not run**: no scanner configured${r.required ? ' (the policy requires one)' : ''}.`, '');
    return;
  }
  lines.push(`Fails on ${r.failOn} or above${r.required ? '; a scan is required' : ''}.`, '');
  lines.push('| scanner | status | critical | high | medium | low |', '|---|---|---|---|---|---|');
  for (const s of r.scanners) lines.push(`| ${cell(s.name)} | ${s.status}${s.detail ? `: ${cell(s.detail)}` : ''} | ${s.counts.critical} | ${s.counts.high} | ${s.counts.medium} | ${s.counts.low} |`);
  lines.push('');
}

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

function fmt(value: number): string {
  return String(Number(value.toPrecision(4)));
}
