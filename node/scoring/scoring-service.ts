/**
 * Scoring on a node, in process: batch jobs (start, follow, ensure), real-time scores, and the partner side that
 * answers other banks' label holders. The REST routes (node/rest/routes/scoring.ts) and the campaigns code call this.
 *
 *   start(model, population, requestedBy)  checks model and population (coded errors, nothing stored), creates the
 *                                          job and runs it in the background; returns the running job
 *   ensure(model, dataset, requestedBy)    the newest done job of the model over the dataset, or one run now and
 *                                          waited for (a running one is joined, not duplicated)
 *   wait(job)                              the job once it is no longer running
 *   realtime(model, customer, deadlineMs)  one customer's score now (realtime.ts)
 *
 * A crash mid-job leaves the job running in the store: `recover()` at start fails it (ACCORD_SCORING_INTERRUPTED)
 * and deletes its partial scores; `stop()` fails the jobs still running the same way before the store closes.
 */
import { randomUUID } from 'node:crypto';
import type { Audit } from '../../platform/audit/audit-log.js';
import type { Logger } from '../../platform/log/logger.js';
import type { ScoringJobRecord } from '../../platform/store/scoring-types.js';
import type { NodeStore } from '../../platform/store/types.js';
import type { MemberSigner, MemberVerifier } from '../../platform/tls/member-signature.js';
import { AccordError } from '../../primitives/errors/index.js';
import type { ScoringEvent } from '../../primitives/scoring/protocol.js';
import { AlignmentIndexes } from './alignment-indexes.js';
import { runBatchJob } from './batch-run.js';
import { RequesterChannels, ResponderChannels } from './channels.js';
import { ModelSessions } from './model-sessions.js';
import { type PartnerLimits, PartnerScorer } from './partner.js';
import type { PartialsDeps } from './partials.js';
import { type PopulationInput, resolveTarget } from './population.js';
import { RealtimeScorer, type RealtimeScore } from './realtime.js';
import type { ScoringTransport } from './scoring-client.js';

/** How long `stop` waits for running jobs to record their interruption (ms). */
const STOP_WAIT_MS = 5_000;

export interface ScoringServiceDeps {
  /** This node's member name. */
  readonly self: string;
  readonly store: NodeStore;
  readonly audit: Audit;
  readonly log: Logger;
  readonly transport: ScoringTransport;
  readonly signer: MemberSigner;
  readonly verifier: MemberVerifier;
  /** How many other banks' requests this node works on and queues at once (partner.ts PARTNER_LIMITS). */
  readonly partnerLimits?: Partial<PartnerLimits>;
}

export class ScoringService {
  readonly #sessions: ModelSessions;
  readonly #partials: PartialsDeps;
  readonly #partner: PartnerScorer;
  readonly #realtime: RealtimeScorer;
  readonly #alignments: AlignmentIndexes;
  /** Running vertical jobs' partials received so far (for progress; dropped when the job ends). */
  readonly #gathering = new Map<string, { received: number; total: number }>();
  /** Jobs running in this process, by id, with what they score (to join instead of duplicating). */
  readonly #running = new Map<string, { model: string; dataset: string; done: Promise<void> }>();
  /** Why jobs run by this process failed (the store keeps code and message; this keeps the params too). */
  readonly #errors = new Map<string, AccordError>();
  #stopping = false;

