/**
 * The Training gRPC service: opens jobs (participants known and online, minParticipants within the job, per-member
 * concurrency, ids single-use across restarts), relays invitations and acceptances, and runs each job's aggregations
 * (`job.ts`). The flow and what each party learns: primitives/training/job-protocol.ts.
 */
import type * as grpc from '@grpc/grpc-js';
import { type Audit, auditInBackground } from '../../platform/audit/audit-log.js';
import type { PeerIdentity } from '../../platform/grpc/peer-gate.js';
import { unaryHandler } from '../../platform/grpc/server.js';
import type { Logger } from '../../platform/log/logger.js';
import type { PsiSessionStore } from '../../platform/store/psi-types.js';
import { trainingWire as wire } from '../../platform/wire/training.js';
import { PerKeyQueue } from '../../primitives/concurrency/per-key-queue.js';
import { AccordError, toAccordError } from '../../primitives/errors/index.js';
import {
  TRAINING_INBOX_PING_MS,
  TRAINING_OUTCOME,
  type TrainingEvent,
  type TrainingOpen,
  type TrainingOutcome,
} from '../../primitives/training/job-protocol.js';
import { type Inboxes, serveInbox } from '../inboxes.js';
import type { Membership } from '../membership.js';
import { cipherSuite } from '../../primitives/he/index.js';
import { CoordinatorJob } from './job.js';

export interface TrainingLimits {
  readonly verticalEncryption: 'bfv' | 'none';
  readonly inviteTimeoutMs: number;
  readonly stageTimeoutMs: number;
  readonly vectorTimeoutMs: number;
  readonly concurrentPerMember: number;
}

export interface TrainingServiceDeps {
  readonly membership: Membership;
  readonly inboxes: Inboxes<TrainingEvent>;
  readonly sessions: PsiSessionStore;
  readonly audit: Audit;
  readonly log: Logger;
  readonly limits: TrainingLimits;
  readonly isRevoked?: (peer: PeerIdentity) => boolean;
}

export class TrainingCoordinator {
  private readonly jobs = new Map<string, CoordinatorJob>();
  private readonly inviteTimers = new Map<string, NodeJS.Timeout>();
  /** Why recent jobs ended, so that a participant still sending learns the real reason. */
  private readonly endedWith = new Map<string, AccordError>();
  /** End events a member missed while offline, delivered when its inbox opens again. */
  private readonly missedEnds = new Map<string, TrainingEvent[]>();
  private readonly admitting = new PerKeyQueue();

  constructor(private readonly deps: TrainingServiceDeps) {
    deps.inboxes.onStalled = (member) => this.memberLost(member);
    // Every inbox hears from the coordinator at least this often: a node that hears nothing for three intervals
    // knows its inbox is dead (a stream the coordinator ended while the node was not reading can fail to tell it)
    // and subscribes again.
    this.pinger = setInterval(() => {
      for (const member of deps.inboxes.connectedMembers())
        void this.deliver(member, { kind: 'ping' }).catch(() => undefined);
    }, TRAINING_INBOX_PING_MS);
    this.pinger.unref();
  }

  private readonly pinger: NodeJS.Timeout;

  jobCount(): number {
    return this.jobs.size;
  }

  /** At start-up: jobs a previous run left open are recorded as lost (their members learnt it on disconnect). */
  recover(): Promise<number> {
    return this.deps.sessions.endUnfinished('lost', Date.now());
  }

  private job(id: string): CoordinatorJob {
    const job = this.jobs.get(id);
    if (!job) throw this.endedWith.get(id) ?? new AccordError('ACCORD_TRAINING_JOB_NOT_FOUND', { job: id });
    return job;
  }

  private requireParticipant(job: CoordinatorJob, member: string): void {
    if (!job.participants.includes(member))
      throw new AccordError('ACCORD_TRAINING_JOB_NOT_FOUND', { job: job.id });
  }

  private running(member: string): number {
    let n = 0;
    for (const job of this.jobs.values()) if (job.participants.includes(member)) n++;
    return n;
  }

  /**
   * Sends an event to a member's inbox within the stage deadline. A member that does not read its inbox in time has
   * that inbox ended (it counts as dropped and rejoins when it subscribes again), so one stalled reader cannot hold a
   * job, or the others' jobs, forever.
   */
  private deliver(member: string, event: TrainingEvent): Promise<void> {
    return this.deps.inboxes.deliver(member, event, this.deps.limits.stageTimeoutMs);
  }

