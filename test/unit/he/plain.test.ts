/**
 * The helpers around the cipher suites (uniform masks, slot sums, centre lifting, residue packing) and the plaintext
 * stand-in suite, which must compute exactly what the BFV suite computes, with no encryption.
 */
import { describe, expect, it } from 'vitest';
import { centreLift, slotSum, uniformMask } from '../../../primitives/he/cipher.js';
import { cipherSuite, PLAIN_MODULUS, SLOTS } from '../../../primitives/he/index.js';
import { createPlainSuite } from '../../../primitives/he/plain.js';
import { packResidues, unpackResidues } from '../../../primitives/he/wire.js';
import { thrown } from '../../helpers/thrown.js';

const t = PLAIN_MODULUS;

/** Deterministic signed test values in (-2^bits, 2^bits): splitmix64 of (seed, i). */
function values(n: number, bits: number, seed: number): BigInt64Array {
  const mask = 0xffff_ffff_ffff_ffffn;
  const out = new BigInt64Array(n);
  let x = BigInt(seed) * 0x9e37_79b9_7f4a_7c15n;
  for (let i = 0; i < n; i++) {
    x = (x + 0x9e37_79b9_7f4a_7c15n) & mask;
    let z = x;
    z = ((z ^ (z >> 30n)) * 0xbf58_476d_1ce4_e5b9n) & mask;
    z = ((z ^ (z >> 27n)) * 0x94d0_49bb_1331_11ebn) & mask;
    z ^= z >> 31n;
    out[i] = (z >> BigInt(64 - bits - 1)) - (1n << BigInt(bits));
  }
  return out;
}

describe('helpers', () => {
  it('centre-lifts into (-t/2, t/2]', () => {
    expect(centreLift(0n, t)).toBe(0n);
    expect(centreLift(t - 1n, t)).toBe(-1n);
    expect(centreLift((t - 1n) / 2n, t)).toBe((t - 1n) / 2n);
    expect(centreLift((t + 1n) / 2n, t)).toBe(-(t - 1n) / 2n);
    expect(centreLift(-5n, t)).toBe(-5n);
    expect(centreLift(3n * t + 7n, t)).toBe(7n);
    expect(centreLift(2n, 4n)).toBe(2n);
    expect(centreLift(3n, 4n)).toBe(-1n);
  });

  it('sums slots modulo t', () => {
    expect(slotSum(BigUint64Array.from([t - 1n, t - 1n, 5n]), t)).toBe(3n);
    expect(slotSum(new BigUint64Array(0), t)).toBe(0n);
  });

  it('draws masks uniform below t', () => {
    const mask = uniformMask(t, SLOTS);
    expect(mask.length).toBe(SLOTS);
    expect(mask.every((m) => m < t)).toBe(true);
    // Top bit of a 58-bit residue is set about half the time; no two draws of 8192 collide.
    const high = mask.filter((m) => m >= 1n << 57n).length;
    expect(high).toBeGreaterThan(SLOTS * 0.45);
    expect(high).toBeLessThan(SLOTS * 0.55);
    expect(new Set(mask).size).toBe(SLOTS);
    // A small modulus: every residue appears, nothing else.
    const small = uniformMask(5n, 5000);
    expect(new Set(small)).toEqual(new Set([0n, 1n, 2n, 3n, 4n]));
    expect(() => uniformMask(1n, 4)).toThrow(RangeError);
  });

  it('packs residues at their bit length and refuses one not below its prime', () => {
    const q = 8796092858369; // 43 bits
    const residues = Float64Array.from({ length: 64 }, (_, i) =>
      i === 0 ? q - 1 : (i * 2654435761 * 1021) % q,
    );
    const bytes = new Uint8Array((64 * 43) / 8);
    expect(packResidues(residues, 0, 64, 43, bytes, 0)).toBe(bytes.length);
    const back = new Float64Array(64);
    expect(unpackResidues(bytes, 0, 64, 43, q, back, 0)).toBe(bytes.length);
    expect([...back]).toEqual([...residues]);
    bytes.fill(0xff, 0, 6);
    expect(unpackResidues(bytes, 0, 64, 43, q, back, 0)).toBe(-1);
  });
});

