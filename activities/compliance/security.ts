/**
 * Security scan: the policy's scanner commands (Trivy, Grype, npm audit, pip-audit, any SARIF
 * producer) run, and their JSON output parsed into findings with a severity. A scanner that is not
 * installed is reported as `missing`, one that dies or prints something unreadable as `crashed`:
 * neither is ever a clean scan. No scanner at all is recorded as `not-run`.
 *
 * Exit codes alone do not decide: `npm audit` and `pip-audit` exit non-zero when they find something,
 * so a run counts when its output parses, and crashed when it does not.
 */
import { spawn } from 'node:child_process';
import { SEVERITIES, type ScannerSpec, type SecurityCheckPolicy, type Severity } from '../../core/compliance.ts';

export interface Finding {
  id: string;
  severity: Severity | 'unknown';
  package: string | null;
  title: string;
}

export interface ScannerRun {
  name: string;
  format: ScannerSpec['format'];
  command: string[];
  status: 'clean' | 'findings' | 'missing' | 'crashed';
  exitCode: number | null;
  /** Why the scanner is missing or crashed (its error or the tail of its output). */
  detail: string | null;
  findings: Finding[];
  counts: Record<Severity | 'unknown', number>;
  /** Findings at or above the policy's failOn severity. */
  blocking: number;
}

export interface SecurityReport {
  check: 'security';
  status: 'pass' | 'fail' | 'not-run';
  required: boolean;
  failOn: Severity;
  scanners: ScannerRun[];
  problems: string[];
}

const OUTPUT_LIMIT = 64 * 1024 * 1024;

export async function runSecurityScan(policy: SecurityCheckPolicy, hooks: { signal?: AbortSignal; heartbeat?: (detail: string) => void } = {}): Promise<SecurityReport> {
  const scanners: ScannerRun[] = [];
  for (const spec of policy.scanners) {
    hooks.heartbeat?.(`running ${spec.name}`);
    scanners.push(await runScanner(spec, policy.failOn, hooks.signal));
  }
  const problems: string[] = [];
  for (const s of scanners) {
    if (s.status === 'missing') problems.push(`scanner ${s.name} is missing: ${s.detail}`);
    else if (s.status === 'crashed') problems.push(`scanner ${s.name} crashed: ${s.detail}`);
    else if (s.blocking > 0) problems.push(`scanner ${s.name} found ${s.blocking} finding${s.blocking > 1 ? 's' : ''} at or above ${policy.failOn}`);
  }
  // Every configured scanner ran: pass or fail on findings. Otherwise the scan did not (fully) run:
  // a required scan fails, an optional one is recorded as "not run", never as a pass.
  const blocking = scanners.some((s) => s.blocking > 0);
  const allRan = scanners.length > 0 && scanners.every((s) => s.status === 'clean' || s.status === 'findings');
  let status: SecurityReport['status'];
  if (blocking) status = 'fail';
  else if (allRan) status = 'pass';
  else status = policy.required ? 'fail' : 'not-run';
  if (scanners.length === 0) problems.push(`no scanner is configured: not run${policy.required ? ', but the policy requires a scan' : ''}`);
  return { check: 'security', status, required: policy.required, failOn: policy.failOn, scanners, problems };
}

async function runScanner(spec: ScannerSpec, failOn: Severity, signal?: AbortSignal): Promise<ScannerRun> {
  const base = { name: spec.name, format: spec.format, command: spec.command, findings: [] as Finding[], counts: emptyCounts(), blocking: 0 };
  const result = await execute(spec, signal);
  if (result.kind === 'missing') return { ...base, status: 'missing', exitCode: null, detail: result.detail };
  if (result.kind === 'crashed') return { ...base, status: 'crashed', exitCode: result.exitCode, detail: result.detail };
  let findings: Finding[];
  try {
    findings = parseFindings(spec.format, result.stdout);
  } catch (error) {
    const tail = (result.stderr || result.stdout).trim().split('\n').slice(-5).join(' | ').slice(0, 500);
    return { ...base, status: 'crashed', exitCode: result.exitCode, detail: `exit code ${result.exitCode ?? 'none'}; its output is not ${spec.format} JSON (${(error as Error).message})${tail ? `: ${tail}` : ''}` };
  }
  const counts = emptyCounts();
  for (const f of findings) counts[f.severity]++;
  const threshold = SEVERITIES.indexOf(failOn);
  const blocking = findings.filter((f) => f.severity !== 'unknown' && SEVERITIES.indexOf(f.severity) >= threshold).length;
  return { ...base, status: findings.length ? 'findings' : 'clean', exitCode: result.exitCode, detail: null, findings, counts, blocking };
}

