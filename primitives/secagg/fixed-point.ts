/**
 * Codecs between real numbers and the ring Z_{2^32} (`ring.ts`), so that the masked sum of encodings decodes to the
 * sum of the reals.
 *
 * Narrow codec (model updates): v -> round(clamp(v, -clip, clip) * 2^f) as a 32-bit two's complement lane. A sum of
 * n encodings decodes exactly to the sum of the rounded values as long as n * clip * 2^f < 2^31 (checked by
 * `chooseFixedPoint`); each value contributes at most 2^-(f+1) of rounding error, so the decoded sum is within
 * n * 2^-(f+1) of the sum of the clamped values. Clamped values are counted and returned, never silently dropped: a
 * caller that sees `clipped > 0` knows the update was changed (and can log or refuse it).
 *
 * Wide codec (statistics whose sums need more than 31 bits, e.g. sums of squares of raw feature values over
 * millions of rows): v -> V = round(v * 2^f) as an integer mod 2^(16 * limbs), split into 16-bit limbs, each limb in
 * a lane of its own (least significant first, the limbs of value i at lanes [i * limbs, (i + 1) * limbs)). A lane of a
 * sum of n <= 65 535 encodings holds at most n * 65 535 < 2^32, so no carry is lost in the ring; `decodeWideSum`
 * propagates the carries and reads the result as two's complement in 16 * limbs bits. The sum must satisfy
 * |sum V| < 2^(16 * limbs - 1) (`chooseWideLimbs` picks limbs for a bound on |v|).
 *
 * Error messages name positions and parameters, never a value.
 */

/** Largest fractionBits accepted: 2^30 * clip must stay below 2^31 for clip >= 1 with two participants. */
const MAX_FRACTION_BITS = 30;
const TWO_31 = 2 ** 31;

/** How many participants a wide-codec sum supports without losing a carry: n * 65 535 < 2^32. */
export const WIDE_MAX_PARTICIPANTS = 65_535;
/** Limbs accepted by the wide codec (16 * 64 = 1024-bit integers). */
const MAX_LIMBS = 64;

export interface FixedPointParams {
  /** Values are clamped to [-clip, clip] before encoding. */
  readonly clip: number;
  /** Bits after the binary point: resolution 2^-fractionBits. */
  readonly fractionBits: number;
}

export interface FixedPointEncoding {
  readonly lanes: Uint32Array;
  /** How many values lay outside [-clip, clip] (NaN is refused, +-Infinity counts here). */
  readonly clipped: number;
}

function checkFractionBits(fractionBits: number, max: number): void {
  if (!Number.isInteger(fractionBits) || fractionBits < 0 || fractionBits > max) {
    throw new RangeError(`fractionBits must be an integer in [0, ${max}]`);
  }
}

function checkClip(clip: number): void {
  if (typeof clip !== 'number' || !Number.isFinite(clip) || clip <= 0) {
    throw new RangeError('clip must be a positive finite number');
  }
}

function checkValues(values: unknown): asserts values is Float64Array {
  if (!(values instanceof Float64Array)) throw new TypeError('values must be a Float64Array');
}

/** Whether n sums of values in [-clip, clip] at 2^-f resolution stay within a signed 32-bit lane. */
function fits(clip: number, fractionBits: number, participants: number): boolean {
  return participants * Math.ceil(clip * 2 ** fractionBits) < TWO_31;
}

/**
 * Validates (when `fractionBits` is given) or picks (the largest that fits, for the finest resolution) the narrow
 * codec's parameters, such that clip * 2^fractionBits * maxParticipants < 2^31. Throws RangeError when nothing fits.
 */
export function chooseFixedPoint(opts: {
  clip: number;
  maxParticipants: number;
  fractionBits?: number | undefined;
}): FixedPointParams {
  checkClip(opts.clip);
  if (!Number.isSafeInteger(opts.maxParticipants) || opts.maxParticipants < 1) {
    throw new RangeError('maxParticipants must be a positive integer');
  }
  if (opts.fractionBits !== undefined) {
    checkFractionBits(opts.fractionBits, MAX_FRACTION_BITS);
    if (!fits(opts.clip, opts.fractionBits, opts.maxParticipants)) {
      throw new RangeError('clip * 2^fractionBits * maxParticipants must be below 2^31');
    }
    return { clip: opts.clip, fractionBits: opts.fractionBits };
  }
  for (let f = MAX_FRACTION_BITS; f >= 0; f--) {
    if (fits(opts.clip, f, opts.maxParticipants)) return { clip: opts.clip, fractionBits: f };
  }
  throw new RangeError('clip * maxParticipants must be below 2^31');
}

/** Largest distance between a decoded sum of `participants` encodings and the sum of the clamped values. */
export function fixedPointErrorBound(participants: number, fractionBits: number): number {
  return participants * 2 ** -(fractionBits + 1);
}

/**
 * Encodes each value as round(clamp(v) * 2^fractionBits) in 32-bit two's complement. Throws RangeError for a NaN
 * (naming its index) and for parameters where a single value would not fit.
 */
export function encodeFixedPoint(values: Float64Array, params: FixedPointParams): FixedPointEncoding {
  checkValues(values);
  checkClip(params.clip);
  checkFractionBits(params.fractionBits, MAX_FRACTION_BITS);
  if (!fits(params.clip, params.fractionBits, 1))
    throw new RangeError('clip * 2^fractionBits must be below 2^31');
  const { clip } = params;
  const scale = 2 ** params.fractionBits;
  const lanes = new Uint32Array(values.length);
  let clipped = 0;
  for (let i = 0; i < values.length; i++) {
    let v = values[i]!;
    if (v > clip) {
      v = clip;
      clipped++;
    } else if (v < -clip) {
      v = -clip;
      clipped++;
    } else if (Number.isNaN(v)) {
      throw new RangeError(`values[${i}] is NaN`);
    }
    // Storing a negative integer into a Uint32Array is ToUint32: the two's complement we want.
    lanes[i] = Math.round(v * scale);
  }
  return { lanes, clipped };
}

