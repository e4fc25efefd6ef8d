/**
 * Metrics: exact AUC, KS, log-loss and confusion on small hand-worked examples (ties included) and against a
 * brute-force pair count; the histogram versions against the exact ones, summed over members as secure aggregation
 * would, and on the credit-default data with a trained model's scores, where the histogram AUC must be within 0.001.
 */
import { describe, expect, it } from 'vitest';
import {
  auc,
  confusion,
  EVAL_BINS,
  evaluationSums,
  ks,
  logLoss,
  metricsFromHistogram,
  scoreHistogram,
} from '../../../models/metrics.js';
import { predict } from '../../../models/network.js';
import { SeededRandom } from '../../../models/random.js';
import { trainCentral } from '../../../models/train-local.js';
import { creditData, encodePart, fittedOn } from './credit-data.js';

const SCORES = [0.1, 0.4, 0.35, 0.8];
const LABELS = [0, 0, 1, 1];

/** AUC by counting every positive–negative pair: the O(n²) definition. */
function pairAuc(scores: ArrayLike<number>, labels: ArrayLike<number>): number {
  let ordered = 0;
  let pairs = 0;
  for (let i = 0; i < scores.length; i++) {
    if (labels[i] !== 1) continue;
    for (let j = 0; j < scores.length; j++) {
      if (labels[j] !== 0) continue;
      pairs++;
      if (scores[i]! > scores[j]!) ordered += 1;
      else if (scores[i] === scores[j]) ordered += 0.5;
    }
  }
  return ordered / pairs;
}

describe('exact metrics', () => {
  it('AUC of a small known example is 0.75', () => {
    expect(auc(SCORES, LABELS)).toBe(0.75);
  });

  it('AUC counts tied pairs as half', () => {
    // Pairs: (0.5 vs 0.2) 1, (0.9 vs 0.2) 1, (0.5 vs 0.5) ½, (0.9 vs 0.5) 1 → 3.5 / 4.
    expect(auc([0.2, 0.5, 0.5, 0.9], [0, 0, 1, 1])).toBe(0.875);
    expect(auc([0.5, 0.5, 0.5, 0.5], [0, 1, 0, 1])).toBe(0.5);
    expect(auc([0.3, 0.3, 0.3], [1, 0, 0])).toBe(0.5);
  });

  it('AUC equals the brute-force pair count on random scores with many ties', () => {
    const random = new SeededRandom('auc');
    const scores = Array.from({ length: 400 }, () => Math.round(random.uniform() * 30) / 30);
    const labels = scores.map((s) => (random.uniform() < 0.2 + 0.5 * s ? 1 : 0));
    expect(auc(scores, labels)).toBeCloseTo(pairAuc(scores, labels), 14);
  });

  it('AUC and KS are NaN with only one class', () => {
    expect(auc([0.1, 0.2], [1, 1])).toBeNaN();
    expect(ks([0.1, 0.2], [0, 0])).toBeNaN();
  });

  it('KS is the largest gap between the classes’ score distributions', () => {
    // Sorted: 0.1 (neg), 0.35 (pos), 0.4 (neg), 0.8 (pos). After 0.1: |0 − ½|; after 0.35: |½ − ½|; after 0.4: ½.
    expect(ks(SCORES, LABELS)).toBe(0.5);
    expect(ks([0.1, 0.2, 0.8, 0.9], [0, 0, 1, 1])).toBe(1);
    // A tie across classes is one threshold: both move together.
    expect(ks([0.5, 0.5], [0, 1])).toBe(0);
  });

  it('log-loss is the mean of −log p for positives and −log(1 − p) for negatives, floored at ε', () => {
    const expected = -(Math.log(0.9) + Math.log(0.6) + Math.log(0.35) + Math.log(0.8)) / 4;
    expect(logLoss(SCORES, LABELS)).toBeCloseTo(expected, 14);
    expect(logLoss([0, 1], [1, 0])).toBeCloseTo(-Math.log(1e-15), 6);
  });

  it('confusion predicts positive when score >= threshold', () => {
    expect(confusion(SCORES, LABELS, 0.4)).toEqual({ tp: 1, fp: 1, tn: 1, fn: 1 });
    expect(confusion(SCORES, LABELS, 0.35)).toEqual({ tp: 2, fp: 1, tn: 1, fn: 0 });
  });

  it('rejects labels other than 0/1 and NaN scores without echoing them', () => {
    expect(() => auc([0.1, 0.2], [0, 2])).toThrow(/row 1/);
    expect(() => auc([0.1, Number.NaN], [0, 1])).toThrow(RangeError);
    expect(() => auc([0.1], [0, 1])).toThrow(RangeError);
  });
});

