/**
 * The plaintext boosted-tree trainer (models/trees/train-plain.ts) on the vertically split credit-default data:
 * quality against scikit-learn on the same split, scoring with the model's parts (models/trees/part.ts) giving the
 * trainer's own margins, repeatable runs, early stopping and feature subsampling.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { SeededRandom } from '../../../models/random.js';
import { baseMargin, logisticGradients } from '../../../models/trees/gradients.js';
import { partsOf, splitBits, treeMargins } from '../../../models/trees/part.js';
import {
  featureMask,
  type PlainTrainingParams,
  type PlainTrainingResult,
  trainGbdtPlain,
} from '../../../models/trees/train-plain.js';
import type { RawCell } from '../../../models/types.js';
import { binnedParties, type HeteroCredit, heteroCredit } from './trees-data.js';

const PARAMS: PlainTrainingParams = {
  trees: 25,
  depth: 5,
  learningRate: 0.3,
  bins: 31,
  l2: 1,
  minChildWeight: 1,
};

/** The validation rows of each party's raw columns, as a scorer would hold them. */
function validationRaw(data: HeteroCredit, party: number): Map<string, RawCell[]> {
  const raw = data.parties[party]!.raw;
  return new Map([...raw].map(([name, cells]) => [name, data.validationRows.map((r) => cells[r]!)]));
}

/** Margins of the trained model from its parts, scoring the validation rows from raw cells. */
function marginsFromParts(data: HeteroCredit, trained: PlainTrainingResult): Float64Array {
  const { labelHolder, featureHolders } = partsOf(trained, 'bank-a', ['bank-b']);
  const rows = data.validationRows.length;
  const own = splitBits(labelHolder.rules, validationRaw(data, 0), rows);
  const partner = splitBits(featureHolders.get('bank-b')!.rules, validationRaw(data, 1), rows);
  return treeMargins(labelHolder, own, [partner], rows);
}