type Execution =
  | { kind: 'ran'; exitCode: number | null; stdout: string; stderr: string }
  | { kind: 'missing'; detail: string }
  | { kind: 'crashed'; exitCode: number | null; detail: string };

function execute(spec: ScannerSpec, signal?: AbortSignal): Promise<Execution> {
  return new Promise((resolve) => {
    const [program, ...args] = spec.command;
    const clock = { timedOut: false, timer: undefined as NodeJS.Timeout | undefined };
    const settle = (execution: Execution) => {
      clearTimeout(clock.timer);
      resolve(execution);
    };
    let child;
    try {
      child = spawn(program!, args, { cwd: spec.workingDirectory, stdio: ['ignore', 'pipe', 'pipe'], signal });
    } catch (error) {
      settle({ kind: 'missing', detail: (error as Error).message });
      return;
    }
    clock.timer = setTimeout(() => {
      clock.timedOut = true;
      child.kill('SIGKILL');
    }, spec.timeoutSeconds * 1000);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let size = 0;
    child.stdout.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= OUTPUT_LIMIT) out.push(chunk);
    });
    child.stderr.on('data', (chunk: Buffer) => {
      if (err.length < 256) err.push(chunk);
    });
    child.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') settle({ kind: 'missing', detail: `"${program}" was not found${spec.workingDirectory ? ` (cwd ${spec.workingDirectory})` : ''}` });
      else if (error.code === 'EACCES') settle({ kind: 'missing', detail: `"${program}" is not executable` });
      else if (error.name === 'AbortError') settle({ kind: 'crashed', exitCode: null, detail: 'cancelled' });
      else settle({ kind: 'crashed', exitCode: null, detail: error.message });
    });
    child.on('close', (code, killedBy) => {
      const stdout = Buffer.concat(out).toString('utf8');
      const stderr = Buffer.concat(err).toString('utf8');
      if (killedBy) {
        const why = clock.timedOut ? `killed after its timeout of ${spec.timeoutSeconds}s` : `killed by ${killedBy}`;
        settle({ kind: 'crashed', exitCode: null, detail: `${why}${stderr.trim() ? `: ${stderr.trim().split('\n').slice(-3).join(' | ').slice(0, 500)}` : ''}` });
        return;
      }
      if (size > OUTPUT_LIMIT) {
        settle({ kind: 'crashed', exitCode: code, detail: `printed more than ${OUTPUT_LIMIT} bytes` });
        return;
      }
      settle({ kind: 'ran', exitCode: code, stdout, stderr });
    });
  });
}

function emptyCounts(): Record<Severity | 'unknown', number> {
  return { low: 0, medium: 0, high: 0, critical: 0, unknown: 0 };
}

export function normaliseSeverity(value: unknown): Severity | 'unknown' {
  const text = String(value ?? '').toLowerCase();
  if (text === 'critical') return 'critical';
  if (text === 'high' || text === 'error') return 'high';
  if (text === 'medium' || text === 'moderate' || text === 'warning') return 'medium';
  if (text === 'low' || text === 'negligible' || text === 'note' || text === 'info') return 'low';
  return 'unknown';
}

type JsonObject = Record<string, unknown>;
const obj = (v: unknown): JsonObject => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as JsonObject) : {});
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const str = (v: unknown): string | null => (typeof v === 'string' && v ? v : null);

