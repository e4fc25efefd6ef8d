/**
 * Regenerates the PSI known-answer vectors in this folder from primitives/psi, refusing to write any value that the
 * independent noble reference (test/unit/psi/reference.ts) does not reproduce. Run once:
 *   node --import tsx test/vectors/psi/generate.ts
 * The vectors are a protocol fixture: if they ever need to change, every partner bank must upgrade together.
 */
import { writeFileSync } from 'node:fs';
import { blind } from '../../../primitives/psi/blinding.js';
import { hashToCurveBatch, psiDst } from '../../../primitives/psi/hash-to-curve.js';
import { PsiKey } from '../../../primitives/psi/psi-key.js';
import type { IdKind } from '../../../primitives/identity/normalise.js';
import { P, refEncodeToU, refX25519, uToBytes } from '../../unit/psi/reference.js';

const here = new URL('./', import.meta.url);
const write = (name: string, value: unknown) =>
  writeFileSync(new URL(name, here), JSON.stringify(value, null, 2) + '\n');

function check(what: string, ok: boolean): void {
  if (!ok) throw new Error(`reference disagrees on ${what}; vectors not written`);
}

const cases: { kind: IdKind; jobDomain: string; id: string }[] = [
  { kind: 'phone', jobDomain: 'job-2024-0001', id: '+442079460958' },
  { kind: 'phone', jobDomain: 'job-2024-0002', id: '+442079460958' },
  { kind: 'email', jobDomain: 'job-2024-0001', id: 'alice.smith+news@example.com' },
  { kind: 'national_id', jobDomain: 'job-2024-0001', id: 'AB123456C' },
  { kind: 'account', jobDomain: 'job-2024-0001', id: 'GB82WEST12345698765432' },
  { kind: 'customer_id', jobDomain: 'job-2024-0001', id: 'CUST-000123' },
  { kind: 'customer_id', jobDomain: 'tenant/ü/42', id: 'Zoë Müller 7' },
  { kind: 'text', jobDomain: 'job-2024-0001', id: 'jöhn smith ltd' },
  { kind: 'text', jobDomain: 'job-2024-0001', id: '' },
];

const hashVectors = cases.map((c) => {
  const point = hashToCurveBatch([c.id], c.kind, c.jobDomain);
  check(
    `hash of ${c.kind}`,
    point.equals(uToBytes(refEncodeToU(Buffer.from(c.id), psiDst(c.kind, c.jobDomain)))),
  );
  return { ...c, dst: psiDst(c.kind, c.jobDomain).toString('utf8'), point: point.toString('hex') };
});
write('hash-to-curve.json', {
  description:
    'Accord PSI hash-to-curve: point = little-endian u-coordinate of RFC 9380 encode_to_curve ' +
    '(curve25519_XMD:SHA-512_ELL2_NU_, without clear_cofactor) of the UTF-8 id under dst.',
  vectors: hashVectors,
});

// Fixed keys: test-only by construction.
const secretA = Buffer.from('a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4', 'hex');
const secretB = Buffer.from('4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d', 'hex');
const keyA = PsiKey.fromSecretForTesting(secretA);
const keyB = PsiKey.fromSecretForTesting(secretB);
const blindVectors = hashVectors.slice(0, 4).map((v) => {
  const point = Buffer.from(v.point, 'hex');
  const a = blind(keyA, point);
  const b = blind(keyB, point);
  const ab = blind(keyB, a);
  check('blind A', a.equals(refX25519(secretA, point)));
  check('blind B', b.equals(refX25519(secretB, point)));
  check(
    'commutativity',
    ab.equals(blind(keyA, b)) && ab.equals(refX25519(secretA, refX25519(secretB, point))),
  );
  return {
    point: v.point,
    blindedA: a.toString('hex'),
    blindedB: b.toString('hex'),
    blindedAB: ab.toString('hex'),
  };
});
write('blind.json', {
  description: 'X25519 blinding with two fixed test-only secrets; blindedAB = blind(B, blind(A, point)).',
  secretA: secretA.toString('hex'),
  secretB: secretB.toString('hex'),
  vectors: blindVectors,
});

const good = hashVectors[0]!.point;
const le = (u: bigint) => uToBytes(u).toString('hex');
write('invalid-points.json', {
  description: 'Inputs that validatePoints(points, count) must reject with the given code.',
  vectors: [
    { name: 'one byte short', points: good.slice(0, 62), count: 1, code: 'ACCORD_PSI_POINT_COUNT_MISMATCH' },
    {
      name: 'one point more than announced',
      points: good + good,
      count: 1,
      code: 'ACCORD_PSI_POINT_COUNT_MISMATCH',
    },
    { name: 'u = p', points: le(P), count: 1, code: 'ACCORD_PSI_POINT_NOT_ON_CURVE' },
    {
      name: 'u = p + 9 (non-canonical 9)',
      points: le(P + 9n),
      count: 1,
      code: 'ACCORD_PSI_POINT_NOT_ON_CURVE',
    },
    { name: 'top bit set', points: le(9n + (1n << 255n)), count: 1, code: 'ACCORD_PSI_POINT_NOT_ON_CURVE' },
    { name: 'twist point u = 2', points: le(2n), count: 1, code: 'ACCORD_PSI_POINT_NOT_ON_CURVE' },
    { name: 'low order u = 0', points: le(0n), count: 1, code: 'ACCORD_PSI_POINT_LOW_ORDER' },
    { name: 'low order u = 1', points: le(1n), count: 1, code: 'ACCORD_PSI_POINT_LOW_ORDER' },
    { name: 'low order u = p - 1', points: le(P - 1n), count: 1, code: 'ACCORD_PSI_POINT_LOW_ORDER' },
    {
      name: 'low order 8, first',
      points: le(325606250916557431795983626356110631294008115727848805560023387167927233504n),
      count: 1,
      code: 'ACCORD_PSI_POINT_LOW_ORDER',
    },
    {
      name: 'low order 8, second',
      points: le(39382357235489614581723060781553021112529911719440698176882885853963445705823n),
      count: 1,
      code: 'ACCORD_PSI_POINT_LOW_ORDER',
    },
    {
      name: 'bad point after a good one',
      points: good + le(0n),
      count: 2,
      code: 'ACCORD_PSI_POINT_LOW_ORDER',
      index: 1,
    },
  ],
});
console.log('wrote hash-to-curve.json, blind.json, invalid-points.json');
