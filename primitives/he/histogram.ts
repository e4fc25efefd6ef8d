/**
 * The BFV suite for vertical gradient-boosted trees (SecureBoost): the ACTIVE party (the label holder) owns the key
 * pair and encrypts each row's quantised gradient and hessian; a PASSIVE party (a feature holder) sums them per bin
 * of each of its features, under encryption, for one tree node at a time; the active party decrypts only the
 * per-position sums. node-seal 6.0.3 (Microsoft SEAL 4.1 in WebAssembly), coefficient encoding.
 *
 * Flow (the protocol, elsewhere, carries the bytes; nothing here does I/O):
 *   1. Active: generateKeys(); sends the public key (180 328 bytes) to the passive party, keeps the secret key.
 *   2. Active, per tree: encryptGradients(gq, hq): rows in blocks of ROWS_PER_BLOCK = 256, row i of a block as
 *      coefficient i of the plaintext, gq·2^29 + hq mod t (gq in [-4096, 4096], hq in [0, 4096], quantised by the
 *      caller), each block a seeded symmetric encryption under the secret key (135 272 bytes).
 *   3. Passive, per node: histograms(blocks, positions, features): for each feature, Σ_k block_k · mask_k, where
 *      mask_k has a 1 at position(i)·256 + 255 − i for each row i of block k (position < 32 = HISTOGRAM_POSITIONS:
 *      bins, missing, and whatever the protocol uses for rows outside the node); coefficient 256·b + 255 of the sum
 *      is Σ (gq·2^29 + hq) over the rows at position b. Each histogram (135 736 bytes) is re-randomised with a fresh
 *      public-key encryption of zero, and carries c1 and only those 32 coefficients of c0, each flooded.
 *   4. Active: decryptHistogram: Σgq and Σhq at each of the 32 positions.
 *
 * Parameter set (its SHA-256, `parameterId`, is in every object's header; a mismatch is a coded error):
 *  - BFV, N = 8192, coefficient encoding (no batching: the masks are polynomial products);
 *  - q = CoeffModulus.Create(8192, [44, 44, 44, 44]): 17592184225793, 17592184717313, 17592185438209 (the data
 *    level: blocks and histograms, 132 bits) and 17592186028033, SEAL's key-switching prime (the key level, 176 bits,
 *    where the public key lives and public-key encryption starts before SEAL switches it down);
 *  - t = PlainModulus.Batching(8192, 60) = 1 152 921 504 606 830 593 ≈ 2^60 (SEAL accepts only batching primes for
 *    BFV here; coefficient encoding does not use the batching);
 *  - SEAL's defaults otherwise: secret key uniform ternary, errors a normal of σ = 3.2 clipped at 6σ.
 * Three data primes are the fewest that leave Δ = ⌊q/t⌋ ≈ 2^72 room to flood (t must exceed 2^59, below), and each
 * costs one NTT per block and feature, the passive party's main cost; a fourth prime would only cost. Switching the
 * histogram down a level (88 bits) would leave Δ ≈ 2^28, too little to flood, so histograms stay at the data level.
 *
 * Security. The HomomorphicEncryption.org Security Standard (Albrecht et al., 2018), Table 1 (uniform ternary
 * secret, σ ≈ 3.2) allows log2 q ≤ 218 for n = 8192 at 128-bit classical security (≤ 202 for 128-bit quantum); the
 * key level has 176 bits, the data level 132, and SEAL's tc128 check passes.
 *
 * Range. A histogram sums at most MAX_HISTOGRAM_ROWS = 65 536 rows (256 blocks a call): |Σgq| ≤ 2^28 and
 * 0 ≤ Σhq ≤ 2^28 < 2^29, so Σhq is the centred sum modulo 2^29 and Σgq the rest, and |Σgq·2^29 + Σhq| < 2^58 < t/2.
 *
 * Noise (SEAL's invariant noise budget β at the data level, where |v| < 2^(132 − 60 − β − 1) for the decryption
 * noise v, c0 + c1·s = ⌊(q·m + ⌊(t+1)/2⌋)/t⌋ + v mod q): a fresh block, β = 67 (|v| < 2^4); a fresh Enc_pk(0),
 * β = 64 (|v| < 2^7). Target b of a product receives one coefficient of each input row's block (its own if it is at
 * b, one holding 0 otherwise), so |v| ≤ Σ_rows |e| + the rounding of the scaled plaintexts, ≤ 19·n + n/2 + 1 for n
 * rows, plus the encryption of zero (≤ 2^12 after SEAL's switch from the key level: ‖s‖₁/2): below
 * 2^HISTOGRAM_NOISE_BITS = 2^21 for n ≤ 65 536. Measured (`bench/he-histogram.ts --noise`, the key holder's view
 * of the unprotected product): below 2^14 for 65 536 rows at gq = −4096, hq = 4096 all at one position (the
 * roundings add up: every row has the same value), below 2^12 with the rows spread over the positions.
 *
 * Flooding and what each party learns. The passive party sees the public key and the blocks, RLWE encryptions under
 * s: nothing about g and h (semantic security), and it never sees a decryption. The active party, which holds s,
 * would learn from the plain product Σ_k block_k · mask_k every row's position: c0 + c1·s at the other coefficients
 * holds shifted partial sums (the tests recover every position from them), and c1 = Σ_k c1_k · mask_k is a known
 * function of the masks (c1_k it made itself). So each histogram is, per feature:
 *   1. c1 + z1 and the targets of c0 + z0, where (z0, z1) = Enc_pk(0) = (p0·u + e1, p1·u + e2) from SEAL, switched
 *      from the key level: z1 is an RLWE sample under a fresh ternary u, and hides c1 of the product even from the
 *      holder of s;
 *   2. only the 32 target coefficients of c0: coefficient k of c0 + c1·s depends only on c0[k] and c1, so the
 *      targets decrypt alone, and the other coefficients, which hold the partial sums, are not sent;
 *   3. each target flooded: + e, e uniform over the 2^(F+1) integers in [−2^F, 2^F) (`flooding.ts`), F = 70, the
 *      widest with 2^F + 2^21 < Δ/2 ≈ 2^71 (decryption stays exact).
 * Given s, the active party's view of a histogram is then (c1 + z1, m, v + e) at the targets, where m is the sums;
 * v + e and e are uniform on intervals of the same length shifted by v, at statistical distance |v| / 2^(F+1) ≤
 * 2^21 / 2^71 = 2^-50 per coefficient, 2^-45 per histogram (2^-57 and 2^-52 with the measured noise); distances
 * add over the histograms of a training (2^-37.7 for the 160 of a tree of 16 nodes and 10 features). So it learns
 * the 32 sums and nothing else about the positions. The sums are what SecureBoost reveals by design (with few rows
 * at a position they can single rows out: a protocol matter). This holds for a semi-honest active party: one that
 * encrypts other values than gradients (say row i as 2^i) or plants noise above 2^F in its blocks reads row
 * positions through the sums or the noise, as in any SecureBoost where the label holder encrypts; ruling that out
 * needs proofs of well-formed blocks, which this suite does not do.
 *
 * Encryption by the active party: SEAL's encryptSymmetricSerializable with the secret key: c1 expands from a 64-byte
 * seed (SEAL 196 802 bytes, 135 272 on the wire), 2.0 ms a block, against 3.4–3.6 ms and 393 329 bytes for SEAL's
 * public-key encrypt (one core, same run). The plaintext has 256 coefficients, so SEAL scales only those.
 *
 * The passive party's products (`histogram-products.ts`): c1 · mask through SEAL with the roles swapped (two
 * features' masks as the polynomials of one ciphertext, transformed to NTT form, times the block's c1 as an NTT-form
 * plaintext, prepared once per block and kept for the next call), c0 · mask only at the targets, outside SEAL (a
 * signed sum of one c0 coefficient per row). SEAL refuses a product by a zero polynomial: a block with no rows is
 * skipped. When the suite starts, both halves are checked against SEAL's own multiplyPlain, and a block of extreme
 * rows is decrypted through a histogram.
 *
 * Wire (`histogram-wire.ts`): an 'ACHG' header with the parameter id, residues packed at their primes' bit length.
 * Every untrusted byte string (public key, block, histogram) is checked (header, length, each residue below its
 * prime, c1 of a histogram not zero) before it reaches SEAL, whose loader can abort the WebAssembly module.
 *
 * Timings (Node 20, one core of an AMD EPYC shared with two other jobs, load 3.5–6 on 2 cores: approximate, medians
 * of `bench/he-histogram.ts`, three runs): starting the suite (WebAssembly, context, layout checks, the self-check)
 * 600 ms once per process; generateKeys 6–15 ms; loadPublicKey 1.2 ms; encryptGradients 2.5 ms per block of 256
 * rows (0.3 s for 30 000 rows); histograms 0.7–1.0 ms per block and feature (of which SEAL's NTT of the mask about
 * 0.45 and its product by c1 about 0.25: at the arithmetic's floor in this WebAssembly build), 4.9–6.6 ms per
 * histogram (SEAL's Enc_pk(0) about 4 of it), 1.9–3.8 ms to prepare a block (once per block for the calls of a
 * tree); decryptHistogram 2.0–2.6 ms. One tree of 16 node histograms over all 118 blocks of 30 000 rows and 10
 * features: about 15–20 s at the passive party, far above 2 s. What the protocol can do about it: compute the
 * larger child of each split as parent − smaller child after decryption (halves the nodes), and give each node only
 * blocks of its own rows (the active party encrypting, per level, its rows grouped by node) rather than every block
 * with the other rows at a spare position: then a tree costs about (118 + 3 × 60) × 10 block-features, 2–3 s here.
 *
 * WebAssembly memory: key handles hold SEAL objects until `delete()`; the suite keeps its scratch objects, and the
 * prepared blocks of the last `histograms` call (about 200 KB each, up to 256: `releaseBlocks()` frees them). It
 * shares the process's node-seal instance with `bfv.ts` (`seal-library.ts`).
 */
