/**
 * Tools and readers behind test/infra.test.ts: finding the validators (kustomize, the Python
 * validators, terraform), rendering the Kustomize overlays, and reading what the code itself says
 * (AWS SDK commands it sends, environment variables it reads) so that infra/ can be compared to it.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { delimiter, join, relative } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { REPO_ROOT } from './pipelines.ts';

export { REPO_ROOT };

/** CI (and anyone who sets DRIFTLINE_REQUIRE_INFRA_TOOLS=1) fails when a validator is missing. */
export const INFRA_TOOLS_REQUIRED = process.env.DRIFTLINE_REQUIRE_INFRA_TOOLS === '1' || process.env.CI === 'true';

export type K8sObject = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: Record<string, unknown>;
  data?: Record<string, string>;
  [key: string]: unknown;
};

function onPath(program: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, program);
    if (existsSync(candidate) && statSync(candidate).isFile()) return candidate;
  }
  return undefined;
}

function runs(command: string, args: string[]): boolean {
  return spawnSync(command, args, { stdio: 'ignore', timeout: 60_000 }).status === 0;
}

/** kustomize: $KUSTOMIZE, .driftline/bin (scripts/setup-infra-tools.sh), PATH, or `kubectl kustomize`. */
export function findKustomize(): string[] | undefined {
  const candidates = [process.env.KUSTOMIZE?.trim(), join(REPO_ROOT, '.driftline/bin/kustomize'), onPath('kustomize')];
  for (const candidate of candidates) {
    if (candidate && existsSync(candidate) && runs(candidate, ['version'])) return [candidate, 'build'];
  }
  const kubectl = onPath('kubectl');
  if (kubectl && runs(kubectl, ['kustomize', '--help'])) return [kubectl, 'kustomize'];
  return undefined;
}

/** A Python with the validators of scripts/setup-python.sh: $DRIFTLINE_INFRA_PYTHON, $DRIFTLINE_PYTHON, the project venv. */
export function findValidatorPython(): string | undefined {
  const candidates = [process.env.DRIFTLINE_INFRA_PYTHON?.trim(), process.env.DRIFTLINE_PYTHON?.trim(), join(REPO_ROOT, '.driftline/venv/bin/python')];
  for (const candidate of candidates) {
    if (candidate && existsSync(candidate) && runs(candidate, ['-c', 'import kubernetes_validate, check_jsonschema, hcl2, jsonschema'])) return candidate;
  }
  return undefined;
}

/** terraform and a local mirror holding the hashicorp/aws provider (no registry is reachable here). */
export function findTerraform(): { terraform: string; pluginDir: string } | undefined {
  const terraform = process.env.TERRAFORM?.trim() || onPath('terraform');
  if (!terraform || !existsSync(terraform)) return undefined;
  for (const pluginDir of [process.env.TF_PLUGIN_DIR?.trim(), '/opt/tf-plugins']) {
    if (pluginDir && existsSync(join(pluginDir, 'registry.terraform.io/hashicorp/aws'))) return { terraform, pluginDir };
  }
  return undefined;
}

export function renderOverlay(kustomize: string[], overlay: string): K8sObject[] {
  const [command, ...args] = kustomize;
  const text = execFileSync(command!, [...args, join(REPO_ROOT, 'infra/k8s/overlays', overlay)], { encoding: 'utf8', timeout: 60_000 });
  return parseYamlDocuments(text, overlay) as K8sObject[];
}

/** Every YAML document in `text`; a syntax error anywhere fails with its source named. */
export function parseYamlDocuments(text: string, source: string): unknown[] {
  const docs = parseAllDocuments(text, { merge: true });
  const list = Array.isArray(docs) ? docs : [docs];
  for (const doc of list) {
    if (doc.errors.length > 0) throw new Error(`${source}: ${doc.errors.map((e) => e.message).join('; ')}`);
  }
  return list.map((doc) => doc.toJS({ maxAliasCount: 100 })).filter((value) => value !== null && value !== undefined);
}

export function readRepoFile(path: string): string {
  return readFileSync(join(REPO_ROOT, path), 'utf8');
}

export interface PythonAnswer {
  kubernetes?: Array<{ source: string; kind: string; name: string; version: string; error: string | null; skipped: string | null }>;
  vendor?: Array<{ source: string; errors: string[] }>;
  hcl?: Record<string, { parsed?: Record<string, unknown>; error?: string }>;
}

