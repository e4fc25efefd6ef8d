/**
 * A party's rows for a vertical job: the alignment (a finished PSI intersection between exactly the job's members,
 * with this node a learner), its own columns read in the shared order, the label where it holds it, the seeded
 * training/validation split every party computes alike, and its own preprocessing, computed from its own training
 * rows (nothing about it leaves the node). Throws coded errors that name what to fix.
 */
import { createHash } from 'node:crypto';
import { encodeRows, localColumnStats, preprocessingFromSums } from '../../models/preprocessing.js';
import type { FeatureColumn, Preprocessing, RawCell } from '../../models/types.js';
import type { NodeStore } from '../../platform/store/types.js';
import { AccordError } from '../../primitives/errors/index.js';
import type { VerticalSpec } from '../../primitives/training/spec.js';
import { MIN_TRAINING_ROWS, readLabels, splitRows } from './local-data.js';

/** A string column with at most this many distinct values joins "all" as a categorical feature. */
const MAX_AUTO_CATEGORIES = 32;
const NUMERIC_TYPES = new Set(['integer', 'number', 'boolean']);

export interface VerticalData {
  /** The local dataset the alignment was run on. */
  readonly dataset: string;
  readonly alignedRows: number;
  /** This party's columns, resolved ("all" becomes a list). */
  readonly features: readonly FeatureColumn[];
  readonly preprocessing: Preprocessing;
  /** Encoded aligned rows, row-major, alignedRows × width. */
  readonly X: Float64Array;
  readonly width: number;
  /** Labels of every aligned row (the label holder only). */
  readonly labels: Uint8Array | null;
  /** Aligned positions, ascending. */
  readonly trainingRows: readonly number[];
  readonly validationRows: readonly number[];
  readonly fingerprint: string;
  readonly missingValues: number;
  readonly otherValues: number;
  /** This party's raw feature columns (and label) of every aligned row, as read (boosted trees bin these). */
  readonly raw: ReadonlyMap<string, readonly RawCell[]>;
}

const invalid = (alignment: string, problem: string) =>
  new AccordError('ACCORD_VERTICAL_ALIGNMENT_INVALID', { alignment, problem });

/** The alignment's dataset and row keys in the shared order; throws ACCORD_VERTICAL_ALIGNMENT_INVALID. */
export async function alignedRowKeys(
  store: NodeStore,
  spec: VerticalSpec,
  participants: readonly string[],
): Promise<{ dataset: string; rowKeys: number[] }> {
  const psi = await store.psiJobs.get(spec.alignment);
  if (!psi) throw invalid(spec.alignment, 'no such PSI job on this node');
  if (psi.state !== 'done') throw invalid(spec.alignment, `the PSI job is ${psi.state}, not done`);
  if (psi.mode !== 'intersection')
    throw invalid(spec.alignment, 'the PSI job counted only (cardinality mode)');
  const same =
    psi.participants.length === participants.length &&
    participants.every((m) => psi.participants.includes(m));
  if (!same)
    throw invalid(
      spec.alignment,
      `the PSI job was between ${[...psi.participants].sort().join(', ')}, not ${[...participants].sort().join(', ')}`,
    );
  if (psi.resultSize === null) throw invalid(spec.alignment, 'this node did not learn the intersection');
  const rowKeys = await store.psiJobs.alignment(spec.alignment, 0, psi.resultSize);
  if (rowKeys.length !== psi.resultSize) throw invalid(spec.alignment, 'the stored alignment is incomplete');
  return { dataset: psi.dataset, rowKeys };
}

/** "all": every numeric column and every low-cardinality string column except the identifier and the label. */
function resolveFeatures(
  listed: VerticalSpec['features'][string] | undefined,
  columns: readonly { name: string; type: string }[],
  idColumn: string,
  label: string | null,
  distinct: (column: string) => Promise<string[]>,
): Promise<FeatureColumn[]> {
  if (listed !== undefined && listed !== 'all') return Promise.resolve([...listed]);
  return (async () => {
    const out: FeatureColumn[] = [];
    for (const c of columns) {
      if (c.name === idColumn || c.name === label) continue;
      if (NUMERIC_TYPES.has(c.type)) out.push({ name: c.name, kind: 'numeric' });
      else if (c.type === 'string') {
        const values = await distinct(c.name);
        if (values.length >= 1 && values.length <= MAX_AUTO_CATEGORIES)
          out.push({ name: c.name, kind: 'categorical', categories: values });
      }
    }
    return out;
  })();
}

