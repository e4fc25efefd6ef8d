/**
 * Test support for scoring: real SQLite node stores holding a dataset, a finished PSI alignment and registered models
 * (ONNX exported by the real exporters), built from the breast-cancer fixtures (test/fixtures, 569 rows):
 *  - horizontal: bank-a's guest columns x0..x9 plus a string column `band` (a categorical feature), an MLP;
 *  - vertical: bank-a (label holder: y, x0..x9) and bank-b (host x0..x9, its rows in reverse order, and a few
 *    customers of its own), aligned by a PSI job both hold, one logistic part each with random weights;
 *  - trees: the same banks (bank-b with a categorical `band` and missing values too) and a boosted-tree model
 *    trained in the clear, one part each.
 * Random values come from a seeded generator (tests only).
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { exportOnnx } from '../../../models/onnx/export.js';
import { exportTreePartOnnx, treePartColumns } from '../../../models/onnx/tree-export.js';
import { exportVerticalPartOnnx } from '../../../models/onnx/vertical-export.js';
import { localColumnStats, preprocessingFromSums } from '../../../models/preprocessing.js';
import { binColumns, fitBinning } from '../../../models/trees/binning.js';
import { partsOf } from '../../../models/trees/part.js';
import { trainGbdtPlain } from '../../../models/trees/train-plain.js';
import type {
  TreeFeatureHolderPart,
  TreeLabelHolderPart,
  TreeParams,
  TreePart,
} from '../../../models/trees/types.js';
import type { FeatureColumn, ModelSpec, Preprocessing, RawCell } from '../../../models/types.js';
import type { VerticalPart } from '../../../models/vertical/part.js';
import type { PsiJobRecord } from '../../../platform/store/psi-types.js';
import { openSqliteNodeStore } from '../../../platform/store/sqlite/index.js';
import { type ModelRecord, newTrainingJob } from '../../../platform/store/training-types.js';
import type { Cell, ColumnDef, NodeStore } from '../../../platform/store/types.js';
import {
  horizontalSpecSchema,
  type TrainingSpec,
  verticalSpecSchema,
} from '../../../primitives/training/spec.js';
import { randomParameters, TestRandom } from '../onnx/reference.js';

const FIXTURES = join(import.meta.dirname, '..', '..', 'fixtures');

export function table(file: string): { header: string[]; rows: string[][] } {
  const [head, ...lines] = readFileSync(join(FIXTURES, file), 'utf8').trim().split('\n');
  return { header: head!.split(','), rows: lines.map((l) => l.split(',')) };
}

export const X = Array.from({ length: 10 }, (_, i) => `x${i}`);

export interface Row {
  readonly id: string;
  readonly cells: Cell[];
}

/** Imports rows (cells in `columns` order, the id column among them) as dataset `name`. */
export async function importRows(
  store: NodeStore,
  name: string,
  idColumn: string,
  columns: readonly ColumnDef[],
  rows: readonly Row[],
): Promise<void> {
  const load = await store.datasets.beginImport({ name, idColumn, idKind: 'customer_id', columns });
  await load.append(rows.map((r, i) => ({ rowKey: i + 2, id: r.id, cells: r.cells })));
  await load.commit({ replace: true });
}

/** Registers `model` (and its ONNX) as the result of a done training job `model.lineage.job`. */
export async function registerModel(store: NodeStore, model: ModelRecord, onnx: Uint8Array): Promise<void> {
  await store.trainingJobs.create({
    ...newTrainingJob({
      id: model.lineage.job,
      role: 'initiator',
      initiator: model.lineage.initiator,
      participants: model.lineage.participants,
      spec: model.lineage.spec,
    }),
    state: 'running',
  });
  await store.trainingJobs.complete(model.lineage.job, model, onnx);
}

/**
 * A done PSI intersection `id` at this node, its rows `rowKeys` in the shared order, over the dataset as imported now
 * (`version`: another one, or null for a job from before versions were recorded).
 */
