import { type AuditDraft, type AuditEntry, sealEntry } from '../../../primitives/audit/chain.js';
import type { AuditStore } from '../types.js';
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

export function sqliteAuditStore(db: Db): AuditStore {
  const head = db.prepare<[], { seq: number; hash: string }>(
    'SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1',
  );
  const insert = db.prepare(
    `INSERT INTO audit_log (seq, at, actor, action, target, outcome, details, prev_hash, hash)
     VALUES (@seq, @at, @actor, @action, @target, @outcome, @details, @prevHash, @hash)`,
  );
  const page = db.prepare<[number, number], AuditRow>(
    'SELECT * FROM audit_log WHERE seq > ? ORDER BY seq LIMIT ?',
  );
  // Head read and insert in one transaction: the chain stays linear even with several writers on the file.
  const appendTx = db.transaction((draft: AuditDraft): AuditEntry => {
    const entry = sealEntry(draft, head.get() ?? null);
    insert.run({ ...entry, details: JSON.stringify(entry.details) });
    return entry;
  });
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
