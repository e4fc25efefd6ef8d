/**
 * Argument checks shared by the cipher suites. Values out of the plaintext range are coded errors (they come from
 * data); wrong lengths and counts are the caller's bug and throw RangeError. Messages name positions, never values.
 */
import { AccordError } from '../errors/index.js';

/** Chunks of `slots` values needed for `length` values. */
function chunkCount(length: number, slots: number): number {
  return Math.ceil(length / slots);
}

/** Throws ACCORD_HE_VALUE_RANGE unless every value is in (-t/2, t/2); `what` names the array in the message. */
export function checkSignedValues(values: BigInt64Array, t: bigint, what: string): void {
  if (!(values instanceof BigInt64Array)) throw new TypeError(`${what} must be a BigInt64Array`);
  const most = (t - 1n) / 2n;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (v > most || v < -most)
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
  masks.forEach((mask, j) => {
    if (!(mask instanceof BigUint64Array)) throw new TypeError(`mask ${j} must be a BigUint64Array`);
    if (mask.length !== slots) throw new RangeError(`mask ${j} has ${mask.length} entries, not ${slots}`);
    for (let i = 0; i < mask.length; i++)
      if (mask[i]! >= t)
        throw new AccordError('ACCORD_HE_VALUE_RANGE', { reason: `mask ${j}, entry ${i}, is not below t` });
  });
}

/** True when every value is 0. */
export function allZero(values: BigInt64Array): boolean {
  for (let i = 0; i < values.length; i++) if (values[i] !== 0n) return false;
  return true;
}
