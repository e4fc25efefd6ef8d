/**
 * Per-member rate limits for the coordinator's signal RPCs, as a pure token bucket. The evaluation limit is the
 * only thing that stops a member from running a dictionary of guessed identifiers (phone numbers) through the
 * OPRF (see primitives/oprf/fraud-token.ts, "What each party cannot do"), so it is enforced per member, per element.
 */

export interface BucketLimit {
  /** Sustained rate, units per second. */
  readonly perSecond: number;
  /** Bucket size: the largest burst, and the largest single request. */
  readonly burst: number;
}

export interface BucketState {
  readonly tokens: number;
  readonly updatedMs: number;
}

/** A full bucket at `nowMs`. */
export function fullBucket(limit: BucketLimit, nowMs: number): BucketState {
  return { tokens: limit.burst, updatedMs: nowMs };
}

/**
 * Tries to take `cost` units at `nowMs`. Returns whether it may proceed and the new state (unchanged apart from
 * the refill when refused: a refused request costs nothing). A clock that goes backwards refills nothing.
 */
export function takeFromBucket(
  state: BucketState,
  limit: BucketLimit,
  cost: number,
  nowMs: number,
): { allowed: boolean; state: BucketState } {
  const elapsed = Math.max(0, nowMs - state.updatedMs);
  const tokens = Math.min(limit.burst, state.tokens + (elapsed * limit.perSecond) / 1000);
  const updatedMs = Math.max(nowMs, state.updatedMs);
  if (cost <= tokens) return { allowed: true, state: { tokens: tokens - cost, updatedMs } };
  return { allowed: false, state: { tokens, updatedMs } };
}

/** One bucket per member for one operation; the only mutable part. */
export class MemberRateLimiter {
  private readonly buckets = new Map<string, BucketState>();

  constructor(
    private readonly limitOf: (member: string) => BucketLimit,
    private readonly now: () => number = Date.now,
  ) {}

  /** True if `member` may spend `cost` units now (and they are spent). */
  tryTake(member: string, cost: number): boolean {
    const limit = this.limitOf(member);
    const nowMs = this.now();
    const state = this.buckets.get(member) ?? fullBucket(limit, nowMs);
    const result = takeFromBucket(state, limit, cost, nowMs);
    this.buckets.set(member, result.state);
    return result.allowed;
  }
}
