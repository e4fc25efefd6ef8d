/**
 * The coordinator's last step, as pure functions over fully blinded point sets (32-byte records in one Buffer):
 * which values every other party holds, padded so the learner cannot tell how many there are, and shuffled so
 * positions carry nothing. Comparison keys are the first 16 bytes of a point (128 bits: collisions negligible).
 */
import { fisherYates } from '../../primitives/random/secure-shuffle.js';

const POINT = 32;
const KEY = 16;

function keyAt(points: Buffer, index: number): string {
  return points.toString('latin1', index * POINT, index * POINT + KEY);
}

/** Values present in every set of `others` (each set already free of duplicates). */
export function commonToAll(others: readonly Buffer[]): Buffer {
  if (others.length === 0) return Buffer.alloc(0);
  const sorted = [...others].sort((a, b) => a.length - b.length);
  const smallest = sorted[0]!;
  let candidates = new Map<string, number>();
  for (let i = 0; i < smallest.length / POINT; i++) candidates.set(keyAt(smallest, i), i);
  for (const set of sorted.slice(1)) {
    const kept = new Map<string, number>();
    for (let i = 0; i < set.length / POINT; i++) {
      const key = keyAt(set, i);
      const at = candidates.get(key);
      if (at !== undefined) kept.set(key, at);
    }
    candidates = kept;
  }
  const out = Buffer.allocUnsafe(candidates.size * POINT);
  let o = 0;
  for (const index of candidates.values()) {
    smallest.copy(out, o * POINT, index * POINT, (index + 1) * POINT);
    o++;
  }
  return out;
}

/** Appends `randomPoints(n)` so the result holds `size` points (never shrinks). */
export function padTo(points: Buffer, size: number, randomPoints: (n: number) => Buffer): Buffer {
  const missing = size - points.length / POINT;
  return missing > 0 ? Buffer.concat([points, randomPoints(missing)]) : points;
}

/** Fisher-Yates over 32-byte records with a CSPRNG (unbiased: see primitives/random/secure-shuffle.ts). */
export function shuffled(points: Buffer): Buffer {
  const out = Buffer.from(points);
  const tmp = Buffer.allocUnsafe(POINT);
  fisherYates(out.length / POINT, (i, j) => {
    out.copy(tmp, 0, i * POINT, (i + 1) * POINT);
    out.copy(out, i * POINT, j * POINT, (j + 1) * POINT);
    tmp.copy(out, j * POINT);
  });
  return out;
}
