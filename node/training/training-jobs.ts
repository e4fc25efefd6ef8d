/**
 * The node's training jobs: starting one (initiator: the spec is completed from the local dataset and checked before
 * anything is sent), answering invitations per policy (`training.partners`; then auto-accept listed partners, or
 * wait for an admin), dispatching the coordinator's events to the running jobs, cancelling. A job that loses the
 * coordinator keeps its place and rejoins at the next aggregation when the inbox returns; one that hears nothing for
 * `training.idleTimeoutMs` fails. Job state is in the store, so the REST API and the CLI can follow each round, and a
 * crash leaves the job cleanly failed with nothing registered.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { type Audit, auditInBackground } from '../../platform/audit/audit-log.js';
import type { NodeConfig } from '../../platform/config/index.js';
import type { Logger } from '../../platform/log/logger.js';
import type { MemberSigner, MemberVerifier } from '../../platform/tls/member-signature.js';
import {
  newTrainingJob,
  type TrainingJobRecord,
  trainingEndedWith,
} from '../../platform/store/training-types.js';
import type { NodeStore } from '../../platform/store/types.js';
import type { Role } from '../../primitives/consortium/roles.js';
import { AccordError, toAccordError } from '../../primitives/errors/index.js';
import type { TrainingEvent, TrainingInvitation } from '../../primitives/training/job-protocol.js';
import {
  type HorizontalSettings,
  asHorizontal,
  isTreeSpec,
  specColumns,
  specRounds,
  TRAINING_MAX_PARTIES,
  type TrainingSpec,
  trainingSpecSchema,
  type VerticalSettings,
  type VerticalSpec,
} from '../../primitives/training/spec.js';
import type { VerticalReply } from '../../primitives/vertical/protocol.js';
import type { FeatureColumn } from '../../models/types.js';
import { loadLocalData } from './local-data.js';
import { trainingAllowed } from './policy.js';
import { SecAggParticipant } from './secagg-participant.js';
import type { TrainingClient } from './training-client.js';
import { TrainingRun } from './training-run.js';
import { loadVerticalData, type VerticalData } from './vertical-data.js';
import { TreeRun } from './tree-run.js';
import { VerticalRun } from './vertical-run.js';

type FeatureList = readonly (string | FeatureColumn)[];

export interface NewTrainingJob {
  readonly peers: readonly string[];
  /** Horizontal: the local dataset. Vertical: optional (the alignment's dataset); if given it must be that one. */
  readonly dataset?: string | undefined;
  readonly peerDatasets?: Readonly<Record<string, string>> | undefined;
  /**
   * Feature columns; a bare name is a numeric column. Horizontal: one list (default every numeric column of the
   * dataset except its id column and the label). Vertical: a list per member, or "all" (each party uses every usable
   * column of its own dataset); a member not listed uses "all".
   */
  readonly features?: FeatureList | Readonly<Record<string, FeatureList | 'all'>> | 'all' | undefined;
  readonly settings: HorizontalSettings | VerticalSettings;
}

const asColumns = (list: FeatureList): FeatureColumn[] =>
  list.map((f) => (typeof f === 'string' ? { name: f, kind: 'numeric' } : f));

type Run = TrainingRun | VerticalRun | TreeRun;
const isVerticalRun = (run: Run | undefined): run is VerticalRun | TreeRun =>
  run instanceof VerticalRun || run instanceof TreeRun;

export interface TrainingJobsDeps {
  readonly config: Readonly<NodeConfig>;
  readonly client: TrainingClient;
  readonly store: NodeStore;
  readonly audit: Audit;
  readonly log: Logger;
  readonly signer: MemberSigner;
  readonly verifier: MemberVerifier;
}

const NUMERIC = new Set(['integer', 'number', 'boolean']);

export class TrainingJobs {
  private readonly runs = new Map<string, Run>();
  private readonly idleTimers = new Map<string, NodeJS.Timeout>();
  private readonly self: string;

