/**
 * Noise flooding: adding to polynomial c0 of a BFV ciphertext a polynomial e whose coefficients are independent and
 * uniform in [-2^F, 2^F), so that the decryption noise v + e says (statistically) nothing about v. The BFV suite
 * (`bfv.ts`) picks F and gives the argument; this file only draws e and adds it to every RNS limb: the residue of e
 * modulo prime q_i goes into limb i, which is the same as adding the integer polynomial e modulo q = Π q_i.
 *
 * The interval is half open (2^(F+1) integers) so that a draw is exactly F + 1 random bits and needs no rejection.
 * A draw x = e + 2^F in [0, 2^(F+1)) is read as three words, x = x2·2^64 + x1·2^32 + x0 (x2 < 2^(F−63)), and
 * reduced modulo each prime without BigInt: x2·(2^64 mod q) is exact in a double (below 2^52), x1·(2^32 mod q) goes
 * through `mulMod32`.
 */
import { randomBytes } from 'node:crypto';
import { type Modulus, modulusOf, mulMod32, multiplierOf } from './modular.js';

/** Widest F handled: x2 (F − 63 bits) times a residue below 2^45 must stay below 2^52. */
export const MAX_FLOOD_BITS = 70;
/** Narrowest F handled: x has at least 65 bits, so x2 is never empty. */
const MIN_FLOOD_BITS = 64;
/** Bytes of randomness per coefficient: x0 and x1, then x2. */
const DRAW_BYTES = 12;

/** Per prime: q and the constants the reduction of a draw needs. */
interface Limb {
  readonly modulus: Modulus;
  readonly pow32: number;
  readonly pow32Low: number;
  readonly pow64: number;
  /** 2^F mod q: a draw is x − 2^F. */
  readonly offset: number;
}

const limbCache = new Map<string, readonly Limb[]>();

function limbsOf(moduli: readonly bigint[], floodBits: number): readonly Limb[] {
  const key = `${floodBits}:${moduli.join(',')}`;
  let limbs = limbCache.get(key);
  if (!limbs) {
    limbs = moduli.map((q) => {
      const modulus = modulusOf(q);
      const pow32 = multiplierOf(1n << 32n, modulus);
      return {
        modulus,
        pow32: pow32.b,
        pow32Low: pow32.bLow,
        pow64: Number((1n << 64n) % q),
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
  const draws = randomBytes(DRAW_BYTES * degree);
  const words = new Uint32Array(draws.buffer, draws.byteOffset, 3 * degree);
  const topMask = 2 ** (floodBits + 1 - 64) - 1;
  for (let i = 0; i < limbs.length; i++) {
    const { modulus, pow32, pow32Low, pow64, offset } = limbs[i]!;
    const { q, qLow, qInverse } = modulus;
    const base = i * degree;
    for (let j = 0; j < degree; j++) {
      const x0 = words[3 * j]!;
      const x1 = words[3 * j + 1]!;
      const x2 = words[3 * j + 2]! & topMask;
      // Below 2^52 + 2q + 2^32 < 2^53: exact.
      let r = x2 * pow64 + mulMod32(x1, pow32, pow32Low, q, qLow, qInverse) + x0 - offset + residues[base + j]!;
      r -= Math.floor(r * qInverse) * q;
      if (r < 0) r += q;
      else if (r >= q) r -= q;
      residues[base + j] = r;
    }
  }
}
