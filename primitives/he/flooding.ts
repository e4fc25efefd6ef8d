/**
 * Noise flooding: adding to polynomial c0 of a BFV ciphertext a polynomial e whose coefficients are independent and
 * uniform in [-2^F, 2^F), so that the decryption noise v + e says (statistically) nothing about v. The BFV suite
 * (`bfv.ts`) picks F and gives the argument; this file only draws e and adds it to every RNS limb: the residue of e
 * modulo prime q_i goes into limb i, which is the same as adding the integer polynomial e modulo q = Π q_i.
 *
 * The interval is half open (2^(F+1) integers) so that a draw is exactly F + 1 random bits and needs no rejection.
 */
import { randomBytes } from 'node:crypto';

/** Widest F handled: a draw is read from two 64-bit words. */
const MAX_FLOOD_BITS = 127;

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
  if (!Number.isInteger(floodBits) || floodBits < 1 || floodBits > MAX_FLOOD_BITS)
    throw new RangeError(`floodBits must be an integer in [1, ${MAX_FLOOD_BITS}]`);
  if (residues.length < moduli.length * degree) throw new RangeError('residues hold fewer limbs than moduli');
  const offset = 1n << BigInt(floodBits);
  const keep = (1n << BigInt(floodBits + 1)) - 1n;
  const draws = randomBytes(16 * degree);
  const words = new BigUint64Array(draws.buffer, draws.byteOffset, 2 * degree);
  const limbs = moduli.map((q) => ({ q, qNumber: Number(q) }));
  for (let j = 0; j < degree; j++) {
    const e = (((words[2 * j + 1]! << 64n) | words[2 * j]!) & keep) - offset;
    for (let i = 0; i < limbs.length; i++) {
      const { q, qNumber } = limbs[i]!;
      let r = e % q;
      if (r < 0n) r += q;
      const at = i * degree + j;
      const sum = residues[at]! + Number(r);
      residues[at] = sum >= qNumber ? sum - qNumber : sum;
    }
  }
}
