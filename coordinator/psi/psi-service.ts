/**
 * The Psi gRPC service: opens sessions, relays invitations and answers, routes point batches around the ring, and
 * computes what each learner receives at the end (see primitives/psi/session-protocol.ts for the flow).
 */
import type * as grpc from '@grpc/grpc-js';
import type { Logger } from '../../platform/log/logger.js';
import { type Audit, auditInBackground } from '../../platform/audit/audit-log.js';
import { peerMember, unaryHandler } from '../../platform/grpc/server.js';
import { type PsiEvent, psiWire as wire } from '../../platform/wire/psi.js';
import { AccordError, toAccordError } from '../../primitives/errors/index.js';
import type { IdKind } from '../../primitives/identity/normalise.js';
import { hashToCurveBatch } from '../../primitives/psi/hash-to-curve.js';
import {
  PSI_BATCH_POINTS,
  PSI_OUTCOME,
  PSI_STAGE,
  type PsiOutcome,
} from '../../primitives/psi/session-protocol.js';
import type { Membership } from '../membership.js';
import { commonToAll, padTo, shuffled } from './final-sets.js';
import type { Inboxes } from './inboxes.js';
import { PsiSession } from './session.js';
import { randomBytes } from 'node:crypto';

export interface PsiServiceDeps {
  readonly membership: Membership;
  readonly inboxes: Inboxes;
  readonly audit: Audit;
  readonly log: Logger;
  /** How long a session may wait for peers to accept (ms). */
  readonly inviteTimeoutMs: number;
}

const POINT = 32;

/** Random curve points for padding: indistinguishable from blinded points to anyone without every key. */
function randomCurvePoints(n: number, kind: string): Buffer {
  const seeds = Array.from({ length: n }, () => randomBytes(16).toString('hex'));
  return hashToCurveBatch(seeds, kind as IdKind, `padding-${randomBytes(8).toString('hex')}`);
}

export class PsiCoordinator {
  private readonly sessions = new Map<string, PsiSession>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  /** Why recent sessions ended, so that a participant still sending learns the real reason, not "not found". */
  private readonly endedWith = new Map<string, AccordError>();

  constructor(private readonly deps: PsiServiceDeps) {}

  sessionCount(): number {
    return this.sessions.size;
  }

  private session(id: string): PsiSession {
    const session = this.sessions.get(id);
    if (!session)
      throw this.endedWith.get(id) ?? new AccordError('ACCORD_PSI_SESSION_NOT_FOUND', { session: id });
    return session;
  }

  private async broadcast(session: PsiSession, event: PsiEvent, except?: string): Promise<void> {
    await Promise.all(
      session.participants
        .filter((m) => m !== except)
        .map((m) => this.deps.inboxes.deliver(m, event).catch(() => undefined)),
    );
  }

  /** Ends a session once: tells every participant, frees its memory, audits the outcome. */
  end(id: string, outcome: PsiOutcome, error: AccordError | null, by: string): void {
    const session = this.sessions.get(id);
    if (!session) return;
    this.sessions.delete(id);
    clearTimeout(this.timers.get(id));
    this.timers.delete(id);
    session.release();
    if (error) {
      this.endedWith.set(id, error);
      if (this.endedWith.size > 1_000) this.endedWith.delete(this.endedWith.keys().next().value!);
    }
    const errorCode = error?.code ?? '';
    void this.broadcast(session, { kind: 'end', end: { sessionId: id, outcome, errorCode, by } });
    auditInBackground(this.deps.audit, {
      actor: by || 'coordinator',
      action: 'psi:session-end',
      target: `psi:${id}`,
      outcome: outcome === PSI_OUTCOME.DONE ? 'ok' : 'failed',
      details: {
        participants: session.participants.join(','),
        mode: session.terms.mode,
        ...(errorCode ? { code: errorCode } : {}),
      },
    });
  }

  /** A member's inbox closed: every session it is in fails. */
  memberLost(member: string): void {
    for (const [id, session] of this.sessions) {
      if (session.isParticipant(member))
        this.end(id, PSI_OUTCOME.FAILED, new AccordError('ACCORD_PSI_PEER_LOST', { member }), '');
    }
  }

