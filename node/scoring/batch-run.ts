/**
 * One batch scoring job, streamed in row-key order: a dataset a page at a time (SCORING_BATCH_ROWS rows), or an
 * alignment's rows walked in row-key order from its index (alignment-indexes.ts), so that scores are appended in order
 * (one B-tree end, not scattered pages) and memory grows with a page, never with the population's rows.
 *
 * A vertical label holder first asks every partner for the partial logits of every aligned position, in aligned
 * order: consecutive ranges [k·SCORING_CHUNK, (k+1)·SCORING_CHUNK) of positions, ascending, a couple in flight per
 * partner (partials.ts). So a partner learns only that the whole alignment was scored, never this node's row order
 * (which would tell it how this bank's file is sorted). The partials are kept by position (8 bytes a position and
 * partner); then this node reads its own rows in row-key order and feeds each page's partials, picked by position,
 * to its part. The job ends done with a fingerprint (SHA-256 over the model, the population and, row by row, the row
 * key and the cells read), or failed with its scores deleted (the store does both in one transaction).
 */
import { createHash } from 'node:crypto';
import type { RawColumns } from '../../models/types.js';
import type { Logger } from '../../platform/log/logger.js';
import type { PopulationPage, ScoreStore } from '../../platform/store/scoring-types.js';
import { AccordError } from '../../primitives/errors/index.js';
import {
  BATCH_REQUEST_TIMEOUT_MS,
  SCORING_BATCH_ROWS,
  SCORING_CHUNK,
} from '../../primitives/scoring/protocol.js';
import type { AlignmentIndexes } from './alignment-indexes.js';
import { type LoadedModel, runPart } from './model-sessions.js';
import { askPartials, type PartialsAsk, type PartialsDeps } from './partials.js';
import { readColumns, type ScoringTarget } from './population.js';

export interface BatchDeps {
  readonly scores: ScoreStore;
  readonly partials: PartialsDeps;
  readonly alignments: AlignmentIndexes;
  readonly log: Logger;
  /** True once the node is stopping: the job fails as interrupted at its next page. */
  readonly isStopping: () => boolean;
  /** Told how many partners' partial logits have arrived, of how many, while a vertical job gathers them. */
  readonly onPartials?: (received: number, total: number) => void;
}

/** Chunks a batch job has in flight to each partner at once. */
const CHUNKS_IN_FLIGHT = 2;

interface Page {
  readonly page: PopulationPage;
  readonly partials: ReadonlyMap<string, Float64Array>;
}

/**
 * Runs job `jobId` (already created, running) over `target`; resolves when it is done (null) or failed (its coded
 * error). Rejects only if an unexpected error could not be recorded as the job's failure.
 */
