/**
 * Turning a bank's raw columns into the network's input, with one encoding agreed by the whole consortium.
 *
 * 1. Each member computes `localColumnStats` on its own rows: per numeric column [Σx, Σx², n] over its non-missing
 *    cells, per categorical column [rows whose value is not listed, missing included]. The layout is
 *    `localStatsLayout(columns)`; every lane is a plain sum, so secure aggregation can add the members' vectors.
 * 2. From the summed vector, `preprocessingFromSums` gives every member the same `Preprocessing`: per numeric column
 *    the consortium-wide mean and population standard deviation (√(Σx²/n − mean²); a deviation of 0 becomes 1).
 *    The "other" counts are not needed for the encoding; they tell the consortium how well the declared categories
 *    cover the data.
 * 3. `encodeRows` applies it: numeric (x − mean) / std with a missing value at the mean (0 after scaling); categorical
 *    one-hot over the declared categories plus a last "other" slot for any value not listed and for a missing value.
 *
 * What counts as missing in a numeric column: null, an empty or blank string, a string that is not a number, and any
 * non-finite number. true/false count as 1/0. Categorical values are compared as String(value) with surrounding
 * whitespace removed. No error message here carries a cell's value (cells are customer data): only column names
 * (from the job spec) and 0-based row indices.
 *
 * Numerical note: Σx² − n·mean² loses precision when |mean| is large against std (a column of values near 10^6 with
 * std 1 keeps about 4 significant digits of its variance); members should send features on a sensible scale. The same
 * sums bound the fixed-point range secure aggregation needs: |Σx²| ≤ rows·max(x²).
 */
import type { FeatureColumn, PreparedColumn, Preprocessing, RawCell, RawColumns } from './types.js';

/** Where each column's lanes sit in the local-stats vector, and its total length. */
export interface LocalStatsLayout {
  /** offsets[c] is the first lane of columns[c]: numeric columns take 3 lanes (Σx, Σx², n), categorical 1 (other). */
  readonly offsets: readonly number[];
  readonly length: number;
}

/** Lanes per numeric column in the local-stats vector: sum, sum of squares, count of non-missing cells. */
export const NUMERIC_STATS_LANES = 3;
/** Lanes per categorical column in the local-stats vector: the count of values outside the list (missing included). */
export const CATEGORICAL_STATS_LANES = 1;

/** The layout of `localColumnStats(columns, …)`. Throws RangeError on a malformed column list (see `checkColumns`). */
export function localStatsLayout(columns: readonly FeatureColumn[]): LocalStatsLayout {
  checkColumns(columns);
  const offsets: number[] = [];
  let at = 0;
  for (const column of columns) {
    offsets.push(at);
    at += column.kind === 'numeric' ? NUMERIC_STATS_LANES : CATEGORICAL_STATS_LANES;
  }
  return { offsets, length: at };
}

/**
 * This member's sums for the agreed preprocessing, laid out as `localStatsLayout(columns)`.
 * Throws RangeError if a column is absent from `raw` or the columns differ in length.
 */
export function localColumnStats(columns: readonly FeatureColumn[], raw: RawColumns): Float64Array {
  const layout = localStatsLayout(columns);
  const rows = rowCount(columns, raw);
  const out = new Float64Array(layout.length);
  columns.forEach((column, c) => {
    const cells = raw.get(column.name)!;
    const at = layout.offsets[c]!;
    if (column.kind === 'numeric') {
      let sum = 0;
      let squares = 0;
      let count = 0;
      for (let r = 0; r < rows; r++) {
        const x = numericValue(cells[r]!);
        if (Number.isNaN(x)) continue;
        sum += x;
        squares += x * x;
        count++;
      }
      out[at] = sum;
      out[at + 1] = squares;
      out[at + 2] = count;
    } else {
      const slots = categorySlots(column.categories);
      let other = 0;
      for (let r = 0; r < rows; r++) if (!slots.has(categoryKey(cells[r]!))) other++;
      out[at] = other;
    }
  });
  return out;
}

/**
 * The agreed preprocessing from the members' summed local stats. A numeric column with no value anywhere gets mean 0
 * and std 1 (every cell is then missing and encodes as 0). Throws RangeError if `summed` has the wrong length or a
 * negative count.
 */