  constructor(private readonly deps: TrainingJobsDeps) {
    this.self = deps.config.member;
  }

  /** At start-up: jobs a crash left unfinished fail (nothing of theirs was registered). */
  async recover(): Promise<number> {
    const error = new AccordError('ACCORD_TRAINING_INTERRUPTED');
    return this.deps.store.trainingJobs.failUnfinished(error.code, error.message);
  }

  start(): void {
    this.deps.client.subscribe({
      onEvent: (event) => this.onEvent(event),
      // A dropped inbox does not fail horizontal jobs: they rejoin at the next aggregation when it returns. A vertical
      // job cannot go on without every party at every step (the coordinator fails it when a party leaves, and a
      // restarted coordinator has lost its key), so it fails here at once rather than at the idle timeout.
      onDisconnect: (error) => {
        for (const [id, run] of this.runs) if (isVerticalRun(run)) void this.failAndTell(id, error);
      },
    });
  }

  /** Completes the spec from the local dataset: the feature list, and a fresh seed for the initial model. */
  private async completeSpec(request: NewTrainingJob): Promise<TrainingSpec> {
    let features: unknown;
    let extra: Record<string, unknown> = {};
    if (request.settings.kind === 'vertical') {
      const given = request.features;
      if (Array.isArray(given))
        throw new AccordError('ACCORD_TRAINING_SPEC_INVALID', {
          problem: 'features: a vertical job lists columns per member (or "all")',
        });
      const byMember = (given ?? 'all') as Readonly<Record<string, FeatureList | 'all'>> | 'all';
      features = Object.fromEntries(
        [this.self, ...request.peers].map((m) => {
          const list = byMember === 'all' ? 'all' : (byMember[m] ?? 'all');
          return [m, list === 'all' ? 'all' : asColumns(list)];
        }),
      );
      extra = { labelHolder: this.self };
    } else {
      const dataset = request.dataset ?? '';
      const info = await this.deps.store.datasets.get(dataset);
      if (!info) throw new AccordError('ACCORD_DATASET_NOT_FOUND', { dataset });
      const label = request.settings.label;
      const given = request.features;
      if (given !== undefined && !Array.isArray(given))
        throw new AccordError('ACCORD_TRAINING_SPEC_INVALID', {
          problem: 'features: a horizontal job lists one set of columns',
        });
      features = given
        ? asColumns(given as FeatureList)
        : info.columns
            .filter((c) => c.name !== info.idColumn && c.name !== label && NUMERIC.has(c.type))
            .map((c) => ({ name: c.name, kind: 'numeric' }));
    }
    const parsed = trainingSpecSchema.safeParse({
      ...request.settings,
      ...extra,
      features,
      initSeed: randomBytes(32).toString('hex'),
    });
    if (!parsed.success)
      throw new AccordError('ACCORD_TRAINING_SPEC_INVALID', {
        problem: parsed.error.issues.map((i) => `${i.path.join('.') || 'spec'}: ${i.message}`).join('; '),
      });
    return parsed.data;
  }

  private newVerticalRun(job: TrainingJobRecord, data: VerticalData): VerticalRun | TreeRun {
    const deps = {
      self: this.self,
      jobs: this.deps.store.trainingJobs,
      log: this.deps.log,
      signer: this.deps.signer,
      verifier: this.deps.verifier,
      allowUnencrypted: this.deps.config.training.allowUnencryptedVertical,
      histogramWorkers: this.deps.config.training.histogramWorkers,
      reply: (reply: VerticalReply) => this.deps.client.vertical(reply),
      onSettled: (id: string) => this.settled(id),
    };
    const run = isTreeSpec(job.spec) ? new TreeRun(deps, job, data) : new VerticalRun(deps, job, data);
    return this.track(job.id, run);
  }

