/**
 * Shamir secret sharing (Shamir, "How to share a secret", CACM 1979) of 32-byte secrets over GF(p), p = 2^521 - 1 (a
 * Mersenne prime, so every 256-bit secret is a field element and reduction is cheap).
 *
 * split: f(X) = secret + a_1 X + ... + a_{t-1} X^{t-1} with a_k uniform in GF(p) (rejection-sampled from
 * node:crypto), share_i = (x_i, f(x_i)). combine: Lagrange interpolation at 0. Any t shares give the secret; any t - 1
 * shares are consistent with every secret (for each candidate there is exactly one polynomial through it and them),
 * so they say nothing about it. Secure aggregation shares b_i and the s secret key of each participant this way
 * (`client.ts`), x_i being a participant's position in the round (`neighbours.ts`).
 *
 * Serialised share (70 bytes): u32be x || f(x) as 66 bytes big-endian. A combination of shares that are not all on
 * one polynomial of degree < t gives an effectively random field element; it is refused when it does not fit 32
 * bytes (all but 2^-265 of the time), and callers check what survives against a commitment anyway.
 */
import { randomBytes } from 'node:crypto';
import { checkBytes } from './encoding.js';

export const PRIME = (1n << 521n) - 1n;
export const SECRET_BYTES = 32;
const Y_BYTES = 66;
export const SHARE_BYTES = 4 + Y_BYTES;
const MAX_X = 0xffff_ffff;

const BITS = 521n;

/** x mod p for x >= 0, by folding the bits above 521 back in (2^521 = 1 mod p): no division. */
function reduce(x: bigint): bigint {
  while (x > PRIME) x = (x & PRIME) + (x >> BITS);
  return x === PRIME ? 0n : x;
}

/** x mod p for any x. */
function mod(x: bigint): bigint {
  if (x >= 0n) return reduce(x);
  const r = reduce(-x);
  return r === 0n ? 0n : PRIME - r;
}

/** a^-1 mod p by the extended Euclidean algorithm (a != 0 mod p). */
function inverse(a: bigint): bigint {
  let [r0, r1] = [mod(a), PRIME];
  let [s0, s1] = [1n, 0n];
  while (r1 !== 0n) {
    const q = r0 / r1;
    [r0, r1] = [r1, r0 - q * r1];
    [s0, s1] = [s1, s0 - q * s1];
  }
  if (r0 !== 1n) throw new RangeError('not invertible');
  return mod(s0);
}

function bytesToBigInt(bytes: Uint8Array): bigint {
  if (bytes.length === 0) return 0n;
  return BigInt(`0x${Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('hex')}`);
}

function bigIntToBytes(x: bigint, length: number): Uint8Array {
  const hex = x.toString(16).padStart(2 * length, '0');
  if (hex.length > 2 * length) throw new RangeError('value too large for its encoding');
  return new Uint8Array(Buffer.from(hex, 'hex'));
}

/** `count` uniform elements of GF(p): 521 random bits each, redrawn in the one case (all ones) that equals p. */
function randomFieldElements(count: number): bigint[] {
  const out: bigint[] = [];
  while (out.length < count) {
    const bytes = randomBytes(Y_BYTES * (count - out.length));
    for (let at = 0; at < bytes.length; at += Y_BYTES) {
      bytes[at] = bytes[at]! & 0x01;
      const x = bytesToBigInt(bytes.subarray(at, at + Y_BYTES));
      if (x < PRIME) out.push(x);
    }
    bytes.fill(0);
  }
  return out;
}

function checkXs(xs: readonly number[], threshold: number): void {
  if (!Array.isArray(xs)) throw new TypeError('xs must be an array');
  if (!Number.isInteger(threshold) || threshold < 1 || threshold > xs.length) {
    throw new RangeError('threshold must be an integer in [1, number of shares]');
  }
  const seen = new Set<number>();
  for (const x of xs) {
    if (!Number.isInteger(x) || x < 1 || x > MAX_X)
      throw new RangeError(`share x must be an integer in [1, ${MAX_X}]`);
    if (seen.has(x)) throw new RangeError('share x values must be distinct');
    seen.add(x);
  }
}

function encodeShare(x: number, y: bigint): Uint8Array {
  const out = new Uint8Array(SHARE_BYTES);
  new DataView(out.buffer).setUint32(0, x);
  out.set(bigIntToBytes(y, Y_BYTES), 4);
  return out;
}

/** The x-coordinate of a serialised share (public: it says which participant holds the share). */
export function shareX(share: Uint8Array): number {
  checkBytes(share, SHARE_BYTES, 'share');
  return new DataView(share.buffer, share.byteOffset, share.byteLength).getUint32(0);
}

