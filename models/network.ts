/**
 * The network every bank trains: dense layers, ReLU hidden units, one sigmoid output giving P(label = 1). Logistic
 * regression is the network without hidden layers. Parameters are one flat Float64Array in the layout of
 * `models/types.ts` (per layer: weights row-major [inputs][outputs], then bias [outputs]) because that vector is what
 * secure aggregation sums and ONNX export reads.
 *
 * The loss is the mean binary log-loss plus (l2 / 2)·||W||² over weights only (biases are not penalised), computed
 * from the output's logit z as softplus(z) − y·z so it never takes log(0); its derivative in z is sigmoid(z) − y.
 * Gradients come from backpropagation one row at a time into preallocated buffers: plain loops over Float64Array, no
 * allocation per row, weights walked in memory order.
 */
import type { ModelSpec } from './types.js';
import { type Seed, SeededRandom } from './random.js';

/** Where one dense layer sits in the flat parameter vector, and its activation. */
export interface LayerShape {
  readonly inputs: number;
  readonly outputs: number;
  /** Offset of W[0][0]; W[i][j] is at weightsAt + i·outputs + j. */
  readonly weightsAt: number;
  /** Offset of bias[0] (= weightsAt + inputs·outputs). */
  readonly biasAt: number;
  readonly activation: 'relu' | 'sigmoid';
}

/** Labels: 0/1 (a value in between is taken as a soft label). */
export type Labels = Float64Array | Uint8Array;

/**
 * The dense layers of `spec` on `inputWidth` inputs, in order, with their offsets in the parameter vector.
 * Throws RangeError if `inputWidth` or a hidden size is not a positive integer.
 */
export function layerShapes(spec: ModelSpec, inputWidth: number): LayerShape[] {
  if (!isPositiveInteger(inputWidth)) throw new RangeError('inputWidth must be a positive integer');
  const hidden = spec.type === 'mlp' ? spec.hidden : [];
  if (spec.type !== 'logistic' && spec.type !== 'mlp') throw new RangeError('unknown model type');
  const sizes = [inputWidth, ...hidden, 1];
  const shapes: LayerShape[] = [];
  let at = 0;
  for (let l = 0; l + 1 < sizes.length; l++) {
    const inputs = sizes[l]!;
    const outputs = sizes[l + 1]!;
    if (!isPositiveInteger(outputs))
      throw new RangeError(`hidden layer ${l} size must be a positive integer`);
    const last = l + 2 === sizes.length;
    shapes.push({
      inputs,
      outputs,
      weightsAt: at,
      biasAt: at + inputs * outputs,
      activation: last ? 'sigmoid' : 'relu',
    });
    at += inputs * outputs + outputs;
  }
  return shapes;
}

/** The length of the flat parameter vector of `spec` on `inputWidth` inputs. Throws as `layerShapes`. */
export function parameterCount(spec: ModelSpec, inputWidth: number): number {
  const shapes = layerShapes(spec, inputWidth);
  const last = shapes[shapes.length - 1]!;
  return last.biasAt + last.outputs;
}

/**
 * The starting parameters, the same at every bank for the same seed (see `models/random.ts`; not for secrets).
 * Logistic regression starts at zero: its loss is convex, and zero is the usual start (the first loss is exactly ln 2).
 * An MLP draws each ReLU layer's weights He-uniform, U(±√(6 / inputs)), and the sigmoid output layer's
 * Glorot-uniform, U(±√(6 / (inputs + outputs))); biases start at zero. Uniform draws need only `sqrt`, which
 * IEEE 754 rounds exactly, so the parameters are bit-identical on every platform.
 * Throws as `layerShapes`.
 */