import { AccordError } from '../errors/index.js';
import { bitLength, type PublicKeyHandle, type SecretKeyHandle } from './cipher.js';
import { keyHolderView } from './histogram-inspect.js';
import { HistogramProducts, refuseCiphertext, TARGETS } from './histogram-products.js';
import {
  checkGradients,
  checkHistogramCall,
  decodeSum,
  encodeRows,
  GRADIENT_SHIFT,
  HISTOGRAM_POSITIONS,
  ROWS_PER_BLOCK,
} from './histogram-rows.js';
import {
  type HistogramLevel,
  type HistogramSeal,
  histogramSeal,
  type SealCipherText,
  type SealComprMode,
  type SealDecryptor,
  type SealEncryptor,
  type SealLibrary,
  type SealPlainText,
  type SealPublicKey,
  type SealSecretKey,
  sealLibrary,
} from './histogram-seal.js';
import {
  HISTOGRAM_WIRE_VERSION,
  histogramWireBytes,
  readHistogramObject,
  writeHistogramObject,
} from './histogram-wire.js';
import { FLOODING_MARGIN_BITS, POLY_MODULUS_DEGREE, parameterIdOf } from './parameters.js';
import {
  SealPlainWriter,
  SealWriter,
  sealBytesOf,
  sealPlainCoefficients,
  sealPlainShapeOf,
  sealResidues,
  sealSeed,
} from './seal-layout.js';

