/**
 * The shapes of gradient-boosted decision trees (binary logistic loss), shared by the plaintext trainer, the vertical
 * SecureBoost protocol (primitives/vertical/secureboost.ts), scoring and the ONNX export of model parts. Pure data.
 *
 * Histogram positions. Every feature is cut into at most MAX_VALUE_BINS value bins (numeric: quantile bins of the
 * training rows; categorical: one bin per declared category, then one "other" bin), and a missing value has its own
 * position, MISSING_BIN. So a feature's histogram has HISTOGRAM_POSITIONS = 32 positions, which is what one BFV
 * coefficient-encoded product sums (256 rows × 32 positions = N = 8192, primitives/he/histogram.ts).
 *
 * A split sends a row left when its bin is in the split's left set; a missing value goes the split's learned
 * direction (`missingLeft`). Numeric splits are prefixes (bins 0..bin go left); categorical splits are any set of
 * categories (found by ordering categories by G/H, as LightGBM does).
 *
 * Vertical models: each party keeps its own split rules (`SplitRule`, thresholds in raw units) keyed by a split id
 * local to that party; the label holder keeps the tree structure and leaf weights, where each internal node names
 * the owner of its split and the owner's split id, nothing more.
 */

/** Histogram positions per feature: value bins 0..MAX_VALUE_BINS-1 and the missing position. */
export const HISTOGRAM_POSITIONS = 32;
/** The position of a missing value. */
export const MISSING_BIN = HISTOGRAM_POSITIONS - 1;
/** Most value bins a feature has (a categorical feature: its categories plus "other"). */
export const MAX_VALUE_BINS = HISTOGRAM_POSITIONS - 1;

/** How one feature is binned (fitted on the training rows of the party that holds the feature). */
export type FeatureBinning =
  /**
   * Value bin b holds x with upper[b-1] < x ≤ upper[b] (upper[-1] = −∞); the last bin, index upper.length, holds
   * x > upper[upper.length-1]. So a feature has upper.length + 1 value bins.
   */
  | { readonly name: string; readonly kind: 'numeric'; readonly upper: readonly number[] }
  /** Bin c is categories[c] (trimmed string match); bin categories.length is "other" (any value not listed). */
  | { readonly name: string; readonly kind: 'categorical'; readonly categories: readonly string[] };

/** Hyper-parameters of a boosted-tree model (the same at every party of a vertical job). */
export interface TreeParams {
  readonly trees: number;
  /** Depth of each tree: a tree of depth d has at most 2^d leaves. */
  readonly depth: number;
  readonly learningRate: number;
  /** Value bins per numeric feature (≤ MAX_VALUE_BINS). */
  readonly bins: number;
  /** Least hessian sum in a child. */
  readonly minChildWeight: number;
  /** L2 regularisation of leaf weights (λ). */
  readonly l2: number;
  /** Least gain to split (γ); 0 by default. */
  readonly minSplitGain?: number;
}

/** Per-position gradient and hessian sums of one feature at one node (length HISTOGRAM_POSITIONS each). */
export interface Histogram {
  readonly g: Float64Array;
  readonly h: Float64Array;
}

/**
 * The best split of one feature at one node, as the party that sees the histogram finds it (for a passive party's
 * feature, the label holder, from the decrypted histogram: it knows bin positions only, never thresholds).
 */
export interface SplitCandidate {
  /** Index of the feature in its owner's feature list. */
  readonly feature: number;
  /** Positions (value bins) sent left; a numeric split's are 0..k. Sorted ascending. */
  readonly leftBins: readonly number[];
  readonly missingLeft: boolean;
  readonly gain: number;
  readonly left: { readonly g: number; readonly h: number };
  readonly right: { readonly g: number; readonly h: number };
}

/**
 * One party's rule for one split id, in raw units: what the owner keeps. A row goes left when the rule says so;
 * a missing value (null, '', NaN) goes left iff `missingLeft`.
 */
export type SplitRule =
  /** Left iff x ≤ threshold. */
  | {
      readonly feature: string;
      readonly kind: 'numeric';
      readonly threshold: number;
      readonly missingLeft: boolean;
    }
  /** Left iff the trimmed value is one of `left` (or `otherLeft` for a value not among the binning's categories). */
  | {
      readonly feature: string;
      readonly kind: 'categorical';
      readonly left: readonly string[];
      readonly otherLeft: boolean;
      /** The binning's categories: a value outside them is "other". */
      readonly categories: readonly string[];
      readonly missingLeft: boolean;
    };

/** A node of a tree, in an array: index 0 is the root. */
export type TreeNode =
  | { readonly kind: 'leaf'; readonly weight: number }
  | {
      readonly kind: 'split';
      /** The member whose rule decides this node. */
      readonly owner: string;
      /** The owner's split id (index into its rules). */
      readonly splitId: number;
      readonly left: number;
      readonly right: number;
    };

export interface Tree {
  readonly nodes: readonly TreeNode[];
}

/**
 * The label holder's part of a boosted-tree model: the structure of every tree, leaf weights (learning rate already
 * applied), the base margin, its own split rules, and each partner's number of split ids (the width of the split
 * bits that partner sends when scoring).
 */
export interface TreeLabelHolderPart {
  readonly role: 'label-holder';
  readonly self: string;
  readonly baseMargin: number;
  readonly trees: readonly Tree[];
  readonly rules: readonly SplitRule[];
  /** Partners in input order, with how many split ids each holds. */
  readonly partners: readonly { readonly member: string; readonly splits: number }[];
}

/** A feature holder's part: only its own split rules, keyed by split id (the array index). */
export interface TreeFeatureHolderPart {
  readonly role: 'feature-holder';
  readonly rules: readonly SplitRule[];
}

export type TreePart = TreeLabelHolderPart | TreeFeatureHolderPart;
