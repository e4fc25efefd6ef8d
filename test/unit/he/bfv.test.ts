/**
 * The BFV suite on real node-seal: round trips across chunk boundaries, the masked inner products of vertical
 * logistic regression against exact BigInt arithmetic, noise flooding (decryption stays exact, c0 changes, the noise
 * the key holder sees is the flood's), refusals of tampered or foreign ciphertexts and keys, and known answers for
 * the parameter set.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { type BfvSuite, createBfvSuite } from '../../../primitives/he/bfv.js';
import {
  centreLift,
  type PublicKeyHandle,
  type SecretKeyHandle,
  slotSum,
  uniformMask,
} from '../../../primitives/he/cipher.js';
import { floodFirstPolynomial } from '../../../primitives/he/flooding.js';
import {
  cipherSuite,
  ciphertextParameterId,
  MAX_PRODUCT_CHUNKS,
  SLOTS,
} from '../../../primitives/he/index.js';
import { createPlainSuite } from '../../../primitives/he/plain.js';
import { packResidues, unpackResidues, WIRE_HEADER_BYTES } from '../../../primitives/he/wire.js';
import { thrown } from '../../helpers/thrown.js';

/** Deterministic signed test values in (-2^bits, 2^bits): splitmix64 of (seed, i). */
function values(n: number, bits: number, seed: number): BigInt64Array {
  const mask = 0xffff_ffff_ffff_ffffn;
  const out = new BigInt64Array(n);
  let x = BigInt(seed) * 0x9e37_79b9_7f4a_7c15n;
  for (let i = 0; i < n; i++) {
    x = (x + 0x9e37_79b9_7f4a_7c15n) & mask;
    let z = x;
    z = ((z ^ (z >> 30n)) * 0xbf58_476d_1ce4_e5b9n) & mask;
    z = ((z ^ (z >> 27n)) * 0x94d0_49bb_1331_11ebn) & mask;
    z ^= z >> 31n;
    out[i] = (z >> BigInt(64 - bits - 1)) - (1n << BigInt(bits));
  }
  return out;
}

type Level = BfvSuite['levels']['input'];

/** The residues of a wire ciphertext at `level`, [polynomial][prime][coefficient]. */
function residuesOf(bytes: Uint8Array, level: Level): Float64Array {
  const limbs = level.moduli.length;
  const out = new Float64Array(2 * limbs * SLOTS);
  let at = WIRE_HEADER_BYTES;
  for (let p = 0; p < 2; p++)
    for (let i = 0; i < limbs; i++)
      at = unpackResidues(
        bytes,
        at,
        SLOTS,
        level.bits[i]!,
        level.moduliNumbers[i]!,
        out,
        (p * limbs + i) * SLOTS,
      );
  expect(at).toBe(bytes.length);
  return out;
}

/** `bytes` with its residues replaced. */
function withResidues(bytes: Uint8Array, level: Level, residues: Float64Array): Uint8Array {
  const out = bytes.slice();
  const limbs = level.moduli.length;
  let at = WIRE_HEADER_BYTES;
  for (let p = 0; p < 2; p++)
    for (let i = 0; i < limbs; i++)
      at = packResidues(residues, (p * limbs + i) * SLOTS, SLOTS, level.bits[i]!, out, at);
  return out;
}

let suite: BfvSuite;
let publicKeyBytes: Uint8Array;
let secretKey: SecretKeyHandle;
let key: PublicKeyHandle;
let t: bigint;

beforeAll(async () => {
  suite = await createBfvSuite();
  ({ publicKey: publicKeyBytes, secretKey } = suite.generateKeys());
  key = suite.loadPublicKey(publicKeyBytes);
  t = suite.plainModulus;
});

