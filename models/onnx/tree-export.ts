/**
 * ONNX export of one party's part of a vertically federated gradient-boosted tree model (models/trees/types.ts). A
 * feature holder's graph turns its raw columns into split bits (which way each of its split rules sends each row); the
 * label holder's graph computes its own split bits the same way, takes its partners' split bits as inputs, walks every
 * tree and gives the margin and the score. No party's graph holds another party's rules, and a feature holder's graph
 * holds no tree structure and no leaf weight.
 *
 * The graph (ai.onnx opset 17, plus ai.onnx.ml 3 when a rule is categorical; IR version 8):
 *
 *   inputs   one per raw column the part's rules read (`treePartColumns`: first-use order over the rules), named as
 *            input-names.ts maps the column name, shape [N, 1]: numeric → DOUBLE, NaN for a missing value;
 *            categorical → STRING, trimmed, '' for a missing value (build them with `treePartFeeds`);
 *            label holder only, then one per partner in `partners` order: `splitBitsInputName(member)`
 *            (`split_bits__<member>`), DOUBLE [N, K_p], that partner's `split_bits` output for the same rows
 *   numeric  per column, its m rules at once: Cast(LessOrEqual(x, thresholds [m]), DOUBLE)                [N, m]
 *            → Where(IsNaN(x), missingLeft [m], ·)                   (NaN ≤ t is false, so only NaN is re-routed)
 *   categor. per column, over U = the union of its rules' categories, first-seen order: export.ts's one-hot with
 *            cats_strings = [...U, ''] (OneHotEncoder, zeros = 1) gives [N, |U| + 1] with the last slot the missing
 *            value, and "other" = 1 − their sum [N, 1]; Concat → [N, |U| + 2], exactly one 1 per row
 *            → MatMul(·, M) with M [|U| + 2, m]: row u is 1 where u ∈ left, 0 where u is among that rule's categories
 *            but not left, otherLeft where u is not among them; the missing row is missingLeft, the other row otherLeft
 *   bits     Concat(axis 1) of the columns' pieces → Gather(axis 1) into rule order                           [N, K]
 *            feature holder: → Identity, the output `split_bits` (column k = 1 if rule k sends the row left, else 0)
 *   trees    label holder only, all T trees as one batch, padded to S internal nodes and L leaves (the largest tree's):
 *            bits = Concat(own bits, partner 1, partner 2…)                                               [N, K_total]
 *            Gather(bits, node columns [T, 1, S], axis 1), node i of tree t reading column `owner offset + splitId`
 *                                                                                                    → [N, T, 1, S]
 *            MatMul(·, P [T, S, L]): P[t][i][l] = +1 if leaf l lies under node i's left child, −1 under its right
 *            child, 0 otherwise                                                                    → [N, T, 1, L]
 *            Equal(·, lefts [T, 1, L]) with lefts[t][l] the number of left steps on the way to leaf l: the sum equals
 *            it iff every step agrees (it is at most that, with equality only then), so exactly one leaf per tree
 *            matches; padding leaves have 0.5, which no sum equals → Cast(DOUBLE)                    [N, T, 1, L]
 *            MatMul(·, weights [T, L, 1]) → Flatten(axis 1)                                          [N, T] leaf values
 *            → ReduceSum(axis 1, keepdims) → Add(·, baseMargin) is the output `margin`, → Sigmoid the output `score`
 *            (P holds T·S·L doubles: 100 trees of depth 5 give 100 · 31 · 32 ≈ 0.8 MB)
 *   outputs  feature holder: `split_bits` DOUBLE [N, K], K = rules.length
 *            label holder:   `score` DOUBLE [N, 1], P(label = 1); then `margin` DOUBLE [N, 1]
 *
 * Scoring a row set: run each feature holder's graph on its own columns, pass its `split_bits` to the label holder,
 * which feeds it under `splitBitsInputName(member)` next to its own columns. Row r of every feed must be the same
 * customer (the parties' aligned order). The bits say only which side of each split a row falls, which is what the
 * label holder learns in SecureBoost scoring as well.
 *
 * Exactness: the bits are 0 and 1; the one-hot products have one non-zero term; the path sums are small integers;
 * each tree's leaf value is one weight times 1. All of that is exact in DOUBLE, so every leaf is the one a plain walk
 * of the tree reaches. Only the sum over trees (ReduceSum, order left to the runtime) and the sigmoid round, so the
 * margin matches a walk summing trees in order to ≈1e-16 per tree.
 *
 * The graph neither trims nor parses: `treePartFeeds` applies the cell rules of models/preprocessing.ts through
 * feeds.ts (numeric: null, blank, unparsable and non-finite → NaN; categorical: trimmed String(value), null → '').
 * A categorical value that trims to '' is missing. Why OneHotEncoder rather than Equal on strings: see export.ts.
 *
 * Names: internal values carry export.ts's prefix (`accord_`, lengthened until no input starts with it). A column
 * input could only meet an output or a partner input if a column is named `split_bits` (feature holder), `margin`
 * or `split_bits__<member>` (label holder; input-names.ts already keeps `score` free); the export refuses such a part.
 */
