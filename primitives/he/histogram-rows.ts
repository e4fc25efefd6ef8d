/**
 * The plaintext side of the histogram suite (`histogram.ts`): how rows are packed into a block's plaintext, where a
 * row goes in a feature's mask polynomial, the first polynomial of a masked product at the target coefficients
 * (computed here, outside SEAL, from c0's residues), and how a decrypted target decodes into Σgq and Σhq.
 *
 * Row i of a block is coefficient i of its plaintext, holding gq·2^S + hq modulo t. A feature's mask for the block
 * has a 1 at position(i)·256 + 255 − i for each row i: in the negacyclic product, coefficient 256·b + 255 receives
 * row i's value exactly when position(i) = b, and only shifted copies of the other rows' values or of coefficients
 * ≥ 256 (encryptions of 0) elsewhere.
 */
import { POLY_MODULUS_DEGREE } from './parameters.js';

/** Rows per gradient block: coefficients 0 .. 255 of its plaintext. */
export const ROWS_PER_BLOCK = 256;
/** Positions (bins, missing, or whatever the protocol assigns) per histogram: 32 · 256 = N. */
export const HISTOGRAM_POSITIONS = 32;
/** Most rows one histogram sums: the exact-decoding bound below and the noise bound in `histogram.ts` hold to it. */
export const MAX_HISTOGRAM_ROWS = 65_536;
/** Most blocks one `histograms` call takes. */
export const MAX_HISTOGRAM_BLOCKS = MAX_HISTOGRAM_ROWS / ROWS_PER_BLOCK;
/** Largest |gq| and hq: quantised gradients are in [-4096, 4096], hessians in [0, 4096]. */
export const MAX_QUANTISED_GRADIENT = 4096;
export const MAX_QUANTISED_HESSIAN = 4096;
/**
 * S: a row holds gq·2^S + hq. Over at most 65 536 rows |Σgq| ≤ 2^28 and 0 ≤ Σhq ≤ 2^28 < 2^S, so Σhq is the sum
 * modulo 2^S and Σgq the rest; |Σgq·2^S + Σhq| < 2^58 < t/2 for t > 2^59.
 */
export const GRADIENT_SHIFT = 29;
const SHIFT = 2 ** GRADIENT_SHIFT;
const TWO_32 = 0x1_0000_0000;

/** Throws RangeError unless gq and hq are Int32Arrays of one length with every entry in range. */
export function checkGradients(gq: Int32Array, hq: Int32Array): void {
  if (!(gq instanceof Int32Array) || !(hq instanceof Int32Array))
    throw new TypeError('gq and hq must be Int32Arrays');
  if (gq.length !== hq.length) throw new RangeError(`gq has ${gq.length} rows and hq ${hq.length}`);
  for (let i = 0; i < gq.length; i++) {
    const g = gq[i]!;
    if (g < -MAX_QUANTISED_GRADIENT || g > MAX_QUANTISED_GRADIENT)
      throw new RangeError(
        `gq, row ${i}, is outside [-${MAX_QUANTISED_GRADIENT}, ${MAX_QUANTISED_GRADIENT}]`,
      );
    const h = hq[i]!;
    if (h < 0 || h > MAX_QUANTISED_HESSIAN)
      throw new RangeError(`hq, row ${i}, is outside [0, ${MAX_QUANTISED_HESSIAN}]`);
  }
}

/**
 * Writes rows [from, to) (at most ROWS_PER_BLOCK) as plaintext coefficients gq·2^S + hq modulo t into `out`, two
 * 32-bit words per coefficient (low first, as SEAL stores a u64); the other coefficients are zeroed.
 */
export function encodeRows(
  gq: Int32Array,
  hq: Int32Array,
  from: number,
  to: number,
  t: bigint,
  out: Uint32Array,
): void {
  if (to - from > ROWS_PER_BLOCK || out.length !== 2 * ROWS_PER_BLOCK) throw new RangeError('not one block');
  const tHigh = Number(t >> 32n);
  const tLow = Number(t & 0xffff_ffffn);
  out.fill(0);
  for (let i = 0; i < to - from; i++) {
    // |v| ≤ 2^41 + 2^12: exact in a double. A negative v is t − |v|, subtracted word by word.
    const v = gq[from + i]! * SHIFT + hq[from + i]!;
    const magnitude = Math.abs(v);
    const high = Math.floor(magnitude / TWO_32);
    const low = magnitude - high * TWO_32;
    if (v >= 0) {
      out[2 * i] = low;
      out[2 * i + 1] = high;
    } else {
      const borrow = low > tLow ? 1 : 0;
      out[2 * i] = tLow - low + borrow * TWO_32;
      out[2 * i + 1] = tHigh - high - borrow;
    }
  }
}

/** The mask coefficient of `row` at `position`: 256·position + 255 − row. */
export function maskCoefficient(position: number, row: number): number {
  return position * ROWS_PER_BLOCK + ROWS_PER_BLOCK - 1 - row;
}

/** The coefficient of a product that holds the sum of `position`: 256·position + 255. */
export function targetCoefficient(position: number): number {
  return position * ROWS_PER_BLOCK + ROWS_PER_BLOCK - 1;
}

