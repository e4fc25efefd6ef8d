/**
 * Vertical boosted trees on real data, shared by the demo and `npm run bench:train:trees`: a SecureBoost job over a
 * PSI alignment, and the anchor every federated figure is judged against: the project's own plaintext boosted trees
 * (models/trees/train-plain.ts) on the joined rows, the same aligned customers, the same split, the same features,
 * bins and hyper-parameters, trained in one place. Its per-tree time is the plaintext figure the benchmark reports.
 */
import type { LocalConsortium } from './local-consortium.js';
import { fitBinning, binColumns } from '../models/trees/binning.js';
import { trainGbdtPlain } from '../models/trees/train-plain.js';
import type { FeatureColumn, ModelSpec, RawCell } from '../models/types.js';
import { splitRows } from '../node/training/local-data.js';
import {
  alignmentLines,
  readCsv,
  trainVertical,
  type VerticalBankData,
  type VerticalSettings,
} from './vertical.js';

/** The boosted-tree model of a job (primitives/training/spec.ts `gbdtModelSchema`). */
export type TreeModel = Extract<ModelSpec, { type: 'gbdt' }>;

/** The figure: 25 trees of depth 5. */
export const TREES_25: TreeModel = {
  type: 'gbdt',
  trees: 25,
  depth: 5,
  learningRate: 0.3,
  bins: 31,
  minChildWeight: 1,
  l2: 1,
};

const VALIDATION = { fraction: 0.2, seed: 42 } as const;

/** Trains `model` at the label holder (the first bank) with every other bank; the label holder's job view. */
export function trainTrees(
  c: LocalConsortium,
  banks: readonly VerticalBankData[],
  alignment: string,
  model: TreeModel,
  purpose: 'risk' | 'propensity',
  onTree?: (tree: number, auc: number | null) => void,
  // biome-ignore lint/suspicious/noExplicitAny: the job view, checked by the caller
): Promise<any> {
  // The logistic-regression settings are the spec's defaults, unused by a tree job.
  const settings: VerticalSettings = {
    epochs: 1,
    batchSize: 4096,
    learningRate: 0.1,
    optimizer: 'sgd',
    l2: 0,
    validation: VALIDATION,
    model: { ...model },
  };
  return trainVertical(c, banks, alignment, settings, purpose, onTree);
}

/**
 * A bank's features as its node resolves "all" (node/training/vertical-data.ts): every column but the identifier and
 * the label; imported as a string, categorical over its distinct trimmed values among the aligned rows, else
 * numeric.
 */
function featuresOf(
  bank: VerticalBankData,
  header: readonly string[],
  rows: readonly string[][],
): FeatureColumn[] {
  const strings = new Set(
    bank.columns
      .split(',')
      .filter((c) => c.endsWith(':string'))
      .map((c) => c.split(':')[0]!),
  );
  return header
    .filter((name) => name !== bank.idColumn && name !== 'y')
    .map((name): FeatureColumn => {
      if (!strings.has(name)) return { name, kind: 'numeric' };
      const at = header.indexOf(name);
      const values = [...new Set(rows.map((r) => r[at]!.trim()).filter((v) => v !== ''))].sort();
      return { name, kind: 'categorical', categories: values };
    });
}

/**
 * The centralised anchor: every bank's aligned rows joined in one place, binned per bank on the training rows as each
 * node bins its own, and the plaintext trainer with the job's model. Validation AUC and seconds per tree.
 */
export async function centralizedTrees(
  c: LocalConsortium,
  banks: readonly VerticalBankData[],
  alignment: string,
  model: TreeModel,
  seed: string,
): Promise<{ auc: number; secondsPerTree: number; trees: number }> {
  const parties: { party: string; binning: ReturnType<typeof fitBinning>; bins: Uint8Array[] }[] = [];
  let labels: Uint8Array | null = null;
  let split: { trainingRows: number[]; validationRows: number[] } | null = null;
  for (const b of banks) {
    const lines = await alignmentLines(c, b.member, alignment);
    const table = readCsv(b.file);
    split ??= splitRows(lines.length, VALIDATION);
    const features = featuresOf(
      b,
      table.header,
      lines.map((line) => table.rows[line - 2]!),
    );
    const raw = new Map<string, RawCell[]>(
      features.map((f) => {
        const at = table.header.indexOf(f.name);
        return [f.name, lines.map((line) => table.rows[line - 2]![at]!)] as const;
      }),
    );
    const binning = fitBinning(features, raw, split.trainingRows, model.bins);
    parties.push({ party: b.member, binning, bins: binColumns(binning, raw, lines.length) });
    if (b === banks[0]) {
      const at = table.header.indexOf('y');
      labels = Uint8Array.from(lines, (line) => Number(table.rows[line - 2]![at]));
    }
  }
  const started = performance.now();
  const result = await trainGbdtPlain({
    params: { ...model, seed },
    parties,
    labels: labels!,
    trainingRows: split!.trainingRows,
    validationRows: split!.validationRows,
  });
  const seconds = (performance.now() - started) / 1000;
  // Like for like with the job: the kept trees' AUC (all of them, unless the model stops early).
  const kept = model.earlyStopping === undefined ? result.history.length : result.bestTrees;
  return { auc: result.history[kept - 1]!.auc, secondsPerTree: seconds / result.history.length, trees: kept };
}
