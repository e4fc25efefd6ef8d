/**
 * A partner's side of joint scoring (primitives/scoring/protocol.ts): answers the requests a label holder sends it
 * through the coordinator, with its own part's values of aligned customers, sealed for the label holder: a logistic
 * part's partial logit (one value a position), or a boosted-tree part's split bits (K values a position, K its split
 * rules, 1 where rule k sends the customer left; models/trees/part.ts). Either way one request answers every tree
 * level at once: the label holder walks the trees itself.
 *
 * Before it loads its part or reads a row, it checks: the model job is one whose part this node holds (a feature
 * holder's part) and the asker is the label holder that part names (from the model's record, before its ONNX graph
 * is loaded); then the box opens (bound to its request, not replayed); the alignment is a finished intersection
 * between exactly the model's parties that this node learned, and its dataset was not re-imported since; the
 * positions lie inside it. Anything else is refused with a coded error, which travels back instead of a box.
 *
 * A refusal travels in clear through the coordinator, so it says only what the asker may know (`wireRefusal`): the
 * codes of the protocol itself (box, channel, replay, busy) as they are, and every other reason as
 * ACCORD_SCORING_REQUEST_REFUSED with one of a few fixed reasons (PUBLIC_REASON). What this node's dataset is called,
 * which column it lacks, how many rows it aligned stays in its own log and audit entry (`detail`).
 * Every request is audited with its counts (never a position, customer or value).
 */
import type { Audit } from '../../platform/audit/audit-log.js';
import type { Logger } from '../../platform/log/logger.js';
import type { ModelRecord } from '../../platform/store/training-types.js';
import type { NodeStore } from '../../platform/store/types.js';
import { AccordError } from '../../primitives/errors/index.js';
import { MAX_REPLY_VALUES } from '../../primitives/scoring/box.js';
import { SCORING_STAGE, type ScoringReply, type ScoringRequest } from '../../primitives/scoring/protocol.js';
import type { ResponderChannels } from './channels.js';
import { type LoadedModel, type ModelSessions, partnerOutput, runPart } from './model-sessions.js';
import { alignmentProblem, columnReader, readColumns } from './population.js';
import type { ScoringTransport } from './scoring-client.js';

/** How much a partner takes on at once: requests worked on, and requests waiting for a turn (beyond: refused). */
export interface PartnerLimits {
  readonly concurrent: number;
  readonly queued: number;
}

export const PARTNER_LIMITS: PartnerLimits = { concurrent: 4, queued: 256 };

/** The reasons of a refusal as they travel: fixed, naming nothing of this node's data. */
export const PUBLIC_REASON = {
  NO_PART: 'it scores no part of that model job for the asker',
  ALIGNMENT:
    'the alignment is not a finished intersection between exactly the model’s parties that it learned',
  POSITIONS: 'a position lies outside the alignment',
  TOO_LARGE: 'its answer would hold more values than one reply carries; ask for fewer positions',
  STALE: 'its dataset was re-imported after the alignment’s PSI job; run the PSI job again',
  DATA: 'its data no longer fits its part of the model (its operators see why in its log)',
  FAILED: 'it could not score its part (its operators see why in its log)',
} as const;

/** Codes that travel as they are: the protocol's own, whose params name nothing of the partner's data. */
const PROTOCOL_CODES: ReadonlySet<string> = new Set([
  'ACCORD_SCORING_REQUEST_REFUSED',
  'ACCORD_SCORING_BOX_INVALID',
  'ACCORD_SCORING_CHANNEL_UNKNOWN',
  'ACCORD_SCORING_REPLAYED',
  'ACCORD_SCORING_BUSY',
  'ACCORD_SCORING_KEY_INVALID',
  'ACCORD_SCORING_PROTOCOL',
]);

/** What a refusal by `self` says on the wire: the code and params the asker may see. */
export function wireRefusal(
  self: string,
  err: AccordError,
): { code: string; params: Readonly<Record<string, string | number>> } {
  if (PROTOCOL_CODES.has(err.code)) return { code: err.code, params: err.params };
  const reason = err.code === 'ACCORD_PSI_ALIGNMENT_STALE' ? PUBLIC_REASON.STALE : PUBLIC_REASON.FAILED;
  return { code: 'ACCORD_SCORING_REQUEST_REFUSED', params: { member: self, reason } };
}

