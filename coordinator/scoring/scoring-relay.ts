/**
 * The Scoring gRPC service: relays a vertical model's label holder's requests to a partner's inbox and the partner's
 * reply back as the answer to the label holder's call (primitives/scoring/protocol.ts). It never opens a box: it
 * sets each message's sender from the caller's certificate, holds a reply to the one member the request went to and
 * the one member that asked, refuses a request id it has seen, and gives up at the asker's timeout. It learns who
 * asked whom, when, how many positions and how many bytes, and audits that (counts only, in the background: a
 * real-time request must not wait for the coordinator's log).
 *
 * What it holds is bounded: at most `perPair` requests wait between one asker and one partner and `total` in all
 * (beyond, a request fails at once with ACCORD_SCORING_BUSY), so the requests written to an inbox that does not read
 * cannot grow without end. A waiting request fails at once, not at its timeout, when its partner's inbox closes,
 * stalls (it did not drain in `drainMs`, `Inboxes.onStalled`) or is replaced by a newer one (a reconnect: what the
 * old stream held is lost), and is dropped when the asker cancels its call.
 */
import type * as grpc from '@grpc/grpc-js';
import { type Audit, auditInBackground } from '../../platform/audit/audit-log.js';
import type { PeerIdentity } from '../../platform/grpc/peer-gate.js';
import { unaryHandler } from '../../platform/grpc/server.js';
import type { Logger } from '../../platform/log/logger.js';
import { scoringWire as wire } from '../../platform/wire/scoring.js';
import { AccordError } from '../../primitives/errors/index.js';
import {
  SCORING_INBOX_PING_MS,
  SCORING_STAGE,
  type ScoringEvent,
  type ScoringReply,
  type ScoringRequest,
} from '../../primitives/scoring/protocol.js';
import { type Inboxes, serveInbox } from '../inboxes.js';
import type { Membership } from '../membership.js';

export interface ScoringRelayDeps {
  readonly membership: Membership;
  readonly inboxes: Inboxes<ScoringEvent>;
  readonly audit: Audit;
  readonly log: Logger;
  readonly isRevoked?: (peer: PeerIdentity) => boolean;
  readonly limits?: Partial<ScoringRelayLimits>;
}

interface Pending {
  readonly asker: string;
  readonly to: string;
  readonly resolve: (reply: ScoringReply) => void;
  readonly reject: (error: AccordError) => void;
  /** Clears the timer and the cancellation listener. */
  readonly release: () => void;
}

export interface ScoringRelayLimits {
  /** Requests waiting at once between one asker and one partner. */
  readonly perPair: number;
  /** Requests waiting at once in all. */
  readonly total: number;
  /** A partner's inbox that does not drain in this long is ended (the partner counts as lost and subscribes again). */
  readonly drainMs: number;
}

export const SCORING_RELAY_LIMITS: ScoringRelayLimits = { perPair: 64, total: 1024, drainMs: 30_000 };
/** How often the relayed partials requests are audited, as counts per asker and partner (ms). */
const RELAYED_AUDIT_INTERVAL_MS = 1_000;

/** Request ids remembered to refuse a replay (the most recent ones; ids are random UUIDs). */
const SEEN_IDS = 100_000;

const protocol = (reason: string) => new AccordError('ACCORD_SCORING_PROTOCOL', { reason });

export class ScoringRelay {
  readonly #pending = new Map<string, Pending>();
  /** Requests waiting per `${asker}\n${partner}`. */
  readonly #perPair = new Map<string, number>();
  readonly #seen = new Set<string>();
  readonly #pinger: NodeJS.Timeout;
  readonly #limits: ScoringRelayLimits;
  /** Partials requests relayed since the last flush, per asker and partner: audited as one entry a second. */
  readonly #relayed = new Map<string, { requests: number; positions: number; bytes: number }>();
  readonly #flusher: NodeJS.Timeout;

