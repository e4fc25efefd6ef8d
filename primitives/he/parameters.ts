/**
 * The fixed numbers of the homomorphic encryption parameter set, shared by the BFV suite and its plaintext stand-in
 * (which must not load WebAssembly, so t is written out here and the BFV suite checks it against SEAL). Why these
 * values: the header of `bfv.ts`.
 */
import { createHash } from 'node:crypto';

/** N, the polynomial modulus degree: x^N + 1. */
export const POLY_MODULUS_DEGREE = 8192;
/** Values per ciphertext: with batching, one per coefficient of the plaintext polynomial. */
export const SLOTS = POLY_MODULUS_DEGREE;
/** B: t is SEAL's PlainModulus.Batching(N, B), the largest B-bit prime with t ≡ 1 (mod 2N). */
export const PLAIN_MODULUS_BITS = 58;
/** t = PlainModulus.Batching(8192, 58) (≈ 2^58 − 2^19.7); the BFV suite refuses to start if SEAL disagrees. */
export const PLAIN_MODULUS = 288230376150876161n;
/**
 * Most input ciphertexts one `maskedInnerProducts` call sums: 65 536 rows, the largest training batch. The
 * decryption noise grows with the number of products summed; the flooding margin in `bfv.ts` is measured up to this
 * many. A longer column is split over several calls, each with its own mask.
 */
export const MAX_PRODUCT_CHUNKS = 8;
/** The statistical margin flooding must keep: 2^floodBits ≥ 2^40 × the noise bound. */
export const FLOODING_MARGIN_BITS = 40;
/** Version of the byte layout of ciphertexts and public keys (`wire.ts`); part of every parameter id. */
export const WIRE_FORMAT_VERSION = 1;

/** Hex SHA-256 of a canonical description: `[name, value]` pairs in a fixed order, serialized as JSON. */
export function parameterIdOf(description: readonly (readonly [string, string | number])[]): string {
  return createHash('sha256').update(JSON.stringify(description)).digest('hex');
}
