/**
 * Uniform random indices from the OS CSPRNG, for shuffles that must not leak order (PSI sends and returns sets in
 * random orders). Rejection sampling keeps every index exactly equally likely; modulo alone would favour small ones.
 */
import { randomBytes } from 'node:crypto';

/** Returns a function drawing uniform integers in [0, bound) for bound <= 2^32, reading the CSPRNG in blocks. */
export function uniformIndexSource(): (bound: number) => number {
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
  return (bound) => {
    const limit = 0x1_0000_0000 - (0x1_0000_0000 % bound);
    let r: number;
    do r = next();
    while (r >= limit);
    return r % bound;
  };
}

/** Fisher-Yates: calls swap(i, j) for i from n-1 down to 1 with j uniform in [0, i]. */
export function fisherYates(n: number, swap: (i: number, j: number) => void): void {
  const below = uniformIndexSource();
  for (let i = n - 1; i > 0; i--) {
    const j = below(i + 1);
    if (j !== i) swap(i, j);
  }
}
