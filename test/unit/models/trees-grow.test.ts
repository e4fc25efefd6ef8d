/**
 * The level-wise tree grower (models/trees/grow.ts): against a reference grower that computes every node's
 * histograms directly, the calls it makes through its access (once per level, only the smaller child of each pair),
 * summation order not mattering, and the checks on what the access answers.
 */
import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../../../models/random.js';
import { dequantiseSums, logisticGradients, quantiseGradients } from '../../../models/trees/gradients.js';
import { type GrowAccess, growTree, type PartyFeatures } from '../../../models/trees/grow.js';
import {
  type BinnedFeature,
  bestSplit,
  leafWeight,
  leftTable,
  plainHistograms,
} from '../../../models/trees/split.js';
import type { SplitCandidate, Tree, TreeNode, TreeParams } from '../../../models/trees/types.js';

interface Party {
  readonly party: string;
  readonly features: BinnedFeature[];
  readonly bins: Uint8Array[];
}

const PARAMS: TreeParams = { trees: 1, depth: 4, learningRate: 0.3, bins: 16, minChildWeight: 0.5, l2: 1 };

/** Two parties over `n` rows: noisy numeric and categorical features, labels driven by some of them. */
function fixture(seed: string, n: number) {
  const random = new SeededRandom(seed);
  const party = (name: string, kinds: BinnedFeature[]): Party => ({
    party: name,
    features: kinds,
    bins: kinds.map((f) =>
      Uint8Array.from({ length: n }, () => (random.uniform() < 0.08 ? 31 : random.below(f.valueBins))),
    ),
  });
  const a = party('bank-a', [
    { kind: 'numeric', valueBins: 16 },
    { kind: 'categorical', valueBins: 6 },
    { kind: 'numeric', valueBins: 3 },
  ]);
  const b = party('bank-b', [
    { kind: 'numeric', valueBins: 12 },
    { kind: 'categorical', valueBins: 4 },
  ]);
  const labels = Uint8Array.from({ length: n }, (_, r) => {
    const z =
      (a.bins[0]![r]! % 31) / 8 -
      1 +
      (a.bins[1]![r] === 2 ? 1 : 0) -
      (b.bins[0]![r]! % 31) / 12 +
      random.uniform() -
      0.5;
    return random.uniform() < 1 / (1 + Math.exp(-2 * z)) ? 1 : 0;
  });
  const rows = Array.from({ length: n }, (_, r) => r).filter(() => random.uniform() < 0.8);
  const margins = new Float64Array(n).map(() => random.uniform() - 0.5);
  const { g, h } = logisticGradients(labels, margins, rows);
  const q = quantiseGradients(g, h);
  const gq = new Int32Array(n);
  const hq = new Int32Array(n);
  rows.forEach((r, i) => {
    gq[r] = q.g[i]!;
    hq[r] = q.h[i]!;
  });
  return { parties: [a, b], rows: Int32Array.from(rows), gq, hq, n };
}

const featuresOf = (parties: readonly Party[]): PartyFeatures[] =>
  parties.map((p) => ({ party: p.party, features: p.features }));

/** Local access over the parties' bins, logging its calls; `reverse` sums every histogram in reverse row order. */
function localAccess(parties: readonly Party[], gq: Int32Array, hq: Int32Array, reverse = false) {
  const splits = new Map(parties.map((p) => [p.party, 0]));
  const log: { histograms: number[][]; split: number[][] } = { histograms: [], split: [] };
  const access: GrowAccess = {
    histograms: async (nodes) => {
      log.histograms.push(nodes.map((n) => n.node));
      return nodes.map((n) =>
        parties.map((p) => plainHistograms(p.bins, reverse ? n.rows.slice().reverse() : n.rows, gq, hq)),
      );
    },
    split: async (requests) => {
      log.split.push(requests.map((r) => r.node));
      return requests.map(({ rows, party, candidate }) => {
        const owner = parties.find((p) => p.party === party)!;
        const table = leftTable(candidate);
        const column = owner.bins[candidate.feature]!;
        const id = splits.get(party)!;
        splits.set(party, id + 1);
        return { splitId: id, left: Uint8Array.from(rows, (r) => table[column[r]!]!) };
      });
    },
  };
  return { access, log };
}

