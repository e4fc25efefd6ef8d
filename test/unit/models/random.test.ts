/**
 * The seeded generator: an independent xoshiro128** (BigInt arithmetic, checked against the reference vector of
 * Blackman & Vigna's C code from state {1, 2, 3, 4}) seeded with node:crypto's SHA-256 of the seed must give the same
 * stream; doubles stay in [0, 1); shuffles are permutations; derived seeds differ by label.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { deriveSeed, SeededRandom } from '../../../models/random.js';

const MASK = 0xffff_ffffn;
const rotl = (x: bigint, k: bigint) => ((x << k) | (x >> (32n - k))) & MASK;

/** xoshiro128** written from the paper's C code with unsigned BigInt words. */
function referenceStream(state: bigint[], count: number): number[] {
  const s = [...state];
  const out: number[] = [];
  for (let n = 0; n < count; n++) {
    out.push(Number((rotl((s[1]! * 5n) & MASK, 7n) * 9n) & MASK));
    const t = (s[1]! << 9n) & MASK;
    s[2]! ^= s[0]!;
    s[3]! ^= s[1]!;
    s[1]! ^= s[2]!;
    s[0]! ^= s[3]!;
    s[2]! ^= t;
    s[3] = rotl(s[3]!, 11n);
  }
  return out;
}

describe('SeededRandom', () => {
  it('the reference implementation reproduces the published vector', () => {
    expect(referenceStream([1n, 2n, 3n, 4n], 10)).toEqual([
      11520, 0, 5927040, 70819200, 2031721883, 1637235492, 1287239034, 3734860849, 3729100597, 4258142804,
    ]);
  });

  it('is xoshiro128** seeded with the first 16 bytes of SHA-256(seed), little-endian words', () => {
    const digest = createHash('sha256').update('accord training seed', 'utf8').digest();
    const state = [0, 4, 8, 12].map((at) => BigInt(digest.readUInt32LE(at)));
    const random = new SeededRandom('accord training seed');
    expect(Array.from({ length: 20 }, () => random.uint32())).toEqual(referenceStream(state, 20));
  });

  it('draws doubles in [0, 1) and integers below a bound', () => {
    const random = new SeededRandom('ranges');
    let sum = 0;
    for (let k = 0; k < 10_000; k++) {
      const u = random.uniform();
      expect(u >= 0 && u < 1).toBe(true);
      sum += u;
    }
    expect(Math.abs(sum / 10_000 - 0.5)).toBeLessThan(0.02);
    const counts = [0, 0, 0];
    for (let k = 0; k < 3000; k++) counts[random.below(3)]!++;
    for (const c of counts) expect(Math.abs(c - 1000)).toBeLessThan(120);
    expect(() => random.below(0)).toThrow(RangeError);
  });

  it('shuffles into a permutation that depends on the seed', () => {
    const a = new SeededRandom('one').shuffle(Uint32Array.from({ length: 100 }, (_, k) => k));
    const b = new SeededRandom('two').shuffle(Uint32Array.from({ length: 100 }, (_, k) => k));
    expect(Array.from(a).sort((x, y) => x - y)).toEqual(Array.from({ length: 100 }, (_, k) => k));
    expect(a).not.toEqual(b);
  });

  it('derives different seeds for different labels, the same for the same', () => {
    expect(deriveSeed('job', 'epoch 1')).toEqual(deriveSeed(new TextEncoder().encode('job'), 'epoch 1'));
    expect(deriveSeed('job', 'epoch 1')).not.toEqual(deriveSeed('job', 'epoch 2'));
  });
});
