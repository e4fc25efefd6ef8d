/**
 * The Psi gRPC service: opens sessions within each member's limits, relays invitations and answers, routes point
 * batches around the ring, compares the fully blinded sets and hands each learner only its own result (the flow and
 * what each party learns: primitives/psi/session-protocol.ts). Limits, and what each one stops:
 *  - session ids are single-use, across restarts (the session store's primary key);
 *  - per member: sessions it takes part in at once, sessions it opens per 24 hours;
 *  - announced set sizes: at most `maxSetSize` each, largest / smallest at most the smallest cap any party set, and
 *    the points of all running sessions within `maxPointsInMemory` (checked before anything is allocated);
 *  - time: `inviteTimeoutMs` to accept, then `idleTimeoutMs` without a point moving, `runTimeoutMs` in all.
 */
import type * as grpc from '@grpc/grpc-js';
import { type Audit, auditInBackground } from '../../platform/audit/audit-log.js';
import { unaryHandler } from '../../platform/grpc/server.js';
import type { PeerIdentity } from '../../platform/grpc/peer-gate.js';
import type { Logger } from '../../platform/log/logger.js';
import type { PsiSessionStore } from '../../platform/store/psi-types.js';
import { psiWire as wire } from '../../platform/wire/psi.js';
import { PerKeyQueue } from '../../primitives/concurrency/per-key-queue.js';
import { AccordError, toAccordError } from '../../primitives/errors/index.js';
import {
  PSI_OUTCOME,
  PSI_RESULT_BATCH,
  type PsiEvent,
  type PsiOpen,
  type PsiOutcome,
} from '../../primitives/psi/session-protocol.js';
import type { Membership } from '../membership.js';
import { type Inboxes, serveInbox } from '../inboxes.js';
import { intersect } from './intersect.js';
import { PsiSession } from './session.js';

export interface PsiLimits {
  readonly inviteTimeoutMs: number;
  readonly idleTimeoutMs: number;
  readonly runTimeoutMs: number;
  readonly maxSetSize: number;
  readonly maxPointsInMemory: number;
  readonly maxSizeRatio: number;
  readonly perMember: { readonly concurrent: number; readonly perDay: number };
}

export interface PsiServiceDeps {
  readonly membership: Membership;
  readonly inboxes: Inboxes<PsiEvent>;
  readonly sessions: PsiSessionStore;
  readonly audit: Audit;
  readonly log: Logger;
  readonly limits: PsiLimits;
  readonly now?: () => number;
  /** Whether a peer's certificate is revoked now (checked again when an inbox opens after an awaited audit write). */
  readonly isRevoked?: (peer: PeerIdentity) => boolean;
}

const DAY_MS = 86_400_000;

export class PsiCoordinator {
  private readonly sessions = new Map<string, PsiSession>();
  private readonly timers = new Map<
    string,
    { invite?: NodeJS.Timeout; idle?: NodeJS.Timeout; run?: NodeJS.Timeout }
  >();
  /** Each member's Open being admitted, so that its limits are checked one Open at a time. */
  private readonly admitting = new PerKeyQueue();
  /** Why recent sessions ended, so that a participant still sending learns the real reason, not "not found". */
  private readonly endedWith = new Map<string, AccordError>();
  /** Points reserved by running sessions (their announced sizes), against `maxPointsInMemory`. */
  private reservedPoints = 0;
  private readonly now: () => number;

  constructor(private readonly deps: PsiServiceDeps) {
    this.now = deps.now ?? Date.now;
  }

  sessionCount(): number {
    return this.sessions.size;
  }

