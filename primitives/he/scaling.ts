/**
 * Plaintext polynomials turned into RNS residues outside SEAL, where SEAL is slow because t (58 bits) is larger
 * than the primes (43 and 44 bits), so that it takes multi-precision paths.
 *
 * `PlainLifter`: the plaintext as Evaluator::transform_to_ntt lifts it before its NTT, each coefficient m in
 * [0, t) centred (m − t when m ≥ h, h = ⌊(t + 1)/2⌋) and reduced modulo each prime. SEAL does this with a
 * multi-precision decomposition costing about 1.2 ms per polynomial (0.2 ms here).
 *
 * `PlainScaler`: BFV's scaled plaintext: what SEAL's Encryptor::encrypt adds to an encryption of zero and
 * Evaluator::add_plain adds to a ciphertext (util::multiply_add_plain_with_scaling_variant), to the same residues.
 * SEAL divides a 128-bit number by t for every coefficient there, bit by bit, which in WebAssembly costs about 5 ms
 * per polynomial; this file does it in about 0.5 ms, so that the BFV suite can ask SEAL for an encryption of zero and
 * add the plaintext itself, to residues it holds anyway.
 *
 * For a plaintext coefficient m in [0, t) and the modulus q = Π q_j of the ciphertext's level, SEAL adds to c0, in
 * every limb j,
 *
 *     ⌊q/t⌋·m + ⌊((q mod t)·m + h) / t⌋ = ⌊(q·m + h) / t⌋,   h = ⌊(t + 1) / 2⌋,
 *
 * modulo q_j. Write s = (q·m + h) mod t = ((q mod t)·m + h) mod t: then ⌊(q·m + h)/t⌋ = (q·m + h − s)/t, and modulo
 * q_j, where q·m vanishes, that is (h − s)·t⁻¹. So per coefficient: s, from m in 32-bit halves m1·2^32 + m0 as
 * m1·(2^32·q mod t) + m0·(q mod t) + h modulo t (`mulModWide`), and per limb h·t⁻¹ − s·t⁻¹ mod q_j with s in
 * 32-bit halves too (`mulMod32`). The unit tests check this against SEAL's own addPlain, residue for residue.
 */
import { HIGH_WORD, LOW_WORD } from './cipher.js';
import {
  type Modulus,
  modulusOf,
  mulMod32,
  mulModWide,
  multiplierOf,
  type WideModulus,
  type WideMultiplier,
  wideModulusOf,
  wideMultiplierOf,
} from './modular.js';

interface Limb {
  readonly modulus: Modulus;
  /** h·t⁻¹ mod q_j. */
  readonly halfOverT: number;
  /** t⁻¹ and 2^32·t⁻¹ mod q_j, for the low and high halves of s. */
  readonly inverseT: number;
  readonly inverseTLow: number;
  readonly highOverT: number;
  readonly highOverTLow: number;
}

/** x⁻¹ mod a prime p. */
function inverse(x: bigint, p: bigint): bigint {
  let result = 1n;
  let base = ((x % p) + p) % p;
  for (let e = p - 2n; e > 0n; e >>= 1n) {
    if (e & 1n) result = (result * base) % p;
    base = (base * base) % p;
  }
  return result;
}

/** Adds SEAL's scaled plaintext, at one modulus level, to the first polynomial of a ciphertext's residues. */
export class PlainScaler {
  readonly #degree: number;
  readonly #t: WideModulus;
  readonly #halfHigh: number;
  readonly #halfLow: number;
  /** q mod t and 2^32·q mod t, for the low and high halves of m. */
  readonly #qModT: WideMultiplier;
  readonly #highQModT: WideMultiplier;
  readonly #limbs: readonly Limb[];
  /** s for each coefficient and its two products, as 32-bit words (low word first). */
  readonly #sWords: Uint32Array;
  readonly #products = new Uint32Array(4);

