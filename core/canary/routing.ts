/**
 * Sticky traffic assignment: a request key maps to one of 10,000 buckets (FNV-1a, 32 bits), and the
 * candidate serves the buckets below its weight × 100. The same key always lands in the same
 * variant for a given weight, and a key on the candidate stays there as the weight rises.
 */
export const BUCKETS = 10_000;

export function assignmentBucket(key: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    hash ^= key.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  // one more avalanche round, so keys that differ only at the end spread over all buckets
  hash = (hash ^ (hash >>> 16)) >>> 0;
  hash = Math.imul(hash, 0x85ebca6b) >>> 0;
  hash = (hash ^ (hash >>> 13)) >>> 0;
  return hash % BUCKETS;
}

/** True when a request with this key goes to the candidate at `candidateWeight` percent. */
export function routesToCandidate(key: string, candidateWeight: number): boolean {
  return assignmentBucket(key) < Math.round(candidateWeight * (BUCKETS / 100));
}
