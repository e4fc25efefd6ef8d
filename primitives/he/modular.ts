/**
 * Exact arithmetic modulo the RNS primes of the BFV suite (below 2^45) on JavaScript numbers, without BigInt: what the
 * BFV suite does to residues outside SEAL (noise flooding, `flooding.ts`; adding a scaled plaintext, `scaling.ts`)
 * runs over every coefficient of a polynomial, and BigInt arithmetic there costs milliseconds per polynomial.
 *
 * Residues are doubles holding integers below q < 2^45, so sums of a few of them stay exact (below 2^53). A product
 * a·b does not, and `mulMod32` computes it modulo q anyway, for a < 2^32 and b < q: the quotient k = ⌊a·b/q⌋ from
 * floating point is exact or off by one (a·b/q < 2^32, computed with a relative error of a few 2^-53), so the
 * remainder r = a·b − k·q lies in [−q, 2q). Floating point gives r up to the rounding of the two products, each
 * below 2^24 in absolute value (a·b, k·q < 2^77), so |r_float − r| < 2^25; Math.imul gives r modulo 2^32 exactly;
 * and a number known to within 2^31 and modulo 2^32 is known exactly. (The subtraction a·b − k·q of the two rounded
 * products is exact: both are integers, and either both are below 2^53 or they are within a factor 2 of each
 * other.)
 */

/** The largest prime handled: residue sums and the error bound above need q < 2^45. */
export const MAX_MODULUS = 2 ** 45;

/** A prime q with the constants `mulMod32` needs. */
export interface Modulus {
  readonly q: number;
  /** q modulo 2^32, as Math.imul takes it. */
  readonly qLow: number;
  /** 1 / q, rounded. */
  readonly qInverse: number;
}

export function modulusOf(q: bigint | number): Modulus {
  const value = Number(q);
  if (!Number.isSafeInteger(value) || value < 2 || value >= MAX_MODULUS)
    throw new RangeError('a modulus must be an integer in [2, 2^45)');
  return { q: value, qLow: (value % 2 ** 32) | 0, qInverse: 1 / value };
}

/** A constant multiplier b < q for `mulMod32`, with b modulo 2^32 precomputed. */
export interface Multiplier {
  readonly b: number;
  readonly bLow: number;
}

export function multiplierOf(b: bigint, modulus: Modulus): Multiplier {
  const value = Number(((b % BigInt(modulus.q)) + BigInt(modulus.q)) % BigInt(modulus.q));
  return { b: value, bLow: (value % 2 ** 32) | 0 };
}

/** a · b mod q, exactly, for an integer a in [0, 2^32] and b in [0, q) (see the file header). */
export function mulMod32(
  a: number,
  b: number,
  bLow: number,
  q: number,
  qLow: number,
  qInverse: number,
): number {
  const product = a * b;
  const k = Math.floor(product * qInverse);
  const approximate = product - k * q;
  // r modulo 2^32 from the exact low words, then the difference to the approximation, which is below 2^31.
  const low = (Math.imul(a, bLow) - Math.imul(k, qLow)) | 0;
  let r = approximate + ((low - (approximate | 0)) | 0);
  if (r < 0) r += q;
  else if (r >= q) r -= q;
  return r;
}

/**
 * A modulus t < 2^61 wider than a double holds exactly (BFV's plain modulus has 58 bits), for `mulModWide`, which
 * keeps numbers modulo t as two 32-bit words. Its quotient estimate has the same precision as `mulMod32`'s, and the
 * remainder, below 2^62 in absolute value, is computed exactly modulo 2^64 from 32 × 32-bit products: the low word
 * of a product by Math.imul, the high word as the rounded (x·y − low) / 2^32, whose floating-point error is below
 * 2^12 / 2^32.
 */
export interface WideModulus {
  readonly high: number;
  readonly low: number;
  readonly inverse: number;
}

export function wideModulusOf(t: bigint): WideModulus {
  if (t < 2n || t >= 1n << 61n) throw new RangeError('a wide modulus must be in [2, 2^61)');
  return { high: Number(t >> 32n), low: Number(t & 0xffff_ffffn), inverse: 1 / Number(t) };
}

/** A constant c < t for `mulModWide`. */
export interface WideMultiplier {
  readonly high: number;
  readonly low: number;
  readonly approximate: number;
}

export function wideMultiplierOf(c: bigint, t: bigint): WideMultiplier {
  const value = ((c % t) + t) % t;
  return { high: Number(value >> 32n), low: Number(value & 0xffff_ffffn), approximate: Number(value) };
}

const TWO_32 = 0x1_0000_0000;

/** x·y for x, y < 2^32 + 1: the high 32 bits (possibly 2^32 when x = 2^32), the low ones being Math.imul's. */
function productHigh(x: number, y: number, low: number): number {
  return Math.round((x * y - low) / TWO_32);
}

/**
 * x·c mod t for an integer x in [0, 2^32): the low word into out[at], the high word into out[at + 1].
 */
export function mulModWide(x: number, c: WideMultiplier, t: WideModulus, out: Uint32Array, at: number): void {
  const k = Math.floor(x * c.approximate * t.inverse);
  // x·c − k·t modulo 2^64, word by word: x·c.low + 2^32·x·c.high, minus the same for k and t.
  const xcLow = Math.imul(x, c.low) >>> 0;
  const xcHigh = productHigh(x, c.low, xcLow) + Math.imul(x, c.high);
  const ktLow = Math.imul(k, t.low) >>> 0;
  const ktHigh = productHigh(k, t.low, ktLow) + Math.imul(k, t.high);
  let low = xcLow - ktLow;
  let high = (xcHigh - ktHigh - (low < 0 ? 1 : 0)) | 0;
  low >>>= 0;
  // The remainder is in [−t, 2t): high as a signed word is exact. Bring it into [0, t).
  if (high < 0) {
    low += t.low;
    high += t.high + (low >= TWO_32 ? 1 : 0);
    low >>>= 0;
  } else if (high > t.high || (high === t.high && low >= t.low)) {
    low -= t.low;
    high -= t.high + (low < 0 ? 1 : 0);
    low >>>= 0;
  }
  out[at] = low;
  out[at + 1] = high;
}