import { MEMBER_NAME_PATTERN } from '../../primitives/consortium/roles.js';
import type { SplitRule, TreeLabelHolderPart, TreePart } from '../trees/types.js';
import type { FeatureColumn, Preprocessing, RawColumns } from '../types.js';
import {
  categoricalPieces,
  GraphBuilder,
  internalPrefix,
  ONNX_IR_VERSION,
  ONNX_ML_DOMAIN,
  ONNX_ML_OPSET,
  ONNX_OPSET,
  ONNX_PRODUCER_NAME,
} from './export.js';
import { type OnnxFeed, onnxFeeds } from './feeds.js';
import { ONNX_OUTPUT_NAME, type OnnxInput, onnxInputs } from './input-names.js';
import { encodeModel, TensorDataType, type ValueInfo } from './onnx-proto.js';

/** The graph layout above (the model's producer_version); a change to it, not to the bytes alone, bumps this. */
export const TREE_ONNX_EXPORT_VERSION = 'trees-1';

/** A feature holder's output, and what its partner input on the label holder's graph is fed from. */
export const SPLIT_BITS_OUTPUT = 'split_bits';

/** The label holder's second output: baseMargin plus the reached leaves' weights (the logit of `score`). */
export const MARGIN_OUTPUT = 'margin';

/** What every partner input name starts with: the output name it is fed from, then a double underscore. */
export const SPLIT_BITS_INPUT_PREFIX = `${SPLIT_BITS_OUTPUT}__`;

const COLUMNS_DOC =
  'Inputs: one per raw column the split rules read, shape [N, 1]: numeric columns DOUBLE (NaN when missing), ' +
  "categorical columns STRING (trimmed, '' when missing); each input's doc_string is its column name.";

const FEATURE_HOLDER_DOC =
  'Accord vertical boosted-tree part, feature holder. ' +
  COLUMNS_DOC +
  ' Output: split_bits, DOUBLE [N, K], column k 1 if split rule k sends the row left, else 0, ' +
  'to be fed to the label holder’s graph.';

const LABEL_HOLDER_DOC =
  'Accord vertical boosted-tree part, label holder. ' +
  COLUMNS_DOC +
  ' Then one input per partner, split_bits__<member>, DOUBLE [N, K_p], that partner’s split_bits output ' +
  "(its doc_string is the member's name). " +
  'Outputs: score, DOUBLE [N, 1], the probability of label 1, sigmoid(margin); ' +
  'margin, DOUBLE [N, 1], the base margin plus the weight of the leaf each tree reaches.';

/**
 * The label holder's ONNX input name for `member`'s split bits: `split_bits__` then the member name with each `-`
 * written `_` (`bank-b` → `split_bits__bank_b`). One-to-one and a C90 identifier for the same reasons as
 * `partialInputName` (models/vertical/part.ts): member names are lowercase letters, digits and dashes.
 * Throws RangeError if `member` does not match MEMBER_NAME_PATTERN.
 */