  constructor(private readonly deps: ScoringRelayDeps) {
    this.#limits = { ...SCORING_RELAY_LIMITS, ...deps.limits };
    // An inbox ended for not draining: what it held will not arrive.
    deps.inboxes.onStalled = (member) => this.#lost(member);
    this.#pinger = setInterval(() => {
      for (const member of deps.inboxes.connectedMembers())
        void deps.inboxes.deliver(member, { kind: 'ping' }).catch(() => undefined);
    }, SCORING_INBOX_PING_MS);
    this.#pinger.unref();
    this.#flusher = setInterval(() => this.#flushRelayed(), RELAYED_AUDIT_INTERVAL_MS);
    this.#flusher.unref();
  }

  /**
   * One audit entry per asker and partner for the partials requests relayed in the last interval (requests,
   * positions, bytes): at hundreds of real-time requests a second an entry each cost the coordinator more CPU than
   * relaying them. Both banks still audit each request they make or answer; hellos are audited one by one.
   */
  #flushRelayed(): void {
    for (const [pair, counts] of this.#relayed) {
      const [asker, partner] = pair.split('\n') as [string, string];
      auditInBackground(this.deps.audit, {
        actor: asker,
        action: `scoring:${SCORING_STAGE.PARTIALS}`,
        target: `member:${partner}`,
        outcome: 'ok',
        details: { ...counts, seconds: RELAYED_AUDIT_INTERVAL_MS / 1000 },
      });
    }
    this.#relayed.clear();
  }

  /** A member's inbox closed, stalled or was replaced: the requests waiting on it fail now, not at their timeout. */
  #lost(member: string): void {
    for (const [id, p] of this.#pending)
      if (p.to === member) this.#drop(id)?.reject(new AccordError('ACCORD_MEMBER_OFFLINE', { member }));
  }

  /** Takes a waiting request out (its counts, timer and listener with it); undefined if it is no longer waiting. */
  #drop(id: string): Pending | undefined {
    const pending = this.#pending.get(id);
    if (!pending) return undefined;
    this.#pending.delete(id);
    const pair = `${pending.asker}\n${pending.to}`;
    const left = (this.#perPair.get(pair) ?? 1) - 1;
    if (left > 0) this.#perPair.set(pair, left);
    else this.#perPair.delete(pair);
    pending.release();
    return pending;
  }

  /** Requests waiting now (all, or between `asker` and `to`). */
  waiting(asker?: string, to?: string): number {
    return asker === undefined ? this.#pending.size : (this.#perPair.get(`${asker}\n${to}`) ?? 0);
  }

  #remember(id: string): boolean {
    if (this.#seen.has(id)) return false;
    this.#seen.add(id);
    if (this.#seen.size > SEEN_IDS) this.#seen.delete(this.#seen.values().next().value as string);
    return true;
  }

  /**
   * Relays `request` of `asker` to its partner and resolves with the reply; rejects at `timeoutMs`, at once when the
   * partner's inbox is lost, and when `signal` aborts (the asker cancelled its call).
   */
  async ask(
    request: ScoringRequest,
    timeoutMs: number,
    asker: string,
    signal?: AbortSignal,
  ): Promise<ScoringReply> {
    const { membership, inboxes } = this.deps;
    const to = request.to;
    if (!membership.isMember(asker)) throw new AccordError('ACCORD_MEMBER_UNKNOWN', { member: asker });
    if (to === asker) throw protocol('a member cannot ask itself');
    if (!membership.isMember(to)) throw new AccordError('ACCORD_MEMBER_UNKNOWN', { member: to });
    if (!inboxes.isConnected(to)) throw new AccordError('ACCORD_MEMBER_OFFLINE', { member: to });
    const pair = `${asker}\n${to}`;
    if ((this.#perPair.get(pair) ?? 0) >= this.#limits.perPair)
      throw new AccordError('ACCORD_SCORING_BUSY', {
        scope: `from ${asker} to ${to} at the coordinator`,
        limit: this.#limits.perPair,
      });
    if (this.#pending.size >= this.#limits.total)
      throw new AccordError('ACCORD_SCORING_BUSY', {
        scope: 'at the coordinator',
        limit: this.#limits.total,
      });
    if (signal?.aborted) throw protocol('the asker cancelled the request');
    if (!this.#remember(request.requestId)) throw protocol('the request id was used before');
    const id = request.requestId;
    const relayed: ScoringRequest = { ...request, from: asker };
    const reply = new Promise<ScoringReply>((resolve, reject) => {
      const timer = setTimeout(
        () =>
          this.#drop(id)?.reject(
            new AccordError('ACCORD_SCORING_PEER_TIMEOUT', { member: to, ms: timeoutMs }),
          ),
        timeoutMs,
      );
      const cancelled = () => this.#drop(id)?.reject(protocol('the asker cancelled the request'));
      signal?.addEventListener('abort', cancelled, { once: true });
      this.#pending.set(id, {
        asker,
        to,
        resolve,
        reject,
        release: () => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', cancelled);
        },
      });
      this.#perPair.set(pair, (this.#perPair.get(pair) ?? 0) + 1);
    });
    // The reply (or the timeout, the inbox's loss, the asker's cancellation) settles the call; a delivery that fails
    // (the inbox closed or did not drain in time) fails it at once. What waits in the inbox's buffer is bounded by the
    // caps above.
    inboxes
      .deliver(to, { kind: 'request', request: relayed }, this.#limits.drainMs)
      .catch((err: AccordError) => this.#drop(id)?.reject(err));
    return reply;
  }

  #answer(reply: ScoringReply, member: string): void {
    const pending = this.#pending.get(reply.requestId);
    if (!pending || pending.to !== member)
      throw protocol('no request of that id awaits this member’s answer');
    if (reply.to !== pending.asker) throw protocol('the answer is addressed to another member');
    this.#drop(reply.requestId);
    if (reply.kind === 'error') pending.reject(AccordError.fromWire(reply.code, reply.params));
    else pending.resolve({ ...reply, from: member });
  }

  handlers(): grpc.UntypedServiceImplementation {
    const { audit, log, inboxes, membership } = this.deps;
    return {
      ask: unaryHandler(
        {
          name: 'Scoring.Ask',
          decode: wire.askRequest.fromProto,
          encode: wire.askResponse.toProto,
          // Up to hundreds a second in real time: audited below, in the background, with counts only.
          auditSuccess: false,
          target: (a) => `member:${a.request.to}`,
          handle: async ({ request, timeoutMs }, { member, signal }) => {
            const reply = await this.ask(request, timeoutMs, member, signal);
            if (request.stage === SCORING_STAGE.PARTIALS) {
              const pair = `${member}\n${request.to}`;
              const counts = this.#relayed.get(pair) ?? { requests: 0, positions: 0, bytes: 0 };
              counts.requests++;
              counts.positions += request.count;
              counts.bytes += reply.kind === 'box' ? reply.box.length : 0;
              this.#relayed.set(pair, counts);
            } else
              auditInBackground(audit, {
                actor: member,
                action: `scoring:${request.stage}`,
                target: `member:${request.to}`,
                outcome: 'ok',
                details: {},
              });
            return reply;
          },
        },
        audit,
        log,
      ),
      answer: unaryHandler(
        {
          name: 'Scoring.Answer',
          decode: wire.answerRequest.fromProto,
          encode: wire.answerResponse.toProto,
          auditSuccess: false,
          target: (r) => `member:${r.to}`,
          handle: async (reply, { member }) => {
            this.#answer(reply, member);
            return {};
          },
        },
        audit,
        log,
      ),
      subscribe: (call: grpc.ServerWritableStream<unknown, unknown>) =>
        serveInbox(call, {
          inboxes,
          rpc: 'Scoring.Subscribe',
          isMember: (m) => membership.isMember(m),
          isRevoked: this.deps.isRevoked,
          audit,
          // A new inbox replaces the old one (a reconnect): requests written to the old one will not be answered.
          onAttached: (member) => this.#lost(member),
          onLost: (member) => this.#lost(member),
        }),
    };
  }

  close(): void {
    clearInterval(this.#pinger);
    clearInterval(this.#flusher);
    this.#flushRelayed();
    for (const id of [...this.#pending.keys()])
      this.#drop(id)?.reject(
        new AccordError('ACCORD_COORDINATOR_UNAVAILABLE', { reason: 'the coordinator is stopping' }),
      );
  }
}
