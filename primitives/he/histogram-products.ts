/**
 * The passive party's work in the histogram suite (`histogram.ts` explains the scheme): gradient blocks prepared for
 * multiplication, the masked products summed over blocks, and each histogram finished (re-randomised, cut to the
 * target coefficients of c0, flooded).
 *
 * The product c · mask of a block is computed in two halves. c1 · mask, a full polynomial product, goes through SEAL
 * with the roles swapped: the masks of two features are loaded as the two polynomials of a ciphertext (their
 * residues are their 0/1 coefficients in every limb), SEAL transforms that to NTT form, and multiplies it by c1 of the
 * block, an NTT-form plaintext prepared once per block. So each block-feature costs one polynomial's NTT and one
 * dyadic product, and no serialization. c0 · mask is needed at the 32 target coefficients only: each is a signed sum
 * of one coefficient of c0 per row (`addTargetSums`), computed here. `checkProductsAgainstSeal` checks both halves
 * against SEAL's own multiplyPlain when the suite starts.
 */
import { createHash } from 'node:crypto';
import { AccordError } from '../errors/index.js';
import { UNKNOWN_SENDER } from './cipher.js';
import { floodFirstPolynomial } from './flooding.js';
import {
  addTargetSums,
  HISTOGRAM_POSITIONS,
  maskCoefficient,
  ROWS_PER_BLOCK,
  targetCoefficient,
} from './histogram-rows.js';
import type {
  HistogramSeal,
  SealCipherText,
  SealComprMode,
  SealEncryptor,
  SealPlainText,
} from './histogram-seal.js';
import { readHistogramObject, writeHistogramObject } from './histogram-wire.js';
import { POLY_MODULUS_DEGREE } from './parameters.js';
import {
  SealPlainWriter,
  SealWriter,
  sealBytesOf,
  sealPolynomialBytes,
  sealResidues,
} from './seal-layout.js';

const N = POLY_MODULUS_DEGREE;
/** The coefficients of a product that hold the position sums. */
export const TARGETS: readonly number[] = Array.from({ length: HISTOGRAM_POSITIONS }, (_, b) =>
  targetCoefficient(b),
);

/** Throws ACCORD_HE_CIPHERTEXT_INVALID from an unknown sender (callers that know it relabel the error). */
export function refuseCiphertext(reason: string): never {
  throw new AccordError('ACCORD_HE_CIPHERTEXT_INVALID', { from: UNKNOWN_SENDER, reason });
}

/** A block as the passive party multiplies it: c0's residues, and c1 in NTT form as a SEAL plaintext. */
export interface PreparedBlock {
  readonly c0: Float64Array;
  readonly c1: SealPlainText;
}

/** True when every byte is 0. */
function allZero(bytes: Uint8Array): boolean {
  const words = bytes.byteOffset % 4 === 0 && bytes.length % 4 === 0;
  const view = words ? new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4) : bytes;
  for (let i = 0; i < view.length; i++) if (view[i] !== 0) return false;
  return true;
}

export class HistogramProducts {
  readonly #s: HistogramSeal;
  readonly #parameterId: string;
  readonly #floodBits: number;
  readonly #limbs: number;
  readonly #none: SealComprMode;
  /** Scratch SEAL objects and buffers, reused by every call (each call overwrites what it reads). */
  readonly #masks: SealWriter;
  readonly #maskCt: SealCipherText;
  readonly #sum: SealCipherText;
  readonly #product: SealCipherText;
  readonly #zero: SealCipherText;
  readonly #loaded: SealCipherText;
  readonly #nttPlainWriter: SealPlainWriter;
  readonly #products: Float64Array;
  readonly #zeroResidues: Float64Array;
  readonly #c1: Float64Array;
  readonly #sums = new Float64Array(HISTOGRAM_POSITIONS);
  /** The blocks of the last call, by SHA-256 of their bytes: the nodes of one tree reuse them. */
  #blocks = new Map<string, PreparedBlock>();

