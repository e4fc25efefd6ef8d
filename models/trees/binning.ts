/**
 * Feature binning for boosted trees: each feature's raw cells become histogram positions (models/trees/types.ts), so
 * that split finding works on at most HISTOGRAM_POSITIONS sums per feature, in plaintext and under encryption alike.
 *
 * 1. `fitBinning` fits each feature on the training rows of the party that holds it:
 *    numeric: one bin per distinct value when there are at most `bins` of them, otherwise cut points at the training
 *    values' quantiles k/bins (k = 1..bins−1), equal cut points merged. A bin's upper edge is the midpoint between the
 *    largest training value in it and the smallest in the next, so a value between two training values goes to the
 *    nearer one. A constant (or all-missing) column gets one bin.
 *    categorical: one bin per declared category, then one "other" bin for any value not declared.
 * 2. `binColumns` gives every row its position: a value bin, or MISSING_BIN. Missing is what models/preprocessing.ts
 *    treats as missing in a numeric column (null, blank, a string that is not a number, a non-finite number); in a
 *    categorical column, null or blank (a value that is present but not declared is "other", not missing).
 * 3. `ruleOf` turns a split found on positions into the raw-unit rule the feature's owner keeps. For every value,
 *    training row or not, the rule sends a row the same way as the split does on its position: x ≤ upper[k] exactly
 *    when x is in bins 0..k.
 *
 * Pure: no I/O. No error message carries a cell's value, only column names and counts.
 */
import { categoryKey, numericValue } from '../preprocessing.js';
import type { FeatureColumn, RawCell, RawColumns } from '../types.js';
import {
  type FeatureBinning,
  MAX_VALUE_BINS,
  MISSING_BIN,
  type SplitCandidate,
  type SplitRule,
} from './types.js';

/**
 * Fits the binning of each of `features` on `trainingRows` (row indices into the columns of `raw`), with at most
 * `bins` value bins per numeric feature (see the file comment). Returns one FeatureBinning per feature, in order.
 * Throws RangeError if `bins` is not an integer in [2, MAX_VALUE_BINS], a column is absent or of another length than
 * the others, a training row is out of range, the feature list is malformed (names unique and non-empty; categories
 * unique, non-empty, without surrounding spaces), or a categorical feature has more than MAX_VALUE_BINS − 1 categories.
 */
export function fitBinning(
  features: readonly FeatureColumn[],
  raw: RawColumns,
  trainingRows: readonly number[],
  bins: number,
): FeatureBinning[] {
  if (!Number.isInteger(bins) || bins < 2 || bins > MAX_VALUE_BINS) {
    throw new RangeError(`bins must be an integer in [2, ${MAX_VALUE_BINS}]`);
  }
  checkFeatures(features);
  const rows = commonLength(
    features.map((f) => f.name),
    raw,
  );
  for (const r of trainingRows) {
    if (!Number.isInteger(r) || r < 0 || r >= rows) throw new RangeError('a training row is out of range');
  }
  return features.map((feature): FeatureBinning => {
    if (feature.kind === 'categorical') {
      return { name: feature.name, kind: 'categorical', categories: [...feature.categories] };
    }
    const cells = raw.get(feature.name)!;
    const values = new Float64Array(trainingRows.length);
    let n = 0;
    for (const r of trainingRows) {
      const x = numericValue(cells[r]!);
      if (!Number.isNaN(x)) values[n++] = x;
    }
    return { name: feature.name, kind: 'numeric', upper: quantileEdges(values.subarray(0, n).sort(), bins) };
  });
}

/** The number of value bins of a feature (positions 0..valueBins−1; MISSING_BIN is separate). */
export function valueBins(binning: FeatureBinning): number {
  return binning.kind === 'numeric' ? binning.upper.length + 1 : binning.categories.length + 1;
}

/** The histogram position of one raw cell under `binning`: its value bin, or MISSING_BIN (see the file comment). */
export function binOfValue(binning: FeatureBinning, cell: RawCell): number {
  if (binning.kind === 'numeric') {
    const x = numericValue(cell);
    return Number.isNaN(x) ? MISSING_BIN : numericBin(binning.upper, x);
  }
  const key = categoryKey(cell);
  if (key === '') return MISSING_BIN;
  const slot = binning.categories.indexOf(key);
  return slot < 0 ? binning.categories.length : slot;
}

/**
 * Every row's position per feature: one Uint8Array of `rows` positions per entry of `binning`, in order.
 * Throws RangeError if a feature's column is absent from `raw` or does not have exactly `rows` cells.
 */
export function binColumns(binning: readonly FeatureBinning[], raw: RawColumns, rows: number): Uint8Array[] {
  if (!Number.isInteger(rows) || rows < 0) throw new RangeError('rows must be a non-negative integer');
  return binning.map((feature) => {
    const cells = raw.get(feature.name);
    if (cells === undefined) throw new RangeError(`column ${feature.name} is absent from the data`);
    if (cells.length !== rows) throw new RangeError(`column ${feature.name} does not have ${rows} rows`);
    const out = new Uint8Array(rows);
    if (feature.kind === 'numeric') {
      for (let r = 0; r < rows; r++) {
        const x = numericValue(cells[r]!);
        out[r] = Number.isNaN(x) ? MISSING_BIN : numericBin(feature.upper, x);
      }
    } else {
      const slots = new Map(feature.categories.map((category, c) => [category, c]));
      const other = feature.categories.length;
      for (let r = 0; r < rows; r++) {
        const key = categoryKey(cells[r]!);
        out[r] = key === '' ? MISSING_BIN : (slots.get(key) ?? other);
      }
    }
    return out;
  });
}

