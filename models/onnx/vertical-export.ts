/**
 * ONNX export of one party's part of a vertically federated logistic regression (models/vertical/part.ts): the
 * party's preprocessing and its weights in one graph. A feature holder's graph turns its raw columns into its partial
 * logit; the label holder's graph does the same for its own columns and adds its partners' partial logits, fed in as
 * inputs, to give the score. No party's graph holds another party's preprocessing or weights.
 *
 * The graph (ai.onnx opset 17, plus ai.onnx.ml 3 when a categorical column lists categories; IR version 8):
 *
 *   inputs   one per raw column, exactly as export.ts (names from input-names.ts, preprocessing order, [N, 1]):
 *            numeric → DOUBLE, NaN for a missing value; categorical → STRING, '' for a missing value;
 *            label holder only, then one per partner in `partners` order: `partialInputName(member)`
 *            (`partial_logit__<member>`), DOUBLE [N, 1], that partner's `partial_logit` output for the same rows
 *   features the preprocessing nodes of export.ts (numeric impute / centre / scale; categorical OneHotEncoder and the
 *            "other" slot), Concat(axis 1)                                                    [N, width]
 *   logit    MatMul(features, w) with w the weight column                                     [width, 1] → [N, 1]
 *            feature holder: that is the output `partial_logit` (no intercept)
 *            label holder:   Add(·, bias) is the output `partial_logit` (z_A, intercept included)
 *   joint    label holder only: Add(Add(z_A, partner 1), partner 2)…, partners in input order    [N, 1]
 *            → Sigmoid → the output `score`
 *   outputs  feature holder: `partial_logit` DOUBLE [N, 1]
 *            label holder:   `score` DOUBLE [N, 1], P(label = 1); then `partial_logit` DOUBLE [N, 1]
 *
 * Scoring a row set: run each feature holder's graph on its own columns (feeds from `onnxFeeds`, feeds.ts), pass
 * each `partial_logit` output to the label holder, which feeds it under `partialInputName(member)` next to its own
 * columns. Row r of every feed must be the same customer (the parties' aligned order).
 *
 * Everything after the one-hot is DOUBLE, in the order models/vertical/part.ts computes it (dot product, then bias,
 * then the partners left to right), so ONNX Runtime reproduces `jointScores(partialLogits(…))` to rounding in the dot
 * products (≈1e-15).
 *
 * Names: internal values carry export.ts's prefix (`accord_`, lengthened until no input starts with it), so they
 * never meet an input or an output. A partner input or an output could only meet a column input if a column is named
 * like `partial_logit` or `partial_logit__<member>`; the export refuses such a part (see `partialInputName`).
 */
import {
  checkVerticalPart,
  PARTIAL_LOGIT_OUTPUT,
  partialInputName,
  type VerticalPart,
} from '../vertical/part.js';
import {
  categoricalPieces,
  checkColumns,
  GraphBuilder,
  internalPrefix,
  numericPiece,
  ONNX_IR_VERSION,
  ONNX_ML_DOMAIN,
  ONNX_ML_OPSET,
  ONNX_OPSET,
  ONNX_PRODUCER_NAME,
} from './export.js';
import { ONNX_OUTPUT_NAME, onnxInputs } from './input-names.js';
import { encodeModel, TensorDataType, type ValueInfo } from './onnx-proto.js';

/** The graph layout above (the model's producer_version); a change to it, not to the bytes alone, bumps this. */
export const VERTICAL_ONNX_EXPORT_VERSION = 'vertical-1';

const COLUMNS_DOC =
  'Inputs: one per raw column, shape [N, 1]: numeric columns DOUBLE (NaN when missing), categorical columns ' +
  "STRING ('' when missing); each input's doc_string is its column name.";

const FEATURE_HOLDER_DOC =
  'Accord vertical model part, feature holder. ' +
  COLUMNS_DOC +
  ' Output: partial_logit, DOUBLE [N, 1], this party’s partial logit encoded(x) · w (no intercept), ' +
  'to be fed to the label holder’s graph.';

const LABEL_HOLDER_DOC =
  'Accord vertical model part, label holder. ' +
  COLUMNS_DOC +
  ' Then one input per partner, partial_logit__<member>, DOUBLE [N, 1], that partner’s partial_logit output ' +
  "(its doc_string is the member's name). " +
  'Outputs: score, DOUBLE [N, 1], the probability of label 1, sigmoid(own logit + the partners’ partial logits); ' +
  'partial_logit, DOUBLE [N, 1], the own logit encoded(x) · w + bias.';