  /** Loads a vertical party's aligned rows and checks this bank's policy on the columns it resolved. */
  private async verticalData(job: TrainingJobRecord, dataset: string | null): Promise<VerticalData> {
    const spec = job.spec as VerticalSpec;
    const data = await loadVerticalData(this.deps.store, this.self, spec, job.participants, dataset);
    const others = job.participants.filter((m) => m !== this.self);
    const columns = [
      ...data.features.map((f) => f.name),
      ...(spec.labelHolder === this.self ? [spec.label] : []),
    ];
    trainingAllowed(this.deps.config.training.partners, others, data.dataset, spec.purpose, columns);
    return data;
  }

  private newRun(job: TrainingJobRecord, data: Awaited<ReturnType<typeof loadLocalData>>): TrainingRun {
    const run = new TrainingRun(
      {
        self: this.self,
        jobs: this.deps.store.trainingJobs,
        log: this.deps.log,
        participant: (id) =>
          new SecAggParticipant(this.self, asHorizontal(job.spec), id, this.deps.signer, this.deps.verifier),
        reply: (reply) => this.deps.client.step(reply),
        onSettled: (id) => this.settled(id),
      },
      job,
      data,
    );
    return this.track(job.id, run);
  }

  /** Keeps a run for the coordinator's events, with its idle clock started. */
  private track<R extends Run>(id: string, run: R): R {
    this.runs.set(id, run);
    this.touch(id);
    return run;
  }

  private settled(id: string): void {
    this.runs.delete(id);
    clearTimeout(this.idleTimers.get(id));
    this.idleTimers.delete(id);
    void this.deps.store.trainingJobs.get(id).then((job) =>
      auditInBackground(this.deps.audit, {
        actor: this.self,
        action: 'job:training',
        target: `training:${id}`,
        outcome: job?.state === 'done' ? 'ok' : 'failed',
        details: {
          state: job?.state ?? '?',
          ...(job?.errorCode ? { code: job.errorCode } : {}),
          ...(job?.modelId ? { model: job.modelId } : {}),
        },
      }),
    );
  }

  /**
   * Restarts the job's idle clock: a job that hears nothing for `idleTimeoutMs` fails here. Only here: the others
   * may be going on without this node, as they would after any drop.
   */
  private touch(id: string): void {
    clearTimeout(this.idleTimers.get(id));
    const timer = setTimeout(() => {
      const error = new AccordError('ACCORD_TRAINING_TIMEOUT', { what: 'the coordinator (no message)' });
      void this.runs.get(id)?.markFailed('failed', error);
    }, this.deps.config.training.idleTimeoutMs);
    timer.unref();
    this.idleTimers.set(id, timer);
  }

  async create(request: NewTrainingJob): Promise<TrainingJobRecord> {
    const peers = [...request.peers];
    if (
      peers.includes(this.self) ||
      new Set(peers).size !== peers.length ||
      peers.length > TRAINING_MAX_PARTIES - 1
    )
      throw new AccordError('ACCORD_TRAINING_PEER_INVALID', {
        problem: `peers must be other members, each once, at most ${TRAINING_MAX_PARTIES - 1}`,
      });
    const spec = await this.completeSpec(request);
    if (spec.kind === 'vertical') return this.createVertical(request, peers, spec);
    if (spec.minParticipants > peers.length + 1)
      throw new AccordError('ACCORD_TRAINING_MIN_PARTICIPANTS', {
        minParticipants: spec.minParticipants,
        participants: peers.length + 1,
      });
    const dataset = request.dataset ?? '';
    // Refused before anything is stored or sent: this bank's policy and its own data apply to the jobs it starts.
    trainingAllowed(
      this.deps.config.training.partners,
      peers,
      dataset,
      spec.purpose,
      specColumns(spec, this.self),
    );
    const data = await loadLocalData(this.deps.store.datasets, dataset, spec);
    const job: TrainingJobRecord = {
      ...newTrainingJob({
        id: randomUUID(),
        role: 'initiator',
        initiator: this.self,
        participants: [this.self, ...peers],
        spec,
      }),
      dataset,
      state: 'waiting',
    };
    await this.deps.store.trainingJobs.create(job);
    const run = this.newRun(job, data);
    try {
      await this.deps.client.open({
        jobId: job.id,
        peers,
        spec,
        peerDatasets: Object.fromEntries(peers.map((p) => [p, request.peerDatasets?.[p] ?? dataset])),
        fingerprint: data.fingerprint,
      });
    } catch (err) {
      await run.markFailed('failed', toAccordError(err));
      throw err;
    }
    return (await this.deps.store.trainingJobs.get(job.id))!;
  }

