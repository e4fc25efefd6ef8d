/**
 * Split finding for boosted trees on per-feature gradient histograms (models/trees/types.ts), the XGBoost way:
 * a node with gradient sum G and hessian sum H split into (G_L, H_L) and (G_R, H_R) gains
 *   gain = ½ [G_L²/(H_L+λ) + G_R²/(H_R+λ) − G²/(H+λ)] − γ
 * (Chen & Guestrin, "XGBoost", KDD 2016, eq. 7), and a leaf's weight is −G/(H+λ).
 *
 * Candidates per feature:
 *   numeric: value bins 0..k left, the rest right, for k = 0..valueBins−1 (the last sends every present value left,
 *     so only missing values go right);
 *   categorical: the value bins that hold any gradient or hessian ordered by G/H ascending (LightGBM's ordering; ties
 *     by bin), then the first k of that order left for k = 1..m; bins with nothing in them go right.
 * The missing position is tried on each side when it holds any gradient or hessian; when it holds nothing, missing
 * values go to the child with the larger hessian (left on a tie), as scikit-learn sends them to the larger child.
 * Each child must have a hessian sum > 0 and ≥ minChildWeight.
 *
 * Determinism. Histogram values are sums of quantised integers scaled by a power of two (models/trees/gradients.ts),
 * so every prefix sum and every parent − child difference here is exact, and the same histograms give the same gains
 * bit for bit wherever they are computed. Ties keep the first candidate met: lowest feature, then lowest k, then
 * missing right before missing left.
 *
 * Pure: no I/O.
 */
import { dequantiseSums } from './gradients.js';
import {
  HISTOGRAM_POSITIONS,
  type Histogram,
  MAX_VALUE_BINS,
  MISSING_BIN,
  type SplitCandidate,
  type TreeParams,
} from './types.js';

/** What split finding needs to know of a feature: its kind and number of value bins. */
export interface BinnedFeature {
  readonly kind: 'numeric' | 'categorical';
  readonly valueBins: number;
}

/**
 * Per-feature histograms of the rows listed in `rows`: for feature f and position p, the sums of gq and hq over the
 * rows r with bins[f][r] = p, summed as integers and then scaled by 2^−GRADIENT_BITS and 2^−HESSIAN_BITS.
 * `bins[f]`, `gq` and `hq` are indexed by row position; `rows` lists row positions.
 * Throws RangeError if `gq`, `hq` and the bin columns differ in length or a row is out of range.
 */
export function plainHistograms(
  bins: readonly Uint8Array[],
  rows: Int32Array | readonly number[],
  gq: Int32Array,
  hq: Int32Array,
): Histogram[] {
  const n = gq.length;
  if (hq.length !== n) throw new RangeError(`${n} gradients but ${hq.length} hessians`);
  bins.forEach((column, f) => {
    if (column.length !== n) throw new RangeError(`feature ${f} has ${column.length} rows, expected ${n}`);
  });
  // The node's rows once, with their gradients gathered beside them: every feature then reads them in order.
  const m = rows.length;
  const at = new Int32Array(m);
  const g = new Float64Array(m);
  const h = new Float64Array(m);
  for (let i = 0; i < m; i++) {
    const r = rows[i]!;
    if (!(r >= 0 && r < n && (r | 0) === r)) throw new RangeError(`row ${i} of the list is out of range`);
    at[i] = r;
    g[i] = gq[r]!;
    h[i] = hq[r]!;
  }
  // Integer sums, interleaved: sums[2p] over gq, sums[2p + 1] over hq (exact in doubles up to 2^53).
  const sums = new Float64Array(2 * HISTOGRAM_POSITIONS);
  return bins.map((column) => {
    sums.fill(0);
    for (let i = 0; i < m; i++) {
      const p = column[at[i]!]! << 1;
      sums[p]! += g[i]!;
      sums[p + 1]! += h[i]!;
    }
    const histogram = emptyHistogram();
    for (let p = 0; p < HISTOGRAM_POSITIONS; p++) {
      const scaled = dequantiseSums(sums[2 * p]!, sums[2 * p + 1]!);
      histogram.g[p] = scaled.g;
      histogram.h[p] = scaled.h;
    }
    return histogram;
  });
}

/**
 * A party's bins laid out row-major (row r's positions at data[r·features .. r·features + features − 1]): the layout
 * `matrixHistograms` reads, about twice as fast as one column per feature because a row's bins share a cache line.
 */
export interface BinMatrix {
  readonly features: number;
  readonly rows: number;
  readonly data: Uint8Array;
}

/**
 * The row-major copy of per-feature bin columns of `rows` rows each (a party may have no features: rows still counts).
 * Throws RangeError if a column does not have `rows` entries.
 */
