/**
 * Argument checks shared by the cipher suites. Values out of the plaintext range are coded errors (they come from
 * data); wrong lengths and counts are the caller's bug and throw RangeError. Messages name positions, never values.
 */
import { AccordError } from '../errors/index.js';
import { HIGH_WORD, LOW_WORD } from './cipher.js';

/** Chunks of `slots` values needed for `length` values. */
function chunkCount(length: number, slots: number): number {
  return Math.ceil(length / slots);
}

/** A 64-bit integer as its high word (signed) and low word (unsigned), to compare values without BigInt. */
function wordsOf(v: bigint): { high: number; low: number } {
  return { high: Number(BigInt.asIntN(64, v) >> 32n), low: Number(v & 0xffff_ffffn) };
}

/** Throws ACCORD_HE_VALUE_RANGE unless every value is in (-t/2, t/2); `what` names the array in the message. */
export function checkSignedValues(values: BigInt64Array, t: bigint, what: string): void {
  if (!(values instanceof BigInt64Array)) throw new TypeError(`${what} must be a BigInt64Array`);
  const most = (t - 1n) / 2n;
  if (most >= 1n << 63n) return; // every 64-bit value is in range
  // Compared word by word: -most ≤ v ≤ most.
  const top = wordsOf(most);
  const bottom = wordsOf(-most);
  const signed = new Int32Array(values.buffer, values.byteOffset, 2 * values.length);
  for (let i = 0; i < values.length; i++) {
    const high = signed[2 * i + HIGH_WORD]!;
    const low = signed[2 * i + LOW_WORD]! >>> 0;
    if (
      high > top.high ||
      (high === top.high && low > top.low) ||
      high < bottom.high ||
      (high === bottom.high && low < bottom.low)
    )
      throw new AccordError('ACCORD_HE_VALUE_RANGE', { reason: `${what}, entry ${i}, is too large` });
  }
}

/** Throws unless `values` fills exactly `chunks` chunks (the last one possibly in part). */
export function checkChunks(values: { length: number }, chunks: number, slots: number, what: string): void {
  if (chunkCount(values.length, slots) !== chunks)
    throw new RangeError(`${what} has ${values.length} values, which is not ${chunks} chunks of ${slots}`);
}

/** Throws unless each mask has `slots` entries, each in [0, t). */
export function checkMasks(masks: readonly BigUint64Array[], t: bigint, slots: number): void {
  const tHigh = Number(t >> 32n);
  const tLow = Number(t & 0xffff_ffffn);
  masks.forEach((mask, j) => {
    if (!(mask instanceof BigUint64Array)) throw new TypeError(`mask ${j} must be a BigUint64Array`);
    if (mask.length !== slots) throw new RangeError(`mask ${j} has ${mask.length} entries, not ${slots}`);
    const words = new Uint32Array(mask.buffer, mask.byteOffset, 2 * mask.length);
    for (let i = 0; i < mask.length; i++) {
      const high = words[2 * i + HIGH_WORD]!;
      if (high > tHigh || (high === tHigh && words[2 * i + LOW_WORD]! >= tLow))
        throw new AccordError('ACCORD_HE_VALUE_RANGE', { reason: `mask ${j}, entry ${i}, is not below t` });
    }
  });
}

/** True when every value is 0. */
export function allZero(values: BigInt64Array): boolean {
  const words = new Int32Array(values.buffer, values.byteOffset, 2 * values.length);
  for (let i = 0; i < words.length; i++) if (words[i] !== 0) return false;
  return true;
}