export function splitBitsInputName(member: string): string {
  if (!MEMBER_NAME_PATTERN.test(member)) {
    throw new RangeError('a partner must be a member name: lowercase letters, digits and dashes');
  }
  return SPLIT_BITS_INPUT_PREFIX + member.replaceAll('-', '_');
}

/**
 * The raw columns `part`'s split rules read, each once, in the order rules first use them: a numeric rule's column
 * is numeric; a categorical rule's column is categorical, its categories the union of its rules' categories in
 * first-seen order. These are the graph's column inputs, in input order.
 * Throws RangeError if a rule is malformed (see `exportTreePartOnnx`) or a column is read both ways.
 */
export function treePartColumns(part: TreePart): FeatureColumn[] {
  return groupRules(part.rules).map((group) => group.column);
}

/** The graph's column inputs (names, types, columns), in input order: `onnxInputs` of `treePartColumns`. */
export function treePartInputs(part: TreePart): OnnxInput[] {
  return onnxInputs(asPreprocessing(treePartColumns(part)));
}

/**
 * The column feeds for `rows` rows of `raw`, in the graph's input order, with feeds.ts's cell rules. A label holder's
 * scorer adds one DOUBLE [rows, K_p] feed per partner (`splitBitsInputName`).
 * Throws RangeError as `treePartColumns` and `onnxFeeds` do (a column absent from `raw` or of another length).
 */
export function treePartFeeds(part: TreePart, raw: RawColumns, rows: number): OnnxFeed[] {
  return onnxFeeds(asPreprocessing(treePartColumns(part)), raw, rows);
}

/**
 * The ONNX model (serialised ModelProto bytes) computing `part`'s outputs from raw columns (and, for the label holder,
 * its partners' split bits); see the file comment. `metadata` becomes the model's metadata_props, sorted by key so
 * equal inputs give equal bytes.
 * Throws RangeError if the part is inconsistent:
 *  - a rule without a column name; a numeric threshold that is not finite; a categorical rule listing a category
 *    twice, listing '' (the missing value) or a category with surrounding whitespace, or sending left a value that is
 *    not among its categories; a column read by a numeric and a categorical rule;
 *  - a feature holder with no rule (its graph would have no input);
 *  - a label holder whose `self` or a partner is not a member name, a partner listed twice or equal to `self`, a
 *    partner whose split count is not a positive integer, a non-finite base margin, no tree, or neither a rule nor a
 *    partner (no input);
 *  - a tree with no node, a child index out of range, a node reached twice from the root (a cycle or shared
 *    subtree), a non-finite leaf weight, a split whose owner is neither `self` nor a partner, or a split id that is not
 *    an integer in [0, that owner's split count);
 *  - a column input name equal to an output name or a partner input name.
 * Nodes the root does not reach are ignored.
 */