  private async finish(session: PsiSession): Promise<void> {
    session.state = 'finishing';
    const kind = session.terms.idKind;
    for (const learner of session.learners) {
      const others = session.ring.filter((m) => m !== learner).map((m) => session.finalOf(m));
      const padSize = Math.min(...others.map((o) => o.length / POINT));
      const common = shuffled(padTo(commonToAll(others), padSize, (n) => randomCurvePoints(n, kind)));
      await this.stream(session, learner, PSI_STAGE.FINAL_OTHERS, '', common);
      const own =
        session.terms.mode === 'cardinality' ? shuffled(session.finalOf(learner)) : session.finalOf(learner);
      await this.stream(session, learner, PSI_STAGE.FINAL_OWN, learner, own);
    }
    this.end(session.terms.id, PSI_OUTCOME.DONE, null, '');
  }

  private async stream(
    session: PsiSession,
    to: string,
    stage: 'final_others' | 'final_own',
    origin: string,
    points: Buffer,
  ): Promise<void> {
    const total = points.length / POINT;
    const batches = Math.max(1, Math.ceil(total / PSI_BATCH_POINTS));
    for (let b = 0; b < batches; b++) {
      if (session.state === 'ended') return;
      const slice = points.subarray(
        b * PSI_BATCH_POINTS * POINT,
        Math.min(total, (b + 1) * PSI_BATCH_POINTS) * POINT,
      );
      await this.deps.inboxes.deliver(to, {
        kind: 'batch',
        batch: {
          sessionId: session.terms.id,
          stage,
          origin,
          hop: session.ring.length,
          batchIndex: b,
          count: slice.length / POINT,
          points: slice,
          last: b === batches - 1,
          streamTotal: total,
        },
      });
    }
  }