export function initialParameters(spec: ModelSpec, inputWidth: number, seed: Seed): Float64Array {
  const shapes = layerShapes(spec, inputWidth);
  const parameters = new Float64Array(parameterCount(spec, inputWidth));
  if (spec.type === 'logistic') return parameters;
  const random = new SeededRandom(seed);
  for (const layer of shapes) {
    const limit =
      layer.activation === 'relu'
        ? Math.sqrt(6 / layer.inputs)
        : Math.sqrt(6 / (layer.inputs + layer.outputs));
    const end = layer.biasAt;
    for (let k = layer.weightsAt; k < end; k++) parameters[k] = (2 * random.uniform() - 1) * limit;
  }
  return parameters;
}

/**
 * P(label = 1) for each of `rows` rows of `X` (row-major, `width` columns each).
 * Throws RangeError if `width` is not the network's input width or an array has the wrong length.
 */
export function predict(
  parameters: Float64Array,
  spec: ModelSpec,
  X: Float64Array,
  rows: number,
  width: number,
): Float64Array {
  const shapes = checkedShapes(parameters, spec, X, rows, width, 0);
  const work = createWorkspace(shapes);
  const out = new Float64Array(rows);
  for (let r = 0; r < rows; r++) out[r] = sigmoid(forward(parameters, shapes, X, r * width, work));
  return out;
}

/**
 * The mean log-loss over `rows` rows plus (l2 / 2)·||W||², and its gradient in the parameter layout.
 * Throws RangeError on mismatched lengths or widths, or a negative l2.
 */
export function lossAndGradient(
  parameters: Float64Array,
  spec: ModelSpec,
  X: Float64Array,
  y: Labels,
  rows: number,
  width: number,
  l2 = 0,
): { loss: number; gradient: Float64Array } {
  const shapes = checkedShapes(parameters, spec, X, rows, width, 1);
  if (y.length !== rows) throw new RangeError(`y has ${y.length} labels, expected ${rows}`);
  if (!(l2 >= 0) || !Number.isFinite(l2)) throw new RangeError('l2 must be a finite number >= 0');
  const gradient = new Float64Array(parameters.length);
  const loss = batchLossAndGradient(
    parameters,
    shapes,
    X,
    y,
    width,
    null,
    0,
    rows,
    l2,
    createWorkspace(shapes),
    gradient,
  );
  return { loss, gradient };
}

/** Per-row scratch for forward and backward passes, allocated once per batch run (see `createWorkspace`). */
export interface Workspace {
  /** Post-activation outputs of each layer (the last holds the logit). */
  readonly activations: Float64Array[];
  /** d loss / d pre-activation of each layer. */
  readonly deltas: Float64Array[];
}

/** Scratch buffers for `shapes`; reuse them across rows and batches. */
export function createWorkspace(shapes: readonly LayerShape[]): Workspace {
  return {
    activations: shapes.map((s) => new Float64Array(s.outputs)),
    deltas: shapes.map((s) => new Float64Array(s.outputs)),
  };
}

/**
 * The training kernel: for rows order[start..end) (or start..end when `order` is null) writes into `gradient` the
 * gradient of the batch's mean log-loss + (l2 / 2)·||W||², and returns that loss. Inputs are not checked (callers
 * check once): `shapes` must match `parameters`, `gradient` must have the parameters' length.
 */
