/**
 * Centralised boosted trees: the project's own plaintext anchor for the vertical SecureBoost protocol. Every party's
 * bins sit in one process, and the same grower (models/trees/grow.ts) runs with local access, so on the same data,
 * parameters and seed the two give identical trees: both quantise gradients the same way (models/trees/gradients.ts)
 * and histograms are exact integer sums.
 *
 * Per tree t (numbered from 1):
 * 1. g, h from the current training margins; quantised to gq, hq.
 * 2. Per party, the features this tree may use: `featureMask(seed, t, party, …)`, which the vertical protocol
 *    computes the same way.
 * 3. `growTree`, where a party's split id is the index of its rule in its rules list, appended as splits are made
 *    (so the first k trees use a prefix of every party's rules).
 * 4. Training margins += the leaf weight of each row; validation margins += the weight of the leaf each validation
 *    row reaches through its bins; AUC, KS and log-loss of sigmoid(validation margins) go into `history`.
 * Early stopping: after `earlyStopping` trees in a row without a higher validation AUC, training stops and the model
 * keeps the prefix with the best AUC (and the rules that prefix uses).
 *
 * Pure: no I/O.
 */
import { auc, ks, logLoss } from '../metrics.js';
import { sigmoid } from '../network.js';
import { deriveSeed, SeededRandom } from '../random.js';
import { valueBins, ruleOf } from './binning.js';
import { baseMargin, logisticGradients, quantiseGradients } from './gradients.js';
import { checkTreeParams, type GrowAccess, growTree, type PartyFeatures } from './grow.js';
import { type BinMatrix, binMatrix, leftTable, matrixHistograms } from './split.js';
import {
  type FeatureBinning,
  HISTOGRAM_POSITIONS,
  type SplitRule,
  type Tree,
  type TreeParams,
} from './types.js';

/** Training parameters: the tree parameters, plus the plaintext trainer's own options. */
export interface PlainTrainingParams extends TreeParams {
  /** Fraction of each party's features a tree may use, in (0, 1]; 1 (all) by default. */
  readonly featureSubsample?: number;
  /** Stop after this many trees in a row without a higher validation AUC, keeping the best prefix. */
  readonly earlyStopping?: number;
  /** Seeds the feature subsampling; required when featureSubsample < 1. */
  readonly seed?: string;
}

/** One party's features: its binning (fitted on the training rows) and every row's positions (`binColumns`). */
export interface PlainParty {
  readonly party: string;
  readonly binning: readonly FeatureBinning[];
  /** Per feature, per row position (labels.length entries). */
  readonly bins: readonly Uint8Array[];
}

export interface PlainTrainingInput {
  readonly params: PlainTrainingParams;
  /** The parties in their agreed order (ties between equal gains go to the earlier party). */
  readonly parties: readonly PlainParty[];
  /** 0/1 per row position. */
  readonly labels: Uint8Array;
  readonly trainingRows: readonly number[];
  readonly validationRows: readonly number[];
}

/** Validation metrics after a number of trees. */
export interface TreeRound {
  /** How many trees the model had (1 after the first). */
  readonly tree: number;
  readonly auc: number;
  readonly ks: number;
  readonly logLoss: number;
}

export interface PlainTrainingResult {
  readonly trees: Tree[];
  readonly baseMargin: number;
  /** Per party (every party, possibly with no rules), its rules by split id. */
  readonly rules: Map<string, SplitRule[]>;
  readonly history: TreeRound[];
  /**
   * The number of trees with the highest validation AUC (the first such prefix). With early stopping, `trees` is cut
   * to it; without, `trees` holds every tree and this only reports it (all trees when no AUC could be computed).
   */
  readonly bestTrees: number;
  /** The margins (log-odds) of the returned model for each validation row, in validationRows order. */
  readonly validationMargins: Float64Array;
}

/**
 * Trains boosted trees on every party's bins in one process (see the file comment).
 * Throws RangeError on invalid parameters, a party whose bins do not have one column per binned feature and one
 * entry per label, repeated party names, rows out of range, training rows without both labels, or early stopping
 * without validation rows holding both labels.
 */
