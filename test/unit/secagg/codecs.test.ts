/**
 * The ring and the fixed-point codecs: lane-wise arithmetic mod 2^32, and property tests that sums of several
 * encodings decode to the sum of the reals within the quantisation bound (clipping counted, never silent).
 */
import { describe, expect, it } from 'vitest';
import {
  chooseFixedPoint,
  chooseWideLimbs,
  decodeFixedPointSum,
  decodeWideSum,
  encodeFixedPoint,
  encodeWide,
  fixedPointErrorBound,
  WIDE_MAX_PARTICIPANTS,
} from '../../../primitives/secagg/fixed-point.js';
import { addInPlace, addSignedInPlace, ringEqual, subInPlace } from '../../../primitives/secagg/ring.js';
import { seeded } from './harness.js';

function sumLanes(vectors: Uint32Array[]): Uint32Array {
  const out = new Uint32Array(vectors[0]!.length);
  for (const v of vectors) addInPlace(out, v);
  return out;
}

describe('ring', () => {
  it('adds and subtracts mod 2^32 in place', () => {
    const a = Uint32Array.from([0, 1, 0xffff_ffff, 0x8000_0000]);
    const b = Uint32Array.from([0xffff_ffff, 0xffff_ffff, 1, 0x8000_0000]);
    expect([...addInPlace(a.slice(), b)]).toEqual([0xffff_ffff, 0, 0, 0]);
    expect([...subInPlace(a.slice(), b)]).toEqual([1, 2, 0xffff_fffe, 0]);
    const x = a.slice();
    addSignedInPlace(x, b, 1);
    addSignedInPlace(x, b, -1);
    expect(ringEqual(x, a)).toBe(true);
  });

  it('refuses vectors of different lengths or types', () => {
    expect(() => addInPlace(new Uint32Array(2), new Uint32Array(3))).toThrow(RangeError);
    expect(() => subInPlace(new Uint32Array(2), new Int32Array(2) as unknown as Uint32Array)).toThrow(
      TypeError,
    );
  });
});

describe('fixed point', () => {
  it('picks the finest resolution that keeps n sums inside 31 bits, and validates a given one', () => {
    const p = chooseFixedPoint({ clip: 8, maxParticipants: 100 });
    expect(8 * 2 ** p.fractionBits * 100).toBeLessThan(2 ** 31);
    expect(8 * 2 ** (p.fractionBits + 1) * 100).toBeGreaterThanOrEqual(2 ** 31);
    expect(chooseFixedPoint({ clip: 1, maxParticipants: 10, fractionBits: 20 })).toEqual({
      clip: 1,
      fractionBits: 20,
    });
    expect(() => chooseFixedPoint({ clip: 1, maxParticipants: 10_000, fractionBits: 20 })).toThrow(
      RangeError,
    );
    expect(() => chooseFixedPoint({ clip: 2 ** 31, maxParticipants: 2 })).toThrow(RangeError);
    expect(() => chooseFixedPoint({ clip: -1, maxParticipants: 2 })).toThrow(RangeError);
  });

  it('clips values outside [-clip, clip] and counts them', () => {
    const out = encodeFixedPoint(Float64Array.from([3, -3, 0.5, Number.POSITIVE_INFINITY]), {
      clip: 1,
      fractionBits: 4,
    });
    expect(out.clipped).toBe(3);
    expect([...decodeFixedPointSum(out.lanes, { fractionBits: 4 })]).toEqual([1, -1, 0.5, 1]);
  });

  it('refuses NaN, naming its position and not its value', () => {
    expect(() => encodeFixedPoint(Float64Array.from([1, Number.NaN]), { clip: 2, fractionBits: 4 })).toThrow(
      /values\[1\] is NaN/,
    );
  });

  it('property: sums of n encodings decode to the sum of the clamped values within n * 2^-(f+1)', () => {
    const rnd = seeded(42);
    for (let trial = 0; trial < 200; trial++) {
      const n = 1 + Math.floor(rnd() * 20);
      const clip = 0.01 + rnd() * 100;
      const codec = chooseFixedPoint({ clip, maxParticipants: n });
      const len = 1 + Math.floor(rnd() * 16);
      const values = Array.from({ length: n }, () =>
        Float64Array.from({ length: len }, () => (rnd() - 0.5) * 3 * clip),
      );
      const encoded = values.map((v) => encodeFixedPoint(v, codec));
      const decoded = decodeFixedPointSum(sumLanes(encoded.map((e) => e.lanes)), codec);
      const bound = fixedPointErrorBound(n, codec.fractionBits);
      let clipped = 0;
      for (let i = 0; i < len; i++) {
        let exact = 0;
        for (const v of values) {
          const c = Math.max(-clip, Math.min(clip, v[i]!));
          if (c !== v[i]) clipped++;
          exact += c;
        }
        expect(Math.abs(decoded[i]! - exact)).toBeLessThanOrEqual(bound * (1 + 1e-9));
      }
      expect(encoded.reduce((s, e) => s + e.clipped, 0)).toBe(clipped);
    }
  });
});

