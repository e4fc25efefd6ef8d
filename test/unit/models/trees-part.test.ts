/**
 * Scoring with boosted-tree model parts (models/trees/part.ts): split bits from raw cells, the label holder's walk over
 * its own and its partners' bits, building parts from a trained model, and the consistency checks on a part.
 */
import { describe, expect, it } from 'vitest';
import { sigmoid } from '../../../models/network.js';
import { checkTreePart, partsOf, splitBits, treeMargins, treeScores } from '../../../models/trees/part.js';
import type { SplitRule, Tree, TreeLabelHolderPart, TreeNode } from '../../../models/trees/types.js';
import type { RawCell } from '../../../models/types.js';

const AGE: SplitRule = { feature: 'age', kind: 'numeric', threshold: 40, missingLeft: true };
const REGION: SplitRule = {
  feature: 'region',
  kind: 'categorical',
  left: ['north'],
  otherLeft: true,
  categories: ['north', 'south'],
  missingLeft: false,
};
const INCOME: SplitRule = { feature: 'income', kind: 'numeric', threshold: 1000, missingLeft: false };

/** Root on bank-a's age; left child on bank-b's income; right child on bank-a's region. */
const TREE: Tree = {
  nodes: [
    { kind: 'split', owner: 'bank-a', splitId: 0, left: 1, right: 2 },
    { kind: 'split', owner: 'bank-b', splitId: 0, left: 3, right: 4 },
    { kind: 'split', owner: 'bank-a', splitId: 1, left: 5, right: 6 },
    { kind: 'leaf', weight: 1 },
    { kind: 'leaf', weight: 2 },
    { kind: 'leaf', weight: 3 },
    { kind: 'leaf', weight: 4 },
  ],
};

const PART: TreeLabelHolderPart = {
  role: 'label-holder',
  self: 'bank-a',
  baseMargin: -1,
  trees: [TREE, { nodes: [{ kind: 'leaf', weight: 0.5 }] }],
  rules: [AGE, REGION],
  partners: [{ member: 'bank-b', splits: 1 }],
};

