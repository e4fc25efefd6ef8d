import { ristretto255_hasher } from '@noble/curves/ed25519.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { describe, expect, it } from 'vitest';
import {
  assertValidElement,
  availableBackends,
  defaultBackend,
  GROUP_ORDER,
  getBackend,
  isCanonicalNonZeroScalar,
  libsodiumBackend,
} from '../../../primitives/oprf/ristretto.js';
import rfc9496 from '../../vectors/oprf/rfc9496-ristretto255.json' with { type: 'json' };
import { expectAccordError, hex } from './helpers.js';

const invalidEncodings = Object.values(rfc9496.invalidEncodings).flat();

function scalar(n: bigint): Uint8Array {
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++) out[i] = Number((n >> BigInt(8 * i)) & 0xffn);
  return out;
}

describe('backend selection', () => {
  it('loads libsodium (the installed fast path) and makes it the default', () => {
    expect(libsodiumBackend).not.toBeNull();
    expect(defaultBackend.name).toBe('libsodium');
    expect(getBackend('libsodium')).toBe(libsodiumBackend);
    expect(getBackend('noble').name).toBe('noble');
    expect(availableBackends().map((b) => b.name)).toEqual(['noble', 'libsodium']);
  });
});

describe('RFC 9496 element derivation (the one-way map behind hash_to_ristretto255)', () => {
  it.each(rfc9496.elementDerivation)('noble maps $uniformBytes', ({ uniformBytes, element }) => {
    expect(bytesToHex(ristretto255_hasher.deriveToCurve!(hex(uniformBytes)).toBytes())).toBe(element);
  });

  it.each(rfc9496.elementDerivation)('libsodium maps $uniformBytes', async ({ uniformBytes, element }) => {
    const sodium = (await import('libsodium-wrappers-sumo')).default;
    await sodium.ready;
    expect(bytesToHex(sodium.crypto_core_ristretto255_from_hash(hex(uniformBytes)))).toBe(element);
  });
});

describe.each(availableBackends().map((b) => [b.name, b] as const))('%s backend', (_name, backend) => {
  it('reproduces the RFC 9496 encodings of [1]B … [15]B', () => {
    for (let n = 1; n < rfc9496.smallMultiples.length; n++) {
      expect(bytesToHex(backend.scalarMultBase(scalar(BigInt(n))))).toBe(rfc9496.smallMultiples[n]);
    }
  });

  it('accepts every non-identity small multiple and multiplies it consistently', () => {
    const two = scalar(2n);
    for (let n = 1; n <= 7; n++) {
      const element = hex(rfc9496.smallMultiples[n]!);
      expect(backend.isValidElement(element)).toBe(true);
      expect(bytesToHex(backend.scalarMult(two, element, 'element'))).toBe(rfc9496.smallMultiples[2 * n]);
    }
  });

  it('rejects the identity (the RFC 9496 encoding of [0]B)', () => {
    const identity = hex(rfc9496.smallMultiples[0]!);
    expect(backend.isValidElement(identity)).toBe(false);
    expectAccordError(
      () => backend.scalarMult(scalar(5n), identity, 'blinded'),
      'ACCORD_OPRF_POINT_INVALID',
      {
        element: 'blinded',
        reason: 'identity',
      },
    );
  });

  it.each(invalidEncodings)('rejects the RFC 9496 invalid encoding %s', (encoding) => {
    const bytes = hex(encoding);
    expect(backend.isValidElement(bytes)).toBe(false);
    const err = expectAccordError(
      () => backend.scalarMult(scalar(5n), bytes, 'evaluated', 3),
      'ACCORD_OPRF_POINT_INVALID',
      { element: 'evaluated', reason: 'non-canonical or not on the group', index: 3 },
    );
    expect(JSON.stringify(err.toJSON())).not.toContain(encoding);
    expect(() => assertValidElement(bytes, 'element', undefined, backend)).toThrow();
  });

  it('rejects elements that are not 32 bytes', () => {
    for (const bad of [new Uint8Array(0), new Uint8Array(31), new Uint8Array(33)]) {
      expect(backend.isValidElement(bad)).toBe(false);
      expectAccordError(() => backend.scalarMult(scalar(5n), bad, 'blinded'), 'ACCORD_OPRF_POINT_INVALID', {
        reason: 'not 32 bytes',
      });
    }
    const notBytes = Array.from(hex(rfc9496.smallMultiples[1]!)) as unknown as Uint8Array;
    expectAccordError(() => backend.scalarMult(scalar(5n), notBytes, 'blinded'), 'ACCORD_OPRF_POINT_INVALID');
  });

  it('produces random scalars in [1, ℓ) that invert', () => {
    const one = scalar(1n);
    for (let i = 0; i < 20; i++) {
      const r = backend.randomScalar();
      expect(isCanonicalNonZeroScalar(r)).toBe(true);
      expect(backend.scalarMul(r, backend.scalarInvert(r))).toEqual(one);
    }
  });

  it('hashToGroup is deterministic, DST-separated and valid', () => {
    const msg = new TextEncoder().encode('hello');
    const dst1 = new TextEncoder().encode('DST-one');
    const dst2 = new TextEncoder().encode('DST-two');
    const a = backend.hashToGroup(msg, dst1);
    expect(backend.hashToGroup(msg, dst1)).toEqual(a);
    expect(backend.hashToGroup(msg, dst2)).not.toEqual(a);
    expect(backend.isValidElement(a)).toBe(true);
  });
});

