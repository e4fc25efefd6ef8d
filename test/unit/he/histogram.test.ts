/**
 * The histogram suite (vertical gradient-boosted trees) on real node-seal: exact per-position sums of Σgq and Σhq
 * over several blocks (a partial last block, a skipped block, position 31, the largest magnitudes over 65 536 rows),
 * what the key holder does NOT learn (a histogram carries the 32 target coefficients of c0 and a re-randomised c1;
 * the phase it can compute is the sums plus the flood; the unprotected product, which the suite never returns, would
 * show every row's position, and the same attack on a histogram fails), refusals of tampered, truncated and foreign
 * objects and keys without aborting the WebAssembly module, and the parameter set.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { PublicKeyHandle, SecretKeyHandle } from '../../../primitives/he/cipher.js';
import {
  createHistogramSuite,
  GRADIENT_SHIFT,
  HISTOGRAM_NOISE_BITS,
  HISTOGRAM_POSITIONS,
  type HistogramSuite,
  MAX_HISTOGRAM_BLOCKS,
  MAX_HISTOGRAM_ROWS,
  MAX_QUANTISED_GRADIENT,
  MAX_QUANTISED_HESSIAN,
  ROWS_PER_BLOCK,
} from '../../../primitives/he/histogram.js';
import {
  HISTOGRAM_HEADER_BYTES,
  readHistogramObject,
  writeHistogramObject,
} from '../../../primitives/he/histogram-wire.js';
import { cipherSuite } from '../../../primitives/he/index.js';
import { thrown } from '../../helpers/thrown.js';

/** Deterministic integers in [lo, hi] (xorshift32 of a seed). */
function ints(n: number, lo: number, hi: number, seed: number): Int32Array {
  let x = seed * 0x9e37_79b9 || 1;
  return Int32Array.from({ length: n }, () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return lo + ((x >>> 0) % (hi - lo + 1));
  });
}

/** The plaintext sums of rows at `positions` (one entry per row). */
function sumsOf(gq: Int32Array, hq: Int32Array, positions: Uint8Array): { g: number[]; h: number[] } {
  const g = new Array<number>(HISTOGRAM_POSITIONS).fill(0);
  const h = new Array<number>(HISTOGRAM_POSITIONS).fill(0);
  positions.forEach((p, i) => {
    g[p]! += gq[i]!;
    h[p]! += hq[i]!;
  });
  return { g, h };
}

/** Row counts of the blocks of n rows, and the positions of block k cut from per-row positions. */
const countsOf = (n: number) =>
  Array.from({ length: Math.ceil(n / ROWS_PER_BLOCK) }, (_, k) =>
    Math.min(ROWS_PER_BLOCK, n - k * ROWS_PER_BLOCK),
  );
const blockOf = (positions: Uint8Array, k: number, rows: number) =>
  positions.subarray(k * ROWS_PER_BLOCK, k * ROWS_PER_BLOCK + rows);

/**
 * The key holder's attack on a full decryption P of one block's product (rows ≤ 128, row 0's value nonzero):
 * coefficient 256p + 255 − d is Σ_{r ≥ d at p} M[r − d], so from d = rows − 1 down, exactly one p shows M[0] once
 * the rows above d are known. The recovered positions, or null when P is not such a product.
 */
function recoverPositions(plain: readonly bigint[], values: readonly bigint[], t: bigint): number[] | null {
  const rows = values.length;
  const found = new Array<number>(rows);
  for (let d = rows - 1; d >= 0; d--) {
    const hits: number[] = [];
    for (let p = 0; p < HISTOGRAM_POSITIONS; p++) {
      let residual = plain[p * ROWS_PER_BLOCK + ROWS_PER_BLOCK - 1 - d]!;
      for (let r = d + 1; r < rows; r++) if (found[r] === p) residual -= values[r - d]!;
      residual = ((residual % t) + t) % t;
      if (residual === values[0]) hits.push(p);
      else if (residual !== 0n) return null;
    }
    if (hits.length !== 1) return null;
    found[d] = hits[0]!;
  }
  return found;
}