describe('BFV parameters', () => {
  it('has the known parameter id, moduli, plain modulus and flooding width', async () => {
    expect(suite.parameterId).toBe('ef654d376bbbabf88194a24e607dd3c7b21698905a8929a7198a4249bf452c30');
    expect(suite.plainModulus).toBe(288230376150876161n);
    expect(suite.slots).toBe(8192);
    expect(suite.levels.key.moduli).toEqual([
      8796092858369n,
      8796092792833n,
      17592186028033n,
      17592185438209n,
      17592184717313n,
    ]);
    expect(suite.levels.key.bits.reduce((a, b) => a + b, 0)).toBe(218);
    expect(suite.levels.input.moduli.length).toBe(4);
    expect(suite.levels.output.moduli.length).toBe(3);
    expect(suite.floodBits).toBe(70);
    expect([publicKeyBytes.length, suite.levels.input.wireBytes, suite.levels.output.wireBytes]).toEqual([
      223_336, 356_392, 266_280,
    ]);
    expect(suite.parameterId).not.toBe(createPlainSuite().parameterId);
    const [ct] = suite.encrypt(key, BigInt64Array.of(1n));
    expect(ciphertextParameterId(ct!)).toBe(suite.parameterId);
    const plain = createPlainSuite();
    const [plainCt] = plain.encrypt(plain.loadPublicKey(new Uint8Array(0)), BigInt64Array.of(1n));
    expect(ciphertextParameterId(plainCt!)).toBe(plain.parameterId);
    expect(thrown(() => ciphertextParameterId(publicKeyBytes)).code).toBe('ACCORD_HE_CIPHERTEXT_INVALID');
    expect(thrown(() => ciphertextParameterId(new Uint8Array(64))).code).toBe('ACCORD_HE_CIPHERTEXT_INVALID');
    const memoised = await cipherSuite('bfv');
    expect(await cipherSuite('bfv')).toBe(memoised);
    expect(memoised.parameterId).toBe(suite.parameterId);
  });
});

describe('BFV arithmetic', () => {
  it('round-trips signed values across a chunk boundary', () => {
    const most = (t - 1n) / 2n;
    const v = values(10_000, 56, 1);
    v[0] = most;
    v[1] = -most;
    v[8191] = -1n;
    v[8192] = 1n;
    const cts = suite.encrypt(key, v);
    expect(cts.map((c) => c.length)).toEqual([suite.levels.input.wireBytes, suite.levels.input.wireBytes]);
    const slots = [...suite.decrypt(secretKey, cts[0]!), ...suite.decrypt(secretKey, cts[1]!)];
    expect(slots.slice(0, 10_000).map((s) => centreLift(s, t))).toEqual([...v]);
    expect(slots.slice(10_000).every((s) => s === 0n)).toBe(true);
    expect(suite.encrypt(key, new BigInt64Array(0))).toEqual([]);
  });

  it('adds ciphertexts and plaintexts chunk-wise', () => {
    const v = values(10_000, 50, 2);
    const w = values(10_000, 50, 3);
    const cts = suite.encrypt(key, v);
    const sum = suite.add(cts, suite.encrypt(key, w));
    const plus = suite.addPlain(cts, w);
    for (const both of [sum, plus]) {
      const got = [...suite.decrypt(secretKey, both[0]!), ...suite.decrypt(secretKey, both[1]!)];
      expect(got.slice(0, 10_000).map((s) => centreLift(s, t))).toEqual(Array.from(v, (x, i) => x + w[i]!));
    }
    expect(() => suite.addPlain(cts, w.subarray(0, 100))).toThrow(RangeError);
    expect(thrown(() => suite.add(cts, cts.slice(1))).code).toBe('ACCORD_HE_CIPHERTEXT_INVALID');
  });

  it('computes masked inner products that unmask to Σ x·d exactly, zero column included', () => {
    const rows = 2 * SLOTS - 1000;
    const d = values(rows, 30, 4); // 4d at the logit scale
    const cts = suite.encrypt(key, d);
    const columns = [values(rows, 18, 5), new BigInt64Array(rows), values(rows, 18, 6)];
    columns[2]!.fill(0n, 0, SLOTS); // chunk 0 of column 2 is zero: skipped, chunk 1 still counts
    const masks = columns.map(() => uniformMask(t, SLOTS));
    const out = suite.maskedInnerProducts(key, cts, columns, masks);
    expect(out.map((c) => c.length)).toEqual(columns.map(() => suite.levels.output.wireBytes));
    columns.forEach((column, j) => {
      let expected = 0n;
      for (let i = 0; i < rows; i++) expected += column[i]! * d[i]!;
      const slots = suite.decrypt(secretKey, out[j]!);
      expect(centreLift(slotSum(slots, t) - slotSum(masks[j]!, t), t)).toBe(expected);
      // What the key holder decrypts is masked: no slot shows the unmasked product.
      let same = 0;
      for (let i = 0; i < SLOTS; i++) {
        let product = 0n;
        for (let k = 0; k < cts.length; k++)
          product += (column[k * SLOTS + i] ?? 0n) * (d[k * SLOTS + i] ?? 0n);
        if (((product % t) + t) % t === slots[i]) same++;
      }
      expect(same).toBe(0);
    });
    expect(() => suite.maskedInnerProducts(key, cts, [columns[0]!.subarray(0, SLOTS)], [masks[0]!])).toThrow(
      RangeError,
    );
    const tooMany = Array.from({ length: MAX_PRODUCT_CHUNKS + 1 }, () => cts[0]!);
    expect(() => suite.maskedInnerProducts(key, tooMany, [], [])).toThrow(RangeError);
  });

  it('masks vectors for evaluation', () => {
    const z = values(SLOTS + 5, 40, 7);
    const cts = suite.encrypt(key, z);
    const masks = cts.map(() => uniformMask(t, SLOTS));
    const out = suite.maskedVector(key, cts, masks);
    const slots = suite.decrypt(secretKey, out[1]!);
    for (let i = 0; i < 5; i++) expect(centreLift(slots[i]! - masks[1]![i]!, t)).toBe(z[SLOTS + i]);
    expect(centreLift(slots[5]! - masks[1]![5]!, t)).toBe(0n);
  });
});

