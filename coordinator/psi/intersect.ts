/**
 * The coordinator's last step (step 4 of primitives/psi/session-protocol.ts), as a pure function over the comparison
 * keys of every party's fully blinded set: which values are in EVERY set, drawn in one random order, and where each
 * learner holds them in its own sending order. Learners get only those positions (or only their number); no set, and
 * no value, ever leaves the coordinator.
 *
 * Keys are the first 16 bytes of a fully blinded point (uniformly distributed, so their low bits serve as the hash):
 * an open-addressing table over the smallest set holds 4 bytes per slot at load <= 0.5, instead of a JS Map's ~80
 * bytes per entry. A set that repeats a value (only a misbehaving party's can) counts it once.
 */
import { fisherYates } from '../../primitives/random/secure-shuffle.js';

/** Bytes of a fully blinded point kept for comparison (128 bits: collisions negligible). */
export const KEY = 16;

/** The smallest set, indexed for look-ups by key. */
class KeyIndex {
  private readonly slots: Int32Array;
  private readonly mask: number;

  constructor(private readonly keys: Buffer) {
    const n = keys.length / KEY;
    let size = 2;
    while (size < 2 * n) size *= 2;
    this.slots = new Int32Array(size).fill(-1);
    this.mask = size - 1;
    for (let i = 0; i < n; i++) {
      let slot = keys.readUInt32LE(i * KEY) & this.mask;
      for (;;) {
        const held = this.slots[slot]!;
        if (held === -1) {
          this.slots[slot] = i;
          break;
        }
        if (this.equal(keys, i, held)) break; // a repeat within the set: keep the first
        slot = (slot + 1) & this.mask;
      }
    }
  }

  private equal(other: Buffer, at: number, held: number): boolean {
    const a = at * KEY;
    const b = held * KEY;
    return (
      other.readUInt32LE(a) === this.keys.readUInt32LE(b) &&
      other.readUInt32LE(a + 4) === this.keys.readUInt32LE(b + 4) &&
      other.readUInt32LE(a + 8) === this.keys.readUInt32LE(b + 8) &&
      other.readUInt32LE(a + 12) === this.keys.readUInt32LE(b + 12)
    );
  }

  /** Index in the smallest set of the key at `at` in `other`, or -1. */
  find(other: Buffer, at: number): number {
    let slot = other.readUInt32LE(at * KEY) & this.mask;
    for (;;) {
      const held = this.slots[slot]!;
      if (held === -1) return -1;
      if (this.equal(other, at, held)) return held;
      slot = (slot + 1) & this.mask;
    }
  }
}

export interface Intersection {
  /** Number of values in every set. */
  readonly size: number;
  /**
   * For each requested learner (by set index), the position in its set of each value of the intersection, in one
   * order shared by all learners and drawn uniformly at random (so it says nothing about any set's order).
   */
  readonly positions: ReadonlyMap<number, Uint32Array>;
}

/**
 * Intersects `sets` (each a Buffer of 16-byte keys, in its origin's order). `learners` are the set indices whose
 * positions are wanted (none in cardinality mode). `shuffle` draws the shared order (tests may pass their own).
 */
export function intersect(
  sets: readonly Buffer[],
  learners: readonly number[],
  shuffle: (n: number, swap: (i: number, j: number) => void) => void = fisherYates,
): Intersection {
  if (sets.length === 0) return { size: 0, positions: new Map() };
  const sizes = sets.map((s) => s.length / KEY);
  let base = 0;
  for (let i = 1; i < sets.length; i++) if (sizes[i]! < sizes[base]!) base = i;
  const index = new KeyIndex(sets[base]!);
  const n = sizes[base]!;
  // hits[j] = number of OTHER sets holding base value j (each set counted once per value).
  const hits = new Uint8Array(n);
  const seenBy = new Uint8Array(n);
  const where = new Map<number, Int32Array>();
  for (const learner of learners) {
    const at = new Int32Array(n).fill(-1);
    if (learner === base) for (let j = 0; j < n; j++) at[j] = j;
    where.set(learner, at);
  }
  for (let s = 0; s < sets.length; s++) {
    if (s === base) continue;
    const set = sets[s]!;
    const at = where.get(s);
    for (let p = 0; p < sizes[s]!; p++) {
      const j = index.find(set, p);
      if (j < 0 || seenBy[j] === s + 1) continue;
      seenBy[j] = s + 1;
      hits[j]!++;
      if (at) at[j] = p;
    }
  }
  const members: number[] = [];
  for (let j = 0; j < n; j++) if (hits[j] === sets.length - 1) members.push(j);
  shuffle(members.length, (i, j) => {
    const t = members[i]!;
    members[i] = members[j]!;
    members[j] = t;
  });
  const positions = new Map<number, Uint32Array>();
  for (const [learner, at] of where)
    positions.set(
      learner,
      Uint32Array.from(members, (j) => at[j]!),
    );
  return { size: members.length, positions };
}
