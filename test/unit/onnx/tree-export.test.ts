/**
 * Vertical boosted-tree parts against ONNX Runtime: a label holder (bank-a) and two feature holders (bank-b, bank-c)
 * hold hand-written split rules over different columns of the same rows; bank-a holds five trees (depth 3, 2, 1, a
 * stump on bank-c and a lone leaf) whose splits belong to all three. Each part is exported alone; the feature
 * holders' `split_bits` outputs are fed to the label holder's graph, whose `margin` and `score` must match a plain
 * walk of the trees.
 *
 * The reference below shares no code with models/: it reads raw cells with its own rules (numbers, numeric strings,
 * blank and unparsable cells missing; categories trimmed, null or blank missing, unlisted values "other") and walks
 * each tree from its root, so a mistake in the export cannot cancel out in the comparison.
 */
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import {
  exportTreePartOnnx,
  MARGIN_OUTPUT,
  SPLIT_BITS_OUTPUT,
  splitBitsInputName,
  TREE_ONNX_EXPORT_VERSION,
  treePartColumns,
  treePartFeeds,
  treePartInputs,
} from '../../../models/onnx/tree-export.js';
import type {
  SplitRule,
  TreeFeatureHolderPart,
  TreeLabelHolderPart,
  TreeNode,
  TreePart,
} from '../../../models/trees/types.js';
import type { RawCell, RawColumns } from '../../../models/types.js';
import { messages, strings } from './proto-reader.js';
import { maxAbsDiff, TestRandom } from './reference.js';

const random = new TestRandom(0x7ee5);
const ROWS = 400;

// ---- The parts ----------------------------------------------------------------------------------------------

const REGIONS = ['north', 'south', 'east', 'west'];
const PRODUCTS = ['card', 'loan', 'mortgage'];

const bankARules: SplitRule[] = [
  { feature: 'age', kind: 'numeric', threshold: 40, missingLeft: true },
  {
    feature: 'region',
    kind: 'categorical',
    left: ['north', 'east'],
    otherLeft: false,
    categories: REGIONS,
    missingLeft: true,
  },
  { feature: 'income', kind: 'numeric', threshold: 52_000.5, missingLeft: false },
  // Another binning of the same column: 'west' is "other" to this rule.
  {
    feature: 'region',
    kind: 'categorical',
    left: ['south'],
    otherLeft: true,
    categories: ['north', 'south', 'east'],
    missingLeft: false,
  },
];

const bankB: TreeFeatureHolderPart = {
  role: 'feature-holder',
  rules: [
    { feature: 'balance', kind: 'numeric', threshold: 1000, missingLeft: false },
    {
      feature: 'product',
      kind: 'categorical',
      left: ['card'],
      otherLeft: true,
      categories: PRODUCTS,
      missingLeft: false,
    },
    { feature: 'balance', kind: 'numeric', threshold: -250, missingLeft: true },
    // Not a C90 identifier: the input is `tenure_years`.
    { feature: 'tenure years', kind: 'numeric', threshold: 3, missingLeft: true },
    {
      feature: 'product',
      kind: 'categorical',
      left: ['loan', 'mortgage'],
      otherLeft: false,
      categories: PRODUCTS,
      missingLeft: true,
    },
  ],
};

const bankC: TreeFeatureHolderPart = {
  role: 'feature-holder',
  rules: [
    // A column named like the label holder's output: its input here is `score_2` (input-names.ts).
    { feature: 'score', kind: 'numeric', threshold: 650, missingLeft: false },
    {
      feature: 'segment',
      kind: 'categorical',
      left: [],
      otherLeft: true,
      categories: ['retail', 'business'],
      missingLeft: true,
    },
  ],
};

const split = (owner: string, splitId: number, left: number, right: number): TreeNode => ({
  kind: 'split',
  owner,
  splitId,
  left,
  right,
});
const leaf = (weight: number): TreeNode => ({ kind: 'leaf', weight });
/** Leaf weights that are not short decimals, so a dropped or doubled leaf cannot hide in rounding. */
const w = (k: number): number => Math.sin(k * 1.7) * 0.31;