export function binMatrix(bins: readonly Uint8Array[], rows: number): BinMatrix {
  if (!Number.isInteger(rows) || rows < 0) throw new RangeError('rows must be a non-negative integer');
  const features = bins.length;
  const data = new Uint8Array(rows * features);
  bins.forEach((column, f) => {
    if (column.length !== rows)
      throw new RangeError(`feature ${f} has ${column.length} rows, expected ${rows}`);
    for (let r = 0; r < rows; r++) data[r * features + f] = column[r]!;
  });
  return { features, rows, data };
}

/**
 * `plainHistograms` over a row-major `BinMatrix`: the same integer sums, so the same values bit for bit.
 * Throws RangeError if `gq`, `hq` and the matrix differ in rows or a row is out of range.
 */
export function matrixHistograms(
  matrix: BinMatrix,
  rows: Int32Array | readonly number[],
  gq: Int32Array,
  hq: Int32Array,
): Histogram[] {
  const { features, data } = matrix;
  const n = gq.length;
  if (hq.length !== n || matrix.rows !== n) {
    throw new RangeError(`${n} gradients, ${hq.length} hessians and ${matrix.rows} rows of bins`);
  }
  // Per feature 2·HISTOGRAM_POSITIONS integer sums, interleaved as in plainHistograms.
  const stride = 2 * HISTOGRAM_POSITIONS;
  const sums = new Float64Array(features * stride);
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i]!;
    if (!(r >= 0 && r < n && (r | 0) === r)) throw new RangeError(`row ${i} of the list is out of range`);
    const g = gq[r]!;
    const h = hq[r]!;
    const base = r * features;
    for (let f = 0; f < features; f++) {
      const p = f * stride + (data[base + f]! << 1);
      sums[p]! += g;
      sums[p + 1]! += h;
    }
  }
  return Array.from({ length: features }, (_, f) => {
    const histogram = emptyHistogram();
    for (let p = 0; p < HISTOGRAM_POSITIONS; p++) {
      const scaled = dequantiseSums(sums[f * stride + 2 * p]!, sums[f * stride + 2 * p + 1]!);
      histogram.g[p] = scaled.g;
      histogram.h[p] = scaled.h;
    }
    return histogram;
  });
}

/**
 * parent − child per feature and position: the sibling's histograms (exact, see the file comment).
 * Throws RangeError if the two lists or any histogram differ in length.
 */
export function subtractHistograms(parent: readonly Histogram[], child: readonly Histogram[]): Histogram[] {
  if (parent.length !== child.length) {
    throw new RangeError(`${parent.length} parent histograms but ${child.length} child histograms`);
  }
  return parent.map((p, f) => {
    const c = child[f]!;
    checkHistogram(p, f);
    checkHistogram(c, f);
    const out = emptyHistogram();
    for (let i = 0; i < HISTOGRAM_POSITIONS; i++) {
      out.g[i] = p.g[i]! - c.g[i]!;
      out.h[i] = p.h[i]! - c.h[i]!;
    }
    return out;
  });
}

/**
 * The best split of one node over its features (see the file comment), or null when no split has a positive gain.
 * `histograms[f]` is feature f's histogram at the node, `features[f]` its kind and value bins, `allowed[f]` false
 * to skip it (feature subsampling; all allowed when absent).
 * Throws RangeError if the lists differ in length, a histogram does not have HISTOGRAM_POSITIONS positions or holds
 * anything at a position past the feature's value bins (other than MISSING_BIN), or a feature's value bins are not
 * an integer in [1, MAX_VALUE_BINS].
 */
