/**
 * The cryptographic building blocks: mask expansion, X25519 agreement and seeds, Shamir sharing (including that
 * t - 1 shares are consistent with any secret), and share boxes.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { pairwiseSeed, X25519KeyPair } from '../../../primitives/secagg/key-agreement.js';
import { addMask, expandMask } from '../../../primitives/secagg/prg.js';
import { combine, PRIME, SHARE_BYTES, shareX, split } from '../../../primitives/secagg/shamir.js';
import { BOX_BYTES, openShares, sealShares } from '../../../primitives/secagg/share-box.js';
import { SECAGG_LABEL } from '../../../primitives/secagg/stages.js';
import { thrown } from '../../helpers/thrown.js';
import { refInterpolate } from './reference.js';

const secret = () => new Uint8Array(randomBytes(32));
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe('expandMask', () => {
  it('is deterministic per seed and label, and differs across labels and seeds', () => {
    const seed = secret();
    const a = expandMask(seed, 100, SECAGG_LABEL.SELF_MASK);
    expect(expandMask(seed, 100, SECAGG_LABEL.SELF_MASK)).toEqual(a);
    expect(expandMask(seed, 100, SECAGG_LABEL.PAIR_MASK)).not.toEqual(a);
    expect(expandMask(secret(), 100, SECAGG_LABEL.SELF_MASK)).not.toEqual(a);
    // A prefix of a longer mask is the shorter mask (one keystream).
    expect(expandMask(seed, 10, SECAGG_LABEL.SELF_MASK)).toEqual(a.subarray(0, 10));
  });

  it('adds and removes a mask in place, across keystream chunks', () => {
    const seed = secret();
    for (const lanes of [1, 8191, 8192, 8193, 20_000]) {
      const x = new Uint32Array(lanes).map((_, i) => i * 2654435761);
      const y = addMask(x.slice(), seed, SECAGG_LABEL.PAIR_MASK, 1);
      const mask = expandMask(seed, lanes, SECAGG_LABEL.PAIR_MASK);
      expect(y.every((v, i) => v === (x[i]! + mask[i]!) >>> 0)).toBe(true);
      expect(addMask(y, seed, SECAGG_LABEL.PAIR_MASK, -1)).toEqual(x);
    }
  });

  it('refuses a seed that is not 32 bytes and bad lane counts', () => {
    expect(() => expandMask(new Uint8Array(16), 4, 'x')).toThrow(RangeError);
    expect(() => expandMask(secret(), -1, 'x')).toThrow(RangeError);
    expect(() => expandMask(secret(), 1.5, 'x')).toThrow(RangeError);
    expect(() => expandMask(secret(), 4, '')).toThrow(TypeError);
  });
});

describe('X25519 key agreement', () => {
  it('gives both members of a pair the same seed, in either name order, bound to session, round and names', () => {
    const a = X25519KeyPair.generate();
    const b = X25519KeyPair.generate();
    const ctx = { session: 's', round: 1, a: 'bank-a', b: 'bank-b' };
    const s = pairwiseSeed(a, b.publicKey, ctx);
    expect(hex(pairwiseSeed(b, a.publicKey, { ...ctx, a: 'bank-b', b: 'bank-a' }))).toBe(hex(s));
    expect(hex(pairwiseSeed(a, b.publicKey, { ...ctx, round: 2 }))).not.toBe(hex(s));
    expect(hex(pairwiseSeed(a, b.publicKey, { ...ctx, session: 't' }))).not.toBe(hex(s));
    expect(hex(pairwiseSeed(a, b.publicKey, { ...ctx, b: 'bank-c' }))).not.toBe(hex(s));
    expect(() => pairwiseSeed(a, b.publicKey, { ...ctx, b: 'bank-a' })).toThrow(RangeError);
  });

  it('recovers a key pair from its secret (reconstruction after a drop)', () => {
    const pair = X25519KeyPair.generate();
    expect(hex(X25519KeyPair.recover(pair.secretKeyBytes()).publicKey)).toBe(hex(pair.publicKey));
  });

  it('refuses low-order public keys (all-zero shared secret)', () => {
    const pair = X25519KeyPair.generate();
    const lowOrder = [
      new Uint8Array(32),
      Uint8Array.from([1, ...new Array(31).fill(0)]),
      Uint8Array.from(Buffer.from('e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800', 'hex')),
    ];
    for (const key of lowOrder) expect(() => pair.sharedSecret(key)).toThrow(RangeError);
    expect(() => pair.sharedSecret(new Uint8Array(31))).toThrow(RangeError);
  });

  it('never shows the secret when inspected', () => {
    const pair = X25519KeyPair.generate();
    expect(JSON.stringify(pair)).not.toContain(hex(pair.secretKeyBytes()));
  });
});

describe('Shamir', () => {
  it('property: any t of n shares rebuild the secret', () => {
    for (let trial = 0; trial < 30; trial++) {
      const n = 2 + (trial % 12);
      const t = 1 + (trial % n);
      const s = secret();
      const xs = Array.from({ length: n }, (_, i) => 1 + i * 7 + (trial % 5));
      const shares = split(s, t, xs);
      expect(shares.every((sh) => sh.length === SHARE_BYTES)).toBe(true);
      expect(shares.map(shareX)).toEqual(xs);
      const shuffled = [...shares].sort(() => Math.random() - 0.5);
      expect(hex(combine(shuffled.slice(0, t)))).toBe(hex(s));
      expect(hex(combine(shuffled))).toBe(hex(s));
    }
  });

  it('t - 1 shares are consistent with every secret: for any candidate there is a sharing that includes them', () => {
    const t = 4;
    const xs = [1, 2, 3, 4, 5, 6];
    const real = secret();
    const shares = split(real, t, xs);
    const seen = shares.slice(0, t - 1).map((sh) => ({
      x: BigInt(shareX(sh)),
      y: BigInt(`0x${Buffer.from(sh.subarray(4)).toString('hex')}`),
    }));
    for (let k = 0; k < 5; k++) {
      const candidate = secret();
      // The unique polynomial of degree t - 1 through (0, candidate) and the t - 1 seen shares ...
      const points = [{ x: 0n, y: BigInt(`0x${hex(candidate)}`) }, ...seen];
      const x = 6n;
      const y = refInterpolate(points, x);
      // ... gives one more share, and with it the seen shares combine to the candidate.
      const extra = Buffer.concat([
        Buffer.from([0, 0, 0, Number(x)]),
        Buffer.from(y.toString(16).padStart(132, '0'), 'hex'),
      ]);
      expect(hex(combine([...shares.slice(0, t - 1), new Uint8Array(extra)]))).toBe(hex(candidate));
    }
  });

  it('fewer than t shares do not rebuild the secret', () => {
    const s = secret();
    const shares = split(s, 3, [1, 2, 3, 4]);
    let out: string | undefined;
    try {
      out = hex(combine(shares.slice(0, 2)));
    } catch {
      out = undefined; // almost always: the interpolated value does not even fit 32 bytes
    }
    expect(out).not.toBe(hex(s));
  });

  it('draws fresh coefficients every time', () => {
    const s = secret();
    expect(hex(split(s, 2, [1, 2])[0]!)).not.toBe(hex(split(s, 2, [1, 2])[0]!));
  });

  it('refuses bad arguments', () => {
    const s = secret();
    expect(() => split(new Uint8Array(31), 2, [1, 2])).toThrow(RangeError);
    expect(() => split(s, 3, [1, 2])).toThrow(RangeError);
    expect(() => split(s, 0, [1, 2])).toThrow(RangeError);
    expect(() => split(s, 2, [1, 1])).toThrow(RangeError);
    expect(() => split(s, 2, [0, 1])).toThrow(RangeError);
    expect(PRIME.toString(2)).toBe('1'.repeat(521));
  });
});

describe('share boxes', () => {
  const ctx = { session: 's', round: 4, sender: 'bank-a', receiver: 'bank-b' };
  const shares = () => {
    const [b] = split(secret(), 2, [2, 1]);
    const [s] = split(secret(), 2, [2, 1]);
    return { selfMaskShare: b!, maskKeyShare: s! };
  };

  it('opens for the receiver with the sender key, and only for the context it was sealed in', () => {
    const sender = X25519KeyPair.generate();
    const receiver = X25519KeyPair.generate();
    const plain = shares();
    const box = sealShares(sender, receiver.publicKey, ctx, plain);
    expect(box.length).toBe(BOX_BYTES);
    const opened = openShares(receiver, sender.publicKey, ctx, box);
    expect(hex(opened.selfMaskShare)).toBe(hex(plain.selfMaskShare));
    expect(hex(opened.maskKeyShare)).toBe(hex(plain.maskKeyShare));

    for (const other of [
      { ...ctx, round: 5 },
      { ...ctx, session: 't' },
      { ...ctx, receiver: 'bank-c' },
      { ...ctx, sender: 'bank-b', receiver: 'bank-a' },
    ]) {
      const err = thrown(() => openShares(receiver, sender.publicKey, other, box));
      expect(err.code).toBe('ACCORD_SECAGG_SHARE_INVALID');
    }
    const stranger = X25519KeyPair.generate();
    expect(thrown(() => openShares(stranger, sender.publicKey, ctx, box)).code).toBe(
      'ACCORD_SECAGG_SHARE_INVALID',
    );
    expect(thrown(() => openShares(receiver, sender.publicKey, ctx, box.subarray(1))).code).toBe(
      'ACCORD_SECAGG_SHARE_INVALID',
    );
  });

  it('names the sender and nothing else when a box fails', () => {
    const sender = X25519KeyPair.generate();
    const receiver = X25519KeyPair.generate();
    const box = sealShares(sender, receiver.publicKey, ctx, shares());
    box[BOX_BYTES - 1]! ^= 1;
    const err = thrown(() => openShares(receiver, sender.publicKey, ctx, box));
    expect(err.params).toEqual({ member: 'bank-a', reason: 'the box does not authenticate' });
  });
});