const bankA: TreeLabelHolderPart = {
  role: 'label-holder',
  self: 'bank-a',
  baseMargin: Math.log(0.4 / 0.6),
  rules: bankARules,
  partners: [
    { member: 'bank-b', splits: bankB.rules.length },
    { member: 'bank-c', splits: bankC.rules.length },
  ],
  trees: [
    // Depth 3, every owner, two splits on the same column (balance) on one path.
    {
      nodes: [
        split('bank-a', 0, 1, 2),
        split('bank-b', 0, 3, 4),
        split('bank-a', 1, 5, 6),
        split('bank-b', 2, 7, 8),
        split('bank-c', 0, 9, 10),
        split('bank-b', 1, 11, 12),
        leaf(w(1)),
        leaf(w(2)),
        leaf(w(3)),
        leaf(w(4)),
        leaf(w(5)),
        leaf(w(6)),
        leaf(w(7)),
      ],
    },
    // Depth 2, unbalanced, nodes stored out of order.
    {
      nodes: [
        split('bank-b', 3, 3, 1),
        split('bank-a', 3, 4, 2),
        leaf(w(8)),
        split('bank-a', 2, 5, 6),
        leaf(w(9)),
        leaf(w(10)),
        leaf(w(11)),
      ],
    },
    { nodes: [split('bank-b', 4, 1, 2), leaf(w(12)), leaf(w(13))] },
    { nodes: [split('bank-c', 1, 2, 1), leaf(w(14)), leaf(w(15))] },
    { nodes: [leaf(w(16))] },
  ],
};

// ---- The rows -----------------------------------------------------------------------------------------------

/** Numbers from `value`, with missing cells in every form (null, NaN, '', blank, unparsable) and padded strings. */
const numericCells = (value: () => number): RawCell[] =>
  Array.from({ length: ROWS }, () => {
    const u = random.next();
    if (u < 0.03) return null;
    if (u < 0.05) return Number.NaN;
    if (u < 0.06) return '';
    if (u < 0.07) return '  ';
    if (u < 0.08) return 'n/a';
    const x = value();
    return u < 0.12 ? ` ${x} ` : x;
  });

const categoryCells = (values: readonly RawCell[]): RawCell[] =>
  Array.from({ length: ROWS }, () => random.pick(values));

/** Mostly uniform in [lo, hi), sometimes exactly `edge` (x ≤ threshold must hold there). */
const around =
  (lo: number, hi: number, ...edges: number[]) =>
  (): number =>
    random.next() < 0.1 ? random.pick(edges) : Math.round((lo + random.next() * (hi - lo)) * 100) / 100;

const rawA: RawColumns = new Map([
  ['age', numericCells(around(18, 80, 40))],
  ['region', categoryCells([...REGIONS, ...REGIONS, ' north ', 'East', 'unknown', '', '  ', null])],
  ['income', numericCells(around(20_000, 90_000, 52_000.5))],
]);
const rawB: RawColumns = new Map([
  ['balance', numericCells(around(-1000, 3000, 1000, -250))],
  ['product', categoryCells([...PRODUCTS, ...PRODUCTS, ' loan', 'savings', '', null])],
  ['tenure years', numericCells(around(0, 10, 3))],
]);
const rawC: RawColumns = new Map([
  ['score', numericCells(around(300, 850, 650))],
  ['segment', categoryCells(['retail', 'business', 'retail ', 'private', '', null])],
]);

// ---- The reference ------------------------------------------------------------------------------------------

function numberOf(cell: RawCell): number | undefined {
  if (typeof cell === 'number') return Number.isFinite(cell) ? cell : undefined;
  if (typeof cell === 'string' && cell.trim() !== '') {
    const x = Number(cell);
    return Number.isFinite(x) ? x : undefined;
  }
  return undefined;
}

function referenceBit(rule: SplitRule, cell: RawCell): number {
  if (rule.kind === 'numeric') {
    const x = numberOf(cell);
    return (x === undefined ? rule.missingLeft : x <= rule.threshold) ? 1 : 0;
  }
  const key = cell === null ? '' : String(cell).trim();
  if (key === '') return rule.missingLeft ? 1 : 0;
  if (rule.left.includes(key)) return 1;
  return !rule.categories.includes(key) && rule.otherLeft ? 1 : 0;
}