  /** A vertical job: this node holds the label; its alignment and data are checked before anything is sent. */
  private async createVertical(
    request: NewTrainingJob,
    peers: readonly string[],
    spec: VerticalSpec,
  ): Promise<TrainingJobRecord> {
    const draft = newTrainingJob({
      id: randomUUID(),
      role: 'initiator',
      initiator: this.self,
      participants: [this.self, ...peers],
      spec,
    });
    const data = await this.verticalData(draft, request.dataset ?? null);
    const job: TrainingJobRecord = { ...draft, dataset: data.dataset, state: 'waiting' };
    await this.deps.store.trainingJobs.create(job);
    const run = this.newVerticalRun(job, data);
    try {
      await this.deps.client.open({
        jobId: job.id,
        peers,
        spec,
        peerDatasets: Object.fromEntries(
          peers.flatMap((p) => (request.peerDatasets?.[p] ? [[p, request.peerDatasets[p]]] : [])),
        ),
        fingerprint: data.fingerprint,
        vertical: run.acceptance(),
      });
    } catch (err) {
      await run.markFailed('failed', toAccordError(err));
      throw err;
    }
    return (await this.deps.store.trainingJobs.get(job.id))!;
  }

  private onEvent(event: TrainingEvent): void {
    const failed = (id: string) => (err: unknown) => this.failAndTell(id, toAccordError(err));
    switch (event.kind) {
      case 'invitation':
        this.onInvitation(event.invitation).catch((err) =>
          this.deps.log.warn('training invitation handling failed', { code: toAccordError(err).code }),
        );
        return;
      case 'vertical': {
        const id = event.call.batch.jobId;
        const run = this.runs.get(id);
        if (!isVerticalRun(run)) return;
        this.touch(id);
        run.onCall(event.call, (error) => void this.failAndTell(id, error));
        return;
      }
      case 'step': {
        const id = event.step.aggregation.jobId;
        const run = this.runs.get(id);
        if (!(run instanceof TrainingRun)) return;
        this.touch(id);
        run.onStep(event.step, (error) => void this.failAndTell(id, error));
        return;
      }
      case 'aggregate': {
        const id = event.aggregate.aggregation.jobId;
        this.touch(id);
        const run = this.runs.get(id);
        if (run instanceof TrainingRun) run.onAggregate(event.aggregate).catch(failed(id));
        return;
      }
      case 'end': {
        const run = this.runs.get(event.end.jobId);
        if (run) run.onEnd(event.end).catch((err) => run.markFailed('failed', toAccordError(err)));
        else if (event.end.outcome !== 'done') void this.endPending(event.end.jobId, event.end.error);
      }
    }
  }

  /** This node cannot go on: tell the coordinator (the job fails for everyone), then record it here. */
  private async failAndTell(id: string, error: AccordError): Promise<void> {
    this.deps.log.warn('training job failed here', { job: id, code: error.code });
    await this.deps.client.cancel({ jobId: id, code: error.code }).catch(() => undefined);
    await this.runs.get(id)?.markFailed('failed', error);
  }

  /** A job ended before this node accepted (another peer declined, a timeout). */
  private async endPending(id: string, error: AccordError | null): Promise<void> {
    const job = await this.deps.store.trainingJobs.get(id);
    if (!job || !['pending_approval', 'waiting'].includes(job.state)) return;
    await this.deps.store.trainingJobs.update(
      id,
      trainingEndedWith('failed', error ?? new AccordError('ACCORD_TRAINING_LOST')),
    );
  }