let suite: HistogramSuite;
let publicKeyBytes: Uint8Array;
let secretKey: SecretKeyHandle;
let key: PublicKeyHandle;

beforeAll(async () => {
  suite = await createHistogramSuite();
  ({ publicKey: publicKeyBytes, secretKey } = suite.generateKeys());
  key = suite.loadPublicKey(publicKeyBytes);
});

describe('histogram parameters', () => {
  it('has the known parameter set, sizes and bounds', async () => {
    expect(suite.parameterId).toBe('a4247a6c37720e471cd12b921850d5e68d48c8dbee2d755af4124e7c6c35f142');
    expect(suite.plainModulus).toBe(1152921504606830593n);
    expect(suite.levels.key.moduli).toEqual([
      17592184225793n,
      17592184717313n,
      17592185438209n,
      17592186028033n,
    ]);
    expect(suite.levels.data.moduli).toEqual(suite.levels.key.moduli.slice(0, 3));
    expect(suite.levels.key.bits.reduce((a, b) => a + b, 0)).toBe(176); // ≤ 218: 128-bit security
    expect(suite.floodBits).toBe(70);
    expect([suite.publicKeyBytes, suite.blockBytes, suite.outputBytes]).toEqual([180_328, 135_272, 135_736]);
    expect([ROWS_PER_BLOCK, HISTOGRAM_POSITIONS, MAX_HISTOGRAM_ROWS, MAX_HISTOGRAM_BLOCKS]).toEqual([
      256, 32, 65_536, 256,
    ]);
    expect(ROWS_PER_BLOCK * HISTOGRAM_POSITIONS).toBe(8192);
    expect(await createHistogramSuite()).toBe(suite);

    // Exact decoding at the largest sums: |Σgq| ≤ 2^28, Σhq ≤ 2^28 < 2^S, and |Σgq·2^S + Σhq| < t/2.
    const most = BigInt(MAX_HISTOGRAM_ROWS * MAX_QUANTISED_GRADIENT);
    expect(most).toBe(1n << 28n);
    expect(BigInt(MAX_HISTOGRAM_ROWS * MAX_QUANTISED_HESSIAN) < 1n << BigInt(GRADIENT_SHIFT)).toBe(true);
    expect(2n * (most * (1n << BigInt(GRADIENT_SHIFT)) + most) < suite.plainModulus).toBe(true);
    // Flooding: 2^F + 2^noise < Δ/2, and F is 40 bits above the noise bound.
    const delta = suite.levels.data.modulus / suite.plainModulus;
    expect((1n << 70n) + (1n << BigInt(HISTOGRAM_NOISE_BITS)) < delta / 2n).toBe(true);
    expect(suite.floodBits - HISTOGRAM_NOISE_BITS).toBeGreaterThanOrEqual(40);
  });
});