/** Row-major [ROWS, rules.length]. */
function referenceBits(rules: readonly SplitRule[], raw: RawColumns): Float64Array {
  const bits = new Float64Array(ROWS * rules.length);
  for (let r = 0; r < ROWS; r++) {
    rules.forEach((rule, k) => {
      bits[r * rules.length + k] = referenceBit(rule, raw.get(rule.feature)![r]!);
    });
  }
  return bits;
}

/** Per row: baseMargin, then each tree's reached leaf weight added in tree order; also which leaves were hit. */
function referenceMargins(
  part: TreeLabelHolderPart,
  bits: ReadonlyMap<string, Float64Array>,
): { margins: Float64Array; hit: Set<string> } {
  const width = new Map([
    [part.self, part.rules.length],
    ...part.partners.map((p) => [p.member, p.splits] as const),
  ]);
  const margins = new Float64Array(ROWS);
  const hit = new Set<string>();
  for (let r = 0; r < ROWS; r++) {
    let margin = part.baseMargin;
    part.trees.forEach((tree, t) => {
      let index = 0;
      for (let node = tree.nodes[0]!; node.kind === 'split'; node = tree.nodes[index]!) {
        const bit = bits.get(node.owner)![r * width.get(node.owner)! + node.splitId]!;
        index = bit === 1 ? node.left : node.right;
      }
      hit.add(`${t}:${index}`);
      margin += (tree.nodes[index] as { weight: number }).weight;
    });
    margins[r] = margin;
  }
  return { margins, hit };
}

const sigmoid = (z: number): number => 1 / (1 + Math.exp(-z));

// ---- Running the graphs -------------------------------------------------------------------------------------

/** Runs `bytes` on `part`'s column feeds plus `extra` DOUBLE [ROWS, width] inputs; returns every output by name. */
async function run(
  bytes: Uint8Array,
  part: TreePart,
  raw: RawColumns,
  extra: Readonly<Record<string, { data: Float64Array; width: number }>> = {},
): Promise<Record<string, { data: Float64Array; dims: readonly number[] }>> {
  const session = await ort.InferenceSession.create(bytes);
  try {
    const feeds: Record<string, ort.Tensor> = {};
    for (const feed of treePartFeeds(part, raw, ROWS)) {
      feeds[feed.name] =
        feed.type === 'double'
          ? new ort.Tensor('float64', feed.data, [ROWS, 1])
          : new ort.Tensor('string', feed.data, [ROWS, 1]);
    }
    for (const [name, { data, width }] of Object.entries(extra)) {
      feeds[name] = new ort.Tensor('float64', data, [ROWS, width]);
    }
    const result = await session.run(feeds);
    const out: Record<string, { data: Float64Array; dims: readonly number[] }> = {};
    for (const [name, tensor] of Object.entries(result)) {
      if (tensor.type !== 'float64') throw new Error(`${name} is ${tensor.type}, expected float64`);
      out[name] = { data: tensor.data as Float64Array, dims: tensor.dims };
    }
    return out;
  } finally {
    await session.release();
  }
}

