/**
 * Modular exponentiation in GF(2^255 - 19) by OpenSSL, reached through raw RSA.
 *
 * "RSA encryption" without padding is just m^e mod n. With n set to the prime p (not an RSA modulus at all) and e
 * chosen freely, `publicEncrypt` becomes a native constant-exponent modexp: ~55 000/s here, against ~4 000/s for
 * BigInt square-and-multiply. The exponents are public constants. The bases are hashes of identifiers; OpenSSL's
 * public-key modexp is not hardened against timing, but neither is any BigInt arithmetic in this package, and the
 * secret of the protocol (the X25519 scalar) never goes through here.
 *
 * OpenSSL only requires e < n, and caps e at 64 bits only for moduli above 3072 bits, so these 255-bit "keys" with
 * 255-bit exponents load. A self-test at load time checks the trick against BigInt arithmetic, in case a future
 * OpenSSL tightens that.
 */
import crypto from 'node:crypto';
import { P, toBytesBE } from './field25519.js';

function rsaKey(exponent: bigint): crypto.KeyObject {
  const b64 = (x: bigint) => toBytesBE(x).toString('base64url');
  return crypto.createPublicKey({ key: { kty: 'RSA', n: b64(P), e: b64(exponent) }, format: 'jwk' });
}

// a^((p+1)/2) = a * a^((p-1)/2) = a * χ(a): comparing with a gives the Legendre symbol without a second step.
const LEGENDRE_KEY = rsaKey((P + 1n) / 2n);
// a^(p-2) = a^-1 (Fermat); p - 2 is odd, as an RSA exponent must be.
const INVERSE_KEY = rsaKey(P - 2n);

function rawRsa(key: crypto.KeyObject, be32: Buffer): Buffer {
  return crypto.publicEncrypt({ key, padding: crypto.constants.RSA_NO_PADDING }, be32);
}

/**
 * Legendre symbol χ(a) for a given as 32 big-endian bytes, already reduced (< p): 1 for a non-zero square, -1 for a
 * non-square, 0 for zero.
 */
export function legendreBE(be32: Buffer): -1 | 0 | 1 {
  const r = rawRsa(LEGENDRE_KEY, be32);
  if (r.equals(be32)) return r.every((x) => x === 0) ? 0 : 1;
  return -1;
}

export function legendre(a: bigint): -1 | 0 | 1 {
  return legendreBE(toBytesBE(a));
}

/** a^-1 mod p for 0 < a < p. */
export function invert(a: bigint): bigint {
  const r = rawRsa(INVERSE_KEY, toBytesBE(a));
  return BigInt('0x' + r.toString('hex'));
}

function selfTest(): void {
  const slowPow = (b: bigint, e: bigint) => {
    let r = 1n;
    let x = b % P;
    for (let k = e; k > 0n; k >>= 1n) {
      if (k & 1n) r = (r * x) % P;
      x = (x * x) % P;
    }
    return r;
  };
  for (const a of [2n, 3n, 5n, 486662n, P - 1n, (P * 7n) / 11n]) {
    const expect = slowPow(a, (P - 1n) / 2n) === 1n ? 1 : -1;
    if (legendre(a) !== expect || (invert(a) * a) % P !== 1n) {
      throw new Error(
        'native modexp self-test failed: OpenSSL no longer accepts the raw-RSA exponentiation trick',
      );
    }
  }
}
selfTest();