/** The reference: level by level, every node's histograms computed from its rows, no subtraction. */
function referenceTree(
  parties: readonly Party[],
  allowed: readonly (readonly boolean[])[],
  rows: Int32Array,
  gq: Int32Array,
  hq: Int32Array,
  params: TreeParams,
): Tree {
  const nodes: TreeNode[] = [];
  const splits = new Map(parties.map((p) => [p.party, 0]));
  let level: { node: number; rows: Int32Array }[] = [{ node: 0, rows }];
  nodes.push({ kind: 'leaf', weight: 0 });
  for (let depth = 0; level.length > 0; depth++) {
    const next: { node: number; rows: Int32Array }[] = [];
    for (const { node, rows: own } of level) {
      let best: { party: Party; candidate: SplitCandidate } | null = null;
      if (depth < params.depth && own.length >= 2) {
        for (const [p, party] of parties.entries()) {
          const candidate = bestSplit(
            plainHistograms(party.bins, own, gq, hq),
            party.features,
            params,
            allowed[p],
          );
          if (candidate !== null && (best === null || candidate.gain > best.candidate.gain))
            best = { party, candidate };
        }
      }
      if (best === null) {
        let g = 0;
        let h = 0;
        for (const r of own) {
          g += gq[r]!;
          h += hq[r]!;
        }
        const sums = dequantiseSums(g, h);
        nodes[node] = { kind: 'leaf', weight: params.learningRate * leafWeight(sums.g, sums.h, params.l2) };
        continue;
      }
      const table = leftTable(best.candidate);
      const column = best.party.bins[best.candidate.feature]!;
      const left = own.filter((r) => table[column[r]!] === 1);
      const right = own.filter((r) => table[column[r]!] === 0);
      const id = splits.get(best.party.party)!;
      splits.set(best.party.party, id + 1);
      nodes[node] = {
        kind: 'split',
        owner: best.party.party,
        splitId: id,
        left: nodes.length,
        right: nodes.length + 1,
      };
      next.push({ node: nodes.length, rows: left }, { node: nodes.length + 1, rows: right });
      nodes.push({ kind: 'leaf', weight: 0 }, { kind: 'leaf', weight: 0 });
    }
    level = next;
  }
  return { nodes };
}

/** The leaf row `r` reaches through the parties' bins, with the split ids as the local access hands them out. */
function leafOf(
  tree: Tree,
  parties: readonly Party[],
  tables: Map<string, { feature: number; table: Uint8Array }[]>,
  r: number,
) {
  let at = 0;
  for (;;) {
    const node = tree.nodes[at]!;
    if (node.kind === 'leaf') return at;
    const party = parties.find((p) => p.party === node.owner)!;
    const { feature, table } = tables.get(node.owner)![node.splitId]!;
    at = table[party.bins[feature]![r]!] === 1 ? node.left : node.right;
  }
}