describe('tree parts scored by ONNX Runtime', () => {
  const bitsB = referenceBits(bankB.rules, rawB);
  const bitsC = referenceBits(bankC.rules, rawC);
  const bitsA = referenceBits(bankA.rules, rawA);
  const { margins, hit } = referenceMargins(
    bankA,
    new Map([
      ['bank-a', bitsA],
      ['bank-b', bitsB],
      ['bank-c', bitsC],
    ]),
  );

  it('the rows send every rule both ways and reach every leaf of every tree', () => {
    for (const [rules, bits] of [
      [bankARules, bitsA],
      [bankB.rules, bitsB],
      [bankC.rules, bitsC],
    ] as const) {
      rules.forEach((_, k) => {
        const column = Array.from({ length: ROWS }, (_, r) => bits[r * rules.length + k]);
        expect(new Set(column)).toEqual(new Set([0, 1]));
      });
    }
    const leaves = bankA.trees.flatMap((tree, t) =>
      tree.nodes.flatMap((node, i) => (node.kind === 'leaf' ? [`${t}:${i}`] : [])),
    );
    expect([...hit].sort()).toEqual(leaves.sort());
    const cells = [...rawA.values(), ...rawB.values(), ...rawC.values()].flat();
    expect(cells.filter((c) => c === null).length).toBeGreaterThan(20);
    expect(cells.filter((c) => c === '').length).toBeGreaterThan(20);
    expect(cells.filter((c) => Number.isNaN(c)).length).toBeGreaterThan(5);
    expect(cells.filter((c) => c === 'unknown' || c === 'savings' || c === 'private').length).toBeGreaterThan(
      20,
    );
  });

  it('a feature holder’s split_bits equal the reference bits exactly', async () => {
    const outB = await run(exportTreePartOnnx(bankB), bankB, rawB);
    const outC = await run(exportTreePartOnnx(bankC), bankC, rawC);
    expect(Object.keys(outB)).toEqual([SPLIT_BITS_OUTPUT]);
    expect(outB[SPLIT_BITS_OUTPUT]!.dims).toEqual([ROWS, 5]);
    expect(outC[SPLIT_BITS_OUTPUT]!.dims).toEqual([ROWS, 2]);
    expect(Array.from(outB[SPLIT_BITS_OUTPUT]!.data)).toEqual(Array.from(bitsB));
    expect(Array.from(outC[SPLIT_BITS_OUTPUT]!.data)).toEqual(Array.from(bitsC));
  });

  it('feeding those bits to the label holder gives margin and score of the reference walk to 1e-12', async () => {
    const outB = await run(exportTreePartOnnx(bankB), bankB, rawB);
    const outC = await run(exportTreePartOnnx(bankC), bankC, rawC);
    const outA = await run(exportTreePartOnnx(bankA), bankA, rawA, {
      [splitBitsInputName('bank-b')]: { data: outB[SPLIT_BITS_OUTPUT]!.data, width: 5 },
      [splitBitsInputName('bank-c')]: { data: outC[SPLIT_BITS_OUTPUT]!.data, width: 2 },
    });
    expect(Object.keys(outA)).toEqual(['score', MARGIN_OUTPUT]);
    expect(outA[MARGIN_OUTPUT]!.dims).toEqual([ROWS, 1]);
    expect(outA['score']!.dims).toEqual([ROWS, 1]);
    expect(new Set(margins).size).toBeGreaterThan(30);
    expect(maxAbsDiff(outA[MARGIN_OUTPUT]!.data, margins)).toBeLessThan(1e-12);
    expect(maxAbsDiff(outA['score']!.data, margins.map(sigmoid))).toBeLessThan(1e-12);
  });

  it('a label holder alone (own rules only, one column) scores its stumps', async () => {
    const alone: TreeLabelHolderPart = {
      role: 'label-holder',
      self: 'bank-a',
      baseMargin: 0.25,
      rules: [bankARules[0]!, { feature: 'age', kind: 'numeric', threshold: 60, missingLeft: false }],
      partners: [],
      trees: [
        { nodes: [split('bank-a', 0, 1, 2), leaf(w(20)), leaf(w(21))] },
        { nodes: [split('bank-a', 1, 1, 2), leaf(w(22)), leaf(w(23))] },
      ],
    };
    const out = await run(exportTreePartOnnx(alone), alone, rawA);
    const expected = referenceMargins(alone, new Map([['bank-a', referenceBits(alone.rules, rawA)]])).margins;
    expect(maxAbsDiff(out[MARGIN_OUTPUT]!.data, expected)).toBeLessThan(1e-12);
  });
});

/** The model's producer_version, and the graph's op types and input (name, doc_string) pairs. */
function graphContents(bytes: Uint8Array): { version: string; ops: string[]; docs: string[][] } {
  const graph = messages(bytes, 7)[0]!;
  return {
    version: strings(bytes, 3)[0]!,
    ops: messages(graph, 1).map((node) => strings(node, 4)[0]!),
    docs: messages(graph, 11).map((info) => [strings(info, 1)[0]!, strings(info, 3)[0]!]),
  };
}

