/**
 * A node's rows for a training job: checks its dataset against the spec (every column present, numeric features of a
 * numeric type, a binary label), reads the columns, splits training from validation rows by the spec's seed, and
 * fingerprints what it read for the model's lineage. Nothing here leaves the node.
 */
import { createHash } from 'node:crypto';
import type { DatasetStore } from '../../platform/store/types.js';
import { InvalidLabelError, labelsOf } from '../../models/preprocessing.js';
import { deriveSeed, SeededRandom } from '../../models/random.js';
import type { RawCell, RawColumns } from '../../models/types.js';
import { AccordError } from '../../primitives/errors/index.js';
import type { HorizontalSpec as TrainingSpec } from '../../primitives/training/spec.js';

/** Fewer rows than this and a member's update would say too much about each row. */
export const MIN_TRAINING_ROWS = 20;

export interface RowSplit {
  readonly raw: RawColumns;
  readonly labels: Uint8Array;
  readonly rows: number;
}

export interface LocalData {
  readonly training: RowSplit;
  readonly validation: RowSplit;
  /** SHA-256 (hex) of the dataset name, the columns read and every cell of them, in row order. */
  readonly fingerprint: string;
  readonly rows: number;
}

const NUMERIC_TYPES = new Set(['integer', 'number', 'boolean']);

/** Checks the dataset can serve the spec; throws ACCORD_DATASET_NOT_FOUND or ACCORD_TRAINING_SCHEMA_MISMATCH. */
export async function checkSchema(
  datasets: DatasetStore,
  dataset: string,
  spec: TrainingSpec,
): Promise<void> {
  const info = await datasets.get(dataset);
  if (!info) throw new AccordError('ACCORD_DATASET_NOT_FOUND', { dataset });
  const types = new Map(info.columns.map((c) => [c.name, c.type]));
  for (const f of [...spec.features, { name: spec.label, kind: 'label' as const }]) {
    // Identifiers never enter a model: a one-hot over "categories" that are customer ids would tell the initiator,
    // through the "other" count and the weights, which of them a bank holds.
    if (f.name === info.idColumn)
      throw new AccordError('ACCORD_TRAINING_SCHEMA_MISMATCH', {
        dataset,
        column: f.name,
        problem: "is the dataset's identifier column, which no model may read",
      });
    const type = types.get(f.name);
    if (type === undefined)
      throw new AccordError('ACCORD_TRAINING_SCHEMA_MISMATCH', {
        dataset,
        column: f.name,
        problem: 'is missing',
      });
    if (f.kind === 'numeric' && !NUMERIC_TYPES.has(type))
      throw new AccordError('ACCORD_TRAINING_SCHEMA_MISMATCH', {
        dataset,
        column: f.name,
        problem: `has type ${type}, a numeric feature needs integer, number or boolean`,
      });
  }
  if (info.rowCount < MIN_TRAINING_ROWS)
    throw new AccordError('ACCORD_TRAINING_TOO_FEW_ROWS', {
      dataset,
      rows: info.rowCount,
      needed: MIN_TRAINING_ROWS,
    });
}

function pick(raw: RawColumns, indices: Int32Array | number[]): RawColumns {
  const out = new Map<string, RawCell[]>();
  for (const [name, cells] of raw)
    out.set(
      name,
      Array.from(indices, (i) => cells[i]!),
    );
  return out;
}

/**
 * The training / validation split of `rows` rows: a seeded shuffle, the first `fraction` of it for validation. The
 * same seed and row count give the same split on every run (benchmarks rebuild it to train on the same rows).
 */
export function splitRows(
  rows: number,
  validation: { readonly fraction: number; readonly seed: number },
): { trainingRows: number[]; validationRows: number[] } {
  const order = Array.from({ length: rows }, (_, i) => i);
  const random = new SeededRandom(deriveSeed(String(validation.seed), 'validation split'));
  for (let i = order.length - 1; i > 0; i--) {
    const j = random.below(i + 1);
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  const cut = Math.round(order.length * validation.fraction);
  return {
    validationRows: order.slice(0, cut).sort((a, b) => a - b),
    trainingRows: order.slice(cut).sort((a, b) => a - b),
  };
}

/**
 * 0/1 labels of `cells`; ACCORD_TRAINING_LABEL_INVALID naming the line of the imported file (the row key) of the first
 * cell that is not binary: what the bank fixes.
 */
export function readLabels(
  cells: readonly RawCell[],
  dataset: string,
  column: string,
  rowKeys: readonly number[],
): Uint8Array {
  try {
    return labelsOf(cells);
  } catch (err) {
    if (!(err instanceof InvalidLabelError)) throw err;
    throw new AccordError('ACCORD_TRAINING_LABEL_INVALID', { dataset, column, line: rowKeys[err.row] ?? 0 });
  }
}

/** Reads and splits the rows; throws as `checkSchema`, and ACCORD_TRAINING_LABEL_INVALID naming the file line. */
export async function loadLocalData(
  datasets: DatasetStore,
  dataset: string,
  spec: TrainingSpec,
): Promise<LocalData> {
  await checkSchema(datasets, dataset, spec);
  const keys = await datasets.rowKeys(dataset);
  const rowKeys = Array.from(keys);
  const names = [...spec.features.map((f) => f.name), spec.label];
  const raw = new Map<string, RawCell[]>();
  const hash = createHash('sha256').update(`${dataset}\n${names.join(',')}\n`);
  for (const name of names) {
    const cells = await datasets.valuesOf(dataset, name, rowKeys);
    raw.set(name, cells);
    hash.update(JSON.stringify(cells));
  }
  // A "categorical" column with a different value in most rows is an identifier in all but name (a copy of the id,
  // a phone, an email): one-hot over guessed values of it would tell the initiator which customers this bank holds.
  for (const f of spec.features) {
    if (f.kind !== 'categorical') continue;
    const distinct = new Set(raw.get(f.name)!.filter((v) => v !== null && v !== '')).size;
    if (rowKeys.length >= MIN_TRAINING_ROWS && distinct > rowKeys.length / 2)
      throw new AccordError('ACCORD_TRAINING_SCHEMA_MISMATCH', {
        dataset,
        column: f.name,
        problem: 'holds a different value in most rows: an identifier, not a category',
      });
  }
  const labels = readLabels(raw.get(spec.label)!, dataset, spec.label, rowKeys);
  const { trainingRows, validationRows } = splitRows(rowKeys.length, spec.validation);
  if (trainingRows.length < MIN_TRAINING_ROWS || validationRows.length < 1)
    throw new AccordError('ACCORD_TRAINING_TOO_FEW_ROWS', {
      dataset,
      rows: rowKeys.length,
      needed: MIN_TRAINING_ROWS,
    });
  const split = (rows: number[]): RowSplit => ({
    raw: pick(raw, rows),
    labels: Uint8Array.from(rows, (r) => labels[r]!),
    rows: rows.length,
  });
  return {
    training: split(trainingRows),
    validation: split(validationRows),
    fingerprint: hash.digest('hex'),
    rows: rowKeys.length,
  };
}
