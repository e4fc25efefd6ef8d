import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { CoordinatorKey } from '../../../primitives/oprf/coordinator-key.js';
import { MemberKey } from '../../../primitives/oprf/member-key.js';
import {
  availableBackends,
  GROUP_ORDER,
  isCanonicalNonZeroScalar,
} from '../../../primitives/oprf/ristretto.js';
import { expectAccordError } from './helpers.js';

function le(n: bigint): Uint8Array {
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++) out[i] = Number((n >> BigInt(8 * i)) & 0xffn);
  return out;
}

describe.each([
  ['member', MemberKey],
  ['coordinator', CoordinatorKey],
] as const)('%s key', (role, Key) => {
  it('generates distinct canonical non-zero scalars with every backend', () => {
    for (const backend of availableBackends()) {
      const a = Key.generate(backend);
      const b = Key.generate(backend);
      expect(a.role).toBe(role);
      expect(isCanonicalNonZeroScalar(a.secretScalar)).toBe(true);
      expect(a.equals(b as never)).toBe(false);
    }
  });

  it('round-trips through base64 (44 characters)', () => {
    const key = Key.generate();
    const text = key.toBase64();
    expect(text).toMatch(/^[A-Za-z0-9+/]{43}=$/);
    const back = Key.fromBase64(text);
    expect(back.equals(key as never)).toBe(true);
    expect(back.secretScalar).toEqual(key.secretScalar);
  });

  it('returns a copy of the secret scalar', () => {
    const key = Key.fromBytesForTesting(le(12345n));
    key.secretScalar.fill(0);
    expect(key.secretScalar).toEqual(le(12345n));
  });

  it('rejects malformed base64 without echoing it', () => {
    const good = Key.generate().toBase64();
    const bad = [
      '',
      good.slice(0, 43),
      `${good} `,
      ` ${good}`,
      good.replace('=', ''),
      good.replace(/.=$/, 'B='), // non-zero padding bits: not the canonical base64 of 32 bytes
      `${good.slice(0, 40)}-_A=`, // base64url alphabet
      Buffer.alloc(33, 1).toString('base64'),
    ];
    for (const text of bad) {
      const err = expectAccordError(() => Key.fromBase64(text), 'ACCORD_OPRF_KEY_INVALID', { role });
      if (text.length > 8) expect(JSON.stringify(err.toJSON())).not.toContain(text.trim().slice(0, 20));
    }
    expectAccordError(() => Key.fromBase64(42 as unknown as string), 'ACCORD_OPRF_KEY_INVALID');
  });

  it('rejects zero and non-reduced scalars', () => {
    for (const n of [0n, GROUP_ORDER, GROUP_ORDER + 1n, 2n ** 256n - 1n]) {
      const text = Buffer.from(le(n)).toString('base64');
      expectAccordError(() => Key.fromBase64(text), 'ACCORD_OPRF_KEY_INVALID', {
        role,
        reason: 'zero or not reduced modulo the ristretto255 group order',
      });
      expectAccordError(() => Key.fromBytesForTesting(le(n)), 'ACCORD_OPRF_KEY_INVALID');
    }
    expectAccordError(() => Key.fromBytesForTesting(new Uint8Array(31).fill(1)), 'ACCORD_OPRF_KEY_INVALID', {
      reason: 'not 32 bytes',
    });
  });

  it('never shows the secret in JSON, String() or util.inspect', () => {
    const key = Key.generate();
    const secretB64 = key.toBase64();
    const secretHex = Buffer.from(key.secretScalar).toString('hex');
    for (const shown of [JSON.stringify({ key }), String(key), inspect(key), inspect({ nested: { key } })]) {
      expect(shown).not.toContain(secretB64);
      expect(shown).not.toContain(secretHex);
      expect(shown).toContain('redacted');
    }
    expect(Object.keys(key)).toEqual(['role']);
  });
});

describe('key types', () => {
  it('are distinct at runtime', () => {
    const m = MemberKey.generate();
    const c = CoordinatorKey.fromBase64(m.toBase64());
    expect(m.equals(c as unknown as MemberKey)).toBe(false);
  });
});