export {
  GRADIENT_SHIFT,
  HISTOGRAM_POSITIONS,
  MAX_HISTOGRAM_BLOCKS,
  MAX_HISTOGRAM_ROWS,
  MAX_QUANTISED_GRADIENT,
  MAX_QUANTISED_HESSIAN,
  ROWS_PER_BLOCK,
} from './histogram-rows.js';

/** Bits of the primes: three data primes, then the key-switching prime SEAL keeps for the key level. */
const DATA_PRIME_BITS = [44, 44, 44] as const;
const KEY_PRIME_BITS = 44;
/** B: t = PlainModulus.Batching(8192, B), the largest 60-bit prime ≡ 1 (mod 2N); exact decoding needs t > 2^59. */
export const HISTOGRAM_PLAIN_MODULUS_BITS = 60;
/** log2 of the bound on a target's decryption noise before flooding (the header's analysis; measured far below). */
export const HISTOGRAM_NOISE_BITS = 21;

/** For tests: another parameter set (the key-switching prime's size), whose keys and objects this one refuses. */
export interface HistogramOptions {
  readonly keyPrimeBits?: number;
}

let defaultSuite: Promise<HistogramSuite> | undefined;

/**
 * The histogram suite of the default parameter set, memoised per process (a failed start is not memoised), or a new
 * suite of another parameter set for `options`.
 */
