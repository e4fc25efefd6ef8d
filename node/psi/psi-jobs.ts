/**
 * The node's PSI jobs: starting one (initiator), answering invitations per policy (`psi.partners`: which members may
 * intersect against which datasets in which modes; then auto-accept listed partners, or wait for an admin),
 * dispatching the coordinator's events to the running sessions, cancelling. Only an admin may decline an invitation.
 * Job state is kept in the store, so the REST API and the CLI can follow progress and a crash leaves the job cleanly
 * failed.
 */
import { type Audit, auditInBackground } from '../../platform/audit/audit-log.js';
import { randomUUID } from 'node:crypto';
import type { NodeConfig } from '../../platform/config/index.js';
import type { Logger } from '../../platform/log/logger.js';
import { endedWith, type PsiJobRecord } from '../../platform/store/psi-types.js';
import type { NodeStore } from '../../platform/store/types.js';
import { AccordError, toAccordError } from '../../primitives/errors/index.js';
import { ID_KINDS, type IdKind, isIdKind } from '../../primitives/identity/normalise.js';
import {
  PSI_MAX_PARTIES,
  type PsiEvent,
  type PsiInvitation,
  type PsiMode,
  type PsiReveal,
} from '../../primitives/psi/session-protocol.js';
import type { Role } from '../../primitives/consortium/roles.js';
import { allowedByPolicy, BUDGET_DAYS, withinBudget } from './policy.js';
import type { CryptoWorkerPool } from '../../platform/crypto-workers/pool.js';
import type { PsiClient } from './psi-client.js';
import { PsiRun } from './psi-run.js';

/** The progress and outcome fields of a job that has not run yet. */
const NOT_STARTED = () =>
  ({
    processed: 0,
    total: 0,
    skippedRows: 0,
    resultSize: null,
    errorCode: null,
    errorMessage: null,
    createdAt: new Date().toISOString(),
    finishedAt: null,
  }) as const;

export interface NewPsiJob {
  readonly peers: readonly string[];
  readonly dataset: string;
  readonly idColumn?: string | undefined;
  readonly idKind?: IdKind | undefined;
  readonly mode: PsiMode;
  readonly reveal: PsiReveal;
  /** Dataset name per peer; default: a dataset named like ours. */
  readonly peerDatasets?: Readonly<Record<string, string>> | undefined;
}

export interface PsiJobsDeps {
  readonly config: Readonly<NodeConfig>;
  readonly client: PsiClient;
  readonly pool: CryptoWorkerPool;
  readonly store: NodeStore;
  readonly audit: Audit;
  readonly log: Logger;
}

export class PsiJobs {
  private readonly runs = new Map<string, PsiRun>();
  private readonly self: string;

  constructor(private readonly deps: PsiJobsDeps) {
    this.self = deps.config.member;
  }

  start(): void {
    this.deps.client.subscribe({
      onEvent: (event) => this.onEvent(event),
      onDisconnect: (error) => {
        for (const run of this.runs.values()) void run.markFailed('failed', error);
      },
    });
  }

  /**
   * The per-partner size checks (ratio, weekly rows against `dataset`) of the sizes a session brings; throws the coded
   * refusal. Sessions that ran in the last 7 days count, not this one.
   */
  private async admitSizes(
    jobId: string,
    dataset: string,
    ownSize: number,
    sizes: Record<string, number>,
  ): Promise<void> {
    const since = new Date(Date.now() - BUDGET_DAYS * 86_400_000).toISOString();
    const before = await this.deps.store.psiJobs.rowsBroughtSince(dataset, since, jobId);
    withinBudget(this.deps.config.psi.partners, ownSize, sizes, before);
  }