export function preprocessingFromSums(
  columns: readonly FeatureColumn[],
  summed: Float64Array,
): Preprocessing {
  const layout = localStatsLayout(columns);
  if (summed.length !== layout.length) {
    throw new RangeError(`summed stats have ${summed.length} lanes, expected ${layout.length}`);
  }
  const prepared: PreparedColumn[] = columns.map((column, c) => {
    if (column.kind === 'categorical') {
      return { name: column.name, kind: 'categorical', categories: [...column.categories] };
    }
    const at = layout.offsets[c]!;
    const sum = summed[at]!;
    const squares = summed[at + 1]!;
    const count = summed[at + 2]!;
    if (!(count >= 0)) throw new RangeError(`column ${column.name}: negative count`);
    if (count === 0) return { name: column.name, kind: 'numeric', mean: 0, std: 1 };
    const mean = sum / count;
    const variance = Math.max(0, squares / count - mean * mean);
    const std = Math.sqrt(variance);
    return { name: column.name, kind: 'numeric', mean, std: std > 0 ? std : 1 };
  });
  return { columns: prepared };
}

/** The number of network inputs `preprocessing` produces: 1 per numeric column, categories + 1 per categorical. */
export function encodedWidth(preprocessing: Preprocessing): number {
  let width = 0;
  for (const column of preprocessing.columns)
    width += column.kind === 'numeric' ? 1 : column.categories.length + 1;
  return width;
}

/** Encoded rows, and how many cells fell back to the mean or to "other". */
export interface EncodedRows {
  /** Row-major, rows × width. */
  readonly X: Float64Array;
  readonly width: number;
  /** Per categorical column (by name): rows whose value is not listed or is missing. */
  readonly otherCount: ReadonlyMap<string, number>;
  /** Per numeric column (by name): rows whose value is missing (encoded as the mean). */
  readonly missingCount: ReadonlyMap<string, number>;
}

/**
 * Encodes `rows` rows of `raw` with `preprocessing` (see the file comment).
 * Throws RangeError if a column is absent from `raw`, a column does not have exactly `rows` cells, or the
 * preprocessing is malformed.
 */
export function encodeRows(preprocessing: Preprocessing, raw: RawColumns, rows: number): EncodedRows {
  const columns = preprocessing.columns;
  checkColumns(columns);
  if (!Number.isInteger(rows) || rows < 0) throw new RangeError('rows must be a non-negative integer');
  if (rowCount(columns, raw) !== rows) throw new RangeError(`the columns do not have ${rows} rows`);
  const width = encodedWidth(preprocessing);
  const X = new Float64Array(rows * width);
  const otherCount = new Map<string, number>();
  const missingCount = new Map<string, number>();
  let at = 0;
  for (const column of columns) {
    const cells = raw.get(column.name)!;
    if (column.kind === 'numeric') {
      if (!(column.std > 0) || !Number.isFinite(column.std) || !Number.isFinite(column.mean)) {
        throw new RangeError(`column ${column.name}: mean must be finite and std finite and > 0`);
      }
      let missing = 0;
      for (let r = 0; r < rows; r++) {
        const x = numericValue(cells[r]!);
        if (Number.isNaN(x)) missing++;
        else X[r * width + at] = (x - column.mean) / column.std;
      }
      missingCount.set(column.name, missing);
      at += 1;
    } else {
      const slots = categorySlots(column.categories);
      const otherSlot = column.categories.length;
      let other = 0;
      for (let r = 0; r < rows; r++) {
        let slot = slots.get(categoryKey(cells[r]!));
        if (slot === undefined) {
          slot = otherSlot;
          other++;
        }
        X[r * width + at + slot] = 1;
      }
      otherCount.set(column.name, other);
      at += otherSlot + 1;
    }
  }
  return { X, width, otherCount, missingCount };
}

/**
 * A label cell that is missing or not a recognised 0/1 form. A RangeError whose message names the 0-based row, and
 * carries it as `row`; never the value (labels are customer data). The caller maps it to ACCORD_TRAINING_LABEL_INVALID.
 */
export class InvalidLabelError extends RangeError {
  override readonly name = 'InvalidLabelError';
  constructor(
    /** The 0-based index of the offending row. */
    readonly row: number,
    reason: string,
  ) {
    super(`label at row ${row} ${reason}`);
  }
}

