/**
 * Noise flooding: adding to polynomial c0 of a BFV ciphertext a polynomial e whose coefficients are independent and
 * uniform in [-2^F, 2^F), so that the decryption noise v + e says (statistically) nothing about v. The BFV suite
 * (`bfv.ts`) picks F and gives the argument; this file only draws e and adds it to every RNS limb: the residue of e
 * modulo prime q_i goes into limb i, which is the same as adding the integer polynomial e modulo q = Π q_i.
 *
 * The interval is half open (2^(F+1) integers) so that a draw is exactly F + 1 random bits and needs no rejection.
 * A draw x = e + 2^F in [0, 2^(F+1)) is three random 32-bit words, x = x2·2^64 + x1·2^32 + x0, with the bits
 * above F cleared, reduced modulo each prime without BigInt (`mulMod32` for x2·(2^64 mod q) and x1·(2^32 mod q)).
 */
import { randomFillSync } from 'node:crypto';
import { type Modulus, modulusOf, mulMod32, multiplierOf } from './modular.js';

/** Narrowest F handled: x0 is whole. */
const MIN_FLOOD_BITS = 32;
/** Widest F handled: x2 has at most 31 bits. */
const MAX_FLOOD_BITS = 94;

/** Per prime: q and the constants the reduction of a draw needs. */
interface Limb {
  readonly modulus: Modulus;
  readonly pow32: number;
  readonly pow32Low: number;
  readonly pow64: number;
  readonly pow64Low: number;
  /** 2^F mod q: a draw is x − 2^F. */
  readonly offset: number;
}

const limbCache = new Map<string, readonly Limb[]>();
/** The draws, reused: filled by the CSPRNG on every call and zeroed after it. */
let scratch = new Uint32Array(0);

function limbsOf(moduli: readonly bigint[], floodBits: number): readonly Limb[] {
  const key = `${floodBits}:${moduli.join(',')}`;
  let limbs = limbCache.get(key);
  if (!limbs) {
    limbs = moduli.map((q) => {
      const modulus = modulusOf(q);
      const pow32 = multiplierOf(1n << 32n, modulus);
      const pow64 = multiplierOf(1n << 64n, modulus);
      return {
        modulus,
        pow32: pow32.b,
        pow32Low: pow32.bLow,
        pow64: pow64.b,
        pow64Low: pow64.bLow,
        offset: Number((1n << BigInt(floodBits)) % q),
      };
    });
    limbCache.set(key, limbs);
  }
  return limbs;
}

/**
 * Adds e, coefficients uniform in [-2^floodBits, 2^floodBits) from the OS CSPRNG, to polynomial 0 of `residues`
 * (laid out [polynomial][prime][coefficient], as SEAL stores a ciphertext), in place, modulo each of `moduli`.
 */
export function floodFirstPolynomial(
  residues: Float64Array,
  moduli: readonly bigint[],
  degree: number,
  floodBits: number,
): void {
  if (!Number.isInteger(floodBits) || floodBits < MIN_FLOOD_BITS || floodBits > MAX_FLOOD_BITS)
    throw new RangeError(`floodBits must be an integer in [${MIN_FLOOD_BITS}, ${MAX_FLOOD_BITS}]`);
  if (residues.length < moduli.length * degree) throw new RangeError('residues hold fewer limbs than moduli');
  const limbs = limbsOf(moduli, floodBits);
  if (scratch.length !== 3 * degree) scratch = new Uint32Array(3 * degree);
  const words = randomFillSync(scratch);
  // Keep F + 1 bits: all of x0, and of x1 and x2 what is below bit F + 1 (masks below 2^31, so & stays positive).
  const bits = floodBits + 1;
  if (bits < 64) for (let j = 1; j < words.length; j += 3) words[j]! &= 2 ** (bits - 32) - 1;
  const topMask = bits > 64 ? 2 ** (bits - 64) - 1 : 0;
  for (let j = 2; j < words.length; j += 3) words[j]! &= topMask;
  for (let i = 0; i < limbs.length; i++) {
    const { modulus, pow32, pow32Low, pow64, pow64Low, offset } = limbs[i]!;
    const { q, qLow, qInverse } = modulus;
    const base = i * degree;
    for (let j = 0; j < degree; j++) {
      // Each term is below q or 2^32: the sum is exact, and so is its reduction.
      let r =
        mulMod32(words[3 * j + 2]!, pow64, pow64Low, q, qLow, qInverse) +
        mulMod32(words[3 * j + 1]!, pow32, pow32Low, q, qLow, qInverse) +
        words[3 * j]! -
        offset +
        residues[base + j]!;
      r -= Math.floor(r * qInverse) * q;
      if (r < 0) r += q;
      else if (r >= q) r -= q;
      residues[base + j] = r;
    }
  }
  words.fill(0);
}