export function exportTreePartOnnx(
  part: TreePart,
  metadata: Readonly<Record<string, string>> = {},
): Uint8Array {
  const groups = groupRules(part.rules);
  const labelHolder = part.role === 'label-holder';
  if (labelHolder) checkLabelHolder(part);
  else if (part.rules.length === 0)
    throw new RangeError('a feature holder part needs at least one split rule');

  const inputs = onnxInputs(asPreprocessing(groups.map((group) => group.column)));
  const partnerInputs = labelHolder
    ? part.partners.map((p) => ({ member: p.member, splits: p.splits, name: splitBitsInputName(p.member) }))
    : [];
  const reserved = new Set(
    labelHolder
      ? [ONNX_OUTPUT_NAME, MARGIN_OUTPUT, ...partnerInputs.map((p) => p.name)]
      : [SPLIT_BITS_OUTPUT],
  );
  for (const input of inputs) {
    if (reserved.has(input.name)) {
      throw new RangeError(
        `column ${input.column} maps to the input name ${input.name}, which this graph uses for an output or a partner`,
      );
    }
  }
  const g = new GraphBuilder(internalPrefix([...inputs.map((i) => i.name), ...reserved]));

  const own = part.rules.length > 0 ? splitBitsNodes(g, groups, inputs, part.rules.length) : undefined;
  const outputs: ValueInfo[] = [];
  if (labelHolder) {
    const pieces = [...(own === undefined ? [] : [own]), ...partnerInputs.map((p) => p.name)];
    const bits =
      pieces.length === 1
        ? pieces[0]!
        : g.node('Concat', pieces, 'all_split_bits', [{ name: 'axis', type: 'int', value: 1 }]);
    treeNodes(g, part, bits);
    outputs.push(doubleInfo(ONNX_OUTPUT_NAME, 1), doubleInfo(MARGIN_OUTPUT, 1));
  } else {
    g.output('Identity', [own!], SPLIT_BITS_OUTPUT);
    outputs.push(doubleInfo(SPLIT_BITS_OUTPUT, part.rules.length));
  }

  const graphInputs: ValueInfo[] = [
    ...inputs.map((input) => ({
      name: input.name,
      elemType: input.type === 'double' ? TensorDataType.DOUBLE : TensorDataType.STRING,
      shape: ['N', 1],
      docString: input.column,
    })),
    ...partnerInputs.map((p) => ({ ...doubleInfo(p.name, p.splits), docString: p.member })),
  ];
  const usesMl = g.nodes.some((n) => n.domain === ONNX_ML_DOMAIN);
  return encodeModel({
    irVersion: ONNX_IR_VERSION,
    producerName: ONNX_PRODUCER_NAME,
    producerVersion: TREE_ONNX_EXPORT_VERSION,
    graph: {
      name: 'accord_tree_part',
      nodes: g.nodes,
      initializers: g.initializers,
      docString: labelHolder ? LABEL_HOLDER_DOC : FEATURE_HOLDER_DOC,
      inputs: graphInputs,
      outputs,
    },
    opsetImports: [
      { domain: '', version: ONNX_OPSET },
      ...(usesMl ? [{ domain: ONNX_ML_DOMAIN, version: ONNX_ML_OPSET }] : []),
    ],
    metadataProps: Object.entries(metadata).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
  });
}

/** A DOUBLE [N, width] graph input or output. */
function doubleInfo(name: string, width: number): ValueInfo {
  return { name, elemType: TensorDataType.DOUBLE, shape: ['N', width] };
}

/** One column and the rules that read it, with their split ids. */
interface RuleGroup {
  readonly column: FeatureColumn;
  readonly rules: readonly { readonly id: number; readonly rule: SplitRule }[];
}

/** The rules grouped by column, columns in first-use order; checks each rule (see `exportTreePartOnnx`). */
function groupRules(rules: readonly SplitRule[]): RuleGroup[] {
  const groups = new Map<string, { kind: SplitRule['kind']; rules: { id: number; rule: SplitRule }[] }>();
  rules.forEach((rule, id) => {
    checkRule(rule, id);
    const group = groups.get(rule.feature);
    if (group === undefined) groups.set(rule.feature, { kind: rule.kind, rules: [{ id, rule }] });
    else if (group.kind !== rule.kind) {
      throw new RangeError(`column ${rule.feature} is read by both a numeric and a categorical split rule`);
    } else group.rules.push({ id, rule });
  });
  return [...groups].map(([name, group]) => ({
    column:
      group.kind === 'numeric'
        ? { name, kind: 'numeric' }
        : { name, kind: 'categorical', categories: unionOfCategories(group.rules.map((r) => r.rule)) },
    rules: group.rules,
  }));
}

