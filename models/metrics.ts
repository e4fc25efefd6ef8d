/**
 * Evaluation metrics for a binary scorer: exact ones on one party's scores, and the same metrics from a score
 * histogram, which is what federated evaluation can compute: each member bins its own scores, secure aggregation sums
 * the histograms (plain counts, plus one lane of summed log-loss), and the metrics come from the sum without any
 * member's scores leaving it.
 *
 * Conventions: scores are probabilities of label 1 in [0, 1]; labels are 0 or 1; a score predicts positive when it
 * is >= the threshold. AUC counts a positive–negative pair with equal scores as half a correctly ordered pair. With
 * no positives or no negatives, AUC and KS are NaN. Error messages name row indices, never scores or labels.
 *
 * Histogram AUC. Bin b of B holds the scores with floor(score·B) = b (1 goes in the last bin). Pairs in different
 * bins are ordered exactly; pairs in the same bin are counted as ties (half), so each bin's error is at most half its
 * same-bin pairs, and |histogram AUC − exact AUC| <= Σ_b neg_b·pos_b / (2·N·P) (N negatives, P positives).
 * `metricsFromHistogram` returns this bound with the AUC. With EVAL_BINS = 1000, scores spread over a few hundred bins
 * keep the bound near 0.001 and the actual error far below it (within a bin the order of positives and negatives is
 * close to random, so the half-count is right on average); the test on the credit-default data checks both. Finer
 * bins would cost secure-aggregation lanes and reveal the pooled score distribution in more detail.
 */

/** Bins of the federated evaluation histogram (see the file comment for why 1000). */
export const EVAL_BINS = 1000;

/** The log-loss gives the true label a probability of at least ε, so a confident miss costs −ln ε ≈ 34.5. */
export const LOG_LOSS_EPSILON = 1e-15;

/** A confusion matrix at one threshold. */
export interface Confusion {
  readonly tp: number;
  readonly fp: number;
  readonly tn: number;
  readonly fn: number;
}

/** Scores and labels as arrays of numbers (Float64Array, Uint8Array, number[] …). */
type Numbers = ArrayLike<number>;

/**
 * Exact ROC AUC in O(n log n): sorts positives' and negatives' scores and counts, for each positive, the negatives
 * below it plus half those equal to it. Throws RangeError on mismatched lengths, a NaN score or a label not 0/1.
 */
export function auc(scores: Numbers, labels: Numbers): number {
  const { positives, negatives } = splitSorted(scores, labels);
  const P = positives.length;
  const N = negatives.length;
  if (P === 0 || N === 0) return Number.NaN;
  let below = 0; // negatives < current positive
  let upTo = 0; // negatives <= current positive
  let ordered = 0;
  for (let i = 0; i < P; i++) {
    const s = positives[i]!;
    while (below < N && negatives[below]! < s) below++;
    if (upTo < below) upTo = below;
    while (upTo < N && negatives[upTo]! <= s) upTo++;
    ordered += below + (upTo - below) / 2;
  }
  return ordered / P / N;
}

/**
 * Kolmogorov–Smirnov statistic: max over thresholds of |TPR − FPR|, i.e. the largest gap between the positives' and
 * negatives' score distribution functions. Throws as `auc`.
 */
export function ks(scores: Numbers, labels: Numbers): number {
  const { positives, negatives } = splitSorted(scores, labels);
  const P = positives.length;
  const N = negatives.length;
  if (P === 0 || N === 0) return Number.NaN;
  let i = 0;
  let j = 0;
  let best = 0;
  while (i < P || j < N) {
    const v = Math.min(
      i < P ? positives[i]! : Number.POSITIVE_INFINITY,
      j < N ? negatives[j]! : Number.POSITIVE_INFINITY,
    );
    while (i < P && positives[i] === v) i++;
    while (j < N && negatives[j] === v) j++;
    best = Math.max(best, Math.abs(i / P - j / N));
  }
  return best;
}

/** Mean binary log-loss of probabilities (floored, see LOG_LOSS_EPSILON); NaN for no rows. Throws as `auc`. */
export function logLoss(scores: Numbers, labels: Numbers): number {
  return logLossSum(scores, labels) / scores.length;
}

/** The summed (not mean) log-loss: the lane federated evaluation adds up. Throws as `auc`. */
export function logLossSum(scores: Numbers, labels: Numbers): number {
  checkPairs(scores, labels);
  let sum = 0;
  for (let r = 0; r < scores.length; r++) {
    // The probability given to the true label, at least ε.
    const p = labels[r] === 1 ? scores[r]! : 1 - scores[r]!;
    sum -= Math.log(p > LOG_LOSS_EPSILON ? p : LOG_LOSS_EPSILON);
  }
  return sum;
}

/** Counts at `threshold` (score >= threshold predicts positive). Throws as `auc`. */
export function confusion(scores: Numbers, labels: Numbers, threshold: number): Confusion {
  checkPairs(scores, labels);
  let tp = 0;
  let fp = 0;
  let tn = 0;
  let fn = 0;
  for (let r = 0; r < scores.length; r++) {
    const predicted = scores[r]! >= threshold;
    if (labels[r] === 1) predicted ? tp++ : fn++;
    else predicted ? fp++ : tn++;
  }
  return { tp, fp, tn, fn };
}

/** The histogram bin of a score: floor(score·bins) clamped to [0, bins − 1]. */
export function scoreBin(score: number, bins: number): number {
  const b = Math.floor(score * bins);
  return b < 0 ? 0 : b >= bins ? bins - 1 : b;
}

/**
 * The score histogram of one party (length 2·bins): lanes [0, bins) count negatives per bin, [bins, 2·bins)
 * positives. Throws RangeError on a bad bin count, or as `auc`.
 */