export function createHistogramSuite(options: HistogramOptions = {}): Promise<HistogramSuite> {
  const keyPrimeBits = options.keyPrimeBits ?? KEY_PRIME_BITS;
  if (keyPrimeBits !== KEY_PRIME_BITS)
    return sealLibrary().then((seal) => new HistogramSuite(seal, keyPrimeBits));
  if (!defaultSuite) {
    defaultSuite = sealLibrary().then((seal) => new HistogramSuite(seal, KEY_PRIME_BITS));
    defaultSuite.catch(() => {
      defaultSuite = undefined;
    });
  }
  return defaultSuite;
}

interface HeldSecretKey {
  readonly key: SealSecretKey;
  readonly publicKey: SealPublicKey;
  readonly encryptor: SealEncryptor;
  readonly decryptor: SealDecryptor;
}

const LIMBS = DATA_PRIME_BITS.length;
const N = POLY_MODULUS_DEGREE;
const EVERY_COEFFICIENT = Array.from({ length: N }, (_, k) => k);

export class HistogramSuite {
  readonly parameterId: string;
  readonly plainModulus: bigint;
  /** F: each returned c0 coefficient is flooded with noise uniform in [-2^F, 2^F). */
  readonly floodBits: number;
  /** The key level (public key) and the data level (blocks and histograms). */
  readonly levels: { readonly key: HistogramLevel; readonly data: HistogramLevel };
  /** Bytes on the wire of a public key, a gradient block (256 rows) and a histogram (one feature). */
  readonly publicKeyBytes: number;
  readonly blockBytes: number;
  readonly outputBytes: number;

  readonly #s: HistogramSeal;
  readonly #none: SealComprMode;
  readonly #products: HistogramProducts;
  /** Scratch SEAL objects and buffers, reused by every call (each call overwrites what it reads). */
  readonly #loaded: SealCipherText;
  readonly #plain: SealPlainText;
  readonly #rowWriter: SealPlainWriter;
  readonly #rowWords = new Uint32Array(2 * ROWS_PER_BLOCK);
  readonly #ciphertextWriter: SealWriter;
  readonly #residues: Float64Array;
  readonly #publicKeys = new WeakMap<PublicKeyHandle, { key: SealPublicKey; encryptor: SealEncryptor }>();
  readonly #secretKeys = new WeakMap<SecretKeyHandle, HeldSecretKey>();