  private async onInvitation(invitation: TrainingInvitation): Promise<void> {
    const { participants } = invitation;
    const wellFormed =
      participants[0] === invitation.initiator &&
      participants.includes(this.self) &&
      new Set(participants).size === participants.length;
    if (!wellFormed || (await this.deps.store.trainingJobs.get(invitation.jobId))) {
      await this.decline(
        invitation.jobId,
        wellFormed ? 'ACCORD_TRAINING_JOB_EXISTS' : 'ACCORD_TRAINING_PEER_INVALID',
      );
      return;
    }
    const job: TrainingJobRecord = {
      ...newTrainingJob({
        id: invitation.jobId,
        role: 'participant',
        initiator: invitation.initiator,
        participants: invitation.participants,
        spec: invitation.spec,
      }),
      dataset: invitation.dataset ?? '',
    };
    await this.deps.store.trainingJobs.create(job);
    let refusal: AccordError | null = null;
    try {
      const others = job.participants.filter((m) => m !== this.self);
      if (job.spec.kind === 'horizontal' || job.dataset)
        trainingAllowed(
          this.deps.config.training.partners,
          others,
          job.dataset,
          job.spec.purpose,
          specColumns(job.spec, this.self),
        );
      else if (others.some((m) => !this.deps.config.training.partners[m]))
        throw new AccordError('ACCORD_TRAINING_POLICY_REFUSED', {
          what: 'any training',
          partner: others.find((m) => !this.deps.config.training.partners[m])!,
        });
    } catch (err) {
      refusal = toAccordError(err);
    }
    const auto = refusal === null && this.deps.config.training.autoAcceptFrom.includes(invitation.initiator);
    await this.deps.audit({
      actor: invitation.initiator,
      action: 'training:invitation',
      target: `training:${job.id}`,
      outcome: refusal ? 'refused' : 'ok',
      details: {
        dataset: job.dataset,
        purpose: job.spec.purpose,
        label: job.spec.label,
        kind: job.spec.kind,
        features: specColumns(job.spec, this.self).length,
        rounds: specRounds(job.spec),
        policy: refusal ? 'refused' : auto ? 'auto-accept' : 'awaiting-admin',
        ...(refusal ? { code: refusal.code } : {}),
      },
    });
    if (refusal) {
      await this.decline(job.id, refusal.code);
      await this.deps.store.trainingJobs.update(job.id, trainingEndedWith('failed', refusal));
    } else if (auto) await this.accept(job.id, undefined).catch(() => undefined);
  }

  private decline(jobId: string, code: string): Promise<void> {
    return this.deps.client.respond({ kind: 'decline', jobId, code }).catch(() => undefined);
  }

  /** Accepts a pending invitation (by policy or by an admin, optionally naming another local dataset). */
  async accept(id: string, dataset: string | undefined): Promise<TrainingJobRecord> {
    const job = await this.deps.store.trainingJobs.get(id);
    if (job?.role !== 'participant' || job.state !== 'pending_approval')
      throw new AccordError('ACCORD_TRAINING_INVITATION_NOT_FOUND', { job: id });
    if (job.spec.kind === 'vertical') return this.acceptVertical(job, dataset);
    try {
      const chosen = dataset ?? job.dataset;
      const others = job.participants.filter((m) => m !== this.self);
      trainingAllowed(
        this.deps.config.training.partners,
        others,
        chosen,
        job.spec.purpose,
        specColumns(job.spec, this.self),
      );
      // Schema, label values and row counts are checked on this node's own data before it agrees.
      const data = await loadLocalData(this.deps.store.datasets, chosen, asHorizontal(job.spec));
      const accepted = await this.deps.store.trainingJobs.update(id, {
        dataset: chosen,
        state: 'waiting',
      });
      this.newRun(accepted, data);
      await this.deps.client.respond({
        kind: 'accept',
        jobId: id,
        specDigest: job.specDigest,
        fingerprint: data.fingerprint,
      });
      return (await this.deps.store.trainingJobs.get(id))!;
    } catch (err) {
      const error = toAccordError(err);
      this.runs.delete(id);
      await this.decline(id, error.code);
      await this.deps.store.trainingJobs.update(id, trainingEndedWith('failed', error));
      throw err;
    }
  }