  /** At start-up: sessions a previous run left open are recorded as lost (their members learnt it on disconnect). */
  async recover(): Promise<number> {
    return this.deps.sessions.endUnfinished('lost', this.now());
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

  private timer(id: string, which: 'invite' | 'idle' | 'run', ms: number, what: string): void {
    if (!this.sessions.has(id)) return; // ended meanwhile: arming a timer would only leak its entry
    const timers = this.timers.get(id) ?? {};
    clearTimeout(timers[which]);
    timers[which] = setTimeout(
      () => this.end(id, PSI_OUTCOME.FAILED, new AccordError('ACCORD_PSI_TIMEOUT', { what }), null),
      ms,
    );
    timers[which].unref();
    this.timers.set(id, timers);
  }

  private clearTimers(id: string): void {
    const timers = this.timers.get(id);
    if (timers) for (const t of Object.values(timers)) clearTimeout(t);
    this.timers.delete(id);
  }

  /** Ends a session once: tells every participant, frees its memory, records and audits the outcome. */
  end(id: string, outcome: PsiOutcome, error: AccordError | null, by: string | null): void {
    const session = this.sessions.get(id);
    if (!session) return;
    this.sessions.delete(id);
    this.clearTimers(id);
    if (session.state !== 'inviting') this.reservedPoints -= session.totalPoints();
    session.release();
    if (error) {
      this.endedWith.set(id, error);
      if (this.endedWith.size > 1_000) this.endedWith.delete(this.endedWith.keys().next().value!);
    }
    const end: PsiEvent =
      outcome === PSI_OUTCOME.DONE || !error
        ? { kind: 'end', end: { sessionId: id, outcome: 'done' } }
        : { kind: 'end', end: { sessionId: id, outcome, error, by } };
    void this.broadcast(session, end);
    this.deps.sessions
      .end(id, outcome, error?.code ?? null, this.now())
      .catch((err) => this.deps.log.error('could not record the end of a PSI session', { session: id, err }));
    auditInBackground(this.deps.audit, {
      actor: by ?? 'coordinator',
      action: 'psi:session-end',
      target: `psi:${id}`,
      outcome: outcome === PSI_OUTCOME.DONE ? 'ok' : 'failed',
      details: {
        participants: session.participants.join(','),
        mode: session.terms.mode,
        ...(error ? { code: error.code } : {}),
      },
    });
  }

  /** A member's inbox closed: every session it is in fails. */
  memberLost(member: string): void {
    for (const [id, session] of this.sessions) {
      if (session.isParticipant(member))
        this.end(id, PSI_OUTCOME.FAILED, new AccordError('ACCORD_PSI_PEER_LOST', { member }), null);
    }
  }

  /**
   * Sessions `member` takes part in right now: every one it opened, and those of others it joined (running). A peer's
   * invitations that merely wait do not count against it, so a partner cannot fill another's slots by inviting.
   */
  private running(member: string): number {
    let n = 0;
    for (const s of this.sessions.values())
      if (s.terms.initiator === member || (s.isParticipant(member) && s.state !== 'inviting')) n++;
    return n;
  }

  /**
   * Step 1 checks, one Open per member at a time: the limits are counted and the session recorded before the next of
   * the same member's Opens is looked at, so simultaneous Opens cannot all pass a limit that only one may.
   */
  private admit(request: PsiOpen, member: string): Promise<PsiSession> {
    return this.admitting.run(member, () => this.admitNow(request, member));
  }

  /** Membership, peers online, per-member limits, the id never used before; the session is in `sessions` on return. */
  private async admitNow(request: PsiOpen, member: string): Promise<PsiSession> {
    const { membership, inboxes, limits } = this.deps;
    if (!membership.isMember(member)) throw new AccordError('ACCORD_MEMBER_UNKNOWN', { member });
    const peers = request.peers;
    if (new Set(peers).size !== peers.length || peers.includes(member)) {
      throw new AccordError('ACCORD_PSI_PEER_INVALID', { problem: 'peers repeat or include the initiator' });
    }
    for (const peer of peers) {
      if (!membership.isMember(peer)) throw new AccordError('ACCORD_MEMBER_UNKNOWN', { member: peer });
      if (!inboxes.isConnected(peer)) throw new AccordError('ACCORD_MEMBER_OFFLINE', { member: peer });
    }
    const { concurrent, perDay } = limits.perMember;
    if (this.running(member) >= concurrent)
      throw new AccordError('ACCORD_PSI_LIMIT_REACHED', {
        what: 'your sessions running at once',
        limit: concurrent,
      });
    // Another member's load is not named: that would tell the initiator what the peer is doing.
    if (peers.some((p) => this.running(p) >= concurrent))
      throw new AccordError('ACCORD_PSI_LIMIT_REACHED', {
        what: 'a peer’s sessions running at once',
        limit: concurrent,
      });
    const now = this.now();
    if ((await this.deps.sessions.openedSince(member, now - DAY_MS)) >= perDay)
      throw new AccordError('ACCORD_PSI_LIMIT_REACHED', {
        what: 'sessions you opened in 24 hours',
        limit: perDay,
      });
    const session = new PsiSession(
      {
        id: request.sessionId,
        initiator: member,
        peers,
        idKind: request.idKind,
        mode: request.mode,
        reveal: request.reveal,
        initiatorSetSize: request.setSize,
        initiatorMaxRatio: request.maxSizeRatio,
      },
      { maxSetSize: limits.maxSetSize, maxSizeRatio: limits.maxSizeRatio },
    );
    const fresh = await this.deps.sessions.open({
      id: request.sessionId,
      initiator: member,
      participants: session.participants,
      openedMs: now,
    });
    if (!fresh || this.sessions.has(request.sessionId))
      throw new AccordError('ACCORD_PSI_SESSION_EXISTS', { session: request.sessionId });
    this.sessions.set(request.sessionId, session);
    return session;
  }

  /** Step 2, once every peer accepted: reserve memory for the session's points, allocate, start the clocks. */
  private async start(session: PsiSession): Promise<void> {
    const points = session.totalPoints();
    if (this.reservedPoints + points > this.deps.limits.maxPointsInMemory)
      throw new AccordError('ACCORD_PSI_CAPACITY_EXCEEDED', { points });
    this.reservedPoints += points;
    session.begin();
    const id = session.terms.id;
    clearTimeout(this.timers.get(id)?.invite);
    this.timer(id, 'run', this.deps.limits.runTimeoutMs, 'the session to finish');
    this.timer(id, 'idle', this.deps.limits.idleTimeoutMs, 'points (no progress)');
    await this.broadcast(session, {
      kind: 'start',
      start: {
        sessionId: id,
        ring: [...session.ring],
        setSizes: session.setSizes(),
        learners: session.learners,
      },
    });
  }

  /** Step 4: compare the fully blinded sets; each learner gets its positions (or the count) and nothing else. */
  private async finish(session: PsiSession): Promise<void> {
    session.state = 'finishing';
    const learners = session.learners.map((m) => session.ring.indexOf(m));
    const result = intersect(session.finalKeys(), session.terms.mode === 'intersection' ? learners : []);
    for (const learner of learners) {
      const to = session.ring[learner]!;
      const positions = result.positions.get(learner) ?? new Uint32Array(0);
      const batches = Math.max(1, Math.ceil(positions.length / PSI_RESULT_BATCH));
      for (let b = 0; b < batches; b++) {
        if (!this.sessions.has(session.terms.id)) return; // ended meanwhile (cancel, lost peer)
        await this.deps.inboxes.deliver(to, {
          kind: 'result',
          result: {
            sessionId: session.terms.id,
            size: result.size,
            batchIndex: b,
            positions: positions.subarray(b * PSI_RESULT_BATCH, (b + 1) * PSI_RESULT_BATCH),
            last: b === batches - 1,
          },
        });
      }
    }
    this.end(session.terms.id, PSI_OUTCOME.DONE, null, null);
  }

  /** Runs `step` for a session; any error it throws ends the session (blaming `member`) and is rethrown. */
  private async guarded<T>(id: string, member: string | null, step: () => Promise<T> | T): Promise<T> {
    try {
      return await step();
    } catch (err) {
      this.end(id, PSI_OUTCOME.FAILED, toAccordError(err), member);
      throw err;
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
            const session = await this.admit(request, member);
            const id = request.sessionId;
            this.timer(id, 'invite', this.deps.limits.inviteTimeoutMs, 'peers to accept');
            await this.guarded(id, null, () =>
              Promise.all(
                request.peers.map((peer) =>
                  inboxes.deliver(peer, {
                    kind: 'invitation',
                    invitation: {
                      sessionId: id,
                      initiator: member,
                      participants: session.participants,
                      idKind: request.idKind,
                      mode: request.mode,
                      reveal: request.reveal,
                      dataset: request.peerDatasets[peer],
                      initiatorSetSize: request.setSize,
                    },
                  }),
                ),
              ),
            );
            return { invited: [...request.peers] };
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
          handle: async (answer, { member }) => {
            const session = this.session(answer.sessionId);
            session.requireParticipant(member);
            if (answer.kind === 'decline') {
              // Declining is a valid answer: the session ends for everyone, and the decliner's call succeeds.
              const reason = new AccordError('ACCORD_PSI_DECLINED', { member, reason: answer.code });
              this.end(answer.sessionId, PSI_OUTCOME.FAILED, reason, member);
              return {};
            }
            const ready = await this.guarded(answer.sessionId, member, () => session.respond(member, answer));
            if (ready) await this.guarded(answer.sessionId, null, () => this.start(session));
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
            session.requireParticipant(member);
            const route = await this.guarded(request.sessionId, member, () => session.route(member, request));
            this.timer(request.sessionId, 'idle', this.deps.limits.idleTimeoutMs, 'points (no progress)');
            if (route.kind === 'forward') {
              await inboxes.deliver(route.to, {
                kind: 'batch',
                batch: {
                  ...request,
                  streamTotal: session.setSizes()[session.ring.indexOf(request.origin)]!,
                },
              });
            } else if (session.finalsComplete() && session.state === 'running') {
              this.finish(session).catch((err) => {
                log.warn('PSI finish failed', { session: session.terms.id, code: toAccordError(err).code });
                this.end(session.terms.id, PSI_OUTCOME.FAILED, toAccordError(err), null);
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
            const cancelled = request.code === 'ACCORD_PSI_CANCELLED';
            const error = cancelled
              ? new AccordError('ACCORD_PSI_CANCELLED', { by: member })
              : AccordError.fromWire(request.code, { member });
            this.end(
              request.sessionId,
              cancelled ? PSI_OUTCOME.CANCELLED : PSI_OUTCOME.FAILED,
              error,
              member,
            );
            return {};
          },
        },
        audit,
        log,
      ),
      subscribe: (call: grpc.ServerWritableStream<unknown, unknown>) =>
        serveInbox(call, {
          inboxes,
          rpc: 'Psi.Subscribe',
          isMember: (m) => membership.isMember(m),
          isRevoked: this.deps.isRevoked,
          audit,
          onLost: (member) => this.memberLost(member),
        }),
    };
  }

  close(): void {
    for (const id of [...this.sessions.keys()])
      this.end(id, PSI_OUTCOME.FAILED, new AccordError('ACCORD_PSI_SESSION_LOST'), null);
  }
}