export async function trainGbdtPlain(input: PlainTrainingInput): Promise<PlainTrainingResult> {
  const { params, parties, labels, trainingRows, validationRows } = input;
  checkTreeParams(params);
  const fraction = params.featureSubsample ?? 1;
  if (!(fraction > 0 && fraction <= 1)) throw new RangeError('featureSubsample must be in (0, 1]');
  if (fraction < 1 && params.seed === undefined)
    throw new RangeError('featureSubsample below 1 needs a seed');
  const patience = params.earlyStopping;
  if (patience !== undefined && !(Number.isInteger(patience) && patience >= 1)) {
    throw new RangeError('earlyStopping must be a positive integer');
  }
  const n = labels.length;
  if (new Set(parties.map((p) => p.party)).size !== parties.length)
    throw new RangeError('parties repeat a name');
  parties.forEach((p) => {
    if (p.bins.length !== p.binning.length) {
      throw new RangeError(`party ${p.party}: ${p.bins.length} bin columns for ${p.binning.length} features`);
    }
    if (p.bins.some((column) => column.length !== n)) {
      throw new RangeError(`party ${p.party}: every bin column must have ${n} rows`);
    }
  });
  for (const r of validationRows) {
    if (!(Number.isInteger(r) && r >= 0 && r < n)) throw new RangeError('a validation row is out of range');
  }
  const validationLabels = Uint8Array.from(validationRows, (r) => labels[r]!);
  if (patience !== undefined && !(validationLabels.includes(0) && validationLabels.includes(1))) {
    throw new RangeError('early stopping needs validation rows with both labels');
  }

  const base = baseMargin(labels, trainingRows);
  const margins = new Float64Array(n).fill(base);
  const training = Int32Array.from(trainingRows);
  const validation = Int32Array.from(validationRows);
  const features: PartyFeatures[] = parties.map((p) => ({
    party: p.party,
    features: p.binning.map((b) => ({ kind: b.kind, valueBins: valueBins(b) })),
  }));
  const matrices = parties.map((p) => binMatrix(p.bins, n));
  const partyIndex = new Map(parties.map((p, i) => [p.party, i]));
  const rules = parties.map((): SplitRule[] => []);
  // Per party, per split id: the feature and the left table (position → 1 if left), for validation rows.
  const tables = parties.map((): { feature: number; table: Uint8Array }[] => []);

  const validationMargins = new Float64Array(validationRows.length).fill(base);
  const scores = new Float64Array(validationRows.length);
  const trees: Tree[] = [];
  const history: TreeRound[] = [];
  let best = {
    auc: Number.NEGATIVE_INFINITY,
    trees: 0,
    margins: validationMargins.slice(),
    rules: parties.map(() => 0),
  };

  for (let t = 0; t < params.trees; t++) {
    const { g, h } = logisticGradients(labels, margins, training);
    const q = quantiseGradients(g, h);
    // By row position, as the bins are (rows not in training stay 0 and are never read).
    const gq = new Int32Array(n);
    const hq = new Int32Array(n);
    for (let i = 0; i < training.length; i++) {
      gq[training[i]!] = q.g[i]!;
      hq[training[i]!] = q.h[i]!;
    }
    const access: GrowAccess = {
      histograms: async (nodes) =>
        nodes.map((node) => matrices.map((matrix) => matrixHistograms(matrix, node.rows, gq, hq))),
      split: async (requests) =>
        requests.map(({ rows, party, candidate }) => {
          const p = partyIndex.get(party)!;
          const binning = parties[p]!.binning[candidate.feature]!;
          const table = leftTable(candidate);
          rules[p]!.push(ruleOf(binning, candidate));
          tables[p]!.push({ feature: candidate.feature, table });
          const column = parties[p]!.bins[candidate.feature]!;
          const left = new Uint8Array(rows.length);
          for (let i = 0; i < rows.length; i++) left[i] = table[column[rows[i]!]!]!;
          return { splitId: rules[p]!.length - 1, left };
        }),
    };
    const allowed = parties.map((p) =>
      featureMask(params.seed ?? '', t + 1, p.party, p.binning.length, fraction),
    );
    const { tree, leafOfRow } = await growTree({
      params,
      parties: features,
      allowed,
      rows: training,
      gq,
      hq,
      access,
    });
    trees.push(tree);
    const weights = Float64Array.from(tree.nodes, (node) => (node.kind === 'leaf' ? node.weight : 0));
    for (let i = 0; i < training.length; i++) margins[training[i]!]! += weights[leafOfRow[i]!]!;
    const walk = walker(tree, partyIndex, matrices, tables);
    for (let i = 0; i < validation.length; i++) {
      validationMargins[i]! += weights[walk(validation[i]!)]!;
      scores[i] = sigmoid(validationMargins[i]!);
    }
    const round = {
      tree: t + 1,
      auc: auc(scores, validationLabels),
      ks: ks(scores, validationLabels),
      logLoss: logLoss(scores, validationLabels),
    };
    history.push(round);
    if (round.auc > best.auc) {
      best = {
        auc: round.auc,
        trees: t + 1,
        margins: validationMargins.slice(),
        rules: rules.map((r) => r.length),
      };
    } else if (patience !== undefined && t + 1 - best.trees >= patience) {
      break;
    }
  }

  const cut = patience !== undefined;
  return {
    trees: cut ? trees.slice(0, best.trees) : trees,
    baseMargin: base,
    rules: new Map(parties.map((p, i) => [p.party, cut ? rules[i]!.slice(0, best.rules[i]) : rules[i]!])),
    history,
    bestTrees: best.auc > Number.NEGATIVE_INFINITY ? best.trees : trees.length,
    validationMargins: cut ? best.margins : validationMargins,
  };
}