/** One run of test/fixtures/infra/validate.py (see there for the request's shape). */
export function runValidators(python: string, request: Record<string, unknown>): PythonAnswer {
  const output = execFileSync(python, [join(REPO_ROOT, 'test/fixtures/infra/validate.py')], {
    input: JSON.stringify(request),
    encoding: 'utf8',
    timeout: 120_000,
    maxBuffer: 64 * 1024 * 1024,
  });
  return JSON.parse(output) as PythonAnswer;
}

// --- what the code says -------------------------------------------------------------------------

/** Source folders whose code runs in the workers or the CLI (benchmarks excluded). */
const CODE_DIRS = ['activities', 'core', 'workers', 'scripts', 'workflows'];

export function codeFiles(): string[] {
  const files: string[] = [];
  for (const dir of CODE_DIRS) {
    for (const entry of readdirSync(join(REPO_ROOT, dir), { withFileTypes: true, recursive: true })) {
      if (!entry.isFile() || !/\.(ts|mts|mjs|js)$/.test(entry.name)) continue;
      const path = join(entry.parentPath, entry.name);
      if (relative(REPO_ROOT, path).startsWith(join('scripts', 'bench'))) continue;
      files.push(path);
    }
  }
  return files;
}

export interface AwsCall {
  /** npm package suffix: `s3`, `sagemaker`, `cloudwatch`, … */
  service: string;
  /** e.g. `GetObjectCommand` */
  command: string;
  file: string;
  /** The file passes `Tags:` to some call (SageMaker authorises tag-on-create as sagemaker:AddTags). */
  fileSendsTags: boolean;
}

/**
 * Every AWS SDK v3 command the code constructs (`new XxxCommand(`), with the client package it is
 * imported from. Commands built any other way would escape this scan, so the scan also fails on
 * an SDK command import that is never constructed with `new`.
 */
export function awsCalls(sources: Array<{ file: string; text: string }>): AwsCall[] {
  const calls: AwsCall[] = [];
  for (const { file, text } of sources) {
    const imported = new Map<string, string>();
    for (const match of text.matchAll(/import\s*(?:type\s*)?\{([^}]*)\}\s*from\s*'@aws-sdk\/client-([a-z0-9-]+)'/g)) {
      for (const raw of match[1]!.split(',')) {
        const spec = raw.trim();
        if (!spec || spec.startsWith('type ')) continue;
        const [name, alias] = spec.split(/\s+as\s+/);
        if (name!.endsWith('Command')) imported.set((alias ?? name)!.trim(), `${match[2]}:${name!.trim()}`);
      }
    }
    const constructed = new Set([...text.matchAll(/\bnew\s+([A-Z][A-Za-z0-9]*Command)\s*\(/g)].map((m) => m[1]!));
    for (const [local, origin] of imported) {
      const [service, command] = origin.split(':') as [string, string];
      if (!constructed.has(local)) throw new Error(`${relative(REPO_ROOT, file)} imports ${command} from @aws-sdk/client-${service} but never constructs it with \`new\`: extend the scan in test/helpers/infra.ts`);
      calls.push({ service, command, file: relative(REPO_ROOT, file), fileSendsTags: /\bTags\s*:/.test(text) });
    }
  }
  return calls;
}

/** Environment variable names the code reads literally, e.g. `process.env.DATABASE_URL` or `env.DATABASE_URL`. */
export function envNamesInCode(sources: Array<{ text: string }>): Set<string> {
  const names = new Set<string>();
  for (const { text } of sources) {
    for (const match of text.matchAll(/\b(?:env|process\.env)(?:\?)?\.([A-Z][A-Z0-9_]+)\b/g)) names.add(match[1]!);
    for (const match of text.matchAll(/\benv\[['"]([A-Z][A-Z0-9_]+)['"]\]/g)) names.add(match[1]!);
  }
  return names;
}

/** The `TEMPORAL_*` variables @temporalio/envconfig reads (the connection contract of `driftline worker`). */
export function temporalEnvconfigNames(): { names: Set<string>; prefixes: string[] } {
  const dir = join(REPO_ROOT, 'node_modules/@temporalio/envconfig/lib');
  const text = readdirSync(dir)
    .filter((f) => f.endsWith('.js'))
    .map((f) => readFileSync(join(dir, f), 'utf8'))
    .join('\n');
  const found = [...text.matchAll(/TEMPORAL_[A-Z0-9_]+/g)].map((m) => m[0]);
  return { names: new Set(found.filter((n) => !n.endsWith('_'))), prefixes: found.filter((n) => n.endsWith('_')) };
}
