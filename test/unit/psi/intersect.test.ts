/**
 * The coordinator's comparison (coordinator/psi/intersect.ts) against a plain reference: exactly the values in every
 * set, positions that point at them in each learner's own order, one order shared by all learners, repeats within a
 * set counted once, and nothing for learners in cardinality mode.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { intersect, KEY } from '../../../coordinator/psi/intersect.js';

const key = (b: Buffer, i: number) => b.toString('hex', i * KEY, (i + 1) * KEY);
const setOf = (keys: Buffer[]) => Buffer.concat(keys);

/** k sets over a universe with chosen overlaps, each in its own random order. */
function sets(universe: Buffer[], members: number[][]): Buffer[] {
  return members.map((indices) => {
    const order = [...indices].sort(() => Math.random() - 0.5);
    return setOf(order.map((i) => universe[i]!));
  });
}

describe('intersect', () => {
  const universe = Array.from({ length: 3_000 }, () => randomBytes(KEY));
  const range = (a: number, b: number) => Array.from({ length: b - a }, (_, i) => a + i);
  // Pairwise overlaps 500, 400, 300; all three: 100 (the same shape as the integration tests).
  const members = [
    range(0, 1500),
    range(1000, 2500),
    [...range(0, 300), ...range(1000, 1100), ...range(2000, 2200)],
  ];

  it('finds exactly the values in every set, and each learner’s positions of them in one shared order', () => {
    const s = sets(universe, members);
    const result = intersect(s, [0, 1, 2]);
    expect(result.size).toBe(100);
    const expected = new Set(range(1000, 1100).map((i) => universe[i]!.toString('hex')));
    const at = [0, 1, 2].map((l) => Array.from(result.positions.get(l)!, (p) => key(s[l]!, p)));
    expect(new Set(at[0])).toEqual(expected);
    // Row r of every learner is the same value.
    expect(at[1]).toEqual(at[0]);
    expect(at[2]).toEqual(at[0]);
  });

  it('gives positions to no one in cardinality mode, and handles two sets and disjoint sets', () => {
    const s = sets(universe, members);
    expect(intersect(s, []).positions.size).toBe(0);
    expect(intersect([s[0]!, s[1]!], [1]).size).toBe(500);
    expect(intersect([setOf(universe.slice(0, 10)), setOf(universe.slice(10, 20))], [0]).size).toBe(0);
  });

  it('counts a value repeated within one set once (a misbehaving party cannot inflate a match)', () => {
    const a = setOf([universe[0]!, universe[1]!, universe[2]!]);
    const b = setOf([universe[5]!, universe[5]!, universe[1]!]);
    const c = setOf([universe[5]!, universe[5]!, universe[5]!, universe[9]!]);
    // 5 is twice in b and three times in c, but never in a: it must not count as in "every set".
    expect(intersect([a, b, c], [0]).size).toBe(0);
    const dup = intersect([setOf([universe[1]!, universe[1]!]), setOf([universe[1]!])], [0, 1]);
    expect(dup.size).toBe(1);
  });

  it('draws the shared order at random', () => {
    const s = sets(universe, members);
    const first = intersect(s, [0]).positions.get(0)!;
    const second = intersect(s, [0]).positions.get(0)!;
    expect([...first].sort()).toEqual([...second].sort());
    expect([...first]).not.toEqual([...second]);
  });
});