describe('wide codec', () => {
  it('chooses enough limbs for sums of squares over millions of rows', () => {
    // 65 535 participants, each a sum of squares of 10^7 rows of values up to 1e4: 1e15 per participant.
    const limbs = chooseWideLimbs({ maxAbs: 1e15, fractionBits: 8, maxParticipants: WIDE_MAX_PARTICIPANTS });
    expect(limbs).toBe(5);
    expect(() => chooseWideLimbs({ maxAbs: 1, fractionBits: 0, maxParticipants: 70_000 })).toThrow(
      RangeError,
    );
  });

  it('decodes the maximum lane sum of 65 535 participants without losing a carry', () => {
    const params = { fractionBits: 0, limbs: 2 };
    // Each participant encodes -1 (all limbs 0xffff): every lane of the sum is 65 535 * 65 535 < 2^32.
    const one = encodeWide(Float64Array.from([-1]), params);
    const lanes = Uint32Array.from(one, (l) => (l * WIDE_MAX_PARTICIPANTS) >>> 0);
    expect([...decodeWideSum(lanes, params)]).toEqual([-WIDE_MAX_PARTICIPANTS]);
  });

  it('property: sums of wide encodings decode to the sum of the rounded values', () => {
    const rnd = seeded(7);
    for (let trial = 0; trial < 200; trial++) {
      const n = 1 + Math.floor(rnd() * 30);
      const fractionBits = Math.floor(rnd() * 24);
      const magnitude = 10 ** Math.floor(rnd() * 15);
      const limbs = chooseWideLimbs({ maxAbs: magnitude, fractionBits, maxParticipants: n });
      const params = { fractionBits, limbs };
      const len = 1 + Math.floor(rnd() * 8);
      const values = Array.from({ length: n }, () =>
        Float64Array.from({ length: len }, () => (rnd() * 2 - 1) * magnitude),
      );
      const decoded = decodeWideSum(sumLanes(values.map((v) => encodeWide(v, params))), params);
      const scale = 2n ** BigInt(fractionBits);
      for (let i = 0; i < len; i++) {
        const exact = values.reduce((s, v) => s + BigInt(Math.round(v[i]! * 2 ** fractionBits)), 0n);
        // Exact integer sum, then one rounding to a double: compare with the same conversion.
        expect(decoded[i]).toBe(Number(exact) / Number(scale));
        const real = values.reduce((s, v) => s + v[i]!, 0);
        expect(Math.abs(decoded[i]! - real)).toBeLessThanOrEqual(
          n * 2 ** -(fractionBits + 1) + Math.abs(real) * 1e-12,
        );
      }
    }
  });

  it('agrees between the number and BigInt paths near 2^53', () => {
    const params = { fractionBits: 0, limbs: 5 };
    const near = Float64Array.from([2 ** 53 - 1, -(2 ** 53 - 1), 2 ** 53, -(2 ** 53), 2 ** 60 + 2 ** 10]);
    expect([...decodeWideSum(encodeWide(near, params), params)]).toEqual([...near]);
  });
});
