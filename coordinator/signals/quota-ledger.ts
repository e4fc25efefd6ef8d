/**
 * The counting of quotas on new identifiers (rules: `quota.ts`) in front of the persistent store.
 *
 * What the quota rests on, the number of new elements a member used today, is written before a charge is answered:
 * one upsert of one row (the same B-tree page every time), so a crash or a kill loses none of it, and when the store
 * cannot write, charges that would add new elements are refused (the quota fails closed). The rest is kept in memory
 * and written every `flushEveryMs` (2 s) and on close, in short transactions that leave the event loop free between
 * them: the last day each element was used (random B-tree pages: measured on `npm run bench:signals`, one such
 * transaction a query, or one every 200 ms, put them in the log fast enough to stall the query path, p99 about 90 ms
 * against 15 ms without the quota) and the day's answer and hit counts. A crash loses at most 2 s of those:
 * forgotten last uses make repeats count again (the member pays twice, never less), and lost answer counts only delay
 * the enumeration alert.
 *
 * Charges of one member are decided one at a time (each waits for the previous), so simultaneous requests cannot
 * all pass a quota that only one may; the store's reads and the buffer together are the state they see.
 */
import type { Logger } from '../../platform/log/logger.js';
import type { QuotaCharge, QuotaStore, QuotaUsage, QuotaWrites } from '../../platform/store/quota-types.js';
import { PerKeyQueue } from '../../primitives/concurrency/per-key-queue.js';
import { AccordError } from '../../primitives/errors/index.js';

/** Buffered changes beyond this many refuse new charges (the store is failing): memory stays bounded. */
const MAX_PENDING = 200_000;
/** Last uses written per transaction when flushing (each a few milliseconds of the event loop at most). */
const FLUSH_CHUNK_ROWS = 128;

interface PendingUsage {
  newElements: number;
  queries: number;
  hits: number;
  alerted: boolean;
}
/** member -> digest (hex) -> { digest, day of last use }. */
type SeenBuffer = Map<string, Map<string, { digest: Uint8Array; day: number }>>;
/** `${member}/${day}` -> counts. */
type UsageBuffer = Map<string, PendingUsage & { member: string; day: number }>;

/** `a` with the counts of `b` added (the alert flag only ever set). */
function plus(a: QuotaUsage, b: PendingUsage): QuotaUsage {
  return {
    day: a.day,
    newElements: a.newElements + b.newElements,
    queries: a.queries + b.queries,
    hits: a.hits + b.hits,
    alerted: a.alerted || b.alerted,
  };
}

/** Sets `key` in a cache of at most 10 000 entries, forgetting the oldest first. */
function remember<V>(cache: Map<string, V>, key: string, value: V): void {
  cache.set(key, value);
  if (cache.size > 10_000) cache.delete(cache.keys().next().value!);
}

export class QuotaLedger {
  /** Last uses not yet written. */
  private seen: SeenBuffer = new Map();
  /** Counts not yet written. */
  private usage: UsageBuffer = new Map();
  /** What a flush is writing right now: still counted until the store has it. */
  private inFlight: { seen: SeenBuffer; usage: UsageBuffer } | null = null;
  private pending = 0;
  /** Charges and alert flags of one member, one at a time. */
  private readonly queue = new PerKeyQueue();
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> | null = null;
  /**
   * The stored usage of each (member, day) read so far, kept current as flushes add to it (this ledger is the only
   * writer): a charge reads the store's usage once a day per member, not once a query.
   */
  private readonly stored = new Map<string, QuotaUsage>();
  /** Grants in force per (member, day) as last read; re-read before any refusal, so a new grant applies at once. */
  private readonly granted = new Map<string, number>();
  /**
   * Moves when a write to the store starts and when it ends, so that a read of the stored usage that a write may have
   * overtaken (in either direction) is read again rather than cached wrong.
   */
  private writeEpoch = 0;
  /** Writes to the store under way. */
  private writing = 0;

  constructor(
    private readonly store: QuotaStore,
    private readonly log: Logger,
    private readonly flushEveryMs = 2_000,
  ) {}

  /**
   * Charges the distinct `digests` of one request to `member` on `day`, all or nothing: digests it used within the
   * last `memoryDays` days are free (their last use moves to `day`), the others count against `baseLimit` plus the
   * grants in force.
   */
  charge(
    member: string,
    digests: readonly Uint8Array[],
    day: number,
    baseLimit: number,
    memoryDays: number,
  ): Promise<QuotaCharge> {
    return this.queue.run(member, () => this.chargeNow(member, digests, day, baseLimit, memoryDays));
  }

