/**
 * Training on one party's rows: what each bank runs between two secure-aggregation rounds (`trainLocal`), and the
 * plaintext pooled trainer that is the benchmark's anchor (`trainCentral`: the same math on all rows at one party).
 *
 * Each epoch visits every row once, in mini-batches of `batchSize` rows taken from a shuffled order; the order comes
 * from the seed (`models/random.ts`), so a run repeats exactly. Each batch takes one optimiser step on the gradient of
 * its mean log-loss + (l2 / 2)·||W||² (`models/network.ts`). The loss reported for an epoch is that objective averaged
 * over the epoch's batches, weighted by batch size, each measured just before its step (as Keras reports it): free to
 * compute, and close to the end-of-epoch loss once training settles.
 */
import {
  batchLossAndGradient,
  createWorkspace,
  type Labels,
  layerShapes,
  initialParameters,
} from './network.js';
import { createOptimiser, type OptimiserState } from './optimiser.js';
import { deriveSeed, type Seed, SeededRandom } from './random.js';
import type { ModelSpec } from './types.js';

/** The hyper-parameters shared by local and central training. */
export interface TrainingSettings {
  readonly spec: ModelSpec;
  /** Row-major, rows × width (the encoded features, `models/preprocessing.ts`). */
  readonly X: Float64Array;
  /** One 0/1 label per row. */
  readonly y: Labels;
  readonly rows: number;
  readonly width: number;
  /** Passes over the rows; a positive integer. */
  readonly epochs: number;
  /** Rows per optimiser step; a positive integer (the last batch of an epoch may be smaller). */
  readonly batchSize: number;
  readonly learningRate: number;
  /** Default 'sgd'. */
  readonly optimizer?: 'sgd' | 'adam';
  /** SGD momentum in [0, 1); default 0. Ignored by Adam. */
  readonly momentum?: number;
  /** Weight penalty (l2 / 2)·||W||², biases excluded; default 0. */
  readonly l2?: number;
  /** Decides the mini-batch order. Use a different seed per round and per member (e.g. derived with `deriveSeed`). */
  readonly seed: Seed;
}

/** What one local training run starts from. */
export interface LocalTrainingOptions extends TrainingSettings {
  /** Starting parameters (e.g. the last global model); not modified. */
  readonly parameters: Float64Array;
  /** The optimiser state a previous run returned; default a fresh state. Must match `optimizer`. */
  readonly optimiserState?: OptimiserState;
}

/** What one local training run returns. */
export interface LocalTrainingResult {
  readonly parameters: Float64Array;
  /** The objective averaged over the last epoch (see the file comment). */
  readonly loss: number;
  /** The rows trained on: the weight of this party's parameters in FedAvg. */
  readonly rows: number;
  readonly optimiserState: OptimiserState;
}

/**
 * Trains `parameters` for `epochs` passes over this party's rows.
 * Throws RangeError on inconsistent shapes, a non-positive epochs/batchSize/learningRate, a negative l2, or an
 * optimiser state of another kind or length.
 */
export function trainLocal(options: LocalTrainingOptions): LocalTrainingResult {
  const { spec, X, y, rows, width, epochs, batchSize } = options;
  const shapes = layerShapes(spec, width);
  const last = shapes[shapes.length - 1]!;
  const count = last.biasAt + last.outputs;
  if (options.parameters.length !== count) {
    throw new RangeError(
      `parameters has ${options.parameters.length} values, expected ${count} for width ${width}`,
    );
  }
  if (!Number.isInteger(rows) || rows < 1) throw new RangeError('rows must be a positive integer');
  if (X.length !== rows * width)
    throw new RangeError(`X has ${X.length} values, expected rows × width = ${rows * width}`);
  if (y.length !== rows) throw new RangeError(`y has ${y.length} labels, expected ${rows}`);
  if (!Number.isInteger(epochs) || epochs < 1) throw new RangeError('epochs must be a positive integer');
  if (!Number.isInteger(batchSize) || batchSize < 1)
    throw new RangeError('batchSize must be a positive integer');
  const l2 = options.l2 ?? 0;
  if (!(l2 >= 0) || !Number.isFinite(l2)) throw new RangeError('l2 must be a finite number >= 0');

  const optimiser =
    (options.optimizer ?? 'sgd') === 'adam'
      ? createOptimiser({ kind: 'adam', learningRate: options.learningRate })
      : createOptimiser({ kind: 'sgd', learningRate: options.learningRate, momentum: options.momentum ?? 0 });
  let state = options.optimiserState ?? optimiser.initialState(count);
  let parameters = options.parameters;

  const random = new SeededRandom(options.seed);
  const order = new Uint32Array(rows);
  for (let r = 0; r < rows; r++) order[r] = r;
  const work = createWorkspace(shapes);
  const gradient = new Float64Array(count);
  let loss = Number.NaN;
  for (let epoch = 0; epoch < epochs; epoch++) {
    random.shuffle(order);
    let lossSum = 0;
    for (let start = 0; start < rows; start += batchSize) {
      const end = Math.min(start + batchSize, rows);
      const batchLoss = batchLossAndGradient(
        parameters,
        shapes,
        X,
        y,
        width,
        order,
        start,
        end,
        l2,
        work,
        gradient,
      );
      lossSum += batchLoss * (end - start);
      ({ parameters, state } = optimiser.step(parameters, gradient, state));
    }
    loss = lossSum / rows;
  }
  // With epochs >= 1 at least one step ran, so `parameters` is a new array, never the caller's.
  return { parameters, loss, rows, optimiserState: state };
}

/** What the pooled trainer starts from. */
export interface CentralTrainingOptions extends TrainingSettings {
  /** Starting parameters; default `initialParameters(spec, width, seed)`. */
  readonly parameters?: Float64Array;
}

/** What the pooled trainer returns. */
export interface CentralTrainingResult {
  readonly parameters: Float64Array;
  /** The objective averaged over each epoch, in order. */
  readonly epochLosses: number[];
  readonly optimiserState: OptimiserState;
}

/**
 * The plaintext pooled baseline: `trainLocal` one epoch at a time over all rows at one party, carrying the optimiser
 * state, with each epoch's order seeded by `deriveSeed(seed, 'epoch <n>')`. Throws as `trainLocal`.
 */
export function trainCentral(options: CentralTrainingOptions): CentralTrainingResult {
  if (!Number.isInteger(options.epochs) || options.epochs < 1) {
    throw new RangeError('epochs must be a positive integer');
  }
  let parameters = options.parameters ?? initialParameters(options.spec, options.width, options.seed);
  let optimiserState: OptimiserState | undefined;
  const epochLosses: number[] = [];
  for (let epoch = 0; epoch < options.epochs; epoch++) {
    const result = trainLocal({
      ...options,
      parameters,
      epochs: 1,
      seed: deriveSeed(options.seed, `epoch ${epoch}`),
      optimiserState,
    });
    parameters = result.parameters;
    optimiserState = result.optimiserState;
    epochLosses.push(result.loss);
  }
  return { parameters, epochLosses, optimiserState: optimiserState! };
}
