/**
 * A small deterministic pseudo-random generator for training, so that every bank starts from the same initial
 * parameters and a run can be repeated exactly (mini-batch order). NOT for secrets: keys, masks and shuffles that must
 * hide an order use the OS CSPRNG (`primitives/random`).
 *
 * The seed (bytes, or a string taken as UTF-8) is hashed with SHA-256 and the first 16 bytes seed xoshiro128**
 * (Blackman & Vigna, "Scrambled linear pseudorandom number generators", 2018). Every step is 32-bit integer arithmetic
 * (Math.imul, shifts), so the stream is identical on every JavaScript engine and platform; doubles take 53 bits from two
 * outputs. Nothing here uses Math.log/sin/cos, whose last bit engines may round differently.
 */
import { sha256 } from '@noble/hashes/sha2.js';

/** A training seed: bytes, or a string (UTF-8). */
export type Seed = Uint8Array | string;

const TWO_POW_32 = 0x1_0000_0000;

function seedBytes(seed: Seed): Uint8Array {
  return typeof seed === 'string' ? new TextEncoder().encode(seed) : seed;
}

/**
 * A seed for one purpose derived from a parent seed and a label (e.g. `epoch 3`): SHA-256(SHA-256(seed) || label).
 * Different labels give unrelated streams; hashing the seed first keeps (seed, label) pairs unambiguous.
 */
export function deriveSeed(seed: Seed, label: string): Uint8Array {
  const head = sha256(seedBytes(seed));
  const tail = new TextEncoder().encode(label);
  const joined = new Uint8Array(head.length + tail.length);
  joined.set(head, 0);
  joined.set(tail, head.length);
  return sha256(joined);
}

/** xoshiro128** over a SHA-256-hashed seed; see the file comment. Not for secrets. */
export class SeededRandom {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  constructor(seed: Seed) {
    const h = sha256(seedBytes(seed));
    const word = (i: number) => (h[i]! | (h[i + 1]! << 8) | (h[i + 2]! << 16) | (h[i + 3]! << 24)) >>> 0;
    this.s0 = word(0);
    this.s1 = word(4);
    this.s2 = word(8);
    this.s3 = word(12);
    // The all-zero state is the generator's one fixed point (probability 2^-128 from a hash, but cheap to rule out).
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  /** The next output: a uniform integer in [0, 2^32). */
  uint32(): number {
    const s1 = this.s1;
    const result = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
    const t = s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** A uniform double in [0, 1) with 53 random bits. */
  uniform(): number {
    const high = this.uint32() >>> 5; // 27 bits
    const low = this.uint32() >>> 6; // 26 bits
    return (high * 67_108_864 + low) / 9_007_199_254_740_992; // (high * 2^26 + low) / 2^53
  }

  /** A uniform integer in [0, bound), 1 <= bound <= 2^32, by rejection (no modulo bias). Throws RangeError. */
  below(bound: number): number {
    if (!Number.isInteger(bound) || bound < 1 || bound > TWO_POW_32)
      throw new RangeError('bound out of range');
    const limit = TWO_POW_32 - (TWO_POW_32 % bound);
    let r: number;
    do r = this.uint32();
    while (r >= limit);
    return r % bound;
  }

  /** Shuffles `values` in place (Fisher-Yates) and returns it. */
  shuffle<T extends { [index: number]: number; readonly length: number }>(values: T): T {
    for (let i = values.length - 1; i > 0; i--) {
      const j = this.below(i + 1);
      const v = values[i]!;
      values[i] = values[j]!;
      values[j] = v;
    }
    return values;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