function evaluate(coefficients: readonly bigint[], x: number): bigint {
  const bx = BigInt(x);
  let acc = 0n;
  for (let k = coefficients.length - 1; k >= 0; k--) acc = reduce(acc * bx + coefficients[k]!);
  return acc;
}

function shareWith(secret: Uint8Array, higher: readonly bigint[], xs: readonly number[]): Uint8Array[] {
  const coefficients = [bytesToBigInt(secret), ...higher];
  return xs.map((x) => encodeShare(x, evaluate(coefficients, x)));
}

/**
 * Splits a 32-byte secret into one share per x in `xs` (in that order), any `threshold` of which rebuild it. Throws
 * TypeError/RangeError for a secret that is not 32 bytes, x values that are not distinct integers in [1, 2^32), or a
 * threshold outside [1, xs.length].
 */
export function split(secret: Uint8Array, threshold: number, xs: readonly number[]): Uint8Array[] {
  checkBytes(secret, SECRET_BYTES, 'secret');
  checkXs(xs, threshold);
  const higher = randomFieldElements(threshold - 1);
  return shareWith(secret, higher, xs);
}

/**
 * WARNING: for known-answer vectors only. The caller chooses the coefficients a_1 .. a_{t-1}; shares made from known
 * coefficients reveal the secret to anyone holding a single one.
 */
export function splitWithCoefficientsForTesting(
  secret: Uint8Array,
  coefficients: readonly bigint[],
  xs: readonly number[],
): Uint8Array[] {
  checkBytes(secret, SECRET_BYTES, 'secret');
  checkXs(xs, coefficients.length + 1);
  for (const c of coefficients) {
    if (typeof c !== 'bigint' || c < 0n || c >= PRIME) throw new RangeError('coefficients must be in [0, p)');
  }
  return shareWith(secret, coefficients, xs);
}

/**
 * Rebuilds the secret from shares by Lagrange interpolation at 0. Pass at least the threshold's number of shares
 * (fewer give an unrelated value: see the module comment). Throws TypeError/RangeError for malformed shares,
 * repeated x values, and shares that do not combine to a 32-byte secret.
 */
export function combine(shares: readonly Uint8Array[]): Uint8Array {
  if (!Array.isArray(shares) || shares.length === 0) throw new RangeError('combine needs at least one share');
  const points = shares.map((share) => {
    const x = shareX(share);
    const y = bytesToBigInt(share.subarray(4));
    if (x === 0) throw new RangeError('share x must not be 0');
    if (y >= PRIME) throw new RangeError('share value out of range');
    return { x: BigInt(x), y };
  });
  if (new Set(points.map((p) => p.x)).size !== points.length) throw new RangeError('share x values repeat');
  const lambdas = lagrangeAtZero(points.map((p) => p.x));
  let secret = 0n;
  for (let i = 0; i < points.length; i++) secret = reduce(secret + reduce(points[i]!.y * lambdas[i]!));
  if (secret >> BigInt(8 * SECRET_BYTES) !== 0n) throw new RangeError('shares are inconsistent');
  return bigIntToBytes(secret, SECRET_BYTES);
}

// The coordinator rebuilds many secrets from shares at the same x-coordinates: their Lagrange weights are public
// and worth keeping.
const lagrangeCache = new Map<string, bigint[]>();
const LAGRANGE_CACHE_SIZE = 256;

/** lambda_i = prod_{j != i} x_j / (x_j - x_i) mod p, with one inversion for all i (Montgomery's trick). */
function lagrangeAtZero(xs: readonly bigint[]): bigint[] {
  const key = xs.join(',');
  const cached = lagrangeCache.get(key);
  if (cached) return cached;
  const nums: bigint[] = [];
  const dens: bigint[] = [];
  for (let i = 0; i < xs.length; i++) {
    let num = 1n;
    let den = 1n;
    for (let j = 0; j < xs.length; j++) {
      if (j === i) continue;
      num = reduce(num * xs[j]!);
      den = mod(den * (xs[j]! - xs[i]!));
    }
    nums.push(num);
    dens.push(den);
  }
  // prefix[i] = dens[0] * ... * dens[i - 1]; invert the product once and peel it back.
  const prefix: bigint[] = [1n];
  for (const d of dens) prefix.push(reduce(prefix.at(-1)! * d));
  let inv = inverse(prefix.at(-1)!);
  const lambdas = new Array<bigint>(xs.length);
  for (let i = xs.length - 1; i >= 0; i--) {
    lambdas[i] = reduce(nums[i]! * reduce(inv * prefix[i]!));
    inv = reduce(inv * dens[i]!);
  }
  if (lagrangeCache.size >= LAGRANGE_CACHE_SIZE) lagrangeCache.delete(lagrangeCache.keys().next().value!);
  lagrangeCache.set(key, lambdas);
  return lambdas;
}
