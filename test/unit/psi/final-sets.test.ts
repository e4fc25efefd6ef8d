import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { commonToAll, padTo, shuffled } from '../../../coordinator/psi/final-sets.js';
import { randomPermutation } from '../../../node/psi/permutation.js';

const point = (i: number) =>
  Buffer.alloc(32, 0)
    .fill(i % 251, 0, 16)
    .fill(7, 16);
const set = (...ids: number[]) => Buffer.concat(ids.map(point));
const keys = (points: Buffer) =>
  Array.from({ length: points.length / 32 }, (_, i) => points.toString('hex', i * 32, i * 32 + 32)).sort();

describe('coordinator final sets', () => {
  it('keeps exactly the values present in every other set', () => {
    expect(keys(commonToAll([set(1, 2, 3, 4), set(2, 3, 9), set(3, 2, 8)]))).toEqual(keys(set(2, 3)));
    expect(commonToAll([set(1, 2), set(3)]).length).toBe(0);
    expect(keys(commonToAll([set(5, 6)]))).toEqual(keys(set(5, 6)));
  });

  it('pads to the requested size with the given points and never shrinks', () => {
    const padded = padTo(set(1), 4, (n) => randomBytes(32 * n));
    expect(padded.length).toBe(4 * 32);
    expect(padded.subarray(0, 32)).toEqual(point(1));
    expect(padTo(set(1, 2, 3), 2, () => Buffer.alloc(0)).length).toBe(3 * 32);
  });

  it('shuffles records whole, and every record can land anywhere', () => {
    const original = set(...Array.from({ length: 50 }, (_, i) => i));
    const out = shuffled(original);
    expect(keys(out)).toEqual(keys(original));
    expect(out.equals(original)).toBe(false); // 1 in 50! to fail by chance
    const firstLandsAt = new Set<number>();
    for (let t = 0; t < 400; t++) {
      const s = shuffled(set(0, 1, 2, 3));
      firstLandsAt.add([0, 1, 2, 3].findIndex((p) => s.subarray(p * 32, p * 32 + 32).equals(point(0))));
    }
    expect([...firstLandsAt].sort()).toEqual([0, 1, 2, 3]);
  });
});

describe('random permutation of rows', () => {
  it('is a permutation, and roughly uniform in where index 0 goes', () => {
    const perm = randomPermutation(1_000);
    expect([...perm].sort((a, b) => a - b)).toEqual(Array.from({ length: 1_000 }, (_, i) => i));
    const counts = [0, 0, 0, 0];
    for (let t = 0; t < 4_000; t++) counts[randomPermutation(4).indexOf(0)]!++;
    for (const c of counts) expect(c).toBeGreaterThan(850); // expected 1 000 each; 850 is > 5 sigma below
  });
});