describe('plain suite', () => {
  const suite = createPlainSuite();
  const { publicKey, secretKey } = suite.generateKeys();
  const key = suite.loadPublicKey(publicKey);

  it('has the known parameter id and t, and is memoised', async () => {
    expect(suite.plainModulus).toBe(288230376150876161n);
    expect(suite.slots).toBe(8192);
    expect(suite.parameterId).toBe('8baeb4dbd8709643948920c968cdb91cebbac727f2c363c93a6cedb907f2afe8');
    const a = await cipherSuite('plain');
    expect(await cipherSuite('plain')).toBe(a);
    expect(a.parameterId).toBe(suite.parameterId);
  });

  it('round-trips signed values across chunks, and adds', () => {
    const v = values(10_000, 50, 1);
    const w = values(10_000, 50, 2);
    const cts = suite.encrypt(key, v);
    expect(cts.length).toBe(2);
    const slots = [...suite.decrypt(secretKey, cts[0]!), ...suite.decrypt(secretKey, cts[1]!)];
    expect(slots.slice(0, 10_000).map((s) => centreLift(s, t))).toEqual([...v]);
    expect(slots.slice(10_000).every((s) => s === 0n)).toBe(true);
    const sum = suite.add(cts, suite.encrypt(key, w));
    const plus = suite.addPlain(cts, w);
    for (const both of [sum, plus]) {
      const got = [...suite.decrypt(secretKey, both[0]!), ...suite.decrypt(secretKey, both[1]!)];
      for (let i = 0; i < 10_000; i += 997) expect(centreLift(got[i]!, t)).toBe(v[i]! + w[i]!);
    }
  });

  it('computes masked inner products and masked vectors', () => {
    const d = values(2 * SLOTS - 100, 30, 3);
    const cts = suite.encrypt(key, d);
    const columns = [new BigInt64Array(d.length), values(d.length, 20, 4)];
    const masks = columns.map(() => uniformMask(t, SLOTS));
    const out = suite.maskedInnerProducts(key, cts, columns, masks);
    columns.forEach((column, j) => {
      let expected = 0n;
      for (let i = 0; i < d.length; i++) expected += column[i]! * d[i]!;
      const sum = slotSum(suite.decrypt(secretKey, out[j]!), t) - slotSum(masks[j]!, t);
      expect(centreLift(sum, t)).toBe(expected);
    });
    const vectorMasks = cts.map(() => uniformMask(t, SLOTS));
    const masked = suite.maskedVector(key, cts, vectorMasks);
    const slots = suite.decrypt(secretKey, masked[1]!);
    expect(centreLift(slots[5]! - vectorMasks[1]![5]!, t)).toBe(d[SLOTS + 5]);
  });

  it('refuses another suite, a tampered ciphertext, a deleted key and values out of range', () => {
    const ct = suite.encrypt(key, values(10, 40, 5))[0]!;
    const flipped = ct.slice();
    flipped[5]! ^= 3; // the suite byte
    expect(thrown(() => suite.decrypt(secretKey, flipped)).code).toBe('ACCORD_HE_CIPHERTEXT_INVALID');
    const truncated = ct.subarray(0, ct.length - 8);
    expect(thrown(() => suite.decrypt(secretKey, truncated)).code).toBe('ACCORD_HE_CIPHERTEXT_INVALID');
    const big = ct.slice();
    big.fill(0xff, 40, 48); // slot 0 = 2^64 − 1 ≥ t
    expect(thrown(() => suite.decrypt(secretKey, big)).params.reason).toBe('a slot is not below t');
    expect(suite.encrypt(key, BigInt64Array.of((t - 1n) / 2n)).length).toBe(1);
    expect(thrown(() => suite.encrypt(key, BigInt64Array.of((t + 1n) / 2n))).code).toBe(
      'ACCORD_HE_VALUE_RANGE',
    );
    const other = suite.loadPublicKey(new Uint8Array(32));
    other.delete();
    expect(thrown(() => suite.encrypt(other, BigInt64Array.of(1n))).code).toBe('ACCORD_HE_KEY_INVALID');
  });
});
