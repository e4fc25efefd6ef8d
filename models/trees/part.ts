/**
 * Scoring with the parts of a vertical boosted-tree model (models/trees/types.ts), in TypeScript: the reference the
 * ONNX export of tree parts (models/onnx/tree-export.ts) is tested against.
 *
 * 1. Every party turns its raw columns into split bits with its own rules: `splitBits`, rows × splits, 1 where the
 *    row goes left. A feature holder sends its bits to the label holder; nothing else leaves it (no thresholds, no
 *    values).
 * 2. The label holder walks every tree: at a node owned by itself it reads its own bits, at a partner's node that
 *    partner's bits, and adds the leaf weights it reaches to the base margin, tree by tree in order (`treeMargins`),
 *    the same order of additions as the trainer, so the margins agree bit for bit.
 * 3. score = sigmoid(margin) (`treeScores`).
 *
 * Missing values follow models/trees/binning.ts: numeric as models/preprocessing.ts (null, blank, not a number,
 * non-finite); categorical null or blank. Pure: no I/O; every function checks its inputs and throws RangeError.
 */
import { sigmoid } from '../network.js';
import { categoryKey, numericValue } from '../preprocessing.js';
import type { RawColumns } from '../types.js';
import type { SplitRule, Tree, TreeFeatureHolderPart, TreeLabelHolderPart, TreePart } from './types.js';

/**
 * The split bits of `rows` rows of `raw` under `rules`: row-major, rows × rules.length, 1 when the row goes left
 * (see SplitRule; a missing value goes left iff missingLeft; a categorical value not among the rule's categories
 * goes left iff otherLeft).
 * Throws RangeError on a malformed rule, or if a rule's column is absent from `raw` or does not have `rows` cells.
 */
export function splitBits(rules: readonly SplitRule[], raw: RawColumns, rows: number): Uint8Array {
  if (!Number.isInteger(rows) || rows < 0) throw new RangeError('rows must be a non-negative integer');
  rules.forEach(checkRule);
  const width = rules.length;
  const out = new Uint8Array(rows * width);
  // Each column read once, however many rules test it: numbers (NaN when missing) or trimmed keys ('' when missing).
  const numbers = new Map<string, Float64Array>();
  const keys = new Map<string, string[]>();
  const cellsOf = (feature: string) => {
    const cells = raw.get(feature);
    if (cells === undefined) throw new RangeError(`column ${feature} is absent from the data`);
    if (cells.length !== rows) throw new RangeError(`column ${feature} does not have ${rows} rows`);
    return cells;
  };
  rules.forEach((rule, k) => {
    const missing = rule.missingLeft ? 1 : 0;
    if (rule.kind === 'numeric') {
      let x = numbers.get(rule.feature);
      if (x === undefined) {
        x = Float64Array.from(cellsOf(rule.feature), numericValue);
        numbers.set(rule.feature, x);
      }
      for (let r = 0; r < rows; r++) {
        const v = x[r]!;
        out[r * width + k] = Number.isNaN(v) ? missing : v <= rule.threshold ? 1 : 0;
      }
      return;
    }
    let key = keys.get(rule.feature);
    if (key === undefined) {
      key = cellsOf(rule.feature).map(categoryKey);
      keys.set(rule.feature, key);
    }
    const left = new Set(rule.left);
    const declared = new Set(rule.categories);
    const other = rule.otherLeft ? 1 : 0;
    for (let r = 0; r < rows; r++) {
      const v = key[r]!;
      out[r * width + k] = v === '' ? missing : left.has(v) ? 1 : declared.has(v) ? 0 : other;
    }
  });
  return out;
}

/**
 * The model's margin (log-odds) for each of `rows` rows: baseMargin, then each tree's leaf weight in tree order.
 * `ownBits` are the label holder's split bits (rows × part.rules.length), `partnerBits[i]` those of part.partners[i]
 * (rows × its splits), all row-major as `splitBits` gives them.
 * Throws RangeError on an inconsistent part (`checkTreePart`) or bits of the wrong count or length.
 */