/**
 * The raw-unit rule of a split found on `binning`'s positions. Numeric: left iff x ≤ the upper edge of the last
 * left bin (Number.MAX_VALUE when every value bin goes left, so that only missing values go right). Categorical:
 * the categories of the left bins, and whether "other" goes left. Missing values go as the candidate says.
 * Throws RangeError if the left bins are empty, unsorted, out of range for the feature, or (numeric) not a prefix.
 */
export function ruleOf(binning: FeatureBinning, candidate: SplitCandidate): SplitRule {
  const bins = valueBins(binning);
  const left = candidate.leftBins;
  if (left.length === 0) throw new RangeError('a split sends no value bin left');
  left.forEach((b, i) => {
    if (!Number.isInteger(b) || b < 0 || b >= bins || (i > 0 && b <= left[i - 1]!)) {
      throw new RangeError(`split on ${binning.name}: left bins must be ascending value bins of the feature`);
    }
  });
  if (binning.kind === 'numeric') {
    const last = left.length - 1;
    if (left[last] !== last)
      throw new RangeError(`split on ${binning.name}: a numeric split must be a prefix`);
    const threshold = last < binning.upper.length ? binning.upper[last]! : Number.MAX_VALUE;
    return { feature: binning.name, kind: 'numeric', threshold, missingLeft: candidate.missingLeft };
  }
  const other = binning.categories.length;
  return {
    feature: binning.name,
    kind: 'categorical',
    left: left.filter((b) => b < other).map((b) => binning.categories[b]!),
    otherLeft: left.includes(other),
    categories: [...binning.categories],
    missingLeft: candidate.missingLeft,
  };
}

/** The first bin b with x ≤ upper[b], else upper.length (binary search; `upper` ascending). */
function numericBin(upper: readonly number[], x: number): number {
  let lo = 0;
  let hi = upper.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (x <= upper[mid]!) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** Upper edges of at most `bins` value bins over `sorted` (ascending, no NaN); see the file comment. */
function quantileEdges(sorted: Float64Array, bins: number): number[] {
  const n = sorted.length;
  // The largest value of each left bin; each edge then sits midway to the next distinct value.
  const lasts: number[] = [];
  let distinct = 0;
  for (let i = 0; i < n && distinct <= bins; i++) if (i === 0 || sorted[i] !== sorted[i - 1]) distinct++;
  if (distinct <= bins) {
    for (let i = 1; i < n; i++) if (sorted[i] !== sorted[i - 1]) lasts.push(sorted[i - 1]!);
  } else {
    const max = sorted[n - 1]!;
    for (let k = 1; k < bins; k++) {
      const v = sorted[Math.ceil((k * n) / bins) - 1]!;
      if (v < max && (lasts.length === 0 || v > lasts[lasts.length - 1]!)) lasts.push(v);
    }
  }
  return lasts.map((v) => {
    const next = sorted[firstAbove(sorted, v)]!;
    const mid = v + (next - v) / 2;
    // Adjacent doubles have no midpoint strictly between them: keep v itself.
    return mid < next ? mid : v;
  });
}

/** The index of the first element of `sorted` greater than v (sorted.length if none). */
function firstAbove(sorted: Float64Array, v: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! <= v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function checkFeatures(features: readonly FeatureColumn[]): void {
  const names = new Set<string>();
  for (const feature of features) {
    if (feature.name === '' || names.has(feature.name)) {
      throw new RangeError(`feature names must be unique and non-empty (feature ${names.size})`);
    }
    names.add(feature.name);
    const kind: string = feature.kind;
    if (kind === 'numeric') continue;
    if (kind !== 'categorical' || feature.kind !== 'categorical') {
      throw new RangeError(`feature ${feature.name}: unknown kind`);
    }
    const categories = feature.categories;
    if (
      categories.some((c) => c === '' || c !== c.trim()) ||
      new Set(categories).size !== categories.length
    ) {
      throw new RangeError(
        `feature ${feature.name}: categories must be unique, non-empty and without surrounding spaces`,
      );
    }
    if (categories.length + 1 > MAX_VALUE_BINS) {
      throw new RangeError(
        `feature ${feature.name}: ${categories.length} categories and "other" exceed ${MAX_VALUE_BINS} bins`,
      );
    }
  }
}

function commonLength(names: readonly string[], raw: RawColumns): number {
  let rows = -1;
  for (const name of names) {
    const cells = raw.get(name);
    if (cells === undefined) throw new RangeError(`column ${name} is absent from the data`);
    if (rows === -1) rows = cells.length;
    else if (cells.length !== rows) throw new RangeError(`column ${name} has a different length`);
  }
  return rows === -1 ? 0 : rows;
}