  /** The policy check for `job` over local `dataset`: throws ACCORD_PSI_POLICY_REFUSED, else the ratio cap. */
  private policyFor(
    job: Pick<PsiJobRecord, 'participants' | 'mode'>,
    dataset: string,
  ): { maxSizeRatio: number } {
    const others = job.participants.filter((m) => m !== this.self);
    return allowedByPolicy(this.deps.config.psi.partners, others, dataset, job.mode);
  }

  private newRun(job: PsiJobRecord): PsiRun {
    const { maxSizeRatio } = this.policyFor(job, job.dataset);
    const run = new PsiRun(
      {
        client: this.deps.client,
        pool: this.deps.pool,
        datasets: this.deps.store.datasets,
        jobs: this.deps.store.psiJobs,
        log: this.deps.log,
        self: this.self,
        maxSizeRatio,
        admitSizes: (job, ownSize, sizes) => this.admitSizes(job.id, job.dataset, ownSize, sizes),
        onSettled: (id) => {
          this.runs.delete(id);
          void this.deps.store.psiJobs.get(id).then((j) =>
            auditInBackground(this.deps.audit, {
              actor: this.self,
              action: 'job:psi',
              target: `psi:${id}`,
              outcome: j?.state === 'done' ? 'ok' : 'failed',
              details: {
                state: j?.state ?? '?',
                ...(j?.errorCode ? { code: j.errorCode } : {}),
                ...(j?.resultSize !== null && j?.resultSize !== undefined ? { size: j.resultSize } : {}),
              },
            }),
          );
        },
      },
      job,
    );
    this.runs.set(job.id, run);
    return run;
  }

  /** Resolves the dataset and id column a job reads, checking the id kind. */
  private async source(dataset: string, idColumn: string | undefined, idKind: string | undefined) {
    const info = await this.deps.store.datasets.get(dataset);
    if (!info) throw new AccordError('ACCORD_DATASET_NOT_FOUND', { dataset });
    const column = idColumn ?? info.idColumn;
    if (!info.columns.some((c) => c.name === column))
      throw new AccordError('ACCORD_DATASET_COLUMN_NOT_FOUND', { dataset, column });
    const kind = idKind ?? info.idKind;
    if (column === info.idColumn && kind !== info.idKind) {
      throw new AccordError('ACCORD_PSI_ID_KIND_MISMATCH', { dataset, actual: info.idKind, expected: kind });
    }
    if (!isIdKind(kind))
      throw new AccordError('ACCORD_ID_KIND_UNKNOWN', { kind, known: ID_KINDS.join(', ') });
    return { column, kind };
  }

  async create(request: NewPsiJob): Promise<PsiJobRecord> {
    const peers = [...request.peers];
    if (
      peers.includes(this.self) ||
      new Set(peers).size !== peers.length ||
      peers.length > PSI_MAX_PARTIES - 1
    ) {
      throw new AccordError('ACCORD_PSI_PEER_INVALID', {
        problem: 'peers must be other members, each once, at most 15',
      });
    }
    const { column, kind } = await this.source(request.dataset, request.idColumn, request.idKind);
    // Refused before anything is stored or sent: this bank's policy applies to the sessions it starts too.
    const { maxSizeRatio } = this.policyFor(
      { participants: [this.self, ...peers], mode: request.mode },
      request.dataset,
    );
    const job: PsiJobRecord = {
      id: randomUUID(),
      role: 'initiator',
      initiator: this.self,
      participants: [this.self, ...peers],
      dataset: request.dataset,
      idColumn: column,
      idKind: kind,
      mode: request.mode,
      reveal: request.reveal,
      state: 'waiting',
      ...NOT_STARTED(),
    };
    await this.deps.store.psiJobs.create(job);
    const run = this.newRun(job);
    try {
      const setSize = await run.prepare();
      await this.deps.client.open({
        sessionId: job.id,
        peers,
        idKind: kind as IdKind,
        mode: request.mode,
        reveal: request.reveal,
        setSize,
        peerDatasets: Object.fromEntries(peers.map((p) => [p, request.peerDatasets?.[p] ?? request.dataset])),
        maxSizeRatio,
      });
    } catch (err) {
      await run.markFailed('failed', toAccordError(err));
      throw err;
    }
    return (await this.deps.store.psiJobs.get(job.id))!;
  }