describe('tree part graphs: inputs, outputs, columns, bytes', () => {
  it('a feature holder has one input per column its rules read and one output split_bits [N, K]', async () => {
    expect(treePartColumns(bankB)).toEqual([
      { name: 'balance', kind: 'numeric' },
      { name: 'product', kind: 'categorical', categories: PRODUCTS },
      { name: 'tenure years', kind: 'numeric' },
    ]);
    const bytes = exportTreePartOnnx(bankB);
    const session = await ort.InferenceSession.create(bytes);
    try {
      expect(session.inputNames).toEqual(['balance', 'product', 'tenure_years']);
      expect(session.inputNames).toEqual(treePartInputs(bankB).map((i) => i.name));
      expect(session.inputMetadata.map((m) => (m.isTensor ? [m.name, m.type, m.shape] : null))).toEqual([
        ['balance', 'float64', ['N', 1]],
        ['product', 'string', ['N', 1]],
        ['tenure_years', 'float64', ['N', 1]],
      ]);
      expect(session.outputMetadata.map((m) => (m.isTensor ? [m.name, m.type, m.shape] : null))).toEqual([
        [SPLIT_BITS_OUTPUT, 'float64', ['N', 5]],
      ]);
    } finally {
      await session.release();
    }
    const { version, ops, docs } = graphContents(bytes);
    expect(version).toBe(TREE_ONNX_EXPORT_VERSION);
    expect(docs).toContainEqual(['tenure_years', 'tenure years']);
    expect(ops).not.toContain('Sigmoid');
    expect(treePartInputs(bankC).map((i) => i.name)).toEqual(['score_2', 'segment']);
  });

  it('a label holder has its columns then one split_bits__<member> input per partner, and outputs score, margin', async () => {
    expect(treePartColumns(bankA)).toEqual([
      { name: 'age', kind: 'numeric' },
      { name: 'region', kind: 'categorical', categories: REGIONS },
      { name: 'income', kind: 'numeric' },
    ]);
    const bytes = exportTreePartOnnx(bankA, { job: 'job-9' });
    const session = await ort.InferenceSession.create(bytes);
    try {
      expect(session.inputNames).toEqual([
        'age',
        'region',
        'income',
        'split_bits__bank_b',
        'split_bits__bank_c',
      ]);
      const types = Object.fromEntries(
        session.inputMetadata.map((m) => [m.name, m.isTensor ? [m.type, m.shape] : null]),
      );
      expect(types['split_bits__bank_b']).toEqual(['float64', ['N', 5]]);
      expect(types['split_bits__bank_c']).toEqual(['float64', ['N', 2]]);
      expect(session.outputNames).toEqual(['score', MARGIN_OUTPUT]);
    } finally {
      await session.release();
    }
    const { ops, docs } = graphContents(bytes);
    expect(ops.slice(-2)).toEqual(['Add', 'Sigmoid']);
    expect(docs.slice(-2)).toEqual([
      ['split_bits__bank_b', 'bank-b'],
      ['split_bits__bank_c', 'bank-c'],
    ]);
  });

  it('names a partner input split_bits__<member>, one-to-one, and refuses a non-member name', () => {
    expect(splitBitsInputName('bank-b')).toBe('split_bits__bank_b');
    expect(splitBitsInputName('b2')).toBe('split_bits__b2');
    for (const bad of ['', 'Bank-B', 'bank_b', '2bank', 'bank b']) {
      expect(() => splitBitsInputName(bad)).toThrow(RangeError);
    }
  });

  it('gives the same bytes for the same part and metadata, whatever the metadata key order', () => {
    const first = exportTreePartOnnx(bankA, { job: 'job-9', model: 'm-1' });
    expect(exportTreePartOnnx(bankA, { model: 'm-1', job: 'job-9' })).toEqual(first);
    expect(exportTreePartOnnx(bankB)).toEqual(exportTreePartOnnx(bankB));
    expect(messages(first, 14).map((entry) => strings(entry, 1)[0])).toEqual(['job', 'model']);
  });
});

