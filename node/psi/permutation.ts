import { randomBytes } from 'node:crypto';

/**
 * A uniformly random permutation of 0..n-1 (Fisher-Yates, CSPRNG, rejection sampling). A party sends its set in this
 * order so that positions in the fully blinded set tell the coordinator nothing about row order.
 */
export function randomPermutation(n: number): Uint32Array {
  const perm = new Uint32Array(n);
  for (let i = 0; i < n; i++) perm[i] = i;
  let pool = new Uint32Array(0);
  let at = 0;
  const next = () => {
    if (at >= pool.length) {
      const bytes = randomBytes(64 * 1024);
      pool = new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
      at = 0;
    }
    return pool[at++]!;
  };
  for (let i = n - 1; i > 0; i--) {
    const bound = i + 1;
    const limit = 0x1_0000_0000 - (0x1_0000_0000 % bound);
    let r: number;
    do r = next();
    while (r >= limit);
    const j = r % bound;
    const t = perm[i]!;
    perm[i] = perm[j]!;
    perm[j] = t;
  }
  return perm;
}
