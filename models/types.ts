/**
 * The shapes shared by training, preprocessing, evaluation and ONNX export. Pure data: no I/O, no protobuf.
 *
 * Parameter layout (one flat Float64Array, the vector that secure aggregation sums): for each dense layer in order,
 * its weights row-major as [inputs][outputs] (so a row vector x maps to x·W), then its bias [outputs]. Hidden layers
 * use ReLU; the last layer has one output and a sigmoid, giving the probability of label 1. Logistic regression is the
 * network with no hidden layer.
 */

/** The model a job trains. */
export type ModelSpec =
  | { readonly type: 'logistic' }
  | { readonly type: 'mlp'; readonly hidden: readonly number[] }
  /** Boosted trees (vertical jobs only): no flat parameters; the part is `ModelRecord.trees` (models/trees/types.ts). */
  | {
      readonly type: 'gbdt';
      readonly trees: number;
      readonly depth: number;
      readonly learningRate: number;
      readonly bins: number;
      readonly minChildWeight: number;
      readonly l2: number;
      readonly featureSubsample?: number | undefined;
      readonly earlyStopping?: number | undefined;
    };

/** A column as the job spec declares it (the same at every member). */
export type FeatureColumn =
  | { readonly name: string; readonly kind: 'numeric' }
  /** One-hot over `categories`, plus a last "other" slot for any value not listed (and for a missing value). */
  | { readonly name: string; readonly kind: 'categorical'; readonly categories: readonly string[] };

/** A column as the agreed preprocessing encodes it: numeric ones carry the consortium-wide mean and deviation. */
export type PreparedColumn =
  /** (x - mean) / std; a missing value becomes the mean (0 after scaling); std 0 is treated as 1. */
  | { readonly name: string; readonly kind: 'numeric'; readonly mean: number; readonly std: number }
  | { readonly name: string; readonly kind: 'categorical'; readonly categories: readonly string[] };

/** The encoding applied to raw columns before the network, in input order. */
export interface Preprocessing {
  readonly columns: readonly PreparedColumn[];
}

/** A raw cell as the node's dataset store holds it. */
export type RawCell = string | number | boolean | null;

/** Raw columns by name, all the same length (one entry per row). */
export type RawColumns = ReadonlyMap<string, readonly RawCell[]>;

/** A trained model: everything a scorer needs (ONNX export takes exactly this). */
export interface TrainedModel {
  readonly spec: ModelSpec;
  readonly preprocessing: Preprocessing;
  /** Flat parameters in the layout above; length = parameterCount(spec, encodedWidth(preprocessing)). */
  readonly parameters: Float64Array;
}
