/**
 * One level-wise tree grower for boosted trees, shared by the plaintext trainer (models/trees/train-plain.ts) and the
 * vertical SecureBoost protocol (primitives/vertical/secureboost.ts). The data stays behind `GrowAccess`: the plaintext
 * trainer answers from its own bins, the vertical protocol with one round of encrypted messages per call.
 *
 * Per level, from the root (level 0) down to `params.depth`:
 * 1. Histograms. At level 0 the grower asks for the root's. Below, a split node's children are a pair; the grower
 *    asks only for the child with fewer rows (left on a tie) and takes its sibling's as parent − child, which is exact
 *    (models/trees/split.ts). It asks once per level, for every such child at once, and skips pairs whose children
 *    will all be leaves.
 * 2. Best split per node: `bestSplit` on each party's histograms with its allowed features; the highest gain wins,
 *    ties going to the earlier party (within a party, to the lower feature, then bin). A node is a leaf at the maximum
 *    depth, with fewer than 2 rows, or when no split has a positive gain.
 * 3. Splits. The grower sends every chosen split of the level at once; each owner answers with its split id and, for
 *    each of the node's rows, 1 if it goes left. The grower checks that the rows sent left sum to the candidate's
 *    left gradient and hessian exactly (they must: both are the same integer sums), which catches an owner applying
 *    another split than the one chosen.
 * A leaf's stored weight is learningRate · −G/(H+λ), with G and H the node's quantised sums. Nodes are numbered in the
 * order they are created (root 0, then each level's children left before right, in the order of their parents), and
 * an internal node records only its owner and the owner's split id.
 *
 * What the grower (the label holder, in the vertical protocol) learns: every node's histograms per party (positions
 * only, never thresholds) and which rows go left at each split. Pure apart from the injected access: no I/O of its own.
 */
import { dequantiseSums } from './gradients.js';
import { type BinnedFeature, bestSplit, leafWeight, subtractHistograms } from './split.js';
import {
  type Histogram,
  MAX_VALUE_BINS,
  type SplitCandidate,
  type Tree,
  type TreeNode,
  type TreeParams,
} from './types.js';

/** A party taking part in a tree, with its features in its own order. */
export interface PartyFeatures {
  readonly party: string;
  readonly features: readonly BinnedFeature[];
}

/** A node and its rows (row positions, ascending as the grower keeps them). */
export interface NodeRows {
  readonly node: number;
  readonly rows: Int32Array;
}

/** A split the grower has chosen, sent to its owner to apply. */
export interface SplitRequest {
  readonly node: number;
  readonly rows: Int32Array;
  readonly party: string;
  readonly candidate: SplitCandidate;
}

/** The owner's answer: its id for the split, and per row of the request (same order) 1 = left, 0 = right. */
export interface SplitResult {
  readonly splitId: number;
  readonly left: Uint8Array;
}

/** The data behind the grower; see the file comment. */
export interface GrowAccess {
  /**
   * Histograms of the listed nodes: per node (same order), per party (parties order), per feature. Called once per
   * level with only the nodes that must be computed (the smaller child of each split pair; the root at level 0).
   */
  histograms(nodes: readonly NodeRows[]): Promise<Histogram[][][]>;
  /** Applies the chosen splits, once per level: for each, the owner's split id and a 0/1 per row of `rows`. */
  split(requests: readonly SplitRequest[]): Promise<SplitResult[]>;
}

export interface GrowArgs {
  readonly params: TreeParams;
  readonly parties: readonly PartyFeatures[];
  /** Per party, per feature: false to leave the feature out of this tree (feature subsampling). */
  readonly allowed: readonly (readonly boolean[])[];
  /** The tree's rows (row positions). */
  readonly rows: Int32Array;
  /** Quantised gradients and hessians (models/trees/gradients.ts), indexed by row position. */
  readonly gq: Int32Array;
  readonly hq: Int32Array;
  readonly access: GrowAccess;
}

export interface GrownTree {
  readonly tree: Tree;
  /** For each entry of `args.rows` (same index), the index of the leaf it ends in. */
  readonly leafOfRow: Int32Array;
}

/** A node still being grown. */
interface OpenNode {
  readonly node: number;
  /** Row positions. */
  readonly rows: Int32Array;
  /** Where each of `rows` sits in the tree's rows (indices into args.rows). */
  readonly members: Int32Array;
  /** Integer sums of gq and hq over the rows. */
  readonly gSum: number;
  readonly hSum: number;
  histograms: Histogram[][] | null;
}

/**
 * Grows one tree (see the file comment). Returns the tree and each row's leaf.
 * Throws RangeError on invalid parameters, mismatched lists (parties, allowed, features), a row out of range of
 * `gq`, `hq`, a malformed answer from `access` (wrong counts or lengths, a bad split id, a 0/1 outside {0, 1}), or a
 * split answer whose left rows do not sum to the chosen candidate's; rejects as `access` does.
 */
