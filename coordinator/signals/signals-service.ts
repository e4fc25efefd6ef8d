/**
 * The Signals gRPC service: the coordinator's side of fraud-signal sharing.
 *
 * Tokens come from the two-key OPRF of `shared/oprf/fraud-token.ts` (read its header first: numbered flow, keys,
 * what each party learns). Around it, one query or publish runs:
 *
 *  1. Node: normalises the identifier, blinds it: B = H(x)^(k_m·r).                     -> Evaluate(B)
 *  2. Coordinator (here): rate-limits the member per element, answers E = B^k_c.       <- E
 *     Learns: that this member asked for n evaluations. Not x, not the token.
 *  3. Node: token T = finalize(E) (unblinds with 1/r, hashes).
 *  4a. Publish(T, kind, at): the coordinator checks every entry (known kind; `at` within the clock-skew allowance
 *      and the retention period) before storing any, then stores (T, kind, member, at). Learns: member M reported
 *      a signal of this kind for SOME identifier at this time; it cannot tell which identifier (it lacks k_m).
 *  4b. Query(T): the coordinator rate-limits, reads the token's unexpired signals, and answers aggregates only
 *      (`aggregate.ts`): distinct OTHER members per application window and per flag kind, newest flag time.
 *      The querying member learns those counts and nothing else: no member names, not its own signals back.
 *      The coordinator learns that the member asked about token T (and, when T has signals, links the query to
 *      the publishers of T) — the price of answering at all.
 *  5. Retract(ids): only the publisher may delete its signals; gone for every member at once.
 *
 * Expired signals (older than `signals.retentionDays`) are ignored by queries and deleted by a periodic sweep.
 * Audit: every call is audited by `unaryHandler`; the target is a count or the first 8 hex characters of the token
 * (enough to see one token queried many times, not enough to look it up).
 */
import type * as grpc from '@grpc/grpc-js';
import { type Audit, unaryHandler } from '../../platform/grpc/server.js';
import type { Logger } from '../../platform/log/logger.js';
import type { NewSignal, SignalStore } from '../../platform/store/signal-types.js';
import { signalsWire as wire } from '../../platform/wire/signals.js';
import { AccordError } from '../../shared/errors/index.js';
import type { CoordinatorKey } from '../../shared/oprf/coordinator-key.js';
import { evaluateBatch } from '../../shared/oprf/fraud-token.js';
import { AUDIT_TOKEN_PREFIX_HEX, DAY_MS, isSignalKind, SIGNAL_KINDS } from '../../shared/signals/protocol.js';
import { aggregateSignals, isEmptyAggregate } from './aggregate.js';
import { type BucketLimit, MemberRateLimiter } from './rate-limiter.js';

export interface SignalsSettings {
  readonly retentionDays: number;
  readonly clockSkewMs: number;
  readonly sweepIntervalMs: number;
  readonly evaluationLimit: (member: string) => BucketLimit;
  readonly queryLimit: (member: string) => BucketLimit;
}

export interface SignalsServiceDeps {
  readonly isMember: (member: string) => boolean;
  /** null when the coordinator has no OPRF key configured: Evaluate is refused, the rest works. */
  readonly key: CoordinatorKey | null;
  readonly store: SignalStore;
  readonly settings: SignalsSettings;
  readonly audit: Audit;
  readonly log: Logger;
  readonly now: () => number;
}

function tokenPrefix(token: Uint8Array): string {
  return `token:${Buffer.from(token.subarray(0, AUDIT_TOKEN_PREFIX_HEX / 2)).toString('hex')}`;
}

const at = (index: number) => ` at index ${index}`;

/**
 * Checks a whole publish batch; throws the first problem with its index. Pure apart from the arguments.
 */
export function validateSignals(
  signals: readonly NewSignal[],
  nowMs: number,
  settings: Pick<SignalsSettings, 'retentionDays' | 'clockSkewMs'>,
): void {
  const oldest = nowMs - settings.retentionDays * DAY_MS;
  const newest = nowMs + settings.clockSkewMs;
  for (let i = 0; i < signals.length; i++) {
    const s = signals[i]!;
    if (!isSignalKind(s.kind))
      throw new AccordError('ACCORD_SIGNAL_KIND_UNKNOWN', {
        at: at(i),
        index: i,
        known: SIGNAL_KINDS.join(', '),
      });
    if (s.atMs > newest)
      throw new AccordError('ACCORD_SIGNAL_TIME_FUTURE', {
        at: at(i),
        index: i,
        skewMs: settings.clockSkewMs,
      });
    if (s.atMs < oldest)
      throw new AccordError('ACCORD_SIGNAL_TIME_EXPIRED', {
        at: at(i),
        index: i,
        retentionDays: settings.retentionDays,
      });
  }
}

export class SignalsCoordinator {
  private readonly evaluations: MemberRateLimiter;
  private readonly queries: MemberRateLimiter;
  private sweepTimer: NodeJS.Timeout | null = null;

