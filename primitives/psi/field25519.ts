/**
 * Arithmetic helpers for GF(p), p = 2^255 - 19, the field of Curve25519 (RFC 7748 section 4.1).
 *
 * BigInt is used for the cheap steps (a multiplication is ~0.3 µs); the exponentiations that dominate hashing and
 * validation go to OpenSSL through `native-modexp.ts`.
 */

export const P = (1n << 255n) - 19n;
/** Montgomery coefficient A of Curve25519: v^2 = u^3 + A u^2 + u. */
export const A = 486662n;

export function mod(a: bigint): bigint {
  const r = a % P;
  return r < 0n ? r + P : r;
}

/** Right-hand side of the curve equation, f(u) = u^3 + A u^2 + u = u (u (u + A) + 1). */
export function curveRhs(u: bigint): bigint {
  return (u * ((u * (u + A) + 1n) % P)) % P;
}

/** 32-byte big-endian encoding (the input format of the native exponentiation). */
export function toBytesBE(a: bigint): Buffer {
  return Buffer.from(a.toString(16).padStart(64, '0'), 'hex');
}

/** Writes `a` (< 2^256) as 32 little-endian bytes, the X25519 wire format (RFC 7748 section 5). */
export function writeLE(a: bigint, out: Buffer, offset: number): void {
  out.write(a.toString(16).padStart(64, '0'), offset, 32, 'hex');
  out.subarray(offset, offset + 32).reverse();
}

/** Reads 32 little-endian bytes as an integer, without reducing or masking the top bit. */
export function readLE(b: Buffer, offset: number): bigint {
  return (
    b.readBigUInt64LE(offset) |
    (b.readBigUInt64LE(offset + 8) << 64n) |
    (b.readBigUInt64LE(offset + 16) << 128n) |
    (b.readBigUInt64LE(offset + 24) << 192n)
  );
}
