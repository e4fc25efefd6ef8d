import { describe, expect, it } from 'vitest';
import { AccordError } from '../../../primitives/errors/index.js';
import { blind } from '../../../primitives/psi/blinding.js';
import { hashToCurveBatch } from '../../../primitives/psi/hash-to-curve.js';
import { PsiKey } from '../../../primitives/psi/psi-key.js';
import { SMALL_ORDER_U, validatePoints } from '../../../primitives/psi/validate-points.js';
import { P, refX25519, uToBytes } from './reference.js';

function codeOf(fn: () => void): { code: string; params: Record<string, string | number> } | undefined {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(AccordError);
    return { code: (err as AccordError).code, params: (err as AccordError).params };
  }
  return undefined;
}

const good = hashToCurveBatch(['a', 'b', 'c'], 'text', 'job');

describe('validatePoints', () => {
  it('accepts hashed and blinded points', () => {
    expect(() => validatePoints(good, 3)).not.toThrow();
    expect(() => validatePoints(blind(PsiKey.generate(), good), 3)).not.toThrow();
    expect(() => validatePoints(Buffer.alloc(0), 0)).not.toThrow();
  });

  it('rejects a wrong length', () => {
    expect(codeOf(() => validatePoints(good.subarray(0, 95), 3))?.code).toBe(
      'ACCORD_PSI_POINT_COUNT_MISMATCH',
    );
    expect(codeOf(() => validatePoints(good, 2))?.params).toEqual({
      expected: 2,
      expectedBytes: 64,
      actualBytes: 96,
    });
    expect(codeOf(() => validatePoints(good, 4))?.code).toBe('ACCORD_PSI_POINT_COUNT_MISMATCH');
  });

  it('rejects non-canonical encodings (u >= p, top bit set)', () => {
    for (const u of [P, P + 1n, P + 9n, (1n << 255n) - 1n, 9n + (1n << 255n)]) {
      const r = codeOf(() => validatePoints(uToBytes(u), 1));
      expect(r?.code).toBe('ACCORD_PSI_POINT_NOT_ON_CURVE');
    }
  });

  it('rejects twist points', () => {
    for (const u of [2n, 3n]) {
      expect(codeOf(() => validatePoints(uToBytes(u), 1))).toEqual({
        code: 'ACCORD_PSI_POINT_NOT_ON_CURVE',
        params: { index: 0, reason: 'on the quadratic twist' },
      });
    }
  });

  it('rejects every small-order u, and each really is small order (X25519 gives zero)', () => {
    expect(SMALL_ORDER_U).toContain(0n);
    expect(SMALL_ORDER_U).toContain(1n);
    const secret = PsiKey.generate().secretBytes();
    for (const u of SMALL_ORDER_U) {
      expect(codeOf(() => validatePoints(uToBytes(u), 1))?.code).toBe('ACCORD_PSI_POINT_LOW_ORDER');
      expect(() => refX25519(secret, uToBytes(u))).toThrow(); // noble refuses the all-zero shared secret
    }
  });

  it('reports the index of the first bad point', () => {
    const pts = Buffer.concat([good, uToBytes(1n), uToBytes(2n)]);
    expect(codeOf(() => validatePoints(pts, 5))).toEqual({
      code: 'ACCORD_PSI_POINT_LOW_ORDER',
      params: { index: 3 },
    });
    expect(codeOf(() => validatePoints(pts.subarray(0, 32 * 4), 4, 100))?.params).toEqual({ index: 103 });
  });

  it('never puts point bytes into the error', () => {
    const bad = uToBytes(2n);
    const err = (() => {
      try {
        validatePoints(bad, 1);
      } catch (e) {
        return e as AccordError;
      }
    })()!;
    expect(JSON.stringify(err.toJSON())).not.toContain(bad.toString('hex'));
  });
});

describe('batch on-curve check', () => {
  const many = hashToCurveBatch(
    Array.from({ length: 1_000 }, (_, i) => `customer-${i}`),
    'customer_id',
    'batch',
  );
  const twistU = uToBytes(2n); // u = 2: f(2) is not a square mod p, so the point lies on the twist

  function withTwistAt(indices: number[]): Buffer {
    const points = Buffer.from(many);
    for (const i of indices) twistU.copy(points, i * 32);
    return points;
  }

  it('accepts a large batch of curve points', () => {
    expect(() => validatePoints(many, 1_000)).not.toThrow();
  });

  it('finds a single twist point in a large batch, with its index', () => {
    expect(codeOf(() => validatePoints(withTwistAt([613]), 1_000))).toEqual({
      code: 'ACCORD_PSI_POINT_NOT_ON_CURVE',
      params: { index: 613, reason: 'on the quadratic twist' },
    });
  });

  it('is not fooled by an even number of twist points (their product would be a square)', () => {
    for (let trial = 0; trial < 20; trial++) {
      expect(codeOf(() => validatePoints(withTwistAt([17, 901]), 1_000))?.params['index']).toBe(17);
    }
  });
});
