/**
 * SQLite storage of consent (one row per customer and purpose: status, when granted, when withdrawn, when it
 * expires) and of the do-not-contact list. Bulk imports are staged invisibly, keyed by an import number, and applied
 * in one transaction at commit (line by line in file order), so a bad line leaves nothing behind; a crash mid-import
 * leaves staged rows that the next open drops. Times are kept as milliseconds since the epoch.
 *
 * A withdrawal is never undone by a grant that is not shown to be later: a grant replaces a withdrawn record only if
 * its granted time is after the withdrawal (`GRANT_MAY_REPLACE`), and an import's grant without a granted time never
 * replaces one; such lines are kept out and counted. Withdrawals always apply.
 */
import { CONSENT } from '../../../primitives/campaigns/rules.js';
import type {
  ConsentImport,
  ConsentRecord,
  ConsentStatus,
  ConsentStore,
  DoNotContactStore,
  ListImport,
} from '../campaign-types.js';
import type { Db } from './open.js';

export const CONSENT_SCHEMA = [
  `CREATE TABLE IF NOT EXISTS consent (
     customer_id TEXT NOT NULL,
     purpose TEXT NOT NULL,
     status TEXT NOT NULL CHECK (status IN ('granted', 'withdrawn')),
     granted_ms INTEGER,
     expires_ms INTEGER,
     updated_ms INTEGER NOT NULL,
     withdrawn_ms INTEGER,
     PRIMARY KEY (customer_id, purpose)
   ) WITHOUT ROWID`,
  'CREATE INDEX IF NOT EXISTS consent_purpose ON consent (purpose)',
  `CREATE TABLE IF NOT EXISTS consent_staging (
     import_id INTEGER NOT NULL,
     seq INTEGER NOT NULL,
     customer_id TEXT NOT NULL,
     purpose TEXT NOT NULL,
     status TEXT NOT NULL,
     granted_ms INTEGER,
     expires_ms INTEGER,
     updated_ms INTEGER NOT NULL,
     PRIMARY KEY (import_id, seq)
   ) WITHOUT ROWID`,
  `CREATE TABLE IF NOT EXISTS do_not_contact (
     customer_id TEXT PRIMARY KEY,
     added_ms INTEGER NOT NULL
   ) WITHOUT ROWID`,
  `CREATE TABLE IF NOT EXISTS do_not_contact_staging (
     import_id INTEGER NOT NULL,
     customer_id TEXT NOT NULL,
     PRIMARY KEY (import_id, customer_id)
   ) WITHOUT ROWID`,
] as const;

interface ConsentRow {
  customer_id: string;
  purpose: string;
  status: ConsentStatus;
  granted_ms: number | null;
  expires_ms: number | null;
  updated_ms: number;
  withdrawn_ms: number | null;
}

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());
const ms = (text: string | null): number | null => (text === null ? null : Date.parse(text));

const toConsent = (r: ConsentRow): ConsentRecord => ({
  customerId: r.customer_id,
  purpose: r.purpose,
  status: r.status,
  grantedAt: iso(r.granted_ms),
  withdrawnAt: r.status === 'withdrawn' ? iso(r.withdrawn_ms) : null,
  expiresAt: iso(r.expires_ms),
  updatedAt: iso(r.updated_ms)!,
});

/**
 * What an upsert sets on an existing record. A withdrawal keeps the granted time it does not give, and records its
 * own time; a grant keeps the withdrawal's time (history) and, undated, the granted time it had.
 */
const UPSERT_SET = `status = excluded.status,
  granted_ms = CASE WHEN excluded.status = 'withdrawn' THEN COALESCE(excluded.granted_ms, consent.granted_ms)
    ELSE COALESCE(excluded.granted_ms, consent.granted_ms, excluded.updated_ms) END,
  expires_ms = excluded.expires_ms, updated_ms = excluded.updated_ms,
  withdrawn_ms = CASE WHEN excluded.status = 'withdrawn' THEN excluded.withdrawn_ms ELSE consent.withdrawn_ms END`;

/** When a write may replace the existing record: anything but a grant not dated after the record's withdrawal. */
const GRANT_MAY_REPLACE = `NOT (consent.status = 'withdrawn' AND excluded.status = 'granted'
  AND (excluded.granted_ms IS NULL OR excluded.granted_ms <= COALESCE(consent.withdrawn_ms, consent.updated_ms)))`;

