/**
 * The Signals gRPC service: the coordinator's side of fraud-signal sharing.
 *
 * Tokens come from the two-key PRF of `primitives/oprf/fraud-token.ts` (read its header first: numbered flow, keys,
 * what each party learns). Around it, one query or publish runs in a single round trip:
 *
 *  1. Node: normalises the identifier, sends the member element M = H(x)^k_m.     -> Publish / Query(M)
 *  2. Coordinator (here): rate-limits the member per element (evaluations, load protection), checks M, derives
 *     the token T = hash(M^k_c). Learns: that this member asked about token T; not x (it lacks k_m to test guesses).
 *  3a. Publish(M, kind, at): every entry is checked (a kind of this consortium: the built-ins, then
 *      `signals.extraFlagKinds`; `at` within the clock-skew allowance and, for a live signal, at most
 *      `maxBackdateMs` old; a historical import may go back to the retention period) before any is stored; then
 *      (T, kind, member, at) is stored. Learns: member X reported a signal of this kind for SOME identifier at
 *      this time; it cannot tell which identifier.
 *  3b. Query(M) / QueryBatch: first the member's quota on NEW identifiers (`quota.ts`: distinct elements not
 *      looked up by it in `memoryDays`, per UTC day, persisted; repeats free) is charged, all or nothing, BEFORE
 *      any evaluation; then the token's unexpired signals are read and only aggregates answered (`aggregate.ts`):
 *      distinct OTHER members per application window and per flag kind, and the newest flag time, every time involved
 *      rounded down to `timeResolutionMs` (a day). The querying member learns those counts and nothing else: no member names,
 *      not its own signals back, no exact time a publisher chose. The coordinator learns that the member asked
 *      about token T (and, when T has signals, links the query to the publishers of T): the price of answering.
 *      A day with many new elements and almost no hits raises the enumeration alert.
 *  4. Retract(ids): only the publisher may delete its signals; gone for every member at once.
 *
 * Expired signals (older than `signals.retentionDays`) are ignored by queries and deleted by a periodic sweep.
 * Audit: every call is audited by `unaryHandler`; the target is a count or the first 8 hex characters of the token
 * (enough to see one token queried many times, not enough to look it up).
 */
import type * as grpc from '@grpc/grpc-js';
import { multiplexedHandler, OpenStreams } from '../../platform/grpc/multiplexed-server.js';
import type { PeerIdentity } from '../../platform/grpc/peer-gate.js';
import { type Audit, type HandlerOptions, unaryHandler } from '../../platform/grpc/server.js';
import type { Logger } from '../../platform/log/logger.js';
import type { NewSignal, SignalStore } from '../../platform/store/signal-types.js';
import { type ElementBatch, pack, signalsWire as wire, unpack } from '../../platform/wire/signals.js';
import type { CryptoWorkerPool } from '../../platform/crypto-workers/pool.js';
import { AccordError } from '../../primitives/errors/index.js';
import type { CoordinatorKey } from '../../primitives/oprf/coordinator-key.js';
import { tokenBatch } from '../../primitives/oprf/fraud-token.js';
import type { SignalKinds } from '../../primitives/signals/kinds.js';
import { AUDIT_TOKEN_PREFIX_HEX, DAY_MS, type SignalAggregates } from '../../primitives/signals/protocol.js';
import { type AggregateContext, aggregateSignals, isEmptyAggregate, retentionStart } from './aggregate.js';
import { type BucketLimit, MemberRateLimiter } from './rate-limiter.js';
import type { QuotaStore } from '../../platform/store/quota-types.js';
import { baseQuota, dayOf, elementDigest, looksLikeEnumeration, type QuotaSettings } from './quota.js';
import { QuotaLedger } from './quota-ledger.js';

/** Batches at least this large go to the crypto workers (smaller ones cost less than the hand-off). */
const WORKER_BATCH = 64;