describe('boosted-tree parts', () => {
  it('turns raw cells into split bits: thresholds, categories, "other" and missing values', () => {
    const raw = new Map<string, readonly RawCell[]>([
      ['age', [30, '40', ' 41 ', null, '', 'n/a', Number.NaN, true]],
      ['region', ['north', ' south ', 'east', null, '  ', 'North', 'north', 'south']],
    ]);
    const bits = splitBits([AGE, REGION], raw, 8);
    const rows = Array.from({ length: 8 }, (_, r) => [bits[2 * r], bits[2 * r + 1]]);
    expect(rows).toEqual([
      [1, 1], // 30 ≤ 40; north
      [1, 0], // '40' ≤ 40; south
      [0, 1], // 41 > 40; east is other (left)
      [1, 0], // missing age left; missing region right
      [1, 0], // blank: missing both
      [1, 1], // 'n/a' is a missing number; 'North' is other (case matters)
      [1, 1], // NaN is missing
      [1, 0], // true counts as 1
    ]);
    expect(() => splitBits([AGE], raw, 7)).toThrow(RangeError);
    expect(() => splitBits([INCOME], raw, 8)).toThrow(RangeError);
  });

  it('walks each tree over its own and its partners’ bits and adds leaf weights to the base margin', () => {
    // Rows: (age left, income left), (age left, income right), (age right, region left), (age right, region right).
    const own = Uint8Array.from([1, 0, 1, 1, 0, 1, 0, 0]);
    const partner = Uint8Array.from([1, 0, 1, 0]);
    const margins = treeMargins(PART, own, [partner], 4);
    expect(Array.from(margins)).toEqual([-1 + 1 + 0.5, -1 + 2 + 0.5, -1 + 3 + 0.5, -1 + 4 + 0.5]);
    expect(Array.from(treeScores(PART, own, [partner], 4))).toEqual(Array.from(margins, sigmoid));
    expect(() => treeMargins(PART, own, [], 4)).toThrow(RangeError);
    expect(() => treeMargins(PART, own, [partner.subarray(1)], 4)).toThrow(RangeError);
    expect(() => treeMargins(PART, own.subarray(2), [partner], 4)).toThrow(RangeError);
  });

  it('cuts a trained model into a label-holder part and feature-holder parts', () => {
    const trained = {
      trees: [TREE],
      baseMargin: 0.25,
      rules: new Map([
        ['bank-a', [AGE, REGION]],
        ['bank-b', [INCOME]],
      ]),
    };
    const { labelHolder, featureHolders } = partsOf(trained, 'bank-a', ['bank-b', 'bank-c']);
    expect(labelHolder).toEqual({
      role: 'label-holder',
      self: 'bank-a',
      baseMargin: 0.25,
      trees: [TREE],
      rules: [AGE, REGION],
      partners: [
        { member: 'bank-b', splits: 1 },
        { member: 'bank-c', splits: 0 },
      ],
    });
    expect(featureHolders.get('bank-b')).toEqual({ role: 'feature-holder', rules: [INCOME] });
    expect(featureHolders.get('bank-c')).toEqual({ role: 'feature-holder', rules: [] });
    // A partner left out, while the trees use its splits or it has rules: refused.
    expect(() => partsOf(trained, 'bank-a', [])).toThrow(RangeError);
    expect(() => partsOf({ ...trained, trees: [] }, 'bank-a', [])).toThrow(RangeError);
  });

  it('refuses inconsistent parts', () => {
    const withTree = (nodes: TreeNode[]): TreeLabelHolderPart => ({ ...PART, trees: [{ nodes }] });
    const leaf: TreeNode = { kind: 'leaf', weight: 0 };
    const split = (owner: string, splitId: number, left: number, right: number): TreeNode => ({
      kind: 'split',
      owner,
      splitId,
      left,
      right,
    });
    expect(() => checkTreePart(PART)).not.toThrow();
    expect(() => checkTreePart(withTree([split('bank-a', 0, 1, 3), leaf, leaf]))).toThrow(/out of range/);
    expect(() => checkTreePart(withTree([split('bank-a', 0, 0, 1), leaf]))).toThrow(/twice/);
    expect(() => checkTreePart(withTree([split('bank-a', 0, 1, 1), leaf]))).toThrow(/twice/);
    expect(() => checkTreePart(withTree([split('bank-a', 0, 1, 2), leaf, leaf, leaf]))).toThrow(
      /unreachable/,
    );
    expect(() => checkTreePart(withTree([split('bank-a', 2, 1, 2), leaf, leaf]))).toThrow(/split id/);
    expect(() => checkTreePart(withTree([split('bank-b', 1, 1, 2), leaf, leaf]))).toThrow(/split id/);
    expect(() => checkTreePart(withTree([split('bank-z', 0, 1, 2), leaf, leaf]))).toThrow(/owner/);
    expect(() => checkTreePart(withTree([{ kind: 'leaf', weight: Number.NaN }]))).toThrow(/finite/);
    expect(() => checkTreePart(withTree([]))).toThrow(/no nodes/);
    expect(() => checkTreePart({ ...PART, baseMargin: Number.POSITIVE_INFINITY })).toThrow(RangeError);
    expect(() => checkTreePart({ ...PART, partners: [{ member: 'bank-a', splits: 1 }] })).toThrow(RangeError);
    expect(() => checkTreePart({ ...PART, partners: [{ member: 'bank-b', splits: -1 }] })).toThrow(
      RangeError,
    );
    expect(() =>
      checkTreePart({ role: 'feature-holder', rules: [{ ...AGE, threshold: Number.NaN }] }),
    ).toThrow(RangeError);
    expect(() => checkTreePart({ role: 'feature-holder', rules: [{ ...REGION, left: ['west'] }] })).toThrow(
      RangeError,
    );
    expect(() =>
      checkTreePart({ role: 'feature-holder', rules: [{ ...REGION, categories: ['a', 'a'] }] }),
    ).toThrow(RangeError);
  });
});