  private async chargeNow(
    member: string,
    digests: readonly Uint8Array[],
    day: number,
    baseLimit: number,
    memoryDays: number,
  ): Promise<QuotaCharge> {
    if (this.pending > MAX_PENDING)
      throw new AccordError('ACCORD_STORE_UNAVAILABLE', {
        path: 'quota ledger',
        reason: 'writes are failing',
      });
    const oldest = day - memoryDays + 1;
    const buffered = this.seen.get(member);
    const flying = this.inFlight?.seen.get(member);
    const bufferedDay = (hex: string) => buffered?.get(hex)?.day ?? flying?.get(hex)?.day ?? null;
    const hexes = digests.map((d) => Buffer.from(d.buffer, d.byteOffset, d.byteLength).toString('hex'));
    // Distinct digests the buffer does not already place within the window: the store says for those.
    const firstAt = new Map<string, number>();
    hexes.forEach((hex, i) => {
      if (!firstAt.has(hex)) firstAt.set(hex, i);
    });
    const ask = [...firstAt.entries()].filter(([hex]) => (bufferedDay(hex) ?? -Infinity) < oldest);
    const stored = await this.store.lastDays(
      member,
      ask.map(([, i]) => digests[i]!),
    );
    const lastOf = new Map<string, number | null>(ask.map(([hex], k) => [hex, stored[k]!]));
    const isFresh = hexes.map((hex, i) => {
      if (firstAt.get(hex) !== i) return false;
      const last = bufferedDay(hex) ?? lastOf.get(hex) ?? null;
      return last === null || last < oldest;
    });
    const fresh = isFresh.filter(Boolean).length;
    const usedBefore = (await this.usageOf(member, day)).newElements;
    let limit = baseLimit + (await this.grantedOn(member, day, false));
    // Grants only ever add, so a cached sum can only be too low: before refusing, read them fresh.
    if (usedBefore + fresh > limit) limit = baseLimit + (await this.grantedOn(member, day, true));
    const charge: QuotaCharge = { allowed: usedBefore + fresh <= limit, fresh, isFresh, usedBefore, limit };
    if (!charge.allowed) return charge;
    if (fresh > 0) await this.writeNewElements(member, day, fresh);
    // Every distinct digest's last use moves to today, unless it is already recorded as today. (The buffer is read
    // again: a flush may have taken it during the awaits above.)
    const mine = this.seen.get(member) ?? new Map<string, { digest: Uint8Array; day: number }>();
    for (const [hex, i] of firstAt) {
      const last = bufferedDay(hex) ?? lastOf.get(hex) ?? null;
      if (last === day) continue;
      if (!mine.has(hex)) this.pending++;
      mine.set(hex, { digest: Uint8Array.from(digests[i]!), day });
    }
    this.seen.set(member, mine);
    return charge;
  }

  /** Adds `fresh` to the day's stored count before the charge is answered; nothing is charged if it fails. */
  private async writeNewElements(member: string, day: number, fresh: number): Promise<void> {
    const key = `${member}/${day}`;
    const row = { member, day, newElements: fresh, queries: 0, hits: 0, alerted: false };
    try {
      await this.written({ seen: [], usage: [row] }, () => {
        const s = this.stored.get(key);
        if (s) this.stored.set(key, { ...s, newElements: s.newElements + fresh });
      });
    } catch (err) {
      this.log.error('a quota charge could not be written; refused', { err, member });
      throw new AccordError('ACCORD_STORE_UNAVAILABLE', {
        path: 'quota store',
        reason: 'writes are failing',
      });
    }
  }

  /** Adds answered lookups and hits among new identifiers; returns the day's usage with them. */
  async recordAnswers(member: string, day: number, queries: number, hits: number): Promise<QuotaUsage> {
    this.add(member, day, { queries, hits });
    return this.usageOf(member, day);
  }

  /** Marks the day's enumeration alert raised; true only the first time (one at a time per member, as charges). */
  markAlerted(member: string, day: number): Promise<boolean> {
    return this.queue.run(member, async () => {
      if ((await this.usageOf(member, day)).alerted) return false;
      this.add(member, day, { alerted: true });
      return true;
    });
  }

  /** The grants in force for (member, day), from cache unless `fresh` (the CLI adds them from another process). */
  private async grantedOn(member: string, day: number, fresh: boolean): Promise<number> {
    const key = `${member}/${day}`;
    const cached = this.granted.get(key);
    if (cached !== undefined && !fresh) return cached;
    const extra = await this.store.grantedOn(member, day);
    remember(this.granted, key, extra);
    return extra;
  }