export function bestSplit(
  histograms: readonly Histogram[],
  features: readonly BinnedFeature[],
  params: TreeParams,
  allowed?: readonly boolean[],
): SplitCandidate | null {
  if (histograms.length !== features.length) {
    throw new RangeError(`${histograms.length} histograms but ${features.length} features`);
  }
  if (allowed !== undefined && allowed.length !== features.length) {
    throw new RangeError(`allowed has ${allowed.length} entries, expected ${features.length}`);
  }
  const lambda = params.l2;
  const minChild = params.minChildWeight;
  const gamma = params.minSplitGain ?? 0;

  let bestGain = 0;
  let best: Omit<SplitCandidate, 'gain' | 'left' | 'right'> | null = null;
  let bestLeft = { g: 0, h: 0 };
  let bestRight = { g: 0, h: 0 };

  for (let f = 0; f < features.length; f++) {
    const feature = features[f]!;
    const histogram = histograms[f]!;
    checkHistogram(histogram, f);
    const bins = feature.valueBins;
    if (!Number.isInteger(bins) || bins < 1 || bins > MAX_VALUE_BINS) {
      throw new RangeError(`feature ${f}: value bins must be an integer in [1, ${MAX_VALUE_BINS}]`);
    }
    for (let p = bins; p < MISSING_BIN; p++) {
      if (histogram.g[p] !== 0 || histogram.h[p] !== 0) {
        throw new RangeError(`feature ${f}: position ${p} is past its ${bins} value bins but not empty`);
      }
    }
    if (allowed !== undefined && !allowed[f]) continue;

    const g = histogram.g;
    const h = histogram.h;
    const mg = g[MISSING_BIN]!;
    const mh = h[MISSING_BIN]!;
    let G = mg;
    let H = mh;
    for (let p = 0; p < bins; p++) {
      G += g[p]!;
      H += h[p]!;
    }
    const parentScore = (G * G) / (H + lambda);
    const missingEmpty = mg === 0 && mh === 0;

    // The bins in the order their prefixes are tried: numeric 0, 1, 2, …; categorical by G/H.
    const order = feature.kind === 'numeric' ? null : byRatio(g, h, bins);
    const count = order === null ? bins : order.length;
    let gl = 0;
    let hl = 0;
    for (let k = 0; k < count; k++) {
      const b = order === null ? k : order[k]!;
      gl += g[b]!;
      hl += h[b]!;
      // Missing right, then (if it holds anything) missing left.
      for (let side = 0; side < (missingEmpty ? 1 : 2); side++) {
        const GL = side === 0 ? gl : gl + mg;
        const HL = side === 0 ? hl : hl + mh;
        const GR = G - GL;
        const HR = H - HL;
        if (!(HL > 0 && HR > 0 && HL >= minChild && HR >= minChild)) continue;
        const gain = 0.5 * ((GL * GL) / (HL + lambda) + (GR * GR) / (HR + lambda) - parentScore) - gamma;
        if (!(gain > bestGain)) continue;
        bestGain = gain;
        const leftBins =
          order === null
            ? Array.from({ length: k + 1 }, (_, i) => i)
            : order.slice(0, k + 1).sort((x, y) => x - y);
        best = { feature: f, leftBins, missingLeft: missingEmpty ? HL >= HR : side === 1 };
        bestLeft = { g: GL, h: HL };
        bestRight = { g: GR, h: HR };
      }
    }
  }
  if (best === null) return null;
  return { ...best, gain: bestGain, left: bestLeft, right: bestRight };
}

/** A leaf's weight −g/(h+λ) for gradient sum g and hessian sum h; 0 when h + λ is not positive (an empty node). */
export function leafWeight(g: number, h: number, l2: number): number {
  const d = h + l2;
  return d > 0 ? -g / d : 0;
}

/** Whether a row at histogram `position` (a value bin or MISSING_BIN) goes left under `candidate`. */
export function goesLeft(candidate: SplitCandidate, position: number): boolean {
  return position === MISSING_BIN ? candidate.missingLeft : candidate.leftBins.includes(position);
}

/** `goesLeft` for every position at once: table[p] = 1 when a row at position p goes left. */
export function leftTable(candidate: SplitCandidate): Uint8Array {
  const table = new Uint8Array(HISTOGRAM_POSITIONS);
  for (const b of candidate.leftBins) {
    if (!(Number.isInteger(b) && b >= 0 && b < MISSING_BIN))
      throw new RangeError('a left bin is out of range');
    table[b] = 1;
  }
  table[MISSING_BIN] = candidate.missingLeft ? 1 : 0;
  return table;
}

/** A histogram of zeros (HISTOGRAM_POSITIONS positions). */
export function emptyHistogram(): Histogram {
  return { g: new Float64Array(HISTOGRAM_POSITIONS), h: new Float64Array(HISTOGRAM_POSITIONS) };
}

function checkHistogram(histogram: Histogram, f: number): void {
  if (histogram.g.length !== HISTOGRAM_POSITIONS || histogram.h.length !== HISTOGRAM_POSITIONS) {
    throw new RangeError(`feature ${f}: a histogram must have ${HISTOGRAM_POSITIONS} positions`);
  }
}

/** The value bins holding anything, by G/H ascending (h = 0 gives ±∞ by the sign of g), ties by bin. */
function byRatio(g: Float64Array, h: Float64Array, bins: number): number[] {
  const used: number[] = [];
  const ratio = new Float64Array(bins);
  for (let b = 0; b < bins; b++) {
    if (g[b] === 0 && h[b] === 0) continue;
    used.push(b);
    ratio[b] = g[b]! / h[b]!;
  }
  return used.sort((a, b) => ratio[a]! - ratio[b]! || a - b);
}
