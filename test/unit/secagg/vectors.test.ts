/**
 * Known-answer vectors (test/vectors/secagg, written by generate.ts after checking every value against the
 * independent references in reference.ts). A failure here means the wire format or the mask stream changed: partner
 * banks would stop agreeing on masks, shares or signatures.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { encodeFixedPoint, encodeWide } from '../../../primitives/secagg/fixed-point.js';
import { pairwiseSeed, X25519KeyPair } from '../../../primitives/secagg/key-agreement.js';
import { planRound } from '../../../primitives/secagg/neighbours.js';
import { expandMask } from '../../../primitives/secagg/prg.js';
import {
  selfMaskCommitment,
  signedKeysMessage,
  survivorsMessage,
} from '../../../primitives/secagg/protocol.js';
import { combine, splitWithCoefficientsForTesting } from '../../../primitives/secagg/shamir.js';
import { SECAGG_LABEL } from '../../../primitives/secagg/stages.js';
import fixedVectors from '../../vectors/secagg/fixed-point.json' with { type: 'json' };
import prgVectors from '../../vectors/secagg/prg.json' with { type: 'json' };
import shamirVectors from '../../vectors/secagg/shamir.json' with { type: 'json' };
import keyVectors from '../../vectors/secagg/signed-keys.json' with { type: 'json' };
import { RFC7748, refLanes, refShare } from './reference.js';

const fromHex = (h: string) => new Uint8Array(Buffer.from(h, 'hex'));
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const num = (v: number | string) => (typeof v === 'string' ? Number(v) : v);

describe('PRG vectors', () => {
  it.each(prgVectors.vectors)('$label, $lanes lanes', (v) => {
    const lanes = expandMask(fromHex(v.seed), v.lanes, v.label);
    expect([...lanes.subarray(0, 8)]).toEqual(v.firstLanes);
    expect(
      createHash('sha256')
        .update(new Uint8Array(lanes.buffer, lanes.byteOffset, lanes.byteLength))
        .digest('hex'),
    ).toBe(v.sha256);
    expect(createHash('sha256').update(v.label).digest().subarray(0, 16).toString('hex')).toBe(v.iv);
    expect([...lanes]).toEqual(refLanes(fromHex(v.seed), v.label, v.lanes));
  });
});

describe('signed keys vectors', () => {
  const { plan: p, keys: k } = keyVectors;
  const plan = planRound({
    session: p.session,
    round: p.round,
    participants: p.participants,
    lanes: p.lanes,
  });

  it('derives the plan', () => {
    expect(plan.participants).toEqual(p.sortedParticipants);
    expect([plan.neighbourCount, plan.threshold, plan.quorum, plan.minSurvivors]).toEqual([
      p.neighbourCount,
      p.threshold,
      p.quorum,
      p.minSurvivors,
    ]);
    expect(hex(plan.digest)).toBe(p.digest);
  });

  it('rebuilds the RFC 7748 keys and shared secret from test-only secrets', () => {
    const enc = X25519KeyPair.fromSecretForTesting(fromHex(k.encryptionSecret));
    const mask = X25519KeyPair.fromSecretForTesting(fromHex(k.maskSecret));
    expect(hex(enc.publicKey)).toBe(RFC7748.alicePublic);
    expect(hex(mask.publicKey)).toBe(RFC7748.bobPublic);
    expect(hex(enc.sharedSecret(mask.publicKey))).toBe(RFC7748.shared);
    expect(hex(enc.secretKeyBytes())).toBe(k.encryptionSecret);
    const seed = keyVectors.pairwiseSeed;
    expect(hex(pairwiseSeed(enc, mask.publicKey, seed.context))).toBe(seed.seed);
    expect(
      hex(pairwiseSeed(mask, enc.publicKey, { ...seed.context, a: seed.context.b, b: seed.context.a })),
    ).toBe(seed.seed);
  });

  it('encodes the signed keys message and the survivor list', () => {
    const commitment = selfMaskCommitment(plan, k.member, fromHex(k.selfMaskSeed));
    expect(hex(commitment)).toBe(k.selfMaskCommitment);
    const message = signedKeysMessage(plan, {
      member: k.member,
      encryptionKey: fromHex(k.encryptionKey),
      maskKey: fromHex(k.maskKey),
      selfMaskCommitment: commitment,
    });
    expect(hex(message)).toBe(keyVectors.signedKeysMessage);
    expect(hex(survivorsMessage(plan, keyVectors.survivors))).toBe(keyVectors.survivorsMessage);
  });

  it('matches the layout written out by hand: u32be(length) || bytes for the label and each field', () => {
    const field = (b: Buffer) => Buffer.concat([Buffer.from([0, 0, 0, b.length]), b]);
    const u32 = (n: number) => Buffer.from([0, 0, 0, n]);
    const manual = Buffer.concat([
      field(Buffer.from(SECAGG_LABEL.SIGNED_KEYS)),
      field(Buffer.from(p.session)),
      field(u32(p.round)),
      field(Buffer.from(p.digest, 'hex')),
      field(Buffer.from(k.member)),
      field(Buffer.from(k.encryptionKey, 'hex')),
      field(Buffer.from(k.maskKey, 'hex')),
      field(Buffer.from(k.selfMaskCommitment, 'hex')),
    ]);
    expect(manual.toString('hex')).toBe(keyVectors.signedKeysMessage);
  });
});

describe('Shamir vectors', () => {
  it.each(shamirVectors.vectors)('threshold $threshold at $xs', (v) => {
    const coefficients = v.coefficients.map((c) => BigInt(`0x${c}`));
    const shares = splitWithCoefficientsForTesting(fromHex(v.secret), coefficients, v.xs).map(hex);
    expect(shares).toEqual(v.shares);
    for (const [i, x] of v.xs.entries())
      expect(refShare(fromHex(v.secret), coefficients, x)).toBe(v.shares[i]);
    // Every window of `threshold` consecutive shares rebuilds the secret.
    for (let start = 0; start + v.threshold <= v.shares.length; start++) {
      const some = v.shares.slice(start, start + v.threshold).map(fromHex);
      expect(hex(combine(some))).toBe(v.secret);
    }
  });

  it.each(shamirVectors.invalid)('refuses $name', (v) => {
    expect(() => combine(v.shares.map((s) => fromHex(s!)))).toThrow();
  });
});

describe('fixed-point vectors', () => {
  it.each(fixedVectors.fixed)('clip $clip, $fractionBits fraction bits', (v) => {
    const out = encodeFixedPoint(Float64Array.from(v.values), v);
    expect([...out.lanes]).toEqual(v.lanes);
    expect(out.clipped).toBe(v.clipped);
  });

  it.each(fixedVectors.wide)('wide: $limbs limbs, $fractionBits fraction bits', (v) => {
    expect([...encodeWide(Float64Array.from(v.values), v)]).toEqual(v.lanes);
  });

  it.each(fixedVectors.invalid)('refuses $name', (v) => {
    const values = Float64Array.from(v.values.map(num));
    if (v.codec === 'fixed')
      expect(() => encodeFixedPoint(values, { clip: v.clip!, fractionBits: v.fractionBits })).toThrow(
        RangeError,
      );
    else
      expect(() => encodeWide(values, { fractionBits: v.fractionBits, limbs: v.limbs! })).toThrow(RangeError);
  });
});