/** Reads each lane of a sum as a signed 32-bit integer and scales it by 2^-fractionBits. */
export function decodeFixedPointSum(lanes: Uint32Array, params: { fractionBits: number }): Float64Array {
  if (!(lanes instanceof Uint32Array)) throw new TypeError('lanes must be a Uint32Array');
  checkFractionBits(params.fractionBits, MAX_FRACTION_BITS);
  const signed = new Int32Array(lanes.buffer, lanes.byteOffset, lanes.length);
  const scale = 2 ** -params.fractionBits;
  const out = new Float64Array(lanes.length);
  for (let i = 0; i < signed.length; i++) out[i] = signed[i]! * scale;
  return out;
}

// ------------------------------------------------------------------------------------------------------------------
// Wide codec

export interface WideParams {
  readonly fractionBits: number;
  /** 16-bit limbs per value: values are integers mod 2^(16 * limbs). */
  readonly limbs: number;
}

function checkWide(params: WideParams): void {
  checkFractionBits(params.fractionBits, 1000);
  if (!Number.isInteger(params.limbs) || params.limbs < 1 || params.limbs > MAX_LIMBS) {
    throw new RangeError(`limbs must be an integer in [1, ${MAX_LIMBS}]`);
  }
}

/**
 * Smallest limb count such that `maxParticipants` values of magnitude at most `maxAbs` sum without overflow:
 * maxParticipants * round(maxAbs * 2^fractionBits) < 2^(16 * limbs - 1).
 */
export function chooseWideLimbs(opts: {
  maxAbs: number;
  fractionBits: number;
  maxParticipants: number;
}): number {
  if (!Number.isFinite(opts.maxAbs) || opts.maxAbs < 0)
    throw new RangeError('maxAbs must be finite and >= 0');
  checkFractionBits(opts.fractionBits, 1000);
  if (
    !Number.isSafeInteger(opts.maxParticipants) ||
    opts.maxParticipants < 1 ||
    opts.maxParticipants > WIDE_MAX_PARTICIPANTS
  ) {
    throw new RangeError(`maxParticipants must be an integer in [1, ${WIDE_MAX_PARTICIPANTS}]`);
  }
  const scaled = opts.maxAbs * 2 ** opts.fractionBits;
  if (!Number.isFinite(scaled)) throw new RangeError('maxAbs * 2^fractionBits is not finite');
  const bound = BigInt(opts.maxParticipants) * BigInt(Math.ceil(scaled));
  for (let limbs = 1; limbs <= MAX_LIMBS; limbs++) {
    if (bound < 1n << BigInt(16 * limbs - 1)) return limbs;
  }
  throw new RangeError(`no limb count up to ${MAX_LIMBS} holds that sum`);
}

/**
 * Encodes each value as V = round(v * 2^fractionBits) mod 2^(16 * limbs) in `limbs` lanes of 16 bits each. Throws
 * RangeError (naming the index) for a value that is not finite or whose |V| is 2^(16 * limbs - 1) or more.
 */
export function encodeWide(values: Float64Array, params: WideParams): Uint32Array {
  checkValues(values);
  checkWide(params);
  const { limbs } = params;
  const scale = 2 ** params.fractionBits;
  const bits = 16 * limbs;
  const limit = 2 ** (bits - 1);
  const out = new Uint32Array(values.length * limbs);
  for (let i = 0; i < values.length; i++) {
    const scaled = values[i]! * scale;
    if (!Number.isFinite(scaled)) throw new RangeError(`values[${i}] is not finite at this scale`);
    const v = Math.round(scaled);
    if (Math.abs(v) >= limit) throw new RangeError(`values[${i}] does not fit in ${limbs} limbs`);
    const base = i * limbs;
    if (Number.isSafeInteger(v)) {
      // Exact in doubles: x - limb is a multiple of 2^16, and the sign extends as limbs of 0xffff.
      let x = v;
      for (let l = 0; l < limbs; l++) {
        const limb = ((x % 65536) + 65536) % 65536;
        out[base + l] = limb;
        x = (x - limb) / 65536;
      }
    } else {
      let x = BigInt.asUintN(bits, BigInt(v));
      for (let l = 0; l < limbs; l++) {
        out[base + l] = Number(x & 0xffffn);
        x >>= 16n;
      }
    }
  }
  return out;
}

/** Recombines the limbs of each value of a sum, with carries, and reads it as two's complement in 16 * limbs bits. */
export function decodeWideSum(lanes: Uint32Array, params: WideParams): Float64Array {
  if (!(lanes instanceof Uint32Array)) throw new TypeError('lanes must be a Uint32Array');
  checkWide(params);
  const { limbs } = params;
  if (lanes.length % limbs !== 0) throw new RangeError(`lanes must be a multiple of ${limbs}`);
  const bits = 16 * limbs;
  const scale = 2 ** params.fractionBits;
  const out = new Float64Array(lanes.length / limbs);
  for (let i = 0; i < out.length; i++) {
    let total = 0n;
    for (let l = limbs - 1; l >= 0; l--) total = (total << 16n) + BigInt(lanes[i * limbs + l]!);
    out[i] = Number(BigInt.asIntN(bits, total)) / scale;
  }
  return out;
}