  private async admit(request: TrainingOpen, member: string): Promise<CoordinatorJob> {
    const { membership, inboxes, limits } = this.deps;
    if (!membership.isMember(member)) throw new AccordError('ACCORD_MEMBER_UNKNOWN', { member });
    const peers = request.peers;
    if (new Set(peers).size !== peers.length || peers.includes(member))
      throw new AccordError('ACCORD_TRAINING_PEER_INVALID', {
        problem: 'peers repeat or include the initiator',
      });
    for (const peer of peers) {
      if (!membership.isMember(peer)) throw new AccordError('ACCORD_MEMBER_UNKNOWN', { member: peer });
      if (!inboxes.isConnected(peer)) throw new AccordError('ACCORD_MEMBER_OFFLINE', { member: peer });
    }
    const participants = [member, ...peers];
    const needed = request.spec.kind === 'vertical' ? participants.length : request.spec.minParticipants;
    if (needed > participants.length)
      throw new AccordError('ACCORD_TRAINING_MIN_PARTICIPANTS', {
        minParticipants: needed,
        participants: participants.length,
      });
    if (
      request.spec.kind === 'vertical' &&
      Object.keys(request.spec.features).sort().join(',') !== [...participants].sort().join(',')
    )
      throw new AccordError('ACCORD_TRAINING_PEER_INVALID', {
        problem: 'a vertical spec lists the features of exactly the participants',
      });
    if (participants.some((m) => this.running(m) >= limits.concurrentPerMember))
      throw new AccordError('ACCORD_TRAINING_LIMIT_REACHED', {
        what: 'training jobs a participant takes part in at once',
        limit: limits.concurrentPerMember,
      });
    const fresh = await this.deps.sessions.open({
      id: request.jobId,
      initiator: member,
      participants,
      openedMs: Date.now(),
    });
    if (!fresh || this.jobs.has(request.jobId))
      throw new AccordError('ACCORD_TRAINING_JOB_EXISTS', { job: request.jobId });
    const job = new CoordinatorJob(
      request.jobId,
      member,
      participants,
      request.spec,
      request.fingerprint,
      {
        cipher: () => cipherSuite(limits.verticalEncryption === 'none' ? 'plain' : 'bfv'),
        deliver: (m, e) => this.deliver(m, e),
        isConnected: (m) => inboxes.isConnected(m),
        stageTimeoutMs: limits.stageTimeoutMs,
        vectorTimeoutMs: limits.vectorTimeoutMs,
        onEnd: (j, outcome, error, by) => this.ended(j, outcome, error, by),
        onEndUndelivered: (m, event) => this.missed(m, event),
        onAggregated: (j, id, contributors) =>
          auditInBackground(this.deps.audit, {
            actor: 'coordinator',
            action: 'training:aggregate',
            target: `training:${j.id}`,
            outcome: 'ok',
            details: { task: id.task, round: id.round, contributors: contributors.join(',') },
          }),
      },
      request.vertical,
    );
    this.jobs.set(job.id, job);
    const timer = setTimeout(
      () =>
        job.end(
          TRAINING_OUTCOME.FAILED,
          new AccordError('ACCORD_TRAINING_TIMEOUT', { what: 'peers to accept' }),
          null,
        ),
      limits.inviteTimeoutMs,
    );
    timer.unref();
    this.inviteTimers.set(job.id, timer);
    return job;
  }

  private ended(
    job: CoordinatorJob,
    outcome: TrainingOutcome,
    error: AccordError | null,
    by: string | null,
  ): void {
    this.jobs.delete(job.id);
    clearTimeout(this.inviteTimers.get(job.id));
    this.inviteTimers.delete(job.id);
    if (error) {
      this.endedWith.set(job.id, error);
      if (this.endedWith.size > 1_000) this.endedWith.delete(this.endedWith.keys().next().value as string);
    }
    const event = job.endEvent(outcome, error, by);
    for (const m of job.participants) if (!this.deps.inboxes.isConnected(m)) this.missed(m, event);
    void this.deps.sessions.end(job.id, outcome, error?.code ?? null, Date.now()).catch(() => undefined);
    auditInBackground(this.deps.audit, {
      actor: by ?? 'coordinator',
      action: 'training:end',
      target: `training:${job.id}`,
      outcome: outcome === TRAINING_OUTCOME.DONE ? 'ok' : 'failed',
      details: {
        outcome,
        ...(error ? { code: error.code } : {}),
        ...(job.verticalBytes !== null ? { bytes: job.verticalBytes } : {}),
      },
    });
  }

  /** Keeps an end event for a member to get when its inbox opens again (once, the last 100). */
  private missed(member: string, event: TrainingEvent): void {
    const missed = this.missedEnds.get(member) ?? [];
    if (missed.includes(event)) return;
    missed.push(event);
    this.missedEnds.set(member, missed.slice(-100));
  }

  private memberLost(member: string): void {
    for (const job of this.jobs.values()) if (job.participants.includes(member)) job.memberLost(member);
  }

  private memberBack(member: string): void {
    for (const job of this.jobs.values()) if (job.participants.includes(member)) job.memberBack(member);
    const missed = this.missedEnds.get(member);
    if (!missed) return;
    this.missedEnds.delete(member);
    for (const event of missed) void this.deliver(member, event).catch(() => undefined);
  }

