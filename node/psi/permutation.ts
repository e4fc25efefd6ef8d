import { fisherYates } from '../../primitives/random/secure-shuffle.js';

/**
 * A uniformly random permutation of 0..n-1. A party sends its set in this order so that positions in the fully
 * blinded set tell the coordinator nothing about row order.
 */
export function randomPermutation(n: number): Uint32Array {
  const perm = new Uint32Array(n);
  for (let i = 0; i < n; i++) perm[i] = i;
  fisherYates(n, (i, j) => {
    const t = perm[i]!;
    perm[i] = perm[j]!;
    perm[j] = t;
  });
  return perm;
}
