/**
 * The benchmark's four kinds of column pair, so a run covers no drift, mild drift, range drift and
 * heavy ties. Shared by drift-statistics.ts and drift-e2e.ts (same seeds, same samples).
 */
import type { SampleKind } from '../fixtures/prng.ts';

export function columnKinds(index: number): [SampleKind, SampleKind] {
  switch (index % 4) {
    case 0:
      return [{ kind: 'bell', scale: 1, shift: 0 }, { kind: 'bell', scale: 1, shift: 0 }];
    case 1:
      return [{ kind: 'bell', scale: 2, shift: 10 }, { kind: 'bell', scale: 2, shift: 10.004 }];
    case 2:
      return [{ kind: 'uniform', lo: -5, hi: 5 }, { kind: 'uniform', lo: -4.5, hi: 5.5 }];
    default:
      return [{ kind: 'integers', levels: 50, offset: 0 }, { kind: 'integers', levels: 51, offset: 0 }];
  }
}