export async function donePsi(
  store: NodeStore,
  id: string,
  participants: readonly string[],
  dataset: string,
  rowKeys: readonly number[],
  mode: 'intersection' | 'cardinality' = 'intersection',
  version?: number | null,
): Promise<void> {
  const record: PsiJobRecord = {
    id,
    role: 'initiator',
    initiator: participants[0]!,
    participants,
    dataset,
    idColumn: 'id',
    idKind: 'customer_id',
    mode,
    reveal: 'all',
    state: 'running',
    processed: 0,
    total: rowKeys.length,
    skippedRows: 0,
    resultSize: null,
    errorCode: null,
    errorMessage: null,
    createdAt: new Date().toISOString(),
    finishedAt: null,
  };
  await store.psiJobs.create(record);
  await store.psiJobs.complete(
    id,
    mode === 'intersection' ? rowKeys : null,
    rowKeys.length,
    version === undefined ? ((await store.datasets.get(dataset))?.version ?? null) : version,
  );
}

const numericDef = (name: string): ColumnDef => ({ name, type: 'number', nullable: true });

function lineage(
  job: string,
  participants: readonly string[],
  dataset: string,
  rows: number,
  spec: TrainingSpec,
): ModelRecord['lineage'] {
  return {
    job,
    initiator: participants[0]!,
    participants,
    finalMembers: participants,
    dataset: { name: dataset, fingerprint: 'f'.repeat(64), rows },
    fingerprints: {},
    spec,
  };
}

/** Cells of `names` as raw columns, from rows whose cells follow `columns`. */
export function rawOf(columns: readonly ColumnDef[], rows: readonly Row[], names: readonly string[]) {
  return new Map(
    names.map((n) => {
      const at = columns.findIndex((c) => c.name === n);
      return [n, rows.map((r) => r.cells[at] as RawCell)] as const;
    }),
  );
}

function preprocessingOf(features: readonly FeatureColumn[], raw: Map<string, RawCell[]>): Preprocessing {
  return preprocessingFromSums(features, localColumnStats(features, raw));
}

export interface HorizontalFixture {
  readonly model: ModelRecord;
  readonly columns: readonly ColumnDef[];
  readonly rows: readonly Row[];
}

/** bank-a's dataset `breast` (id, y, x0..x9, band) and an MLP over x0..x9 and band, registered. */
export async function horizontalFixture(store: NodeStore, rows = 120): Promise<HorizontalFixture> {
  const guest = table('breast_hetero_guest.csv');
  const columns: ColumnDef[] = [
    { name: 'id', type: 'string', nullable: false },
    { name: 'y', type: 'integer', nullable: false },
    ...X.map(numericDef),
    { name: 'band', type: 'string', nullable: true },
  ];
  const data: Row[] = guest.rows.slice(0, rows).map((r, i) => {
    const x = X.map((n) => Number(r[guest.header.indexOf(n)]));
    // A categorical column with a missing value and an undeclared one now and then.
    const band =
      i % 17 === 0 ? null : i % 23 === 0 ? 'unheard' : x[0]! < -0.5 ? 'low' : x[0]! < 0.5 ? 'mid' : 'high';
    return { id: r[0]!, cells: [r[0]!, Number(r[1]), ...x, band] };
  });
  const features: FeatureColumn[] = [
    ...X.map((name) => ({ name, kind: 'numeric' as const })),
    { name: 'band', kind: 'categorical', categories: ['high', 'low', 'mid'] },
  ];
  const preprocessing = preprocessingOf(
    features,
    rawOf(
      columns,
      data,
      features.map((f) => f.name),
    ),
  );
  const spec: ModelSpec = { type: 'mlp', hidden: [6] };
  const width = 10 + 4;
  const parameters = randomParameters(spec, width, new TestRandom(11));
  const job = randomUUID();
  const trainingSpec = horizontalSpecSchema.parse({
    kind: 'horizontal',
    label: 'y',
    model: spec,
    rounds: 1,
    learningRate: 0.1,
    validation: { fraction: 0.2, seed: 7 },
    minParticipants: 2,
    purpose: 'propensity',
    features,
    initSeed: '5a'.repeat(32),
  });
  await importRows(store, 'breast', 'id', columns, data);
  const model: ModelRecord = {
    id: randomUUID(),
    createdAt: new Date().toISOString(),
    purpose: 'propensity',
    label: 'y',
    model: spec,
    preprocessing,
    parameters,
    history: [],
    lineage: lineage(job, ['bank-a', 'bank-b'], 'breast', data.length, trainingSpec),
  };
  await registerModel(store, model, exportOnnx({ spec, preprocessing, parameters }, { model_id: model.id }));
  return { model, columns, rows: data };
}

