/**
 * FedAvg (McMahan et al., "Communication-Efficient Learning of Deep Networks from Decentralized Data", 2017): the new
 * global model is the average of the members' locally trained parameters, each weighted by its row count.
 *
 * Secure aggregation reveals only the sum of the members' vectors, so the weighted average is written as a sum:
 * member i sends θ_i·w_i followed by w_i, with w_i = rows_i / rowsScale; the sum is (Σ θ_i·w_i, Σ w_i) and the average
 * is its first P lanes divided by its last. `rowsScale` is a public bound on the rows (e.g. the consortium's total)
 * so every lane stays within |θ| and the weight within [0, 1]: the range fixed-point encoding must cover. The members'
 * individual row counts never leave them; only their total (as Σ w_i) is revealed, together with the average.
 */

/** One member's trained parameters and the rows they were trained on. */
export interface FedAvgInput {
  readonly parameters: Float64Array;
  readonly rows: number;
}

/**
 * The vector a member submits to secure aggregation: parameters·w then w, w = rows / rowsScale (length P + 1).
 * Throws RangeError unless 0 <= rows <= rowsScale and rowsScale > 0 (a member with more rows than the public bound
 * would leave the range the fixed-point encoding was sized for).
 */
export function fedAvgContribution(parameters: Float64Array, rows: number, rowsScale: number): Float64Array {
  if (!(rowsScale > 0) || !Number.isFinite(rowsScale))
    throw new RangeError('rowsScale must be a finite number > 0');
  if (!Number.isInteger(rows) || rows < 0) throw new RangeError('rows must be a non-negative integer');
  if (rows > rowsScale) throw new RangeError('rows exceeds rowsScale, the public bound on rows');
  const weight = rows / rowsScale;
  const out = new Float64Array(parameters.length + 1);
  for (let k = 0; k < parameters.length; k++) out[k] = parameters[k]! * weight;
  out[parameters.length] = weight;
  return out;
}

/**
 * The global parameters from the sum of all contributions: its first P lanes divided by its last (length P).
 * Throws RangeError if the summed weight is not > 0 (no member contributed rows).
 */
export function fedAvgFromSum(sum: Float64Array): Float64Array {
  if (sum.length < 2) throw new RangeError('a FedAvg sum has at least one parameter and the weight');
  const count = sum.length - 1;
  const weight = sum[count]!;
  if (!(weight > 0)) throw new RangeError('the summed weight must be > 0');
  const out = new Float64Array(count);
  for (let k = 0; k < count; k++) out[k] = sum[k]! / weight;
  return out;
}

/**
 * The plain row-weighted average Σ rows_i·θ_i / Σ rows_i: the reference the secure form must agree with.
 * Throws RangeError on an empty list, parameter vectors of different lengths, or no rows in total.
 */
export function fedAvg(members: readonly FedAvgInput[]): Float64Array {
  const first = members[0];
  if (first === undefined) throw new RangeError('FedAvg needs at least one member');
  const out = new Float64Array(first.parameters.length);
  let total = 0;
  for (const { parameters, rows } of members) {
    if (parameters.length !== out.length)
      throw new RangeError('members have parameter vectors of different lengths');
    if (!Number.isInteger(rows) || rows < 0) throw new RangeError('rows must be a non-negative integer');
    for (let k = 0; k < out.length; k++) out[k]! += rows * parameters[k]!;
    total += rows;
  }
  if (total === 0) throw new RangeError('the members have no rows');
  for (let k = 0; k < out.length; k++) out[k]! /= total;
  return out;
}