describe('tree parts refuse inconsistent shapes', () => {
  const tree0 = bankA.trees[0]!;
  const withNode = (index: number, node: TreeNode): TreeLabelHolderPart => ({
    ...bankA,
    trees: [{ nodes: tree0.nodes.map((n, i) => (i === index ? node : n)) }, ...bankA.trees.slice(1)],
  });
  const numeric = (feature: string): Extract<SplitRule, { kind: 'numeric' }> => ({
    feature,
    kind: 'numeric',
    threshold: 0,
    missingLeft: true,
  });
  const region = bankARules[1] as Extract<SplitRule, { kind: 'categorical' }>;

  const invalid: [string, TreePart, RegExp][] = [
    [
      'a split owned by a member that is neither self nor a partner',
      withNode(1, split('bank-z', 0, 3, 4)),
      /neither self nor a partner/,
    ],
    [
      'a split id past its owner’s rules',
      withNode(0, split('bank-a', 4, 1, 2)),
      /split id out of its owner's range/,
    ],
    [
      'a split id past a partner’s split count',
      withNode(1, split('bank-b', 5, 3, 4)),
      /split id out of its owner's range/,
    ],
    ['a negative split id', withNode(4, split('bank-c', -1, 9, 10)), /split id out of its owner's range/],
    ['a child index out of range', withNode(2, split('bank-a', 1, 5, 13)), /child index out of range/],
    ['a node reached twice (a cycle)', withNode(2, split('bank-a', 1, 5, 0)), /reached twice/],
    ['a non-finite leaf weight', withNode(6, leaf(Number.NaN)), /non-finite weight/],
    ['a tree with no node', { ...bankA, trees: [{ nodes: [] }] }, /has no node/],
    ['no tree', { ...bankA, trees: [] }, /at least one tree/],
    ['a non-finite base margin', { ...bankA, baseMargin: Number.POSITIVE_INFINITY }, /baseMargin/],
    [
      'a partner listed twice',
      {
        ...bankA,
        partners: [
          { member: 'bank-b', splits: 5 },
          { member: 'bank-b', splits: 5 },
        ],
      },
      /self or listed twice/,
    ],
    [
      'a partner that is self',
      { ...bankA, partners: [{ member: 'bank-a', splits: 1 }] },
      /self or listed twice/,
    ],
    [
      'a partner that is not a member name',
      { ...bankA, partners: [{ member: 'Bank B', splits: 5 }] },
      /member name/,
    ],
    [
      'a partner with no split',
      { ...bankA, partners: [{ member: 'bank-b', splits: 0 }] },
      /positive integer split count/,
    ],
    ['a label holder with neither rules nor partners', { ...bankA, rules: [], partners: [] }, /no input/],
    ['a feature holder with no rule', { role: 'feature-holder', rules: [] }, /at least one split rule/],
    [
      'a column read by a numeric and a categorical rule',
      { role: 'feature-holder', rules: [numeric('region'), region] },
      /both a numeric and a categorical/,
    ],
    [
      'a non-finite threshold',
      { role: 'feature-holder', rules: [{ ...numeric('x'), threshold: Number.NaN }] },
      /finite threshold/,
    ],
    [
      'an empty category',
      { role: 'feature-holder', rules: [{ ...region, categories: [...REGIONS, ''] }] },
      /empty category/,
    ],
    [
      'a padded category',
      { role: 'feature-holder', rules: [{ ...region, categories: [' north', 'east'] }] },
      /surrounding whitespace/,
    ],
    [
      'a category listed twice',
      { role: 'feature-holder', rules: [{ ...region, categories: ['east', 'east'] }] },
      /category twice/,
    ],
    [
      'a left value outside the categories',
      { role: 'feature-holder', rules: [{ ...region, left: ['middle'] }] },
      /not among its categories/,
    ],
    [
      'a feature holder column named like its split_bits output',
      { role: 'feature-holder', rules: [numeric('split_bits')] },
      /uses for an output or a partner/,
    ],
    [
      'a label holder column named like its margin output',
      { ...bankA, rules: [...bankARules, numeric('margin')] },
      /uses for an output or a partner/,
    ],
    [
      'a label holder column named like a partner input',
      { ...bankA, rules: [...bankARules, numeric('split_bits__bank_c')] },
      /uses for an output or a partner/,
    ],
  ];

  it.each(invalid)('%s', (_, part, reason) => {
    expect(() => exportTreePartOnnx(part)).toThrow(RangeError);
    expect(() => exportTreePartOnnx(part)).toThrow(reason);
  });

  it('a column named split_bits is fine at the label holder, which has no such output', () => {
    expect(() =>
      exportTreePartOnnx({ ...bankA, rules: [...bankARules, numeric('split_bits')] }),
    ).not.toThrow();
  });
});
