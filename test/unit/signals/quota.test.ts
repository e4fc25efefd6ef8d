/**
 * Quotas on new identifiers (coordinator/signals/quota.ts, quota-ledger.ts, platform/store/sqlite/oprf-quota.ts) with
 * a real SQLite store: new elements count and repeats do not, all or nothing, simultaneous charges decided one at a
 * time, the memory window, grants in force only on their days, counts buffered then written and kept across a reopen,
 * and the enumeration rule.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DIGEST_BYTES, looksLikeEnumeration } from '../../../coordinator/signals/quota.js';
import { QuotaLedger } from '../../../coordinator/signals/quota-ledger.js';
import { openSqliteCoordinatorStore } from '../../../platform/store/sqlite/index.js';
import { silentLog } from '../../helpers/log.js';

const dir = mkdtempSync(join(tmpdir(), 'accord-quota-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const digests = (n: number) => Array.from({ length: n }, () => randomBytes(DIGEST_BYTES));
const DAY = 20_000;
const log = silentLog;

function open(name: string) {
  const store = openSqliteCoordinatorStore(join(dir, name));
  return { store, ledger: new QuotaLedger(store.quotas, log, 60_000) };
}

describe('quota ledger', () => {
  it('charges new elements only, all or nothing, and keeps the counts across a reopen', async () => {
    let { store, ledger } = open('a.db');
    const first = digests(8);
    expect(await ledger.charge('bank-a', first, DAY, 10, 30)).toEqual({
      allowed: true,
      fresh: 8,
      isFresh: first.map(() => true),
      usedBefore: 0,
      limit: 10,
    });
    // Repeats cost nothing, even past the quota; a batch repeating one element inside counts it once.
    const repeat = await ledger.charge('bank-a', [...first, first[0]!], DAY, 10, 30);
    expect(repeat.fresh).toBe(0);
    expect(repeat.isFresh.every((f) => !f)).toBe(true);
    const mixed = await ledger.charge('bank-a', [first[1]!, digests(1)[0]!], DAY, 10, 30);
    expect(mixed.isFresh).toEqual([false, true]);
    // 9 used + 3 new > 10: refused, and nothing of it is remembered.
    const three = digests(3);
    expect(await ledger.charge('bank-a', three, DAY, 10, 30)).toMatchObject({ allowed: false, fresh: 3 });
    expect((await ledger.usageOf('bank-a', DAY)).newElements).toBe(9);
    // The day's count is stored before a charge is answered; last uses are written on flush.
    expect((await store.quotas.usage('bank-a', DAY)).newElements).toBe(9);
    expect(await store.quotas.lastDays('bank-a', [first[0]!])).toEqual([null]);
    await ledger.flush();
    expect(await store.quotas.lastDays('bank-a', [first[0]!])).toEqual([DAY]);
    await store.close();
    ({ store, ledger } = open('a.db'));
    expect(await ledger.charge('bank-a', three, DAY, 10, 30)).toMatchObject({
      allowed: false,
      usedBefore: 9,
    });
    expect((await ledger.charge('bank-a', first, DAY, 10, 30)).fresh).toBe(0);
    expect(await ledger.charge('bank-a', three.slice(0, 1), DAY, 10, 30)).toMatchObject({ allowed: true });
    // Another member has its own quota and its own memory.
    expect(await ledger.charge('bank-b', first, DAY, 10, 30)).toMatchObject({ allowed: true, fresh: 8 });
    await ledger.flush();
    await store.close();
  });

  it('loses no charged count when the process dies unflushed, and refuses charges the store cannot write', async () => {
    const { store, ledger } = open('g.db');
    expect((await ledger.charge('bank-a', digests(8), DAY, 10, 30)).allowed).toBe(true);
    // Killed here: no flush. A new ledger over the same file still counts the 8.
    const after = new QuotaLedger(store.quotas, log, 60_000);
    expect(await after.charge('bank-a', digests(3), DAY, 10, 30)).toMatchObject({
      allowed: false,
      usedBefore: 8,
    });
    // A store that cannot write: a charge of new elements is refused with a coded error and counts nothing.
    const failing = { ...store.quotas, apply: async () => Promise.reject(new Error('disk full')) };
    const broken = new QuotaLedger(failing, log, 60_000);
    await expect(broken.charge('bank-b', digests(2), DAY, 10, 30)).rejects.toMatchObject({
      code: 'ACCORD_STORE_UNAVAILABLE',
    });
    expect((await broken.usageOf('bank-b', DAY)).newElements).toBe(0);
    expect((await store.quotas.usage('bank-b', DAY)).newElements).toBe(0);
    await store.close();
  });

  it('writes last uses in several short transactions, and after a failure midway adds no count twice', async () => {
    const { store } = open('h.db');
    let calls = 0;
    let failAt = 4; // 1: the charge's count, 2: the day's answer counts, 3 and on: last uses, 128 a transaction
    const flaky = {
      ...store.quotas,
      apply: async (writes: Parameters<typeof store.quotas.apply>[0]) => {
        if (++calls === failAt) throw new Error('disk full');
        return store.quotas.apply(writes);
      },
    };
    const ledger = new QuotaLedger(flaky, log, 60_000);
    const d = digests(300);
    expect((await ledger.charge('bank-a', d, DAY, 1_000, 30)).allowed).toBe(true);
    await ledger.recordAnswers('bank-a', DAY, 300, 2);
    await ledger.flush();
    const lastDays = await store.quotas.lastDays('bank-a', d);
    expect(lastDays.filter((x) => x === DAY)).toHaveLength(128); // the first transaction of last uses, no more
    failAt = -1;
    await ledger.flush();
    expect(await store.quotas.lastDays('bank-a', d)).toEqual(d.map(() => DAY));
    expect(await store.quotas.usage('bank-a', DAY)).toMatchObject({
      newElements: 300,
      queries: 300,
      hits: 2,
    });
    expect(await ledger.usageOf('bank-a', DAY)).toMatchObject({ newElements: 300, queries: 300, hits: 2 });
    // Repeats of all 300 are free now, whichever transaction recorded them.
    expect((await ledger.charge('bank-a', d, DAY, 300, 30)).fresh).toBe(0);
    await store.close();
  });

  it('decides simultaneous charges one at a time: only what fits passes', async () => {
    const { store, ledger } = open('b.db');
    const results = await Promise.all(
      Array.from({ length: 5 }, () => ledger.charge('bank-a', digests(4), DAY, 10, 30)),
    );
    expect(results.filter((r) => r.allowed)).toHaveLength(2);
    expect((await ledger.usageOf('bank-a', DAY)).newElements).toBe(8);
    await ledger.flush();
    await store.close();
  });

  it('forgets a repeat after the memory window, and a new day starts a new count', async () => {
    const { store, ledger } = open('c.db');
    const d = digests(5);
    await ledger.charge('bank-a', d, DAY, 5, 3);
    await ledger.flush();
    expect((await ledger.charge('bank-a', d, DAY + 2, 5, 3)).fresh).toBe(0); // seen 2 days ago: free
    await ledger.flush();
    expect((await ledger.charge('bank-a', d, DAY + 4, 5, 3)).fresh).toBe(0); // refreshed on DAY + 2
    expect((await ledger.charge('bank-a', d, DAY + 8, 5, 3)).fresh).toBe(5); // 4 days since: new again
    await ledger.flush();
    expect(await store.quotas.prune(DAY + 100, DAY + 100)).toBeGreaterThan(0);
    expect((await ledger.charge('bank-a', d, DAY + 9, 5, 3)).fresh).toBe(5);
    await store.close();
  });

  it('adds grants to the limit on their days only', async () => {
    const { store, ledger } = open('d.db');
    await store.quotas.grant({
      member: 'bank-a',
      extra: 100,
      fromDay: DAY,
      untilDay: DAY + 1,
      grantedBy: 'operator:test',
      reason: 'onboarding',
      grantedAtMs: 0,
    });
    expect((await ledger.charge('bank-a', digests(50), DAY, 10, 30)).limit).toBe(110);
    expect((await ledger.charge('bank-a', digests(50), DAY + 1, 10, 30)).allowed).toBe(true);
    expect(await ledger.charge('bank-a', digests(50), DAY + 2, 10, 30)).toMatchObject({
      allowed: false,
      limit: 10,
    });
    // A grant made while the ledger runs (the CLI writes it from another process) applies to the next charge.
    await store.quotas.grant({
      member: 'bank-a',
      extra: 50,
      fromDay: DAY + 2,
      untilDay: DAY + 2,
      grantedBy: 'operator:test',
      reason: 'onboarding',
      grantedAtMs: 0,
    });
    expect(await ledger.charge('bank-a', digests(50), DAY + 2, 10, 30)).toMatchObject({
      allowed: true,
      limit: 60,
    });
    expect(await store.quotas.grants('bank-a')).toHaveLength(2);
    expect(await store.quotas.grants('bank-b')).toHaveLength(0);
    await store.close();
  });

  it('counts every element exactly once while flushes overtake slow reads of the store', async () => {
    const { store } = open('f.db');
    // A store whose usage reads answer late, so flushes complete while a read is on its way.
    const slow = {
      ...store.quotas,
      usage: async (member: string, day: number) => {
        const read = await store.quotas.usage(member, day);
        await new Promise((r) => setTimeout(r, 3));
        return read;
      },
    };
    const ledger = new QuotaLedger(slow, log, 60_000);
    let charged = 0;
    const work: Promise<unknown>[] = [];
    for (let round = 0; round < 20; round++) {
      const member = `bank-${round % 3}`;
      // Answers recorded on a day not read yet: the read that follows starts before this flush writes them.
      work.push(ledger.recordAnswers(member, DAY + round, 7, 1));
      work.push(ledger.flush());
      work.push(
        ledger.charge(member, digests(5), DAY, 1_000_000, 30).then((c) => {
          if (c.allowed) charged += c.fresh;
        }),
      );
      work.push(ledger.usageOf(`bank-${(round + 1) % 3}`, DAY));
    }
    await Promise.all(work);
    await ledger.flush();
    let total = 0;
    for (const member of ['bank-0', 'bank-1', 'bank-2']) {
      const seen = (await ledger.usageOf(member, DAY)).newElements;
      expect(seen).toBe((await store.quotas.usage(member, DAY)).newElements);
      total += seen;
    }
    expect(total).toBe(charged);
    expect(charged).toBe(100);
    for (let round = 0; round < 20; round++) {
      expect(await ledger.usageOf(`bank-${round % 3}`, DAY + round)).toMatchObject({ queries: 7, hits: 1 });
    }
    await store.close();
  });

  it('records answers and raises the alert flag once per day, written with the rest', async () => {
    const { store, ledger } = open('e.db');
    await ledger.charge('bank-a', digests(3), DAY, 10, 30);
    expect(await ledger.recordAnswers('bank-a', DAY, 3, 1)).toEqual({
      day: DAY,
      newElements: 3,
      queries: 3,
      hits: 1,
      alerted: false,
    });
    expect(await ledger.markAlerted('bank-a', DAY)).toBe(true);
    expect(await ledger.markAlerted('bank-a', DAY)).toBe(false);
    await ledger.flush();
    expect(await ledger.markAlerted('bank-a', DAY)).toBe(false);
    expect((await store.quotas.usage('bank-a', DAY)).alerted).toBe(true);
    expect(await ledger.markAlerted('bank-a', DAY + 1)).toBe(true);
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