  /** The day's usage as stored plus what is buffered or being written. */
  async usageOf(member: string, day: number): Promise<QuotaUsage> {
    const key = `${member}/${day}`;
    let stored = this.stored.get(key);
    while (!stored) {
      const before = this.writeEpoch;
      const read = await this.store.usage(member, day);
      // A write started or ended during the read, so it may or may not be in it: read again.
      if (this.writeEpoch !== before) continue;
      // A write that began before the read and still runs may be in it too: used once, not cached (it can only
      // count that write twice, never miss it).
      if (this.writing > 0) {
        stored = read;
        break;
      }
      // Another read may have raced this one; the first cached value stays (writes add to it).
      stored = this.stored.get(key) ?? read;
      remember(this.stored, key, stored);
    }
    let total: QuotaUsage = stored;
    for (const extra of [this.usage.get(key), this.inFlight?.usage.get(key)])
      if (extra) total = plus(total, extra);
    return total;
  }

  private add(member: string, day: number, delta: Partial<PendingUsage>): void {
    const key = `${member}/${day}`;
    let u = this.usage.get(key);
    if (!u) {
      u = { member, day, newElements: 0, queries: 0, hits: 0, alerted: false };
      this.usage.set(key, u);
      this.pending++;
    }
    u.newElements += delta.newElements ?? 0;
    u.queries += delta.queries ?? 0;
    u.hits += delta.hits ?? 0;
    u.alerted ||= delta.alerted ?? false;
    if (!this.timer) {
      this.timer = setTimeout(() => void this.flush(), this.flushEveryMs);
      this.timer.unref();
    }
  }

  /**
   * Writes what is buffered: the day's counts in one transaction, then the last uses in transactions of
   * FLUSH_CHUNK_ROWS, yielding to the event loop between them (one transaction of 2 s of last uses, random B-tree
   * pages, held the loop for 20 to 50 ms in `npm run bench:signals`). On failure what is not written stays buffered
   * (logged) for the next flush.
   */
  flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.flushing) return this.flushing.then(() => this.flush());
    if (this.usage.size === 0 && this.seen.size === 0) return Promise.resolve();
    const [seen, usage] = [this.seen, this.usage];
    this.seen = new Map();
    this.usage = new Map();
    const count = this.pending;
    this.pending = 0;
    this.inFlight = { seen, usage };
    this.flushing = this.writeOut(seen, usage, count).finally(() => {
      this.inFlight = null;
      this.flushing = null;
    });
    return this.flushing;
  }

  private async writeOut(seen: SeenBuffer, usage: UsageBuffer, count: number): Promise<void> {
    let usageWritten = usage.size === 0;
    try {
      if (!usageWritten) {
        await this.written({ seen: [], usage: [...usage.values()] }, () => {
          // Now stored: into the cached stored usage, out of the flight, in one step (no read counts them twice).
          for (const [key, u] of usage) {
            const s = this.stored.get(key);
            if (s) this.stored.set(key, plus(s, u)); // not cached: the next read gets it from the store
          }
          this.inFlight = { seen, usage: new Map() };
          usageWritten = true;
        });
      }
      const rows = [...seen].flatMap(([member, byHex]) => [...byHex.values()].map((s) => ({ member, ...s })));
      for (let i = 0; i < rows.length; i += FLUSH_CHUNK_ROWS) {
        await new Promise((resolve) => setImmediate(resolve));
        await this.written({ seen: rows.slice(i, i + FLUSH_CHUNK_ROWS), usage: [] });
      }
    } catch (err) {
      this.log.error('quota counts could not be written; kept for the next attempt', { err });
      this.inFlight = null;
      // Last uses are upserted (writing one twice changes nothing); counts are added, so only unwritten ones return.
      this.restore(seen, usageWritten ? new Map() : usage);
      this.pending += count;
      this.timer ??= setTimeout(() => void this.flush(), this.flushEveryMs * 10);
      this.timer.unref();
    }
  }

  /** One write to the store, `then` run in the same step as its completion (before any read can see it twice). */
  private async written(writes: QuotaWrites, then?: () => void): Promise<void> {
    this.writeEpoch++;
    this.writing++;
    try {
      await this.store.apply(writes);
      then?.();
    } finally {
      this.writeEpoch++;
      this.writing--;
    }
  }

  /** Puts back what a failed flush took, under anything charged since. */
  private restore(seen: SeenBuffer, usage: UsageBuffer): void {
    for (const [member, byHex] of seen) {
      const now = this.seen.get(member) ?? new Map();
      for (const [hex, s] of byHex) if (!now.has(hex)) now.set(hex, s);
      this.seen.set(member, now);
    }
    for (const [key, u] of usage) {
      const now = this.usage.get(key);
      this.usage.set(key, now ? { ...plus(now, u), member: u.member } : u);
    }
  }
}
