/**
 * Preprocessing: stats summed over three members equal stats on the pooled rows, the encoding of numeric cells
 * (numbers, numeric strings, booleans, missing) and categorical ones (listed, unknown, missing), and labels, whose
 * errors name the row but never the value.
 */
import { describe, expect, it } from 'vitest';
import {
  encodedWidth,
  encodeRows,
  InvalidLabelError,
  labelsOf,
  localColumnStats,
  localStatsLayout,
  preprocessingFromSums,
} from '../../../models/preprocessing.js';
import type { FeatureColumn, RawCell, RawColumns } from '../../../models/types.js';

const COLUMNS: FeatureColumn[] = [
  { name: 'income', kind: 'numeric' },
  { name: 'segment', kind: 'categorical', categories: ['retail', 'sme', 'corporate'] },
  { name: 'age', kind: 'numeric' },
];

const PARTS: RawColumns[] = [
  new Map<string, RawCell[]>([
    ['income', [1200, '3400.5', null, ' 800 ']],
    ['segment', ['retail', ' sme', 'unknown', null]],
    ['age', [31, 45, 27, true]],
  ]),
  new Map<string, RawCell[]>([
    ['income', ['', 5000, Number.NaN]],
    ['segment', ['corporate', 'retail', '']],
    ['age', [52, '38', 'n/a']],
  ]),
  new Map<string, RawCell[]>([
    ['income', [2500, false, Number.POSITIVE_INFINITY, 4100, '1e3']],
    ['segment', ['sme', 'sme', 'SME', 7, 'retail']],
    ['age', [60, 19, 44, 33, 25]],
  ]),
];

/** Reference: the non-missing numeric values of a column across all parts, read independently of the code. */
const POOLED: Record<'income' | 'age', number[]> = {
  income: [1200, 3400.5, 800, 5000, 2500, 0, 4100, 1000],
  age: [31, 45, 27, 1, 52, 38, 60, 19, 44, 33, 25],
};

function meanAndStd(values: number[]): { mean: number; std: number } {
  const mean = values.reduce((s, v) => s + v, 0) / values.length;
  const variance = values.reduce((s, v) => s + (v - mean) ** 2, 0) / values.length;
  return { mean, std: Math.sqrt(variance) };
}

describe('consortium stats', () => {
  it('lays out 3 lanes per numeric column and 1 per categorical', () => {
    expect(localStatsLayout(COLUMNS)).toEqual({ offsets: [0, 3, 4], length: 7 });
  });

  it('summed over three members give the mean and population std of the pooled rows', () => {
    const summed = new Float64Array(7);
    for (const part of PARTS)
      localColumnStats(COLUMNS, part).forEach((v, k) => {
        summed[k]! += v;
      });
    // income: 8 present of 12; segment: unknown, null, '', 'SME', 7 fall outside the list.
    expect(summed[2]).toBe(8);
    expect(summed[3]).toBe(5);
    expect(summed[6]).toBe(11);
    const [income, segment, age] = preprocessingFromSums(COLUMNS, summed).columns;
    for (const [column, values] of [
      [income, POOLED.income],
      [age, POOLED.age],
    ] as const) {
      const { mean, std } = meanAndStd(values);
      if (column?.kind !== 'numeric') throw new Error('expected a numeric column');
      expect(column.mean).toBeCloseTo(mean, 9);
      expect(column.std).toBeCloseTo(std, 9);
    }
    expect(segment).toEqual({
      name: 'segment',
      kind: 'categorical',
      categories: ['retail', 'sme', 'corporate'],
    });
  });

  it('gives std 1 to a constant column and mean 0, std 1 to an empty one', () => {
    const columns: FeatureColumn[] = [
      { name: 'constant', kind: 'numeric' },
      { name: 'empty', kind: 'numeric' },
    ];
    const raw = new Map<string, RawCell[]>([
      ['constant', [4, 4, '4']],
      ['empty', [null, '', 'x']],
    ]);
    expect(preprocessingFromSums(columns, localColumnStats(columns, raw)).columns).toEqual([
      { name: 'constant', kind: 'numeric', mean: 4, std: 1 },
      { name: 'empty', kind: 'numeric', mean: 0, std: 1 },
    ]);
  });

  it('rejects a missing column, ragged columns, duplicate names or categories, and a wrong-length sum', () => {
    expect(() => localColumnStats(COLUMNS, new Map([['income', [1]]]))).toThrow(RangeError);
    const ragged = new Map<string, RawCell[]>([
      ['income', [1, 2]],
      ['segment', ['sme']],
      ['age', [3, 4]],
    ]);
    expect(() => localColumnStats(COLUMNS, ragged)).toThrow(RangeError);
    expect(() => localStatsLayout([COLUMNS[0]!, COLUMNS[0]!])).toThrow(RangeError);
    expect(() => localStatsLayout([{ name: 's', kind: 'categorical', categories: ['a', 'a'] }])).toThrow(
      RangeError,
    );
    expect(() => preprocessingFromSums(COLUMNS, new Float64Array(6))).toThrow(RangeError);
  });
});