export async function runBatchJob(
  deps: BatchDeps,
  loaded: LoadedModel,
  target: ScoringTarget,
  jobId: string,
): Promise<AccordError | null> {
  const { population, reader, partners, model } = target;
  const hash = createHash('sha256').update(
    `${model.id}\n${JSON.stringify(population)}\n${reader.names.join(',')}\n`,
  );
  const vertical = population.kind === 'alignment' && partners.length > 0;
  try {
    if (population.kind === 'dataset') {
      let after = Number.MIN_SAFE_INTEGER;
      for (;;) {
        if (deps.isStopping()) throw new AccordError('ACCORD_SCORING_INTERRUPTED');
        const page = await deps.scores.datasetPage(population.dataset, after, SCORING_BATCH_ROWS);
        if (page.rowKeys.length === 0) break;
        await scorePage(
          deps,
          loaded,
          jobId,
          { page, partials: new Map() },
          readColumns(reader, page.cells, page.rowKeys, hash),
          false,
        );
        after = page.rowKeys[page.rowKeys.length - 1]!;
      }
    } else {
      const index = await deps.alignments.get(population.alignment);
      const rows = index.rowKeys.length;
      // First every partner's partial logits, asked for in aligned order (they tell a partner nothing about this
      // node's row order); then this node's rows in row-key order, each row's partials picked by its position.
      const partials = new Map<string, Float64Array>();
      if (vertical) {
        const halt = { failed: false };
        const total = rows * partners.length;
        let received = 0;
        deps.onPartials?.(0, total);
        const counted: BatchDeps = {
          ...deps,
          onPartials: (n) => {
            received += n;
            deps.onPartials?.(received, total);
          },
        };
        const all = await Promise.all(
          partners.map((partner) =>
            partnerPartials(counted, rows, halt, {
              model: model.id,
              modelJob: model.lineage.job,
              partner,
              alignment: population.alignment,
              timeoutMs: BATCH_REQUEST_TIMEOUT_MS,
              purpose: 'batch',
            }),
          ),
        );
        for (const [i, partner] of partners.entries()) partials.set(partner, all[i]!);
      }
      for (let from = 0; from < rows; from += SCORING_BATCH_ROWS) {
        if (deps.isStopping()) throw new AccordError('ACCORD_SCORING_INTERRUPTED');
        const keys = index.rowKeys.subarray(from, from + SCORING_BATCH_ROWS);
        const positions = index.positions.subarray(from, from + SCORING_BATCH_ROWS);
        const page = await deps.scores.alignedRows(population.alignment, keys);
        if (page.rowKeys.length !== keys.length)
          throw new AccordError('ACCORD_SCORING_POPULATION_INVALID', {
            field: 'alignment',
            problem: `${population.alignment}: rows of the alignment are gone from dataset ${population.dataset}`,
          });
        const pagePartials = new Map<string, Float64Array>();
        for (const [partner, all] of partials)
          pagePartials.set(
            partner,
            Float64Array.from(positions, (p) => all[p]!),
          );
        const raw = readColumns(reader, page.cells, page.rowKeys, hash);
        await scorePage(deps, loaded, jobId, { page, partials: pagePartials }, raw, vertical);
      }
    }
    await deps.scores.complete(jobId, hash.digest('hex'));
    return null;
  } catch (err) {
    if (!(err instanceof AccordError)) deps.log.error('scoring job failed unexpectedly', { job: jobId, err });
    // A page that failed because the node is stopping (its partner call cut short) failed by the interruption.
    const accord = deps.isStopping()
      ? new AccordError('ACCORD_SCORING_INTERRUPTED')
      : err instanceof AccordError
        ? err
        : new AccordError('ACCORD_INTERNAL');
    await deps.scores.fail(jobId, { code: accord.code, message: accord.message });
    return accord;
  }
}

/**
 * `partner`'s partial logit of every aligned position (0 .. rows - 1) by position: asked for in consecutive ranges of
 * SCORING_CHUNK positions, in ascending order, CHUNKS_IN_FLIGHT at a time (the partner computes one while the next
 * travels). 8 bytes a position. Stops asking once any partner's request failed (`halt`), or when the node stops.
 */
async function partnerPartials(
  deps: BatchDeps,
  rows: number,
  halt: { failed: boolean },
  ask: Omit<PartialsAsk, 'positions'>,
): Promise<Float64Array> {
  const all = new Float64Array(rows);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (!halt.failed && next < rows) {
      if (deps.isStopping()) throw new AccordError('ACCORD_SCORING_INTERRUPTED');
      const from = next;
      next = Math.min(rows, from + SCORING_CHUNK);
      const positions = new Uint32Array(next - from);
      for (let i = 0; i < positions.length; i++) positions[i] = from + i;
      try {
        all.set(await askPartials(deps.partials, { ...ask, positions }), from);
        deps.onPartials?.(positions.length, rows);
      } catch (err) {
        halt.failed = true;
        throw err;
      }
    }
  };
  await Promise.all(Array.from({ length: CHUNKS_IN_FLIGHT }, worker));
  return all;
}

async function scorePage(
  deps: BatchDeps,
  loaded: LoadedModel,
  jobId: string,
  { page, partials }: Page,
  raw: RawColumns,
  joint: boolean,
): Promise<void> {
  const scores = await runPart(loaded, raw, page.rowKeys.length, 'score', partials);
  const batch = { rowKeys: page.rowKeys, scores };
  if (joint) await deps.scores.appendJoint(jobId, batch, page.ids, partials);
  else await deps.scores.appendScores(jobId, batch, page.ids);
}
