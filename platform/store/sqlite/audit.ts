import { type AuditDraft, type AuditEntry, sealEntry } from '../../../primitives/audit/chain.js';
import type { AuditAnchorRecord, AuditAnchorStore, AuditStore } from '../types.js';
import type { Db } from './open.js';

export const AUDIT_SCHEMA = [
  `CREATE TABLE IF NOT EXISTS audit_log (
     seq INTEGER PRIMARY KEY,
     at TEXT NOT NULL,
     actor TEXT NOT NULL,
     action TEXT NOT NULL,
     target TEXT NOT NULL,
     outcome TEXT NOT NULL,
     details TEXT NOT NULL,
     prev_hash TEXT NOT NULL,
     hash TEXT NOT NULL
   )`,
  // Append-only at the database level too; the hash chain catches anyone who drops these triggers.
  `CREATE TRIGGER IF NOT EXISTS audit_log_no_update BEFORE UPDATE ON audit_log
     BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END`,
  `CREATE TRIGGER IF NOT EXISTS audit_log_no_delete BEFORE DELETE ON audit_log
     BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END`,
  // Other processes' audit heads as this one anchored them (primitives/audit/anchors.ts); `entry_seq` is the
  // `audit:anchor` entry of audit_log written in the same transaction.
  `CREATE TABLE IF NOT EXISTS audit_anchors (
     party TEXT NOT NULL,
     seq INTEGER NOT NULL,
     hash TEXT NOT NULL,
     at TEXT NOT NULL,
     entry_seq INTEGER NOT NULL,
     PRIMARY KEY (party, seq)
   ) WITHOUT ROWID`,
  `CREATE TRIGGER IF NOT EXISTS audit_anchors_no_update BEFORE UPDATE ON audit_anchors
     BEGIN SELECT RAISE(ABORT, 'audit anchors are append-only'); END`,
  `CREATE TRIGGER IF NOT EXISTS audit_anchors_no_delete BEFORE DELETE ON audit_anchors
     BEGIN SELECT RAISE(ABORT, 'audit anchors are append-only'); END`,
] as const;

interface AuditRow {
  seq: number;
  at: string;
  actor: string;
  action: string;
  target: string;
  outcome: string;
  details: string;
  prev_hash: string;
  hash: string;
}

function fromRow(row: AuditRow): AuditEntry {
  return {
    seq: row.seq,
    at: row.at,
    actor: row.actor,
    action: row.action,
    target: row.target,
    outcome: row.outcome as AuditEntry['outcome'],
    details: JSON.parse(row.details),
    prevHash: row.prev_hash,
    hash: row.hash,
  };
}

/** Seals `draft` after the current head and inserts it; the caller runs it inside a transaction. */
function auditAppender(db: Db): (draft: AuditDraft) => AuditEntry {
  const head = db.prepare<[], { seq: number; hash: string }>(
    'SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1',
  );
  const insert = db.prepare(
    `INSERT INTO audit_log (seq, at, actor, action, target, outcome, details, prev_hash, hash)
     VALUES (@seq, @at, @actor, @action, @target, @outcome, @details, @prevHash, @hash)`,
  );
  return (draft) => {
    const entry = sealEntry(draft, head.get() ?? null);
    insert.run({ ...entry, details: JSON.stringify(entry.details) });
    return entry;
  };
}

export function sqliteAuditStore(db: Db): AuditStore {
  const head = db.prepare<[], { seq: number; hash: string }>(
    'SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1',
  );
  const page = db.prepare<[number, number], AuditRow>(
    'SELECT * FROM audit_log WHERE seq > ? ORDER BY seq LIMIT ?',
  );
  // Head read and insert in one transaction: the chain stays linear even with several writers on the file.
  const appendTx = db.transaction(auditAppender(db));
  return {
    append: async (draft) => appendTx.immediate(draft),
    head: async () => head.get() ?? null,
    list: async ({ afterSeq = 0, limit }) => page.all(afterSeq, limit).map(fromRow),
    async *iterate(batchSize = 1000) {
      let after = 0;
      for (;;) {
        const rows = page.all(after, batchSize);
        if (rows.length === 0) return;
        for (const row of rows) yield fromRow(row);
        after = rows[rows.length - 1]!.seq;
      }
    },
  };
}

interface AnchorRow {
  party: string;
  seq: number;
  hash: string;
  at: string;
  entry_seq: number;
}

const anchorFromRow = (row: AnchorRow): AuditAnchorRecord => ({
  party: row.party,
  seq: row.seq,
  hash: row.hash,
  at: row.at,
  entrySeq: row.entry_seq,
});

export function sqliteAuditAnchorStore(db: Db): AuditAnchorStore {
  const append = auditAppender(db);
  const latest = db.prepare<[string], AnchorRow>(
    'SELECT * FROM audit_anchors WHERE party = ? ORDER BY seq DESC LIMIT 1',
  );
  const page = db.prepare<[string, number, number], AnchorRow>(
    'SELECT * FROM audit_anchors WHERE party = ? AND seq > ? ORDER BY seq LIMIT ?',
  );
  const insert = db.prepare(
    'INSERT INTO audit_anchors (party, seq, hash, at, entry_seq) VALUES (@party, @seq, @hash, @at, @entrySeq)',
  );
  // The audit entry and the anchor row commit together: an anchor is never held without its record, nor the other way.
  const recordTx = db.transaction(
    (draft: AuditDraft, anchor: { party: string; seq: number; hash: string }): AuditAnchorRecord => {
      const previous = latest.get(anchor.party);
      if (previous && previous.seq >= anchor.seq)
        throw new Error(`anchor ${anchor.seq} of ${anchor.party} is not above the latest (${previous.seq})`);
      const entry = append(draft);
      const record = { ...anchor, at: entry.at, entrySeq: entry.seq };
      insert.run(record);
      return record;
    },
  );
  return {
    record: async (draft, anchor) => recordTx.immediate(draft, anchor),
    latest: async (party) => {
      const row = latest.get(party);
      return row ? anchorFromRow(row) : null;
    },
    list: async (party, { afterSeq = 0, limit }) => page.all(party, afterSeq, limit).map(anchorFromRow),
  };
}