/** Throws RangeError unless `positions` is a Uint8Array of `rows` entries, each below HISTOGRAM_POSITIONS. */
export function checkPositions(positions: Uint8Array, rows: number, block: number, feature: number): void {
  if (!(positions instanceof Uint8Array))
    throw new TypeError(`positions(${block}, ${feature}) must return a Uint8Array`);
  if (positions.length !== rows)
    throw new RangeError(
      `positions(${block}, ${feature}) has ${positions.length} entries, but block ${block} has ${rows} rows`,
    );
  for (let i = 0; i < rows; i++)
    if (positions[i]! >= HISTOGRAM_POSITIONS)
      throw new RangeError(`positions(${block}, ${feature}), row ${i}, is not below ${HISTOGRAM_POSITIONS}`);
}

/**
 * The checked positions of every block and feature of a `histograms` call, [block][feature]; throws RangeError or
 * TypeError (the caller's bug) for bad counts or positions.
 */
export function checkHistogramCall(
  blocks: readonly Uint8Array[],
  rowsPerBlock: readonly number[],
  positions: (block: number, feature: number) => Uint8Array,
  features: number,
): Uint8Array[][] {
  if (!Array.isArray(blocks) || !Array.isArray(rowsPerBlock))
    throw new TypeError('blocks and rowsPerBlock must be arrays');
  if (blocks.length > MAX_HISTOGRAM_BLOCKS)
    throw new RangeError(`at most ${MAX_HISTOGRAM_BLOCKS} blocks per call (the noise and range bounds)`);
  if (rowsPerBlock.length !== blocks.length)
    throw new RangeError(`${blocks.length} blocks but ${rowsPerBlock.length} row counts`);
  rowsPerBlock.forEach((rows, k) => {
    if (!Number.isInteger(rows) || rows < 0 || rows > ROWS_PER_BLOCK)
      throw new RangeError(`block ${k} has a row count outside [0, ${ROWS_PER_BLOCK}]`);
  });
  if (!Number.isSafeInteger(features) || features < 0)
    throw new RangeError('features must be a non-negative integer');
  if (typeof positions !== 'function') throw new TypeError('positions must be a function');
  return blocks.map((_, k) =>
    Array.from({ length: features }, (_, f) => {
      const p = positions(k, f);
      checkPositions(p, rowsPerBlock[k]!, k, f);
      return p;
    }),
  );
}

/** x mod q in [0, q) for an integer |x| < 2^53. */
function reduce(x: number, q: number): number {
  let r = x - Math.floor(x / q) * q;
  if (r < 0) r += q;
  else if (r >= q) r -= q;
  return r;
}

/**
 * Adds to `into` ([limb][target], HISTOGRAM_POSITIONS targets per limb) the targets of c0 · mask: for target b,
 * Σ_i ±c0[256·((b − position(i)) mod 32) + i], the sign − where the negacyclic product wraps (b < position(i)).
 * `c0` is one polynomial's residues, [limb][coefficient]; `sums` is scratch of HISTOGRAM_POSITIONS entries.
 * A block's partial sums stay below 256 · 2^45 < 2^53, so doubles add them exactly before one reduction.
 */
export function addTargetSums(
  c0: Float64Array,
  positions: Uint8Array,
  moduli: readonly number[],
  into: Float64Array,
  sums: Float64Array,
): void {
  const rows = positions.length;
  for (let l = 0; l < moduli.length; l++) {
    const base = l * POLY_MODULUS_DEGREE;
    sums.fill(0);
    for (let i = 0; i < rows; i++) {
      const p = positions[i]!;
      const row = base + i;
      // b ≥ p reads coefficient 256·(b − p) + i; b < p reads 256·(32 + b − p) + i, negated.
      for (let b = p; b < HISTOGRAM_POSITIONS; b++) sums[b]! += c0[row + (b - p) * ROWS_PER_BLOCK]!;
      for (let b = 0; b < p; b++) sums[b]! -= c0[row + (HISTOGRAM_POSITIONS + b - p) * ROWS_PER_BLOCK]!;
    }
    const q = moduli[l]!;
    for (let b = 0; b < HISTOGRAM_POSITIONS; b++) {
      const at = l * HISTOGRAM_POSITIONS + b;
      into[at] = reduce(into[at]! + sums[b]!, q);
    }
  }
}

/**
 * Σgq and Σhq from a decrypted target (a coefficient in [0, t)), or null when it is not the sum of at most
 * MAX_HISTOGRAM_ROWS rows in range (then the histogram was not made from such rows).
 */
export function decodeSum(coefficient: bigint, t: bigint): { g: number; h: number } | null {
  const centred = 2n * coefficient > t ? coefficient - t : coefficient;
  const shift = BigInt(SHIFT);
  const h = ((centred % shift) + shift) % shift;
  const g = (centred - h) / shift;
  const most = BigInt(MAX_HISTOGRAM_ROWS * MAX_QUANTISED_GRADIENT);
  if (g < -most || g > most || h > BigInt(MAX_HISTOGRAM_ROWS * MAX_QUANTISED_HESSIAN)) return null;
  return { g: Number(g), h: Number(h) };
}