export function batchLossAndGradient(
  parameters: Float64Array,
  shapes: readonly LayerShape[],
  X: Float64Array,
  y: Labels,
  width: number,
  order: Uint32Array | null,
  start: number,
  end: number,
  l2: number,
  work: Workspace,
  gradient: Float64Array,
): number {
  gradient.fill(0);
  const last = shapes.length - 1;
  let lossSum = 0;
  for (let k = start; k < end; k++) {
    const r = order === null ? k : order[k]!;
    const xAt = r * width;
    const z = forward(parameters, shapes, X, xAt, work);
    const label = y[r]!;
    lossSum += softplus(z) - label * z;
    work.deltas[last]![0] = sigmoid(z) - label;
    for (let l = last; l >= 0; l--) {
      const layer = shapes[l]!;
      const outputs = layer.outputs;
      const delta = work.deltas[l]!;
      const biasAt = layer.biasAt;
      for (let j = 0; j < outputs; j++) gradient[biasAt + j]! += delta[j]!;
      if (l === 0) {
        for (let i = 0; i < layer.inputs; i++) {
          const a = X[xAt + i]!;
          if (a === 0) continue;
          const w = layer.weightsAt + i * outputs;
          for (let j = 0; j < outputs; j++) gradient[w + j]! += a * delta[j]!;
        }
      } else {
        const input = work.activations[l - 1]!;
        const before = work.deltas[l - 1]!;
        for (let i = 0; i < layer.inputs; i++) {
          const a = input[i]!;
          // ReLU: a unit that output 0 passes no gradient back and contributes nothing to its weights' gradient.
          if (a <= 0) {
            before[i] = 0;
            continue;
          }
          const w = layer.weightsAt + i * outputs;
          let back = 0;
          for (let j = 0; j < outputs; j++) {
            const d = delta[j]!;
            gradient[w + j]! += a * d;
            back += parameters[w + j]! * d;
          }
          before[i] = back;
        }
      }
    }
  }
  const n = end - start;
  const scale = 1 / n;
  for (let k = 0; k < gradient.length; k++) gradient[k]! *= scale;
  let penalty = 0;
  if (l2 > 0) {
    for (const layer of shapes) {
      for (let k = layer.weightsAt; k < layer.biasAt; k++) {
        const w = parameters[k]!;
        penalty += w * w;
        gradient[k]! += l2 * w;
      }
    }
  }
  return lossSum * scale + 0.5 * l2 * penalty;
}

/** Runs the row at X[xAt..] forward, leaving each layer's output in the workspace; returns the output logit. */
function forward(
  parameters: Float64Array,
  shapes: readonly LayerShape[],
  X: Float64Array,
  xAt: number,
  work: Workspace,
): number {
  let input = X;
  let inputAt = xAt;
  for (let l = 0; l < shapes.length; l++) {
    const layer = shapes[l]!;
    const outputs = layer.outputs;
    const out = work.activations[l]!;
    for (let j = 0; j < outputs; j++) out[j] = parameters[layer.biasAt + j]!;
    for (let i = 0; i < layer.inputs; i++) {
      const a = input[inputAt + i]!;
      if (a === 0) continue;
      const w = layer.weightsAt + i * outputs;
      for (let j = 0; j < outputs; j++) out[j]! += a * parameters[w + j]!;
    }
    if (layer.activation === 'relu') for (let j = 0; j < outputs; j++) if (out[j]! < 0) out[j] = 0;
    input = out;
    inputAt = 0;
  }
  return work.activations[shapes.length - 1]![0]!;
}

/** 1 / (1 + e^−z) without overflow for large |z|. */
export function sigmoid(z: number): number {
  if (z >= 0) return 1 / (1 + Math.exp(-z));
  const e = Math.exp(z);
  return e / (1 + e);
}

/** log(1 + e^z) without overflow: max(z, 0) + log1p(e^−|z|). */
function softplus(z: number): number {
  return (z > 0 ? z : 0) + Math.log1p(Math.exp(-Math.abs(z)));
}

function checkedShapes(
  parameters: Float64Array,
  spec: ModelSpec,
  X: Float64Array,
  rows: number,
  width: number,
  minRows: number,
): LayerShape[] {
  const shapes = layerShapes(spec, width);
  const expected = parameterCount(spec, width);
  if (parameters.length !== expected) {
    throw new RangeError(
      `parameters has ${parameters.length} values, expected ${expected} for width ${width}`,
    );
  }
  if (!Number.isInteger(rows) || rows < minRows)
    throw new RangeError(`rows must be an integer >= ${minRows}`);
  if (X.length !== rows * width)
    throw new RangeError(`X has ${X.length} values, expected rows × width = ${rows * width}`);
  return shapes;
}

function isPositiveInteger(n: number): boolean {
  return Number.isInteger(n) && n > 0;
}
