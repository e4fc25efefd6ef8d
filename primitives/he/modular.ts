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
  return { q: value, qLow: value % 2 ** 32 | 0, qInverse: 1 / value };
}

/** A constant multiplier b < q for `mulMod32`, with b modulo 2^32 precomputed. */
export interface Multiplier {
  readonly b: number;
  readonly bLow: number;
}

export function multiplierOf(b: bigint, modulus: Modulus): Multiplier {
  const value = Number(((b % BigInt(modulus.q)) + BigInt(modulus.q)) % BigInt(modulus.q));
  return { b: value, bLow: value % 2 ** 32 | 0 };
}

/** a · b mod q, exactly, for an integer a in [0, 2^32] and b in [0, q) (see the file header). */
export function mulMod32(a: number, b: number, bLow: number, q: number, qLow: number, qInverse: number): number {
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