describe('histogram metrics', () => {
  it('bins negatives then positives by floor(score·bins), 1 in the last bin', () => {
    const histogram = scoreHistogram([0, 0.05, 0.1, 0.99, 1, 0.3], [0, 0, 1, 1, 1, 0], 10);
    expect(Array.from(histogram)).toEqual([2, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 2]);
  });

  it('give the exact AUC and KS when no bin holds both classes, and the confusion at the rounded edge', () => {
    const metrics = metricsFromHistogram(scoreHistogram(SCORES, LABELS, 10), 10, 0.43);
    expect(metrics.auc).toBe(0.75);
    expect(metrics.aucErrorBound).toBe(0);
    expect(metrics.ks).toBe(0.5);
    expect(metrics.threshold).toBe(0.4);
    expect(metrics.confusion).toEqual({ tp: 1, fp: 1, tn: 1, fn: 1 });
    expect(metricsFromHistogram(scoreHistogram(SCORES, LABELS, 10), 10, 1).confusion).toEqual({
      tp: 0,
      fp: 0,
      tn: 2,
      fn: 2,
    });
    expect([metrics.positives, metrics.negatives]).toEqual([2, 2]);
    expect(metrics.logLoss).toBeNaN();
  });

  it('count pairs sharing a bin as half', () => {
    // Bins of 0.5: negatives 0.1, 0.6; positives 0.2, 0.9 → pairs (0.2 vs 0.1) same bin ½, (0.2 vs 0.6) 0,
    // (0.9 vs 0.1) 1, (0.9 vs 0.6) same bin ½ → 2 / 4; two same-bin pairs bound the error by 2 / (2·4).
    const metrics = metricsFromHistogram(scoreHistogram([0.1, 0.6, 0.2, 0.9], [0, 0, 1, 1], 2), 2, 0.5);
    expect(metrics.auc).toBe(0.5);
    expect(metrics.aucErrorBound).toBe(0.25);
  });

  it('summed over members equal the pooled histogram, with the log-loss in the last lane', () => {
    const random = new SeededRandom('members');
    const parts = [30, 50, 20].map((n) => {
      const scores = Array.from({ length: n }, () => random.uniform());
      return { scores, labels: scores.map((s) => (random.uniform() < s ? 1 : 0)) };
    });
    const bins = 50;
    const summed = new Float64Array(2 * bins + 1);
    for (const p of parts) {
      evaluationSums(p.scores, p.labels, bins).forEach((v, k) => {
        summed[k]! += v;
      });
    }
    const scores = parts.flatMap((p) => p.scores);
    const labels = parts.flatMap((p) => p.labels);
    expect(Array.from(summed.subarray(0, 2 * bins))).toEqual(
      Array.from(scoreHistogram(scores, labels, bins)),
    );
    const metrics = metricsFromHistogram(summed, bins, 0.5);
    expect(metrics.logLoss).toBeCloseTo(logLoss(scores, labels), 12);
    expect(metrics.confusion).toEqual(confusion(scores, labels, 0.5));
    expect(Math.abs(metrics.auc - auc(scores, labels))).toBeLessThanOrEqual(metrics.aucErrorBound);
    expect(metrics.ks).toBeLessThanOrEqual(ks(scores, labels));
  });

  it('rejects a histogram of the wrong length and a threshold outside [0, 1]', () => {
    expect(() => metricsFromHistogram(new Float64Array(6), 2, 0.5)).toThrow(RangeError);
    expect(() => metricsFromHistogram(new Float64Array(4), 2, 1.5)).toThrow(RangeError);
  });

  it(`with EVAL_BINS (${EVAL_BINS}) are within 0.001 of the exact AUC on a trained model's real scores`, () => {
    // A logistic model trained three epochs on the guest, scored on host 1: scores bunch in part of [0, 1].
    const guest = creditData('guest');
    const preprocessing = fittedOn(guest);
    const train = encodePart(guest, preprocessing);
    const test = encodePart(creditData('host_1'), preprocessing);
    const spec = { type: 'logistic' } as const;
    const model = trainCentral({ ...train, spec, epochs: 3, batchSize: 64, learningRate: 0.1, seed: 'hist' });
    const scores = predict(model.parameters, spec, test.X, test.rows, test.width);
    const exact = auc(scores, test.y);
    const metrics = metricsFromHistogram(evaluationSums(scores, test.y), EVAL_BINS, 0.5);
    expect(Math.abs(metrics.auc - exact)).toBeLessThanOrEqual(0.001);
    expect(Math.abs(metrics.auc - exact)).toBeLessThanOrEqual(metrics.aucErrorBound);
    expect(metrics.aucErrorBound).toBeLessThan(0.002);
    expect(metrics.ks).toBeLessThanOrEqual(ks(scores, test.y));
    expect(ks(scores, test.y) - metrics.ks).toBeLessThan(0.01);
    expect(metrics.logLoss).toBeCloseTo(logLoss(scores, test.y), 10);
    expect(metrics.confusion).toEqual(confusion(scores, test.y, 0.5));
  });
});
