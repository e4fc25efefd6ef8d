/**
 * ONNX export of a trained model: the preprocessing and the network in one graph, so that a scorer feeds raw columns
 * and reads P(label = 1), with no Accord code on its side.
 *
 * The graph (ai.onnx opset 17, plus ai.onnx.ml 3 when a categorical column lists categories; IR version 8):
 *
 *   inputs   one per raw column, in preprocessing order, named as input-names.ts maps the column name, shape [N, 1]:
 *            numeric → DOUBLE, NaN for a missing value; categorical → STRING, '' for a missing value
 *   numeric  Where(IsNaN(x), mean, x) → Sub(·, mean) → Div(·, std)                     [N, 1]  (std 0 taken as 1)
 *   categor. OneHotEncoder(x, cats_strings = categories, zeros = 1)   [N, 1, C] FLOAT  (ai.onnx.ml)
 *            → Cast(to DOUBLE) → Flatten(axis 1)                                        [N, C]  the listed slots
 *            1 − ReduceSum(listed, axis 1, keepdims)                                     [N, 1]  the "other" slot
 *            (no categories: ConstantOfShape(Shape(x), 1.0), the "other" slot alone)
 *   features Concat(axis 1) of the pieces above in preprocessing order                  [N, width]
 *   layers   MatMul(h, W) → Add(·, b) → Relu, per hidden layer; the last layer → Sigmoid
 *   output   `score`: DOUBLE [N, 1], P(label = 1)
 *
 * The graph neither trims nor parses: a scorer builds its inputs from raw cells with `onnxFeeds` (feeds.ts), which
 * applies the cell rules of models/preprocessing.ts (what counts as missing, numeric strings, trimmed categories).
 *
 * Why OneHotEncoder for strings: the opset-17 Equal (Equal-13) does not accept strings (string support arrived with
 * Equal-19), and ONNX Runtime refuses such a model ("Type 'tensor(string)' of input parameter ... of operator (Equal)
 * is invalid"); ai.onnx.ml OneHotEncoder takes strings, and with zeros = 1 an unlisted value gives all zeros, so the
 * "other" slot is exactly 1 − the sum of the listed ones. Its 0/1 FLOAT output is exact in DOUBLE.
 *
 * Everything after the one-hot is DOUBLE, and the numeric steps are the same IEEE operations as the TypeScript
 * preprocessing ((x − mean) / std, not a multiplication by 1/std), so ONNX Runtime reproduces `predict` to rounding
 * in the dot products (≈1e-15, far inside the 1e-6 the tests ask).
 *
 * The parameters are read in the layout of models/types.ts through `layerShapes` (models/network.ts). Internal value
 * names carry a prefix that no input name starts with, so they can never collide with an input or the output.
 */
import { layerShapes, parameterCount } from '../network.js';
import type { PreparedColumn, TrainedModel } from '../types.js';
import { ONNX_OUTPUT_NAME, onnxInputs } from './input-names.js';
import {
  type Attribute,
  encodeModel,
  type Node,
  type Tensor,
  type TensorValues,
  TensorDataType,
  type ValueInfo,
} from './onnx-proto.js';

export const ONNX_IR_VERSION = 8;
export const ONNX_OPSET = 17;
export const ONNX_ML_OPSET = 3;
export const ONNX_ML_DOMAIN = 'ai.onnx.ml';
export const ONNX_PRODUCER_NAME = 'accord';
/** The graph layout above; a change to it (not to the encoder's bytes alone) bumps this. */
export const ONNX_EXPORT_VERSION = '1';

const GRAPH_DOC =
  'Accord trained model. Inputs: one per raw column, shape [N, 1]: numeric columns DOUBLE (NaN when missing), ' +
  "categorical columns STRING ('' when missing); each input's doc_string is its column name. " +
  'Output: score, DOUBLE [N, 1], the probability of label 1.';

/**
 * The ONNX model (serialised ModelProto bytes) computing `model`'s score from raw columns; see the file comment.
 * `metadata` becomes the model's metadata_props (model id, job…), sorted by key so equal inputs give equal bytes.
 * Throws RangeError if the model is inconsistent: duplicate column names; a non-finite mean or std, or a negative std;
 * a categorical column listing a category twice or listing '' (the missing value); parameters of the wrong length or
 * not all finite; a hidden size that is not a positive integer.
 */
