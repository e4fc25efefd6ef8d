/**
 * The ring Z_{2^32} that secure aggregation works in: a vector is a Uint32Array, one lane per coordinate, and every
 * operation is lane-wise mod 2^32. Storing into a Uint32Array already reduces mod 2^32 (ToUint32), so these are plain
 * loops with no BigInt and no branches; they run at memory speed (a million lanes in about a millisecond).
 *
 * Masks in this ring are exact one-time pads: a uniform mask added to any value gives a uniform result, which is why
 * the coordinator learns nothing from one masked vector (see `protocol.ts`).
 */

function checkSameLength(target: Uint32Array, other: Uint32Array): void {
  if (!(target instanceof Uint32Array) || !(other instanceof Uint32Array)) {
    throw new TypeError('ring vectors must be Uint32Array');
  }
  if (target.length !== other.length) {
    throw new RangeError(`ring vectors differ in length: ${target.length} and ${other.length}`);
  }
}

/** target += other (mod 2^32), lane-wise, in place; returns target. */
export function addInPlace(target: Uint32Array, other: Uint32Array): Uint32Array {
  checkSameLength(target, other);
  const n = target.length;
  for (let i = 0; i < n; i++) target[i] = target[i]! + other[i]!;
  return target;
}

/** target -= other (mod 2^32), lane-wise, in place; returns target. */
export function subInPlace(target: Uint32Array, other: Uint32Array): Uint32Array {
  checkSameLength(target, other);
  const n = target.length;
  for (let i = 0; i < n; i++) target[i] = target[i]! - other[i]!;
  return target;
}

/** target += sign * other: the one call for adding (sign 1) or removing (sign -1) a mask. */
export function addSignedInPlace(target: Uint32Array, other: Uint32Array, sign: 1 | -1): Uint32Array {
  return sign === 1 ? addInPlace(target, other) : subInPlace(target, other);
}

/** A zero vector of `lanes` lanes. */
export function zeros(lanes: number): Uint32Array {
  if (!Number.isSafeInteger(lanes) || lanes < 0) throw new RangeError('lanes must be a non-negative integer');
  return new Uint32Array(lanes);
}

/** Lane-wise equality (public data only: this is not constant-time). */
export function ringEqual(a: Uint32Array, b: Uint32Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