export interface PartnerDeps {
  readonly self: string;
  readonly store: NodeStore;
  readonly sessions: ModelSessions;
  readonly transport: ScoringTransport;
  readonly channels: ResponderChannels;
  readonly audit: Audit;
  readonly log: Logger;
  readonly limits?: Partial<PartnerLimits>;
}

export class PartnerScorer {
  /** Alignments found fit for a model job (a finished PSI job never changes): `${modelJob}/${alignment}`. */
  readonly #fit = new Map<string, { dataset: string; size: number }>();
  /** The model a done training job registered here and what it says of its part (it never changes), by job. */
  readonly #parts = new Map<string, { modelId: string; vertical: ModelRecord['vertical'] }>();

  readonly #limits: PartnerLimits;
  /** Requests being worked on, and those waiting for a turn (oldest first). */
  #active = 0;
  readonly #queue: Array<() => void> = [];

  constructor(private readonly deps: PartnerDeps) {
    this.#limits = { ...PARTNER_LIMITS, ...deps.limits };
  }

  /** A refusal with a public reason; `detail` (this node's own words) stays in its log and audit entry. */
  #refused(reason: (typeof PUBLIC_REASON)[keyof typeof PUBLIC_REASON], detail: string): AccordError {
    return new AccordError(
      'ACCORD_SCORING_REQUEST_REFUSED',
      { member: this.deps.self, reason },
      { cause: detail },
    );
  }

  /**
   * The feature holder's part this node holds for `modelJob`, if `from` is its label holder: checked on the model's
   * record, and only then is its ONNX session loaded (a stranger's request costs no graph load).
   */
  async #part(modelJob: string, from: string): Promise<LoadedModel> {
    let part = this.#parts.get(modelJob);
    if (!part) {
      const job = await this.deps.store.trainingJobs.get(modelJob);
      if (!job?.modelId) throw this.#refused(PUBLIC_REASON.NO_PART, 'no model of that training job here');
      const model = await this.deps.store.models.get(job.modelId);
      if (!model) throw this.#refused(PUBLIC_REASON.NO_PART, `model ${job.modelId} is not registered here`);
      part = { modelId: model.id, vertical: model.vertical };
      this.#parts.set(modelJob, part);
    }
    if (part.vertical?.role !== 'feature-holder')
      throw this.#refused(PUBLIC_REASON.NO_PART, `model ${part.modelId} is not a feature holder's part`);
    if (part.vertical.labelHolder !== from)
      throw this.#refused(
        PUBLIC_REASON.NO_PART,
        `${from} asked; the label holder of model ${part.modelId} is ${part.vertical.labelHolder}`,
      );
    return this.deps.sessions.load(part.modelId);
  }

  async #alignment(loaded: LoadedModel, alignment: string): Promise<{ dataset: string; size: number }> {
    const key = `${loaded.model.lineage.job}/${alignment}`;
    const known = this.#fit.get(key);
    if (known) return known;
    const psi = await this.deps.store.psiJobs.get(alignment);
    const problem = alignmentProblem(psi, loaded.model.lineage.participants);
    if (problem) throw this.#refused(PUBLIC_REASON.ALIGNMENT, `alignment ${alignment}: ${problem}`);
    const fit = { dataset: psi!.dataset, size: psi!.resultSize! };
    this.#fit.set(key, fit);
    return fit;
  }

  /**
   * Handles one request from the inbox; the answer (or refusal) goes back through the coordinator. At most
   * `concurrent` requests are worked on at once and `queued` wait for a turn; one more is refused at once
   * (ACCORD_SCORING_BUSY), so a flood of requests cannot take the node's memory or CPU.
   */
  handle(request: ScoringRequest): void {
    if (this.#active < this.#limits.concurrent) {
      this.#run(request);
      return;
    }
    if (this.#queue.length < this.#limits.queued) {
      this.#queue.push(() => this.#run(request));
      return;
    }
    this.#refuse(
      request,
      new AccordError('ACCORD_SCORING_BUSY', { scope: `at ${this.deps.self}`, limit: this.#limits.queued }),
    );
  }

  #run(request: ScoringRequest): void {
    this.#active++;
    this.#answer(request)
      .then(
        (reply) => this.#send(reply),
        (err) => this.#refuse(request, err),
      )
      .finally(() => {
        this.#active--;
        this.#queue.shift()?.();
      });
  }

  /** Sends the refusal's public form; its full code and detail go to this node's log and audit entry only. */
  #refuse(request: ScoringRequest, err: unknown): void {
    if (!(err instanceof AccordError)) this.deps.log.error('scoring request failed', { err });
    const accord = err instanceof AccordError ? err : new AccordError('ACCORD_INTERNAL');
    const detail = typeof accord.cause === 'string' ? accord.cause : accord.message;
    this.deps.log.warn('a scoring request was refused', {
      from: request.from,
      stage: request.stage,
      code: accord.code,
      detail,
    });
    this.#audit(request, 'failed', { code: accord.code, detail }).catch(() => undefined);
    this.#send({
      kind: 'error',
      requestId: request.requestId,
      from: this.deps.self,
      to: request.from,
      ...wireRefusal(this.deps.self, accord),
    });
  }

  #send(reply: ScoringReply): void {
    this.deps.transport.answer(reply).catch((err) =>
      this.deps.log.warn('a scoring answer did not reach the coordinator', {
        code: (err as AccordError).code,
      }),
    );
  }

  #audit(request: ScoringRequest, outcome: 'ok' | 'failed', details: Record<string, string | number>) {
    return this.deps.audit({
      actor: request.from,
      action: `scoring:${request.stage}`,
      target: `training:${request.modelJob}`,
      outcome,
      details: request.stage === SCORING_STAGE.PARTIALS ? { count: request.count, ...details } : details,
    });
  }

  async #answer(request: ScoringRequest): Promise<ScoringReply> {
    const head = { requestId: request.requestId, from: this.deps.self, to: request.from };
    if (request.to !== this.deps.self)
      throw new AccordError('ACCORD_SCORING_PROTOCOL', { reason: 'misaddressed' });
    const loaded = await this.#part(request.modelJob, request.from);
    if (request.stage === SCORING_STAGE.HELLO) {
      const key = this.deps.channels.accept(request.from, request.modelJob, request.key);
      await this.#audit(request, 'ok', {});
      return { kind: 'key', ...head, key };
    }
    const channel = this.deps.channels.get(request.channel, request.from, request.modelJob);
    const positions = channel.openRequest(request, request.box);
    const { dataset, size } = await this.#alignment(loaded, request.alignment);
    if (positions.some((p) => p >= size))
      throw this.#refused(PUBLIC_REASON.POSITIONS, `a position lies outside the ${size} aligned rows`);
    const { output, width } = partnerOutput(loaded.model);
    if (request.count * width > MAX_REPLY_VALUES)
      throw this.#refused(
        PUBLIC_REASON.TOO_LARGE,
        `${request.count} positions × ${width} values exceed the ${MAX_REPLY_VALUES} a reply carries`,
      );
    const info = await this.deps.store.datasets.get(dataset);
    if (!info)
      throw this.#refused(PUBLIC_REASON.DATA, `the alignment's dataset ${dataset} is gone from this node`);
    const reader = columnReader(info, loaded.model, (column) =>
      this.#refused(
        PUBLIC_REASON.DATA,
        `dataset ${dataset} lacks column ${column}, which this node's part reads`,
      ),
    );
    const page = await this.deps.store.scores.rowsAtPositions(request.alignment, positions);
    if (!page) throw this.#refused(PUBLIC_REASON.DATA, 'the stored alignment is incomplete');
    const raw = readColumns(reader, page.cells, page.rowKeys);
    const values = await runPart(loaded, raw, request.count, output);
    const box = channel.sealReply(
      { requestId: request.requestId, alignment: request.alignment, positions },
      values,
      width,
    );
    await this.#audit(request, 'ok', { model: loaded.model.id });
    return { kind: 'box', ...head, box };
  }
}
