/**
 * Workflows import no zod (workflows/input.ts says why): their input goes through the
 * `validateWorkflowInput` local activity, and the update validators use zod-free rules that must
 * say exactly what the CLI's zod schemas say.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { controlRequestProblem } from '../core/canary-defaults.ts';
import { canaryControlSchema } from '../core/canary.ts';
import { parseApprovalUpdate } from '../core/compliance-rules.ts';
import { approvalUpdateSchema } from '../core/compliance.ts';
import { validateInputOf } from '../core/workflow-input.ts';

const WORKFLOWS_INDEX = fileURLToPath(new URL('../workflows/index.ts', import.meta.url));

/** Modules reached from `file` by value imports and re-exports (not `import type`, not `import()`). */
function valueImports(file: string, seen = new Map<string, string[]>()): Map<string, string[]> {
  if (seen.has(file)) return seen;
  const source = readFileSync(file, 'utf8');
  const specifiers: string[] = [];
  for (const match of source.matchAll(/^(?:import|export)\s+(?!type\b)(?:[^;'"]*?\sfrom\s+)?['"]([^'"]+)['"]/gms)) specifiers.push(match[1]!);
  seen.set(file, specifiers);
  for (const specifier of specifiers) if (specifier.startsWith('.')) valueImports(resolve(dirname(file), specifier), seen);
  return seen;
}

describe('workflow code', () => {
  it('imports no zod, directly or through core modules', () => {
    const graph = valueImports(WORKFLOWS_INDEX);
    expect(graph.size).toBeGreaterThan(10); // the walk found the workflows and their core modules
    const importers = [...graph].filter(([, specifiers]) => specifiers.some((s) => s === 'zod' || s.startsWith('zod/')));
    expect(importers.map(([file]) => file)).toEqual([]);
  });
});

describe('approval updates: the gate rule equals approvalUpdateSchema', () => {
  const valid = {
    gate: 'ct:fraud:run-1/gate',
    model: 'fraud',
    version: 3,
    evidenceBundleSha256: 'a'.repeat(64),
    approver: 'alice',
    role: 'ml-lead',
    comment: 'looks good',
    signature: 'c2lnbmF0dXJl',
  };
  const { comment: _comment, ...withoutComment } = valid;
  const cases: Array<[string, unknown]> = [
    ['valid', valid],
    ['no comment (defaults to "")', withoutComment],
    ['not an object', 'approve'],
    ['null', null],
    ['an array', [valid]],
    ['an unknown key', { ...valid, extra: 1 }],
    ['version 0', { ...valid, version: 0 }],
    ['negative version', { ...valid, version: -2 }],
    ['fractional version', { ...valid, version: 1.5 }],
    ['version as text', { ...valid, version: '3' }],
    ['empty role', { ...valid, role: '' }],
    ['role too long', { ...valid, role: 'r'.repeat(65) }],
    ['comment at the limit', { ...valid, comment: 'c'.repeat(4096) }],
    ['comment too long', { ...valid, comment: 'c'.repeat(4097) }],
    ['gate at the limit', { ...valid, gate: 'g'.repeat(1000) }],
    ['gate too long', { ...valid, gate: 'g'.repeat(1001) }],
    ['signature too long', { ...valid, signature: 's'.repeat(257) }],
    ['comment null', { ...valid, comment: null }],
    ...Object.keys(valid).filter((k) => k !== 'comment').map((key): [string, unknown] => [`without ${key}`, Object.fromEntries(Object.entries(valid).filter(([k]) => k !== key))]),
    ...Object.keys(valid).map((key): [string, unknown] => [`${key} as a number`, { ...valid, [key]: key === 'version' ? 'x' : 7 }]),
  ];
  it.each(cases)('%s', (_name, raw) => {
    const zod = approvalUpdateSchema.safeParse(raw);
    const ours = parseApprovalUpdate(raw);
    expect(ours.ok).toBe(zod.success);
    if (ours.ok && zod.success) expect(ours.update).toEqual(zod.data);
    if (!ours.ok && !zod.success && zod.error.issues[0]!.path.length) {
      // the same first field is named
      expect(ours.problem.startsWith(`${String(zod.error.issues[0]!.path[0])}:`)).toBe(true);
    }
  });
});

describe('canary control requests: the workflow rule equals canaryControlSchema', () => {
  const cases: unknown[] = [
    { by: 'alice' },
    { by: '  alice  ', reason: 'bad latency' },
    { by: '' },
    { by: '   ' },
    { by: 'a'.repeat(512) },
    { by: 'a'.repeat(513) },
    { by: ` ${'a'.repeat(512)} ` },
    { by: 'alice', reason: 'r'.repeat(2048) },
    { by: 'alice', reason: 'r'.repeat(2049) },
    { by: 'alice', reason: `  ${'r'.repeat(2048)}  ` },
    { by: 'alice', reason: 3 },
    { by: 7 },
    {},
    null,
    'alice',
    ['alice'],
  ];
  it.each(cases.map((c) => [JSON.stringify(c)?.slice(0, 60) ?? String(c), c]))('%s', (_name, raw) => {
    expect(controlRequestProblem(raw) === null).toBe(canaryControlSchema.safeParse(raw).success);
  });
});

describe('validateInputOf', () => {
  it('returns the defaulted input, or the problem each workflow reports', () => {
    const bad = validateInputOf('continuousTraining', { model: 'Not A Name' });
    expect(bad).toMatchObject({ valid: false, problem: expect.stringMatching(/^Invalid pipeline input: model: /) });
    expect(validateInputOf('canaryDeployment', {})).toMatchObject({ valid: false, problem: expect.stringMatching(/^Invalid canary input: /) });
    expect(validateInputOf('complianceGate', {})).toMatchObject({ valid: false, problem: expect.stringMatching(/^Invalid compliance gate input: /) });
    expect(validateInputOf('driftMonitor', {})).toMatchObject({ valid: false, problem: expect.stringMatching(/^Invalid drift monitor input: /) });
    expect(validateInputOf('nothing' as never, {})).toEqual({ valid: false, problem: 'no input schema for workflow nothing' });
  });
});