function checkRule(rule: SplitRule, id: number): void {
  const where = `split rule ${id}`;
  if (typeof rule.feature !== 'string' || rule.feature === '') {
    throw new RangeError(`${where} needs a column name`);
  }
  if (rule.kind === 'numeric') {
    if (!Number.isFinite(rule.threshold)) throw new RangeError(`${where} needs a finite threshold`);
    return;
  }
  if (rule.kind !== 'categorical') throw new RangeError(`${where} must be numeric or categorical`);
  const categories = new Set(rule.categories);
  if (categories.size !== rule.categories.length) throw new RangeError(`${where} lists a category twice`);
  if (categories.has('')) {
    throw new RangeError(`${where} lists the empty category, which the graph reserves for a missing value`);
  }
  if (rule.categories.some((c) => c.trim() !== c)) {
    throw new RangeError(
      `${where} lists a category with surrounding whitespace, which no trimmed value can match`,
    );
  }
  if (!rule.left.every((c) => categories.has(c))) {
    throw new RangeError(`${where} sends left a value that is not among its categories`);
  }
}

function unionOfCategories(rules: readonly SplitRule[]): string[] {
  const union = new Set<string>();
  for (const rule of rules) if (rule.kind === 'categorical') for (const c of rule.categories) union.add(c);
  return [...union];
}

/** A Preprocessing carrying only names and kinds, for input-names.ts and feeds.ts (which read nothing else). */
function asPreprocessing(columns: readonly FeatureColumn[]): Preprocessing {
  return {
    columns: columns.map((column) =>
      column.kind === 'numeric' ? { name: column.name, kind: 'numeric', mean: 0, std: 1 } : column,
    ),
  };
}

/** The part's own split bits, DOUBLE [N, K] in rule order (K = `count` ≥ 1). */
function splitBitsNodes(
  g: GraphBuilder,
  groups: readonly RuleGroup[],
  inputs: readonly OnnxInput[],
  count: number,
): string {
  const pieces = groups.map((group, c) => {
    const x = inputs[c]!.name;
    return group.column.kind === 'numeric'
      ? numericBits(
          g,
          c,
          x,
          group.rules.map((r) => r.rule),
        )
      : categoricalBits(
          g,
          c,
          x,
          group.column.categories,
          group.rules.map((r) => r.rule),
        );
  });
  const grouped =
    pieces.length === 1
      ? pieces[0]!
      : g.node('Concat', pieces, 'grouped_bits', [{ name: 'axis', type: 'int', value: 1 }]);
  // Position j of `grouped` holds rule order[j]; rule k is read from the position holding it.
  const order = groups.flatMap((group) => group.rules.map((r) => r.id));
  const positions = new Array<number>(count);
  order.forEach((id, j) => {
    positions[id] = j;
  });
  const indices = g.constant('rule_positions', [count], { type: 'int64', values: positions });
  return g.node('Gather', [grouped, indices], 'split_bits', [{ name: 'axis', type: 'int', value: 1 }]);
}

/** One numeric column's rules: [N, m] DOUBLE, 1 where x ≤ threshold, missingLeft where x is NaN. */
function numericBits(g: GraphBuilder, c: number, x: string, rules: readonly SplitRule[]): string {
  const numeric = rules.filter((r) => r.kind === 'numeric');
  const thresholds = g.constant(`c${c}_thresholds`, [numeric.length], {
    type: 'double',
    values: numeric.map((r) => r.threshold),
  });
  const missingLeft = g.constant(`c${c}_missing_left`, [numeric.length], {
    type: 'double',
    values: numeric.map((r) => (r.missingLeft ? 1 : 0)),
  });
  const below = g.node('LessOrEqual', [x, thresholds], `c${c}_below`);
  const belowDouble = g.node('Cast', [below], `c${c}_below_double`, [
    { name: 'to', type: 'int', value: TensorDataType.DOUBLE },
  ]);
  const missing = g.node('IsNaN', [x], `c${c}_missing`);
  return g.node('Where', [missing, missingLeft, belowDouble], `c${c}_bits`);
}