describe('noise flooding', () => {
  it('re-randomises and floods: the same inputs and mask give other c0 and c1, and the same slots', () => {
    const d = values(SLOTS, 30, 8);
    const cts = suite.encrypt(key, d);
    const columns = [values(SLOTS, 18, 9)];
    const masks = [uniformMask(t, SLOTS)];
    const [a] = suite.maskedInnerProducts(key, cts, columns, masks);
    const [b] = suite.maskedInnerProducts(key, cts, columns, masks);
    const level = suite.levels.output;
    const ra = residuesOf(a!, level);
    const rb = residuesOf(b!, level);
    const c0 = level.moduli.length * SLOTS;
    let sameC0 = 0;
    let sameC1 = 0;
    for (let j = 0; j < c0; j++) if (ra[j] === rb[j]) sameC0++;
    for (let j = c0; j < 2 * c0; j++) if (ra[j] === rb[j]) sameC1++;
    expect(sameC0).toBe(0);
    expect(sameC1).toBe(0);
    expect(suite.decrypt(secretKey, a!)).toEqual(suite.decrypt(secretKey, b!));
    // The noise the key holder sees is the flood's, 2^70, not the product's (about 2^27): ~1 bit of budget left.
    expect(suite.noiseBudget(secretKey, a!)).toBeLessThanOrEqual(2);
  });

  it('changes c0 only, by about 2^F, and decryption stays exact', () => {
    const v = values(SLOTS, 50, 10);
    const [ct] = suite.encrypt(key, v);
    const level = suite.levels.input;
    const before = residuesOf(ct!, level);
    const after = before.slice();
    floodFirstPolynomial(after, level.moduli, SLOTS, suite.floodBits);
    const c0 = level.moduli.length * SLOTS;
    let changed = 0;
    for (let j = 0; j < c0; j++) if (after[j] !== before[j]) changed++;
    expect(changed).toBeGreaterThan(c0 - 4);
    expect([...after.subarray(c0)]).toEqual([...before.subarray(c0)]);
    const flooded = withResidues(ct!, level, after);
    expect(suite.decrypt(secretKey, flooded)).toEqual(suite.decrypt(secretKey, ct!));
    // Input level: Δ ≈ 2^116, fresh noise ≈ 2^8 (budget ≈ 108); the flood leaves 116 − 70 − 1 ≈ 45 bits.
    expect(suite.noiseBudget(secretKey, ct!)).toBeGreaterThan(100);
    const flooredBudget = suite.noiseBudget(secretKey, flooded);
    expect(flooredBudget).toBeGreaterThanOrEqual(43);
    expect(flooredBudget).toBeLessThanOrEqual(46);
  });
});

