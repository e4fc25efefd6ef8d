/**
 * The BigInt-free arithmetic the BFV suite runs outside SEAL, against BigInt: products modulo the RNS primes and
 * modulo t (`modular.ts`), the scaled and the lifted plaintext (`scaling.ts`, which the suite also checks against
 * SEAL itself when it starts), the flooding noise (`flooding.ts`), the residue packing of the wire format
 * (`wire.ts`, against a bit-by-bit reference), and the word-wise range checks and mask sampling.
 */
import { describe, expect, it } from 'vitest';
import { checkMasks, checkSignedValues } from '../../../primitives/he/checks.js';
import { uniformMask } from '../../../primitives/he/cipher.js';
import { floodFirstPolynomial } from '../../../primitives/he/flooding.js';
import {
  modulusOf,
  mulMod32,
  mulModWide,
  multiplierOf,
  wideModulusOf,
  wideMultiplierOf,
} from '../../../primitives/he/modular.js';
import { PlainLifter, PlainScaler } from '../../../primitives/he/scaling.js';
import { packResidues, unpackResidues, unpackResidueWords } from '../../../primitives/he/wire.js';
import { thrown } from '../../helpers/thrown.js';

/** The BFV suite's primes (SEAL's BFVDefault(8192)), t for B = 58 and B = 57. */
const PRIMES = [8796092858369n, 8796092792833n, 17592186028033n, 17592185438209n, 17592184717313n];
const T58 = 288230376150876161n;
const T57 = 144115188075593729n;
const N = 8192;

/** Deterministic pseudo-random BigInts below `bound`: splitmix64 of (seed, i), reduced. */
function randoms(n: number, bound: bigint, seed: number): bigint[] {
  const mask = 0xffff_ffff_ffff_ffffn;
  let x = BigInt(seed) * 0x9e37_79b9_7f4a_7c15n;
  return Array.from({ length: n }, () => {
    x = (x + 0x9e37_79b9_7f4a_7c15n) & mask;
    let z = x;
    z = ((z ^ (z >> 30n)) * 0xbf58_476d_1ce4_e5b9n) & mask;
    z = ((z ^ (z >> 27n)) * 0x94d0_49bb_1331_11ebn) & mask;
    return (((z ^ (z >> 31n)) << 64n) | z) % bound;
  });
}

describe('products modulo a prime and modulo t', () => {
  it('mulMod32 is a·b mod q for every prime, a < 2^32, b < q, edges included', () => {
    for (const q of PRIMES) {
      const modulus = modulusOf(q);
      const as = [0n, 1n, 2n ** 31n, 2n ** 32n - 1n, ...randoms(300, 2n ** 32n, 1)];
      const bs = [0n, 1n, q - 1n, q / 2n, ...randoms(30, q, 2)];
      for (const b of bs) {
        const { b: bn, bLow } = multiplierOf(b, modulus);
        for (const a of as)
          expect(mulMod32(Number(a), bn, bLow, modulus.q, modulus.qLow, modulus.qInverse)).toBe(
            Number((a * b) % q),
          );
      }
    }
    expect(() => modulusOf(2n ** 45n)).toThrow(RangeError);
  });

  it('mulModWide is x·c mod t as two words, for t of 58 and 57 bits and a 60-bit modulus', () => {
    const out = new Uint32Array(2);
    for (const t of [T58, T57, 2n ** 60n - 93n]) {
      const modulus = wideModulusOf(t);
      for (const c of [0n, 1n, t - 1n, t / 2n, ...randoms(20, t, 3)]) {
        const multiplier = wideMultiplierOf(c, t);
        for (const x of [0n, 1n, 2n ** 32n - 1n, 2n ** 31n, ...randoms(200, 2n ** 32n, 4)]) {
          mulModWide(Number(x), multiplier, modulus, out, 0);
          expect((BigInt(out[1]!) << 32n) | BigInt(out[0]!)).toBe((x * c) % t);
        }
      }
    }
    expect(() => wideModulusOf(2n ** 61n)).toThrow(RangeError);
  });
});

