import { describe, expect, it } from 'vitest';
import { aggregateSignals, isEmptyAggregate } from '../../../coordinator/signals/aggregate.js';
import { BUILT_IN_KINDS, consortiumKinds } from '../../../primitives/signals/kinds.js';

const DAY = 86_400_000;
const NOW = 1_800_000_000_000;
/** Exact times (resolution 1 ms), so that the counting rules below can be read off directly. */
const ctx = {
  self: 'bank-a',
  nowMs: NOW,
  retentionMs: 90 * DAY,
  flagKinds: BUILT_IN_KINDS.flags,
  timeResolutionMs: 1,
};

describe('aggregateSignals', () => {
  it('counts distinct other members per application window, newest application per member', () => {
    const a = aggregateSignals(
      [
        { kind: 'application', member: 'bank-b', lastAtMs: NOW - 3_600_000 },
        { kind: 'application', member: 'bank-b', lastAtMs: NOW - 20 * DAY },
        { kind: 'application', member: 'bank-c', lastAtMs: NOW - 3 * DAY },
        { kind: 'application', member: 'bank-d', lastAtMs: NOW - 29 * DAY },
        { kind: 'application', member: 'bank-e', lastAtMs: NOW - 31 * DAY },
      ],
      ctx,
    );
    expect(a.applications).toEqual({ d1: 1, d7: 2, d30: 3 });
    expect(a.flags).toEqual([]);
  });

  it('never counts the caller’s own signals', () => {
    const a = aggregateSignals(
      [
        { kind: 'application', member: 'bank-a', lastAtMs: NOW },
        { kind: 'telecom_scam', member: 'bank-a', lastAtMs: NOW },
      ],
      ctx,
    );
    expect(isEmptyAggregate(a)).toBe(true);
    expect(a).toEqual({ applications: { d1: 0, d7: 0, d30: 0 }, flags: [] });
  });

  it('lists flags in registry order with distinct members and the newest time', () => {
    const a = aggregateSignals(
      [
        { kind: 'confirmed_fraud', member: 'bank-c', lastAtMs: NOW - 5 * DAY },
        { kind: 'telecom_scam', member: 'bank-b', lastAtMs: NOW - 2 * DAY },
        { kind: 'telecom_scam', member: 'bank-c', lastAtMs: NOW - DAY },
        { kind: 'telecom_scam', member: 'bank-c', lastAtMs: NOW - 4 * DAY },
        { kind: 'telecom_scam', member: 'bank-a', lastAtMs: NOW },
      ],
      ctx,
    );
    expect(a.flags).toEqual([
      { kind: 'telecom_scam', members: 2, lastSeenMs: NOW - DAY },
      { kind: 'confirmed_fraud', members: 1, lastSeenMs: NOW - 5 * DAY },
    ]);
    expect(isEmptyAggregate(a)).toBe(false);
  });

  it('ignores signals beyond the retention period', () => {
    const a = aggregateSignals(
      [
        { kind: 'mule_account', member: 'bank-b', lastAtMs: NOW - 91 * DAY },
        { kind: 'mule_account', member: 'bank-c', lastAtMs: NOW - 89 * DAY },
      ],
      ctx,
    );
    expect(a.flags).toEqual([{ kind: 'mule_account', members: 1, lastSeenMs: NOW - 89 * DAY }]);
    expect(
      aggregateSignals([{ kind: 'application', member: 'bank-b', lastAtMs: NOW - 10 * DAY }], {
        ...ctx,
        retentionMs: 5 * DAY,
      }).applications.d30,
    ).toBe(0);
  });

  it('lists a consortium’s extra flag kinds after the built-ins, in config order, then unlisted kinds by name', () => {
    const groups = [
      { kind: 'zz_removed', member: 'bank-b', lastAtMs: NOW - DAY },
      { kind: 'synthetic_identity', member: 'bank-b', lastAtMs: NOW - 2 * DAY },
      { kind: 'account_takeover', member: 'bank-c', lastAtMs: NOW - 3 * DAY },
      { kind: 'confirmed_fraud', member: 'bank-c', lastAtMs: NOW - 4 * DAY },
      { kind: 'aa_removed', member: 'bank-d', lastAtMs: NOW - 5 * DAY },
      { kind: 'telecom_scam', member: 'bank-d', lastAtMs: NOW - 6 * DAY },
    ];
    const kinds = consortiumKinds(['synthetic_identity', 'account_takeover']);
    const order = (flagKinds: readonly string[]) =>
      aggregateSignals(groups, { ...ctx, flagKinds }).flags.map((f) => f.kind);
    expect(order(kinds.flags)).toEqual([
      'telecom_scam',
      'confirmed_fraud',
      'synthetic_identity',
      'account_takeover',
      'aa_removed',
      'zz_removed',
    ]);
    // Without the extras configured, the same stored kinds still count, after the built-ins and by name.
    expect(order(BUILT_IN_KINDS.flags)).toEqual([
      'telecom_scam',
      'confirmed_fraud',
      'aa_removed',
      'account_takeover',
      'synthetic_identity',
      'zz_removed',
    ]);
    expect(aggregateSignals(groups, { ...ctx, flagKinds: kinds.flags }).flags[2]).toEqual({
      kind: 'synthetic_identity',
      members: 1,
      lastSeenMs: NOW - 2 * DAY,
    });
  });

  it('rounds the newest flag time down to the resolution, so a publisher’s exact time never reaches the asker', () => {
    const exact = NOW - 2 * DAY - 12_345_678; // a time a publisher might use as a signature
    const a = aggregateSignals([{ kind: 'telecom_scam', member: 'bank-b', lastAtMs: exact }], {
      ...ctx,
      timeResolutionMs: DAY,
    });
    const lastSeen = a.flags[0]!.lastSeenMs;
    expect(lastSeen % DAY).toBe(0);
    expect(lastSeen).toBeLessThanOrEqual(exact);
    expect(exact - lastSeen).toBeLessThan(DAY);
    expect(new Date(lastSeen).toISOString()).toMatch(/T00:00:00\.000Z$/);
    // Two publishers' different times on the same day look the same.
    const b = aggregateSignals([{ kind: 'telecom_scam', member: 'bank-c', lastAtMs: lastSeen + 1 }], {
      ...ctx,
      timeResolutionMs: DAY,
    });
    expect(b.flags[0]!.lastSeenMs).toBe(lastSeen);
  });

  it('counts applications and expiry by day, so polling cannot time when another bank published', () => {
    const HOUR = 3_600_000;
    const today = Math.floor(NOW / DAY) * DAY;
    const at = today - DAY + 5 * HOUR + 123_456; // yesterday, at a moment only its publisher knows
    const groups = [{ kind: 'application', member: 'bank-b', lastAtMs: at }];
    const byDay = { ...ctx, timeResolutionMs: DAY };
    // All day long the answer is the same: not today (d1), within the week (d7).
    for (const nowMs of [today, today + 4 * HOUR, today + DAY - 1]) {
      expect(aggregateSignals(groups, { ...byDay, nowMs }).applications).toEqual({ d1: 0, d7: 1, d30: 1 });
    }
    // At exact resolution the count flips 24 h after the publisher's moment, which a poller could pin down.
    expect(aggregateSignals(groups, { ...ctx, nowMs: at + DAY - 1 }).applications.d1).toBe(1);
    expect(aggregateSignals(groups, { ...ctx, nowMs: at + DAY + 1 }).applications.d1).toBe(0);
    // A flag leaves the answer at a day boundary too, not at its exact age of 90 days.
    const flag = [{ kind: 'mule_account', member: 'bank-b', lastAtMs: at }];
    const expiry = at + 90 * DAY;
    expect(aggregateSignals(flag, { ...byDay, nowMs: expiry + 1 }).flags).toHaveLength(1);
    expect(aggregateSignals(flag, { ...byDay, nowMs: today + 90 * DAY - 1 }).flags).toHaveLength(1);
    expect(aggregateSignals(flag, { ...byDay, nowMs: today + 90 * DAY }).flags).toHaveLength(0);
  });
});
