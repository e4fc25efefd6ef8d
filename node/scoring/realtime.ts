/**
 * Real-time scoring of one customer. A horizontal model scores the customer's row of its training dataset locally.
 * A vertical label holder's part finds the customer's row (the dataset's index on the id, in the dataset version its
 * alignment lists: ACCORD_PSI_ALIGNMENT_STALE after a re-import) and its aligned position in its training alignment
 * (a binary search of the alignment's kept index), asks every partner live, in one request each, for what its part
 * takes of that partner (models/score.ts `partnerInputs`: a partial logit, or a boosted-tree partner's K split bits,
 * every tree level at once) within the deadline (over the channel kept for the model job: no key agreement per
 * request; a hello under way is joined, not repeated); a live answer that is not sane counts as no answer.
 * A logistic model falls back per partner to the partial its newest done batch job kept, saying so
 * (`source: 'batch'`, the job and its time, `degraded: true`). A boosted-tree model has no such fallback (a batch job
 * keeps no split bits: batch-run.ts): a tree partner that does not answer in time, or answers wrongly, fails the
 * request. A partner with no answer and no fallback fails it with ACCORD_SCORING_PARTIAL_UNAVAILABLE naming it.
 * Nothing here is logged or audited with the customer's id.
 */
import { performance } from 'node:perf_hooks';
import { partnerInputs } from '../../models/score.js';
import type { NodeStore } from '../../platform/store/types.js';
import { AccordError } from '../../primitives/errors/index.js';
import { type AlignmentIndexes, positionOf } from './alignment-indexes.js';
import { type ModelSessions, runPart } from './model-sessions.js';
import { askPartials, type PartialsDeps } from './partials.js';
import { alignmentProblem, checkDeciding, columnReader, readColumns } from './population.js';

/**
 * Where a partner's values came from (`batch`: a logistic model's kept partial logit). `none` is never answered: such
 * a request fails instead.
 */
export type PartialSource = 'live' | 'batch' | 'none';

export interface RealtimePartial {
  readonly member: string;
  readonly source: PartialSource;
  /** live: how long the partner took (ms). */
  readonly latencyMs?: number;
  /** batch: the batch job the partial comes from, and when it finished. */
  readonly job?: string;
  readonly finishedAt?: string;
  /** batch: why the live partial was not used (its coded error). */
  readonly reason?: string;
}

export interface RealtimeScore {
  readonly model: string;
  readonly purpose: 'risk' | 'propensity';
  readonly customer: string;
  readonly score: number;
  readonly scoredAt: string;
  readonly partials: readonly RealtimePartial[];
  /** True when a partner's partial is not live. */
  readonly degraded: boolean;
}

export interface RealtimeDeps {
  readonly store: NodeStore;
  readonly sessions: ModelSessions;
  readonly partials: PartialsDeps;
  readonly alignments: AlignmentIndexes;
}

/** Rejects with ACCORD_SCORING_PEER_TIMEOUT after `ms` unless `work` settles first (which then goes on unheard). */
function withDeadline<T>(work: Promise<T>, ms: number, member: string): Promise<T> {
  work.catch(() => undefined);
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new AccordError('ACCORD_SCORING_PEER_TIMEOUT', { member, ms })),
      ms,
    );
    work.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}

export class RealtimeScorer {
  /** Alignments found fit for a model (a finished PSI job never changes), with their dataset. */
  readonly #alignments = new Map<string, string>();

  constructor(private readonly deps: RealtimeDeps) {}

