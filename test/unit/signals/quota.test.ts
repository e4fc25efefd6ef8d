/**
 * Quotas on new identifiers (coordinator/signals/quota.ts, platform/store/sqlite/oprf-quota.ts) with a real SQLite
 * store: new elements count and repeats do not, all or nothing, the memory window, grants in force only on their
 * days, everything kept across a reopen, and the enumeration rule.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DIGEST_BYTES, looksLikeEnumeration } from '../../../coordinator/signals/quota.js';
import { openSqliteCoordinatorStore } from '../../../platform/store/sqlite/index.js';

const dir = mkdtempSync(join(tmpdir(), 'accord-quota-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const digests = (n: number) => Array.from({ length: n }, () => randomBytes(DIGEST_BYTES));
const DAY = 20_000;

describe('quota store', () => {
  it('charges new elements only, all or nothing, and remembers across a reopen', async () => {
    const file = join(dir, 'a.db');
    let store = openSqliteCoordinatorStore(file);
    const first = digests(8);
    expect(await store.quotas.charge('bank-a', first, DAY, 10, 30)).toEqual({
      allowed: true,
      fresh: 8,
      isFresh: first.map(() => true),
      usedBefore: 0,
      limit: 10,
    });
    // Repeats cost nothing, even past the quota; a batch repeating one element inside counts it once.
    const repeat = await store.quotas.charge('bank-a', [...first, first[0]!], DAY, 10, 30);
    expect(repeat.fresh).toBe(0);
    expect(repeat.isFresh.every((f) => !f)).toBe(true);
    const mixed = await store.quotas.charge('bank-a', [first[1]!, digests(1)[0]!], DAY, 10, 30);
    expect(mixed.isFresh).toEqual([false, true]);
    // 9 used + 3 new > 10: refused, and nothing of it is remembered.
    const three = digests(3);
    expect(await store.quotas.charge('bank-a', three, DAY, 10, 30)).toMatchObject({
      allowed: false,
      fresh: 3,
    });
    expect((await store.quotas.usage('bank-a', DAY)).newElements).toBe(9);
    await store.close();
    store = openSqliteCoordinatorStore(file);
    expect(await store.quotas.charge('bank-a', three, DAY, 10, 30)).toMatchObject({
      allowed: false,
      usedBefore: 9,
    });
    expect(await store.quotas.charge('bank-a', three.slice(0, 1), DAY, 10, 30)).toMatchObject({
      allowed: true,
    });
    // Another member has its own quota and its own memory.
    expect(await store.quotas.charge('bank-b', first, DAY, 10, 30)).toMatchObject({
      allowed: true,
      fresh: 8,
    });
    await store.close();
  });

  it('forgets a repeat after the memory window, and a new day starts a new count', async () => {
    const store = openSqliteCoordinatorStore(join(dir, 'b.db'));
    const d = digests(5);
    await store.quotas.charge('bank-a', d, DAY, 5, 3);
    expect((await store.quotas.charge('bank-a', d, DAY + 2, 5, 3)).fresh).toBe(0); // seen 2 days ago: free
    expect((await store.quotas.charge('bank-a', d, DAY + 4, 5, 3)).fresh).toBe(0); // refreshed on DAY + 2
    expect((await store.quotas.charge('bank-a', d, DAY + 8, 5, 3)).fresh).toBe(5); // 6 days since: new again
    expect(await store.quotas.prune(DAY + 100, DAY + 100)).toBeGreaterThan(0);
    expect((await store.quotas.charge('bank-a', d, DAY + 9, 5, 3)).fresh).toBe(5);
    await store.close();
  });

  it('adds grants to the limit on their days only', async () => {
    const store = openSqliteCoordinatorStore(join(dir, 'c.db'));
    await store.quotas.grant({
      member: 'bank-a',
      extra: 100,
      fromDay: DAY,
      untilDay: DAY + 1,
      grantedBy: 'operator:test',
      reason: 'onboarding',
      grantedAtMs: 0,
    });
    expect((await store.quotas.charge('bank-a', digests(50), DAY, 10, 30)).limit).toBe(110);
    expect((await store.quotas.charge('bank-a', digests(50), DAY + 1, 10, 30)).allowed).toBe(true);
    expect(await store.quotas.charge('bank-a', digests(50), DAY + 2, 10, 30)).toMatchObject({
      allowed: false,
      limit: 10,
    });
    expect(await store.quotas.grants('bank-a')).toHaveLength(1);
    expect(await store.quotas.grants('bank-b')).toHaveLength(0);
    await store.close();
  });

  it('records answers and raises the alert flag once per day', async () => {
    const store = openSqliteCoordinatorStore(join(dir, 'd.db'));
    await store.quotas.charge('bank-a', digests(3), DAY, 10, 30);
    expect(await store.quotas.recordAnswers('bank-a', DAY, 3, 1)).toEqual({
      day: DAY,
      newElements: 3,
      queries: 3,
      hits: 1,
      alerted: false,
    });
    expect(await store.quotas.markAlerted('bank-a', DAY)).toBe(true);
    expect(await store.quotas.markAlerted('bank-a', DAY)).toBe(false);
    expect(await store.quotas.markAlerted('bank-a', DAY + 1)).toBe(true);
    await store.close();
  });
});

describe('looksLikeEnumeration', () => {
  const alert = { minNewElements: 1_000, maxHitRate: 0.001 };
  it('flags many new elements with almost no hits among them, not a bank’s ordinary checks', () => {
    expect(looksLikeEnumeration({ newElements: 5_000, hits: 2 }, alert)).toBe(true);
    expect(looksLikeEnumeration({ newElements: 5_000, hits: 300 }, alert)).toBe(false);
    expect(looksLikeEnumeration({ newElements: 999, hits: 0 }, alert)).toBe(false);
  });
});
