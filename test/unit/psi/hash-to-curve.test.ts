import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { mapToCurveBatch } from '../../../primitives/psi/elligator2.js';
import { FieldHasher } from '../../../primitives/psi/expand-message.js';
import {
  encodeToCurveU,
  hashToCurve,
  hashToCurveBatch,
  psiDst,
} from '../../../primitives/psi/hash-to-curve.js';
import { ID_KINDS } from '../../../primitives/identity/normalise.js';
import { bytesToU, isOnCurve, P, refHashToField, refMapToU } from './reference.js';

// RFC 9380 appendix J, suite curve25519_XMD:SHA-512_ELL2_NU_: u[0] and Q.x (Q is before clear_cofactor, which
// is exactly what this implementation outputs). Big-endian hex, as printed in the RFC.
const RFC_DST = Buffer.from('QUUX-V01-CS02-with-curve25519_XMD:SHA-512_ELL2_NU_');
const RFC_VECTORS = [
  {
    msg: '',
    u0: '608d892b641f0328523802a6603427c26e55e6f27e71a91a478148d45b5093cd',
    qx: '51125222da5e763d97f3c10fcc92ea6860b9ccbbd2eb1285728f566721c1e65b',
  },
  {
    msg: 'abc',
    u0: '46f5b22494bfeaa7f232cc8d054be68561af50230234d7d1d63d1d9abeca8da5',
    qx: '7d56d1e08cb0ccb92baf069c18c49bb5a0dcd927eff8dcf75ca921ef7f3e6eeb',
  },
  {
    msg: 'abcdef0123456789',
    u0: '235fe40c443766ce7e18111c33862d66c3b33267efa50d50f9e8e5d252a40aaa',
    qx: '3fbe66b9c9883d79e8407150e7c2a1c8680bee496c62fabe4619a72b3cabe90f',
  },
  {
    msg: 'q128_' + 'q'.repeat(128),
    u0: '001e92a544463bda9bd04ddbe3d6eed248f82de32f522669efc5ddce95f46f5b',
    qx: '227e0bb89de700385d19ec40e857db6e6a3e634b1c32962f370d26f84ff19683',
  },
  {
    msg: 'a512_' + 'a'.repeat(512),
    u0: '1a68a1af9f663592291af987203393f707305c7bac9c8d63d6a729bdc553dc19',
    qx: '3bcd651ee54d5f7b6013898aab251ee8ecc0688166fce6e9548d38472f6bd196',
  },
];

const beHex = (le: Uint8Array) => Buffer.from(le).reverse().toString('hex');

function mapOne(u: bigint): bigint {
  const out = Buffer.alloc(32);
  mapToCurveBatch([u], out, 0);
  return bytesToU(out);
}

describe('RFC 9380 curve25519_XMD:SHA-512_ELL2_NU_', () => {
  it.each(RFC_VECTORS)('hash_to_field of "$msg"', ({ msg, u0 }) => {
    expect(new FieldHasher(RFC_DST).hashString(msg).toString(16).padStart(64, '0')).toBe(u0);
  });

  it('encode_to_curve Q.x of every RFC message, as one batch', () => {
    const out = encodeToCurveU(
      RFC_VECTORS.map((v) => v.msg),
      RFC_DST,
    );
    RFC_VECTORS.forEach((v, i) => {
      expect(beHex(out.subarray(32 * i, 32 * i + 32))).toBe(v.qx);
    });
  });
});

describe('against the noble reference', () => {
  it('hash_to_field agrees on random messages and DSTs', () => {
    for (let i = 0; i < 50; i++) {
      const msg = randomBytes(i * 7);
      const dst = randomBytes(1 + ((i * 37) % 255));
      expect(new FieldHasher(dst).hashBytes(msg)).toBe(refHashToField(msg, dst));
    }
  });

  it('the Elligator 2 map agrees on 2000 random field elements and the edge values, all on the curve', () => {
    const edges = [0n, 1n, 2n, P - 1n, P - 2n, (P - 1n) / 2n, 486662n];
    const us = [...edges, ...Array.from({ length: 2000 }, () => bytesToU(randomBytes(32)) % P)];
    const out = Buffer.alloc(32 * us.length);
    mapToCurveBatch(us, out, 0);
    us.forEach((u, i) => {
      const got = bytesToU(out.subarray(32 * i, 32 * i + 32));
      expect(got).toBe(refMapToU(u));
      expect(isOnCurve(got)).toBe(true);
    });
    expect(mapOne(edges[3]!)).toBe(refMapToU(edges[3]!));
  });
});

describe('hashToCurveBatch', () => {
  const ids = Array.from({ length: 300 }, (_, i) => `+4479${String(i).padStart(8, '0')}`);

  it('equals the single-element form, element by element', () => {
    const batch = hashToCurveBatch(ids, 'phone', 'job-1');
    expect(batch.length).toBe(32 * ids.length);
    for (const i of [0, 1, 150, 299]) {
      expect(batch.subarray(32 * i, 32 * i + 32).equals(hashToCurve(ids[i]!, 'phone', 'job-1'))).toBe(true);
    }
  });

  it('is unlinkable across job domains and kinds: the same id never gives the same point', () => {
    const seen = new Set<string>();
    for (const kind of ID_KINDS) {
      for (const job of ['job-1', 'job-2', 'job-1 ']) {
        const points = hashToCurveBatch(ids.slice(0, 20), kind, job);
        for (let i = 0; i < 20; i++) seen.add(points.toString('hex', 32 * i, 32 * i + 32));
      }
    }
    expect(seen.size).toBe(ID_KINDS.length * 3 * 20);
  });

  it('handles an empty batch and batches larger than the internal one', () => {
    expect(hashToCurveBatch([], 'text', 'job').length).toBe(0);
    const many = Array.from({ length: 5000 }, (_, i) => `id${i}`);
    const all = hashToCurveBatch(many, 'customer_id', 'job');
    expect(all.subarray(32 * 4999).equals(hashToCurve('id4999', 'customer_id', 'job'))).toBe(true);
  });

  it('rejects bad job domains and kinds with their codes', () => {
    expect(() => psiDst('phone', '')).toThrow(expect.objectContaining({ code: 'ACCORD_PSI_DOMAIN_INVALID' }));
    expect(() => psiDst('phone', 'a\nb')).toThrow(
      expect.objectContaining({ code: 'ACCORD_PSI_DOMAIN_INVALID' }),
    );
    expect(() => psiDst('phone', 'x'.repeat(161))).toThrow(
      expect.objectContaining({ code: 'ACCORD_PSI_DOMAIN_INVALID' }),
    );
    expect(() => hashToCurveBatch(['x'], 'iban' as never, 'job')).toThrow(
      expect.objectContaining({ code: 'ACCORD_ID_KIND_UNKNOWN' }),
    );
    expect(psiDst('email', 'j').toString()).toBe('ACCORD-PSI-V1-CURVE25519_XMD:SHA-512_ELL2_NU_|email|j');
  });
});