export async function growTree(args: GrowArgs): Promise<GrownTree> {
  const { params, parties, allowed, rows, gq, hq, access } = args;
  checkTreeParams(params);
  checkParties(parties, allowed);
  if (gq.length !== hq.length) throw new RangeError(`${gq.length} gradients but ${hq.length} hessians`);
  let gRoot = 0;
  let hRoot = 0;
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i]!;
    if (!(r >= 0 && r < gq.length)) throw new RangeError(`row ${i} of the tree is out of range`);
    gRoot += gq[r]!;
    hRoot += hq[r]!;
  }

  const nodes: (TreeNode | null)[] = [null];
  const leafOfRow = new Int32Array(rows.length);
  const root: OpenNode = {
    node: 0,
    rows,
    members: indices(rows.length),
    gSum: gRoot,
    hSum: hRoot,
    histograms: null,
  };
  if (params.depth > 0 && rows.length >= 2) {
    root.histograms = (await histogramsOf(access, [root], parties))[0]!;
  }

  let frontier: OpenNode[] = [root];
  for (let level = 0; frontier.length > 0; level++) {
    const chosen: { open: OpenNode; request: SplitRequest }[] = [];
    for (const open of frontier) {
      const best = level < params.depth && open.rows.length >= 2 ? bestOfParties(open, args) : null;
      if (best === null) {
        const { g, h } = dequantiseSums(open.gSum, open.hSum);
        nodes[open.node] = { kind: 'leaf', weight: params.learningRate * leafWeight(g, h, params.l2) };
        const members = open.members;
        for (let i = 0; i < members.length; i++) leafOfRow[members[i]!] = open.node;
        open.histograms = null;
      } else {
        const request = {
          node: open.node,
          rows: open.rows,
          party: parties[best.party]!.party,
          candidate: best.candidate,
        };
        chosen.push({ open, request });
      }
    }
    if (chosen.length === 0) break;

    const results = await access.split(chosen.map((c) => c.request));
    if (results.length !== chosen.length) {
      throw new RangeError(`${results.length} split answers for ${chosen.length} splits`);
    }
    const next: OpenNode[] = [];
    const pairs: { parent: OpenNode; smaller: OpenNode; larger: OpenNode }[] = [];
    chosen.forEach(({ open, request }, s) => {
      const result = results[s]!;
      const [left, right] = partition(open, request, result, nodes.length, gq, hq);
      nodes.push(null, null);
      nodes[open.node] = {
        kind: 'split',
        owner: request.party,
        splitId: result.splitId,
        left: left.node,
        right: right.node,
      };
      next.push(left, right);
      if (level + 1 < params.depth && Math.max(left.rows.length, right.rows.length) >= 2) {
        const leftSmaller = left.rows.length <= right.rows.length;
        pairs.push({ parent: open, smaller: leftSmaller ? left : right, larger: leftSmaller ? right : left });
      }
    });
    if (pairs.length > 0) {
      const computed = await histogramsOf(
        access,
        pairs.map((p) => p.smaller),
        parties,
      );
      pairs.forEach(({ parent, smaller, larger }, j) => {
        smaller.histograms = computed[j]!;
        larger.histograms = parent.histograms!.map((own, p) => subtractHistograms(own, computed[j]![p]!));
      });
    }
    for (const { open } of chosen) open.histograms = null;
    frontier = next;
  }
  return { tree: { nodes: nodes as TreeNode[] }, leafOfRow };
}

/**
 * Throws RangeError unless `params` is usable: trees and depth non-negative integers, learning rate finite and > 0,
 * bins an integer in [2, MAX_VALUE_BINS], minChildWeight and l2 finite and ≥ 0, minSplitGain (when given) finite and ≥ 0.
 */
export function checkTreeParams(params: TreeParams): void {
  const count = (x: number) => Number.isInteger(x) && x >= 0;
  const nonNegative = (x: number) => Number.isFinite(x) && x >= 0;
  if (!count(params.trees)) throw new RangeError('trees must be a non-negative integer');
  if (!count(params.depth)) throw new RangeError('depth must be a non-negative integer');
  if (!(Number.isFinite(params.learningRate) && params.learningRate > 0)) {
    throw new RangeError('learningRate must be finite and > 0');
  }
  if (!(Number.isInteger(params.bins) && params.bins >= 2 && params.bins <= MAX_VALUE_BINS)) {
    throw new RangeError(`bins must be an integer in [2, ${MAX_VALUE_BINS}]`);
  }
  if (!nonNegative(params.minChildWeight)) throw new RangeError('minChildWeight must be finite and ≥ 0');
  if (!nonNegative(params.l2)) throw new RangeError('l2 must be finite and ≥ 0');
  if (params.minSplitGain !== undefined && !nonNegative(params.minSplitGain)) {
    throw new RangeError('minSplitGain must be finite and ≥ 0');
  }
}

