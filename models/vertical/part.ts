/**
 * One party's part of a vertically federated logistic regression, and the arithmetic that joins the parts.
 *
 * In vertical federated learning the banks hold different columns about the same (aligned) customers. Each party
 * keeps its own part: its own preprocessing (models/types.ts `Preprocessing`, applied by `encodeRows`) and one
 * weight per encoded column. A feature holder's part gives a partial logit per row,
 *   z_P = encoded(x_P) · w_P,
 * and the label holder's part gives its own z_A = encoded(x_A) · w_A + bias, then joins them:
 *   score = sigmoid(z_A + z_P1 + z_P2 + …)   (partners in `partners` order, added left to right).
 * Only partial logits cross between banks, never columns or weights. The ONNX form of a part is
 * models/onnx/vertical-export.ts, which computes the same quantities in the same order.
 *
 * Pure: no I/O. Every function checks shapes and throws RangeError on a mismatch.
 */
import { MEMBER_NAME_PATTERN } from '../../primitives/consortium/roles.js';
import { sigmoid } from '../network.js';
import { encodedWidth, encodeRows } from '../preprocessing.js';
import type { Preprocessing, RawColumns } from '../types.js';

export type VerticalRole = 'label-holder' | 'feature-holder';

export interface VerticalPart {
  readonly role: VerticalRole;
  readonly preprocessing: Preprocessing;
  /** One weight per encoded column (encodedWidth(preprocessing)). */
  readonly weights: Float64Array;
  /** The intercept: the label holder's only; 0 for a feature holder. */
  readonly bias: number;
  /** Label holder: the feature holders whose partial logits it adds, in input order. Feature holder: []. */
  readonly partners: readonly string[];
}

/** The ONNX output carrying a part's own logit (a feature holder's z_P; the label holder's z_A, bias included). */
export const PARTIAL_LOGIT_OUTPUT = 'partial_logit';

/** What every partner input name starts with: the output name it is fed from, then a double underscore. */
export const PARTIAL_INPUT_PREFIX = `${PARTIAL_LOGIT_OUTPUT}__`;

/**
 * The label holder's ONNX input name for `member`'s partial logit: `partial_logit__` then the member name with each
 * `-` written `_` (`bank-b` → `partial_logit__bank_b`).
 *
 * Member names follow MEMBER_NAME_PATTERN (primitives/consortium/roles.ts: a lowercase letter, then lowercase
 * letters, digits and dashes), so the name is a C90 identifier as input-names.ts requires, and the mapping is
 * one-to-one (a member name never contains `_`): two partners never share an input. It never equals `score` or
 * `partial_logit` (the outputs), since a member name is never empty.
 *
 * Column inputs: input-names.ts can give a column any C90 identifier (a column literally named
 * `partial_logit__bank_b` keeps that name), so no fixed naming scheme can rule out a clash by itself, and renaming
 * the column input instead would break `onnxFeeds`. The guarantee is therefore a check: `exportVerticalPartOnnx`
 * refuses (RangeError) a part whose column input names meet a partner input name or an output name. Such a part
 * needs a column named after the `partial_logit` prefix, which a bank can simply rename.
 *
 * Throws RangeError if `member` does not match MEMBER_NAME_PATTERN.
 */
export function partialInputName(member: string): string {
  if (!MEMBER_NAME_PATTERN.test(member)) {
    throw new RangeError('a partner must be a member name: lowercase letters, digits and dashes');
  }
  return PARTIAL_INPUT_PREFIX + member.replaceAll('-', '_');
}

/**
 * Throws RangeError unless `part` is consistent: a known role; weights one per encoded column and all finite; a
 * finite bias; a feature holder with bias 0 and no partners; a label holder whose partners are distinct member names.
 * The preprocessing itself is checked where it is applied (`encodeRows`, the ONNX export).
 */
export function checkVerticalPart(part: VerticalPart): void {
  if (part.role !== 'label-holder' && part.role !== 'feature-holder') {
    throw new RangeError('role must be label-holder or feature-holder');
  }
  const width = encodedWidth(part.preprocessing);
  if (part.weights.length !== width) {
    throw new RangeError(`weights has ${part.weights.length} values, expected ${width} (the encoded width)`);
  }
  if (!part.weights.every(Number.isFinite)) throw new RangeError('weights must all be finite');
  if (!Number.isFinite(part.bias)) throw new RangeError('bias must be finite');
  if (part.role === 'feature-holder') {
    if (part.bias !== 0) throw new RangeError('a feature holder has no intercept: bias must be 0');
    if (part.partners.length !== 0) throw new RangeError('a feature holder has no partners');
    return;
  }
  const names = part.partners.map(partialInputName);
  if (new Set(names).size !== names.length) throw new RangeError('partners lists a member twice');
}

/**
 * The part's logit for each of `rows` rows of `raw`: `encodeRows` with its preprocessing, then
 * `partialLogitsEncoded` (a feature holder's z_P; the label holder's z_A, bias included).
 * Throws RangeError on an inconsistent part (`checkVerticalPart`) or as `encodeRows` does.
 */
export function partialLogits(part: VerticalPart, raw: RawColumns, rows: number): Float64Array {
  checkVerticalPart(part);
  const { X, width } = encodeRows(part.preprocessing, raw, rows);
  return partialLogitsEncoded(part.weights, part.bias, X, width, rows);
}

/**
 * X · weights + bias for `rows` rows of `X` (row-major, `width` columns each): the dot product summed in column
 * order, then the bias added, as the ONNX graph does (MatMul, then Add).
 * Throws RangeError if `rows` or `width` is not a non-negative integer, or `weights` or `X` has the wrong length.
 */
export function partialLogitsEncoded(
  weights: Float64Array,
  bias: number,
  X: Float64Array,
  width: number,
  rows: number,
): Float64Array {
  if (!Number.isInteger(rows) || rows < 0) throw new RangeError('rows must be a non-negative integer');
  if (!Number.isInteger(width) || width < 0) throw new RangeError('width must be a non-negative integer');
  if (weights.length !== width) {
    throw new RangeError(`weights has ${weights.length} values, expected width ${width}`);
  }
  if (X.length !== rows * width) {
    throw new RangeError(`X has ${X.length} values, expected rows × width = ${rows * width}`);
  }
  const out = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    const at = r * width;
    let z = 0;
    for (let i = 0; i < width; i++) z += X[at + i]! * weights[i]!;
    out[r] = z + bias;
  }
  return out;
}

/**
 * P(label = 1) per row: sigmoid(z_A + z_P1 + z_P2 + …), the partners' logits added left to right in the order
 * given (the label holder's `partners` order, as its ONNX graph adds them).
 * Throws RangeError if a partner's array does not have one value per row of `labelHolderLogits`.
 */
export function jointScores(
  labelHolderLogits: Float64Array,
  partnerLogits: readonly Float64Array[],
): Float64Array {
  const rows = labelHolderLogits.length;
  partnerLogits.forEach((logits, p) => {
    if (logits.length !== rows) {
      throw new RangeError(`partner ${p} has ${logits.length} partial logits, expected ${rows}`);
    }
  });
  const out = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let z = labelHolderLogits[r]!;
    for (const logits of partnerLogits) z += logits[r]!;
    out[r] = sigmoid(z);
  }
  return out;
}
