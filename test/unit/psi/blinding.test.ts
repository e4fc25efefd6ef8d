import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { blind, validateAndBlind } from '../../../primitives/psi/blinding.js';
import { hashToCurveBatch } from '../../../primitives/psi/hash-to-curve.js';
import { PsiKey } from '../../../primitives/psi/psi-key.js';
import { validatePoints } from '../../../primitives/psi/validate-points.js';
import { bytesToU, isInPrimeOrderSubgroup, isOnCurve, refX25519 } from './reference.js';

const points = (buf: Buffer) =>
  Array.from({ length: buf.length / 32 }, (_, i) => buf.toString('hex', 32 * i, 32 * i + 32));

describe('PsiKey', () => {
  it('round-trips its secret and blinds like noble X25519 with that secret', () => {
    const key = PsiKey.generate();
    const secret = key.secretBytes();
    expect(secret.length).toBe(32);
    expect(PsiKey.fromSecretForTesting(secret).secretBytes().equals(secret)).toBe(true);
    const p = hashToCurveBatch(['x', 'y'], 'text', 'job');
    const b = blind(key, p);
    expect(b.subarray(0, 32).equals(refX25519(secret, p.subarray(0, 32)))).toBe(true);
    expect(b.subarray(32).equals(refX25519(secret, p.subarray(32)))).toBe(true);
  });

  it('rejects a secret of the wrong size', () => {
    expect(() => PsiKey.fromSecretForTesting(new Uint8Array(31))).toThrow(
      expect.objectContaining({ code: 'ACCORD_PSI_KEY_INVALID' }),
    );
  });
});

describe('blind', () => {
  it('commutes: blind(b, blind(a, P)) == blind(a, blind(b, P)) for random keys and ids', () => {
    for (let round = 0; round < 20; round++) {
      const a = PsiKey.generate();
      const b = PsiKey.generate();
      const ids = Array.from({ length: 10 }, () => randomBytes(1 + (round % 20)).toString('base64'));
      const h = hashToCurveBatch(ids, 'customer_id', `job-${round}`);
      const ab = blind(b, blind(a, h));
      expect(ab.equals(blind(a, blind(b, h)))).toBe(true);
      // Blinded points stay on the curve (outside the small subgroup), so a peer can validate them.
      expect(() => validatePoints(blind(a, h), ids.length)).not.toThrow();
      for (const hex of points(ab)) expect(isOnCurve(bytesToU(Buffer.from(hex, 'hex')))).toBe(true);
    }
  });

  it('maps an all-zero X25519 output to ACCORD_PSI_POINT_LOW_ORDER with the index', () => {
    const good = hashToCurveBatch(['a'], 'text', 'job');
    const bad = Buffer.concat([good, Buffer.alloc(32)]);
    expect(() => blind(PsiKey.generate(), bad)).toThrow(
      expect.objectContaining({ code: 'ACCORD_PSI_POINT_LOW_ORDER', params: { index: 1 } }),
    );
  });
});

describe('the protocol on a small realistic example', () => {
  it('two banks with 500 ids each, 200 shared, find exactly the plaintext intersection', () => {
    const shared = Array.from(
      { length: 200 },
      (_, i) => `+4420${String(7_000_000 + i * 13).padStart(8, '0')}`,
    );
    const onlyA = Array.from({ length: 300 }, (_, i) => `+3361${String(2_000_000 + i * 7).padStart(7, '0')}`);
    const onlyB = Array.from(
      { length: 300 },
      (_, i) => `+4930${String(5_000_000 + i * 11).padStart(7, '0')}`,
    );
    const shuffle = <T>(xs: T[]) =>
      xs
        .map((x) => [Math.random(), x] as const)
        .sort((p, q) => p[0] - q[0])
        .map((p) => p[1]);
    const setA = shuffle([...shared, ...onlyA]);
    const setB = shuffle([...shared, ...onlyB]);
    const job = 'job-example-001';
    const keyA = PsiKey.generate();
    const keyB = PsiKey.generate();

    // 1-2. Each hashes its normalised ids and blinds them with its own key.
    const fromA = blind(keyA, hashToCurveBatch(setA, 'phone', job));
    const fromB = blind(keyB, hashToCurveBatch(setB, 'phone', job));
    // 3. Each validates what it received and blinds it again.
    const aDouble = validateAndBlind(keyB, fromA, setA.length); // computed by B, returned to A in A's order
    const bDouble = validateAndBlind(keyA, fromB, setB.length); // computed by A
    // 4. A compares.
    const bSet = new Set(points(bDouble));
    const found = setA.filter((_, i) => bSet.has(aDouble.toString('hex', 32 * i, 32 * i + 32)));
    expect(new Set(found)).toEqual(new Set(shared));
    expect(found.length).toBe(200);
    // Singly blinded values reveal no equality across parties.
    const singleA = new Set(points(fromA));
    expect(points(fromB).some((p) => singleA.has(p))).toBe(false);
  });
});

describe('what a peer can tell apart', () => {
  it('every blinded value lies in the prime-order subgroup, real or an unmatchable stand-in; raw hashes do not', () => {
    const key = PsiKey.generate();
    // Real identifiers and the random stand-ins a node sends for rows it cannot match (psi-run.ts): one distribution.
    const real = hashToCurveBatch(['+8613900001234', '+8613900005678', '+8613900009999'], 'phone', 'job');
    const standIns = hashToCurveBatch(
      Array.from({ length: 64 }, () => `\u0000unmatchable:${randomBytes(16).toString('hex')}`),
      'phone',
      'job',
    );
    for (const set of [blind(key, real), blind(key, standIns)]) {
      for (let i = 0; i < set.length / 32; i++)
        expect(isInPrimeOrderSubgroup(set.subarray(i * 32, i * 32 + 32))).toBe(true);
    }
    // The check can fail: hash-to-curve outputs that skip the cofactor (what padding once was) are mostly outside.
    let outside = 0;
    for (let i = 0; i < standIns.length / 32; i++)
      if (!isInPrimeOrderSubgroup(standIns.subarray(i * 32, i * 32 + 32))) outside++;
    expect(outside).toBeGreaterThan(40); // 7 in 8 expected of 64
  });
});
