/**
 * Scores in plain TypeScript, from a registered model and raw columns: the same numbers the model's ONNX export gives
 * through ONNX Runtime (to rounding, < 1e-9 on real data), for the benchmark's ORT-versus-TypeScript figure and as a
 * reference a test holds the ONNX path to.
 *
 *  - horizontal model: `encodeRows` with the model's preprocessing, then the network's forward pass and sigmoid
 *    (`predict`), exactly as training evaluates it;
 *  - vertical feature holder's part: its partial logit, encoded(x) · w (models/vertical/part.ts);
 *  - vertical label holder's part: its own logit encoded(x) · w + bias, plus each partner's given partial logit (in
 *    its `partners` order, left to right), through the sigmoid (`jointScores`).
 * Pure: no I/O. Throws RangeError on a shape mismatch, as the functions it calls do.
 */
import { predict } from './network.js';
import { encodedWidth, encodeRows } from './preprocessing.js';
import type { ModelSpec, Preprocessing, RawColumns } from './types.js';
import { jointScores, partialLogits, type VerticalPart } from './vertical/part.js';

/** What scoring needs of a registered model (platform/store/training-types.ts `ModelRecord` has this shape). */
export interface ScorableModel {
  readonly model: ModelSpec;
  readonly preprocessing: Preprocessing;
  /** Horizontal: the network's flat parameters. Vertical: the part's weights, then its intercept. */
  readonly parameters: Float64Array;
  readonly vertical?: {
    readonly role: 'label-holder' | 'feature-holder';
    readonly partners: readonly string[];
  };
}

/** A vertical model's part as models/vertical/part.ts takes it. Throws RangeError for a horizontal model. */
export function verticalPartOf(model: ScorableModel): VerticalPart {
  if (!model.vertical) throw new RangeError('not a vertical model part');
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
 * P(label = 1) per row. A vertical label holder's part needs `partials`: each partner's partial logits of the same
 * rows, by member; a feature holder's part has no score (RangeError).
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
    throw new RangeError("a feature holder's part gives a partial logit, not a score");
  const own = partialLogitRows(model, raw, rows);
  return jointScores(
    own,
    model.vertical.partners.map((member) => {
      const p = partials.get(member);
      if (!p) throw new RangeError(`no partial logits of partner ${member}`);
      return p;
    }),
  );
}