  constructor(private readonly deps: SignalsServiceDeps) {
    this.evaluations = new MemberRateLimiter(deps.settings.evaluationLimit, deps.now);
    this.queries = new MemberRateLimiter(deps.settings.queryLimit, deps.now);
  }

  private get retentionMs(): number {
    return this.deps.settings.retentionDays * DAY_MS;
  }

  private requireMember(member: string): void {
    if (!this.deps.isMember(member)) throw new AccordError('ACCORD_MEMBER_UNKNOWN', { member });
  }

  private limit(limiter: MemberRateLimiter, what: string, member: string, cost: number): void {
    if (!limiter.tryTake(member, cost)) {
      const limit =
        what === 'evaluations'
          ? this.deps.settings.evaluationLimit(member)
          : this.deps.settings.queryLimit(member);
      throw new AccordError('ACCORD_RATE_LIMITED', { what, limit: limit.perSecond });
    }
  }

  /** Deletes expired signals now; returns how many. */
  async sweep(): Promise<number> {
    const deleted = await this.deps.store.deleteObservedBefore(this.deps.now() - this.retentionMs);
    if (deleted > 0) {
      this.deps.audit({
        actor: 'coordinator',
        action: 'signals:sweep',
        target: 'retention',
        outcome: 'ok',
        details: { deleted, retentionDays: this.deps.settings.retentionDays },
      });
    }
    return deleted;
  }

  /** Starts the periodic retention sweep (and runs one now). */
  start(): void {
    const run = () =>
      void this.sweep().catch((err) => this.deps.log.error('signal retention sweep failed', { err }));
    run();
    this.sweepTimer = setInterval(run, this.deps.settings.sweepIntervalMs);
    this.sweepTimer.unref();
  }

  close(): void {
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.sweepTimer = null;
  }

  handlers(): grpc.UntypedServiceImplementation {
    const { audit, log, store, now } = this.deps;
    return {
      evaluate: unaryHandler(
        {
          name: 'Signals.Evaluate',
          decode: wire.evaluateRequest.fromProto,
          encode: wire.evaluateResponse.toProto,
          target: (blinded) => `elements:${blinded.length}`,
          handle: async (blinded, { member }) => {
            this.requireMember(member);
            const key = this.deps.key;
            if (!key)
              throw new AccordError('ACCORD_SIGNAL_NOT_CONFIGURED', {
                reason: 'the coordinator has no OPRF key (signals.keyFile)',
              });
            this.limit(this.evaluations, 'evaluations', member, blinded.length);
            return evaluateBatch(key, blinded);
          },
        },
        audit,
        log,
      ),
      publish: unaryHandler(
        {
          name: 'Signals.Publish',
          decode: wire.publishRequest.fromProto,
          encode: wire.publishResponse.toProto,
          target: (signals) =>
            signals.length === 1 ? tokenPrefix(signals[0]!.token) : `signals:${signals.length}`,
          handle: async (signals, { member }) => {
            this.requireMember(member);
            const nowMs = now();
            validateSignals(signals, nowMs, this.deps.settings);
            return store.insert(member, signals, nowMs);
          },
        },
        audit,
        log,
      ),
      retract: unaryHandler(
        {
          name: 'Signals.Retract',
          decode: wire.retractRequest.fromProto,
          encode: wire.retractResponse.toProto,
          target: (ids) => `signals:${ids.length}`,
          handle: async (ids, { member }) => {
            this.requireMember(member);
            return store.retract(member, ids);
          },
        },
        audit,
        log,
      ),
      query: unaryHandler(
        {
          name: 'Signals.Query',
          decode: wire.queryRequest.fromProto,
          encode: wire.queryResponse.toProto,
          target: tokenPrefix,
          handle: async (token, { member }) => {
            this.requireMember(member);
            this.limit(this.queries, 'queries', member, 1);
            const nowMs = now();
            const groups = await store.groups(token, nowMs - this.retentionMs);
            return aggregateSignals(groups, { self: member, nowMs, retentionMs: this.retentionMs });
          },
        },
        audit,
        log,
      ),
      queryBatch: unaryHandler(
        {
          name: 'Signals.QueryBatch',
          decode: wire.queryBatchRequest.fromProto,
          encode: wire.queryBatchResponse.toProto,
          // Coalesced single queries arrive as small batches: keep each token's prefix so repeats stay visible.
          target: (tokens) =>
            tokens.length <= 64 ? tokens.map(tokenPrefix).join(' ') : `tokens:${tokens.length}`,
          handle: async (tokens, { member }) => {
            this.requireMember(member);
            this.limit(this.queries, 'queries', member, tokens.length);
            const nowMs = now();
            const all = await store.groupsMany(tokens, nowMs - this.retentionMs);
            const ctx = { self: member, nowMs, retentionMs: this.retentionMs };
            const hits = [];
            for (let i = 0; i < all.length; i++) {
              if (all[i]!.length === 0) continue;
              const aggregates = aggregateSignals(all[i]!, ctx);
              if (!isEmptyAggregate(aggregates)) hits.push({ index: i, aggregates });
            }
            return hits;
          },
        },
        audit,
        log,
      ),
    };
  }
}