/** One categorical column's rules: [N, m] DOUBLE from the one-hot over [...categories, ''] and "other". */
function categoricalBits(
  g: GraphBuilder,
  c: number,
  x: string,
  categories: readonly string[],
  rules: readonly SplitRule[],
): string {
  const slots = [...categories, ''];
  const pieces = categoricalPieces(g, c, x, slots);
  const onehot = g.node('Concat', pieces, `c${c}_slots`, [{ name: 'axis', type: 'int', value: 1 }]);
  const m = rules.length;
  const table = new Float64Array((slots.length + 1) * m);
  rules.forEach((rule, j) => {
    if (rule.kind !== 'categorical') return;
    const left = new Set(rule.left);
    const known = new Set(rule.categories);
    categories.forEach((category, u) => {
      const goesLeft = left.has(category) || (!known.has(category) && rule.otherLeft);
      table[u * m + j] = goesLeft ? 1 : 0;
    });
    table[categories.length * m + j] = rule.missingLeft ? 1 : 0;
    table[(categories.length + 1) * m + j] = rule.otherLeft ? 1 : 0;
  });
  const M = g.constant(`c${c}_left_table`, [slots.length + 1, m], { type: 'double', values: table });
  return g.node('MatMul', [onehot, M], `c${c}_bits`);
}

/** Throws RangeError unless the label holder's members, base margin and trees are consistent (see the export). */
function checkLabelHolder(part: TreeLabelHolderPart): void {
  if (!MEMBER_NAME_PATTERN.test(part.self)) throw new RangeError('self must be a member name');
  const members = new Set([part.self]);
  part.partners.forEach((p, k) => {
    splitBitsInputName(p.member);
    if (members.has(p.member)) throw new RangeError(`partner ${k} is self or listed twice`);
    members.add(p.member);
    if (!Number.isInteger(p.splits) || p.splits < 1) {
      throw new RangeError(`partner ${k} needs a positive integer split count`);
    }
  });
  if (!Number.isFinite(part.baseMargin)) throw new RangeError('baseMargin must be finite');
  if (part.trees.length === 0) throw new RangeError('a label holder part needs at least one tree');
  if (part.rules.length === 0 && part.partners.length === 0) {
    throw new RangeError(
      'a label holder part needs a split rule or a partner (its graph would have no input)',
    );
  }
}

/** One tree as the graph batches it: for each internal node its bits column, for each leaf its path and weight. */
interface FlatTree {
  /** Column of the concatenated split bits each internal node reads, in depth-first order. */
  readonly columns: number[];
  readonly leaves: { readonly weight: number; readonly steps: { node: number; left: boolean }[] }[];
}

/**
 * The trees in depth-first order (left child first) from the root: internal nodes and leaves with their paths.
 * `offsets` maps an owner to the first column of its bits. Throws RangeError as `exportTreePartOnnx` documents.
 */
function flattenTree(
  nodes: TreeLabelHolderPart['trees'][number]['nodes'],
  t: number,
  offsets: ReadonlyMap<string, { at: number; splits: number }>,
): FlatTree {
  if (nodes.length === 0) throw new RangeError(`tree ${t} has no node`);
  const flat: FlatTree = { columns: [], leaves: [] };
  const seen = new Set<number>();
  const stack: { index: number; steps: { node: number; left: boolean }[] }[] = [{ index: 0, steps: [] }];
  while (stack.length > 0) {
    const { index, steps } = stack.pop()!;
    const where = `tree ${t} node ${index}`;
    if (!Number.isInteger(index) || index < 0 || index >= nodes.length) {
      throw new RangeError(`tree ${t} has a child index out of range`);
    }
    if (seen.has(index)) throw new RangeError(`${where} is reached twice from the root`);
    seen.add(index);
    const node = nodes[index]!;
    if (node.kind === 'leaf') {
      if (!Number.isFinite(node.weight)) throw new RangeError(`${where} has a non-finite weight`);
      flat.leaves.push({ weight: node.weight, steps });
      continue;
    }
    if (node.kind !== 'split') throw new RangeError(`${where} must be a leaf or a split`);
    const owner = offsets.get(node.owner);
    if (owner === undefined)
      throw new RangeError(`${where} names an owner that is neither self nor a partner`);
    if (!Number.isInteger(node.splitId) || node.splitId < 0 || node.splitId >= owner.splits) {
      throw new RangeError(`${where} has a split id out of its owner's range`);
    }
    const at = flat.columns.length;
    flat.columns.push(owner.at + node.splitId);
    // Right pushed first so the left subtree is numbered first.
    stack.push({ index: node.right, steps: [...steps, { node: at, left: false }] });
    stack.push({ index: node.left, steps: [...steps, { node: at, left: true }] });
  }
  return flat;
}