describe('plaintext boosted trees', () => {
  let full: HeteroCredit;
  let trained: PlainTrainingResult;
  let seconds: number;

  beforeAll(async () => {
    // A fixed split (seed 2): see the quality test for its scikit-learn figures.
    full = heteroCredit({ seed: 2 });
    const parties = binnedParties(full, PARAMS.bins);
    const start = performance.now();
    trained = await trainGbdtPlain({
      params: PARAMS,
      parties,
      labels: full.labels,
      trainingRows: full.trainingRows,
      validationRows: full.validationRows,
    });
    seconds = (performance.now() - start) / 1000;
  });

  it('reaches scikit-learn’s validation AUC on the joined credit data (25 trees, depth 5)', () => {
    const last = trained.history.at(-1)!;
    console.log(
      `boosted trees, credit 24 000 × 23: validation AUC ${last.auc.toFixed(4)}, KS ${last.ks.toFixed(4)}, ` +
        `log-loss ${last.logLoss.toFixed(4)}, ${((seconds / PARAMS.trees) * 1000).toFixed(1)} ms a tree`,
    );
    // scikit-learn 1.2 HistGradientBoostingClassifier on this split: 0.7746 with its defaults (100 iterations, 255
    // bins), 0.7734 with these settings. (The split of seed 1 is harder: 0.7648 and 0.7642 there, this trainer 0.7641.)
    expect(last.auc).toBeGreaterThanOrEqual(0.77);
    expect(trained.history).toHaveLength(PARAMS.trees);
    expect(trained.trees).toHaveLength(PARAMS.trees);
    expect(trained.bestTrees).toBe(
      trained.history.reduce(
        (best, round) => (round.auc > trained.history[best - 1]!.auc ? round.tree : best),
        1,
      ),
    );
    expect(trained.baseMargin).toBe(baseMargin(full.labels, full.trainingRows));
    expect(trained.rules.get('bank-a')!.length + trained.rules.get('bank-b')!.length).toBe(
      trained.trees.reduce((n, t) => n + t.nodes.filter((node) => node.kind === 'split').length, 0),
    );
  });

  it('scores through its parts, from raw cells and split bits, exactly the margins it trained with', () => {
    const margins = marginsFromParts(full, trained);
    let worst = 0;
    margins.forEach((m, i) => {
      worst = Math.max(worst, Math.abs(m - trained.validationMargins[i]!));
    });
    expect(worst).toBeLessThanOrEqual(1e-12);
  });

  it('repeats bit for bit, and quantised sums are what makes that hold in any order', async () => {
    const small = heteroCredit({ limit: 4000 });
    const parties = binnedParties(small, 16);
    const run = () =>
      trainGbdtPlain({
        params: { ...PARAMS, trees: 6, featureSubsample: 0.6, seed: 'repeat' },
        parties,
        labels: small.labels,
        trainingRows: small.trainingRows,
        validationRows: small.validationRows,
      });
    const [a, b] = [await run(), await run()];
    expect(b).toEqual(a);
    // Unquantised gradients summed in two orders disagree in the last bits; the quantised sums cannot.
    const random = new SeededRandom('margins');
    const margins = new Float64Array(small.rows).map(() => random.uniform() * 4 - 2);
    const { g } = logisticGradients(small.labels, margins, small.trainingRows);
    const shuffled = new SeededRandom('order').shuffle(g.slice());
    const sum = (xs: Float64Array) => xs.reduce((s, x) => s + x, 0);
    expect(sum(shuffled)).not.toBe(sum(g));
  });

  it('stops early, keeping the best prefix and only the rules it uses', async () => {
    const small = heteroCredit({ limit: 3000 });
    const parties = binnedParties(small, 31);
    const stopped = await trainGbdtPlain({
      params: { ...PARAMS, trees: 40, depth: 6, learningRate: 1, earlyStopping: 3 },
      parties,
      labels: small.labels,
      trainingRows: small.trainingRows,
      validationRows: small.validationRows,
    });
    expect(stopped.history.length).toBeLessThan(40);
    expect(stopped.history.length).toBe(stopped.bestTrees + 3);
    expect(stopped.trees).toHaveLength(stopped.bestTrees);
    const best = Math.max(...stopped.history.map((h) => h.auc));
    expect(stopped.history[stopped.bestTrees - 1]!.auc).toBe(best);
    const used = new Map<string, number>();
    for (const tree of stopped.trees) {
      for (const node of tree.nodes) {
        if (node.kind === 'split')
          used.set(node.owner, Math.max(used.get(node.owner) ?? 0, node.splitId + 1));
      }
    }
    for (const party of ['bank-a', 'bank-b'])
      expect(stopped.rules.get(party)!.length).toBe(used.get(party) ?? 0);
    expect(marginsFromParts(small, stopped)).toEqual(stopped.validationMargins);
  });

  it('trains when the label holder holds no features, every split then its partner’s', async () => {
    const small = heteroCredit({ limit: 3000 });
    const [a, b] = binnedParties(small, 16);
    const trained = await trainGbdtPlain({
      params: { ...PARAMS, trees: 3, depth: 3 },
      parties: [{ party: a!.party, binning: [], bins: [] }, b!],
      labels: small.labels,
      trainingRows: small.trainingRows,
      validationRows: small.validationRows,
    });
    expect(trained.rules.get('bank-a')).toEqual([]);
    const owners = trained.trees.flatMap((t) =>
      t.nodes.flatMap((n) => (n.kind === 'split' ? [n.owner] : [])),
    );
    expect(owners.length).toBeGreaterThan(0);
    expect(new Set(owners)).toEqual(new Set(['bank-b']));
    expect(marginsFromParts(small, trained)).toEqual(trained.validationMargins);
  });

  it('subsamples features per tree and party, reproducibly from the seed', async () => {
    const mask = featureMask('seed', 1, 'bank-a', 23, 0.5);
    expect(mask.filter(Boolean)).toHaveLength(12);
    expect(featureMask('seed', 1, 'bank-a', 23, 0.5)).toEqual(mask);
    expect(featureMask('seed', 2, 'bank-a', 23, 0.5)).not.toEqual(mask);
    expect(featureMask('seed', 1, 'bank-b', 23, 0.5)).not.toEqual(mask);
    expect(featureMask('other', 1, 'bank-a', 23, 0.5)).not.toEqual(mask);
    expect(featureMask('seed', 1, 'bank-a', 30, 0.1).filter(Boolean)).toHaveLength(3);
    expect(featureMask('seed', 1, 'bank-a', 5, 0.01).filter(Boolean)).toHaveLength(1);
    expect(featureMask('seed', 1, 'bank-a', 4, 1)).toEqual([true, true, true, true]);
    expect(() => featureMask('seed', 0, 'bank-a', 4, 0.5)).toThrow(RangeError);
    expect(() => featureMask('seed', 1, 'bank-a', 4, 0)).toThrow(RangeError);

    const small = heteroCredit({ limit: 3000 });
    const parties = binnedParties(small, 16);
    const trained = await trainGbdtPlain({
      params: { ...PARAMS, trees: 5, depth: 3, featureSubsample: 0.3, seed: 'masks' },
      parties,
      labels: small.labels,
      trainingRows: small.trainingRows,
      validationRows: small.validationRows,
    });
    trained.trees.forEach((tree, t) => {
      for (const node of tree.nodes) {
        if (node.kind !== 'split') continue;
        const p = parties.findIndex((party) => party.party === node.owner);
        const feature = trained.rules.get(node.owner)![node.splitId]!.feature;
        const index = parties[p]!.binning.findIndex((b) => b.name === feature);
        expect(featureMask('masks', t + 1, node.owner, parties[p]!.binning.length, 0.3)[index]).toBe(true);
      }
    });
    await expect(
      trainGbdtPlain({
        params: { ...PARAMS, featureSubsample: 0.5 },
        parties,
        labels: small.labels,
        trainingRows: small.trainingRows,
        validationRows: small.validationRows,
      }),
    ).rejects.toThrow(RangeError);
  });
});
