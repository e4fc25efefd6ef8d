/**
 * Boosted-tree split finding (models/trees/split.ts) against brute-force enumeration on random histograms, its
 * tie-breaking, and the exactness of quantised histograms (sibling by subtraction, any summation order).
 */
import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../../../models/random.js';
import {
  type BinnedFeature,
  bestSplit,
  binMatrix,
  emptyHistogram,
  goesLeft,
  leafWeight,
  matrixHistograms,
  plainHistograms,
  subtractHistograms,
} from '../../../models/trees/split.js';
import {
  type Histogram,
  MISSING_BIN,
  type SplitCandidate,
  type TreeParams,
} from '../../../models/trees/types.js';

const BASE: TreeParams = { trees: 1, depth: 3, learningRate: 0.3, bins: 31, minChildWeight: 0, l2: 1 };

/** A random histogram of quantised sums (exact dyadic values, as the trainer's are); some bins empty. */
function randomHistogram(random: SeededRandom, valueBins: number, missing: boolean): Histogram {
  const histogram = emptyHistogram();
  const fill = (p: number) => {
    const rows = 1 + random.below(40);
    histogram.g[p] = (random.below(2 * 4096 * rows + 1) - 4096 * rows) / 4096;
    // Now and then a bin of saturated rows: gradient but no hessian.
    histogram.h[p] = random.uniform() < 0.05 ? 0 : random.below(4096 * rows + 1) / 16384;
  };
  for (let b = 0; b < valueBins; b++) if (random.uniform() > 0.2) fill(b);
  if (missing) fill(MISSING_BIN);
  return histogram;
}

function gainOf(GL: number, HL: number, G: number, H: number, params: TreeParams): number {
  const GR = G - GL;
  const HR = H - HL;
  if (!(HL > 0 && HR > 0 && HL >= params.minChildWeight && HR >= params.minChildWeight)) return Number.NaN;
  const l = params.l2;
  return 0.5 * ((GL * GL) / (HL + l) + (GR * GR) / (HR + l) - (G * G) / (H + l)) - (params.minSplitGain ?? 0);
}

/** Sums of a histogram on the left of `leftBins` (+ missing if missingLeft), and the total. */
function sidesOf(histogram: Histogram, valueBins: number, leftBins: readonly number[], missingLeft: boolean) {
  let G = 0;
  let H = 0;
  let GL = 0;
  let HL = 0;
  const positions = [...Array.from({ length: valueBins }, (_, b) => b), MISSING_BIN];
  for (const p of positions) {
    G += histogram.g[p]!;
    H += histogram.h[p]!;
    if (p === MISSING_BIN ? missingLeft : leftBins.includes(p)) {
      GL += histogram.g[p]!;
      HL += histogram.h[p]!;
    }
  }
  return { G, H, GL, HL };
}

/** Every numeric split of every allowed feature, in the documented order; the first of the highest gains. */
function bruteNumeric(
  histograms: readonly Histogram[],
  features: readonly BinnedFeature[],
  params: TreeParams,
  allowed: readonly boolean[],
): SplitCandidate | null {
  let best: SplitCandidate | null = null;
  features.forEach((feature, f) => {
    if (!allowed[f]) return;
    const h = histograms[f]!;
    const missingEmpty = h.g[MISSING_BIN] === 0 && h.h[MISSING_BIN] === 0;
    for (let k = 0; k < feature.valueBins; k++) {
      const leftBins = Array.from({ length: k + 1 }, (_, b) => b);
      for (const side of missingEmpty ? [false] : [false, true]) {
        const { G, H, GL, HL } = sidesOf(h, feature.valueBins, leftBins, side);
        const gain = gainOf(GL, HL, G, H, params);
        if (gain > (best?.gain ?? 0)) {
          const missingLeft = missingEmpty ? HL >= H - HL : side;
          best = {
            feature: f,
            leftBins,
            missingLeft,
            gain,
            left: { g: GL, h: HL },
            right: { g: G - GL, h: H - HL },
          };
        }
      }
    }
  });
  return best;
}

/** The highest gain over every subset of a categorical feature's value bins, missing either side. */
function bruteSubsets(histogram: Histogram, valueBins: number, params: TreeParams): number {
  let best = 0;
  for (let mask = 1; mask < 2 ** valueBins; mask++) {
    const leftBins = Array.from({ length: valueBins }, (_, b) => b).filter((b) => (mask >> b) & 1);
    for (const side of [false, true]) {
      const { G, H, GL, HL } = sidesOf(histogram, valueBins, leftBins, side);
      const gain = gainOf(GL, HL, G, H, params);
      if (gain > best) best = gain;
    }
  }
  return best;
}

