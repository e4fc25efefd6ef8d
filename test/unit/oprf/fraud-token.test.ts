import { inspect } from 'node:util';
import { sha512 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { describe, expect, it } from 'vitest';
import { CoordinatorKey } from '../../../shared/oprf/coordinator-key.js';
import {
  type BlindState,
  blind,
  blindBatch,
  blindWithScalarForTesting,
  CONTEXT_STRING,
  computeTokenForTesting,
  evaluate,
  evaluateBatch,
  finalize,
  finalizeBatch,
  hashToGroupForTesting,
  MAX_INPUT_BYTES,
  TOKEN_BYTES,
} from '../../../shared/oprf/fraud-token.js';
import { MemberKey } from '../../../shared/oprf/member-key.js';
import { availableBackends, defaultBackend, getBackend } from '../../../shared/oprf/ristretto.js';
import rfc9496 from '../../vectors/oprf/rfc9496-ristretto255.json' with { type: 'json' };
import rfc9497 from '../../vectors/oprf/rfc9497-ristretto255-sha512.json' with { type: 'json' };
import tokens from '../../vectors/oprf/tokens.json' with { type: 'json' };
import { expectAccordError, hex } from './helpers.js';

const km = MemberKey.generate();
const kc = CoordinatorKey.generate();
const backends = availableBackends().map((b) => [b.name, b] as const);

function roundTrip(kind: string, id: string, m = km, c = kc, backend = defaultBackend): Uint8Array {
  const { blinded, state } = blind(kind, id, m, backend);
  return finalize(state, evaluate(c, blinded, backend), backend);
}

describe.each(backends)('fraud token protocol (%s backend)', (_name, backend) => {
  it('blind → evaluate → finalize equals the direct computation', () => {
    for (const [kind, id] of [
      ['phone', '+447700900123'],
      ['email', 'jane.doe@example.com'],
      ['email', 'zoë@bücher.example'],
    ] as const) {
      const token = roundTrip(kind, id, km, kc, backend);
      expect(token).toBeInstanceOf(Uint8Array);
      expect(token.length).toBe(TOKEN_BYTES);
      expect(token).toEqual(computeTokenForTesting(kind, id, km, kc, backend));
    }
  });

  it('two different blinds give the same token', () => {
    const a = blind('phone', '+447700900123', km, backend);
    const b = blind('phone', '+447700900123', km, backend);
    expect(a.blinded).not.toEqual(b.blinded);
    const ta = finalize(a.state, evaluate(kc, a.blinded, backend), backend);
    const tb = finalize(b.state, evaluate(kc, b.blinded, backend), backend);
    expect(ta).toEqual(tb);
  });

  it('a different member key or coordinator key gives a different token', () => {
    const base = roundTrip('phone', '+447700900123', km, kc, backend);
    expect(roundTrip('phone', '+447700900123', MemberKey.generate(), kc, backend)).not.toEqual(base);
    expect(roundTrip('phone', '+447700900123', km, CoordinatorKey.generate(), backend)).not.toEqual(base);
  });

  it('different kinds give different tokens for the same string', () => {
    const id = '447700900123';
    const seen = new Set(
      ['phone', 'email', 'iban', 'device_id'].map((k) => bytesToHex(roundTrip(k, id, km, kc, backend))),
    );
    expect(seen.size).toBe(4);
  });

  it('different identifiers give different tokens', () => {
    expect(roundTrip('phone', '+447700900123', km, kc, backend)).not.toEqual(
      roundTrip('phone', '+447700900124', km, kc, backend),
    );
  });

  it('the blinded element is fresh on every call and reveals neither HashToGroup(x) nor x', () => {
    const id = 'jane.doe@example.com';
    const p = hashToGroupForTesting('email', id, backend);
    const idHex = bytesToHex(new TextEncoder().encode(id));
    const seen = new Set<string>();
    for (let i = 0; i < 20; i++) {
      const { blinded } = blind('email', id, km, backend);
      expect(blinded.length).toBe(32);
      expect(backend.isValidElement(blinded)).toBe(true);
      expect(blinded).not.toEqual(p);
      expect(bytesToHex(blinded)).not.toContain(idHex.slice(0, 16));
      seen.add(bytesToHex(blinded));
    }
    expect(seen.size).toBe(20);
  });

  it('the evaluated element differs from the blinded one and is valid', () => {
    const { blinded } = blind('phone', '+447700900123', km, backend);
    const e = evaluate(kc, blinded, backend);
    expect(e).not.toEqual(blinded);
    expect(backend.isValidElement(e)).toBe(true);
    // Node Buffers (e.g. from gRPC) are Uint8Arrays and work as they are.
    expect(evaluate(kc, Buffer.from(blinded), backend)).toEqual(e);
  });

  describe('evaluate rejects bad blinded elements with ACCORD_OPRF_POINT_INVALID', () => {
    it('non-canonical encodings (RFC 9496)', () => {
      for (const encoding of Object.values(rfc9496.invalidEncodings).flat()) {
        const err = expectAccordError(
          () => evaluate(kc, hex(encoding), backend),
          'ACCORD_OPRF_POINT_INVALID',
          {
            element: 'blinded',
            reason: 'non-canonical or not on the group',
          },
        );
        expect(JSON.stringify(err.toJSON())).not.toContain(encoding);
      }
    });

    it('the identity', () => {
      expectAccordError(() => evaluate(kc, new Uint8Array(32), backend), 'ACCORD_OPRF_POINT_INVALID', {
        element: 'blinded',
        reason: 'identity',
      });
    });

    it('random 32-byte garbage', () => {
      const noble = getBackend('noble');
      let rejected = 0;
      for (let i = 0; i < 300; i++) {
        const garbage = crypto.getRandomValues(new Uint8Array(32));
        if (noble.isValidElement(garbage)) {
          // A random string occasionally is a valid encoding; then evaluation must succeed.
          expect(evaluate(kc, garbage, backend).length).toBe(32);
          continue;
        }
        rejected++;
        expectAccordError(() => evaluate(kc, garbage, backend), 'ACCORD_OPRF_POINT_INVALID', {
          element: 'blinded',
          reason: 'non-canonical or not on the group',
        });
      }
      expect(rejected).toBeGreaterThan(200);
    });

    it('wrong lengths and non-bytes', () => {
      for (const bad of [new Uint8Array(0), new Uint8Array(31), new Uint8Array(64), 'abc', null]) {
        expectAccordError(
          () => evaluate(kc, bad as unknown as Uint8Array, backend),
          'ACCORD_OPRF_POINT_INVALID',
          { element: 'blinded', reason: 'not 32 bytes' },
        );
      }
    });
  });

  it('finalize rejects a bad evaluated element', () => {
    const { state } = blind('phone', '+447700900123', km, backend);
    expectAccordError(() => finalize(state, new Uint8Array(32), backend), 'ACCORD_OPRF_POINT_INVALID', {
      element: 'evaluated',
      reason: 'identity',
    });
    expectAccordError(
      () => finalize(state, hex(rfc9496.invalidEncodings.negativeXY[0]!), backend),
      'ACCORD_OPRF_POINT_INVALID',
      { element: 'evaluated' },
    );
  });

  it('batches equal the single-element calls', () => {
    const inputs = [
      { kind: 'phone', normalisedId: '+447700900123' },
      { kind: 'email', normalisedId: 'jane.doe@example.com' },
      { kind: 'phone', normalisedId: '+447700900123' },
    ];
    const { blinded, states } = blindBatch(inputs, km, backend);
    expect(blinded.length).toBe(3);
    expect(blinded[0]).not.toEqual(blinded[2]);
    const out = finalizeBatch(states, evaluateBatch(kc, blinded, backend), backend);
    expect(out).toEqual(inputs.map((x) => computeTokenForTesting(x.kind, x.normalisedId, km, kc, backend)));
    expect(out[0]).toEqual(out[2]);
    expect(evaluateBatch(kc, [], backend)).toEqual([]);
    expect(finalizeBatch([], [], backend)).toEqual([]);
  });

  it('batch errors carry the index', () => {
    const { blinded, states } = blindBatch(
      [
        { kind: 'phone', normalisedId: '+447700900123' },
        { kind: 'phone', normalisedId: '+447700900124' },
      ],
      km,
      backend,
    );
    const err = expectAccordError(
      () => evaluateBatch(kc, [blinded[0]!, new Uint8Array(32)], backend),
      'ACCORD_OPRF_POINT_INVALID',
      { element: 'blinded', reason: 'identity', index: 1 },
    );
    expect(err.message).toContain('at batch index 1');
    const evaluated = evaluateBatch(kc, blinded, backend);
    expectAccordError(() => finalizeBatch(states, [evaluated[0]!], backend), 'ACCORD_OPRF_BATCH_MISMATCH', {
      expected: 2,
      actual: 1,
    });
    expectAccordError(
      () => finalizeBatch(states, [evaluated[0]!, new Uint8Array(5)], backend),
      'ACCORD_OPRF_POINT_INVALID',
      { element: 'evaluated', index: 1 },
    );
    expectAccordError(
      () => finalizeBatch([states[0]!, {} as BlindState], evaluated, backend),
      'ACCORD_OPRF_STATE_INVALID',
    );
  });
});

describe('backends interoperate', () => {
  const [noble, sodium] = availableBackends();
  it.runIf(sodium)('noble and libsodium give identical tokens, in any mix', () => {
    for (let i = 0; i < 10; i++) {
      const id = `+4477009001${String(i).padStart(2, '0')}`;
      const direct = computeTokenForTesting('phone', id, km, kc, noble);
      expect(computeTokenForTesting('phone', id, km, kc, sodium)).toEqual(direct);
      const a = blind('phone', id, km, noble!);
      expect(finalize(a.state, evaluate(kc, a.blinded, sodium), noble)).toEqual(direct);
      const b = blind('phone', id, km, sodium);
      expect(finalize(b.state, evaluate(kc, b.blinded, noble), sodium)).toEqual(direct);
    }
  });
});

describe('input checks', () => {
  it('rejects invalid kinds without echoing them', () => {
    for (const kind of ['', 'Phone', 'phone number', '1phone', 'a'.repeat(33), '+447700900123', 'é']) {
      const err = expectAccordError(() => blind(kind, 'x', km), 'ACCORD_OPRF_KIND_INVALID');
      if (kind.length > 0) expect(JSON.stringify(err.toJSON())).not.toContain(kind);
    }
    expectAccordError(() => blind(7 as unknown as string, 'x', km), 'ACCORD_OPRF_KIND_INVALID');
  });

  it('accepts the usual kind shapes', () => {
    for (const kind of ['phone', 'email', 'iban', 'device_id', 'national-id', 'a', `k${'x'.repeat(31)}`]) {
      expect(blind(kind, 'x', km).blinded.length).toBe(32);
    }
  });

  it('rejects empty, ill-formed and over-long identifiers without echoing them', () => {
    expectAccordError(() => blind('phone', '', km), 'ACCORD_OPRF_INPUT_INVALID', { reason: 'empty' });
    const lone = 'abc\uD800def';
    const err = expectAccordError(() => blind('email', lone, km), 'ACCORD_OPRF_INPUT_INVALID', {
      reason: 'not well-formed Unicode',
    });
    expect(JSON.stringify(err.toJSON())).not.toContain('abc');
    expectAccordError(
      () => blind('email', 'x'.repeat(MAX_INPUT_BYTES + 1), km),
      'ACCORD_OPRF_INPUT_INVALID',
      {
        reason: 'too long',
        maxBytes: MAX_INPUT_BYTES,
      },
    );
    expect(blind('email', 'x'.repeat(MAX_INPUT_BYTES), km).blinded.length).toBe(32);
    expectAccordError(() => blind('email', 5 as unknown as string, km), 'ACCORD_OPRF_INPUT_INVALID');
    expectAccordError(() => computeTokenForTesting('phone', '', km, kc), 'ACCORD_OPRF_INPUT_INVALID');
  });

  it('a surrogate pair (well-formed) is accepted', () => {
    expect(roundTrip('email', 'smile😀@example.com')).toEqual(
      computeTokenForTesting('email', 'smile😀@example.com', km, kc),
    );
  });

  it('finalize rejects a state it did not make', () => {
    const { blinded } = blind('phone', '+447700900123', km);
    const e = evaluate(kc, blinded);
    for (const fake of [{}, null, Object.create(null)]) {
      expectAccordError(() => finalize(fake as BlindState, e), 'ACCORD_OPRF_STATE_INVALID');
    }
  });

  it('the blind state reveals nothing when logged or serialised', () => {
    const id = 'jane.doe@example.com';
    const { state } = blind('email', id, km);
    for (const shown of [JSON.stringify({ state }), inspect(state), inspect({ state }, { depth: 5 })]) {
      expect(shown).not.toContain('jane');
      expect(shown).toContain('redacted');
    }
    expect(Object.keys(state)).toEqual([]);
    expect(structuredClone(state)).not.toBe(state);
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
      const { blinded, state } = blindWithScalarForTesting(v.kind, v.normalisedId, m, hex(v.blind), backend);
      expect(bytesToHex(blinded)).toBe(v.blinded);
      const evaluated = evaluate(c, blinded, backend);
      expect(bytesToHex(evaluated)).toBe(v.evaluated);
      expect(bytesToHex(finalize(state, evaluated, backend))).toBe(v.token);
      expect(bytesToHex(computeTokenForTesting(v.kind, v.normalisedId, m, c, backend))).toBe(v.token);
      expect(bytesToHex(computeTokenForTesting(v.kind, v.normalisedId, other, c, backend))).not.toBe(v.token);
    });
  });

  it('contain one string under two kinds, with different tokens', () => {
    const phone = tokens.vectors.find((v) => v.kind === 'phone' && v.normalisedId === '+447700900123');
    const email = tokens.vectors.find((v) => v.kind === 'email' && v.normalisedId === '+447700900123');
    expect(phone && email).toBeTruthy();
    expect(phone!.token).not.toBe(email!.token);
    expect(new Set(tokens.vectors.map((v) => v.token)).size).toBe(tokens.vectors.length);
  });

  it('blindWithScalarForTesting refuses a zero or non-canonical r', () => {
    expect(() => blindWithScalarForTesting('phone', 'x', m, new Uint8Array(32))).toThrow(RangeError);
    expect(() => blindWithScalarForTesting('phone', 'x', m, new Uint8Array(32).fill(0xff))).toThrow(
      RangeError,
    );
  });
});

describe('RFC 9497 OPRF(ristretto255, SHA-512) vectors through the backend', () => {
  // Checks that the backend's HashToGroup, scalar multiplication and inversion, and the Finalize hash layout
  // this module follows, match RFC 9497 exactly (mode 0x00, its own DSTs).
  const enc = new TextEncoder();
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