describe('histogram sums', () => {
  it('sums random rows exactly over blocks, a partial last block, a skipped block and position 31', () => {
    const n = 3 * ROWS_PER_BLOCK + 77;
    const gq = ints(n, -MAX_QUANTISED_GRADIENT, MAX_QUANTISED_GRADIENT, 1);
    const hq = ints(n, 0, MAX_QUANTISED_HESSIAN, 2);
    const blocks = suite.encryptGradients(secretKey, gq, hq);
    expect(blocks.map((b) => b.length)).toEqual([1, 2, 3, 4].map(() => suite.blockBytes));
    const positions = [
      Uint8Array.from(ints(n, 0, 31, 3)),
      Uint8Array.from(ints(n, 0, 31, 4)).map((p, i) => (i % 5 === 0 ? 31 : p)),
      new Uint8Array(n).fill(31),
    ];
    const counts = countsOf(n);
    expect(counts).toEqual([256, 256, 256, 77]);
    // Block 1 is left out: its rows count for nothing.
    counts[1] = 0;
    const outputs = suite.histograms(
      key,
      blocks,
      counts,
      (k, f) => blockOf(positions[f]!, k, counts[k]!),
      positions.length,
    );
    expect(outputs.length).toBe(3);
    const kept = (i: number) => i < ROWS_PER_BLOCK || i >= 2 * ROWS_PER_BLOCK;
    positions.forEach((p, f) => {
      const expected = sumsOf(
        gq.filter((_, i) => kept(i)),
        hq.filter((_, i) => kept(i)),
        p.filter((_, i) => kept(i)),
      );
      const { g, h } = suite.decryptHistogram(secretKey, outputs[f]!);
      expect([...g]).toEqual(expected.g);
      expect([...h]).toEqual(expected.h);
    });
    expect(suite.histograms(key, blocks, counts, () => new Uint8Array(0), 0)).toEqual([]);
    const [empty] = suite.histograms(key, [], [], () => new Uint8Array(0), 1);
    const zero = suite.decryptHistogram(secretKey, empty!);
    expect([...zero.g, ...zero.h].every((v) => v === 0)).toBe(true);
  });

  it('decodes the largest sums exactly: 65 536 rows at gq = -4096, hq = 4096 in position 31', () => {
    const most = MAX_HISTOGRAM_ROWS;
    const gq = new Int32Array(most).fill(-MAX_QUANTISED_GRADIENT);
    const hq = new Int32Array(most).fill(MAX_QUANTISED_HESSIAN);
    const blocks = suite.encryptGradients(secretKey, gq, hq);
    expect(blocks.length).toBe(MAX_HISTOGRAM_BLOCKS);
    const counts = blocks.map(() => ROWS_PER_BLOCK);
    const [output] = suite.histograms(key, blocks, counts, () => new Uint8Array(ROWS_PER_BLOCK).fill(31), 1);
    const { g, h } = suite.decryptHistogram(secretKey, output!);
    expect([g[31], h[31]]).toEqual([-(2 ** 28), 2 ** 28]);
    expect([...g.subarray(0, 31), ...h.subarray(0, 31)].every((v) => v === 0)).toBe(true);
    // And gq = +4096, over a few blocks (the positive side of the same packing).
    const small = suite.encryptGradients(secretKey, new Int32Array(512).fill(4096), new Int32Array(512));
    const [positive] = suite.histograms(key, small, [256, 256], () => new Uint8Array(256), 1);
    expect(suite.decryptHistogram(secretKey, positive!).g[0]).toBe(512 * 4096);
    suite.releaseBlocks();
  });

  it('refuses gradients out of range and bad positions or counts, naming rows, not values', () => {
    const ok = new Int32Array(3);
    for (const [g, h] of [
      [Int32Array.of(0, 4097, 0), ok],
      [Int32Array.of(-4097, 0, 0), ok],
      [ok, Int32Array.of(0, -1, 0)],
      [ok, Int32Array.of(0, 0, 4097)],
    ])
      expect(() => suite.encryptGradients(secretKey, g!, h!)).toThrow(RangeError);
    expect(() => suite.encryptGradients(secretKey, ok, new Int32Array(2))).toThrow(RangeError);
    const [block] = suite.encryptGradients(secretKey, ok, ok);
    const call =
      (counts: number[], positions: Uint8Array, blocks = [block!]) =>
      () =>
        suite.histograms(key, blocks, counts, () => positions, 1);
    expect(call([3], Uint8Array.of(0, 32, 0))).toThrow(/row 1, is not below 32/);
    expect(call([3], Uint8Array.of(0, 1))).toThrow(RangeError);
    expect(call([257], new Uint8Array(257))).toThrow(RangeError);
    expect(call([3, 3], new Uint8Array(3))).toThrow(RangeError);
    expect(call(new Array(257).fill(0), new Uint8Array(0), new Array(257).fill(block!))).toThrow(RangeError);
  });
});