  constructor(seal: SealLibrary, keyPrimeBits: number) {
    const s = histogramSeal(
      seal,
      [...DATA_PRIME_BITS, keyPrimeBits],
      HISTOGRAM_PLAIN_MODULUS_BITS,
      ROWS_PER_BLOCK,
    );
    this.#s = s;
    this.#none = seal.ComprModeType.none;
    this.plainModulus = s.plainModulus;
    if (this.plainModulus <= 1n << BigInt(GRADIENT_SHIFT + 30))
      throw new Error('t must exceed 2^59 for the sums to decode exactly');
    this.levels = { key: s.key, data: s.data };
    if (s.data.moduli.length !== LIMBS) throw new Error('SEAL made another data level');

    // F: the widest flooding that still decrypts: 2^F + 2^noise < Δ/2 at the data level.
    const delta = s.data.modulus / this.plainModulus;
    const noise = 1n << BigInt(HISTOGRAM_NOISE_BITS);
    let floodBits = bitLength(delta) - 1;
    while ((1n << BigInt(floodBits)) + noise >= delta / 2n) floodBits--;
    if (floodBits - HISTOGRAM_NOISE_BITS < FLOODING_MARGIN_BITS)
      throw new Error(`the parameters leave no room to flood the noise by ${FLOODING_MARGIN_BITS} bits`);
    this.floodBits = floodBits;
    this.parameterId = parameterIdOf([
      ['suite', 'accord-he-histogram'],
      ['wire', HISTOGRAM_WIRE_VERSION],
      ['scheme', 'bfv'],
      ['encoding', 'coefficient'],
      ['polyModulusDegree', N],
      ['coeffModulus', s.key.moduli.join(',')],
      ['plainModulus', this.plainModulus.toString()],
      ['securityLevel', 'tc128'],
      ['dataPrimes', LIMBS],
      ['rowsPerBlock', ROWS_PER_BLOCK],
      ['positions', HISTOGRAM_POSITIONS],
      ['gradientShift', GRADIENT_SHIFT],
      ['floodBits', floodBits],
    ]);
    this.publicKeyBytes = histogramWireBytes('publicKey', s.key, 0);
    this.blockBytes = histogramWireBytes('block', s.data, 0);
    this.outputBytes = histogramWireBytes('histogram', s.data, HISTOGRAM_POSITIONS);

    this.#products = new HistogramProducts(s, this.parameterId, floodBits);
    this.#loaded = seal.CipherText();
    this.#plain = seal.PlainText();
    this.#rowWriter = new SealPlainWriter(s.shapes.rowPlain);
    this.#ciphertextWriter = new SealWriter(s.shapes.ciphertext);
    this.#residues = new Float64Array(LIMBS * N);
    this.#checkAgainstSeal();
  }

