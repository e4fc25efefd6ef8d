import { describe, expect, it } from 'vitest';
import { fullBucket, MemberRateLimiter, takeFromBucket } from '../../../coordinator/signals/rate-limiter.js';

const limit = { perSecond: 10, burst: 20 };

describe('token bucket', () => {
  it('allows a burst, then refuses until refilled at the sustained rate', () => {
    let state = fullBucket(limit, 0);
    let r = takeFromBucket(state, limit, 20, 0);
    expect(r.allowed).toBe(true);
    state = r.state;
    r = takeFromBucket(state, limit, 1, 0);
    expect(r.allowed).toBe(false);
    r = takeFromBucket(r.state, limit, 5, 499);
    expect(r.allowed).toBe(false); // 4.99 available
    r = takeFromBucket(r.state, limit, 5, 500);
    expect(r.allowed).toBe(true);
    expect(r.state.tokens).toBeCloseTo(0);
  });

  it('never holds more than the burst, refuses requests larger than it, and a refusal costs nothing', () => {
    const r = takeFromBucket(fullBucket(limit, 0), limit, 21, 1_000_000);
    expect(r.allowed).toBe(false);
    expect(r.state.tokens).toBe(20);
  });

  it('does not refill when the clock goes backwards', () => {
    const r = takeFromBucket({ tokens: 0, updatedMs: 1_000 }, limit, 1, 0);
    expect(r.allowed).toBe(false);
    expect(r.state).toEqual({ tokens: 0, updatedMs: 1_000 });
  });

  it('keeps one bucket per member', () => {
    let now = 0;
    const limiter = new MemberRateLimiter(
      (m) => (m === 'slow' ? { perSecond: 1, burst: 1 } : limit),
      () => now,
    );
    expect(limiter.tryTake('slow', 1)).toBe(true);
    expect(limiter.tryTake('slow', 1)).toBe(false);
    expect(limiter.tryTake('fast', 20)).toBe(true);
    now = 1_000;
    expect(limiter.tryTake('slow', 1)).toBe(true);
  });
});