/** Findings from a scanner's JSON output; throws when the output is not that format. */
export function parseFindings(format: ScannerSpec['format'], stdout: string): Finding[] {
  const data: unknown = JSON.parse(stdout);
  const root = obj(data);
  switch (format) {
    case 'trivy': {
      if (!('Results' in root) && !('SchemaVersion' in root)) throw new Error('no "Results" or "SchemaVersion"');
      return arr(root.Results).flatMap((result) =>
        arr(obj(result).Vulnerabilities).map((v) => {
          const o = obj(v);
          return { id: str(o.VulnerabilityID) ?? '?', severity: normaliseSeverity(o.Severity), package: str(o.PkgName), title: str(o.Title) ?? str(o.Description) ?? '' };
        }),
      );
    }
    case 'grype': {
      if (!Array.isArray(root.matches)) throw new Error('no "matches" array');
      return arr(root.matches).map((m) => {
        const o = obj(m);
        const v = obj(o.vulnerability);
        return { id: str(v.id) ?? '?', severity: normaliseSeverity(v.severity), package: str(obj(o.artifact).name), title: str(v.description) ?? '' };
      });
    }
    case 'npm-audit': {
      if (!('vulnerabilities' in root) && !('advisories' in root)) throw new Error('no "vulnerabilities" or "advisories"');
      if ('vulnerabilities' in root) {
        return Object.entries(obj(root.vulnerabilities)).map(([name, v]) => {
          const o = obj(v);
          const via = arr(o.via).map(obj).find((x) => str(x.title));
          return { id: str(via?.url) ?? name, severity: normaliseSeverity(o.severity), package: name, title: str(via?.title) ?? '' };
        });
      }
      return Object.values(obj(root.advisories)).map((a) => {
        const o = obj(a);
        return { id: String(o.id ?? '?'), severity: normaliseSeverity(o.severity), package: str(o.module_name), title: str(o.title) ?? '' };
      });
    }
    case 'pip-audit': {
      const deps = Array.isArray(data) ? data : root.dependencies;
      if (!Array.isArray(deps)) throw new Error('no "dependencies" array');
      // pip-audit reports no severity: every known vulnerability counts as high.
      return deps.flatMap((d) => {
        const o = obj(d);
        return arr(o.vulns).map((v) => {
          const x = obj(v);
          return { id: str(x.id) ?? '?', severity: 'high' as const, package: str(o.name), title: str(x.description) ?? '' };
        });
      });
    }
    case 'sarif': {
      if (!Array.isArray(root.runs)) throw new Error('no "runs" array');
      return arr(root.runs).flatMap((run) => {
        const rules = new Map(arr(obj(obj(obj(run).tool).driver).rules).map((r) => [str(obj(r).id) ?? '', obj(r)]));
        return arr(obj(run).results).map((r) => {
          const o = obj(r);
          const rule = rules.get(str(o.ruleId) ?? '') ?? {};
          const securitySeverity = Number(obj(rule.properties)['security-severity']);
          const severity = Number.isFinite(securitySeverity)
            ? securitySeverity >= 9
              ? 'critical'
              : securitySeverity >= 7
                ? 'high'
                : securitySeverity >= 4
                  ? 'medium'
                  : 'low'
            : normaliseSeverity(o.level ?? 'warning');
          return { id: str(o.ruleId) ?? '?', severity, package: null, title: str(obj(o.message).text) ?? '' } as Finding;
        });
      });
    }
  }
}

export function securitySummary(report: SecurityReport): string {
  if (report.scanners.length === 0) return `not run: no scanner configured${report.required ? ' (the policy requires a scan)' : ''}`;
  const parts = report.scanners.map((s) => {
    if (s.status === 'missing') return `${s.name}: missing`;
    if (s.status === 'crashed') return `${s.name}: crashed`;
    if (s.status === 'clean') return `${s.name}: clean`;
    const bySeverity = (['critical', 'high', 'medium', 'low', 'unknown'] as const).filter((k) => s.counts[k] > 0).map((k) => `${s.counts[k]} ${k}`);
    return `${s.name}: ${bySeverity.join(', ')}`;
  });
  return `${parts.join('; ')} (fails on ${report.failOn}${report.required ? ', scan required' : ''})`;
}