export function treeMargins(
  part: TreeLabelHolderPart,
  ownBits: Uint8Array,
  partnerBits: readonly Uint8Array[],
  rows: number,
): Float64Array {
  checkTreePart(part);
  if (!Number.isInteger(rows) || rows < 0) throw new RangeError('rows must be a non-negative integer');
  if (partnerBits.length !== part.partners.length) {
    throw new RangeError(`bits from ${partnerBits.length} partners, expected ${part.partners.length}`);
  }
  const sources = new Map<string, { bits: Uint8Array; width: number }>();
  sources.set(part.self, { bits: ownBits, width: part.rules.length });
  part.partners.forEach((partner, i) => {
    sources.set(partner.member, { bits: partnerBits[i]!, width: partner.splits });
  });
  for (const [member, { bits, width }] of sources) {
    if (bits.length !== rows * width) {
      throw new RangeError(`${member}: ${bits.length} split bits, expected rows × splits = ${rows * width}`);
    }
  }
  const out = new Float64Array(rows).fill(part.baseMargin);
  for (const tree of part.trees) {
    const nodes = tree.nodes;
    for (let r = 0; r < rows; r++) {
      let at = 0;
      for (;;) {
        const node = nodes[at]!;
        if (node.kind === 'leaf') {
          out[r]! += node.weight;
          break;
        }
        const { bits, width } = sources.get(node.owner)!;
        at = bits[r * width + node.splitId] === 1 ? node.left : node.right;
      }
    }
  }
  return out;
}

/** P(label = 1) per row: sigmoid of `treeMargins`. Throws as `treeMargins`. */
export function treeScores(
  part: TreeLabelHolderPart,
  ownBits: Uint8Array,
  partnerBits: readonly Uint8Array[],
  rows: number,
): Float64Array {
  return treeMargins(part, ownBits, partnerBits, rows).map(sigmoid);
}

/**
 * Throws RangeError unless `part` is consistent: a known role; well-formed rules (a feature name; numeric: a finite
 * threshold; categorical: unique non-empty categories, `left` a subset of them without repeats; booleans where
 * booleans belong). A label holder also needs a finite base margin, partners that are distinct, not itself and hold a
 * non-negative integer number of splits, and trees whose nodes form a tree from node 0: every child index in range,
 * every node reached exactly once (no cycle, no shared or unreachable node), finite leaf weights, each split's owner
 * itself or a partner and its split id within that owner's splits.
 */
export function checkTreePart(part: TreePart): void {
  if (part.role !== 'label-holder' && part.role !== 'feature-holder') {
    throw new RangeError('role must be label-holder or feature-holder');
  }
  if (!Array.isArray(part.rules)) throw new RangeError('rules must be a list');
  part.rules.forEach(checkRule);
  if (part.role === 'feature-holder') return;
  if (typeof part.self !== 'string' || part.self === '') throw new RangeError('self must be a member name');
  if (!Number.isFinite(part.baseMargin)) throw new RangeError('baseMargin must be finite');
  const splits = new Map<string, number>([[part.self, part.rules.length]]);
  part.partners.forEach(({ member, splits: count }, i) => {
    if (typeof member !== 'string' || member === '' || splits.has(member)) {
      throw new RangeError(`partner ${i} must be a member name, not repeated and not the label holder`);
    }
    if (!(Number.isInteger(count) && count >= 0)) {
      throw new RangeError(`partner ${i}: splits must be a non-negative integer`);
    }
    splits.set(member, count);
  });
  part.trees.forEach((tree, t) => {
    checkTree(tree, t, splits);
  });
}

/**
 * The parts of a trained model: the label holder's (trees, base margin, its rules, each partner's split count) and
 * one feature-holder part per partner (its rules). `trained.rules` maps a party to its rules by split id; a party
 * without an entry has none.
 * Throws RangeError if `trained.rules` names a party that is neither the label holder nor a partner, or as
 * `checkTreePart` on the label holder's part (e.g. a tree node owned by a party not listed).
 */