describe('boosted-tree grower', () => {
  it('grows the same tree as computing every histogram directly, for any feature mask', async () => {
    for (const [seed, mask] of [
      [
        'grow one',
        [
          [true, true, true],
          [true, true],
        ],
      ],
      [
        'grow two',
        [
          [true, false, true],
          [false, true],
        ],
      ],
      [
        'grow three',
        [
          [false, false, false],
          [true, true],
        ],
      ],
    ] as const) {
      const { parties, rows, gq, hq } = fixture(seed, 3000);
      const { access } = localAccess(parties, gq, hq);
      const grown = await growTree({
        params: PARAMS,
        parties: featuresOf(parties),
        allowed: mask,
        rows,
        gq,
        hq,
        access,
      });
      expect(grown.tree).toEqual(referenceTree(parties, mask, rows, gq, hq, PARAMS));
      expect(grown.tree.nodes.filter((n) => n.kind === 'split').length).toBeGreaterThan(5);
    }
  });

  it('asks for histograms once per level, only for the smaller child of each pair, and splits once per level', async () => {
    const { parties, rows, gq, hq } = fixture('calls', 3000);
    const { access, log } = localAccess(parties, gq, hq);
    const sizes = new Map<number, number>();
    const counting: GrowAccess = {
      histograms: (nodes) => {
        for (const n of nodes) sizes.set(n.node, n.rows.length);
        return access.histograms(nodes);
      },
      split: access.split,
    };
    const allowed = parties.map((p) => p.features.map(() => true));
    const { tree, leafOfRow } = await growTree({
      params: PARAMS,
      parties: featuresOf(parties),
      allowed,
      rows,
      gq,
      hq,
      access: counting,
    });
    expect(log.histograms[0]).toEqual([0]);
    expect(log.histograms.length).toBe(PARAMS.depth);
    expect(log.split.length).toBe(PARAMS.depth);
    // Rows per node from leafOfRow; each asked-for child has at most as many rows as its sibling.
    const count = new Map<number, number>();
    const countUp = (node: number): number => {
      const n = tree.nodes[node]!;
      const c =
        n.kind === 'leaf' ? leafOfRow.filter((l) => l === node).length : countUp(n.left) + countUp(n.right);
      count.set(node, c);
      return c;
    };
    expect(countUp(0)).toBe(rows.length);
    tree.nodes.forEach((n) => {
      if (n.kind !== 'split') return;
      const [l, r] = [n.left, n.right];
      const asked = [l, r].filter((c) => sizes.has(c));
      if (asked.length === 0) return;
      expect(asked).toHaveLength(1);
      const sibling = asked[0] === l ? r : l;
      expect(count.get(asked[0]!)!).toBeLessThanOrEqual(count.get(sibling)!);
      expect(sizes.get(asked[0]!)).toBe(count.get(asked[0]!));
    });
    expect(tree.nodes.filter((n) => n.kind === 'leaf').length).toBeLessThanOrEqual(2 ** PARAMS.depth);
  });

  it('puts each row in the leaf its bins lead to, and weighs leaves by the learning rate', async () => {
    const { parties, rows, gq, hq } = fixture('leaves', 2000);
    const tables = new Map<string, { feature: number; table: Uint8Array }[]>(
      parties.map((p) => [p.party, []]),
    );
    const { access } = localAccess(parties, gq, hq);
    const recording: GrowAccess = {
      histograms: access.histograms,
      split: async (requests) => {
        for (const { party, candidate } of requests) {
          tables.get(party)!.push({ feature: candidate.feature, table: leftTable(candidate) });
        }
        return access.split(requests);
      },
    };
    const allowed = parties.map((p) => p.features.map(() => true));
    const grow = (params: TreeParams) =>
      growTree({ params, parties: featuresOf(parties), allowed, rows, gq, hq, access: recording });
    const { tree, leafOfRow } = await grow(PARAMS);
    rows.forEach((r, i) => {
      expect(leafOfRow[i]).toBe(leafOf(tree, parties, tables, r));
    });
    // Depth 0: one leaf of weight learningRate · −G/(H+λ) over every row.
    let g = 0;
    let h = 0;
    for (const r of rows) {
      g += gq[r]!;
      h += hq[r]!;
    }
    const sums = dequantiseSums(g, h);
    const stump = await grow({ ...PARAMS, depth: 0 });
    expect(stump.tree.nodes).toEqual([{ kind: 'leaf', weight: 0.3 * leafWeight(sums.g, sums.h, 1) }]);
    // Ties between parties go to the first: give bank-b the same features and bins as bank-a.
    const twin = { ...parties[0]!, party: 'bank-b' };
    const twins = localAccess([parties[0]!, twin], gq, hq);
    const tied = await growTree({
      params: PARAMS,
      parties: featuresOf([parties[0]!, twin]),
      allowed: [allowed[0]!, allowed[0]!],
      rows,
      gq,
      hq,
      access: twins.access,
    });
    expect(tied.tree.nodes.filter((n) => n.kind === 'split').every((n) => n.owner === 'bank-a')).toBe(true);
  });

  it('grows bit-identical trees whatever order the histograms are summed in', async () => {
    const { parties, rows, gq, hq } = fixture('order', 4000);
    const allowed = parties.map((p) => p.features.map(() => true));
    const grow = (reverse: boolean) =>
      growTree({
        params: { ...PARAMS, depth: 5 },
        parties: featuresOf(parties),
        allowed,
        rows,
        gq,
        hq,
        access: localAccess(parties, gq, hq, reverse).access,
      });
    const [forward, backward] = [await grow(false), await grow(true)];
    expect(backward.tree).toEqual(forward.tree);
    expect(backward.leafOfRow).toEqual(forward.leafOfRow);
  });

  it('refuses answers that do not fit: wrong counts, flags of another split, bad split ids', async () => {
    const { parties, rows, gq, hq } = fixture('refusals', 1000);
    const allowed = parties.map((p) => p.features.map(() => true));
    const { access } = localAccess(parties, gq, hq);
    const grow = (bad: Partial<GrowAccess>) =>
      growTree({
        params: PARAMS,
        parties: featuresOf(parties),
        allowed,
        rows,
        gq,
        hq,
        access: { ...access, ...bad },
      });
    await expect(grow({ histograms: async () => [] })).rejects.toThrow(RangeError);
    await expect(
      grow({ histograms: async (nodes) => (await access.histograms(nodes)).map((n) => n.slice(0, 1)) }),
    ).rejects.toThrow(RangeError);
    const flipped: GrowAccess['split'] = async (requests) =>
      (await access.split(requests)).map((s) => ({ splitId: s.splitId, left: s.left.map((b) => 1 - b) }));
    await expect(grow({ split: flipped })).rejects.toThrow(/do not match/);
    await expect(
      grow({ split: async (requests) => (await access.split(requests)).map((s) => ({ ...s, splitId: -1 })) }),
    ).rejects.toThrow(RangeError);
    await expect(
      growTree({ params: PARAMS, parties: featuresOf(parties), allowed: [[true]], rows, gq, hq, access }),
    ).rejects.toThrow(RangeError);
    await expect(
      growTree({
        params: { ...PARAMS, learningRate: 0 },
        parties: featuresOf(parties),
        allowed,
        rows,
        gq,
        hq,
        access,
      }),
    ).rejects.toThrow(RangeError);
  });
});