export interface VerticalFixture {
  readonly alignment: string;
  readonly job: string;
  readonly labelHolder: {
    readonly model: ModelRecord;
    readonly columns: readonly ColumnDef[];
    readonly rows: Row[];
  };
  readonly partner: {
    readonly model: ModelRecord;
    readonly columns: readonly ColumnDef[];
    readonly rows: Row[];
  };
  /** The shared customers in the aligned order. */
  readonly shared: readonly string[];
}

/**
 * bank-a (label holder) and bank-b (feature holder) stores: dataset `clients` at each, a done PSI alignment between
 * them over the customers both hold, and each bank's part of one vertical logistic model.
 */
/** Both banks' `clients` datasets and a done PSI alignment of their shared customers. */
interface Clients {
  readonly alignment: string;
  readonly aColumns: ColumnDef[];
  readonly bColumns: ColumnDef[];
  readonly aRows: Row[];
  readonly bRows: Row[];
  readonly shared: string[];
}

/**
 * bank-a: id, y, x0..x9 (guest rows, every 7th customer missing); bank-b: id, x0..x9 (host rows in reverse order, and
 * a few customers of its own), with `band` (see `bandOf`) and x1 missing now and then; the alignment between
 * `participants` (the PSI jobs both banks hold).
 */
async function clients(
  a: NodeStore,
  b: NodeStore,
  rows: number,
  participants: readonly string[],
  band: boolean,
): Promise<Clients> {
  const guest = table('breast_hetero_guest.csv');
  const host = table('breast_hetero_host.csv');
  const aColumns: ColumnDef[] = [
    { name: 'id', type: 'string', nullable: false },
    { name: 'y', type: 'integer', nullable: false },
    ...X.map(numericDef),
  ];
  const bColumns: ColumnDef[] = [
    { name: 'id', type: 'string', nullable: false },
    ...X.map(numericDef),
    ...(band ? [{ name: 'band', type: 'string', nullable: true } as const] : []),
  ];
  // bank-a lacks every 7th customer; bank-b lists its customers in reverse order and adds a few of its own.
  const aRows: Row[] = guest.rows
    .slice(0, rows)
    .filter((_, i) => i % 7 !== 3)
    .map((r) => ({
      id: r[0]!,
      cells: [r[0]!, Number(r[1]), ...X.map((n) => Number(r[guest.header.indexOf(n)]))],
    }));
  const hostCells = (r: string[], i: number): Cell[] => {
    const x: Cell[] = X.map((n) => Number(r[host.header.indexOf(n)]));
    if (!band) return x;
    if (i % 13 === 5) x[1] = null;
    return [...x, bandOf(x[0] as number, i)];
  };
  const bRows: Row[] = [
    ...host.rows.slice(0, rows).map((r, i) => ({ id: r[0]!, cells: [r[0]!, ...hostCells(r, i)] })),
    ...host.rows.slice(rows, rows + 5).map((r, k) => ({
      id: `own-${k}`,
      cells: [`own-${k}`, ...hostCells(r, rows + k)],
    })),
  ].reverse();
  await importRows(a, 'clients', 'id', aColumns, aRows);
  await importRows(b, 'clients', 'id', bColumns, bRows);
  const inB = new Set(bRows.map((r) => r.id));
  const shared = aRows
    .map((r) => r.id)
    .filter((id) => inB.has(id))
    .sort();
  const keyOf = (list: Row[]) => new Map(list.map((r, i) => [r.id, i + 2] as const));
  const aKeys = keyOf(aRows);
  const bKeys = keyOf(bRows);
  const alignment = randomUUID();
  await donePsi(
    a,
    alignment,
    participants,
    'clients',
    shared.map((id) => aKeys.get(id)!),
  );
  await donePsi(
    b,
    alignment,
    participants,
    'clients',
    shared.map((id) => bKeys.get(id)!),
  );
  return { alignment, aColumns, bColumns, aRows, bRows, shared };
}