describe('plaintexts as residues', () => {
  /** A plaintext with the edge coefficients first (0, 1, h − 1, h, t − 1), then pseudo-random ones. */
  function plaintext(t: bigint, seed: number): BigUint64Array {
    const h = (t + 1n) / 2n;
    const edges = [0n, 1n, h - 1n, h, t - 1n];
    return BigUint64Array.from([...edges, ...randoms(N - edges.length, t, seed)]);
  }

  it('adds ⌊(q·m + h)/t⌋ mod q_j to c0, at the input and the output level, for B = 58 and 57', () => {
    for (const t of [T58, T57])
      for (const moduli of [PRIMES.slice(0, 4), PRIMES.slice(0, 3)]) {
        const q = moduli.reduce((a, b) => a * b, 1n);
        const h = (t + 1n) / 2n;
        const plain = plaintext(t, 5);
        const residues = new Float64Array(2 * moduli.length * N);
        moduli.forEach((p, j) => {
          const start = randoms(N, p, 6 + j);
          for (let i = 0; i < N; i++) residues[j * N + i] = Number(start[i]!);
        });
        const expected = residues.slice();
        moduli.forEach((p, j) => {
          for (let i = 0; i < N; i++)
            expected[j * N + i] = Number((BigInt(expected[j * N + i]!) + (q * plain[i]! + h) / t) % p);
        });
        new PlainScaler(moduli, t, N).addTo(residues, plain);
        expect(residues).toEqual(expected);
      }
  });

  it("lifts m to m (m < h) or m − t (m ≥ h) modulo each prime, as SEAL's transform_to_ntt does", () => {
    const moduli = PRIMES.slice(0, 4);
    const h = (T58 + 1n) / 2n;
    const plain = plaintext(T58, 7);
    const words = new Uint32Array(2 * 2 * moduli.length * N);
    new PlainLifter(moduli, T58, N).liftInto(plain, words, moduli.length * N);
    expect(words.subarray(0, 2 * moduli.length * N).every((w) => w === 0)).toBe(true);
    moduli.forEach((p, j) => {
      for (let i = 0; i < N; i++) {
        const m = plain[i]!;
        const lifted = (((m < h ? m : m - T58) % p) + p) % p;
        const at = 2 * ((moduli.length + j) * N + i);
        expect((BigInt(words[at + 1]!) << 32n) | BigInt(words[at]!)).toBe(lifted);
      }
    });
  });
});

describe('flooding noise', () => {
  it('adds one integer e in [-2^F, 2^F) to every limb, spread over the whole interval', () => {
    const moduli = PRIMES.slice(0, 3);
    const q = moduli.reduce((a, b) => a * b, 1n);
    const floodBits = 70;
    const residues = new Float64Array(2 * moduli.length * N);
    floodFirstPolynomial(residues, moduli, N, floodBits);
    expect(residues.subarray(moduli.length * N).every((r) => r === 0)).toBe(true);
    // CRT: the integer modulo q whose residues the limbs hold, centred.
    const basis = moduli.map((p) => {
      const rest = q / p;
      let inverse = 1n;
      for (let e = p - 2n, b = rest % p; e > 0n; e >>= 1n, b = (b * b) % p)
        if (e & 1n) inverse = (inverse * b) % p;
      return rest * inverse;
    });
    const bound = 1n << BigInt(floodBits);
    let negative = 0;
    let large = 0;
    for (let i = 0; i < N; i++) {
      let e = moduli.reduce((sum, _, j) => sum + BigInt(residues[j * N + i]!) * basis[j]!, 0n) % q;
      if (e > q / 2n) e -= q;
      expect(e >= -bound && e < bound).toBe(true);
      if (e < 0n) negative++;
      if (e >= bound / 2n || e < -bound / 2n) large++;
    }
    // Each is a fair coin over 8192 draws: 50% ± 5% is more than 9 standard deviations wide.
    expect(negative / N).toBeGreaterThan(0.45);
    expect(negative / N).toBeLessThan(0.55);
    expect(large / N).toBeGreaterThan(0.45);
    expect(large / N).toBeLessThan(0.55);
    expect(() => floodFirstPolynomial(residues, moduli, N, 95)).toThrow(RangeError);
  });
});