export interface SignalsSettings {
  /** The consortium's kinds (built-ins, then `signals.extraFlagKinds`): publish refuses any other. */
  readonly kinds: SignalKinds;
  readonly retentionDays: number;
  readonly clockSkewMs: number;
  /** How far back a live (not historical) signal may be dated. */
  readonly maxBackdateMs: number;
  /** Flag times in answers are rounded down to this. */
  readonly timeResolutionMs: number;
  readonly sweepIntervalMs: number;
  readonly quotas: QuotaSettings;
  /** Open QueryStreams one member may hold at once. */
  readonly maxStreamsPerMember: number;
  readonly evaluationLimit: (member: string) => BucketLimit;
  readonly queryLimit: (member: string) => BucketLimit;
}

export interface SignalsServiceDeps {
  readonly isMember: (member: string) => boolean;
  /** null when the coordinator has no key configured: publish and query are refused, retract works. */
  readonly key: CoordinatorKey | null;
  /** Accept the benchmark anchor's plaintext hashes as tokens (never on a real consortium). */
  readonly allowInsecurePlaintext: boolean;
  /** Crypto worker threads for large batches (screening); without them everything runs on the event loop. */
  readonly workers?: CryptoWorkerPool;
  readonly store: SignalStore;
  readonly quotas: QuotaStore;
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
 * Checks a whole publish batch; throws the first problem with its index. Pure apart from the arguments. A live
 * signal may be at most `maxBackdateMs` old; a historical import, up to the retention period.
 */
export function validateSignals(
  signals: ReadonlyArray<Pick<NewSignal, 'kind' | 'atMs'>>,
  nowMs: number,
  settings: Pick<SignalsSettings, 'kinds' | 'retentionDays' | 'clockSkewMs' | 'maxBackdateMs'>,
  historical = false,
): void {
  const oldest = nowMs - settings.retentionDays * DAY_MS;
  const oldestLive = nowMs - settings.maxBackdateMs;
  const newest = nowMs + settings.clockSkewMs;
  for (let i = 0; i < signals.length; i++) {
    const s = signals[i]!;
    if (!settings.kinds.isKind(s.kind))
      throw new AccordError('ACCORD_SIGNAL_KIND_UNKNOWN', {
        at: at(i),
        index: i,
        known: settings.kinds.all.join(', '),
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
    if (!historical && s.atMs < oldestLive)
      throw new AccordError('ACCORD_SIGNAL_TIME_BACKDATED', {
        at: at(i),
        index: i,
        maxBackdateHours: Math.round(settings.maxBackdateMs / 3_600_000),
      });
  }
}

export class SignalsCoordinator {
  private readonly evaluations: MemberRateLimiter;
  private readonly queries: MemberRateLimiter;
  private sweepTimer: NodeJS.Timeout | null = null;
  /**
   * Nodes' QueryStreams, at most `maxStreamsPerMember` each, ended on close() so the server's graceful shutdown need
   * not wait them out, and at once when their member is revoked.
   */
  private readonly streams: OpenStreams;
  /** Quota counting, with its writes batched off the query path (`quota-ledger.ts`). */
  private readonly ledger: QuotaLedger;

  constructor(private readonly deps: SignalsServiceDeps) {
    this.streams = new OpenStreams(deps.settings.maxStreamsPerMember);
    this.ledger = new QuotaLedger(deps.quotas, deps.log);
    this.evaluations = new MemberRateLimiter(deps.settings.evaluationLimit, deps.now);
    this.queries = new MemberRateLimiter(deps.settings.queryLimit, deps.now);
  }

  /** The oldest signal time that still counts now (a day boundary): what queries read and the sweep keeps. */
  private oldestCounted(nowMs: number): number {
    return retentionStart(nowMs, this.retentionMs, this.deps.settings.timeResolutionMs);
  }

  private get retentionMs(): number {
    return this.deps.settings.retentionDays * DAY_MS;
  }

  private aggregateContext(self: string, nowMs: number): AggregateContext {
    return {
      self,
      nowMs,
      retentionMs: this.retentionMs,
      flagKinds: this.deps.settings.kinds.flags,
      timeResolutionMs: this.deps.settings.timeResolutionMs,
    };
  }

  /**
   * Step 3b's gate: charges the distinct new elements of a lookup to the member's daily quota, all or nothing,
   * before any evaluation. Throws ACCORD_SIGNAL_QUOTA_EXCEEDED.
   */
  private async chargeQuota(
    member: string,
    elements: readonly Uint8Array[],
    nowMs: number,
  ): Promise<readonly boolean[]> {
    const q = this.deps.settings.quotas;
    const charge = await this.ledger.charge(
      member,
      elements.map(elementDigest),
      dayOf(nowMs),
      baseQuota(q, member),
      q.memoryDays,
    );
    if (!charge.allowed) {
      throw new AccordError('ACCORD_SIGNAL_QUOTA_EXCEEDED', {
        needed: charge.fresh,
        remaining: Math.max(0, charge.limit - charge.usedBefore),
        limit: charge.limit,
        memoryDays: q.memoryDays,
      });
    }
    return charge.isFresh;
  }

  /**
   * After answering: counts lookups and the hits among new identifiers, and raises the enumeration alert once per
   * member and day.
   */
  private async countAnswers(member: string, nowMs: number, queries: number, newHits: number): Promise<void> {
    const day = dayOf(nowMs);
    const usage = await this.ledger.recordAnswers(member, day, queries, newHits);
    if (usage.alerted || !looksLikeEnumeration(usage, this.deps.settings.quotas.enumerationAlert)) return;
    if (!(await this.ledger.markAlerted(member, day))) return;
    this.deps.log.warn('a member’s lookups look like an enumeration: many new identifiers, almost no hits', {
      member,
      newElements: usage.newElements,
      queries: usage.queries,
      hits: usage.hits,
    });
    await this.deps.audit({
      actor: member,
      action: 'signals:enumeration-suspected',
      target: `member:${member}`,
      outcome: 'ok',
      details: { day, newElements: usage.newElements, queries: usage.queries, hits: usage.hits },
    });
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

  /** Step 2: the tokens of a batch of member elements, after the per-member evaluation limit. */
  private async tokensOf(member: string, batch: ElementBatch<readonly Uint8Array[]>): Promise<Uint8Array[]> {
    if (batch.insecurePlaintext) {
      if (!this.deps.allowInsecurePlaintext) {
        throw new AccordError('ACCORD_SIGNAL_NOT_CONFIGURED', {
          reason: 'plaintext benchmark lookups are not allowed on this coordinator',
        });
      }
      return [...batch.items];
    }
    const key = this.deps.key;
    if (!key) {
      throw new AccordError('ACCORD_SIGNAL_NOT_CONFIGURED', {
        reason: 'the coordinator has no signal key (signals.keyFile)',
      });
    }
    // A batch often repeats an identifier (several signals for one phone): evaluate each distinct element once.
    const slot = new Map<string, number>();
    const distinct: Uint8Array[] = [];
    const slots = batch.items.map((element) => {
      const hex = Buffer.from(element.buffer, element.byteOffset, element.byteLength).toString('hex');
      let at = slot.get(hex);
      if (at === undefined) {
        at = distinct.push(element) - 1;
        slot.set(hex, at);
      }
      return at;
    });
    this.limit(this.evaluations, 'evaluations', member, distinct.length);
    const tokens =
      this.deps.workers && distinct.length >= WORKER_BATCH
        ? unpack(await this.deps.workers.signalTokens(key, pack(distinct)))
        : tokenBatch(key, distinct);
    return slots.map((at) => tokens[at]!);
  }

  /** Deletes expired signals (and quota memory past its window) now; returns how many signals. */
  async sweep(): Promise<number> {
    const today = dayOf(this.deps.now());
    await this.deps.quotas.prune(today - this.deps.settings.quotas.memoryDays + 1, today - 400);
    const deleted = await this.deps.store.deleteObservedBefore(this.oldestCounted(this.deps.now()));
    if (deleted > 0) {
      await this.deps.audit({
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

  /** Ends at once the QueryStreams of peers that `matches` (revoked since they opened); how many. */
  endStreamsWhere(
    matches: (peer: PeerIdentity) => boolean,
    errorFor: (peer: PeerIdentity) => AccordError,
  ): number {
    return this.streams.endWhere(matches, errorFor);
  }

  close(): void {
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.sweepTimer = null;
    this.streams.endAll();
  }

  /** Writes the quota counts still buffered (before the store closes). */
  flush(): Promise<void> {
    return this.ledger.flush();
  }

  handlers(): grpc.UntypedServiceImplementation {
    const { audit, log, store, now } = this.deps;
    // One query, whether it came as a unary Query or on a node's QueryStream.
    const queryOptions: HandlerOptions<ElementBatch<Uint8Array>, SignalAggregates> = {
      name: 'Signals.Query',
      // Audited inside, once the token is known (failures are audited by the wrapper).
      auditSuccess: false,
      decode: wire.queryRequest.fromProto,
      encode: wire.queryResponse.toProto,
      handle: async (r, { member }) => {
        this.requireMember(member);
        this.limit(this.queries, 'queries', member, 1);
        const nowMs = now();
        const [fresh] = await this.chargeQuota(member, [r.items], nowMs);
        const [token] = await this.tokensOf(member, {
          items: [r.items],
          insecurePlaintext: r.insecurePlaintext,
        });
        await this.deps.audit({
          actor: member,
          action: 'rpc:Signals.Query',
          target: tokenPrefix(token!),
          outcome: 'ok',
          details: {},
        });
        const groups = await store.groups(token!, this.oldestCounted(nowMs));
        const answer = aggregateSignals(groups, this.aggregateContext(member, nowMs));
        await this.countAnswers(member, nowMs, 1, fresh && !isEmptyAggregate(answer) ? 1 : 0);
        return answer;
      },
    };
    return {
      publish: unaryHandler(
        {
          name: 'Signals.Publish',
          // Audited inside, once the token is known (failures are audited by the wrapper).
          auditSuccess: false,
          decode: wire.publishRequest.fromProto,
          encode: wire.publishResponse.toProto,
          target: (r) => `signals:${r.items.length}`,
          handle: async (r, { member }) => {
            this.requireMember(member);
            const nowMs = now();
            validateSignals(r.items, nowMs, this.deps.settings, r.historical);
            const tokens = await this.tokensOf(member, {
              items: r.items.map((s) => s.element),
              insecurePlaintext: r.insecurePlaintext,
            });
            const signals: NewSignal[] = r.items.map((s, i) => ({
              token: tokens[i]!,
              kind: s.kind,
              atMs: s.atMs,
            }));
            await this.deps.audit({
              actor: member,
              action: r.historical ? 'rpc:Signals.Publish(historical)' : 'rpc:Signals.Publish',
              target: signals.length === 1 ? tokenPrefix(tokens[0]!) : `tokens:${signals.length}`,
              outcome: 'ok',
              details: r.historical ? { historical: true, signals: signals.length } : {},
            });
            return store.insert(member, signals, nowMs, r.historical);
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
      query: unaryHandler(queryOptions, audit, log),
      queryStream: multiplexedHandler(queryOptions, audit, log, this.streams),
      queryBatch: unaryHandler(
        {
          name: 'Signals.QueryBatch',
          // Audited inside, once the token is known (failures are audited by the wrapper).
          auditSuccess: false,
          decode: wire.queryBatchRequest.fromProto,
          encode: wire.queryBatchResponse.toProto,
          target: (r) => `elements:${r.items.length}`,
          handle: async (r, { member }) => {
            this.requireMember(member);
            this.limit(this.queries, 'queries', member, r.items.length);
            const nowMs = now();
            const fresh = await this.chargeQuota(member, r.items, nowMs);
            const tokens = await this.tokensOf(member, r);
            // Coalesced single queries arrive as small batches: keep each token's prefix so repeats stay visible.
            await this.deps.audit({
              actor: member,
              action: 'rpc:Signals.QueryBatch',
              target: tokens.length <= 64 ? tokens.map(tokenPrefix).join(' ') : `tokens:${tokens.length}`,
              outcome: 'ok',
              details: { elements: tokens.length },
            });
            const all = await store.groupsMany(tokens, this.oldestCounted(nowMs));
            const ctx = this.aggregateContext(member, nowMs);
            const hits = [];
            let newHits = 0;
            for (let i = 0; i < all.length; i++) {
              if (all[i]!.length === 0) continue;
              const aggregates = aggregateSignals(all[i]!, ctx);
              if (isEmptyAggregate(aggregates)) continue;
              hits.push({ index: i, aggregates });
              if (fresh[i]) newHits++;
            }
            await this.countAnswers(member, nowMs, tokens.length, newHits);
            return hits;
          },
        },
        audit,
        log,
      ),
    };
  }
}
