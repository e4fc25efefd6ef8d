/**
 * Scores in plain TypeScript, from a registered model and raw columns: the same numbers the model's ONNX export gives
 * through ONNX Runtime (to rounding, < 1e-9 on real data), for the benchmark's ORT-versus-TypeScript figure and as a
 * reference a test holds the ONNX path to.
 *
 *  - horizontal model: `encodeRows` with the model's preprocessing, then the network's forward pass and sigmoid
 *    (`predict`), exactly as training evaluates it;
 *  - vertical logistic feature holder's part: its partial logit, encoded(x) · w (models/vertical/part.ts);
 *  - vertical logistic label holder's part: its own logit encoded(x) · w + bias, plus each partner's given partial
 *    logit (in its `partners` order, left to right), through the sigmoid (`jointScores`);
 *  - boosted-tree feature holder's part (`trees`, models/trees/types.ts): its split bits, rows × K (K = its rules),
 *    0 or 1, as the graph's `split_bits` output gives them (`splitBitRows`);
 *  - boosted-tree label holder's part: its own split bits and each partner's given split bits walked through every
 *    tree (models/trees/part.ts `treeScores`).
 * What a label holder's part takes from each partner, per row, is `partnerInputs`: one partial logit, or K split bits.
 * Pure: no I/O. Throws RangeError on a shape mismatch, as the functions it calls do.
 */
import { predict } from './network.js';
import { encodedWidth, encodeRows } from './preprocessing.js';
import { splitBits, treeScores } from './trees/part.js';
import type { TreeLabelHolderPart, TreePart } from './trees/types.js';
import type { ModelSpec, Preprocessing, RawColumns } from './types.js';
import { jointScores, partialLogits, type VerticalPart } from './vertical/part.js';

/** What scoring needs of a registered model (platform/store/training-types.ts `ModelRecord` has this shape). */
export interface ScorableModel {
  readonly model: ModelSpec;
  readonly preprocessing: Preprocessing;
  /** Horizontal: the network's flat parameters. Vertical logistic: the part's weights, then its intercept. */
  readonly parameters: Float64Array;
  readonly vertical?: {
    readonly role: 'label-holder' | 'feature-holder';
    readonly partners: readonly string[];
  };
  /** Boosted trees (`model.type === 'gbdt'`): the part itself; `parameters` is then empty. */
  readonly trees?: TreePart;
}

/**
 * What a label holder's part takes from one partner for each row: `width` values of `kind`, row-major. A logistic
 * part takes one partial logit (width 1); a boosted-tree part that partner's split bits (width = its split count).
 */
export interface PartnerInput {
  readonly member: string;
  readonly kind: 'partial_logit' | 'split_bits';
  readonly width: number;
}

/**
 * The boosted-tree part of `model`, or null for a model of another type. Throws RangeError for a `gbdt` model
 * without its part, or whose part's role is not its vertical role.
 */
export function treePartOf(model: ScorableModel): TreePart | null {
  if (model.model.type !== 'gbdt') return null;
  if (!model.trees) throw new RangeError('a boosted-tree model without its tree part');
  if (model.vertical?.role !== model.trees.role)
    throw new RangeError("the tree part's role is not the model's vertical role");
  return model.trees;
}

/**
 * Each partner a label holder's part takes values from, in its input order, with the values' kind and width; [] for
 * a horizontal model or a feature holder's part. A tree partner holding no split id (`splits: 0`) is left out: the
 * trees read nothing of it, and the ONNX export gives it no input (models/onnx/tree-export.ts), so it is never asked.
 * Throws RangeError as `treePartOf`.
 */
export function partnerInputs(model: ScorableModel): PartnerInput[] {
  if (model.vertical?.role !== 'label-holder') return [];
  const part = treePartOf(model);
  if (part === null)
    return model.vertical.partners.map((member) => ({ member, kind: 'partial_logit', width: 1 }));
  if (part.role !== 'label-holder') return [];
  return part.partners
    .filter((p) => p.splits > 0)
    .map((p) => ({ member: p.member, kind: 'split_bits', width: p.splits }));
}

/** A vertical logistic model's part as models/vertical/part.ts takes it. Throws RangeError for any other model. */
export function verticalPartOf(model: ScorableModel): VerticalPart {
  if (!model.vertical) throw new RangeError('not a vertical model part');
  if (treePartOf(model) !== null) throw new RangeError('a boosted-tree part has no weights');
  const width = encodedWidth(model.preprocessing);
  if (model.parameters.length !== width + 1)
    throw new RangeError(
      `a part of width ${width} has ${width + 1} parameters, not ${model.parameters.length}`,
    );
  return {
    role: model.vertical.role,
    preprocessing: model.preprocessing,
    weights: model.parameters.subarray(0, width),
    bias: model.parameters[width]!,
    partners: model.vertical.role === 'label-holder' ? model.vertical.partners : [],
  };
}

/** A vertical part's own logit per row (a feature holder's partial logit; the label holder's, intercept included). */
export function partialLogitRows(model: ScorableModel, raw: RawColumns, rows: number): Float64Array {
  return partialLogits(verticalPartOf(model), raw, rows);
}

/**
 * A boosted-tree feature holder's split bits: rows × K row-major (K = its rules), 1 where rule k sends the row left,
 * as doubles (what its graph's `split_bits` output gives and what it sends its label holder). Throws RangeError for
 * any other part.
 */
export function splitBitRows(model: ScorableModel, raw: RawColumns, rows: number): Float64Array {
  const part = treePartOf(model);
  if (part === null || part.role !== 'feature-holder')
    throw new RangeError("not a boosted-tree feature holder's part");
  return Float64Array.from(splitBits(part.rules, raw, rows));
}

/**
 * P(label = 1) per row. A vertical label holder's part needs `partials`: by member, each partner's values of the same
 * rows as `partnerInputs` describes them (a partial logit per row, or rows × K split bits, each 0 or 1); a feature
 * holder's part has no score (RangeError).
 */
export function scoreRows(
  model: ScorableModel,
  raw: RawColumns,
  rows: number,
  partials: ReadonlyMap<string, Float64Array> = new Map(),
): Float64Array {
  if (!model.vertical) {
    const { X, width } = encodeRows(model.preprocessing, raw, rows);
    return predict(model.parameters, model.model, X, rows, width);
  }
  if (model.vertical.role !== 'label-holder')
    throw new RangeError("a feature holder's part gives a partial logit or split bits, not a score");
  const given = (member: string): Float64Array => {
    const p = partials.get(member);
    if (!p) throw new RangeError(`no partial values of partner ${member}`);
    return p;
  };
  const part = treePartOf(model);
  if (part?.role === 'label-holder') return treeRows(part, raw, rows, given);
  return jointScores(partialLogitRows(model, raw, rows), model.vertical.partners.map(given));
}

/** A tree label holder's scores: own bits from `raw`, each partner's from `given` (none for a partner of no split). */
function treeRows(
  part: TreeLabelHolderPart,
  raw: RawColumns,
  rows: number,
  given: (member: string) => Float64Array,
): Float64Array {
  const partnerBits = part.partners.map(({ member, splits }) => {
    if (splits === 0) return new Uint8Array(0);
    const values = given(member);
    if (values.length !== rows * splits)
      throw new RangeError(
        `${member}: ${values.length} split bits, expected rows × splits = ${rows * splits}`,
      );
    return Uint8Array.from(values, (v) => {
      if (v !== 0 && v !== 1) throw new RangeError(`${member}: a split bit that is neither 0 nor 1`);
      return v;
    });
  });
  return treeScores(part, splitBits(part.rules, raw, rows), partnerBits, rows);
}