export function scoreHistogram(scores: Numbers, labels: Numbers, bins = EVAL_BINS): Float64Array {
  checkBins(bins);
  checkPairs(scores, labels);
  const histogram = new Float64Array(2 * bins);
  for (let r = 0; r < scores.length; r++)
    histogram[scoreBin(scores[r]!, bins) + (labels[r] === 1 ? bins : 0)]! += 1;
  return histogram;
}

/**
 * What a member submits for federated evaluation (length 2·bins + 1): its `scoreHistogram`, then its `logLossSum`.
 * Throws as `scoreHistogram`.
 */
export function evaluationSums(scores: Numbers, labels: Numbers, bins = EVAL_BINS): Float64Array {
  const out = new Float64Array(2 * bins + 1);
  out.set(scoreHistogram(scores, labels, bins));
  out[2 * bins] = logLossSum(scores, labels);
  return out;
}

/** Metrics recovered from a (summed) score histogram. */
export interface HistogramMetrics {
  /** AUC with same-bin pairs counted half; within `aucErrorBound` of the exact AUC. */
  readonly auc: number;
  /** Σ_b neg_b·pos_b / (2·N·P): the most the AUC can differ from the exact one. */
  readonly aucErrorBound: number;
  /** KS over thresholds at bin edges (at most the exact KS). */
  readonly ks: number;
  /** Mean log-loss, NaN when no log-loss sum was given. */
  readonly logLoss: number;
  /** The threshold actually used: the requested one rounded to the nearest bin edge k / bins. */
  readonly threshold: number;
  readonly confusion: Confusion;
  readonly positives: number;
  readonly negatives: number;
}

/**
 * AUC, KS, log-loss and the confusion matrix from a histogram laid out as `scoreHistogram` (length 2·bins), or as
 * `evaluationSums` (length 2·bins + 1, the last lane the log-loss sum). The row count is the histogram's total.
 * The confusion matrix can only split at a bin edge, so `threshold` is rounded to the nearest edge k / bins (returned
 * as `threshold`); it then equals `confusion(scores, labels, k / bins)` up to the rounding of score·bins.
 * Throws RangeError on a length that fits neither layout, a negative count, or a threshold outside [0, 1].
 */
export function metricsFromHistogram(
  histogram: Float64Array,
  bins: number,
  threshold: number,
  logLossTotal?: number,
): HistogramMetrics {
  checkBins(bins);
  if (histogram.length !== 2 * bins && histogram.length !== 2 * bins + 1) {
    throw new RangeError(
      `the histogram has ${histogram.length} lanes, expected ${2 * bins} or ${2 * bins + 1}`,
    );
  }
  if (!(threshold >= 0 && threshold <= 1)) throw new RangeError('threshold must be in [0, 1]');
  const lossSum = histogram.length === 2 * bins + 1 ? histogram[2 * bins]! : (logLossTotal ?? Number.NaN);
  const edge = Math.round(threshold * bins);

  let N = 0;
  let P = 0;
  for (let b = 0; b < bins; b++) {
    const neg = histogram[b]!;
    const pos = histogram[bins + b]!;
    if (!(neg >= 0) || !(pos >= 0)) throw new RangeError(`bin ${b} has a negative count`);
    N += neg;
    P += pos;
  }
  let ordered = 0;
  let sameBin = 0;
  let negBelow = 0;
  let posBelow = 0;
  let best = 0;
  let tn = 0;
  let fn = 0;
  for (let b = 0; b < bins; b++) {
    if (b === edge) {
      tn = negBelow;
      fn = posBelow;
    }
    const neg = histogram[b]!;
    const pos = histogram[bins + b]!;
    ordered += pos * (negBelow + neg / 2);
    sameBin += pos * neg;
    negBelow += neg;
    posBelow += pos;
    if (P > 0 && N > 0) best = Math.max(best, Math.abs(posBelow / P - negBelow / N));
  }
  if (edge === bins) {
    tn = N;
    fn = P;
  }
  const pairs = P * N;
  return {
    auc: pairs > 0 ? ordered / pairs : Number.NaN,
    aucErrorBound: pairs > 0 ? sameBin / (2 * pairs) : Number.NaN,
    ks: pairs > 0 ? best : Number.NaN,
    logLoss: lossSum / (P + N),
    threshold: edge / bins,
    confusion: { tp: P - fn, fp: N - tn, tn, fn },
    positives: P,
    negatives: N,
  };
}

function checkBins(bins: number): void {
  if (!Number.isInteger(bins) || bins < 1) throw new RangeError('bins must be a positive integer');
}

function checkPairs(scores: Numbers, labels: Numbers): void {
  if (scores.length !== labels.length) {
    throw new RangeError(`${scores.length} scores but ${labels.length} labels`);
  }
  for (let r = 0; r < scores.length; r++) {
    if (Number.isNaN(scores[r])) throw new RangeError(`the score at row ${r} is NaN`);
    const label = labels[r];
    if (label !== 0 && label !== 1) throw new RangeError(`the label at row ${r} is not 0 or 1`);
  }
}

function splitSorted(scores: Numbers, labels: Numbers): { positives: Float64Array; negatives: Float64Array } {
  checkPairs(scores, labels);
  let P = 0;
  for (let r = 0; r < labels.length; r++) if (labels[r] === 1) P++;
  const positives = new Float64Array(P);
  const negatives = new Float64Array(labels.length - P);
  let i = 0;
  let j = 0;
  for (let r = 0; r < scores.length; r++) {
    if (labels[r] === 1) positives[i++] = scores[r]!;
    else negatives[j++] = scores[r]!;
  }
  // Typed-array sort compares numerically.
  positives.sort();
  negatives.sort();
  return { positives, negatives };
}
