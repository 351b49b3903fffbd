import { Command } from 'commander';
import { parseModelReference, type ModelVersionDetails } from '../../core/registry.ts';
import { RegistryError } from '../../activities/registry/port.ts';
import { withRegistry } from '../lib/registry-session.ts';
import { UsageError } from './errors.ts';
import { formatValue, print, printJson, table } from './output.ts';

export function modelsCommand(): Command {
  const models = new Command('models').description('Browse the model registry: versions, lineage, aliases, approvals.');

  models
    .command('list')
    .description('List registered models with their latest version and aliases.')
    .option('--json', 'print JSON')
    .action(async (flags: { json?: boolean }) => {
      const list = await withRegistry((registry) => registry.listModels());
      if (flags.json) return printJson(list);
      if (list.length === 0) return print('No models registered yet.');
      const rows = [['MODEL', 'LATEST', 'ALIASES', 'OWNER', 'CREATED']];
      for (const m of list) {
        const aliases = Object.entries(m.aliases).map(([alias, v]) => `${alias}=v${v}`).join(' ') || '-';
        rows.push([m.name, `v${m.latestVersion}`, aliases, m.owner, m.createdAt]);
      }
      for (const line of table(rows)) print(line);
    });

  models
    .command('show')
    .description('Show one version with its whole lineage: <name> (latest), <name>@<version> or <name>@<alias>.')
    .argument('<reference>', 'model reference, e.g. fraud-detector@champion')
    .option('--json', 'print JSON')
    .action(async (text: string, flags: { json?: boolean }) => {
      let reference;
      try {
        reference = parseModelReference(text);
      } catch (error) {
        throw new UsageError(`"${text}" is not a model reference (<name>, <name>@<version> or <name>@<alias>): ${firstIssue(error)}`);
      }
      const details = await withRegistry((registry) => registry.getVersion(reference)).catch((error: unknown) => {
        if (error instanceof RegistryError) throw new UsageError(error.message);
        throw error;
      });
      if (flags.json) return printJson(details);
      for (const line of describeVersion(details)) print(line);
    });

  return models;
}

export function describeVersion(d: ModelVersionDetails): string[] {
  const { lineage } = d;
  const lines: string[] = [];
  const aliasText = d.aliases.length ? `  aliases: ${d.aliases.join(', ')}` : '';
  lines.push(`${d.model} v${d.version}  [${d.status}]${aliasText}`);
  if (d.statusReason) lines.push(`  reason       ${d.statusReason}`);
  const rows: string[][] = [
    ['registered', `${d.createdAt} by ${d.createdBy}`],
    ['workflow', d.workflow ? `${d.workflow.workflowId} (run ${d.workflow.runId})` : '-'],
    ['code', lineage.code.repository || lineage.code.commit ? `${lineage.code.repository ?? '?'} @ ${lineage.code.commit ?? '?'}` : '-'],
    ['train data', `${lineage.trainData.uri}`],
    ['', `sha256 ${lineage.trainData.sha256}`],
    ['holdout', lineage.holdoutData ? lineage.holdoutData.uri : '-'],
    ...(lineage.holdoutData ? [['', `sha256 ${lineage.holdoutData.sha256}`]] : []),
    ['artifact', lineage.artifact.uri],
    ['', `sha256 ${lineage.artifact.sha256}`],
    ['training', `${lineage.training.backend}${lineage.training.jobId ? ` job ${lineage.training.jobId}` : ''}`],
    ['parameters', keyValues(lineage.parameters)],
    ['metrics', keyValues(lineage.metrics)],
  ];
  for (const line of table(rows)) lines.push(`  ${line}`);
  lines.push('', 'alias history');
  if (d.aliasHistory.length === 0) lines.push('  (none)');
  for (const line of table(
    d.aliasHistory.map((m) => [
      m.movedAt,
      m.alias,
      `${m.fromVersion === null ? 'new' : `v${m.fromVersion}`} -> v${m.toVersion}`,
      `by ${m.actor}`,
      `"${m.reason}"${m.workflowId ? ` (${m.workflowId})` : ''}`,
    ]),
  ))
    lines.push(`  ${line}`);
  lines.push('', 'evidence');
  if (d.evidence.length === 0) lines.push('  (none)');
  for (const e of d.evidence) lines.push(`  ${e.kind}  ${e.uri}  sha256 ${e.sha256}  (${e.attachedBy}, ${e.attachedAt})`);
  lines.push('', 'approvals');
  if (d.approvals.length === 0) lines.push('  (none)');
  for (const a of d.approvals) {
    lines.push(
      `  ${a.decision} by ${a.approver} (${a.role}) at ${a.decidedAt}${a.signed ? ', signed' : ', unsigned'}; evidence bundle ${a.evidenceBundleSha256}${a.comment ? `: "${a.comment}"` : ''}`,
    );
  }
  return lines;
}

/** `k=v` pairs in name order (jsonb does not keep insertion order). */
function keyValues(record: Record<string, unknown>): string {
  const entries = Object.entries(record).sort(([a], [b]) => a.localeCompare(b));
  return entries.map(([k, v]) => `${k}=${formatValue(v)}`).join('  ') || '-';
}

function firstIssue(error: unknown): string {
  const issues = (error as { issues?: Array<{ message: string }> }).issues;
  return issues?.[0]?.message ?? (error instanceof Error ? error.message : String(error));
}
