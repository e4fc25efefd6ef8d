/**
 * Test helper: the attack audit anchors exist for. On a stopped process's SQLite file, drops the append-only
 * triggers, deletes one audit entry and re-seals every later entry with `sealEntry` (renumbered, re-linked,
 * re-hashed, original times kept), so that the hash chain alone verifies again.
 */
import Database from 'better-sqlite3';
import { type AuditEntry, sealEntry } from '../../primitives/audit/chain.js';

interface Row {
  seq: number;
  at: string;
  actor: string;
  action: string;
  target: string;
  outcome: AuditEntry['outcome'];
  details: string;
  prev_hash: string;
  hash: string;
}

/** Removes entry `seq` from the audit log in `dbFile` and re-seals the rest; returns the entry count after. */
export function removeEntryAndReseal(dbFile: string, seq: number): number {
  const db = new Database(dbFile);
  try {
    db.exec('DROP TRIGGER IF EXISTS audit_log_no_update');
    db.exec('DROP TRIGGER IF EXISTS audit_log_no_delete');
    const rows = db.prepare('SELECT * FROM audit_log ORDER BY seq').all() as Row[];
    const update = db.prepare('UPDATE audit_log SET seq = ?, prev_hash = ?, hash = ? WHERE seq = ?');
    db.transaction(() => {
      db.prepare('DELETE FROM audit_log WHERE seq = ?').run(seq);
      let previous: { seq: number; hash: string } | null = rows[seq - 2] ?? null;
      // Ascending order: each entry moves down into the seq just freed.
      for (const row of rows.slice(seq)) {
        const sealed = sealEntry(
          {
            actor: row.actor,
            action: row.action,
            target: row.target,
            outcome: row.outcome,
            details: JSON.parse(row.details),
          },
          previous,
          new Date(row.at),
        );
        update.run(sealed.seq, sealed.prevHash, sealed.hash, row.seq);
        previous = sealed;
      }
    })();
    return rows.length - 1;
  } finally {
    db.close();
  }
}
