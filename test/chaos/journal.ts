/**
 * The chaos suite's seeded randomness and its journal: what was injected when, and what was checked
 * with which counts. The journal is what `npm run test:chaos` prints; the seed replays a run
 * (CHAOS_SEED=<n>): the same pipelines, the same fault schedule. (Where a fault lands in a pipeline
 * still depends on timing, which no seed controls on a shared machine.)
 */

/** The same small seeded generator the evaluation's bootstrap uses (mulberry32). */
export { mulberry32 as seededRandom } from '../../core/evaluation.ts';

export interface Injection {
  atSeconds: number;
  fault: 'worker-kill' | 'temporal-restart' | 'postgres-restart' | 'moto-restart';
  detail: string;
}

export interface Check {
  invariant: string;
  ok: boolean;
  detail: string;
}

export class Journal {
  readonly injections: Injection[] = [];
  readonly checks: Check[] = [];
  private readonly started = Date.now();

  constructor(readonly seed: number) {}

  elapsed(): number {
    return Math.round((Date.now() - this.started) / 100) / 10;
  }

  inject(fault: Injection['fault'], detail: string): void {
    const entry = { atSeconds: this.elapsed(), fault, detail };
    this.injections.push(entry);
    print(`[chaos ${entry.atSeconds.toFixed(1)}s] inject ${fault}: ${detail}`);
  }

  note(line: string): void {
    print(`[chaos ${this.elapsed().toFixed(1)}s] ${line}`);
  }

  check(invariant: string, ok: boolean, detail: string): void {
    this.checks.push({ invariant, ok, detail });
  }

  summary(): string {
    const lines = [`chaos summary (seed ${this.seed}, replay with CHAOS_SEED=${this.seed}), ${this.elapsed()}s`, 'injected:'];
    const byFault = new Map<string, number>();
    for (const i of this.injections) byFault.set(i.fault, (byFault.get(i.fault) ?? 0) + 1);
    lines.push(`  ${[...byFault].map(([f, n]) => `${n}× ${f}`).join(', ')}`);
    for (const i of this.injections) lines.push(`  ${i.atSeconds.toFixed(1).padStart(6)}s ${i.fault.padEnd(17)} ${i.detail}`);
    lines.push('checked:');
    for (const c of this.checks) lines.push(`  ${c.ok ? 'PASS' : 'FAIL'} ${c.invariant}: ${c.detail}`);
    return lines.join('\n');
  }

  failures(): Check[] {
    return this.checks.filter((c) => !c.ok);
  }
}

/** Straight to stdout: one line each, without vitest's per-log banner. */
export function print(text: string): void {
  process.stdout.write(`${text}\n`);
}