  constructor(s: HistogramSeal, parameterId: string, floodBits: number) {
    this.#s = s;
    this.#parameterId = parameterId;
    this.#floodBits = floodBits;
    this.#limbs = s.data.moduli.length;
    this.#none = s.seal.ComprModeType.none;
    this.#masks = new SealWriter(s.shapes.ciphertext);
    this.#maskCt = s.seal.CipherText();
    this.#sum = s.seal.CipherText();
    this.#product = s.seal.CipherText();
    this.#zero = s.seal.CipherText();
    this.#loaded = s.seal.CipherText();
    this.#nttPlainWriter = new SealPlainWriter(s.shapes.nttPlain);
    this.#products = new Float64Array(s.shapes.ciphertext.residueCount);
    this.#zeroResidues = new Float64Array(s.shapes.ciphertext.residueCount);
    this.#c1 = new Float64Array(this.#limbs * N);
  }

  /**
   * The histograms of `features` features (`positions[k][f]`: the checked positions of block k's rows for feature
   * f), each finished with a fresh encryption of zero from `encryptor`.
   */
  histograms(
    encryptor: SealEncryptor,
    blocks: readonly Uint8Array[],
    positions: readonly (readonly Uint8Array[])[],
    features: number,
  ): Uint8Array[] {
    const prepared = this.prepareBlocks(blocks);
    const out: Uint8Array[] = [];
    const limbs = this.#limbs;
    for (let f = 0; f < features; f += 2) {
      // Two features at a time: their masks are the two polynomials of one SEAL ciphertext.
      const pair = f + 1 < features ? [f, f + 1] : [f];
      const products = this.#productsOf(prepared, (k) => pair.map((g) => positions[k]![g]!));
      pair.forEach((g, n) => {
        const c0 = new Float64Array(limbs * HISTOGRAM_POSITIONS);
        prepared.forEach((block, k) => {
          const rows = positions[k]![g]!;
          if (rows.length > 0) addTargetSums(block.c0, rows, this.#s.data.moduliNumbers, c0, this.#sums);
        });
        const c1 = products?.subarray(n * limbs * N, (n + 1) * limbs * N) ?? null;
        out.push(this.#finish(encryptor, c1, c0));
      });
    }
    return out;
  }

  /**
   * For tests and measurements only: the product Σ_k c_k · mask_k of one feature as it is before `#finish`, c1 in
   * full and c0 at the targets ([limb][target]) or, with `full`, everywhere (the slow way: a negacyclic shift of c0
   * per row). It shows every row's position to the key holder: never send it.
   */
  unprotectedProduct(
    blocks: readonly Uint8Array[],
    positions: readonly Uint8Array[],
    full: boolean,
  ): { c0: Float64Array; c1: Float64Array } {
    const prepared = this.prepareBlocks(blocks);
    const limbs = this.#limbs;
    const moduli = this.#s.data.moduliNumbers;
    const products = this.#productsOf(prepared, (k) => [positions[k]!]);
    const c1 = products?.slice(0, limbs * N) ?? new Float64Array(limbs * N);
    if (!full) {
      const c0 = new Float64Array(limbs * HISTOGRAM_POSITIONS);
      prepared.forEach((block, k) => {
        if (positions[k]!.length > 0) addTargetSums(block.c0, positions[k]!, moduli, c0, this.#sums);
      });
      return { c0, c1 };
    }
    const c0 = new Float64Array(limbs * N);
    prepared.forEach((block, k) => {
      positions[k]!.forEach((position, i) => {
        const shift = maskCoefficient(position, i);
        for (let l = 0; l < limbs; l++) {
          const q = moduli[l]!;
          for (let j = 0; j < N; j++) {
            const to = j + shift;
            const at = l * N + (to % N);
            const r = to < N ? c0[at]! + block.c0[l * N + j]! : c0[at]! - block.c0[l * N + j]!;
            c0[at] = r >= q ? r - q : r < 0 ? r + q : r;
          }
        }
      });
    });
    return { c0, c1 };
  }

  /** Frees the blocks kept from the last call (WebAssembly memory, about 200 KB a block). */
  release(): void {
    for (const block of this.#blocks.values()) block.c1.delete();
    this.#blocks = new Map();
  }

  /**
   * Σ over blocks of (the masks of `masksOf(k)`, one or two) · c1 of block k, as residues (mask n in polynomial n),
   * valid until the next call; null when no block has rows.
   */
  #productsOf(
    prepared: readonly PreparedBlock[],
    masksOf: (block: number) => Uint8Array[],
  ): Float64Array | null {
    const { context, evaluator, shapes } = this.#s;
    const words = this.#masks.words;
    const limbs = this.#limbs;
    let started = false;
    prepared.forEach((block, k) => {
      const masks = masksOf(k);
      // All masks of a block have its row count. An empty one: SEAL refuses a product by 0, and it adds nothing.
      if (masks[0]!.length === 0) return;
      for (let n = 0; n < 2; n++) {
        // One mask: it fills both polynomials (a zero polynomial would make the product transparent).
        const rows = masks[Math.min(n, masks.length - 1)]!;
        for (let l = 0; l < limbs; l++) {
          const base = 2 * (n * limbs + l) * N;
          for (let i = 0; i < rows.length; i++) words[base + 2 * maskCoefficient(rows[i]!, i)] = 1;
        }
      }
      this.#maskCt.loadArray(context, this.#masks.bytes());
      words.fill(0);
      evaluator.cipherTransformToNtt(this.#maskCt, this.#maskCt);
      try {
        if (!started) evaluator.multiplyPlain(this.#maskCt, block.c1, this.#sum);
        else {
          evaluator.multiplyPlain(this.#maskCt, block.c1, this.#product);
          evaluator.add(this.#sum, this.#product, this.#sum);
        }
      } catch {
        refuseCiphertext(`block ${k}: its products with the masks are transparent`);
      }
      started = true;
    });
    if (!started) return null;
    evaluator.cipherTransformFromNtt(this.#sum, this.#sum);
    return sealResidues(this.#sum.saveArray(this.#none), shapes.ciphertext, this.#products);
  }

  /**
   * One histogram from the products' c1 (null: none) and c0 at the targets ([limb][target], overwritten): plus a
   * fresh public-key encryption of zero, the targets flooded, on the wire.
   */
  #finish(encryptor: SealEncryptor, c1: Float64Array | null, c0: Float64Array): Uint8Array {
    const { data, shapes } = this.#s;
    const limbs = this.#limbs;
    encryptor.encryptZero(this.#zero);
    const zero = sealResidues(this.#zero.saveArray(this.#none), shapes.ciphertext, this.#zeroResidues);
    const out = this.#c1;
    for (let l = 0; l < limbs; l++) {
      const q = data.moduliNumbers[l]!;
      const base = l * N;
      for (let j = base; j < base + N; j++) {
        const r = zero[limbs * N + j]! + (c1 === null ? 0 : c1[j]!);
        out[j] = r >= q ? r - q : r;
      }
      TARGETS.forEach((k, b) => {
        const r = c0[l * HISTOGRAM_POSITIONS + b]! + zero[base + k]!;
        c0[l * HISTOGRAM_POSITIONS + b] = r >= q ? r - q : r;
      });
    }
    floodFirstPolynomial(c0, data.moduli, HISTOGRAM_POSITIONS, this.#floodBits);
    return writeHistogramObject(
      'histogram',
      this.#parameterId,
      data,
      [c0, out],
      undefined,
      HISTOGRAM_POSITIONS,
    );
  }

  /** Each block as `#prepare` makes it, reusing those of the last call; frees the others. */
  prepareBlocks(blocks: readonly Uint8Array[]): PreparedBlock[] {
    const now = new Map<string, PreparedBlock>();
    try {
      const prepared = blocks.map((bytes, k) => {
        const refuse = (reason: string): never => refuseCiphertext(`block ${k}: ${reason}`);
        if (!(bytes instanceof Uint8Array)) refuse('it is not a byte array');
        const hash = createHash('sha256').update(bytes).digest('hex');
        const block = now.get(hash) ?? this.#blocks.get(hash) ?? this.#prepare(bytes, refuse);
        now.set(hash, block);
        return block;
      });
      for (const [hash, block] of this.#blocks) if (!now.has(hash)) block.c1.delete();
      this.#blocks = now;
      return prepared;
    } catch (err) {
      for (const [hash, block] of now) if (!this.#blocks.has(hash)) block.c1.delete();
      throw err;
    }
  }

  /** A block's c0 residues and its c1 (expanded from the seed by SEAL) in NTT form, after every check. */
  #prepare(bytes: Uint8Array, refuse: (reason: string) => never): PreparedBlock {
    const { seal, context, evaluator, shapes, data } = this.#s;
    const {
      parts: [c0],
      seed,
    } = readHistogramObject(bytes, 'block', this.#parameterId, data, refuse);
    const ct = this.#loaded;
    try {
      ct.loadArray(context, sealBytesOf(shapes.block, c0!, seed));
    } catch {
      refuse('SEAL does not load it');
    }
    if (ct.size !== 2 || ct.isNttForm || ct.coeffModulusSize !== this.#limbs)
      refuse('SEAL loads it as another kind of ciphertext');
    evaluator.cipherTransformToNtt(ct, ct);
    const c1Bytes = sealPolynomialBytes(ct.saveArray(this.#none), shapes.nttCiphertext, 1);
    if (allZero(c1Bytes)) refuse('it is transparent (its second polynomial is zero)');
    const c1 = seal.PlainText();
    c1.loadArray(context, this.#nttPlainWriter.bytes(c1Bytes));
    return { c0: c0!, c1 };
  }

  /**
   * Checks, once when the suite starts, that the products computed here equal SEAL's multiplyPlain of the whole block
   * ciphertext by the mask plaintext: c1 in full and c0 at the targets, for `block` (a gradient block on the wire)
   * and rows at pseudo-random positions. Throws a plain Error otherwise (a node-seal upgrade that changed them).
   */
  checkAgainstSeal(block: Uint8Array): void {
    const { seal, context, evaluator, shapes, data } = this.#s;
    const limbs = this.#limbs;
    const positions = Uint8Array.from({ length: ROWS_PER_BLOCK }, (_, i) => (i * 7 + (i >> 3)) % 32);
    const [prepared] = this.prepareBlocks([block]);
    const c1 = this.#productsOf([prepared!], () => [positions])!.slice(0, limbs * N);
    const c0 = new Float64Array(limbs * HISTOGRAM_POSITIONS);
    addTargetSums(prepared!.c0, positions, data.moduliNumbers, c0, this.#sums);
    this.release();

    const {
      parts: [blockC0],
      seed,
    } = readHistogramObject(block, 'block', this.#parameterId, data, (reason) => {
      throw new Error(reason);
    });
    const ct = seal.CipherText();
    const mask = seal.PlainText({ coeffCount: N });
    try {
      ct.loadArray(context, sealBytesOf(shapes.block, blockC0!, seed));
      const coefficients = new BigUint64Array(N);
      positions.forEach((position, i) => {
        coefficients[maskCoefficient(position, i)] = 1n;
      });
      const maskBytes = mask.saveArray(this.#none);
      maskBytes.set(new Uint8Array(coefficients.buffer), maskBytes.length - 8 * N);
      mask.loadArray(context, maskBytes);
      evaluator.multiplyPlain(ct, mask, ct);
      const theirs = sealResidues(ct.saveArray(this.#none), shapes.ciphertext);
      for (let j = 0; j < limbs * N; j++)
        if (theirs[limbs * N + j] !== c1[j]) throw new Error("c1 · mask differs from SEAL's multiplyPlain");
      for (let l = 0; l < limbs; l++)
        TARGETS.forEach((k, b) => {
          if (theirs[l * N + k] !== c0[l * HISTOGRAM_POSITIONS + b])
            throw new Error("c0 · mask at the targets differs from SEAL's multiplyPlain");
        });
    } finally {
      ct.delete();
      mask.delete();
    }
  }
}