  private async acceptVertical(
    job: TrainingJobRecord,
    dataset: string | undefined,
  ): Promise<TrainingJobRecord> {
    try {
      // The alignment, the columns, the label and this bank's policy on them are checked before it agrees.
      const data = await this.verticalData(job, dataset ?? (job.dataset || null));
      const accepted = await this.deps.store.trainingJobs.update(job.id, {
        dataset: data.dataset,
        state: 'waiting',
      });
      const run = this.newVerticalRun(accepted, data);
      await this.deps.client.respond({
        kind: 'accept',
        jobId: job.id,
        specDigest: job.specDigest,
        fingerprint: data.fingerprint,
        vertical: run.acceptance(),
      });
      return (await this.deps.store.trainingJobs.get(job.id))!;
    } catch (err) {
      const error = toAccordError(err);
      this.runs.delete(job.id);
      await this.decline(job.id, error.code);
      await this.deps.store.trainingJobs.update(job.id, trainingEndedWith('failed', error));
      throw err;
    }
  }

  /** Declines a pending invitation: an admin's decision. */
  async reject(id: string, role: Role = 'admin'): Promise<TrainingJobRecord> {
    const job = await this.deps.store.trainingJobs.get(id);
    if (job?.role !== 'participant' || job.state !== 'pending_approval')
      throw new AccordError('ACCORD_TRAINING_INVITATION_NOT_FOUND', { job: id });
    if (role !== 'admin')
      throw new AccordError('ACCORD_AUTH_FORBIDDEN', {
        role,
        route: 'declining a training invitation',
        allowed: 'admin',
      });
    await this.decline(id, 'ACCORD_TRAINING_DECLINED');
    return this.deps.store.trainingJobs.update(
      id,
      trainingEndedWith('cancelled', { code: 'ACCORD_TRAINING_DECLINED', message: 'declined by this node' }),
    );
  }

  /** Cancels a job for every participant; a pending invitation can only be declined, by an admin. */
  async cancel(id: string, role: Role): Promise<TrainingJobRecord> {
    const job = await this.get(id);
    if (job.state === 'pending_approval') return this.reject(id, role);
    if (!['waiting', 'running'].includes(job.state))
      throw new AccordError('ACCORD_TRAINING_JOB_FINISHED', { job: id, state: job.state });
    await this.deps.client.cancel({ jobId: id, code: 'ACCORD_TRAINING_CANCELLED' }).catch(() => undefined);
    const error = new AccordError('ACCORD_TRAINING_CANCELLED', { by: this.self });
    const run = this.runs.get(id);
    if (run) await run.markFailed('cancelled', error);
    else await this.deps.store.trainingJobs.update(id, trainingEndedWith('cancelled', error));
    return this.get(id);
  }

  async get(id: string): Promise<TrainingJobRecord> {
    const job = await this.deps.store.trainingJobs.get(id);
    if (!job) throw new AccordError('ACCORD_TRAINING_JOB_NOT_FOUND', { job: id });
    return job;
  }

  list(limit: number): Promise<TrainingJobRecord[]> {
    return this.deps.store.trainingJobs.list(limit);
  }

  async stop(): Promise<void> {
    const error = new AccordError('ACCORD_TRAINING_INTERRUPTED');
    await Promise.all([...this.runs.values()].map((run) => run.markFailed('failed', error)));
    for (const t of this.idleTimers.values()) clearTimeout(t);
  }
}