export function exportOnnx(model: TrainedModel, metadata: Readonly<Record<string, string>>): Uint8Array {
  const { columns } = model.preprocessing;
  checkColumns(columns);
  const width = columns.reduce((n, c) => n + (c.kind === 'numeric' ? 1 : c.categories.length + 1), 0);
  const expected = parameterCount(model.spec, width);
  if (model.parameters.length !== expected) {
    throw new RangeError(
      `parameters has ${model.parameters.length} values, expected ${expected} for width ${width}`,
    );
  }
  if (!model.parameters.every(Number.isFinite)) throw new RangeError('parameters must all be finite');

  const inputs = onnxInputs(model.preprocessing);
  const g = new GraphBuilder(internalPrefix(inputs.map((i) => i.name)));

  const pieces = columns.flatMap((column, c) => {
    const x = inputs[c]!.name;
    return column.kind === 'numeric'
      ? [numericPiece(g, c, x, column)]
      : categoricalPieces(g, c, x, column.categories);
  });
  let h = g.node('Concat', pieces, 'features', [{ name: 'axis', type: 'int', value: 1 }]);

  const shapes = layerShapes(model.spec, width);
  shapes.forEach((layer, l) => {
    const { parameters } = model;
    const W = g.constant(`layer${l}_W`, [layer.inputs, layer.outputs], {
      type: 'double',
      values: parameters.subarray(layer.weightsAt, layer.biasAt),
    });
    const b = g.constant(`layer${l}_b`, [layer.outputs], {
      type: 'double',
      values: parameters.subarray(layer.biasAt, layer.biasAt + layer.outputs),
    });
    const z = g.node('Add', [g.node('MatMul', [h, W], `layer${l}_matmul`), b], `layer${l}_logit`);
    h =
      layer.activation === 'relu'
        ? g.node('Relu', [z], `layer${l}_relu`)
        : g.output('Sigmoid', [z], ONNX_OUTPUT_NAME);
  });

  const graphInputs: ValueInfo[] = inputs.map((input) => ({
    name: input.name,
    elemType: input.type === 'double' ? TensorDataType.DOUBLE : TensorDataType.STRING,
    shape: ['N', 1],
    docString: input.column,
  }));
  const usesMl = g.nodes.some((n) => n.domain === ONNX_ML_DOMAIN);
  return encodeModel({
    irVersion: ONNX_IR_VERSION,
    producerName: ONNX_PRODUCER_NAME,
    producerVersion: ONNX_EXPORT_VERSION,
    graph: {
      name: 'accord_model',
      nodes: g.nodes,
      initializers: g.initializers,
      docString: GRAPH_DOC,
      inputs: graphInputs,
      outputs: [{ name: ONNX_OUTPUT_NAME, elemType: TensorDataType.DOUBLE, shape: ['N', 1] }],
    },
    opsetImports: [
      { domain: '', version: ONNX_OPSET },
      ...(usesMl ? [{ domain: ONNX_ML_DOMAIN, version: ONNX_ML_OPSET }] : []),
    ],
    metadataProps: Object.entries(metadata).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
  });
}

/** Missing → mean, then (x − mean) / std: [N, 1] DOUBLE. */
function numericPiece(
  g: GraphBuilder,
  c: number,
  x: string,
  column: Extract<PreparedColumn, { kind: 'numeric' }>,
): string {
  const mean = g.constant(`c${c}_mean`, [1], { type: 'double', values: [column.mean] });
  const std = g.constant(`c${c}_std`, [1], { type: 'double', values: [column.std === 0 ? 1 : column.std] });
  const missing = g.node('IsNaN', [x], `c${c}_missing`);
  const imputed = g.node('Where', [missing, mean, x], `c${c}_imputed`);
  return g.node('Div', [g.node('Sub', [imputed, mean], `c${c}_centred`), std], `c${c}_scaled`);
}