/**
 * Which of a party's features tree number `tree` (1 for the first tree, as the trainers count) may use: ceil(fraction · features) of them (at least 1), chosen
 * by a Fisher–Yates shuffle seeded from (seed, tree, party) (models/random.ts), so any party can compute every
 * party's mask. All true when the fraction is 1.
 * Throws RangeError if `features` is not a non-negative integer, `tree` not a positive integer, or `fraction` is
 * not in (0, 1].
 */
export function featureMask(
  seed: string,
  tree: number,
  party: string,
  features: number,
  fraction: number,
): boolean[] {
  if (!(Number.isInteger(features) && features >= 0))
    throw new RangeError('features must be a non-negative integer');
  if (!(Number.isInteger(tree) && tree >= 1)) throw new RangeError('tree must be a positive integer');
  if (!(fraction > 0 && fraction <= 1)) throw new RangeError('fraction must be in (0, 1]');
  // A small tolerance so that e.g. 0.1 · 30 (3.0000000000000004 in doubles) keeps 3 features, not 4.
  const keep = Math.min(features, Math.max(1, Math.ceil(fraction * features - 1e-9)));
  const mask = new Array<boolean>(features).fill(keep === features);
  if (keep === features) return mask;
  const order = Int32Array.from({ length: features }, (_, i) => i);
  new SeededRandom(deriveSeed(seed, `feature mask|${tree}|${party}`)).shuffle(order);
  for (let k = 0; k < keep; k++) mask[order[k]!] = true;
  return mask;
}

/**
 * A function giving the leaf a row position reaches in `tree` through the parties' bins: the tree flattened into
 * typed arrays (per node: left, right, and for a split its party's matrix column and left table).
 */
function walker(
  tree: Tree,
  partyIndex: ReadonlyMap<string, number>,
  matrices: readonly BinMatrix[],
  tables: readonly (readonly { feature: number; table: Uint8Array }[])[],
): (r: number) => number {
  const count = tree.nodes.length;
  const left = new Int32Array(count).fill(-1);
  const right = new Int32Array(count);
  const party = new Int32Array(count);
  const column = new Int32Array(count);
  const table = new Uint8Array(count * HISTOGRAM_POSITIONS);
  tree.nodes.forEach((node, i) => {
    if (node.kind === 'leaf') return;
    const p = partyIndex.get(node.owner)!;
    const split = tables[p]![node.splitId]!;
    left[i] = node.left;
    right[i] = node.right;
    party[i] = p;
    column[i] = split.feature;
    table.set(split.table, i * HISTOGRAM_POSITIONS);
  });
  return (r) => {
    let at = 0;
    while (left[at]! >= 0) {
      const matrix = matrices[party[at]!]!;
      const position = matrix.data[r * matrix.features + column[at]!]!;
      at = table[at * HISTOGRAM_POSITIONS + position] === 1 ? left[at]! : right[at]!;
    }
    return at;
  };
}