  constructor(private readonly deps: ScoringServiceDeps) {
    this.#sessions = new ModelSessions(deps.store.models);
    this.#partials = {
      self: deps.self,
      transport: deps.transport,
      channels: new RequesterChannels(deps.self, deps.transport, deps.signer, deps.verifier),
      audit: deps.audit,
    };
    this.#partner = new PartnerScorer({
      self: deps.self,
      store: deps.store,
      sessions: this.#sessions,
      transport: deps.transport,
      channels: new ResponderChannels(deps.self, deps.signer, deps.verifier),
      audit: deps.audit,
      log: deps.log,
      ...(deps.partnerLimits ? { limits: deps.partnerLimits } : {}),
    });
    this.#alignments = new AlignmentIndexes(deps.store.scores);
    this.#realtime = new RealtimeScorer({
      store: deps.store,
      sessions: this.#sessions,
      partials: this.#partials,
      alignments: this.#alignments,
    });
  }

  /** At start-up: jobs a crash left running fail, their partial scores deleted; returns how many. */
  recover(): Promise<number> {
    return this.deps.store.scores.failUnfinished(
      'ACCORD_SCORING_INTERRUPTED',
      new AccordError('ACCORD_SCORING_INTERRUPTED').message,
    );
  }

  /** What the node's Scoring inbox delivers: a label holder's request for this node's part. */
  onEvent(event: ScoringEvent): void {
    if (event.kind === 'request') this.#partner.handle(event.request);
  }

  /** Checks, creates and starts a batch job; throws the coded errors of population.ts with nothing stored. */
  async start(modelId: string, population: PopulationInput, requestedBy: string): Promise<ScoringJobRecord> {
    if (this.#stopping) throw new AccordError('ACCORD_SCORING_INTERRUPTED');
    const loaded = await this.#sessions.load(modelId);
    const target = await resolveTarget(this.deps.store, loaded.model, population);
    const job: ScoringJobRecord = {
      id: randomUUID(),
      model: loaded.model.id,
      purpose: loaded.model.purpose,
      population: target.population,
      state: 'running',
      total: target.total,
      scored: 0,
      fingerprint: null,
      requestedBy,
      errorCode: null,
      errorMessage: null,
      createdAt: new Date().toISOString(),
      finishedAt: null,
    };
    await this.deps.store.scores.createJob(job);
    await this.deps.audit({
      actor: this.deps.self,
      action: 'scoring:start',
      target: `scoring:${job.id}`,
      outcome: 'ok',
      details: { model: job.model, population: target.population.kind, total: job.total, by: requestedBy },
    });
    const done = runBatchJob(
      {
        scores: this.deps.store.scores,
        partials: this.#partials,
        alignments: this.#alignments,
        log: this.deps.log,
        isStopping: () => this.#stopping,
        onPartials: (received, total) => this.#gathering.set(job.id, { received, total }),
      },
      loaded,
      target,
      job.id,
    ).then(
      (error) => this.#ended(job.id, error),
      (err) => {
        this.deps.log.error('a scoring job could not record its end', { job: job.id, err });
        this.#running.delete(job.id);
      },
    );
    this.#running.set(job.id, { model: job.model, dataset: target.population.dataset, done });
    return job;
  }

  async #ended(id: string, error: AccordError | null): Promise<void> {
    this.#running.delete(id);
    this.#gathering.delete(id);
    if (error) {
      this.#errors.set(id, error);
      if (this.#errors.size > 1000) this.#errors.delete(this.#errors.keys().next().value as string);
    }
    const job = await this.deps.store.scores.getJob(id);
    await this.deps
      .audit({
        actor: this.deps.self,
        action: 'scoring:end',
        target: `scoring:${id}`,
        outcome: error ? 'failed' : 'ok',
        details: { scored: job?.scored ?? 0, ...(error ? { code: error.code } : {}) },
      })
      .catch(() => undefined);
  }

  /**
   * True while a job of this process scores `dataset` (it reads the dataset's rows by row key page after page): a
   * re-import (replace) must wait, or the job would score other customers' rows under the keys it walks.
   */
  isDatasetInUse(dataset: string): boolean {
    for (const running of this.#running.values()) if (running.dataset === dataset) return true;
    return false;
  }

  /** The job once it is no longer running (at once if it is not running in this process). */
  async wait(jobId: string): Promise<ScoringJobRecord> {
    await this.#running.get(jobId)?.done;
    const job = await this.deps.store.scores.getJob(jobId);
    if (!job) throw new AccordError('ACCORD_SCORING_JOB_NOT_FOUND', { job: jobId });
    return job;
  }

  /**
   * The newest done job of `modelId` over `dataset`, or a job run now (joined if one is running) and waited for.
   * A vertical model scores its training alignment, which must be over `dataset`. Throws the job's coded error if
   * it fails, and the checks' errors as `start`.
   */
  async ensure(modelId: string, dataset: string, requestedBy: string): Promise<ScoringJobRecord> {
    const done = await this.deps.store.scores.latestDone(modelId, dataset);
    if (done) return done;
    let jobId = [...this.#running].find(([, r]) => r.model === modelId && r.dataset === dataset)?.[0];
    if (!jobId) {
      const model = await this.#sessions.model(modelId);
      if (model.vertical) {
        const spec = model.lineage.spec;
        const psi = spec.kind === 'vertical' ? await this.deps.store.psiJobs.get(spec.alignment) : null;
        if (psi && psi.dataset !== dataset)
          throw new AccordError('ACCORD_SCORING_POPULATION_INVALID', {
            field: 'dataset',
            problem: `the vertical model's alignment is over dataset ${psi.dataset}, not ${dataset}; score an alignment over ${dataset} first (POST /v1/scoring)`,
          });
      }
      jobId = (await this.start(modelId, model.vertical ? undefined : { dataset }, requestedBy)).id;
    }
    const job = await this.wait(jobId);
    if (job.state !== 'done')
      throw this.#errors.get(jobId) ?? AccordError.fromWire(job.errorCode ?? 'ACCORD_INTERNAL', {});
    return job;
  }

  async get(jobId: string): Promise<ScoringJobRecord> {
    const job = await this.deps.store.scores.getJob(jobId);
    if (!job) throw new AccordError('ACCORD_SCORING_JOB_NOT_FOUND', { job: jobId });
    return job;
  }

  /**
   * A running vertical job's first phase: partners' values received so far, of all it asks for (positions
   * times partners); null once it scores (its `scored` count moves then) or for a job that asks no partner.
   */
  gathering(jobId: string): { received: number; total: number } | null {
    const g = this.#gathering.get(jobId);
    return g && g.received < g.total ? g : null;
  }

  list(limit: number): Promise<ScoringJobRecord[]> {
    return this.deps.store.scores.listJobs(limit);
  }

  /** One customer's score now; see realtime.ts. */
  realtime(modelId: string, customer: string, deadlineMs: number): Promise<RealtimeScore> {
    return this.#realtime.score(modelId, customer, deadlineMs);
  }

  /**
   * Fails the jobs still running (ACCORD_SCORING_INTERRUPTED, at their next page) and waits for them, at most
   * STOP_WAIT_MS (one still waiting on a partner then stays running in the store, and `recover` fails it at the next
   * start); frees the model sessions.
   */
  async stop(): Promise<void> {
    this.#stopping = true;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all([...this.#running.values()].map((r) => r.done)),
      new Promise((resolve) => {
        timer = setTimeout(resolve, STOP_WAIT_MS);
      }),
    ]);
    clearTimeout(timer);
    await this.#sessions.close();
  }
}