/** The listed slots [N, C] and the "other" slot [N, 1], both DOUBLE (only the "other" slot when C = 0). */
function categoricalPieces(g: GraphBuilder, c: number, x: string, categories: readonly string[]): string[] {
  if (categories.length === 0) {
    const shape = g.node('Shape', [x], `c${c}_shape`);
    const ones: Tensor = { dims: [1], data: { type: 'double', values: [1] } };
    return [
      g.node('ConstantOfShape', [shape], `c${c}_other`, [{ name: 'value', type: 'tensor', value: ones }]),
    ];
  }
  const onehot = g.node(
    'OneHotEncoder',
    [x],
    `c${c}_onehot`,
    [
      { name: 'cats_strings', type: 'strings', value: categories },
      { name: 'zeros', type: 'int', value: 1 },
    ],
    ONNX_ML_DOMAIN,
  );
  const asDouble = g.node('Cast', [onehot], `c${c}_onehot_double`, [
    { name: 'to', type: 'int', value: TensorDataType.DOUBLE },
  ]);
  const listed = g.node('Flatten', [asDouble], `c${c}_listed`, [{ name: 'axis', type: 'int', value: 1 }]);
  const sum = g.node(
    'ReduceSum',
    [listed, g.shared('axis1', [1], { type: 'int64', values: [1] })],
    `c${c}_sum`,
    [{ name: 'keepdims', type: 'int', value: 1 }],
  );
  const other = g.node('Sub', [g.shared('one', [1], { type: 'double', values: [1] }), sum], `c${c}_other`);
  return [listed, other];
}

function checkColumns(columns: readonly PreparedColumn[]): void {
  const names = new Set<string>();
  columns.forEach((column, c) => {
    const where = `preprocessing column ${c} (${column.name})`;
    if (names.has(column.name)) throw new RangeError(`${where} repeats a column name`);
    names.add(column.name);
    if (column.kind === 'numeric') {
      if (!Number.isFinite(column.mean)) throw new RangeError(`${where} has a non-finite mean`);
      if (!Number.isFinite(column.std) || column.std < 0)
        throw new RangeError(`${where} needs a finite std >= 0`);
    } else {
      if (new Set(column.categories).size !== column.categories.length) {
        throw new RangeError(`${where} lists a category twice`);
      }
      if (column.categories.includes('')) {
        throw new RangeError(
          `${where} lists the empty category, which the graph reserves for a missing value`,
        );
      }
    }
  });
}

/** `accord_`, with more underscores until no input name starts with it. */
function internalPrefix(inputNames: readonly string[]): string {
  let prefix = 'accord_';
  while (inputNames.some((name) => name.startsWith(prefix))) prefix += '_';
  return prefix;
}

/** Collects nodes and initializers; every value it names carries the internal prefix, except the graph output. */
class GraphBuilder {
  readonly nodes: Node[] = [];
  readonly initializers: Tensor[] = [];
  private readonly sharedNames = new Set<string>();

  constructor(private readonly prefix: string) {}

  /** An initializer; returns its value name. */
  constant(name: string, dims: readonly number[], data: TensorValues): string {
    const full = this.prefix + name;
    this.initializers.push({ name: full, dims, data });
    return full;
  }

  /** An initializer added once however often it is asked for (constants several columns use). */
  shared(name: string, dims: readonly number[], data: TensorValues): string {
    if (this.sharedNames.has(name)) return this.prefix + name;
    this.sharedNames.add(name);
    return this.constant(name, dims, data);
  }

  /** A node with one output, named `prefix + output` (the node takes the same name); returns the output name. */
  node(
    opType: string,
    inputs: readonly string[],
    output: string,
    attributes?: Attribute[],
    domain?: string,
  ): string {
    return this.add(opType, inputs, this.prefix + output, attributes, domain);
  }

  /** A node writing the graph output `name` itself. */
  output(opType: string, inputs: readonly string[], name: string): string {
    return this.add(opType, inputs, name);
  }

  private add(
    opType: string,
    inputs: readonly string[],
    output: string,
    attributes?: Attribute[],
    domain?: string,
  ): string {
    this.nodes.push({ name: output, opType, inputs, outputs: [output], attributes, domain });
    return output;
  }
}
export { GraphBuilder, categoricalPieces, checkColumns, internalPrefix, numericPiece };
