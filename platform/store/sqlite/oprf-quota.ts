/**
 * SQLite storage of per-member quotas on new identifiers (platform/store/quota-types.ts). A member's recent lookups
 * are kept as 16-byte digests of member elements (pseudorandom under a key the coordinator does not hold), one row per
 * (member, digest), so the coordinator can tell a repeat from a new identifier without learning either.
 */
import type { QuotaGrant, QuotaStore, QuotaWrites } from '../quota-types.js';
import type { Db } from './open.js';

export const QUOTA_SCHEMA = [
  `CREATE TABLE IF NOT EXISTS oprf_seen (
     member TEXT NOT NULL,
     digest BLOB NOT NULL,
     last_day INTEGER NOT NULL,
     PRIMARY KEY (member, digest)
   ) WITHOUT ROWID`,
  'CREATE INDEX IF NOT EXISTS oprf_seen_day ON oprf_seen (last_day)',
  `CREATE TABLE IF NOT EXISTS oprf_usage (
     member TEXT NOT NULL,
     day INTEGER NOT NULL,
     new_elements INTEGER NOT NULL DEFAULT 0,
     queries INTEGER NOT NULL DEFAULT 0,
     hits INTEGER NOT NULL DEFAULT 0,
     alerted INTEGER NOT NULL DEFAULT 0,
     PRIMARY KEY (member, day)
   ) WITHOUT ROWID`,
  `CREATE TABLE IF NOT EXISTS oprf_grants (
     id INTEGER PRIMARY KEY,
     member TEXT NOT NULL,
     extra INTEGER NOT NULL,
     from_day INTEGER NOT NULL,
     until_day INTEGER NOT NULL,
     granted_by TEXT NOT NULL,
     reason TEXT NOT NULL,
     granted_ms INTEGER NOT NULL
   )`,
  'CREATE INDEX IF NOT EXISTS oprf_grants_member ON oprf_grants (member, until_day)',
] as const;

interface UsageRow {
  new_elements: number;
  queries: number;
  hits: number;
  alerted: number;
}

interface GrantRow {
  id: number;
  member: string;
  extra: number;
  from_day: number;
  until_day: number;
  granted_by: string;
  reason: string;
  granted_ms: number;
}

const grantOf = (r: GrantRow): QuotaGrant => ({
  id: r.id,
  member: r.member,
  extra: r.extra,
  fromDay: r.from_day,
  untilDay: r.until_day,
  grantedBy: r.granted_by,
  reason: r.reason,
  grantedAtMs: r.granted_ms,
});

export function sqliteQuotaStore(db: Db): QuotaStore {
  const lastDay = db.prepare<[string, Buffer], { last_day: number }>(
    'SELECT last_day FROM oprf_seen WHERE member = ? AND digest = ?',
  );
  const remember = db.prepare(
    `INSERT INTO oprf_seen (member, digest, last_day) VALUES (?, ?, ?)
     ON CONFLICT (member, digest) DO UPDATE SET last_day = MAX(last_day, excluded.last_day)`,
  );
  const usageOf = db.prepare<[string, number], UsageRow>(
    'SELECT new_elements, queries, hits, alerted FROM oprf_usage WHERE member = ? AND day = ?',
  );
  const addUsage = db.prepare(
    `INSERT INTO oprf_usage (member, day, new_elements, queries, hits, alerted) VALUES (?, ?, ?, ?, ?, ?)
     ON CONFLICT (member, day) DO UPDATE SET new_elements = new_elements + excluded.new_elements,
       queries = queries + excluded.queries, hits = hits + excluded.hits,
       alerted = MAX(alerted, excluded.alerted)`,
  );
  const granted = db.prepare<[string, number, number], { extra: number | null }>(
    'SELECT SUM(extra) AS extra FROM oprf_grants WHERE member = ? AND from_day <= ? AND until_day >= ?',
  );
  const insertGrant = db.prepare(
    `INSERT INTO oprf_grants (member, extra, from_day, until_day, granted_by, reason, granted_ms)
     VALUES (?, ?, ?, ?, ?, ?, ?)`,
  );
  const grantsAll = db.prepare<[], GrantRow>('SELECT * FROM oprf_grants ORDER BY id');
  const grantsOf = db.prepare<[string], GrantRow>('SELECT * FROM oprf_grants WHERE member = ? ORDER BY id');
  const forgetSeen = db.prepare('DELETE FROM oprf_seen WHERE last_day < ?');
  const forgetUsage = db.prepare('DELETE FROM oprf_usage WHERE day < ?');
  const asBuffer = (d: Uint8Array) => Buffer.from(d.buffer, d.byteOffset, d.byteLength);

  const readLastDays = db.transaction((member: string, digests: readonly Uint8Array[]) =>
    digests.map((d) => lastDay.get(member, asBuffer(d))?.last_day ?? null),
  );
  const applyTx = db.transaction((writes: QuotaWrites) => {
    for (const s of writes.seen) remember.run(s.member, asBuffer(s.digest), s.day);
    for (const u of writes.usage)
      addUsage.run(u.member, u.day, u.newElements, u.queries, u.hits, u.alerted ? 1 : 0);
  });

  return {
    // One read needs no transaction around it (the single queries of the hot path).
    lastDays: async (member, digests) =>
      digests.length === 1
        ? [lastDay.get(member, asBuffer(digests[0]!))?.last_day ?? null]
        : readLastDays(member, digests),
    usage: async (member, day) => {
      const row = usageOf.get(member, day);
      return {
        day,
        newElements: row?.new_elements ?? 0,
        queries: row?.queries ?? 0,
        hits: row?.hits ?? 0,
        alerted: (row?.alerted ?? 0) === 1,
      };
    },
    grantedOn: async (member, day) => granted.get(member, day, day)?.extra ?? 0,
    apply: async (writes) => void applyTx.immediate(writes),
    grant: async (g) => {
      const id = Number(
        insertGrant.run(g.member, g.extra, g.fromDay, g.untilDay, g.grantedBy, g.reason, g.grantedAtMs)
          .lastInsertRowid,
      );
      return { ...g, id };
    },
    grants: async (member) => (member ? grantsOf.all(member) : grantsAll.all()).map(grantOf),
    prune: async (seenBeforeDay, usageBeforeDay) =>
      forgetSeen.run(seenBeforeDay).changes + forgetUsage.run(usageBeforeDay).changes,
  };
}