  handlers(): grpc.UntypedServiceImplementation {
    const { audit, log, inboxes, membership } = this.deps;
    return {
      open: unaryHandler(
        {
          name: 'Psi.Open',
          decode: wire.openRequest.fromProto,
          encode: wire.openResponse.toProto,
          target: (r) => `psi:${r.sessionId}`,
          handle: async (request, { member }) => {
            if (!membership.isMember(member)) throw new AccordError('ACCORD_MEMBER_UNKNOWN', { member });
            const peers = request.peers;
            if (new Set(peers).size !== peers.length || peers.includes(member)) {
              throw new AccordError('ACCORD_PSI_PEER_INVALID', {
                problem: 'peers repeat or include the initiator',
              });
            }
            for (const peer of peers) {
              if (!membership.isMember(peer))
                throw new AccordError('ACCORD_MEMBER_UNKNOWN', { member: peer });
              if (!inboxes.isConnected(peer))
                throw new AccordError('ACCORD_MEMBER_OFFLINE', { member: peer });
            }
            if (this.sessions.has(request.sessionId))
              throw new AccordError('ACCORD_PSI_SESSION_EXISTS', { session: request.sessionId });
            const session = new PsiSession({
              id: request.sessionId,
              initiator: member,
              peers,
              idKind: request.idKind,
              mode: request.mode,
              reveal: request.reveal,
              initiatorSetSize: request.setSize,
            });
            this.sessions.set(request.sessionId, session);
            const timer = setTimeout(
              () =>
                this.end(
                  request.sessionId,
                  PSI_OUTCOME.FAILED,
                  new AccordError('ACCORD_PSI_TIMEOUT', { what: 'peers to accept' }),
                  '',
                ),
              this.deps.inviteTimeoutMs,
            );
            timer.unref();
            this.timers.set(request.sessionId, timer);
            await Promise.all(
              peers.map((peer) =>
                inboxes.deliver(peer, {
                  kind: 'invitation',
                  invitation: {
                    sessionId: request.sessionId,
                    initiator: member,
                    participants: session.participants as string[],
                    idKind: request.idKind,
                    mode: request.mode,
                    reveal: request.reveal,
                    dataset: request.peerDatasets[peer] ?? '',
                  },
                }),
              ),
            );
            return { invited: [...peers] };
          },
        },
        audit,
        log,
      ),
      respond: unaryHandler(
        {
          name: 'Psi.Respond',
          decode: wire.respondRequest.fromProto,
          encode: wire.respondResponse.toProto,
          target: (r) => `psi:${r.sessionId}`,
          handle: async (request, { member }) => {
            const session = this.session(request.sessionId);
            let ready: boolean;
            try {
              ready = session.respond(member, request);
            } catch (err) {
              this.end(request.sessionId, PSI_OUTCOME.FAILED, toAccordError(err), member);
              throw err;
            }
            if (ready) {
              clearTimeout(this.timers.get(request.sessionId));
              await this.broadcast(session, {
                kind: 'start',
                start: {
                  sessionId: session.terms.id,
                  ring: [...session.ring],
                  setSizes: session.setSizes(),
                  learners: session.learners,
                },
              });
            }
            return {};
          },
        },
        audit,
        log,
      ),
      send: unaryHandler(
        {
          name: 'Psi.Send',
          decode: wire.sendRequest.fromProto,
          encode: wire.sendResponse.toProto,
          // Point batches arrive thousands of times per session; the session's start and end are audited instead.
          auditSuccess: false,
          target: (r) => `psi:${r.sessionId}`,
          handle: async (request, { member }) => {
            const session = this.session(request.sessionId);
            let route: ReturnType<PsiSession['route']>;
            try {
              route = session.route(member, request);
            } catch (err) {
              this.end(request.sessionId, PSI_OUTCOME.FAILED, toAccordError(err), member);
              throw err;
            }
            if (route.kind === 'forward') {
              await inboxes.deliver(route.to, {
                kind: 'batch',
                batch: {
                  sessionId: request.sessionId,
                  stage: PSI_STAGE.RING,
                  origin: request.origin,
                  hop: request.hop,
                  batchIndex: request.batchIndex,
                  count: request.count,
                  points: request.points,
                  last: request.last,
                  streamTotal: session.setSizes()[session.ring.indexOf(request.origin)]!,
                },
              });
            } else if (session.finalsComplete() && session.state === 'running') {
              this.finish(session).catch((err) => {
                log.warn('PSI finish failed', { session: session.terms.id, code: toAccordError(err).code });
                this.end(session.terms.id, PSI_OUTCOME.FAILED, toAccordError(err), '');
              });
            }
            return {};
          },
        },
        audit,
        log,
      ),
      cancel: unaryHandler(
        {
          name: 'Psi.Cancel',
          decode: wire.cancelRequest.fromProto,
          encode: wire.cancelResponse.toProto,
          target: (r) => `psi:${r.sessionId}`,
          handle: async (request, { member }) => {
            const session = this.sessions.get(request.sessionId);
            if (!session) return {};
            session.requireParticipant(member);
            const code = request.code || 'ACCORD_PSI_CANCELLED';
            const error =
              code === 'ACCORD_PSI_CANCELLED'
                ? new AccordError('ACCORD_PSI_CANCELLED', { by: member })
                : AccordError.fromWire(code, {});
            this.end(
              request.sessionId,
              code === 'ACCORD_PSI_CANCELLED' ? PSI_OUTCOME.CANCELLED : PSI_OUTCOME.FAILED,
              error,
              member,
            );
            return {};
          },
        },
        audit,
        log,
      ),
      subscribe: (call: grpc.ServerWritableStream<unknown, unknown>) => {
        let member: string;
        try {
          member = peerMember(call);
          if (!membership.isMember(member)) throw new AccordError('ACCORD_MEMBER_UNKNOWN', { member });
        } catch (err) {
          const accord = toAccordError(err);
          auditInBackground(audit, {
            actor: 'unidentified',
            action: 'rpc:Psi.Subscribe',
            target: '',
            outcome: 'denied',
            details: { code: accord.code },
          });
          call.destroy(Object.assign(new Error(accord.message), { code: accord.grpcStatus }));
          return;
        }
        // The inbox opens only once its opening is on record.
        audit({
          actor: member,
          action: 'rpc:Psi.Subscribe',
          target: 'inbox',
          outcome: 'ok',
          details: {},
        }).then(
          () => {
            if (call.cancelled || call.destroyed) return;
            inboxes.attach(member, call);
            const closed = () => {
              if (inboxes.detach(member, call)) this.memberLost(member);
            };
            call.on('cancelled', closed);
            call.on('close', closed);
            call.on('error', closed);
          },
          (err: AccordError) => call.destroy(Object.assign(new Error(err.message), { code: err.grpcStatus })),
        );
      },
    };
  }

  close(): void {
    for (const id of [...this.sessions.keys()])
      this.end(id, PSI_OUTCOME.FAILED, new AccordError('ACCORD_PSI_SESSION_LOST'), '');
  }
}
