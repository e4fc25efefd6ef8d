/**
 * Independent references for the secure-aggregation known-answer vectors: AES-256-CTR built from single-block
 * AES-256-ECB with an explicit 128-bit big-endian counter, Shamir evaluation by plain BigInt arithmetic, and the
 * RFC 7748 section 6.1 X25519 test keys.
 */
import { createCipheriv, createHash } from 'node:crypto';

export const P521 = (1n << 521n) - 1n;

/** The RFC 7748 section 6.1 key pairs and their shared secret. */
export const RFC7748 = {
  alicePrivate: '77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a',
  alicePublic: '8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a',
  bobPrivate: '5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb',
  bobPublic: 'de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f',
  shared: '4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742',
} as const;

/** AES-256-CTR keystream of `bytes` bytes: E_k(IV), E_k(IV + 1), ... with IV = SHA-256(label)[0..16]. */
export function refKeystream(seed: Uint8Array, label: string, bytes: number): Buffer {
  let counter = BigInt(
    `0x${createHash('sha256').update(label, 'utf8').digest().subarray(0, 16).toString('hex')}`,
  );
  const blocks: Buffer[] = [];
  for (let done = 0; done < bytes; done += 16) {
    const block = Buffer.from(counter.toString(16).padStart(32, '0'), 'hex');
    const ecb = createCipheriv('aes-256-ecb', seed, null).setAutoPadding(false);
    blocks.push(Buffer.concat([ecb.update(block), ecb.final()]));
    counter = (counter + 1n) & ((1n << 128n) - 1n);
  }
  return Buffer.concat(blocks).subarray(0, bytes);
}

/** Little-endian u32 lanes of a keystream. */
export function refLanes(seed: Uint8Array, label: string, lanes: number): number[] {
  const ks = refKeystream(seed, label, lanes * 4);
  return Array.from({ length: lanes }, (_, i) => ks.readUInt32LE(4 * i));
}

/** f(x) mod p for f = secret + sum_k coefficients[k-1] x^k, as 66 big-endian bytes after u32be x. */
export function refShare(secret: Uint8Array, coefficients: readonly bigint[], x: number): string {
  let y = BigInt(`0x${Buffer.from(secret).toString('hex')}`);
  let power = 1n;
  for (const c of coefficients) {
    power = (power * BigInt(x)) % P521;
    y = (y + c * power) % P521;
  }
  return x.toString(16).padStart(8, '0') + y.toString(16).padStart(132, '0');
}

/** Lagrange interpolation of points (x, y) at `at`, mod p. */
export function refInterpolate(points: readonly { x: bigint; y: bigint }[], at: bigint): bigint {
  const mod = (v: bigint) => ((v % P521) + P521) % P521;
  const pow = (b: bigint, e: bigint): bigint => {
    let r = 1n;
    let base = mod(b);
    for (let k = e; k > 0n; k >>= 1n) {
      if (k & 1n) r = (r * base) % P521;
      base = (base * base) % P521;
    }
    return r;
  };
  let total = 0n;
  for (const [i, pi] of points.entries()) {
    let num = 1n;
    let den = 1n;
    for (const [j, pj] of points.entries()) {
      if (i === j) continue;
      num = mod(num * (at - pj.x));
      den = mod(den * (pi.x - pj.x));
    }
    total = mod(total + pi.y * num * pow(den, P521 - 2n));
  }
  return total;
}
