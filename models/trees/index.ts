/**
 * Gradient-boosted decision trees (binary logistic loss, histogram-based, XGBoost-style gains) in one import: the
 * shapes, binning, gradients and their fixed point, split finding, the level-wise grower the plaintext trainer and
 * the vertical SecureBoost protocol share, the plaintext trainer, and scoring with model parts. Pure: no I/O.
 */
export * from './types.js';
export { fitBinning, valueBins, binOfValue, binColumns, ruleOf } from './binning.js';
export {
  GRADIENT_BITS,
  HESSIAN_BITS,
  logisticGradients,
  quantiseGradients,
  dequantiseSums,
  baseMargin,
} from './gradients.js';
export {
  type BinnedFeature,
  plainHistograms,
  type BinMatrix,
  binMatrix,
  matrixHistograms,
  subtractHistograms,
  bestSplit,
  leafWeight,
  goesLeft,
  leftTable,
  emptyHistogram,
} from './split.js';
export {
  type PartyFeatures,
  type NodeRows,
  type SplitRequest,
  type SplitResult,
  type GrowAccess,
  type GrowArgs,
  type GrownTree,
  growTree,
  checkTreeParams,
} from './grow.js';
export {
  type PlainTrainingParams,
  type PlainParty,
  type PlainTrainingInput,
  type TreeRound,
  type PlainTrainingResult,
  trainGbdtPlain,
  featureMask,
} from './train-plain.js';
export { splitBits, treeMargins, treeScores, checkTreePart, partsOf } from './part.js';