  /** Active party: a fresh key pair; `publicKey` is the bytes to send; the secret key must never leave the process. */
  generateKeys(): { publicKey: Uint8Array; secretKey: SecretKeyHandle } {
    const { seal, context, shapes, key: level } = this.#s;
    const generator = seal.KeyGenerator(context);
    const key = generator.secretKey();
    const seeded = generator.createPublicKeySerializable();
    const bytes = seeded.saveArray(this.#none);
    seeded.delete();
    generator.delete();
    const c0 = sealResidues(bytes, shapes.publicKey);
    const publicKey = writeHistogramObject(
      'publicKey',
      this.parameterId,
      level,
      [c0],
      sealSeed(bytes, shapes.publicKey),
    );
    const sealPublicKey = seal.PublicKey();
    sealPublicKey.loadArray(context, bytes);
    const held: HeldSecretKey = {
      key,
      publicKey: sealPublicKey,
      encryptor: seal.Encryptor(context, sealPublicKey, key),
      decryptor: seal.Decryptor(context, key),
    };
    const handle: SecretKeyHandle = Object.freeze({
      role: 'secret' as const,
      kind: 'bfv' as const,
      parameterId: this.parameterId,
      delete: () => {
        const it = this.#secretKeys.get(handle);
        if (!it) return;
        for (const o of [it.decryptor, it.encryptor, it.publicKey, it.key]) o.delete();
        this.#secretKeys.delete(handle);
      },
    });
    this.#secretKeys.set(handle, held);
    return { publicKey, secretKey: handle };
  }

  /** Passive party. Throws ACCORD_HE_KEY_INVALID when the bytes are not a public key of this parameter set. */
  loadPublicKey(bytes: Uint8Array): PublicKeyHandle {
    const refuse = (reason: string): never => {
      throw new AccordError('ACCORD_HE_KEY_INVALID', { reason });
    };
    const { seal, context, shapes, key: level } = this.#s;
    const {
      parts: [c0],
      seed,
    } = readHistogramObject(bytes, 'publicKey', this.parameterId, level, refuse);
    const key = seal.PublicKey();
    try {
      key.loadArray(context, sealBytesOf(shapes.publicKey, c0!, seed));
    } catch {
      key.delete();
      refuse('SEAL does not load it');
    }
    const encryptor = seal.Encryptor(context, key);
    const handle: PublicKeyHandle = Object.freeze({
      role: 'public' as const,
      kind: 'bfv' as const,
      parameterId: this.parameterId,
      delete: () => {
        const held = this.#publicKeys.get(handle);
        if (!held) return;
        held.encryptor.delete();
        held.key.delete();
        this.#publicKeys.delete(handle);
      },
    });
    this.#publicKeys.set(handle, { key, encryptor });
    return handle;
  }

  /**
   * Active party: rows gq[i], hq[i] (gq in [-4096, 4096], hq in [0, 4096], else RangeError) as ceil(n / 256)
   * gradient blocks, rows in order, each a seeded symmetric encryption under the secret key.
   */
  encryptGradients(secretKey: SecretKeyHandle, gq: Int32Array, hq: Int32Array): Uint8Array[] {
    const { encryptor } = this.#secretKeyOf(secretKey);
    checkGradients(gq, hq);
    const out: Uint8Array[] = [];
    for (let at = 0; at < gq.length; at += ROWS_PER_BLOCK)
      out.push(this.#encryptBlock(encryptor, gq, hq, at, Math.min(at + ROWS_PER_BLOCK, gq.length)));
    return out;
  }

  /**
   * Passive party: one histogram per feature f < `features`, the encrypted per-position sums of the rows of
   * `blocks`, row i of block k at position `positions(k, f)[i]`. `rowsPerBlock[k]` is the length of every
   * positions(k, ·) (at most 256; 0 skips the block). At most MAX_HISTOGRAM_BLOCKS blocks. Each histogram is
   * re-randomised with a fresh public-key encryption of zero and carries only the 32 target coefficients of c0,
   * flooded: safe to send to the key holder. The blocks of the last call are kept, prepared, for the next (the nodes
   * of one tree): `releaseBlocks` frees them. Throws ACCORD_HE_CIPHERTEXT_INVALID for a block that does not load
   * (its index in the reason), ACCORD_HE_KEY_INVALID for a foreign key, RangeError for bad positions or counts.
   */
  histograms(
    publicKey: PublicKeyHandle,
    blocks: readonly Uint8Array[],
    rowsPerBlock: readonly number[],
    positions: (block: number, feature: number) => Uint8Array,
    features: number,
  ): Uint8Array[] {
    const { encryptor } = this.#publicKeyOf(publicKey);
    const rows = checkHistogramCall(blocks, rowsPerBlock, positions, features);
    return this.#products.histograms(encryptor, blocks, rows, features);
  }

  /**
   * Active party: Σgq and Σhq at each of the 32 positions of one histogram. Throws ACCORD_HE_CIPHERTEXT_INVALID
   * (param `from` is 'a peer': relabel it with `err.withParams({ from })`) when it does not load, belongs to another
   * parameter set, or does not decrypt to sums of at most MAX_HISTOGRAM_ROWS rows in range.
   */
  decryptHistogram(secretKey: SecretKeyHandle, output: Uint8Array): { g: Float64Array; h: Float64Array } {
    const { decryptor } = this.#secretKeyOf(secretKey);
    const { c0, c1 } = this.#readOutput(output);
    // Coefficient k of a decryption depends on c0[k] and c1 only: the other coefficients of c0 may be anything (0).
    const words = this.#ciphertextWriter.words;
    words.fill(0, 0, 2 * LIMBS * N);
    for (let l = 0; l < LIMBS; l++)
      TARGETS.forEach((k, b) => {
        setWords(words, l * N + k, c0[l * HISTOGRAM_POSITIONS + b]!);
      });
    for (let j = 0; j < LIMBS * N; j++) setWords(words, LIMBS * N + j, c1[j]!);
    this.#loaded.loadArray(this.#s.context, this.#ciphertextWriter.bytes());
    decryptor.decrypt(this.#loaded, this.#plain);
    const coefficients = this.#decrypted();
    const g = new Float64Array(HISTOGRAM_POSITIONS);
    const h = new Float64Array(HISTOGRAM_POSITIONS);
    TARGETS.forEach((k, b) => {
      const sum = decodeSum(k < coefficients.length ? coefficients[k]! : 0n, this.plainModulus);
      if (sum === null) refuseCiphertext('it does not decrypt to sums of at most 65 536 rows in range');
      g[b] = sum!.g;
      h[b] = sum!.h;
    });
    return { g, h };
  }

  /** Frees the blocks kept from the last `histograms` call (WebAssembly memory, about 200 KB a block). */
  releaseBlocks(): void {
    this.#products.release();
  }

  /**
   * For measurements and tests only (the key holder's view): the decryption m in [0, t) and the noise (the flood
   * included) of each of the 32 targets of a histogram, or with `all` of every coefficient, c0 taken as 0 where the
   * histogram does not carry it (all a key holder can do).
   */
  inspectHistogram(
    secretKey: SecretKeyHandle,
    output: Uint8Array,
    all = false,
  ): { plain: bigint[]; noise: bigint[] } {
    const { key } = this.#secretKeyOf(secretKey);
    const { c0, c1 } = this.#readOutput(output);
    if (!all) return keyHolderView(this.#s, key, c0, TARGETS, c1);
    const full = new Float64Array(LIMBS * N);
    for (let l = 0; l < LIMBS; l++)
      TARGETS.forEach((k, b) => {
        full[l * N + k] = c0[l * HISTOGRAM_POSITIONS + b]!;
      });
    return keyHolderView(this.#s, key, full, EVERY_COEFFICIENT, c1);
  }

  /**
   * For tests and measurements only, and what must never be sent: feature `feature`'s product Σ_k c_k · mask_k as it
   * is before re-randomisation, truncation and flooding (c1 in full; c0 at the 32 targets, or with `full` at every
   * coefficient, slowly), and the key holder's view (decryption and noise) of those coefficients. It shows every
   * row's position to the key holder; the tests show that it does.
   */
  unprotectedProductForTests(
    secretKey: SecretKeyHandle,
    blocks: readonly Uint8Array[],
    rowsPerBlock: readonly number[],
    positions: (block: number, feature: number) => Uint8Array,
    feature: number,
    full = false,
  ): { c0: Float64Array; c1: Float64Array; plain: bigint[]; noise: bigint[] } {
    const { key } = this.#secretKeyOf(secretKey);
    const rows = checkHistogramCall(blocks, rowsPerBlock, (k) => positions(k, feature), 1);
    const product = this.#products.unprotectedProduct(
      blocks,
      rows.map((r) => r[0]!),
      full,
    );
    const coefficients = full ? EVERY_COEFFICIENT : TARGETS;
    return { ...product, ...keyHolderView(this.#s, key, product.c0, coefficients, product.c1) };
  }

  /** One block of rows [from, to): a seeded symmetric encryption of their plaintext, on the wire. */
  #encryptBlock(
    encryptor: SealEncryptor,
    gq: Int32Array,
    hq: Int32Array,
    from: number,
    to: number,
  ): Uint8Array {
    const { context, shapes, data } = this.#s;
    const words = this.#rowWords;
    encodeRows(gq, hq, from, to, this.plainModulus, words);
    this.#plain.loadArray(context, this.#rowWriter.bytes(new Uint8Array(words.buffer)));
    words.fill(0);
    const seeded = encryptor.encryptSymmetricSerializable(this.#plain);
    const bytes = seeded.saveArray(this.#none);
    seeded.delete();
    const c0 = sealResidues(bytes, shapes.block, this.#residues);
    return writeHistogramObject('block', this.parameterId, data, [c0], sealSeed(bytes, shapes.block));
  }

  /** The residues of a histogram (c0 at the targets, [limb][target]; c1, [limb][coefficient]), all checked. */
  #readOutput(output: Uint8Array): { c0: Float64Array; c1: Float64Array } {
    const {
      parts: [c0, c1],
    } = readHistogramObject(
      output,
      'histogram',
      this.parameterId,
      this.#s.data,
      refuseCiphertext,
      HISTOGRAM_POSITIONS,
    );
    if (c1!.every((r) => r === 0)) refuseCiphertext('it is transparent (its second polynomial is zero)');
    return { c0: c0!, c1: c1! };
  }

  /** The coefficients SEAL decrypted into #plain (it drops high zero coefficients, so their count varies). */
  #decrypted(): BigUint64Array {
    const bytes = this.#plain.saveArray(this.#none);
    // coeff_count, at byte 48 of a plaintext (`seal-layout.ts`); the shape check then checks every other field.
    const count = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(48, true));
    return sealPlainCoefficients(bytes, sealPlainShapeOf(bytes, { coeffCount: count }));
  }

  #publicKeyOf(handle: PublicKeyHandle): { key: SealPublicKey; encryptor: SealEncryptor } {
    const held = this.#publicKeys.get(handle);
    if (!held) this.#refuseKey(handle);
    return held!;
  }

  #secretKeyOf(handle: SecretKeyHandle): HeldSecretKey {
    const held = this.#secretKeys.get(handle);
    if (!held) this.#refuseKey(handle);
    return held!;
  }

  #refuseKey(handle: PublicKeyHandle | SecretKeyHandle): never {
    const reason =
      handle?.kind === 'bfv' && handle.parameterId === this.parameterId
        ? 'the key was deleted, or made by another instance of the suite'
        : 'it is not a key of the histogram suite and this parameter set';
    throw new AccordError('ACCORD_HE_KEY_INVALID', { reason });
  }

  /**
   * Checks, once when the suite starts, the work done outside SEAL: the products (`HistogramProducts`) against
   * SEAL's multiplyPlain, and that a block of extreme rows decrypts, through a histogram, to its exact sums. Throws a
   * plain Error otherwise (a node-seal upgrade that changed them).
   */
  #checkAgainstSeal(): void {
    const { publicKey, secretKey } = this.generateKeys();
    const key = this.loadPublicKey(publicKey);
    try {
      const gq = Int32Array.from({ length: ROWS_PER_BLOCK }, (_, i) =>
        i % 3 === 0 ? -4096 : (i * 37) % 4097,
      );
      const hq = Int32Array.from({ length: ROWS_PER_BLOCK }, (_, i) =>
        i % 5 === 0 ? 4096 : (i * 53) % 4097,
      );
      const [block] = this.encryptGradients(secretKey, gq, hq);
      this.#products.checkAgainstSeal(block!);
      const positions = Uint8Array.from({ length: ROWS_PER_BLOCK }, (_, i) => (i * 11) % HISTOGRAM_POSITIONS);
      const [output] = this.histograms(key, [block!], [ROWS_PER_BLOCK], () => positions, 1);
      this.releaseBlocks();
      const { g, h } = this.decryptHistogram(secretKey, output!);
      const expected = { g: new Float64Array(HISTOGRAM_POSITIONS), h: new Float64Array(HISTOGRAM_POSITIONS) };
      positions.forEach((p, i) => {
        expected.g[p]! += gq[i]!;
        expected.h[p]! += hq[i]!;
      });
      for (let b = 0; b < HISTOGRAM_POSITIONS; b++)
        if (g[b] !== expected.g[b] || h[b] !== expected.h[b])
          throw new Error('a histogram does not decrypt to its sums');
    } finally {
      key.delete();
      secretKey.delete();
    }
  }
}

/** Residue r (an integer below 2^53) as SEAL's u64 at index i of a words array (low word first). */
function setWords(words: Uint32Array, i: number, r: number): void {
  const high = Math.floor(r / 0x1_0000_0000);
  words[2 * i] = r - high * 0x1_0000_0000;
  words[2 * i + 1] = high;
}