describe('encoding', () => {
  const preprocessing = {
    columns: [
      { name: 'income', kind: 'numeric', mean: 2000, std: 500 },
      { name: 'segment', kind: 'categorical', categories: ['retail', 'sme', 'corporate'] },
      { name: 'age', kind: 'numeric', mean: 40, std: 10 },
    ],
  } as const;

  it('is 1 input per numeric column and categories + 1 per categorical', () => {
    expect(encodedWidth(preprocessing)).toBe(6);
  });

  it('scales numbers, numeric strings and booleans, puts missing at the mean, one-hots with an "other" slot', () => {
    const { X, width, otherCount, missingCount } = encodeRows(preprocessing, PARTS[0]!, 4);
    expect(width).toBe(6);
    // income 1200, '3400.5', null, ' 800 '; segment 'retail', ' sme', 'unknown', null; age 31, 45, 27, true.
    expect(Array.from(X)).toEqual(
      [
        [-1.6, 1, 0, 0, 0, -0.9],
        [2.801, 0, 1, 0, 0, 0.5],
        [0, 0, 0, 0, 1, -1.3],
        [-2.4, 0, 0, 0, 1, -3.9],
      ].flat(),
    );
    expect(otherCount).toEqual(new Map([['segment', 2]]));
    expect(missingCount).toEqual(
      new Map([
        ['income', 1],
        ['age', 0],
      ]),
    );
  });

  it('matches categories exactly after trimming (no case folding) and stringifies numbers', () => {
    const p = { columns: [{ name: 'c', kind: 'categorical', categories: ['7', 'sme'] }] } as const;
    const raw = new Map<string, RawCell[]>([['c', [7, 'SME', ' sme ', '']]]);
    expect(Array.from(encodeRows(p, raw, 4).X)).toEqual([1, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 1]);
  });

  it('rejects a row count that does not match the columns', () => {
    expect(() => encodeRows(preprocessing, PARTS[0]!, 5)).toThrow(RangeError);
  });
});

describe('labels', () => {
  it('maps 1/0, true/false and yes/no (any case, trimmed)', () => {
    expect(Array.from(labelsOf([1, 0, '1', '0', true, false, 'yes', 'No', ' TRUE ', 'false']))).toEqual([
      1, 0, 1, 0, 1, 0, 1, 0, 1, 0,
    ]);
  });

  it('maps listed positive values to 1 and other present values to 0', () => {
    expect(Array.from(labelsOf(['default', 'paid', ' default', 3], ['default']))).toEqual([1, 0, 1, 0]);
  });

  it.each<[RawCell[], (readonly string[])?]>([
    [[1, 0, 'SECRET-4711']],
    [[1, 0, 2]],
    [[1, 0, null]],
    [['default', 'paid', '  '], ['default']],
  ])('throws a RangeError naming the row, never the value: %j', (column, positive) => {
    let caught: unknown;
    try {
      labelsOf(column, positive);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(RangeError);
    expect(caught).toBeInstanceOf(InvalidLabelError);
    expect((caught as InvalidLabelError).row).toBe(2);
    const message = (caught as Error).message;
    expect(message).toContain('row 2');
    expect(message).not.toContain('SECRET');
  });
});
