/**
 * One batch scoring job, streamed in row-key order: a dataset a page at a time (SCORING_BATCH_ROWS rows), or an
 * alignment's rows walked in row-key order from its index (alignment-indexes.ts), so that scores are appended in order
 * (one B-tree end, not scattered pages) and memory grows with a page, never with the population's rows.
 *
 * A vertical label holder first asks every partner for its values of every aligned position, in aligned order:
 * consecutive ranges [k·c, (k+1)·c) of positions, ascending, a couple in flight per partner (partials.ts), where the
 * chunk c is SCORING_CHUNK for a logistic partner (one partial logit a position) and fewer for a boosted-tree partner
 * of K split ids (K split bits a position: c = MAX_REPLY_VALUES / K, so that every reply fits the wire's bound;
 * `chunkPositions`). So a partner learns only that the whole alignment was scored, never this node's row order
 * (which would tell it how this bank's file is sorted), and a tree partner answers every level of every tree in this
 * one pass. The values are kept by position (position-values.ts: 8 bytes a position for a partial logit, K bits for
 * split bits); then this node reads its own rows in row-key order and feeds each page's values, picked by position,
 * to its part. The job ends done with a fingerprint (SHA-256 over the model, the population and, row by row, the row
 * key and the cells read), or failed with its scores deleted (the store does both in one transaction).
 *
 * A logistic model's job also keeps each partner's partial logit per customer as the fallback of real-time scoring
 * (`appendJoint`). A boosted-tree model's job keeps none: the store holds one number per partner and customer, not K
 * split bits, so real-time scoring of a tree model has no batch fallback (realtime.ts).
 */
import { createHash } from 'node:crypto';
import type { RawColumns } from '../../models/types.js';
import type { Logger } from '../../platform/log/logger.js';
import type { PopulationPage, ScoreStore } from '../../platform/store/scoring-types.js';
import { AccordError } from '../../primitives/errors/index.js';
import { MAX_REPLY_VALUES } from '../../primitives/scoring/box.js';
import {
  BATCH_REQUEST_TIMEOUT_MS,
  SCORING_BATCH_ROWS,
  SCORING_CHUNK,
} from '../../primitives/scoring/protocol.js';
import type { AlignmentIndexes } from './alignment-indexes.js';
import { type LoadedModel, runPart } from './model-sessions.js';
import { askPartials, type PartialsAsk, type PartialsDeps } from './partials.js';
import { readColumns, type ScoringTarget } from './population.js';
import { type PositionValues, positionValues } from './position-values.js';

export interface BatchDeps {
  readonly scores: ScoreStore;
  readonly partials: PartialsDeps;
  readonly alignments: AlignmentIndexes;
  readonly log: Logger;
  /** True once the node is stopping: the job fails as interrupted at its next page. */
  readonly isStopping: () => boolean;
  /** Told how many partners' positions have arrived, of how many, while a vertical job gathers them. */
  readonly onPartials?: (received: number, total: number) => void;
}

/** Chunks a batch job has in flight to each partner at once. */
const CHUNKS_IN_FLIGHT = 2;

/**
 * Positions a batch job asks a partner of `width` values a position for at once: SCORING_CHUNK, or fewer so that the
 * reply holds at most MAX_REPLY_VALUES values (at least one position; a partner refuses a wider one).
 */
export function chunkPositions(width: number): number {
  return Math.max(1, Math.min(SCORING_CHUNK, Math.floor(MAX_REPLY_VALUES / width)));
}

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
  // One partial logit per partner and customer is all the store keeps for real-time fallback: logistic models only.
  const keepsFallback = vertical && partners.every((p) => p.kind === 'partial_logit');
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
      // First every partner's values, asked for in aligned order (they tell a partner nothing about this node's row
      // order); then this node's rows in row-key order, each row's values picked by its position.
      const partials = new Map<string, PositionValues>();
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
          partners.map(({ member, kind, width }) =>
            partnerPartials(counted, rows, halt, {
              model: model.id,
              modelJob: model.lineage.job,
              partner: member,
              alignment: population.alignment,
              kind,
              width,
              timeoutMs: BATCH_REQUEST_TIMEOUT_MS,
              purpose: 'batch',
            }),
          ),
        );
        for (const [i, partner] of partners.entries()) partials.set(partner.member, all[i]!);
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
        for (const [partner, all] of partials) pagePartials.set(partner, all.pick(positions));
        const raw = readColumns(reader, page.cells, page.rowKeys, hash);
        await scorePage(deps, loaded, jobId, { page, partials: pagePartials }, raw, keepsFallback);
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
 * `partner`'s values of every aligned position (0 .. rows - 1) by position: asked for in consecutive ranges of
 * `chunkPositions(width)` positions, in ascending order, CHUNKS_IN_FLIGHT at a time (the partner computes one while
 * the next travels). Stops asking once any partner's request failed (`halt`), or when the node stops.
 */
async function partnerPartials(
  deps: BatchDeps,
  rows: number,
  halt: { failed: boolean },
  ask: Omit<PartialsAsk, 'positions'>,
): Promise<PositionValues> {
  const all = positionValues({ member: ask.partner, kind: ask.kind, width: ask.width }, rows);
  const chunk = chunkPositions(ask.width);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (!halt.failed && next < rows) {
      if (deps.isStopping()) throw new AccordError('ACCORD_SCORING_INTERRUPTED');
      const from = next;
      next = Math.min(rows, from + chunk);
      const positions = new Uint32Array(next - from);
      for (let i = 0; i < positions.length; i++) positions[i] = from + i;
      try {
        all.set(from, await askPartials(deps.partials, { ...ask, positions }));
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

/** Scores one page and appends it; with `keepPartials`, the partners' partial logits go with it (`appendJoint`). */
async function scorePage(
  deps: BatchDeps,
  loaded: LoadedModel,
  jobId: string,
  { page, partials }: Page,
  raw: RawColumns,
  keepPartials: boolean,
): Promise<void> {
  const scores = await runPart(loaded, raw, page.rowKeys.length, 'score', partials);
  const batch = { rowKeys: page.rowKeys, scores };
  if (keepPartials) await deps.scores.appendJoint(jobId, batch, page.ids, partials);
  else await deps.scores.appendScores(jobId, batch, page.ids);
}