/** Checks a candidate's own sums and gain against the histogram it came from. */
function expectConsistent(
  candidate: SplitCandidate,
  histogram: Histogram,
  valueBins: number,
  params: TreeParams,
) {
  const { G, H, GL, HL } = sidesOf(histogram, valueBins, candidate.leftBins, candidate.missingLeft);
  expect(candidate.left).toEqual({ g: GL, h: HL });
  expect(candidate.right).toEqual({ g: G - GL, h: H - HL });
  expect(candidate.gain).toBe(gainOf(GL, HL, G, H, params));
}

describe('boosted-tree split finding', () => {
  it('finds exactly the brute-force best numeric split, ties included', () => {
    const random = new SeededRandom('numeric splits');
    let splits = 0;
    for (let trial = 0; trial < 400; trial++) {
      const features = Array.from({ length: 1 + random.below(4) }, () => ({
        kind: 'numeric' as const,
        valueBins: 1 + random.below(12),
      }));
      const histograms = features.map((f) => randomHistogram(random, f.valueBins, random.uniform() < 0.6));
      const params: TreeParams = {
        ...BASE,
        l2: [0, 0.5, 1, 3][random.below(4)]!,
        minChildWeight: [0, 0.01, 0.05][random.below(3)]!,
        minSplitGain: [0, 0.001][random.below(2)]!,
      };
      const allowed = features.map(() => random.uniform() < 0.8);
      const found = bestSplit(histograms, features, params, allowed);
      expect(found).toEqual(bruteNumeric(histograms, features, params, allowed));
      if (found !== null) {
        splits++;
        expectConsistent(found, histograms[found.feature]!, features[found.feature]!.valueBins, params);
      }
    }
    expect(splits).toBeGreaterThan(200);
  });

  it('never beats the best of all category subsets, and reaches it with λ = 0 and nothing missing (Fisher)', () => {
    const random = new SeededRandom('categorical splits');
    let optimal = 0;
    for (let trial = 0; trial < 300; trial++) {
      const valueBins = 2 + random.below(7);
      const fisher = trial % 2 === 0;
      const histogram = randomHistogram(random, valueBins, !fisher && random.uniform() < 0.7);
      if (fisher) for (let b = 0; b < valueBins; b++) if (histogram.h[b] === 0) histogram.g[b] = 0;
      const params: TreeParams = fisher
        ? { ...BASE, l2: 0 }
        : { ...BASE, l2: [0.5, 1][random.below(2)]!, minChildWeight: [0, 0.05][random.below(2)]! };
      const found = bestSplit([histogram], [{ kind: 'categorical', valueBins }], params);
      const best = bruteSubsets(histogram, valueBins, params);
      if (found === null) {
        if (fisher) expect(best).toBe(0);
        continue;
      }
      expectConsistent(found, histogram, valueBins, params);
      expect(found.gain).toBeLessThanOrEqual(best);
      if (fisher) {
        expect(found.gain).toBeCloseTo(best, 12);
        optimal++;
      }
    }
    expect(optimal).toBeGreaterThan(100);
  });

  it('breaks ties by feature, then bin, then missing right; sends missing to the heavier child when it holds nothing', () => {
    const h = emptyHistogram();
    h.g.set([-1, 0, 1]);
    h.h.set([1, 0, 1]);
    const features: BinnedFeature[] = [
      { kind: 'numeric', valueBins: 3 },
      { kind: 'numeric', valueBins: 3 },
    ];
    // Bin 1 is empty: k = 0 and k = 1 tie; two identical features tie.
    const split = bestSplit([h, h], features, BASE)!;
    expect(split).toMatchObject({ feature: 0, leftBins: [0], missingLeft: true });
    // Nothing missing and equal hessians: left. With the right heavier, right.
    h.h[2] = 2;
    expect(bestSplit([h], [features[0]!], BASE)).toMatchObject({ leftBins: [0], missingLeft: false });
    // A missing position whose two sides tie: right first.
    const m = emptyHistogram();
    m.g.set([-1, 1]);
    m.h.set([1, 1]);
    m.g[MISSING_BIN] = 0;
    m.h[MISSING_BIN] = 0.5;
    // Missing right gives G_R = 1 on H_R = 1.5; left gives G_L = −1 on H_L = 1.5: the same gain.
    expect(bestSplit([m], [{ kind: 'numeric', valueBins: 2 }], BASE)).toMatchObject({ missingLeft: false });
    // Skipped features and no positive gain give null.
    expect(bestSplit([m], [{ kind: 'numeric', valueBins: 2 }], BASE, [false])).toBeNull();
    expect(bestSplit([emptyHistogram()], [{ kind: 'numeric', valueBins: 2 }], BASE)).toBeNull();
  });

  it('orders categories by G/H and leaves empty ones right', () => {
    const h = emptyHistogram();
    // Ratios: bin 0 +1, bin 1 empty, bin 2 −2, bin 3 −1, bin 4 ("other") +2.
    h.g.set([1, 0, -2, -1, 2]);
    h.h.set([1, 0, 1, 1, 1]);
    const split = bestSplit([h], [{ kind: 'categorical', valueBins: 5 }], { ...BASE, l2: 0 })!;
    expect(split.leftBins).toEqual([2, 3]);
    expect(split.left).toEqual({ g: -3, h: 2 });
  });

  it('sums histograms as integers: a sibling by subtraction, any row order and either layout give the same bits', () => {
    const random = new SeededRandom('histograms');
    const n = 5000;
    const bins = Array.from({ length: 3 }, () => Uint8Array.from({ length: n }, () => random.below(32)));
    const gq = Int32Array.from({ length: n }, () => random.below(8193) - 4096);
    const hq = Int32Array.from({ length: n }, () => random.below(4097));
    const rows = Array.from({ length: n }, (_, r) => r).filter(() => random.uniform() < 0.7);
    const left = rows.filter(() => random.uniform() < 0.3);
    const leftSet = new Set(left);
    const right = rows.filter((r) => !leftSet.has(r));
    const parent = plainHistograms(bins, rows, gq, hq);
    expect(subtractHistograms(parent, plainHistograms(bins, left, gq, hq))).toEqual(
      plainHistograms(bins, right, gq, hq),
    );
    expect(plainHistograms(bins, random.shuffle(Int32Array.from(rows)), gq, hq)).toEqual(parent);
    // The row-major layout the plaintext trainer uses sums the same integers.
    expect(matrixHistograms(binMatrix(bins, n), rows, gq, hq)).toEqual(parent);
    // Known answer: values are integer sums over 2^12 and 2^14.
    const one = plainHistograms(
      [Uint8Array.from([3, 3, MISSING_BIN])],
      [0, 1, 2],
      Int32Array.from([5, -1, 7]),
      Int32Array.from([1, 2, 3]),
    );
    expect([one[0]!.g[3], one[0]!.h[3], one[0]!.g[MISSING_BIN], one[0]!.h[MISSING_BIN]]).toEqual([
      4 / 4096,
      3 / 16384,
      7 / 4096,
      3 / 16384,
    ]);
    expect(() => plainHistograms(bins, [n], gq, hq)).toThrow(RangeError);
    expect(() => plainHistograms(bins, [0], gq, hq.subarray(1))).toThrow(RangeError);
  });

  it('weighs leaves as −G/(H+λ), reads positions, and refuses malformed histograms', () => {
    expect(leafWeight(-3, 2, 1)).toBe(1);
    expect(leafWeight(2, 0, 0)).toBe(0);
    const split: SplitCandidate = {
      feature: 0,
      leftBins: [0, 2],
      missingLeft: true,
      gain: 1,
      left: { g: 0, h: 0 },
      right: { g: 0, h: 0 },
    };
    expect([0, 1, 2, 3, MISSING_BIN].map((p) => goesLeft(split, p))).toEqual([
      true,
      false,
      true,
      false,
      true,
    ]);
    const numeric: BinnedFeature[] = [{ kind: 'numeric', valueBins: 2 }];
    expect(() => bestSplit([], numeric, BASE)).toThrow(RangeError);
    expect(() => bestSplit([emptyHistogram()], numeric, BASE, [true, true])).toThrow(RangeError);
    expect(() => bestSplit([{ g: new Float64Array(8), h: new Float64Array(8) }], numeric, BASE)).toThrow(
      RangeError,
    );
    const stray = emptyHistogram();
    stray.h[5] = 1;
    expect(() => bestSplit([stray], numeric, BASE)).toThrow(RangeError);
    expect(() => bestSplit([emptyHistogram()], [{ kind: 'numeric', valueBins: 32 }], BASE)).toThrow(
      RangeError,
    );
  });
});