describe('refusals', () => {
  let ct: Uint8Array;
  beforeAll(() => {
    ct = suite.encrypt(key, values(100, 40, 11))[0]!;
  });

  const refused = (bytes: Uint8Array) => {
    const err = thrown(() => suite.decrypt(secretKey, bytes));
    expect(err.code).toBe('ACCORD_HE_CIPHERTEXT_INVALID');
    expect(err.params.from).toBe('a peer');
    return String(err.params.reason);
  };

  it('refuses a ciphertext with a flipped header byte', () => {
    for (const [at, reason] of [
      [0, /no Accord HE header/],
      [4, /wire format version/],
      [5, /suite/],
      [6, /not a ciphertext/],
      [7, /level/],
      [20, /other encryption parameters/],
    ] as const) {
      const bytes = ct.slice();
      bytes[at]! ^= 0x04;
      expect(refused(bytes)).toMatch(reason);
    }
  });

  it('refuses a truncated, an extended, an out-of-range and a transparent ciphertext', () => {
    expect(refused(ct.subarray(0, ct.length - 1))).toMatch(/bytes, expected/);
    expect(refused(ct.subarray(0, 100))).toMatch(/bytes, expected/);
    expect(refused(ct.subarray(0, 10))).toMatch(/less than a header/);
    expect(refused(new Uint8Array([...ct, 0]))).toMatch(/bytes, expected/);
    const big = ct.slice();
    big.fill(0xff, WIRE_HEADER_BYTES, WIRE_HEADER_BYTES + 8);
    expect(refused(big)).toMatch(/not below its prime/);
    const level = suite.levels.input;
    const residues = residuesOf(ct, level);
    residues.fill(0, level.moduli.length * SLOTS);
    expect(refused(withResidues(ct, level, residues))).toMatch(/transparent/);
  });

  it('refuses ciphertexts and keys of other parameters and of the plain suite', async () => {
    const other = await createBfvSuite({ plainModulusBits: 57 });
    expect(other.plainModulus).not.toBe(t);
    expect(other.parameterId).not.toBe(suite.parameterId);
    const otherKeys = other.generateKeys();
    const otherKey = other.loadPublicKey(otherKeys.publicKey);
    expect(refused(other.encrypt(otherKey, BigInt64Array.of(1n))[0]!)).toMatch(/other encryption parameters/);
    expect(thrown(() => suite.loadPublicKey(otherKeys.publicKey)).code).toBe('ACCORD_HE_KEY_INVALID');
    // A handle of another instance is not a key of this one.
    expect(thrown(() => suite.encrypt(otherKey, BigInt64Array.of(1n))).code).toBe('ACCORD_HE_KEY_INVALID');
    otherKey.delete();
    otherKeys.secretKey.delete();

    const plain = createPlainSuite();
    const plainKeys = plain.generateKeys();
    const plainCt = plain.encrypt(plain.loadPublicKey(plainKeys.publicKey), BigInt64Array.of(1n))[0]!;
    expect(refused(plainCt)).toMatch(/plain object, not bfv/);
    const err = thrown(() => plain.decrypt(plainKeys.secretKey, ct));
    expect(err.code).toBe('ACCORD_HE_CIPHERTEXT_INVALID');
    expect(err.params.reason).toMatch(/bfv object, not plain/);
    expect(thrown(() => suite.loadPublicKey(plainKeys.publicKey)).code).toBe('ACCORD_HE_KEY_INVALID');
    expect(thrown(() => plain.loadPublicKey(publicKeyBytes)).code).toBe('ACCORD_HE_KEY_INVALID');
  });

  it('refuses a garbage, truncated or out-of-range public key, and a deleted key', () => {
    const invalid = (bytes: Uint8Array) => {
      const err = thrown(() => suite.loadPublicKey(bytes));
      expect(err.code).toBe('ACCORD_HE_KEY_INVALID');
      return String(err.params.reason);
    };
    expect(invalid(new Uint8Array(1000).map((_, i) => (i * 131) & 0xff))).toMatch(/no Accord HE header/);
    expect(invalid(publicKeyBytes.subarray(0, publicKeyBytes.length - 1))).toMatch(/bytes, expected/);
    const big = publicKeyBytes.slice();
    big.fill(0xff, WIRE_HEADER_BYTES, WIRE_HEADER_BYTES + 8);
    expect(invalid(big)).toMatch(/not below its prime/);
    expect(invalid(ct)).toMatch(/not a public key/);
    const loaded = suite.loadPublicKey(publicKeyBytes);
    loaded.delete();
    loaded.delete(); // twice is harmless
    expect(thrown(() => suite.encrypt(loaded, BigInt64Array.of(1n))).code).toBe('ACCORD_HE_KEY_INVALID');
    const keys = suite.generateKeys();
    keys.secretKey.delete();
    expect(thrown(() => suite.decrypt(keys.secretKey, ct)).code).toBe('ACCORD_HE_KEY_INVALID');
  });

  it('refuses values and masks out of range, naming positions only', () => {
    const half = (t - 1n) / 2n;
    const err = thrown(() => suite.encrypt(key, BigInt64Array.of(0n, half + 1n)));
    expect(err.code).toBe('ACCORD_HE_VALUE_RANGE');
    expect(err.message).toBe(
      'a value is outside the plaintext range (-t/2, t/2): a value to encrypt, entry 1, is too large',
    );
    expect(thrown(() => suite.addPlain([ct], BigInt64Array.of(-half - 1n))).code).toBe(
      'ACCORD_HE_VALUE_RANGE',
    );
    const mask = uniformMask(t, SLOTS);
    mask[3] = t;
    expect(thrown(() => suite.maskedVector(key, [ct], [mask])).code).toBe('ACCORD_HE_VALUE_RANGE');
  });
});