/** A categorical cell from a numeric one, missing (null, blank) or undeclared ('unheard', ' mid ') now and then. */
function bandOf(x: number, i: number): Cell {
  if (i % 17 === 0) return null;
  if (i % 19 === 0) return ' ';
  if (i % 23 === 0) return 'unheard';
  const band = x < -0.5 ? 'low' : x < 0.5 ? 'mid' : 'high';
  return i % 29 === 0 ? ` ${band} ` : band;
}

/** The rows of `list` of the shared customers, in the aligned order. */
export function alignedRows(list: readonly Row[], shared: readonly string[]): Row[] {
  const byId = new Map(list.map((r) => [r.id, r] as const));
  return shared.map((id) => byId.get(id)!);
}

export async function verticalFixture(a: NodeStore, b: NodeStore, rows = 200): Promise<VerticalFixture> {
  const { alignment, aColumns, bColumns, aRows, bRows, shared } = await clients(
    a,
    b,
    rows,
    ['bank-a', 'bank-b'],
    false,
  );

  const features = X.map((name) => ({ name, kind: 'numeric' as const }));
  const job = randomUUID();
  const spec = verticalSpecSchema.parse({
    kind: 'vertical',
    label: 'y',
    model: { type: 'logistic' },
    alignment,
    epochs: 1,
    batchSize: 64,
    learningRate: 0.5,
    validation: { fraction: 0.2, seed: 7 },
    purpose: 'risk',
    labelHolder: 'bank-a',
    features: { 'bank-a': features, 'bank-b': features },
    initSeed: '5a'.repeat(32),
  });
  const random = new TestRandom(5);
  const partOf = async (
    store: NodeStore,
    member: 'bank-a' | 'bank-b',
    columns: ColumnDef[],
    list: Row[],
  ): Promise<ModelRecord> => {
    const preprocessing = preprocessingOf(features, rawOf(columns, list, X));
    const weights = Float64Array.from(X, () => random.symmetric(1));
    const labelHolder = member === 'bank-a';
    const part: VerticalPart = {
      role: labelHolder ? 'label-holder' : 'feature-holder',
      preprocessing,
      weights,
      bias: labelHolder ? 0.25 : 0,
      partners: labelHolder ? ['bank-b'] : [],
    };
    const parameters = new Float64Array(weights.length + 1);
    parameters.set(weights);
    parameters[weights.length] = part.bias;
    const model: ModelRecord = {
      id: randomUUID(),
      createdAt: new Date().toISOString(),
      purpose: 'risk',
      label: 'y',
      model: { type: 'logistic' },
      preprocessing,
      parameters,
      history: [],
      vertical: { role: part.role, labelHolder: 'bank-a', partners: [...part.partners] },
      lineage: lineage(job, ['bank-a', 'bank-b'], 'clients', shared.length, spec),
    };
    await registerModel(store, model, exportVerticalPartOnnx(part, { model_id: model.id }));
    return model;
  };
  return {
    alignment,
    job,
    labelHolder: { model: await partOf(a, 'bank-a', aColumns, aRows), columns: aColumns, rows: aRows },
    partner: { model: await partOf(b, 'bank-b', bColumns, bRows), columns: bColumns, rows: bRows },
    shared,
  };
}

export interface TreeFixture {
  readonly alignment: string;
  readonly job: string;
  readonly labelHolder: {
    readonly model: ModelRecord;
    readonly part: TreeLabelHolderPart;
    readonly columns: readonly ColumnDef[];
    readonly rows: Row[];
  };
  readonly partner: {
    readonly model: ModelRecord;
    readonly part: TreeFeatureHolderPart;
    readonly columns: readonly ColumnDef[];
    readonly rows: Row[];
  };
  /** The shared customers in the aligned order. */
  readonly shared: readonly string[];
  /** A third party of the model that won no split: bank-a's part lists it with `splits: 0`; it has no node here. */
  readonly idle: string;
}

/** bank-b's features in the tree fixture: x0..x9 and the categorical `band`. */
export const TREE_B_FEATURES: FeatureColumn[] = [
  ...X.map((name) => ({ name, kind: 'numeric' as const })),
  { name: 'band', kind: 'categorical', categories: ['high', 'low', 'mid'] },
];

