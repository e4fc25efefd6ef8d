/**
 * What a scorer feeds the exported graph: one [rows, 1] tensor per input, built from raw columns as the node's
 * dataset store holds them, with the cell rules of models/preprocessing.ts so the graph sees what `encodeRows` sees:
 *  - numeric: `numericValue` (null, blank or unparsable strings and non-finite numbers → NaN, which the graph imputes
 *    with the mean; true/false → 1/0; numeric strings parsed);
 *  - categorical: `categoryKey` (trimmed String(value); '' for null, which no declared category can equal, so the
 *    graph puts it in the "other" slot).
 * A scorer wraps each feed as `new ort.Tensor(feed.type === 'double' ? 'float64' : 'string', feed.data, [rows, 1])`
 * under `feed.name`. Pure: builds arrays, runs nothing.
 */
import { categoryKey, numericValue } from '../preprocessing.js';
import type { Preprocessing, RawColumns } from '../types.js';
import { onnxInputs } from './input-names.js';

/** One graph input's values, in row order. */
export type OnnxFeed =
  | { readonly name: string; readonly type: 'double'; readonly data: Float64Array }
  | { readonly name: string; readonly type: 'string'; readonly data: string[] };

/**
 * The feeds for `rows` rows of `raw`, in the graph's input order.
 * Throws RangeError if a column is absent from `raw` or does not have exactly `rows` cells.
 */
export function onnxFeeds(preprocessing: Preprocessing, raw: RawColumns, rows: number): OnnxFeed[] {
  if (!Number.isInteger(rows) || rows < 0) throw new RangeError('rows must be a non-negative integer');
  return onnxInputs(preprocessing).map((input) => {
    const cells = raw.get(input.column);
    if (cells === undefined) throw new RangeError(`column ${input.column} is absent from the data`);
    if (cells.length !== rows) throw new RangeError(`column ${input.column} does not have ${rows} rows`);
    return input.type === 'double'
      ? { name: input.name, type: 'double', data: Float64Array.from(cells, numericValue) }
      : { name: input.name, type: 'string', data: cells.map(categoryKey) };
  });
}