  private onEvent(event: PsiEvent): void {
    switch (event.kind) {
      case 'invitation':
        this.onInvitation(event.invitation).catch((err) =>
          this.deps.log.warn('invitation handling failed', { code: toAccordError(err).code }),
        );
        return;
      case 'start':
        this.runs.get(event.start.sessionId)?.begin(event.start);
        return;
      case 'batch':
        this.runs.get(event.batch.sessionId)?.onBatch(event.batch);
        return;
      case 'result':
        this.runs.get(event.result.sessionId)?.onResult(event.result);
        return;
      case 'end': {
        const run = this.runs.get(event.end.sessionId);
        if (run) run.onEnd(event.end);
        else if (event.end.outcome !== 'done') void this.endPending(event.end.sessionId, event.end.error);
      }
    }
  }

  /** A session ended before this node accepted (another peer declined, a timeout). */
  private async endPending(id: string, error: AccordError): Promise<void> {
    const job = await this.deps.store.psiJobs.get(id);
    if (!job || !['pending_approval', 'waiting'].includes(job.state)) return;
    await this.deps.store.psiJobs.update(id, endedWith('failed', error));
  }

  private async onInvitation(invitation: PsiInvitation): Promise<void> {
    // Session ids are single-use: an invitation reusing one this node has seen is refused (only a misbehaving
    // coordinator could send one).
    if (await this.deps.store.psiJobs.get(invitation.sessionId)) {
      await this.decline(invitation.sessionId, 'ACCORD_PSI_SESSION_EXISTS');
      return;
    }
    const job: PsiJobRecord = {
      id: invitation.sessionId,
      role: 'participant',
      initiator: invitation.initiator,
      participants: invitation.participants,
      dataset: invitation.dataset ?? '',
      initiatorSetSize: invitation.initiatorSetSize,
      idColumn: '',
      idKind: invitation.idKind,
      mode: invitation.mode,
      reveal: invitation.reveal,
      state: 'pending_approval',
      ...NOT_STARTED(),
    };
    await this.deps.store.psiJobs.create(job);
    let refusal: AccordError | null = null;
    try {
      this.policyFor(job, job.dataset);
      // The initiator's size is known now: judge it before anyone is asked, with the dataset it names.
      const own = await this.deps.store.datasets.get(job.dataset);
      if (own)
        await this.admitSizes(job.id, job.dataset, own.rowCount, {
          [invitation.initiator]: invitation.initiatorSetSize,
        });
    } catch (err) {
      refusal = toAccordError(err);
    }
    const auto = refusal === null && this.deps.config.psi.autoAcceptFrom.includes(invitation.initiator);
    await this.deps.audit({
      actor: invitation.initiator,
      action: 'psi:invitation',
      target: `psi:${job.id}`,
      outcome: refusal ? 'refused' : 'ok',
      details: {
        mode: job.mode,
        reveal: job.reveal,
        dataset: job.dataset,
        policy: refusal ? 'refused' : auto ? 'auto-accept' : 'awaiting-admin',
        ...(refusal ? { code: refusal.code } : {}),
      },
    });
    if (refusal) {
      await this.decline(job.id, refusal.code);
      await this.deps.store.psiJobs.update(job.id, endedWith('failed', refusal));
    } else if (auto) await this.accept(job.id, undefined).catch(() => undefined);
  }

  private decline(sessionId: string, code: string): Promise<void> {
    return this.deps.client.respond({ kind: 'decline', sessionId, code }).catch(() => undefined);
  }