/**
 * bank-a (label holder: y, x0..x9) and bank-b (feature holder: x0..x9 with some x1 missing, and `band`) stores as
 * `verticalFixture` builds them, and one boosted-tree model trained in the clear on the aligned rows
 * (models/trees/train-plain.ts) and cut into parts (`partsOf`), each registered with its ONNX export. The model's
 * parties include bank-c, which holds no split id: bank-a's part lists it with `splits: 0` as `partsOf` gives it, and
 * its ONNX, which the export refuses to give an input of no split, is exported without it.
 */
export async function treeFixture(
  a: NodeStore,
  b: NodeStore,
  rows = 400,
  params: TreeParams = { trees: 20, depth: 3, learningRate: 0.3, bins: 16, minChildWeight: 1, l2: 1 },
): Promise<TreeFixture> {
  const idle = 'bank-c';
  const participants = ['bank-a', 'bank-b', idle];
  const data = await clients(a, b, rows, participants, true);
  const { alignment, aColumns, bColumns, shared } = data;
  const aAligned = alignedRows(data.aRows, shared);
  const bAligned = alignedRows(data.bRows, shared);
  const n = shared.length;
  const aFeatures = X.map((name) => ({ name, kind: 'numeric' as const }));
  const validationRows = shared.flatMap((_, i) => (i % 5 === 0 ? [i] : []));
  const trainingRows = shared.flatMap((_, i) => (i % 5 === 0 ? [] : [i]));
  const party = (name: string, features: readonly FeatureColumn[], raw: Map<string, RawCell[]>) => {
    const binning = fitBinning(features, raw, trainingRows, params.bins);
    return { party: name, binning, bins: binColumns(binning, raw, n) };
  };
  const trained = await trainGbdtPlain({
    params,
    parties: [
      party('bank-a', aFeatures, rawOf(aColumns, aAligned, X)),
      party(
        'bank-b',
        TREE_B_FEATURES,
        rawOf(
          bColumns,
          bAligned,
          TREE_B_FEATURES.map((f) => f.name),
        ),
      ),
    ],
    labels: Uint8Array.from(aAligned, (r) => Number(r.cells[1])),
    trainingRows,
    validationRows,
  });
  const parts = partsOf(trained, 'bank-a', ['bank-b', idle]);
  const partner = parts.featureHolders.get('bank-b')!;
  if (partner.rules.length === 0) throw new Error('bank-b won no split: the fixture would not score jointly');

  const job = randomUUID();
  const spec = verticalSpecSchema.parse({
    kind: 'vertical',
    label: 'y',
    model: { type: 'gbdt', ...params },
    alignment,
    validation: { fraction: 0.2, seed: 7 },
    purpose: 'risk',
    labelHolder: 'bank-a',
    features: { 'bank-a': aFeatures, 'bank-b': TREE_B_FEATURES, [idle]: 'all' },
    initSeed: '5a'.repeat(32),
  });
  const register = async (store: NodeStore, part: TreePart): Promise<ModelRecord> => {
    const labelHolder = part.role === 'label-holder';
    const model: ModelRecord = {
      id: randomUUID(),
      createdAt: new Date().toISOString(),
      purpose: 'risk',
      label: 'y',
      model: spec.model,
      // As node/training/tree-run.ts registers a part: the columns its rules read, numeric ones unscaled.
      preprocessing: {
        columns: treePartColumns(part).map((c) =>
          c.kind === 'numeric' ? { name: c.name, kind: 'numeric', mean: 0, std: 1 } : c,
        ),
      },
      parameters: new Float64Array(0),
      trees: part,
      history: [],
      vertical: {
        role: part.role,
        labelHolder: 'bank-a',
        partners: labelHolder ? part.partners.map((p) => p.member) : [],
      },
      lineage: lineage(job, participants, 'clients', n, spec),
    };
    const exported = labelHolder ? { ...part, partners: part.partners.filter((p) => p.splits > 0) } : part;
    await registerModel(store, model, exportTreePartOnnx(exported, { model_id: model.id }));
    return model;
  };
  return {
    alignment,
    job,
    labelHolder: {
      model: await register(a, parts.labelHolder),
      part: parts.labelHolder,
      columns: aColumns,
      rows: data.aRows,
    },
    partner: { model: await register(b, partner), part: partner, columns: bColumns, rows: data.bRows },
    shared,
    idle,
  };
}

export function openStore(dir: string, name: string): NodeStore {
  return openSqliteNodeStore(join(dir, `${name}.db`));
}