describe('what the key holder learns', () => {
  // Rows with repeated values, and a second assignment of positions that permutes rows of equal value: the same
  // per-position sums, other row → position maps.
  const n = 2 * ROWS_PER_BLOCK;
  const gq = ints(n, -3, 3, 5).map((v) => v * 1000);
  const hq = gq.map((v) => Math.abs(v) / 10);
  const a = Uint8Array.from(ints(n, 0, 31, 6));
  const b = a.slice();
  for (let i = 0; i < n; i++)
    for (let j = i + 1; j < n; j++)
      if (gq[i] === gq[j] && a[i] !== a[j] && b[i] === a[i] && b[j] === a[j]) {
        [b[i], b[j]] = [a[j]!, a[i]!];
        break;
      }
  let blocks: Uint8Array[];
  beforeAll(() => {
    blocks = suite.encryptGradients(secretKey, gq, hq);
  });
  const of = (p: Uint8Array) => (k: number) => blockOf(p, k, ROWS_PER_BLOCK);

  it('gets a histogram of 32 target coefficients of c0 and a full, re-randomised c1', () => {
    expect(a.filter((p, i) => p !== b[i]).length).toBeGreaterThan(n / 2);
    expect(sumsOf(gq, hq, a)).toEqual(sumsOf(gq, hq, b));
    const [outA, outB, outA2] = [a, b, a].map(
      (p) => suite.histograms(key, blocks, [256, 256], of(p), 1)[0]!,
    ) as [Uint8Array, Uint8Array, Uint8Array];
    const data = suite.levels.data;
    const limbBits = data.bits.reduce((x, y) => x + y, 0);
    expect(suite.outputBytes).toBe(
      HISTOGRAM_HEADER_BYTES + (HISTOGRAM_POSITIONS * limbBits) / 8 + (8192 * limbBits) / 8,
    );
    const parts = (bytes: Uint8Array) =>
      readHistogramObject(
        bytes,
        'histogram',
        suite.parameterId,
        data,
        (r) => {
          throw new Error(r);
        },
        HISTOGRAM_POSITIONS,
      ).parts;
    const [c0A, c1A] = parts(outA);
    const [c0A2, c1A2] = parts(outA2);
    expect(c0A!.length).toBe(3 * HISTOGRAM_POSITIONS);
    // The same inputs twice: other c0 and c1 residues (fresh encryption of zero, fresh flood), the same sums.
    expect(c1A!.filter((r, j) => r === c1A2![j]).length).toBe(0);
    expect(c0A!.filter((r, j) => r === c0A2![j]).length).toBe(0);
    const sums = suite.decryptHistogram(secretKey, outA);
    for (const other of [outB, outA2]) expect(suite.decryptHistogram(secretKey, other)).toEqual(sums);

    // The key holder's phase at each target is the encoded sum plus noise of the flood's size (2^70), nothing else.
    const t = suite.plainModulus;
    const expected = sumsOf(gq, hq, a);
    for (const out of [outA, outB]) {
      const view = suite.inspectHistogram(secretKey, out);
      view.plain.forEach((m, p) => {
        const encoded = BigInt(expected.g[p]!) * (1n << BigInt(GRADIENT_SHIFT)) + BigInt(expected.h[p]!);
        expect(m).toBe(((encoded % t) + t) % t);
      });
      for (const v of view.noise) {
        const magnitude = v < 0n ? -v : v;
        expect(magnitude < (1n << 70n) + (1n << BigInt(HISTOGRAM_NOISE_BITS))).toBe(true);
        expect(magnitude > 1n << 50n).toBe(true); // P(|e| < 2^50) = 2^-20 per coefficient
      }
    }
  });

  it('would see every row position in the unprotected product; the same attack on a histogram fails', () => {
    // One block of 100 rows (≤ 128: no wrapped terms), row 0 nonzero.
    const rows = 100;
    const t = suite.plainModulus;
    const values = Array.from(gq.subarray(0, rows), (g, i) => {
      const v = BigInt(g) * (1n << BigInt(GRADIENT_SHIFT)) + BigInt(hq[i]!);
      return ((v % t) + t) % t;
    });
    expect(values[0]).not.toBe(0n);
    const one = suite.encryptGradients(secretKey, gq.subarray(0, rows), hq.subarray(0, rows));
    const [rawA, rawB] = [a, b].map((p) =>
      suite.unprotectedProductForTests(secretKey, one, [rows], () => p.subarray(0, rows), 0, true),
    );
    // The attack works on the unprotected products: it reads every row's position.
    expect(recoverPositions(rawA!.plain, values, t)).toEqual([...a.subarray(0, rows)]);
    expect(recoverPositions(rawB!.plain, values, t)).toEqual([...b.subarray(0, rows)]);
    expect(rawA!.plain.filter((m, k) => m !== rawB!.plain[k]).length).toBeGreaterThan(0);
    // Their noise, which a key holder could read too, is small: what the flood hides.
    for (const v of rawA!.noise) expect((v < 0n ? -v : v) < 1n << BigInt(HISTOGRAM_NOISE_BITS)).toBe(true);
    // c1 of the unprotected product is c1 · mask, a function of the positions the key holder can test.
    const again = suite.unprotectedProductForTests(secretKey, one, [rows], () => a.subarray(0, rows), 0);
    expect(again.c1).toEqual(rawA!.c1);
    expect(rawB!.c1).not.toEqual(rawA!.c1);

    // On a histogram of the same input: c0 outside the targets is absent (0 is all the key holder can put there),
    // c1 matches neither assignment's product, and the attack recovers nothing.
    const [out] = suite.histograms(key, one, [rows], () => a.subarray(0, rows), 1);
    const view = suite.inspectHistogram(secretKey, out!, true);
    expect(recoverPositions(view.plain, values, t)).toBeNull();
    const c1 = readHistogramObject(
      out!,
      'histogram',
      suite.parameterId,
      suite.levels.data,
      (r) => {
        throw new Error(r);
      },
      HISTOGRAM_POSITIONS,
    ).parts[1]!;
    for (const raw of [rawA!, rawB!]) expect(c1.filter((r, j) => r === raw.c1[j]).length).toBeLessThan(4);
    // The targets still decrypt to the sums.
    const expected = sumsOf(gq.subarray(0, rows), hq.subarray(0, rows), a.subarray(0, rows));
    expect([...suite.decryptHistogram(secretKey, out!).g]).toEqual(expected.g);
    suite.releaseBlocks();
  });
});