describe('residue packing', () => {
  /** The reference: a bit stream, least significant bit first, one bit at a time. */
  function referencePack(residues: readonly bigint[], bits: number): Uint8Array {
    const out = new Uint8Array((residues.length * bits) / 8);
    let bit = 0;
    for (const r of residues)
      for (let k = 0; k < bits; k++, bit++) if ((r >> BigInt(k)) & 1n) out[bit >> 3]! |= 1 << (bit & 7);
    return out;
  }

  it('writes exactly the reference bit stream, reads it back, and refuses a residue not below its prime', () => {
    for (const bits of [1, 8, 13, 24, 25, 32, 33, 43, 44, 45])
      for (const count of [8, 24, 64, 1000]) {
        if ((count * bits) % 8 !== 0) continue;
        const values = randoms(count, 1n << BigInt(bits), bits * count);
        values[0] = (1n << BigInt(bits)) - 1n;
        const expected = referencePack(values, bits);
        const out = new Uint8Array(expected.length + 5);
        const residues = Float64Array.from(values, Number);
        expect(packResidues(residues, 0, count, bits, out, 3)).toBe(3 + expected.length);
        expect(out.subarray(3, 3 + expected.length)).toEqual(expected);
        const modulus = 2 ** bits;
        const back = new Float64Array(count);
        expect(unpackResidues(out, 3, count, bits, modulus, back, 0)).toBe(3 + expected.length);
        expect(back).toEqual(residues);
        const words = new Uint32Array(2 * count);
        expect(unpackResidueWords(out, 3, count, bits, modulus, words, 0)).toBe(3 + expected.length);
        for (let i = 0; i < count; i++) expect(words[2 * i + 1]! * 2 ** 32 + words[2 * i]!).toBe(residues[i]);
        expect(unpackResidues(out, 3, count, bits, modulus - 1, back, 0)).toBe(-1);
        expect(unpackResidueWords(out, 3, count, bits, modulus - 1, words, 0)).toBe(-1);
      }
    expect(() => packResidues(new Float64Array(8), 0, 8, 46, new Uint8Array(64), 0)).toThrow(RangeError);
  });
});

describe('word-wise checks and masks', () => {
  it('accepts exactly the values in (-t/2, t/2) and masks below t', () => {
    const most = (T58 - 1n) / 2n;
    checkSignedValues(BigInt64Array.of(0n, -1n, most, -most, 2n ** 32n, -(2n ** 32n)), T58, 'v');
    for (const [value, at] of [
      [most + 1n, 1],
      [-most - 1n, 2],
      [2n ** 63n - 1n, 0],
      [-(2n ** 63n), 3],
    ] as const) {
      const values = new BigInt64Array(4);
      values[at] = value;
      const err = thrown(() => checkSignedValues(values, T58, 'v'));
      expect(err.code).toBe('ACCORD_HE_VALUE_RANGE');
      expect(err.message).toContain(`v, entry ${at}, is too large`);
    }
    checkMasks([BigUint64Array.of(0n, T58 - 1n, 2n ** 32n - 1n, 2n ** 32n)], T58, 4);
    for (const bad of [T58, T58 + 1n, 2n ** 64n - 1n])
      expect(thrown(() => checkMasks([BigUint64Array.of(0n, bad)], T58, 2)).code).toBe(
        'ACCORD_HE_VALUE_RANGE',
      );
  });

  it('draws masks below t for moduli around 2^32 and 2^64, every residue of a tiny one', () => {
    for (const t of [2n ** 64n - 59n, 2n ** 32n + 15n, 2n ** 32n, 2n ** 32n - 5n, 1000n]) {
      const mask = uniformMask(t, 4096);
      expect(mask.every((m) => m < t)).toBe(true);
      // The top half of [0, t) gets about half the draws.
      const top = mask.filter((m) => m >= t / 2n).length;
      expect(top).toBeGreaterThan(4096 * 0.43);
      expect(top).toBeLessThan(4096 * 0.57);
    }
    expect(new Set(uniformMask(3n, 300))).toEqual(new Set([0n, 1n, 2n]));
  });
});
