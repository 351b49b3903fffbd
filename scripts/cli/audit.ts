import { Command } from 'commander';
import { z } from 'zod';
import { modelNameSchema, type AuditEvent } from '../../core/registry.ts';
import { instanceId } from '../../activities/db/database.ts';
import { readObject, writeObject } from '../../activities/data/object-store.ts';
import { withRegistry } from '../lib/registry-session.ts';
import { EXIT, UsageError } from './errors.ts';
import { print, printJson, table } from './output.ts';

const anchorSchema = z.object({ seq: z.number().int().nonnegative(), hash: z.string().regex(/^[0-9a-f]{64}$/) });

export function auditCommand(): Command {
  const audit = new Command('audit').description('The tamper-evident audit log of every registry change.');

  audit
    .command('log')
    .description('Print audit events, oldest first.')
    .option('--model <name>', 'only events about this model')
    .option('--after <seq>', 'only events after this sequence number', (v) => positiveInt(v, '--after'))
    .option('--limit <n>', 'at most this many events', (v) => positiveInt(v, '--limit'), 1000)
    .option('--json', 'print JSON')
    .action(async (flags: { model?: string; after?: number; limit: number; json?: boolean }) => {
      if (flags.model && !modelNameSchema.safeParse(flags.model).success) throw new UsageError(`"${flags.model}" is not a valid model name.`);
      const events = await withRegistry((registry) =>
        registry.auditLog({ limit: flags.limit, ...(flags.model ? { model: flags.model } : {}), ...(flags.after ? { afterSeq: flags.after } : {}) }),
      );
      if (flags.json) return printJson(events);
      if (events.length === 0) return print('No audit events.');
      for (const line of table([['SEQ', 'AT', 'ACTOR', 'ACTION', 'SUBJECT', 'DETAIL'], ...events.map(eventRow)])) print(line);
    });

  audit
    .command('verify')
    .description('Walk the hash chain and the tables it describes; name the first event altered, deleted or reordered.')
    .option('--anchor <uri>', 'also check against a chain head exported earlier (file path, file:// or s3://)')
    .option('--export-head <uri>', 'write the verified chain head as JSON to a file or s3:// object ("-" prints it)')
    .option('--json', 'print JSON')
    .action(async (flags: { anchor?: string; exportHead?: string; json?: boolean }) => {
      const anchor = flags.anchor ? await loadAnchor(flags.anchor) : undefined;
      const { result, instance } = await withRegistry(async (registry, db) => ({
        result: await registry.verifyAudit(anchor ? { anchor } : {}),
        instance: await instanceId(db),
      }));
      const head = { seq: result.head.seq, hash: result.head.hash, instance, exportedAt: new Date().toISOString() };
      if (flags.json) printJson({ ...result, instance });
      else if (result.ok) print(`audit chain intact: ${result.events} events, head #${result.head.seq} ${result.head.hash}`);
      else {
        const p = result.problem!;
        print(`audit chain BROKEN at event #${p.seq} (${p.kind}): ${p.detail}`);
        print(`${result.events} events were read before the break; events before #${p.seq} are intact.`);
      }
      if (result.ok && flags.exportHead) {
        const body = `${JSON.stringify(head)}\n`;
        if (flags.exportHead === '-') process.stdout.write(body);
        else {
          await writeObject(flags.exportHead, body);
          if (!flags.json) print(`chain head written to ${flags.exportHead}`);
        }
      }
      if (!result.ok) process.exitCode = EXIT.checkFailed;
    });

  return audit;
}

function eventRow(event: AuditEvent): string[] {
  const subject = event.model ? `${event.model}${event.version ? `@v${event.version}` : ''}` : '-';
  const p = event.payload;
  const detail =
    event.action === 'alias.moved'
      ? `${String(p.alias)}: ${p.fromVersion === null ? 'new' : `v${String(p.fromVersion)}`} -> v${String(p.toVersion)} "${String(p.reason)}"`
      : event.action === 'evidence.attached'
        ? `${String(p.kind)} ${String(p.uri)}`
        : event.action === 'approval.recorded'
          ? `${String(p.decision)} as ${String(p.role)}`
          : event.action === 'version.registered'
            ? `${String(p.status)}${p.statusReason ? `: ${String(p.statusReason)}` : ''}`
            : '';
  return [`#${event.seq}`, event.at, event.actor, event.action, subject, detail];
}

async function loadAnchor(uri: string): Promise<{ seq: number; hash: string; source: string }> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder().decode(await readObject(uri)));
  } catch (error) {
    throw new UsageError(`Cannot read the anchor ${uri}: ${error instanceof Error ? error.message : String(error)}`);
  }
  const anchor = anchorSchema.safeParse(parsed);
  if (!anchor.success) throw new UsageError(`${uri} is not an exported chain head ({"seq": n, "hash": "<sha256>"}).`);
  return { ...anchor.data, source: `the anchor ${uri}` };
}

function positiveInt(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`${flag} takes a positive whole number, got "${value}".`);
  return n;
}