export function partsOf(
  trained: {
    readonly trees: readonly Tree[];
    readonly baseMargin: number;
    readonly rules: ReadonlyMap<string, readonly SplitRule[]>;
  },
  labelHolder: string,
  partners: readonly string[],
): { labelHolder: TreeLabelHolderPart; featureHolders: Map<string, TreeFeatureHolderPart> } {
  for (const party of trained.rules.keys()) {
    if (party !== labelHolder && !partners.includes(party)) {
      throw new RangeError(`${party} has split rules but is neither the label holder nor a partner`);
    }
  }
  const rulesOf = (party: string): SplitRule[] => [...(trained.rules.get(party) ?? [])];
  const part: TreeLabelHolderPart = {
    role: 'label-holder',
    self: labelHolder,
    baseMargin: trained.baseMargin,
    trees: trained.trees,
    rules: rulesOf(labelHolder),
    partners: partners.map((member) => ({ member, splits: trained.rules.get(member)?.length ?? 0 })),
  };
  checkTreePart(part);
  const featureHolders = new Map(
    partners.map((member): [string, TreeFeatureHolderPart] => [
      member,
      { role: 'feature-holder', rules: rulesOf(member) },
    ]),
  );
  return { labelHolder: part, featureHolders };
}

function checkTree(tree: Tree, t: number, splits: ReadonlyMap<string, number>): void {
  const nodes = tree.nodes;
  if (!Array.isArray(nodes) || nodes.length === 0) throw new RangeError(`tree ${t} has no nodes`);
  const seen = new Uint8Array(nodes.length);
  const stack = [0];
  let reached = 0;
  while (stack.length > 0) {
    const at = stack.pop()!;
    if (seen[at] === 1)
      throw new RangeError(`tree ${t}: node ${at} is reached twice (a cycle or a shared node)`);
    seen[at] = 1;
    reached++;
    const node = nodes[at]!;
    if (node.kind === 'leaf') {
      if (!Number.isFinite(node.weight))
        throw new RangeError(`tree ${t}: node ${at} has a weight that is not finite`);
      continue;
    }
    if (node.kind !== 'split') throw new RangeError(`tree ${t}: node ${at} is neither a leaf nor a split`);
    const count = splits.get(node.owner);
    if (count === undefined) throw new RangeError(`tree ${t}: node ${at} has an owner that is not a party`);
    if (!(Number.isInteger(node.splitId) && node.splitId >= 0 && node.splitId < count)) {
      throw new RangeError(`tree ${t}: node ${at} has a split id out of range for its owner`);
    }
    for (const child of [node.left, node.right]) {
      if (!(Number.isInteger(child) && child >= 0 && child < nodes.length)) {
        throw new RangeError(`tree ${t}: node ${at} has a child index out of range`);
      }
      stack.push(child);
    }
  }
  if (reached !== nodes.length)
    throw new RangeError(`tree ${t}: ${nodes.length - reached} nodes are unreachable`);
}

function checkRule(rule: SplitRule, k: number): void {
  if (typeof rule.feature !== 'string' || rule.feature === '') {
    throw new RangeError(`rule ${k}: feature must be a column name`);
  }
  if (typeof rule.missingLeft !== 'boolean') throw new RangeError(`rule ${k}: missingLeft must be a boolean`);
  if (rule.kind === 'numeric') {
    if (!Number.isFinite(rule.threshold)) throw new RangeError(`rule ${k}: threshold must be finite`);
    return;
  }
  if (rule.kind !== 'categorical') throw new RangeError(`rule ${k}: unknown kind`);
  if (typeof rule.otherLeft !== 'boolean') throw new RangeError(`rule ${k}: otherLeft must be a boolean`);
  const categories = new Set(rule.categories);
  if (categories.size !== rule.categories.length || categories.has('')) {
    throw new RangeError(`rule ${k}: categories must be unique and non-empty`);
  }
  if (new Set(rule.left).size !== rule.left.length || !rule.left.every((c) => categories.has(c))) {
    throw new RangeError(`rule ${k}: left must list some of the categories, each once`);
  }
}