  /** Accepts a pending invitation (by policy or by an admin, optionally naming another local dataset). */
  async accept(id: string, dataset: string | undefined): Promise<PsiJobRecord> {
    const job = await this.deps.store.psiJobs.get(id);
    if (job?.role !== 'participant' || job.state !== 'pending_approval') {
      throw new AccordError('ACCORD_PSI_INVITATION_NOT_FOUND', { job: id });
    }
    try {
      const chosen = dataset ?? job.dataset;
      const { column } = await this.source(chosen, undefined, job.idKind);
      const accepted = await this.deps.store.psiJobs.update(id, {
        dataset: chosen,
        idColumn: column,
        state: 'waiting',
      });
      const run = this.newRun(accepted);
      const setSize = await run.prepare();
      await this.deps.client.respond({
        kind: 'accept',
        sessionId: id,
        // The acceptance binds to exactly what this node was invited to: participants, kind, mode, reveal.
        terms: {
          participants: job.participants,
          idKind: job.idKind as IdKind,
          mode: job.mode,
          reveal: job.reveal,
        },
        setSize,
        maxSizeRatio: run.maxSizeRatio,
      });
      return (await this.deps.store.psiJobs.get(id))!;
    } catch (err) {
      const error = toAccordError(err);
      this.runs.delete(id);
      await this.decline(id, error.code);
      await this.deps.store.psiJobs.update(id, endedWith('failed', error));
      throw err;
    }
  }

  /** Declines a pending invitation: an admin's decision (the REST routes check the role, and so does this). */
  async reject(id: string, role: Role = 'admin'): Promise<PsiJobRecord> {
    const job = await this.deps.store.psiJobs.get(id);
    if (job?.role !== 'participant' || job.state !== 'pending_approval') {
      throw new AccordError('ACCORD_PSI_INVITATION_NOT_FOUND', { job: id });
    }
    if (role !== 'admin')
      throw new AccordError('ACCORD_AUTH_FORBIDDEN', {
        role,
        route: 'declining a PSI invitation',
        allowed: 'admin',
      });
    await this.decline(id, 'ACCORD_PSI_DECLINED');
    return this.deps.store.psiJobs.update(
      id,
      endedWith('cancelled', { code: 'ACCORD_PSI_DECLINED', message: 'declined by this node' }),
    );
  }

  /** Cancels a job for every participant; a pending invitation can only be declined, by an admin. */
  async cancel(id: string, role: Role): Promise<PsiJobRecord> {
    const job = await this.deps.store.psiJobs.get(id);
    if (!job) throw new AccordError('ACCORD_PSI_JOB_NOT_FOUND', { job: id });
    if (job.state === 'pending_approval') return this.reject(id, role);
    if (!['waiting', 'running'].includes(job.state))
      throw new AccordError('ACCORD_PSI_JOB_FINISHED', { job: id, state: job.state });
    await this.deps.client.cancel({ sessionId: id, code: 'ACCORD_PSI_CANCELLED' }).catch(() => undefined);
    const run = this.runs.get(id);
    const error = new AccordError('ACCORD_PSI_CANCELLED', { by: this.self });
    if (run) await run.markFailed('cancelled', error);
    else await this.deps.store.psiJobs.update(id, endedWith('cancelled', error));
    return (await this.deps.store.psiJobs.get(id))!;
  }

  /** True while a job that has loaded `dataset`'s rows runs (its positions map to them): replacing it must wait. */
  async isDatasetInUse(dataset: string): Promise<boolean> {
    for (const run of this.runs.values()) if (run.job.dataset === dataset) return true;
    return false;
  }

  async get(id: string): Promise<PsiJobRecord> {
    const job = await this.deps.store.psiJobs.get(id);
    if (!job) throw new AccordError('ACCORD_PSI_JOB_NOT_FOUND', { job: id });
    return job;
  }

  async stop(): Promise<void> {
    const error = new AccordError('ACCORD_PSI_INTERRUPTED');
    await Promise.all([...this.runs.values()].map((run) => run.markFailed('failed', error)));
  }
}