/** Import numbers for staged rows: unique within the process (the staging tables are emptied at open). */
let nextImport = 1;

/** Erasure of a customer's consent records, as a synchronous statement (customer-erasure.ts); returns how many. */
/**
 * An import staged in its own rows: `append` stages a batch, `commit` applies them all in one transaction, `abort`
 * (or a crash: stage rows are dropped when the store opens) keeps nothing. Once committed, abort does nothing.
 */
function stagedImport<T, C>(
  append: (rows: readonly T[]) => void,
  commit: () => C,
  drop: () => void,
): { append(rows: readonly T[]): Promise<void>; commit(): Promise<C>; abort(): Promise<void> } {
  let finished = false;
  return {
    append: async (rows) => append(rows),
    commit: async () => {
      finished = true;
      return commit();
    },
    abort: async () => {
      if (!finished) drop();
      finished = true;
    },
  };
}

export function sqliteConsentEraser(db: Db): (customerId: string) => number {
  const eraseConsent = db.prepare('DELETE FROM consent WHERE customer_id = ?');
  return (customerId) => eraseConsent.run(customerId).changes;
}

export function sqliteConsentStores(db: Db): { consent: ConsentStore; doNotContact: DoNotContactStore } {
  db.exec('DELETE FROM consent_staging; DELETE FROM do_not_contact_staging;');

  const upsert = db.prepare(
    `INSERT INTO consent (customer_id, purpose, status, granted_ms, expires_ms, updated_ms, withdrawn_ms)
     VALUES (?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (customer_id, purpose) DO UPDATE SET ${UPSERT_SET} WHERE ${GRANT_MAY_REPLACE}`,
  );
  const stage = db.prepare(
    `INSERT INTO consent_staging (import_id, seq, customer_id, purpose, status, granted_ms, expires_ms, updated_ms)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  // An undated grant takes the import's time as its granted time, unless the record it meets is withdrawn: then it
  // stays undated, and GRANT_MAY_REPLACE keeps it out.
  const dateGrants = db.prepare(
    `UPDATE consent_staging SET granted_ms = updated_ms
     WHERE import_id = ? AND status = 'granted' AND granted_ms IS NULL AND NOT EXISTS (
       SELECT 1 FROM consent c WHERE c.customer_id = consent_staging.customer_id
         AND c.purpose = consent_staging.purpose AND c.status = 'withdrawn')`,
  );
  const applyStaged = db.prepare(
    `INSERT INTO consent (customer_id, purpose, status, granted_ms, expires_ms, updated_ms, withdrawn_ms)
     SELECT customer_id, purpose, status, granted_ms, expires_ms, updated_ms,
       CASE WHEN status = 'withdrawn' THEN updated_ms END
     FROM consent_staging WHERE import_id = ? ORDER BY seq
     ON CONFLICT (customer_id, purpose) DO UPDATE SET ${UPSERT_SET} WHERE ${GRANT_MAY_REPLACE}`,
  );
  const stagedCount = db.prepare<[number], { n: number }>(
    'SELECT COUNT(*) AS n FROM consent_staging WHERE import_id = ?',
  );
  const dropStaged = db.prepare('DELETE FROM consent_staging WHERE import_id = ?');
  const ofCustomer = db.prepare<[string], ConsentRow>(
    'SELECT * FROM consent WHERE customer_id = ? ORDER BY purpose',
  );
  // From the consent rows of the purpose into the dataset's id index: stops at the first customer found.
  const anyOfDataset = db.prepare<[string, string], { one: number }>(
    `SELECT 1 AS one FROM consent c
     WHERE c.purpose = ? AND EXISTS (
       SELECT 1 FROM dataset_rows r JOIN datasets d ON d.id = r.dataset_id
       WHERE d.name = ? AND d.state = 'ready' AND r.record_id = c.customer_id)
     LIMIT 1`,
  );
  // CROSS JOIN keeps the batch outermost: one primary-key lookup per customer, never a scan of the purpose.
  const statesOfBatch = db.prepare<
    [string, string],
    { i: number; status: ConsentStatus; expires_ms: number | null }
  >(
    `SELECT j.key AS i, c.status, c.expires_ms FROM json_each(?) j
     CROSS JOIN consent c ON c.customer_id = j.value AND c.purpose = ?`,
  );
  const eraseConsent = sqliteConsentEraser(db);

  const addListed = db.prepare('INSERT OR IGNORE INTO do_not_contact (customer_id, added_ms) VALUES (?, ?)');
  const removeListed = db.prepare('DELETE FROM do_not_contact WHERE customer_id = ?');
  const isListed = db.prepare<[string], { one: number }>(
    'SELECT 1 AS one FROM do_not_contact WHERE customer_id = ?',
  );
  const listedOfBatch = db.prepare<[string], { i: number }>(
    `SELECT j.key AS i FROM json_each(?) j CROSS JOIN do_not_contact d ON d.customer_id = j.value`,
  );
  const countListed = db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM do_not_contact');
  const stageListed = db.prepare(
    'INSERT OR IGNORE INTO do_not_contact_staging (import_id, customer_id) VALUES (?, ?)',
  );
  const applyListed = db.prepare(
    `INSERT OR IGNORE INTO do_not_contact (customer_id, added_ms)
     SELECT customer_id, ? FROM do_not_contact_staging WHERE import_id = ?`,
  );
  const dropListed = db.prepare('DELETE FROM do_not_contact_staging WHERE import_id = ?');

  const put = (r: ConsentRecord) =>
    upsert.run(
      r.customerId,
      r.purpose,
      r.status,
      ms(r.grantedAt),
      ms(r.expiresAt),
      ms(r.updatedAt),
      r.status === 'withdrawn' ? ms(r.updatedAt) : null,
    ).changes > 0;
  const addTx = db.transaction((ids: readonly string[]) => {
    const now = Date.now();
    let added = 0;
    for (const id of ids) added += addListed.run(id, now).changes;
    return added;
  });

  const consent: ConsentStore = {
    put: async (record) => put(record),
    async beginImport(): Promise<ConsentImport> {
      const importId = nextImport++;
      let seq = 0;
      const appendTx = db.transaction((rows: readonly ConsentRecord[]) => {
        for (const r of rows)
          stage.run(
            importId,
            seq++,
            r.customerId,
            r.purpose,
            r.status,
            ms(r.grantedAt),
            ms(r.expiresAt),
            ms(r.updatedAt),
          );
      });
      const commitTx = db.transaction(() => {
        const staged = stagedCount.get(importId)!.n;
        dateGrants.run(importId);
        // A line kept out by GRANT_MAY_REPLACE changes no row: the difference counts them.
        const applied = applyStaged.run(importId).changes;
        dropStaged.run(importId);
        return { applied, kept: staged - applied };
      });
      return stagedImport(appendTx, commitTx, () => dropStaged.run(importId));
    },
    forCustomer: async (customerId) => ofCustomer.all(customerId).map(toConsent),
    anyForDataset: async (purpose, dataset) => anyOfDataset.get(purpose, dataset) !== undefined,
    statesOf: async (purpose, customerIds, atMs) => {
      const states = new Uint8Array(customerIds.length).fill(CONSENT.NONE);
      for (const row of statesOfBatch.all(JSON.stringify(customerIds), purpose)) {
        states[row.i] =
          row.status === 'withdrawn'
            ? CONSENT.WITHDRAWN
            : row.expires_ms !== null && row.expires_ms <= atMs
              ? CONSENT.EXPIRED
              : CONSENT.GRANTED;
      }
      return states;
    },
    eraseCustomer: async (customerId) => eraseConsent(customerId),
  };

  const doNotContact: DoNotContactStore = {
    add: async (ids) => addTx(ids),
    async beginImport(): Promise<ListImport> {
      const importId = nextImport++;
      const appendTx = db.transaction((ids: readonly string[]) => {
        for (const id of ids) stageListed.run(importId, id);
      });
      const commitTx = db.transaction(() => {
        const added = applyListed.run(Date.now(), importId).changes;
        dropListed.run(importId);
        return added;
      });
      return stagedImport(appendTx, commitTx, () => dropListed.run(importId));
    },
    remove: async (id) => removeListed.run(id).changes > 0,
    has: async (id) => isListed.get(id) !== undefined,
    listedOf: async (ids) => {
      const listed = new Uint8Array(ids.length);
      for (const row of listedOfBatch.all(JSON.stringify(ids))) listed[row.i] = 1;
      return listed;
    },
    count: async () => countListed.get()!.n,
  };
  return { consent, doNotContact };
}