  handlers(): grpc.UntypedServiceImplementation {
    const { audit, log, inboxes, membership } = this.deps;
    return {
      open: unaryHandler(
        {
          name: 'Training.Open',
          decode: wire.openRequest.fromProto,
          encode: wire.openResponse.toProto,
          target: (r) => `training:${r.jobId}`,
          handle: async (request, { member }) => {
            const job = await this.admitting.run(member, () => this.admit(request, member));
            try {
              await Promise.all(
                request.peers.map((peer) =>
                  this.deliver(peer, {
                    kind: 'invitation',
                    invitation: {
                      jobId: job.id,
                      initiator: member,
                      participants: job.participants,
                      spec: request.spec,
                      dataset: request.peerDatasets[peer] ?? null,
                    },
                  }),
                ),
              );
            } catch (err) {
              job.end(TRAINING_OUTCOME.FAILED, toAccordError(err), null);
              throw err;
            }
            return { invited: [...request.peers] };
          },
        },
        audit,
        log,
      ),
      respond: unaryHandler(
        {
          name: 'Training.Respond',
          decode: wire.respondRequest.fromProto,
          encode: wire.respondResponse.toProto,
          target: (r) => `training:${r.jobId}`,
          handle: async (answer, { member }) => {
            const job = this.job(answer.jobId);
            this.requireParticipant(job, member);
            if (answer.kind === 'decline') {
              // Declining is a valid answer: the job ends for everyone, and the decliner's call succeeds.
              const reason = new AccordError('ACCORD_TRAINING_DECLINED', { member, reason: answer.code });
              job.end(TRAINING_OUTCOME.FAILED, reason, member);
              return {};
            }
            let ready: boolean;
            try {
              ready = job.accept(member, answer.specDigest, answer.fingerprint, answer.vertical);
            } catch (err) {
              job.end(TRAINING_OUTCOME.FAILED, toAccordError(err), member);
              throw err;
            }
            if (ready) {
              clearTimeout(this.inviteTimers.get(job.id));
              void job.run();
            }
            return {};
          },
        },
        audit,
        log,
      ),
      step: unaryHandler(
        {
          name: 'Training.Step',
          decode: wire.stepRequest.fromProto,
          encode: wire.stepResponse.toProto,
          // Several per aggregation; each aggregation's contributors are audited instead.
          auditSuccess: false,
          target: (r) => `training:${r.aggregation.jobId}`,
          handle: async (reply, { member }) => {
            const job = this.job(reply.aggregation.jobId);
            this.requireParticipant(job, member);
            // A malformed answer fails the job for everyone (the job's run ends it); a late one only its sender.
            job.step(member, reply);
            return {};
          },
        },
        audit,
        log,
      ),
      vertical: unaryHandler(
        {
          name: 'Training.Vertical',
          decode: wire.verticalRequest.fromProto,
          encode: wire.verticalResponse.toProto,
          // Many per batch; the job's start and end are audited instead.
          auditSuccess: false,
          target: (r) => `training:${r.batch.jobId}`,
          handle: async (reply, { member }) => {
            const job = this.job(reply.batch.jobId);
            this.requireParticipant(job, member);
            job.verticalStep(member, reply);
            return {};
          },
        },
        audit,
        log,
      ),
      cancel: unaryHandler(
        {
          name: 'Training.Cancel',
          decode: wire.cancelRequest.fromProto,
          encode: wire.cancelResponse.toProto,
          target: (r) => `training:${r.jobId}`,
          handle: async (request, { member }) => {
            const job = this.jobs.get(request.jobId);
            if (!job) return {};
            this.requireParticipant(job, member);
            const cancelled = request.code === 'ACCORD_TRAINING_CANCELLED';
            const error = cancelled
              ? new AccordError('ACCORD_TRAINING_CANCELLED', { by: member })
              : AccordError.fromWire(request.code, { member });
            job.end(cancelled ? TRAINING_OUTCOME.CANCELLED : TRAINING_OUTCOME.FAILED, error, member);
            return {};
          },
        },
        audit,
        log,
      ),
      subscribe: (call: grpc.ServerWritableStream<unknown, unknown>) =>
        serveInbox(call, {
          inboxes,
          rpc: 'Training.Subscribe',
          isMember: (m) => membership.isMember(m),
          isRevoked: this.deps.isRevoked,
          audit,
          onAttached: (member) => this.memberBack(member),
          onLost: (member) => this.memberLost(member),
        }),
    };
  }

  close(): void {
    clearInterval(this.pinger);
    for (const job of [...this.jobs.values()])
      job.end(TRAINING_OUTCOME.FAILED, new AccordError('ACCORD_TRAINING_LOST'), null);
  }
}
