/**
 * What a scoring job scores, checked before anything runs, and how its rows are read:
 *  - the model: registered (ACCORD_SCORING_MODEL_UNKNOWN), and not a vertical feature holder's part, which gives a
 *    partial logit, not a score (ACCORD_SCORING_MODEL_NOT_DECIDING);
 *  - the population (ACCORD_SCORING_POPULATION_INVALID naming the field): a horizontal model scores a dataset
 *    (default: the one it trained on) or the rows of a finished alignment this node learned; a vertical model scores
 *    the rows of a finished intersection between exactly its parties (default: its training alignment), never a bare
 *    dataset; the population's dataset holds every column the model reads.
 * Rows are read as stored (JSON cells in the dataset's column order) and only the model's columns are picked.
 */
import type { Hash } from 'node:crypto';
import { type PartnerInput, partnerInputs } from '../../models/score.js';
import type { RawCell, RawColumns } from '../../models/types.js';
import { alignmentStale, type PsiJobRecord } from '../../platform/store/psi-types.js';
import type { ScoringPopulation } from '../../platform/store/scoring-types.js';
import type { ModelRecord } from '../../platform/store/training-types.js';
import type { DatasetInfo, NodeStore } from '../../platform/store/types.js';
import { AccordError } from '../../primitives/errors/index.js';

/** The population as a caller names it (REST body, campaigns); omitted: the model's training population. */
export type PopulationInput = { readonly dataset: string } | { readonly alignment: string } | undefined;

export interface ScoringTarget {
  readonly model: ModelRecord;
  readonly population: ScoringPopulation;
  readonly total: number;
  readonly reader: ColumnReader;
  /**
   * The partners a vertical label holder asks, in its graph's input order, with what it takes of each per row
   * (models/score.ts `partnerInputs`: a tree partner of no split id is not among them); [] otherwise.
   */
  readonly partners: readonly PartnerInput[];
}

const invalid = (field: string, problem: string) =>
  new AccordError('ACCORD_SCORING_POPULATION_INVALID', { field, problem });

/** Throws ACCORD_SCORING_MODEL_NOT_DECIDING for a feature holder's part. */
export function checkDeciding(model: ModelRecord): void {
  if (model.vertical?.role === 'feature-holder')
    throw new AccordError('ACCORD_SCORING_MODEL_NOT_DECIDING', {
      model: model.id,
      labelHolder: model.vertical.labelHolder,
    });
}

/** Why `psi` cannot align the given parties (a finished intersection, revealed to this node), or null. */
export function alignmentProblem(psi: PsiJobRecord | null, parties: readonly string[] | null): string | null {
  if (!psi) return 'no such PSI job on this node';
  if (psi.state !== 'done') return `the PSI job is ${psi.state}, not done`;
  if (psi.mode !== 'intersection') return 'the PSI job counted only (cardinality mode)';
  if (psi.resultSize === null) return 'this node did not learn the intersection';
  if (
    parties &&
    (psi.participants.length !== parties.length || !parties.every((m) => psi.participants.includes(m)))
  )
    return `the PSI job was between ${[...psi.participants].sort().join(', ')}, not the model's parties ${[...parties].sort().join(', ')}`;
  return null;
}

/** Resolves and checks what `model` would score over `input`; throws the coded errors above. */
export async function resolveTarget(
  store: NodeStore,
  model: ModelRecord,
  input: PopulationInput,
): Promise<ScoringTarget> {
  checkDeciding(model);
  const vertical = model.vertical !== undefined;
  const spec = model.lineage.spec;
  let population: ScoringPopulation;
  let total: number;
  let psi: PsiJobRecord | null = null;
  if (input && 'dataset' in input && vertical)
    throw invalid(
      'dataset',
      'a vertical model scores the aligned rows its partners also hold: name population.alignment (a PSI intersection between its parties), or omit the population for its training alignment',
    );
  const alignment = input && 'alignment' in input ? input.alignment : null;
  if (alignment !== null || (vertical && !input)) {
    const id = alignment ?? (spec.kind === 'vertical' ? spec.alignment : '');
    psi = await store.psiJobs.get(id);
    const problem = alignmentProblem(psi, vertical ? model.lineage.participants : null);
    if (problem) throw invalid('alignment', `${id}: ${problem}`);
    population = { kind: 'alignment', alignment: id, dataset: psi!.dataset };
    total = psi!.resultSize!;
  } else {
    const dataset = input && 'dataset' in input ? input.dataset : model.lineage.dataset.name;
    const info = await store.datasets.get(dataset);
    if (!info) throw invalid('dataset', `no dataset ${dataset} on this node`);
    population = { kind: 'dataset', dataset };
    total = info.rowCount;
  }
  const info = await store.datasets.get(population.dataset);
  if (!info) throw invalid(population.kind, `its dataset ${population.dataset} is gone from this node`);
  if (population.kind === 'alignment') {
    const stale = alignmentStale(psi!, info.version);
    if (stale) throw stale;
  }
  const reader = columnReader(info, model, (column) =>
    invalid(population.kind, `dataset ${info.name} lacks column ${column}, which the model reads`),
  );
  return { model, population, total, reader, partners: partnerInputs(model) };
}

/** Picks a model's columns out of stored rows. */
export interface ColumnReader {
  readonly names: readonly string[];
  /** Position of each name in the stored cells. */
  readonly indexes: readonly number[];
}

/** The reader of `model`'s columns in `info`'s rows; throws `missing(column)` for a column the dataset lacks. */
export function columnReader(
  info: DatasetInfo,
  model: ModelRecord,
  missing: (column: string) => AccordError,
): ColumnReader {
  const names = model.preprocessing.columns.map((c) => c.name);
  const indexes = names.map((name) => {
    const at = info.columns.findIndex((c) => c.name === name);
    if (at < 0 || name === info.idColumn) throw missing(name);
    return at;
  });
  return { names, indexes };
}

/**
 * The model's raw columns of stored rows (`cells`: each row's JSON). With `hash`, adds each row's key and the cells
 * read to it (the job's fingerprint).
 */
export function readColumns(
  reader: ColumnReader,
  cells: readonly string[],
  rowKeys: Int32Array,
  hash?: Hash,
): RawColumns {
  const columns = reader.names.map(() => new Array<RawCell>(cells.length));
  const picked = new Array<RawCell>(reader.indexes.length);
  // One hash update a page, not a row: the lines are joined first.
  const lines: string[] | null = hash ? new Array<string>(cells.length) : null;
  for (let r = 0; r < cells.length; r++) {
    const row = JSON.parse(cells[r]!) as RawCell[];
    for (let j = 0; j < reader.indexes.length; j++) {
      const cell = row[reader.indexes[j]!] ?? null;
      columns[j]![r] = cell;
      picked[j] = cell;
    }
    if (lines) lines[r] = `${rowKeys[r]}\t${JSON.stringify(picked)}\n`;
  }
  if (hash && lines) hash.update(lines.join(''));
  return new Map(reader.names.map((name, j) => [name, columns[j]!] as const));
}