/**
 * 0/1 labels from a raw column. Without `positiveValues`: 1, '1', true, 'true', 'yes' give 1 and 0, '0', false,
 * 'false', 'no' give 0 (strings trimmed, case ignored). With `positiveValues`: a value whose trimmed String() is in the
 * list gives 1, any other present value 0.
 * Throws InvalidLabelError (a RangeError) for the first cell that is missing (null, blank) or, without
 * `positiveValues`, not one of the forms above.
 */
export function labelsOf(column: readonly RawCell[], positiveValues?: readonly string[]): Uint8Array {
  const labels = new Uint8Array(column.length);
  const positive = positiveValues === undefined ? null : new Set(positiveValues.map((v) => v.trim()));
  for (let r = 0; r < column.length; r++) {
    const cell = column[r]!;
    const label = positive === null ? labelValue(cell) : presentLabel(cell, positive);
    if (label < 0) {
      throw new InvalidLabelError(
        r,
        positive === null ? 'is missing or not one of 1/0, true/false, yes/no' : 'is missing',
      );
    }
    labels[r] = label;
  }
  return labels;
}

/** A numeric cell's value, or NaN when it is missing (see the file comment for what counts as missing). */
export function numericValue(cell: RawCell): number {
  if (typeof cell === 'number') return Number.isFinite(cell) ? cell : Number.NaN;
  if (typeof cell === 'boolean') return cell ? 1 : 0;
  if (cell === null) return Number.NaN;
  const text = cell.trim();
  if (text === '') return Number.NaN;
  const x = Number(text);
  return Number.isFinite(x) ? x : Number.NaN;
}

/** A categorical cell as compared with the declared categories: trimmed String(), '' when missing. */
export function categoryKey(cell: RawCell): string {
  return cell === null ? '' : String(cell).trim();
}

function labelValue(cell: RawCell): number {
  if (typeof cell === 'number') return cell === 1 ? 1 : cell === 0 ? 0 : -1;
  if (typeof cell === 'boolean') return cell ? 1 : 0;
  if (cell === null) return -1;
  const text = cell.trim().toLowerCase();
  if (text === '1' || text === 'true' || text === 'yes') return 1;
  if (text === '0' || text === 'false' || text === 'no') return 0;
  return -1;
}

function presentLabel(cell: RawCell, positive: ReadonlySet<string>): number {
  const key = categoryKey(cell);
  if (key === '') return -1;
  return positive.has(key) ? 1 : 0;
}

function categorySlots(categories: readonly string[]): Map<string, number> {
  return new Map(categories.map((category, k) => [category, k]));
}

/**
 * Column names must be unique and non-empty; categories unique, non-empty and free of surrounding whitespace (a value
 * is trimmed before it is compared, so such a category could never match).
 */
function checkColumns(columns: readonly (FeatureColumn | PreparedColumn)[]): void {
  const names = new Set<string>();
  for (const column of columns) {
    const name = column.name;
    if (name === '' || names.has(name)) {
      throw new RangeError(`column names must be unique and non-empty (column ${names.size})`);
    }
    names.add(name);
    if (column.kind === 'categorical') {
      const seen = new Set<string>();
      for (const category of column.categories) {
        if (category === '' || category !== category.trim() || seen.has(category)) {
          throw new RangeError(
            `column ${name}: categories must be unique, non-empty and without surrounding spaces`,
          );
        }
        seen.add(category);
      }
    } else if (column.kind !== 'numeric') {
      throw new RangeError(`column ${name}: unknown kind`);
    }
  }
}

/** The common length of the listed columns in `raw`. Throws RangeError if one is absent or lengths differ. */
function rowCount(columns: readonly (FeatureColumn | PreparedColumn)[], raw: RawColumns): number {
  let rows = -1;
  for (const column of columns) {
    const cells = raw.get(column.name);
    if (cells === undefined) throw new RangeError(`column ${column.name} is absent from the data`);
    if (rows === -1) rows = cells.length;
    else if (cells.length !== rows) throw new RangeError(`column ${column.name} has a different length`);
  }
  return rows === -1 ? 0 : rows;
}
