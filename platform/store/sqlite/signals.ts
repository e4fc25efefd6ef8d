/**
 * SQLite storage of fraud signals (coordinator). Looked up by (token, kind, at) through one covering index; the
 * retention sweep uses the index on `at_ms`. Signal ids are 16 random bytes, so they reveal neither order nor
 * volume to the members that hold them.
 */
import { randomBytes } from 'node:crypto';
import { AccordError } from '../../../primitives/errors/index.js';
import type { NewSignal, SignalGroupRow, SignalStore } from '../signal-types.js';
import type { Db } from './open.js';

export const SIGNAL_SCHEMA = [
  `CREATE TABLE IF NOT EXISTS signals (
     sid BLOB NOT NULL UNIQUE,
     token BLOB NOT NULL,
     kind TEXT NOT NULL,
     member TEXT NOT NULL,
     at_ms INTEGER NOT NULL,
     published_ms INTEGER NOT NULL,
     historical INTEGER NOT NULL DEFAULT 0
   )`,
  'CREATE INDEX IF NOT EXISTS signals_token_kind_at ON signals (token, kind, at_ms, member)',
  'CREATE INDEX IF NOT EXISTS signals_at ON signals (at_ms)',
] as const;

const ID_PREFIX = 'sig_';
const SWEEP_CHUNK = 10_000;

function idOf(sid: Buffer): string {
  return ID_PREFIX + sid.toString('hex');
}

function sidOf(id: string): Buffer | null {
  return /^sig_[0-9a-f]{32}$/.test(id) ? Buffer.from(id.slice(ID_PREFIX.length), 'hex') : null;
}

/** Databases created before signals could be marked historical gain the column (0 for what they hold). */
function migrate(db: Db): void {
  const columns = db.prepare<[], { name: string }>('PRAGMA table_info(signals)').all();
  if (!columns.some((c) => c.name === 'historical'))
    db.exec('ALTER TABLE signals ADD COLUMN historical INTEGER NOT NULL DEFAULT 0');
}

export function sqliteSignalStore(db: Db): SignalStore {
  migrate(db);
  const insertOne = db.prepare(
    'INSERT INTO signals (sid, token, kind, member, at_ms, published_ms, historical) VALUES (?, ?, ?, ?, ?, ?, ?)',
  );
  const ownerOf = db.prepare<[Buffer], { member: string }>('SELECT member FROM signals WHERE sid = ?');
  const deleteOne = db.prepare('DELETE FROM signals WHERE sid = ?');
  const groupsOf = db.prepare<[Buffer, number], SignalGroupRow>(
    `SELECT kind, member, MAX(at_ms) AS lastAtMs FROM signals
     WHERE token = ? AND at_ms >= ? GROUP BY kind, member`,
  );
  const sweep = db.prepare(
    `DELETE FROM signals WHERE rowid IN (SELECT rowid FROM signals WHERE at_ms < ? LIMIT ${SWEEP_CHUNK})`,
  );
  const countAll = db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM signals');

  const insertTx = db.transaction(
    (member: string, signals: readonly NewSignal[], publishedMs: number, historical: boolean) => {
      const sids = randomBytes(16 * signals.length);
      const ids: string[] = new Array(signals.length);
      for (let i = 0; i < signals.length; i++) {
        const s = signals[i]!;
        const sid = sids.subarray(i * 16, i * 16 + 16);
        insertOne.run(sid, s.token, s.kind, member, s.atMs, publishedMs, historical ? 1 : 0);
        ids[i] = idOf(sid);
      }
      return ids;
    },
  );
  const retractTx = db.transaction((member: string, ids: readonly string[]) => {
    let n = 0;
    for (const id of ids) {
      const sid = sidOf(id);
      const owner = sid ? ownerOf.get(sid) : undefined;
      // Unknown and someone else's look the same: a member learns nothing about signals it did not publish.
      if (!sid || owner?.member !== member)
        throw new AccordError('ACCORD_SIGNAL_NOT_FOUND', { signalId: sid ? id : '(malformed id)' });
      n += deleteOne.run(sid).changes;
    }
    return n;
  });
  const readMany = db.transaction((tokens: readonly Uint8Array[], sinceMs: number) =>
    tokens.map((t) => groupsOf.all(Buffer.from(t.buffer, t.byteOffset, t.byteLength), sinceMs)),
  );

  return {
    insert: async (member, signals, publishedMs, historical = false) =>
      insertTx.immediate(member, signals, publishedMs, historical),
    retract: async (member, ids) => retractTx.immediate(member, ids),
    groups: async (token, sinceMs) =>
      groupsOf.all(Buffer.from(token.buffer, token.byteOffset, token.byteLength), sinceMs),
    groupsMany: async (tokens, sinceMs) => readMany(tokens, sinceMs),
    deleteObservedBefore: async (beforeMs) => {
      let total = 0;
      for (;;) {
        const n = sweep.run(beforeMs).changes;
        total += n;
        if (n < SWEEP_CHUNK) return total;
      }
    },
    count: async () => countAll.get()!.n,
  };
}