  constructor(moduli: readonly bigint[], t: bigint, degree: number) {
    this.#degree = degree;
    this.#t = wideModulusOf(t);
    const half = (t + 1n) / 2n;
    this.#halfHigh = Number(half >> 32n);
    this.#halfLow = Number(half & 0xffff_ffffn);
    const qModT = moduli.reduce((a, b) => a * b, 1n) % t;
    this.#qModT = wideMultiplierOf(qModT, t);
    this.#highQModT = wideMultiplierOf(qModT << 32n, t);
    this.#limbs = moduli.map((q) => {
      const modulus = modulusOf(q);
      const tInverse = inverse(t, q);
      const inverseT = multiplierOf(tInverse, modulus);
      const highOverT = multiplierOf((tInverse << 32n) % q, modulus);
      return {
        modulus,
        halfOverT: Number((half * tInverse) % q),
        inverseT: inverseT.b,
        inverseTLow: inverseT.bLow,
        highOverT: highOverT.b,
        highOverTLow: highOverT.bLow,
      };
    });
    this.#sWords = new Uint32Array(2 * degree);
  }

  /**
   * residues[j·degree + i] += ⌊(q·plain[i] + h) / t⌋ mod q_j for every limb j and coefficient i < plain.length
   * (plain: coefficients in [0, t); residues: limbs of polynomial 0 first, as SEAL stores a ciphertext).
   */
  addTo(residues: Float64Array, plain: BigUint64Array): void {
    const degree = this.#degree;
    if (plain.length > degree || residues.length < this.#limbs.length * degree)
      throw new RangeError('plaintext or residues of another size');
    const t = this.#t;
    const m = new Uint32Array(plain.buffer, plain.byteOffset, 2 * plain.length);
    const words = this.#sWords;
    const products = this.#products;
    for (let i = 0; i < plain.length; i++) {
      mulModWide(m[2 * i + LOW_WORD]!, this.#qModT, t, products, 0);
      mulModWide(m[2 * i + HIGH_WORD]!, this.#highQModT, t, products, 2);
      // s = both products + h, below 3t < 2^62: the high word stays below 2^31.
      let low = products[0]! + products[2]! + this.#halfLow;
      const carry = Math.floor(low / 0x1_0000_0000);
      low -= carry * 0x1_0000_0000;
      let high = products[1]! + products[3]! + this.#halfHigh + carry;
      for (let n = 0; n < 2 && (high > t.high || (high === t.high && low >= t.low)); n++) {
        low -= t.low;
        high -= t.high;
        if (low < 0) {
          low += 0x1_0000_0000;
          high--;
        }
      }
      words[2 * i] = low;
      words[2 * i + 1] = high;
    }
    for (let j = 0; j < this.#limbs.length; j++) {
      const { modulus, halfOverT, inverseT, inverseTLow, highOverT, highOverTLow } = this.#limbs[j]!;
      const { q, qLow, qInverse } = modulus;
      const base = j * degree;
      for (let i = 0; i < plain.length; i++) {
        let r =
          residues[base + i]! +
          halfOverT -
          mulMod32(words[2 * i]!, inverseT, inverseTLow, q, qLow, qInverse) -
          mulMod32(words[2 * i + 1]!, highOverT, highOverTLow, q, qLow, qInverse);
        // r is in (−2q, 2q).
        if (r < 0) {
          r += q;
          if (r < 0) r += q;
        } else if (r >= q) {
          r -= q;
          if (r >= q) r -= q;
        }
        residues[base + i] = r;
      }
    }
  }
}

/** Writes SEAL's centred lift of a plaintext (see the file header) as residues modulo the primes of one level. */
export class PlainLifter {
  readonly #degree: number;
  readonly #halfHigh: number;
  readonly #halfLow: number;
  readonly #limbs: readonly { modulus: Modulus; pow32: number; pow32Low: number; tModQ: number }[];

  constructor(moduli: readonly bigint[], t: bigint, degree: number) {
    if (t < 2n || t >= 1n << 64n) throw new RangeError('t must be in [2, 2^64)');
    const half = (t + 1n) / 2n;
    this.#degree = degree;
    this.#halfHigh = Number(half >> 32n);
    this.#halfLow = Number(half & 0xffff_ffffn);
    this.#limbs = moduli.map((q) => {
      const modulus = modulusOf(q);
      const pow32 = multiplierOf(1n << 32n, modulus);
      return { modulus, pow32: pow32.b, pow32Low: pow32.bLow, tModQ: Number(t % q) };
    });
  }

  /**
   * The lift of `plain` (degree coefficients in [0, t)), limb j into residues from + j·degree .. of `words`, each
   * as two 32-bit words (low first), as `SealWriter` takes them.
   */
  liftInto(plain: BigUint64Array, words: Uint32Array, from: number): void {
    const degree = this.#degree;
    if (plain.length !== degree || words.length < 2 * (from + this.#limbs.length * degree))
      throw new RangeError('plaintext or words of another size');
    const halves = new Uint32Array(plain.buffer, plain.byteOffset, 2 * degree);
    const halfHigh = this.#halfHigh;
    const halfLow = this.#halfLow;
    for (let j = 0; j < this.#limbs.length; j++) {
      const { modulus, pow32, pow32Low, tModQ } = this.#limbs[j]!;
      const { q, qLow, qInverse } = modulus;
      let w = 2 * (from + j * degree);
      for (let i = 0; i < degree; i++, w += 2) {
        const low = halves[2 * i + LOW_WORD]!;
        const high = halves[2 * i + HIGH_WORD]!;
        // m mod q, then minus t when m ≥ h (compared in words: m may have more than 53 bits).
        let r = mulMod32(high, pow32, pow32Low, q, qLow, qInverse) + low;
        if (r >= q) r -= q;
        if (high > halfHigh || (high === halfHigh && low >= halfLow)) {
          r -= tModQ;
          if (r < 0) r += q;
        }
        const rLow = r >>> 0;
        words[w] = rLow;
        words[w + 1] = (r - rLow) / 0x1_0000_0000;
      }
    }
  }
}
