/**
 * SQLite record of the coordinator's PSI sessions: one row per session id ever opened (the primary key is what makes
 * ids single-use, across restarts too), who opened it with whom, and how it ended. Holds no point and no identifier.
 */
import type { PsiSessionStore } from '../psi-types.js';
import type { Db } from './open.js';

export const PSI_SESSION_SCHEMA = [
  `CREATE TABLE IF NOT EXISTS psi_sessions (
     id TEXT PRIMARY KEY,
     initiator TEXT NOT NULL,
     participants TEXT NOT NULL,
     opened_ms INTEGER NOT NULL,
     outcome TEXT,
     error_code TEXT,
     ended_ms INTEGER
   )`,
  'CREATE INDEX IF NOT EXISTS psi_sessions_initiator ON psi_sessions (initiator, opened_ms)',
] as const;

export function sqlitePsiSessionStore(db: Db): PsiSessionStore {
  const insert = db.prepare(
    'INSERT OR IGNORE INTO psi_sessions (id, initiator, participants, opened_ms) VALUES (?, ?, ?, ?)',
  );
  const finish = db.prepare(
    'UPDATE psi_sessions SET outcome = ?, error_code = ?, ended_ms = ? WHERE id = ? AND outcome IS NULL',
  );
  const since = db.prepare<[string, number], { n: number }>(
    'SELECT COUNT(*) AS n FROM psi_sessions WHERE initiator = ? AND opened_ms >= ?',
  );
  const unfinished = db.prepare('UPDATE psi_sessions SET outcome = ?, ended_ms = ? WHERE outcome IS NULL');
  return {
    open: async (s) => insert.run(s.id, s.initiator, s.participants.join(','), s.openedMs).changes === 1,
    end: async (id, outcome, errorCode, endedMs) => void finish.run(outcome, errorCode, endedMs, id),
    openedSince: async (initiator, sinceMs) => since.get(initiator, sinceMs)!.n,
    endUnfinished: async (outcome, endedMs) => unfinished.run(outcome, endedMs).changes,
  };
}
