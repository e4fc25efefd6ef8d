import { sha512 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { describe, expect, it } from 'vitest';
import { CoordinatorKey } from '../../../primitives/oprf/coordinator-key.js';
import {
  CONTEXT_STRING,
  computeTokenForTesting,
  hashToGroupForTesting,
  MAX_INPUT_BYTES,
  memberElement,
  memberElementBatch,
  TOKEN_BYTES,
  tokenBatch,
  tokenOf,
} from '../../../primitives/oprf/fraud-token.js';
import { MemberKey } from '../../../primitives/oprf/member-key.js';
import {
  availableBackends,
  defaultBackend,
  libsodiumBackend,
  nobleBackend,
  type RistrettoBackend,
} from '../../../primitives/oprf/ristretto.js';
import rfc9496 from '../../vectors/oprf/rfc9496-ristretto255.json' with { type: 'json' };
import rfc9497 from '../../vectors/oprf/rfc9497-ristretto255-sha512.json' with { type: 'json' };
import tokens from '../../vectors/oprf/tokens.json' with { type: 'json' };
import { expectAccordError, hex } from './helpers.js';

const km = MemberKey.generate();
const kc = CoordinatorKey.generate();
const backends = availableBackends().map((b) => [b.name, b] as const);
const enc = new TextEncoder();

/** The node → coordinator path: M = memberElement(x), then tokenOf(M). */
function viaProtocol(kind: string, id: string, m = km, c = kc, backend = defaultBackend): Uint8Array {
  return tokenOf(c, memberElement(kind, id, m, backend), backend);
}

/**
 * The construction written out from the header comment of fraud-token.ts with nothing but backend primitives
 * and SHA-512, so that a change of DST, key order or final-hash layout in the module fails the tests.
 */
function fromSpec(kind: string, id: string, m: MemberKey, c: CoordinatorKey, backend: RistrettoBackend) {
  const p = backend.hashToGroup(
    enc.encode(id),
    enc.encode(`HashToGroup-ACCORD-FraudToken-V2-ristretto255-SHA512-${kind}`),
  );
  const element = backend.scalarMult(m.secretScalar, p, 'element');
  const t = backend.scalarMult(c.secretScalar, element, 'element');
  const token = sha512
    .create()
    .update(Uint8Array.of(0, 32))
    .update(t)
    .update(enc.encode('Finalize-ACCORD-FraudToken-V2-ristretto255-SHA512'))
    .digest()
    .slice(0, 32);
  return { p, element, token };
}

const samples = [
  ['phone', '+447700900123'],
  ['email', 'jane.doe@example.com'],
  ['email', 'zoë@bücher.example'],
  ['email', 'smile😀@example.com'],
] as const;

describe.each(backends)('fraud token protocol (%s backend)', (_name, backend) => {
  it('tokenOf(memberElement(x)) equals the direct two-key computation and the spec', () => {
    for (const [kind, id] of samples) {
      const token = viaProtocol(kind, id, km, kc, backend);
      expect(token).toBeInstanceOf(Uint8Array);
      expect(token.length).toBe(TOKEN_BYTES);
      expect(bytesToHex(token)).toBe(bytesToHex(computeTokenForTesting(kind, id, km, kc, backend)));
      const spec = fromSpec(kind, id, km, kc, backend);
      expect(bytesToHex(memberElement(kind, id, km, backend))).toBe(bytesToHex(spec.element));
      expect(bytesToHex(token)).toBe(bytesToHex(spec.token));
    }
  });

  it('uses the V2 context string', () => {
    expect(CONTEXT_STRING).toBe('ACCORD-FraudToken-V2-ristretto255-SHA512');
  });

  it('two member nodes holding the same member key derive the same element and token', () => {
    // Each node loads k_m from its own config file.
    const nodeA = MemberKey.fromBase64(km.toBase64());
    const nodeB = MemberKey.fromBase64(km.toBase64());
    expect(nodeA).not.toBe(nodeB);
    for (const [kind, id] of samples) {
      const a = memberElement(kind, id, nodeA, backend);
      const b = memberElement(kind, id, nodeB, backend);
      expect(bytesToHex(a)).toBe(bytesToHex(b));
      expect(bytesToHex(tokenOf(kc, a, backend))).toBe(bytesToHex(tokenOf(kc, b, backend)));
    }
  });

  it('the member element is deterministic', () => {
    const first = memberElement('phone', '+447700900123', km, backend);
    for (let i = 0; i < 5; i++) {
      expect(bytesToHex(memberElement('phone', '+447700900123', km, backend))).toBe(bytesToHex(first));
    }
  });

  it('a different member key or coordinator key gives a different token', () => {
    const base = bytesToHex(viaProtocol('phone', '+447700900123', km, kc, backend));
    expect(bytesToHex(viaProtocol('phone', '+447700900123', MemberKey.generate(), kc, backend))).not.toBe(
      base,
    );
    expect(
      bytesToHex(viaProtocol('phone', '+447700900123', km, CoordinatorKey.generate(), backend)),
    ).not.toBe(base);
  });

  it('different kinds give different elements and tokens for the same string', () => {
    const id = '447700900123';
    const kinds = ['phone', 'email', 'iban', 'device_id'];
    const elements = new Set(kinds.map((k) => bytesToHex(memberElement(k, id, km, backend))));
    const toks = new Set(kinds.map((k) => bytesToHex(viaProtocol(k, id, km, kc, backend))));
    expect(elements.size).toBe(kinds.length);
    expect(toks.size).toBe(kinds.length);
  });

  it('different identifiers give different tokens', () => {
    expect(bytesToHex(viaProtocol('phone', '+447700900123', km, kc, backend))).not.toBe(
      bytesToHex(viaProtocol('phone', '+447700900124', km, kc, backend)),
    );
  });

  it('the member element reveals neither HashToGroup(x), nor x, nor the token, and depends on k_m', () => {
    for (const [kind, id] of samples) {
      const element = memberElement(kind, id, km, backend);
      expect(element.length).toBe(32);
      expect(backend.isValidElement(element)).toBe(true);
      const p = hashToGroupForTesting(kind, id, backend);
      expect(backend.isValidElement(p)).toBe(true);
      expect(bytesToHex(element)).not.toBe(bytesToHex(p));
      const idHex = bytesToHex(enc.encode(id));
      expect(bytesToHex(element)).not.toContain(idHex.slice(0, 16));
      expect(bytesToHex(element)).not.toBe(bytesToHex(tokenOf(kc, element, backend)));
      expect(bytesToHex(memberElement(kind, id, MemberKey.generate(), backend))).not.toBe(
        bytesToHex(element),
      );
    }
  });

  it('the token is not T = M^k_c itself, and Node Buffers (e.g. from gRPC) work as they are', () => {
    const element = memberElement('phone', '+447700900123', km, backend);
    const t = backend.scalarMult(kc.secretScalar, element, 'element');
    const token = tokenOf(kc, element, backend);
    expect(bytesToHex(token)).not.toBe(bytesToHex(t));
    expect(bytesToHex(tokenOf(kc, Buffer.from(element), backend))).toBe(bytesToHex(token));
  });

  describe('tokenOf rejects bad member elements with ACCORD_OPRF_POINT_INVALID', () => {
    it('non-canonical encodings (RFC 9496)', () => {
      const encodings = Object.values(rfc9496.invalidEncodings).flat();
      expect(encodings.length).toBeGreaterThan(0);
      for (const encoding of encodings) {
        const err = expectAccordError(
          () => tokenOf(kc, hex(encoding), backend),
          'ACCORD_OPRF_POINT_INVALID',
          {
            element: 'blinded',
            reason: 'non-canonical or not on the group',
          },
        );
        expect(err.params).not.toHaveProperty('index');
        expect(JSON.stringify(err.toJSON())).not.toContain(encoding);
      }
    });

    it('the identity', () => {
      expectAccordError(() => tokenOf(kc, new Uint8Array(32), backend), 'ACCORD_OPRF_POINT_INVALID', {
        element: 'blinded',
        reason: 'identity',
      });
    });

    it('random 32-byte garbage', () => {
      let rejected = 0;
      for (let i = 0; i < 300; i++) {
        const garbage = crypto.getRandomValues(new Uint8Array(32));
        if (nobleBackend.isValidElement(garbage)) {
          // A random string occasionally is a valid encoding; then the coordinator cannot tell and must answer.
          expect(tokenOf(kc, garbage, backend).length).toBe(TOKEN_BYTES);
          continue;
        }
        rejected++;
        const err = expectAccordError(() => tokenOf(kc, garbage, backend), 'ACCORD_OPRF_POINT_INVALID', {
          element: 'blinded',
          reason: 'non-canonical or not on the group',
        });
        expect(JSON.stringify(err.toJSON())).not.toContain(bytesToHex(garbage));
      }
      expect(rejected).toBeGreaterThan(200);
    });

    it('wrong lengths and non-bytes', () => {
      for (const bad of [
        new Uint8Array(0),
        new Uint8Array(31),
        new Uint8Array(33),
        new Uint8Array(64),
        'abc',
        null,
      ]) {
        expectAccordError(
          () => tokenOf(kc, bad as unknown as Uint8Array, backend),
          'ACCORD_OPRF_POINT_INVALID',
          { element: 'blinded', reason: 'not 32 bytes' },
        );
      }
    });

    it('the given index', () => {
      const err = expectAccordError(
        () => tokenOf(kc, new Uint8Array(32), backend, 4),
        'ACCORD_OPRF_POINT_INVALID',
        { element: 'blinded', reason: 'identity', index: 4 },
      );
      expect(err.message).toContain('at batch index 4');
    });
  });

  it('batches equal the single-element calls, in order', () => {
    const inputs = [
      { kind: 'phone', normalisedId: '+447700900123' },
      { kind: 'email', normalisedId: 'jane.doe@example.com' },
      { kind: 'phone', normalisedId: '+447700900124' },
      { kind: 'phone', normalisedId: '+447700900123' },
    ];
    const elements = memberElementBatch(inputs, km, backend);
    expect(elements.map(bytesToHex)).toEqual(
      inputs.map((x) => bytesToHex(memberElement(x.kind, x.normalisedId, km, backend))),
    );
    expect(bytesToHex(elements[0]!)).toBe(bytesToHex(elements[3]!));
    const out = tokenBatch(kc, elements, backend);
    expect(out.map(bytesToHex)).toEqual(
      inputs.map((x) => bytesToHex(computeTokenForTesting(x.kind, x.normalisedId, km, kc, backend))),
    );
    expect(new Set(out.map(bytesToHex)).size).toBe(3);
    expect(memberElementBatch([], km, backend)).toEqual([]);
    expect(tokenBatch(kc, [], backend)).toEqual([]);
  });

  it('batch errors carry the index of the first bad element', () => {
    const [good] = memberElementBatch([{ kind: 'phone', normalisedId: '+447700900123' }], km, backend);
    const err = expectAccordError(
      () => tokenBatch(kc, [good!, new Uint8Array(32), new Uint8Array(5)], backend),
      'ACCORD_OPRF_POINT_INVALID',
      { element: 'blinded', reason: 'identity', index: 1 },
    );
    expect(err.message).toContain('at batch index 1');
    expectAccordError(
      () => tokenBatch(kc, [good!, good!, hex(rfc9496.invalidEncodings.negativeXY[0]!)], backend),
      'ACCORD_OPRF_POINT_INVALID',
      { element: 'blinded', reason: 'non-canonical or not on the group', index: 2 },
    );
    expectAccordError(
      () => tokenBatch(kc, [new Uint8Array(5), good!], backend),
      'ACCORD_OPRF_POINT_INVALID',
      { reason: 'not 32 bytes', index: 0 },
    );
  });

  it('memberElementBatch rejects a bad input anywhere in the batch without echoing it', () => {
    const err = expectAccordError(
      () =>
        memberElementBatch(
          [
            { kind: 'phone', normalisedId: '+447700900123' },
            { kind: '+447700900124', normalisedId: 'phone' },
          ],
          km,
          backend,
        ),
      'ACCORD_OPRF_KIND_INVALID',
    );
    expect(JSON.stringify(err.toJSON())).not.toContain('447700900124');
  });
});

describe('backends interoperate', () => {
  it.runIf(libsodiumBackend)('noble and libsodium agree byte for byte, in any mix', () => {
    const sodium = libsodiumBackend!;
    for (let i = 0; i < 10; i++) {
      const id = `+4477009001${String(i).padStart(2, '0')}`;
      const direct = bytesToHex(computeTokenForTesting('phone', id, km, kc, nobleBackend));
      expect(bytesToHex(computeTokenForTesting('phone', id, km, kc, sodium))).toBe(direct);
      const mNoble = memberElement('phone', id, km, nobleBackend);
      const mSodium = memberElement('phone', id, km, sodium);
      expect(bytesToHex(mSodium)).toBe(bytesToHex(mNoble));
      expect(bytesToHex(hashToGroupForTesting('phone', id, sodium))).toBe(
        bytesToHex(hashToGroupForTesting('phone', id, nobleBackend)),
      );
      expect(bytesToHex(tokenOf(kc, mNoble, sodium))).toBe(direct);
      expect(bytesToHex(tokenOf(kc, mSodium, nobleBackend))).toBe(direct);
    }
  });
});

describe('input checks', () => {
  it('rejects invalid kinds without echoing them', () => {
    for (const kind of ['', 'Phone', 'phone number', '1phone', 'a'.repeat(33), '+447700900123', 'é']) {
      for (const call of [
        () => memberElement(kind, 'x', km),
        () => computeTokenForTesting(kind, 'x', km, kc),
        () => hashToGroupForTesting(kind, 'x'),
      ]) {
        const err = expectAccordError(call, 'ACCORD_OPRF_KIND_INVALID');
        if (kind.length > 0) {
          expect(JSON.stringify(err.toJSON())).not.toContain(kind);
          expect(err.message).not.toContain(kind);
        }
      }
    }
    expectAccordError(() => memberElement(7 as unknown as string, 'x', km), 'ACCORD_OPRF_KIND_INVALID');
  });

  it('a swapped (normalisedId, kind) call does not log the identifier', () => {
    const id = 'jane.doe@example.com';
    const err = expectAccordError(() => memberElement(id, 'email', km), 'ACCORD_OPRF_KIND_INVALID');
    for (const shown of [JSON.stringify(err.toJSON()), err.message, String(err.stack)]) {
      expect(shown).not.toContain('jane');
    }
  });

  it('accepts the usual kind shapes', () => {
    for (const kind of ['phone', 'email', 'iban', 'device_id', 'national-id', 'a', `k${'x'.repeat(31)}`]) {
      expect(memberElement(kind, 'x', km).length).toBe(32);
    }
  });

  it('rejects empty, ill-formed and over-long identifiers without echoing them', () => {
    expectAccordError(() => memberElement('phone', '', km), 'ACCORD_OPRF_INPUT_INVALID', { reason: 'empty' });
    const lone = 'jane\uD800doe';
    const err = expectAccordError(() => memberElement('email', lone, km), 'ACCORD_OPRF_INPUT_INVALID', {
      reason: 'not well-formed Unicode',
    });
    for (const shown of [JSON.stringify(err.toJSON()), err.message, String(err.stack)]) {
      expect(shown).not.toContain('jane');
    }
    const long = `secret${'x'.repeat(MAX_INPUT_BYTES)}`;
    const tooLong = expectAccordError(() => memberElement('email', long, km), 'ACCORD_OPRF_INPUT_INVALID', {
      reason: 'too long',
      maxBytes: MAX_INPUT_BYTES,
    });
    expect(JSON.stringify(tooLong.toJSON())).not.toContain('secret');
    expect(memberElement('email', 'x'.repeat(MAX_INPUT_BYTES), km).length).toBe(32);
    // The limit is in UTF-8 bytes, not UTF-16 code units.
    expectAccordError(
      () => memberElement('email', 'é'.repeat(MAX_INPUT_BYTES / 2 + 1), km),
      'ACCORD_OPRF_INPUT_INVALID',
      {
        reason: 'too long',
      },
    );
    expectAccordError(() => memberElement('email', 5 as unknown as string, km), 'ACCORD_OPRF_INPUT_INVALID', {
      reason: 'not a string',
    });
    expectAccordError(() => computeTokenForTesting('phone', '', km, kc), 'ACCORD_OPRF_INPUT_INVALID');
    expectAccordError(() => hashToGroupForTesting('phone', ''), 'ACCORD_OPRF_INPUT_INVALID');
  });

  it('a surrogate pair (well-formed) is accepted', () => {
    expect(bytesToHex(viaProtocol('email', 'smile😀@example.com'))).toBe(
      bytesToHex(computeTokenForTesting('email', 'smile😀@example.com', km, kc)),
    );
  });
});

describe('known-answer vectors (test/vectors/oprf/tokens.json)', () => {
  const m = MemberKey.fromBytesForTesting(hex(tokens.memberKey));
  const c = CoordinatorKey.fromBytesForTesting(hex(tokens.coordinatorKey));
  const other = MemberKey.fromBytesForTesting(hex(tokens.otherMemberKey));

  it('use the current context string', () => {
    expect(tokens.contextString).toBe(CONTEXT_STRING);
    expect(tokens.vectors.length).toBeGreaterThanOrEqual(5);
  });

  describe.each(backends)('%s backend', (_name, backend) => {
    it.each(tokens.vectors)('$kind $normalisedId', (v) => {
      expect(bytesToHex(hashToGroupForTesting(v.kind, v.normalisedId, backend))).toBe(v.hashToGroup);
      const element = memberElement(v.kind, v.normalisedId, m, backend);
      expect(bytesToHex(element)).toBe(v.memberElement);
      expect(bytesToHex(tokenOf(c, hex(v.memberElement), backend))).toBe(v.token);
      expect(bytesToHex(computeTokenForTesting(v.kind, v.normalisedId, m, c, backend))).toBe(v.token);
      expect(bytesToHex(fromSpec(v.kind, v.normalisedId, m, c, backend).token)).toBe(v.token);
      expect(bytesToHex(memberElement(v.kind, v.normalisedId, other, backend))).not.toBe(v.memberElement);
      expect(bytesToHex(computeTokenForTesting(v.kind, v.normalisedId, other, c, backend))).not.toBe(v.token);
    });
  });

  it('contain one string under two kinds, with different tokens, and no repeated value', () => {
    const phone = tokens.vectors.find((v) => v.kind === 'phone' && v.normalisedId === '+447700900123');
    const email = tokens.vectors.find((v) => v.kind === 'email' && v.normalisedId === '+447700900123');
    expect(phone && email).toBeTruthy();
    expect(phone!.token).not.toBe(email!.token);
    const all = tokens.vectors.flatMap((v) => [v.hashToGroup, v.memberElement, v.token]);
    expect(new Set(all).size).toBe(all.length);
  });
});

describe('RFC 9497 OPRF(ristretto255, SHA-512) vectors through the backend', () => {
  // Checks that the backend's HashToGroup, scalar multiplication and inversion, and the Finalize hash layout
  // (I2OSP length prefixes, SHA-512) match RFC 9497 exactly (mode 0x00, its own DSTs). It exercises the
  // group/hash backend only, not our token construction.
  const dst = enc.encode(rfc9497.hashToGroupDst);
  const sk = hex(rfc9497.skSm);

  describe.each(backends)('%s backend', (_name, backend) => {
    it.each(rfc9497.vectors)('input $input', (v) => {
      const input = hex(v.input);
      const blindScalar = hex(v.blind);
      const p = backend.hashToGroup(input, dst);
      const blinded = backend.scalarMult(blindScalar, p, 'element');
      expect(bytesToHex(blinded)).toBe(v.blindedElement);
      const evaluated = backend.scalarMult(sk, blinded, 'blinded');
      expect(bytesToHex(evaluated)).toBe(v.evaluationElement);
      const unblinded = backend.scalarMult(backend.scalarInvert(blindScalar), evaluated, 'evaluated');
      const h = sha512
        .create()
        .update(Uint8Array.of(0, input.length))
        .update(input)
        .update(Uint8Array.of(0, 32))
        .update(unblinded)
        .update(enc.encode(rfc9497.finalizeDst))
        .digest();
      expect(bytesToHex(h)).toBe(v.output);
    });
  });
});
