/**
 * Mask expansion: a 32-byte secret seed -> `lanes` uniform elements of Z_{2^32}, the AES-256-CTR keystream under the
 * seed as key, read as little-endian u32 lanes. The initial counter block is the first 16 bytes of SHA-256(label), so
 * the same seed under two labels gives unrelated masks.
 *
 * Flower expands masks with numpy's Mersenne Twister seeded from 32 bits of the secret, which a coordinator can
 * brute-force (2^32 seeds) to strip a mask; here the whole 256-bit seed is the AES key and the output is
 * indistinguishable from uniform unless AES is broken. With OpenSSL's AES-NI the keystream costs about as much as
 * the ring addition it feeds (`addMask` adds it straight into the vector, chunk by chunk).
 *
 * Every seed belongs to one round: the self-mask seed b_i is fresh per round, the pairwise seed s_ij is derived per
 * session, round and pair in `key-agreement.ts` (i adds the mask, j subtracts it, so it cancels in the sum); no
 * keystream ever masks two vectors of one participant.
 */
import { createCipheriv, createHash } from 'node:crypto';
import { checkBytes } from './encoding.js';

export const SEED_BYTES = 32;

/** Largest mask: 2^28 lanes (1 GiB) keeps the counter far from wrapping. */
export const MAX_LANES = 2 ** 28;

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

// The keystream is produced 32 KiB at a time into short-lived buffers and added straight into the target: measured
// on Node 20, one cipher.update over a whole 4 MB mask runs at ~0.3 GB/s (each call allocates and faults in a fresh
// multi-megabyte output buffer), 32 KiB calls at ~2 GB/s, and no mask-sized array is ever allocated.
const CHUNK_LANES = 8192;
const ZEROS = Buffer.alloc(CHUNK_LANES * 4);
const scratch = new Uint32Array(CHUNK_LANES);

/** The initial counter block for `label`: SHA-256(UTF-8 label)[0..16]. */
export function maskIv(label: string): Buffer {
  if (typeof label !== 'string' || label.length === 0)
    throw new TypeError('label must be a non-empty string');
  return createHash('sha256').update(label, 'utf8').digest().subarray(0, 16);
}

/** The keystream chunk as native-endian u32 lanes that are the little-endian reading of its bytes. */
function lanesOf(chunk: Buffer, n: number): Uint32Array {
  if (LITTLE_ENDIAN && chunk.byteOffset % 4 === 0) return new Uint32Array(chunk.buffer, chunk.byteOffset, n);
  const view = new DataView(chunk.buffer, chunk.byteOffset, n * 4);
  for (let i = 0; i < n; i++) scratch[i] = view.getUint32(4 * i, true);
  return scratch;
}

/**
 * target += sign * PRG(seed, label) (mod 2^32), lane-wise, in place: adds (sign 1) or removes (sign -1) a mask
 * without materialising it. Throws TypeError/RangeError for a seed that is not 32 bytes or a target out of range.
 */
export function addMask(target: Uint32Array, seed: Uint8Array, label: string, sign: 1 | -1): Uint32Array {
  if (!(target instanceof Uint32Array)) throw new TypeError('target must be a Uint32Array');
  if (target.length > MAX_LANES) throw new RangeError(`masks have at most ${MAX_LANES} lanes`);
  if (sign !== 1 && sign !== -1) throw new RangeError('sign must be 1 or -1');
  checkBytes(seed, SEED_BYTES, 'seed');
  const cipher = createCipheriv('aes-256-ctr', seed, maskIv(label));
  const total = target.length;
  for (let start = 0; start < total; start += CHUNK_LANES) {
    const n = Math.min(CHUNK_LANES, total - start);
    const mask = lanesOf(cipher.update(n === CHUNK_LANES ? ZEROS : ZEROS.subarray(0, n * 4)), n);
    if (sign === 1) for (let i = 0; i < n; i++) target[start + i] = target[start + i]! + mask[i]!;
    else for (let i = 0; i < n; i++) target[start + i] = target[start + i]! - mask[i]!;
  }
  cipher.final();
  return target;
}

/**
 * The mask of `lanes` lanes for `seed` under `label`, as a new array. Throws TypeError/RangeError for a seed that is
 * not 32 bytes or a lane count out of range.
 */
export function expandMask(seed: Uint8Array, lanes: number, label: string): Uint32Array {
  if (!Number.isSafeInteger(lanes) || lanes < 0 || lanes > MAX_LANES) {
    throw new RangeError(`lanes must be an integer in [0, ${MAX_LANES}]`);
  }
  return addMask(new Uint32Array(lanes), seed, label, 1);
}