describe('backends agree', () => {
  const [noble, sodium] = [getBackend('noble'), libsodiumBackend];

  it.runIf(sodium)('on hashToGroup, scalar arithmetic and scalar multiplication', () => {
    const enc = new TextEncoder();
    for (let i = 0; i < 25; i++) {
      const msg = enc.encode(`message ${i}`);
      const dst = enc.encode(`DST ${i % 3}`);
      const p = noble.hashToGroup(msg, dst);
      expect(sodium!.hashToGroup(msg, dst)).toEqual(p);
      const a = noble.randomScalar();
      const b = sodium!.randomScalar();
      expect(sodium!.scalarMul(a, b)).toEqual(noble.scalarMul(a, b));
      expect(sodium!.scalarInvert(a)).toEqual(noble.scalarInvert(a));
      expect(sodium!.scalarMult(a, p, 'element')).toEqual(noble.scalarMult(a, p, 'element'));
      expect(sodium!.scalarMultBase(b)).toEqual(noble.scalarMultBase(b));
    }
  });

  it.runIf(sodium)('on which random 32-byte strings are valid elements', () => {
    let valid = 0;
    for (let i = 0; i < 500; i++) {
      const bytes = crypto.getRandomValues(new Uint8Array(32));
      const v = noble.isValidElement(bytes);
      expect(sodium!.isValidElement(bytes)).toBe(v);
      if (v) valid++;
    }
    // Roughly 1 in 16 random strings decodes; most are garbage.
    expect(valid).toBeLessThan(150);
  });
});

describe('isCanonicalNonZeroScalar', () => {
  it('accepts [1, ℓ) and rejects 0, ℓ, 2^256-1 and wrong lengths', () => {
    expect(isCanonicalNonZeroScalar(scalar(1n))).toBe(true);
    expect(isCanonicalNonZeroScalar(scalar(GROUP_ORDER - 1n))).toBe(true);
    expect(isCanonicalNonZeroScalar(scalar(0n))).toBe(false);
    expect(isCanonicalNonZeroScalar(scalar(GROUP_ORDER))).toBe(false);
    expect(isCanonicalNonZeroScalar(new Uint8Array(32).fill(0xff))).toBe(false);
    expect(isCanonicalNonZeroScalar(new Uint8Array(31).fill(1))).toBe(false);
  });
});
