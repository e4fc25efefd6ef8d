import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { LocalConsortium } from '../../examples/local-consortium.js';

/** One row of the coordinator's audit log as tests read it (details as stored: JSON text). */
export interface CoordinatorAuditRow {
  readonly actor: string;
  readonly action: string;
  readonly target: string;
  readonly outcome: string;
  readonly details: string;
}

/** The coordinator's audit log, oldest first, read from its database (read-only, while it runs). */
export function coordinatorAudit(c: LocalConsortium): CoordinatorAuditRow[] {
  const db = new Database(join(c.dir, 'coordinator', 'data', 'coordinator.db'), { readonly: true });
  try {
    return db
      .prepare('SELECT actor, action, target, outcome, details FROM audit_log ORDER BY seq')
      .all() as CoordinatorAuditRow[];
  } finally {
    db.close();
  }
}