/**
 * The ONNX model (serialised ModelProto bytes) computing `part`'s output from raw columns (and, for the label
 * holder, its partners' partial logits); see the file comment. `metadata` becomes the model's metadata_props, sorted
 * by key so equal inputs give equal bytes.
 * Throws RangeError if the part is inconsistent (`checkVerticalPart`: weights not one per encoded column or not
 * finite, a non-finite bias, a feature holder with a bias or partners, a partner that is not a member name or is
 * listed twice), if the preprocessing is refused as `exportOnnx` refuses it or has no column, or if a column input
 * name equals `partial_logit` or a partner input name.
 */
export function exportVerticalPartOnnx(
  part: VerticalPart,
  metadata: Readonly<Record<string, string>> = {},
): Uint8Array {
  const { columns } = part.preprocessing;
  checkColumns(columns);
  if (columns.length === 0) throw new RangeError('a vertical part needs at least one column');
  checkVerticalPart(part);
  const labelHolder = part.role === 'label-holder';

  const inputs = onnxInputs(part.preprocessing);
  const partnerInputs = part.partners.map((member) => ({ member, name: partialInputName(member) }));
  const reserved = new Set([PARTIAL_LOGIT_OUTPUT, ...partnerInputs.map((p) => p.name)]);
  for (const input of inputs) {
    if (reserved.has(input.name)) {
      throw new RangeError(
        `column ${input.column} maps to the input name ${input.name}, which this graph uses for a partial logit`,
      );
    }
  }
  const g = new GraphBuilder(internalPrefix([...inputs.map((i) => i.name), ...reserved]));

  const pieces = columns.flatMap((column, c) => {
    const x = inputs[c]!.name;
    return column.kind === 'numeric'
      ? [numericPiece(g, c, x, column)]
      : categoricalPieces(g, c, x, column.categories);
  });
  const features = g.node('Concat', pieces, 'features', [{ name: 'axis', type: 'int', value: 1 }]);
  const w = g.constant('weights', [part.weights.length, 1], { type: 'double', values: part.weights });

  const outputs: ValueInfo[] = [];
  const doubleColumn = (name: string): ValueInfo => ({
    name,
    elemType: TensorDataType.DOUBLE,
    shape: ['N', 1],
  });
  if (labelHolder) {
    const bias = g.constant('bias', [1], { type: 'double', values: [part.bias] });
    const own = g.output('Add', [g.node('MatMul', [features, w], 'matmul'), bias], PARTIAL_LOGIT_OUTPUT);
    let z = own;
    partnerInputs.forEach((partner, p) => {
      z = g.node('Add', [z, partner.name], `joint_logit${p}`);
    });
    g.output('Sigmoid', [z], ONNX_OUTPUT_NAME);
    outputs.push(doubleColumn(ONNX_OUTPUT_NAME), doubleColumn(PARTIAL_LOGIT_OUTPUT));
  } else {
    g.output('MatMul', [features, w], PARTIAL_LOGIT_OUTPUT);
    outputs.push(doubleColumn(PARTIAL_LOGIT_OUTPUT));
  }

  const graphInputs: ValueInfo[] = [
    ...inputs.map((input) => ({
      name: input.name,
      elemType: input.type === 'double' ? TensorDataType.DOUBLE : TensorDataType.STRING,
      shape: ['N', 1],
      docString: input.column,
    })),
    ...partnerInputs.map((partner) => ({ ...doubleColumn(partner.name), docString: partner.member })),
  ];
  const usesMl = g.nodes.some((n) => n.domain === ONNX_ML_DOMAIN);
  return encodeModel({
    irVersion: ONNX_IR_VERSION,
    producerName: ONNX_PRODUCER_NAME,
    producerVersion: VERTICAL_ONNX_EXPORT_VERSION,
    graph: {
      name: 'accord_vertical_part',
      nodes: g.nodes,
      initializers: g.initializers,
      docString: labelHolder ? LABEL_HOLDER_DOC : FEATURE_HOLDER_DOC,
      inputs: graphInputs,
      outputs,
    },
    opsetImports: [
      { domain: '', version: ONNX_OPSET },
      ...(usesMl ? [{ domain: ONNX_ML_DOMAIN, version: ONNX_ML_OPSET }] : []),
    ],
    metadataProps: Object.entries(metadata).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
  });
}