/** The trees subgraph of the file comment on `bits` [N, K_total]; writes the outputs `margin` and `score`. */
function treeNodes(g: GraphBuilder, part: TreeLabelHolderPart, bits: string): void {
  const offsets = new Map<string, { at: number; splits: number }>([
    [part.self, { at: 0, splits: part.rules.length }],
  ]);
  let at = part.rules.length;
  for (const p of part.partners) {
    offsets.set(p.member, { at, splits: p.splits });
    at += p.splits;
  }
  const trees = part.trees.map((tree, t) => flattenTree(tree.nodes, t, offsets));
  const T = trees.length;
  // At least one node column, so the gathered tensor is never empty (a padding column reads bits column 0).
  const S = Math.max(1, ...trees.map((tree) => tree.columns.length));
  const L = Math.max(...trees.map((tree) => tree.leaves.length));

  const columns = new Array<number>(T * S).fill(0);
  const paths = new Float64Array(T * S * L);
  const lefts = new Float64Array(T * L).fill(0.5);
  const weights = new Float64Array(T * L);
  trees.forEach((tree, t) => {
    tree.columns.forEach((column, i) => {
      columns[t * S + i] = column;
    });
    tree.leaves.forEach((leaf, l) => {
      let leftSteps = 0;
      for (const step of leaf.steps) {
        paths[(t * S + step.node) * L + l] = step.left ? 1 : -1;
        if (step.left) leftSteps++;
      }
      lefts[t * L + l] = leftSteps;
      weights[t * L + l] = leaf.weight;
    });
  });

  const nodeColumns = g.constant('tree_node_columns', [T, 1, S], { type: 'int64', values: columns });
  const nodeBits = g.node('Gather', [bits, nodeColumns], 'tree_node_bits', [
    { name: 'axis', type: 'int', value: 1 },
  ]);
  const P = g.constant('tree_paths', [T, S, L], { type: 'double', values: paths });
  const sums = g.node('MatMul', [nodeBits, P], 'tree_path_sums');
  const targets = g.constant('tree_left_steps', [T, 1, L], { type: 'double', values: lefts });
  const reached = g.node('Equal', [sums, targets], 'tree_reached');
  const reachedDouble = g.node('Cast', [reached], 'tree_reached_double', [
    { name: 'to', type: 'int', value: TensorDataType.DOUBLE },
  ]);
  const W = g.constant('tree_leaf_weights', [T, L, 1], { type: 'double', values: weights });
  const leafValues = g.node('MatMul', [reachedDouble, W], 'tree_leaf_values');
  const perTree = g.node('Flatten', [leafValues], 'tree_values', [{ name: 'axis', type: 'int', value: 1 }]);
  const sum = g.node(
    'ReduceSum',
    [perTree, g.shared('axis1', [1], { type: 'int64', values: [1] })],
    'tree_sum',
    [{ name: 'keepdims', type: 'int', value: 1 }],
  );
  const base = g.constant('base_margin', [1], { type: 'double', values: [part.baseMargin] });
  const margin = g.output('Add', [sum, base], MARGIN_OUTPUT);
  g.output('Sigmoid', [margin], ONNX_OUTPUT_NAME);
}
