/**
 * Gradients of the binary logistic loss for boosted trees, and the fixed point they are summed in.
 *
 * With margin z (log-odds) and p = sigmoid(z), the loss −[y·ln p + (1−y)·ln(1−p)] has gradient g = p − y ∈ [−1, 1]
 * and hessian h = p(1−p) ∈ [0, ¼] in z (Chen & Guestrin, "XGBoost", KDD 2016, §2.2).
 *
 * Fixed point. The vertical protocol (SecureBoost, Cheng et al. 2021) encrypts every row's g and h as integers and
 * the feature holders add them under encryption, so the sums are integer sums. The plaintext trainer quantises the
 * same way and adds the same integers: gq = round(g·2^GRADIENT_BITS) ∈ [−4096, 4096], hq = round(h·2^HESSIAN_BITS)
 * ∈ [0, 4096]. A sum of up to 2^40 such integers is exact in a double, and dividing it by a power of two is exact, so
 * both sides see bit-identical histograms and grow bit-identical trees. The rounding costs at most 2^−13 per row in g
 * and 2^−15 in h, far below what a histogram bin's sum is used for.
 *
 * Indexing. Labels and margins are indexed by row position (the index into the party's aligned rows, as the feature
 * bins are); `logisticGradients` returns one entry per listed row, in list order. Histograms and the grower take gq
 * and hq indexed by row position again (scatter them: gq[rows[i]] = q.g[i]).
 *
 * Pure: no I/O.
 */
import { sigmoid } from '../network.js';

/** Fractional bits of a quantised gradient: gq = round(g · 2^12). */
export const GRADIENT_BITS = 12;
/** Fractional bits of a quantised hessian: hq = round(h · 2^14) (h ≤ ¼, so hq ≤ 4096 too). */
export const HESSIAN_BITS = 14;

const GRADIENT_SCALE = 2 ** GRADIENT_BITS;
const HESSIAN_SCALE = 2 ** HESSIAN_BITS;

/**
 * The gradient and hessian of the logistic loss for each listed row: entry i is for row position rows[i], with
 * g[i] = p − y and h[i] = p(1−p), p = sigmoid(margins[rows[i]]) and y = labels[rows[i]]. (`labels` and `margins` are
 * indexed by row position; the result by position in `rows`.)
 * Throws RangeError if `margins` is not as long as `labels`, a row is out of range, a listed label is not 0/1 or a
 * listed margin is not finite.
 */
export function logisticGradients(
  labels: Uint8Array,
  margins: Float64Array,
  rows: readonly number[] | Int32Array,
): { g: Float64Array; h: Float64Array } {
  const n = labels.length;
  if (margins.length !== n) throw new RangeError(`${margins.length} margins but ${n} labels`);
  const g = new Float64Array(rows.length);
  const h = new Float64Array(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i]!;
    if (!(r >= 0 && r < n && Number.isInteger(r)))
      throw new RangeError(`row ${i} of the list is out of range`);
    const y = labels[r]!;
    if (y > 1) throw new RangeError(`the label at row ${r} is not 0 or 1`);
    const z = margins[r]!;
    if (!Number.isFinite(z)) throw new RangeError(`the margin at row ${r} is not finite`);
    const p = sigmoid(z);
    g[i] = p - y;
    h[i] = p * (1 - p);
  }
  return { g, h };
}

/**
 * The fixed-point form of `g` and `h` (see the file comment): gq = round(g·2^12) clamped to [−4096, 4096],
 * hq = round(h·2^14) clamped to [0, 4096]. Throws RangeError if the lengths differ or a value is NaN.
 */
export function quantiseGradients(g: Float64Array, h: Float64Array): { g: Int32Array; h: Int32Array } {
  if (g.length !== h.length) throw new RangeError(`${g.length} gradients but ${h.length} hessians`);
  const gq = new Int32Array(g.length);
  const hq = new Int32Array(h.length);
  for (let r = 0; r < g.length; r++) {
    const gr = g[r]!;
    const hr = h[r]!;
    if (Number.isNaN(gr) || Number.isNaN(hr)) throw new RangeError(`row ${r} has a NaN gradient or hessian`);
    gq[r] = clamp(Math.round(gr * GRADIENT_SCALE), -GRADIENT_SCALE, GRADIENT_SCALE);
    hq[r] = clamp(Math.round(hr * HESSIAN_SCALE), 0, 4096);
  }
  return { g: gq, h: hq };
}

/** A sum of quantised gradients and one of quantised hessians, back in loss units (exact: a power-of-two scale). */
export function dequantiseSums(gSum: number, hSum: number): { g: number; h: number } {
  return { g: gSum / GRADIENT_SCALE, h: hSum / HESSIAN_SCALE };
}

/**
 * The starting margin of every row: the log-odds ln(P/N) of the positive rate over `rows` (P positives, N negatives),
 * the constant that minimises the training loss before any tree.
 * Throws RangeError if a row is out of range or the rows do not hold both labels (the log-odds would be infinite).
 */
export function baseMargin(labels: Uint8Array, rows: readonly number[] | Int32Array): number {
  let positives = 0;
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i]!;
    if (!(r >= 0 && r < labels.length && Number.isInteger(r))) {
      throw new RangeError(`row ${i} of the list is out of range`);
    }
    if (labels[r] === 1) positives++;
  }
  const negatives = rows.length - positives;
  if (positives === 0 || negatives === 0) throw new RangeError('the training rows need both labels, 0 and 1');
  return Math.log(positives / negatives);
}

function clamp(x: number, lo: number, hi: number): number {
  return x < lo ? lo : x > hi ? hi : x;
}