function checkParties(parties: readonly PartyFeatures[], allowed: readonly (readonly boolean[])[]): void {
  if (parties.length === 0) throw new RangeError('a tree needs at least one party');
  if (new Set(parties.map((p) => p.party)).size !== parties.length)
    throw new RangeError('parties repeat a name');
  if (allowed.length !== parties.length) {
    throw new RangeError(`allowed has ${allowed.length} entries for ${parties.length} parties`);
  }
  parties.forEach((p, i) => {
    if (allowed[i]!.length !== p.features.length) {
      throw new RangeError(
        `party ${i}: allowed has ${allowed[i]!.length} entries, expected ${p.features.length}`,
      );
    }
  });
}

/** The best split of a node over every party, or null; ties go to the earlier party. */
function bestOfParties(open: OpenNode, args: GrowArgs): { party: number; candidate: SplitCandidate } | null {
  let best: { party: number; candidate: SplitCandidate } | null = null;
  args.parties.forEach((party, p) => {
    const candidate = bestSplit(open.histograms![p]!, party.features, args.params, args.allowed[p]);
    if (candidate !== null && (best === null || candidate.gain > best.candidate.gain)) {
      best = { party: p, candidate };
    }
  });
  return best;
}

/** 0, 1, …, n − 1. */
function indices(n: number): Int32Array {
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = i;
  return out;
}

/** Asks `access` for the histograms of `nodes` and checks their shape. */
async function histogramsOf(
  access: GrowAccess,
  nodes: readonly OpenNode[],
  parties: readonly PartyFeatures[],
): Promise<Histogram[][][]> {
  const answer = await access.histograms(nodes.map((n) => ({ node: n.node, rows: n.rows })));
  if (answer.length !== nodes.length) {
    throw new RangeError(`histograms for ${answer.length} nodes, asked for ${nodes.length}`);
  }
  for (const perParty of answer) {
    if (perParty.length !== parties.length) {
      throw new RangeError(`histograms from ${perParty.length} parties, expected ${parties.length}`);
    }
    perParty.forEach((perFeature, p) => {
      if (perFeature.length !== parties[p]!.features.length) {
        throw new RangeError(
          `party ${p}: ${perFeature.length} histograms, expected ${parties[p]!.features.length}`,
        );
      }
    });
  }
  return answer;
}

/**
 * The node's children (numbered `first` and `first` + 1) from the owner's answer, after checking it against the
 * candidate's sums.
 */
function partition(
  open: OpenNode,
  request: SplitRequest,
  result: SplitResult,
  first: number,
  gq: Int32Array,
  hq: Int32Array,
): [OpenNode, OpenNode] {
  const n = open.rows.length;
  if (!(Number.isInteger(result.splitId) && result.splitId >= 0)) {
    throw new RangeError(`node ${open.node}: the split id must be a non-negative integer`);
  }
  if (result.left.length !== n) {
    throw new RangeError(`node ${open.node}: ${result.left.length} left flags for ${n} rows`);
  }
  const flags = result.left;
  const rows = open.rows;
  const members = open.members;
  let count = 0;
  let gLeft = 0;
  let hLeft = 0;
  for (let i = 0; i < n; i++) {
    const flag = flags[i]!;
    if (flag > 1) throw new RangeError(`node ${open.node}: a left flag is not 0 or 1`);
    if (flag === 1) {
      const r = rows[i]!;
      count++;
      gLeft += gq[r]!;
      hLeft += hq[r]!;
    }
  }
  const sums = dequantiseSums(gLeft, hLeft);
  if (sums.g !== request.candidate.left.g || sums.h !== request.candidate.left.h) {
    throw new RangeError(
      `node ${open.node}: the rows sent left do not match the chosen split of ${request.party}`,
    );
  }
  const leftRows = new Int32Array(count);
  const leftMembers = new Int32Array(count);
  const rightRows = new Int32Array(n - count);
  const rightMembers = new Int32Array(n - count);
  let l = 0;
  let r = 0;
  for (let i = 0; i < n; i++) {
    if (flags[i] === 1) {
      leftRows[l] = rows[i]!;
      leftMembers[l++] = members[i]!;
    } else {
      rightRows[r] = rows[i]!;
      rightMembers[r++] = members[i]!;
    }
  }
  return [
    { node: first, rows: leftRows, members: leftMembers, gSum: gLeft, hSum: hLeft, histograms: null },
    {
      node: first + 1,
      rows: rightRows,
      members: rightMembers,
      gSum: open.gSum - gLeft,
      hSum: open.hSum - hLeft,
      histograms: null,
    },
  ];
}
