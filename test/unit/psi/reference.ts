/**
 * An independent reference for the PSI primitives, built only from @noble/curves and @noble/hashes (pure JS, no
 * shared code with primitives/psi): RFC 9380 hash_to_field, noble's RFC 9380 Elligator 2 map for curve25519, and noble's
 * X25519. Slow; for tests and for checking generated vectors.
 */
import { _map_to_curve_elligator2_curve25519, ed25519, x25519 } from '@noble/curves/ed25519.js';
import { hash_to_field } from '@noble/curves/abstract/hash-to-curve.js';
import { invert, mod, pow } from '@noble/curves/abstract/modular.js';
import { sha512 } from '@noble/hashes/sha2.js';

export const P = 2n ** 255n - 19n;

export function refHashToField(msg: Uint8Array, dst: Uint8Array): bigint {
  return hash_to_field(msg, 1, { DST: dst, p: P, m: 1, k: 128, expand: 'xmd', hash: sha512 })[0]![0]!;
}

export function refMapToU(u: bigint): bigint {
  const { xMn, xMd } = _map_to_curve_elligator2_curve25519(u);
  return mod(xMn * invert(xMd, P), P);
}

export function refEncodeToU(msg: Uint8Array, dst: Uint8Array): bigint {
  return refMapToU(refHashToField(msg, dst));
}

/** χ(u^3 + A u^2 + u) != -1: u = 0 (f = 0, the point of order 2) counts as on the curve. */
export function isOnCurve(u: bigint): boolean {
  const f = mod(u * u * u + 486662n * u * u + u, P);
  return f === 0n || pow(f, (P - 1n) / 2n, P) === 1n;
}

export function uToBytes(u: bigint): Buffer {
  return Buffer.from(u.toString(16).padStart(64, '0'), 'hex').reverse();
}

export function bytesToU(b: Uint8Array): bigint {
  return BigInt('0x' + Buffer.from(b).reverse().toString('hex'));
}

export function refX25519(secret: Uint8Array, point: Uint8Array): Buffer {
  return Buffer.from(x25519.scalarMult(secret, point));
}

/**
 * True when the X25519 u-coordinate is a point of the prime-order subgroup (what every blinded value is, since
 * X25519 clamps scalars to multiples of 8): mapped to Edwards, y = (u - 1) / (u + 1), then checked torsion-free with
 * noble. A point off the curve, of small order, or with a small-order component is not.
 */
export function isInPrimeOrderSubgroup(point: Uint8Array): boolean {
  const u = bytesToU(point);
  if (u >= P || !isOnCurve(u) || mod(u + 1n, P) === 0n) return false;
  const y = mod((u - 1n) * invert(u + 1n, P), P);
  try {
    const edwards = ed25519.Point.fromBytes(Uint8Array.from(uToBytes(y)));
    return !edwards.isSmallOrder() && edwards.isTorsionFree();
  } catch {
    return false;
  }
}