/** Reads, checks and encodes this party's aligned rows for the job. */
export async function loadVerticalData(
  store: NodeStore,
  self: string,
  spec: VerticalSpec,
  participants: readonly string[],
  requestedDataset: string | null,
): Promise<VerticalData> {
  const { dataset, rowKeys } = await alignedRowKeys(store, spec, participants);
  if (requestedDataset && requestedDataset !== dataset)
    throw invalid(spec.alignment, `it aligned dataset ${dataset}, not ${requestedDataset}`);
  const info = await store.datasets.get(dataset);
  if (!info) throw new AccordError('ACCORD_DATASET_NOT_FOUND', { dataset });
  const isLabelHolder = self === spec.labelHolder;
  const label = isLabelHolder ? spec.label : null;
  const raw = new Map<string, RawCell[]>();
  const read = async (column: string): Promise<RawCell[]> => {
    let cells = raw.get(column);
    if (!cells) {
      cells = await store.datasets.valuesOf(dataset, column, rowKeys);
      raw.set(column, cells);
    }
    return cells;
  };
  const features = await resolveFeatures(spec.features[self], info.columns, info.idColumn, label, async (c) =>
    [...new Set((await read(c)).filter((v): v is string => typeof v === 'string' && v.trim() !== ''))]
      .map((v) => v.trim())
      .sort(),
  );
  if (features.length === 0)
    throw new AccordError('ACCORD_TRAINING_SCHEMA_MISMATCH', {
      dataset,
      column: '*',
      problem: 'has no usable feature column',
    });
  const types = new Map(info.columns.map((c) => [c.name, c.type]));
  for (const f of [...features, ...(label ? [{ name: label, kind: 'label' as const }] : [])]) {
    const problem =
      f.name === info.idColumn
        ? "is the dataset's identifier column, which no model may read"
        : !types.has(f.name)
          ? 'is missing'
          : f.kind === 'numeric' && !NUMERIC_TYPES.has(types.get(f.name)!)
            ? `has type ${types.get(f.name)}, a numeric feature needs integer, number or boolean`
            : null;
    if (problem)
      throw new AccordError('ACCORD_TRAINING_SCHEMA_MISMATCH', { dataset, column: f.name, problem });
  }
  const columns = new Map<string, RawCell[]>();
  for (const f of features) columns.set(f.name, await read(f.name));
  return prepareVerticalData({
    dataset,
    alignment: spec.alignment,
    features,
    columns,
    label: label ? { name: label, cells: await read(label) } : null,
    rowKeys,
    validation: spec.validation,
  });
}

/**
 * The pure part of `loadVerticalData`: the label, the split, this party's preprocessing from its own training rows
 * and the encoded rows, from raw columns already read in the shared order.
 */
export function prepareVerticalData(input: {
  readonly dataset: string;
  readonly alignment: string;
  readonly features: readonly FeatureColumn[];
  readonly columns: ReadonlyMap<string, readonly RawCell[]>;
  readonly label: { readonly name: string; readonly cells: readonly RawCell[] } | null;
  /** Row keys (file lines) in the shared order: what an error names. */
  readonly rowKeys: readonly number[];
  readonly validation: VerticalSpec['validation'];
}): VerticalData {
  const { dataset, features, rowKeys } = input;
  const raw = input.columns;
  const hash = createHash('sha256').update(`${dataset}\n${input.alignment}\n`);
  for (const f of features) hash.update(`${f.name}\n${JSON.stringify(raw.get(f.name))}\n`);
  let labels: Uint8Array | null = null;
  if (input.label) {
    hash.update(`${input.label.name}\n${JSON.stringify(input.label.cells)}\n`);
    labels = readLabels(input.label.cells, dataset, input.label.name, rowKeys);
  }
  const { trainingRows, validationRows } = splitRows(rowKeys.length, input.validation);
  if (trainingRows.length < MIN_TRAINING_ROWS || validationRows.length < 1)
    throw new AccordError('ACCORD_TRAINING_TOO_FEW_ROWS', {
      dataset,
      rows: rowKeys.length,
      needed: MIN_TRAINING_ROWS,
    });
  // Both classes among the validation rows, or no AUC can be measured (found now, not after an epoch of work).
  if (labels && new Set(validationRows.map((r) => labels![r])).size < 2)
    throw new AccordError('ACCORD_TRAINING_SCHEMA_MISMATCH', {
      dataset,
      column: input.label!.name,
      problem: 'holds one class only among the validation rows',
    });
  // Standardisation from this party's own training rows only: validation rows stay unseen, as they would at scoring.
  const trainingRaw = new Map<string, RawCell[]>();
  for (const f of features)
    trainingRaw.set(
      f.name,
      trainingRows.map((r) => raw.get(f.name)![r]!),
    );
  const preprocessing = preprocessingFromSums(features, localColumnStats(features, trainingRaw));
  const encoded = encodeRows(preprocessing, raw, rowKeys.length);
  const sum = (m: ReadonlyMap<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);
  return {
    dataset,
    alignedRows: rowKeys.length,
    features,
    preprocessing,
    X: encoded.X,
    width: encoded.width,
    labels,
    trainingRows,
    validationRows,
    fingerprint: hash.digest('hex'),
    missingValues: sum(encoded.missingCount),
    otherValues: sum(encoded.otherCount),
    raw,
  };
}
