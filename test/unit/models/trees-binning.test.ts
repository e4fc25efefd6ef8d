/**
 * Boosted-tree binning (models/trees/binning.ts): known cut points and positions (missing and "other" included),
 * refusals, and the claim that a split's raw-unit rule sends every value the way the split sends its bin.
 */
import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../../../models/random.js';
import { binColumns, binOfValue, fitBinning, ruleOf, valueBins } from '../../../models/trees/binning.js';
import { splitBits } from '../../../models/trees/part.js';
import { goesLeft } from '../../../models/trees/split.js';
import { type FeatureBinning, MISSING_BIN, type SplitCandidate } from '../../../models/trees/types.js';
import type { FeatureColumn, RawCell } from '../../../models/types.js';

const all = (n: number) => Array.from({ length: n }, (_, i) => i);

function candidate(leftBins: number[], missingLeft: boolean): SplitCandidate {
  return { feature: 0, leftBins, missingLeft, gain: 1, left: { g: 0, h: 0 }, right: { g: 0, h: 0 } };
}

describe('boosted-tree binning', () => {
  it('gives each distinct value its own bin when there are few, with edges midway, and bins missing apart', () => {
    const cells: RawCell[] = [
      1,
      '2',
      2,
      ' 3 ',
      null,
      '',
      '  ',
      'abc',
      Number.NaN,
      Number.POSITIVE_INFINITY,
      true,
    ];
    const raw = new Map([['x', cells]]);
    const [binning] = fitBinning([{ name: 'x', kind: 'numeric' }], raw, all(cells.length), 31);
    // true counts as 1 (as in models/preprocessing.ts); the rest of the non-numbers are missing.
    expect(binning).toEqual({ name: 'x', kind: 'numeric', upper: [1.5, 2.5] });
    expect(valueBins(binning!)).toBe(3);
    const M = MISSING_BIN;
    expect(Array.from(binColumns([binning!], raw, cells.length)[0]!)).toEqual([
      0,
      1,
      1,
      2,
      M,
      M,
      M,
      M,
      M,
      M,
      0,
    ]);
    // Values never seen in training fall in the bin of the nearer training value.
    expect([-5, 1.49, 1.5, 1.51, 2.6, 99].map((x) => binOfValue(binning!, x))).toEqual([0, 0, 0, 1, 2, 2]);
  });

  it('cuts at quantiles when there are more distinct values than bins, merging equal cut points', () => {
    const spread = all(100).map((i) => String(i));
    const ties: RawCell[] = [...Array(90).fill(0), ...all(10).map((i) => i + 1)];
    const constant: RawCell[] = Array(100).fill('7');
    const raw = new Map<string, readonly RawCell[]>([
      ['spread', spread],
      ['ties', ties],
      ['constant', constant],
    ]);
    const features: FeatureColumn[] = ['spread', 'ties', 'constant'].map((name) => ({
      name,
      kind: 'numeric',
    }));
    const binning = fitBinning(features, raw, all(100), 4);
    // Quartiles end at the 25th, 50th and 75th values (24, 49, 74); edges sit midway to the next value.
    expect(binning[0]).toEqual({ name: 'spread', kind: 'numeric', upper: [24.5, 49.5, 74.5] });
    // All three quartiles are 0: one cut point, two bins.
    expect(binning[1]).toEqual({ name: 'ties', kind: 'numeric', upper: [0.5] });
    expect(binning[2]).toEqual({ name: 'constant', kind: 'numeric', upper: [] });
    // Only the training rows count: the first 30 values of `spread`, ten per bin at 3 bins.
    expect(fitBinning([features[0]!], raw, all(30), 3)[0]).toEqual({
      name: 'spread',
      kind: 'numeric',
      upper: [9.5, 19.5],
    });
  });

  it('gives each declared category a bin, then "other"; null and blank are missing', () => {
    const cells: RawCell[] = ['a', ' b ', 'c', null, '', '  ', 'A', 'b'];
    const raw = new Map([['kind', cells]]);
    const binning = fitBinning([{ name: 'kind', kind: 'categorical', categories: ['a', 'b'] }], raw, [0], 8);
    expect(binning[0]).toEqual({ name: 'kind', kind: 'categorical', categories: ['a', 'b'] });
    expect(valueBins(binning[0]!)).toBe(3);
    expect(Array.from(binColumns(binning, raw, cells.length)[0]!)).toEqual([0, 1, 2, 31, 31, 31, 2, 1]);
  });

  it('refuses bad bin counts, too many categories, absent or ragged columns and rows out of range', () => {
    const raw = new Map<string, readonly RawCell[]>([
      ['x', [1, 2]],
      ['y', [1]],
    ]);
    const x: FeatureColumn = { name: 'x', kind: 'numeric' };
    expect(() => fitBinning([x], raw, [0], 1)).toThrow(RangeError);
    expect(() => fitBinning([x], raw, [0], 32)).toThrow(RangeError);
    expect(() => fitBinning([x], raw, [2], 4)).toThrow(RangeError);
    expect(() => fitBinning([x, { name: 'y', kind: 'numeric' }], raw, [0], 4)).toThrow(RangeError);
    expect(() => fitBinning([{ name: 'z', kind: 'numeric' }], raw, [0], 4)).toThrow(RangeError);
    expect(() => fitBinning([x, x], raw, [0], 4)).toThrow(RangeError);
    const categories = (n: number) => all(n).map((i) => `c${i}`);
    expect(
      fitBinning([{ name: 'x', kind: 'categorical', categories: categories(30) }], raw, [0], 4),
    ).toHaveLength(1);
    expect(() =>
      fitBinning([{ name: 'x', kind: 'categorical', categories: categories(31) }], raw, [0], 4),
    ).toThrow(RangeError);
    expect(() =>
      fitBinning([{ name: 'x', kind: 'categorical', categories: ['a', ' a'] }], raw, [0], 4),
    ).toThrow(RangeError);
    expect(() => binColumns([{ name: 'x', kind: 'numeric', upper: [] }], raw, 3)).toThrow(RangeError);
  });

  it('turns a split on bins into a rule that sends every value, seen in training or not, the same way', () => {
    const random = new SeededRandom('binning rules');
    const rows = 600;
    // A continuous column, a discrete one with ties, and a categorical one, each with missing values.
    const cell = (make: () => RawCell) =>
      random.uniform() < 0.1 ? (random.uniform() < 0.5 ? null : ' ') : make();
    const raw = new Map<string, readonly RawCell[]>([
      ['amount', all(rows).map(() => cell(() => (random.uniform() * 200 - 100).toFixed(3)))],
      ['grade', all(rows).map(() => cell(() => random.below(6)))],
      [
        'region',
        all(rows).map(() => cell(() => ['north', 'south', 'east', 'west', 'moon'][random.below(5)]!)),
      ],
    ]);
    const features: FeatureColumn[] = [
      { name: 'amount', kind: 'numeric' },
      { name: 'grade', kind: 'numeric' },
      { name: 'region', kind: 'categorical', categories: ['north', 'south', 'east', 'west'] },
    ];
    // Fitted on the first half only: the second half holds values the binning never saw.
    const binning = fitBinning(features, raw, all(rows / 2), 16);
    const bins = binColumns(binning, raw, rows);
    let checked = 0;
    let wrong = 0;
    binning.forEach((b: FeatureBinning, f) => {
      const V = valueBins(b);
      const lefts =
        b.kind === 'numeric'
          ? all(V).map((k) => all(k + 1))
          : all(2 ** V - 1).map((mask) => all(V).filter((c) => ((mask + 1) >> c) & 1));
      for (const leftBins of lefts) {
        for (const missingLeft of [false, true]) {
          const split = candidate(leftBins, missingLeft);
          const bits = splitBits([ruleOf(b, split)], raw, rows);
          for (let r = 0; r < rows; r++) if (bits[r] !== (goesLeft(split, bins[f]![r]!) ? 1 : 0)) wrong++;
          checked++;
        }
      }
    });
    expect(wrong).toBe(0);
    expect(checked).toBeGreaterThan(100);
  });

  it('sends only missing values right when every value bin goes left, and refuses a numeric split that is no prefix', () => {
    const b: FeatureBinning = { name: 'x', kind: 'numeric', upper: [1, 2] };
    expect(ruleOf(b, candidate([0, 1, 2], false))).toEqual({
      feature: 'x',
      kind: 'numeric',
      threshold: Number.MAX_VALUE,
      missingLeft: false,
    });
    expect(ruleOf(b, candidate([0, 1], true))).toEqual({
      feature: 'x',
      kind: 'numeric',
      threshold: 2,
      missingLeft: true,
    });
    expect(() => ruleOf(b, candidate([1], false))).toThrow(RangeError);
    expect(() => ruleOf(b, candidate([], false))).toThrow(RangeError);
    expect(() => ruleOf(b, candidate([0, 1, 2, 3], false))).toThrow(RangeError);
    const c: FeatureBinning = { name: 'k', kind: 'categorical', categories: ['a', 'b', 'c'] };
    expect(ruleOf(c, candidate([1, 3], false))).toEqual({
      feature: 'k',
      kind: 'categorical',
      left: ['b'],
      otherLeft: true,
      categories: ['a', 'b', 'c'],
      missingLeft: false,
    });
    expect(() => ruleOf(c, candidate([3, 1], false))).toThrow(RangeError);
  });
});
