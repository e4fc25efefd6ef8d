/**
 * Known-answer vectors (test/vectors/psi, written by generate.ts after checking every value against the noble
 * reference). A failure here means the wire format changed: partner banks would stop matching.
 */
import { describe, expect, it } from 'vitest';
import { blind } from '../../../primitives/psi/blinding.js';
import { hashToCurveBatch, psiDst } from '../../../primitives/psi/hash-to-curve.js';
import { PsiKey } from '../../../primitives/psi/psi-key.js';
import { validatePoints } from '../../../primitives/psi/validate-points.js';
import type { IdKind } from '../../../primitives/identity/normalise.js';
import blindVectors from '../../vectors/psi/blind.json' with { type: 'json' };
import hashVectors from '../../vectors/psi/hash-to-curve.json' with { type: 'json' };
import invalidVectors from '../../vectors/psi/invalid-points.json' with { type: 'json' };
import { refEncodeToU, refX25519, uToBytes } from './reference.js';

describe('hash-to-curve vectors', () => {
  it.each(hashVectors.vectors)('$kind / $jobDomain', (v) => {
    const kind = v.kind as IdKind;
    expect(psiDst(kind, v.jobDomain).toString('utf8')).toBe(v.dst);
    expect(hashToCurveBatch([v.id], kind, v.jobDomain).toString('hex')).toBe(v.point);
    expect(uToBytes(refEncodeToU(Buffer.from(v.id), Buffer.from(v.dst))).toString('hex')).toBe(v.point);
  });
});

describe('blind vectors', () => {
  const secretA = Buffer.from(blindVectors.secretA, 'hex');
  const secretB = Buffer.from(blindVectors.secretB, 'hex');
  const keyA = PsiKey.fromSecretForTesting(secretA);
  const keyB = PsiKey.fromSecretForTesting(secretB);
  it.each(blindVectors.vectors)('$point', (v) => {
    const point = Buffer.from(v.point, 'hex');
    expect(blind(keyA, point).toString('hex')).toBe(v.blindedA);
    expect(blind(keyB, point).toString('hex')).toBe(v.blindedB);
    expect(blind(keyA, Buffer.from(v.blindedB, 'hex')).toString('hex')).toBe(v.blindedAB);
    expect(refX25519(secretB, refX25519(secretA, point)).toString('hex')).toBe(v.blindedAB);
  });
});

describe('invalid point vectors', () => {
  it.each(invalidVectors.vectors)('$name -> $code', (v) => {
    expect(() => validatePoints(Buffer.from(v.points, 'hex'), v.count)).toThrow(
      expect.objectContaining({ code: v.code, ...('index' in v ? { params: { index: v.index } } : {}) }),
    );
  });
});