  async #alignedDataset(modelId: string, alignment: string, parties: readonly string[]): Promise<string> {
    const key = `${modelId}/${alignment}`;
    const known = this.#alignments.get(key);
    if (known) return known;
    const psi = await this.deps.store.psiJobs.get(alignment);
    const problem = alignmentProblem(psi, parties);
    if (problem)
      throw new AccordError('ACCORD_SCORING_POPULATION_INVALID', {
        field: 'alignment',
        problem: `${alignment}: ${problem}`,
      });
    this.#alignments.set(key, psi!.dataset);
    return psi!.dataset;
  }

  /** Scores `customer` with `modelId` within `deadlineMs` for the partners' live partials. */
  async score(modelId: string, customer: string, deadlineMs: number): Promise<RealtimeScore> {
    const started = performance.now();
    const loaded = await this.deps.sessions.load(modelId);
    const { model } = loaded;
    checkDeciding(model);
    const spec = model.lineage.spec;
    const alignment = model.vertical && spec.kind === 'vertical' ? spec.alignment : null;
    const dataset =
      alignment === null
        ? model.lineage.dataset.name
        : await this.#alignedDataset(model.id, alignment, model.lineage.participants);
    const population = alignment === null ? `dataset ${dataset}` : `alignment ${alignment}`;
    const notFound = () =>
      new AccordError('ACCORD_SCORING_CUSTOMER_NOT_FOUND', { model: model.id, population });
    const info = await this.deps.store.datasets.get(dataset);
    if (!info) throw notFound();
    const located = await this.deps.store.scores.locate(
      alignment === null ? { dataset } : { alignment },
      customer,
    );
    if (!located) throw notFound();
    const position =
      alignment === null ? null : positionOf(await this.deps.alignments.get(alignment), located.rowKey);
    if (alignment !== null && position === null) throw notFound();
    const reader = columnReader(
      info,
      model,
      (column) =>
        new AccordError('ACCORD_SCORING_POPULATION_INVALID', {
          field: alignment === null ? 'dataset' : 'alignment',
          problem: `dataset ${dataset} lacks column ${column}, which the model reads`,
        }),
    );
    const raw = readColumns(reader, [located.cells], Int32Array.of(located.rowKey));
    const partners = partnerInputs(model);
    const answers = await Promise.all(
      partners.map(
        async ({ member, kind, width }): Promise<{ values: Float64Array; view: RealtimePartial }> => {
          const asked = performance.now();
          const left = Math.max(1, Math.round(deadlineMs - (asked - started)));
          try {
            const live = await withDeadline(
              askPartials(this.deps.partials, {
                model: model.id,
                modelJob: model.lineage.job,
                partner: member,
                alignment: alignment!,
                positions: Uint32Array.of(position!),
                kind,
                width,
                timeoutMs: left,
                purpose: 'realtime',
              }),
              left,
              member,
            );
            const latencyMs = Math.round((performance.now() - asked) * 100) / 100;
            return { values: live, view: { member, source: 'live', latencyMs } };
          } catch (err) {
            const code = err instanceof AccordError ? err.code : 'ACCORD_INTERNAL';
            // Known limit: the store keeps one partial logit per partner and customer, so split bits have no fallback.
            if (kind === 'split_bits')
              throw new AccordError('ACCORD_SCORING_PARTIAL_UNAVAILABLE', {
                member,
                reason: `no live answer (${code}); a boosted-tree model keeps no batch fallback of its partners`,
              });
            const stored = await this.deps.store.scores.latestPartial(model.id, member, customer);
            if (!stored)
              throw new AccordError('ACCORD_SCORING_PARTIAL_UNAVAILABLE', {
                member,
                reason: `no live answer (${code}) and no batch partial of this customer`,
              });
            return {
              values: Float64Array.of(stored.partial),
              view: { member, source: 'batch', job: stored.job, finishedAt: stored.finishedAt, reason: code },
            };
          }
        },
      ),
    );
    const partials = new Map(partners.map((p, i) => [p.member, answers[i]!.values] as const));
    const [score] = await runPart(loaded, raw, 1, 'score', partials);
    return {
      model: model.id,
      purpose: model.purpose,
      customer,
      score: score!,
      scoredAt: new Date().toISOString(),
      partials: answers.map((a) => a.view),
      degraded: answers.some((a) => a.view.source !== 'live'),
    };
  }
}
