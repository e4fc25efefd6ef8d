/**
 * Erasure of one customer across the node's stores in one SQLite transaction: scores and fallback partials
 * (scoring.ts), campaign decisions and contacts (campaign-runs.ts) and consent records (consent.ts) all live in the
 * node's one database, so their deletions commit together or not at all, and a crash part-way leaves the customer
 * whole rather than half erased. Each part is its store's own synchronous eraser (a nested better-sqlite3
 * transaction runs as a savepoint of this one). The caller audits after the commit.
 */
import type { CustomerErasureStore, ErasedCounts } from '../campaign-types.js';
import { sqliteRunEraser } from './campaign-runs.js';
import { sqliteConsentEraser } from './consent.js';
import type { Db } from './open.js';
import { sqliteScoreEraser } from './scoring.js';

export function sqliteCustomerErasure(db: Db): CustomerErasureStore {
  const scores = sqliteScoreEraser(db);
  const runs = sqliteRunEraser(db);
  const consent = sqliteConsentEraser(db);
  const eraseTx = db.transaction((customerId: string): ErasedCounts => {
    const erasedScores = scores(customerId);
    const { decisions, contacts } = runs(customerId);
    return { scores: erasedScores, decisions, consent: consent(customerId), contacts };
  });
  return { eraseCustomer: async (customerId) => eraseTx(customerId) };
}