describe('refusals', () => {
  let output: Uint8Array;
  let blocks: Uint8Array[];
  beforeAll(() => {
    blocks = suite.encryptGradients(secretKey, ints(300, -4096, 4096, 7), ints(300, 0, 4096, 8));
    output = suite.histograms(key, blocks, [256, 44], (k) => new Uint8Array(k === 0 ? 256 : 44), 1)[0]!;
  });
  const refused = (bytes: Uint8Array) => {
    const err = thrown(() => suite.decryptHistogram(secretKey, bytes));
    expect(err.code).toBe('ACCORD_HE_CIPHERTEXT_INVALID');
    expect(err.params.from).toBe('a peer');
    return String(err.params.reason);
  };
  const refusedBlock = (bytes: Uint8Array) => {
    const err = thrown(() =>
      suite.histograms(key, [blocks[0]!, bytes], [256, 44], () => new Uint8Array(256), 0),
    );
    expect(err.code).toBe('ACCORD_HE_CIPHERTEXT_INVALID');
    const reason = String(err.params.reason);
    expect(reason).toMatch(/^block 1: /);
    return reason;
  };
  /** `bytes` with its parts replaced (the residues re-packed). */
  const withParts = (
    object: 'histogram' | 'block',
    bytes: Uint8Array,
    edit: (parts: Float64Array[]) => void,
  ) => {
    const targets = object === 'histogram' ? HISTOGRAM_POSITIONS : 0;
    const { parts, seed } = readHistogramObject(
      bytes,
      object,
      suite.parameterId,
      suite.levels.data,
      (r) => {
        throw new Error(r);
      },
      targets,
    );
    edit(parts);
    const seeded = object === 'block' ? seed : undefined;
    return writeHistogramObject(object, suite.parameterId, suite.levels.data, parts, seeded, targets);
  };

  it('refuses a histogram with a flipped header byte, the wrong length, a residue above its prime, a zero c1', () => {
    for (const [at, reason] of [
      [0, /no Accord HE histogram header/],
      [4, /wire format version/],
      [5, /not a histogram/],
      [6, /reserved/],
      [20, /other encryption parameters/],
    ] as const) {
      const bytes = output.slice();
      bytes[at]! ^= 0x04;
      expect(refused(bytes)).toMatch(reason);
    }
    expect(refused(output.subarray(0, output.length - 1))).toMatch(/bytes, expected/);
    expect(refused(output.subarray(0, 10))).toMatch(/less than a header/);
    expect(refused(new Uint8Array([...output, 0]))).toMatch(/bytes, expected/);
    const big = output.slice();
    big.fill(0xff, HISTOGRAM_HEADER_BYTES, HISTOGRAM_HEADER_BYTES + 8);
    expect(refused(big)).toMatch(/not below its prime/);
    expect(refused(withParts('histogram', output, (parts) => parts[1]!.fill(0)))).toMatch(/transparent/);
    expect(refused(blocks[0]!)).toMatch(/not a histogram/);
    // Targets that do not decode to sums of at most 65 536 rows in range (here: other residues of c0 in one limb,
    // independent per target). A random target passes with probability 1/8 (|g| ≤ 2^28 of 2^30, h ≤ 2^28 of
    // 2^29); all 32, with 2^-96.
    const shifted = withParts('histogram', output, (parts) => {
      const q = Number(suite.levels.data.moduli[0]!);
      const other = ints(HISTOGRAM_POSITIONS, 0, 2 ** 30, 9);
      for (let b = 0; b < HISTOGRAM_POSITIONS; b++) parts[0]![b] = (parts[0]![b]! + other[b]! * 8191) % q;
    });
    expect(refused(shifted)).toMatch(/sums of at most 65 536 rows/);
  });

  it('refuses bad gradient blocks with the block index, and keeps working (no WebAssembly abort)', async () => {
    const bytes = blocks[1]!.slice();
    bytes[20]! ^= 1;
    expect(refusedBlock(bytes)).toMatch(/other encryption parameters/);
    expect(refusedBlock(blocks[1]!.subarray(0, 5000))).toMatch(/bytes, expected/);
    const big = blocks[1]!.slice();
    big.fill(0xff, HISTOGRAM_HEADER_BYTES + 100, HISTOGRAM_HEADER_BYTES + 108);
    expect(refusedBlock(big)).toMatch(/not below its prime/);
    expect(refusedBlock(output)).toMatch(/not a gradient block/);
    expect(refusedBlock(publicKeyBytes)).toMatch(/not a gradient block/);
    const bfv = await cipherSuite('bfv');
    const bfvKeys = bfv.generateKeys();
    const bfvKey = bfv.loadPublicKey(bfvKeys.publicKey);
    const [bfvCt] = bfv.encrypt(bfvKey, BigInt64Array.of(1n));
    expect(refusedBlock(bfvCt!)).toMatch(/no Accord HE histogram header/);
    expect(refused(bfvCt!)).toMatch(/no Accord HE histogram header/);
    // A histogram suite key is not a key of the BFV suite, nor the reverse.
    expect(thrown(() => bfv.encrypt(key, BigInt64Array.of(1n))).code).toBe('ACCORD_HE_KEY_INVALID');
    expect(thrown(() => suite.histograms(bfvKey, blocks, [256, 44], () => new Uint8Array(0), 0)).code).toBe(
      'ACCORD_HE_KEY_INVALID',
    );
    expect(thrown(() => suite.loadPublicKey(bfvKeys.publicKey)).code).toBe('ACCORD_HE_KEY_INVALID');
    bfvKey.delete();
    bfvKeys.secretKey.delete();
    // Still sound afterwards.
    const [again] = suite.histograms(key, blocks, [256, 44], (k) => new Uint8Array(k === 0 ? 256 : 44), 1);
    expect(suite.decryptHistogram(secretKey, again!)).toEqual(suite.decryptHistogram(secretKey, output));
    suite.releaseBlocks();
  });

  it('refuses keys, blocks and histograms of another parameter set, and garbage or deleted keys', async () => {
    const other = await createHistogramSuite({ keyPrimeBits: 40 });
    expect(other.parameterId).not.toBe(suite.parameterId);
    const otherKeys = other.generateKeys();
    const otherKey = other.loadPublicKey(otherKeys.publicKey);
    const keyRefusal = (bytes: Uint8Array) => {
      const err = thrown(() => suite.loadPublicKey(bytes));
      expect(err.code).toBe('ACCORD_HE_KEY_INVALID');
      return String(err.params.reason);
    };
    expect(keyRefusal(otherKeys.publicKey)).toMatch(/other encryption parameters/);
    const otherBlocks = other.encryptGradients(otherKeys.secretKey, Int32Array.of(1), Int32Array.of(1));
    expect(refusedBlock(otherBlocks[0]!)).toMatch(/other encryption parameters/);
    const [otherOutput] = other.histograms(otherKey, otherBlocks, [1], () => Uint8Array.of(3), 1);
    expect(other.decryptHistogram(otherKeys.secretKey, otherOutput!).g[3]).toBe(1);
    expect(refused(otherOutput!)).toMatch(/other encryption parameters/);
    expect(thrown(() => suite.histograms(otherKey, [], [], () => new Uint8Array(0), 1)).code).toBe(
      'ACCORD_HE_KEY_INVALID',
    );
    expect(thrown(() => suite.decryptHistogram(otherKeys.secretKey, output)).code).toBe(
      'ACCORD_HE_KEY_INVALID',
    );
    otherKey.delete();
    otherKeys.secretKey.delete();

    expect(keyRefusal(new Uint8Array(1000).map((_, i) => (i * 131) & 0xff))).toMatch(
      /no Accord HE histogram/,
    );
    expect(keyRefusal(publicKeyBytes.subarray(0, publicKeyBytes.length - 1))).toMatch(/bytes, expected/);
    const big = publicKeyBytes.slice();
    big.fill(0xff, HISTOGRAM_HEADER_BYTES, HISTOGRAM_HEADER_BYTES + 8);
    expect(keyRefusal(big)).toMatch(/not below its prime/);
    expect(keyRefusal(output)).toMatch(/not a histogram public key/);
    const loaded = suite.loadPublicKey(publicKeyBytes);
    loaded.delete();
    loaded.delete();
    expect(thrown(() => suite.histograms(loaded, [], [], () => new Uint8Array(0), 1)).code).toBe(
      'ACCORD_HE_KEY_INVALID',
    );
    const keys = suite.generateKeys();
    keys.secretKey.delete();
    expect(thrown(() => suite.decryptHistogram(keys.secretKey, output)).code).toBe('ACCORD_HE_KEY_INVALID');
    expect(
      thrown(() => suite.encryptGradients(keys.secretKey, Int32Array.of(1), Int32Array.of(1))).code,
    ).toBe('ACCORD_HE_KEY_INVALID');
  });
});
