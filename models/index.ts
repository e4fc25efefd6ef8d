/**
 * The training math of federated learning, in one import: the network and its gradient, optimisers, local and
 * pooled training, FedAvg in the form secure aggregation sums, the agreed preprocessing, and evaluation metrics.
 * Everything here is pure (no I/O); the orchestration that moves these vectors between banks lives elsewhere.
 */
export type * from './types.js';
export {
  type LayerShape,
  type Labels,
  layerShapes,
  parameterCount,
  initialParameters,
  predict,
  lossAndGradient,
  sigmoid,
} from './network.js';
export {
  type Optimiser,
  type OptimiserConfig,
  type OptimiserState,
  createOptimiser,
} from './optimiser.js';
export {
  type TrainingSettings,
  type LocalTrainingOptions,
  type LocalTrainingResult,
  type CentralTrainingOptions,
  type CentralTrainingResult,
  trainLocal,
  trainCentral,
} from './train-local.js';
export { type FedAvgInput, fedAvgContribution, fedAvgFromSum, fedAvg } from './fedavg.js';
export {
  type LocalStatsLayout,
  type EncodedRows,
  NUMERIC_STATS_LANES,
  CATEGORICAL_STATS_LANES,
  localStatsLayout,
  localColumnStats,
  preprocessingFromSums,
  encodedWidth,
  encodeRows,
  labelsOf,
  InvalidLabelError,
  numericValue,
  categoryKey,
} from './preprocessing.js';
export {
  type Confusion,
  type HistogramMetrics,
  EVAL_BINS,
  LOG_LOSS_EPSILON,
  auc,
  ks,
  logLoss,
  logLossSum,
  confusion,
  scoreBin,
  scoreHistogram,
  evaluationSums,
  metricsFromHistogram,
} from './metrics.js';
export { type Seed, SeededRandom, deriveSeed } from './random.js';
