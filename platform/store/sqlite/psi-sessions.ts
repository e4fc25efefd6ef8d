/**
 * SQLite record of the coordinator's sessions (PSI sessions, training jobs; one table each): one row per id ever opened
 * (the primary key is what makes ids single-use, across restarts too), who opened it with whom, and how it ended.
 * Holds no point, no identifier and no model value.
 */
import type { PsiSessionStore } from '../psi-types.js';
import type { Db } from './open.js';

const sessionSchema = (table: 'psi_sessions' | 'training_sessions') => [
  `CREATE TABLE IF NOT EXISTS ${table} (
     id TEXT PRIMARY KEY,
     initiator TEXT NOT NULL,
     participants TEXT NOT NULL,
     opened_ms INTEGER NOT NULL,
     outcome TEXT,
     error_code TEXT,
     ended_ms INTEGER
   )`,
  `CREATE INDEX IF NOT EXISTS ${table}_initiator ON ${table} (initiator, opened_ms)`,
];

export const PSI_SESSION_SCHEMA = sessionSchema('psi_sessions');
export const TRAINING_SESSION_SCHEMA = sessionSchema('training_sessions');

export const sqlitePsiSessionStore = (db: Db): PsiSessionStore => sqliteSessionStore(db, 'psi_sessions');
export const sqliteTrainingSessionStore = (db: Db): PsiSessionStore =>
  sqliteSessionStore(db, 'training_sessions');

function sqliteSessionStore(db: Db, table: 'psi_sessions' | 'training_sessions'): PsiSessionStore {
  const insert = db.prepare(
    `INSERT OR IGNORE INTO ${table} (id, initiator, participants, opened_ms) VALUES (?, ?, ?, ?)`,
  );
  const finish = db.prepare(
    `UPDATE ${table} SET outcome = ?, error_code = ?, ended_ms = ? WHERE id = ? AND outcome IS NULL`,
  );
  const since = db.prepare<[string, number], { n: number }>(
    `SELECT COUNT(*) AS n FROM ${table} WHERE initiator = ? AND opened_ms >= ?`,
  );
  const unfinished = db.prepare(`UPDATE ${table} SET outcome = ?, ended_ms = ? WHERE outcome IS NULL`);
  return {
    open: async (s) => insert.run(s.id, s.initiator, s.participants.join(','), s.openedMs).changes === 1,
    end: async (id, outcome, errorCode, endedMs) => void finish.run(outcome, errorCode, endedMs, id),
    openedSince: async (initiator, sinceMs) => since.get(initiator, sinceMs)!.n,
    endUnfinished: async (outcome, endedMs) => unfinished.run(outcome, endedMs).changes,
  };
}
