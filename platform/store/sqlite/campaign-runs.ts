/**
 * SQLite storage of campaign runs, their decisions and the contact history. A decision is one compact row keyed by
 * (run, row key) in a WITHOUT ROWID table (rules bitmask, reason code, tier and channel as small integers, the two
 * scores and the price), so a run of a million customers writes in row-key order and exports by a range scan; an
 * index on the customer id serves the "why?" lookup and erasure. Contacts carry their run: they are counted only
 * while that run is done, and go with it when it fails.
 */
import type {
  CampaignRunRecord,
  CampaignRunStore,
  ContactBatch,
  DecisionBatch,
  RunState,
  StoredDecision,
} from '../campaign-types.js';
import type { Db } from './open.js';

export const CAMPAIGN_RUN_SCHEMA = [
  // `seq` is the run's compact key in the decision and contact tables; AUTOINCREMENT never reuses a value.
  `CREATE TABLE IF NOT EXISTS campaign_runs (
     seq INTEGER PRIMARY KEY AUTOINCREMENT,
     id TEXT NOT NULL UNIQUE,
     campaign_id TEXT NOT NULL,
     version INTEGER NOT NULL,
     digest TEXT NOT NULL,
     state TEXT NOT NULL CHECK (state IN ('running', 'done', 'failed')),
     phase TEXT NOT NULL,
     processed INTEGER NOT NULL,
     total INTEGER NOT NULL,
     inputs TEXT,
     funnel TEXT,
     started_by TEXT NOT NULL,
     error_code TEXT,
     error_message TEXT,
     created_at TEXT NOT NULL,
     finished_at TEXT
   )`,
  'CREATE INDEX IF NOT EXISTS campaign_runs_campaign ON campaign_runs (campaign_id, seq)',
  `CREATE TABLE IF NOT EXISTS campaign_decisions (
     run_seq INTEGER NOT NULL,
     row_key INTEGER NOT NULL,
     customer_id TEXT NOT NULL,
     passed INTEGER NOT NULL,
     reason INTEGER NOT NULL,
     cap INTEGER NOT NULL,
     tier INTEGER NOT NULL,
     propensity REAL,
     risk REAL,
     price REAL,
     channel INTEGER NOT NULL,
     PRIMARY KEY (run_seq, row_key)
   ) WITHOUT ROWID`,
  'CREATE INDEX IF NOT EXISTS campaign_decisions_customer ON campaign_decisions (customer_id, run_seq)',
  `CREATE TABLE IF NOT EXISTS campaign_contacts (
     customer_id TEXT NOT NULL,
     at_ms INTEGER NOT NULL,
     channel TEXT NOT NULL,
     run_seq INTEGER NOT NULL
   )`,
  'CREATE INDEX IF NOT EXISTS campaign_contacts_customer ON campaign_contacts (customer_id, at_ms)',
  'CREATE INDEX IF NOT EXISTS campaign_contacts_run ON campaign_contacts (run_seq)',
] as const;

interface RunRow {
  seq: number;
  id: string;
  campaign_id: string;
  version: number;
  digest: string;
  state: RunState;
  phase: CampaignRunRecord['phase'];
  processed: number;
  total: number;
  inputs: string | null;
  funnel: string | null;
  started_by: string;
  error_code: string | null;
  error_message: string | null;
  created_at: string;
  finished_at: string | null;
}

interface DecisionRow {
  row_key: number;
  customer_id: string;
  passed: number;
  reason: number;
  cap: number;
  tier: number;
  propensity: number | null;
  risk: number | null;
  price: number | null;
  channel: number;
}

const toRun = (r: RunRow): CampaignRunRecord => ({
  id: r.id,
  campaign: r.campaign_id,
  version: r.version,
  digest: r.digest,
  state: r.state,
  phase: r.phase,
  processed: r.processed,
  total: r.total,
  inputs: r.inputs ? JSON.parse(r.inputs) : null,
  funnel: r.funnel ? JSON.parse(r.funnel) : null,
  startedBy: r.started_by,
  errorCode: r.error_code,
  errorMessage: r.error_message,
  createdAt: r.created_at,
  finishedAt: r.finished_at,
});

const toDecision = (r: DecisionRow): StoredDecision => ({
  rowKey: r.row_key,
  customerId: r.customer_id,
  passed: r.passed,
  reason: r.reason,
  cap: r.cap,
  tier: r.tier,
  propensity: r.propensity,
  risk: r.risk,
  price: r.price,
  channel: r.channel,
});

const orNull = (x: number): number | null => (Number.isNaN(x) ? null : x);

/** Erasure of a customer's decisions and contacts, as a synchronous transaction function (customer-erasure.ts). */
export function sqliteRunEraser(db: Db): (customerId: string) => { decisions: number; contacts: number } {
  const eraseDecisions = db.prepare('DELETE FROM campaign_decisions WHERE customer_id = ?');
  const eraseContacts = db.prepare('DELETE FROM campaign_contacts WHERE customer_id = ?');
  return db.transaction((customerId: string) => ({
    decisions: eraseDecisions.run(customerId).changes,
    contacts: eraseContacts.run(customerId).changes,
  }));
}

export function sqliteCampaignRunStore(db: Db): CampaignRunStore {
  const insertRun = db.prepare(
    `INSERT INTO campaign_runs (id, campaign_id, version, digest, state, phase, processed, total, inputs, funnel,
       started_by, error_code, error_message, created_at, finished_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const selectRun = db.prepare<[string], RunRow>('SELECT * FROM campaign_runs WHERE id = ?');
  const runsOf = db.prepare<[string, number], RunRow>(
    'SELECT * FROM campaign_runs WHERE campaign_id = ? ORDER BY seq DESC LIMIT ?',
  );
  const runningRun = db.prepare<[], RunRow>(
    `SELECT * FROM campaign_runs WHERE state = 'running' ORDER BY seq LIMIT 1`,
  );
  const allRunning = db.prepare<[], { seq: number }>(`SELECT seq FROM campaign_runs WHERE state = 'running'`);
  const runningSeq = db.prepare<[string], { seq: number }>(
    `SELECT seq FROM campaign_runs WHERE id = ? AND state = 'running'`,
  );
  const doneSeq = db.prepare<[string], { seq: number }>(`SELECT seq FROM campaign_runs WHERE id = ?`);
  const beginRun = db.prepare(
    `UPDATE campaign_runs SET inputs = ?, total = ?, phase = 'deciding' WHERE seq = ? AND state = 'running'`,
  );
  const progress = db.prepare('UPDATE campaign_runs SET processed = processed + ? WHERE seq = ?');
  const markDone = db.prepare(
    `UPDATE campaign_runs SET state = 'done', phase = 'done', funnel = ?, inputs = ?, finished_at = ?
     WHERE seq = ? AND state = 'running'`,
  );
  const markFailed = db.prepare(
    `UPDATE campaign_runs SET state = 'failed', error_code = ?, error_message = ?, finished_at = ?
     WHERE seq = ? AND state = 'running'`,
  );
  const insertDecision = db.prepare(
    `INSERT INTO campaign_decisions (run_seq, row_key, customer_id, passed, reason, cap, tier, propensity, risk,
       price, channel) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const insertContact = db.prepare(
    'INSERT INTO campaign_contacts (customer_id, at_ms, channel, run_seq) VALUES (?, ?, ?, ?)',
  );
  const dropDecisions = db.prepare('DELETE FROM campaign_decisions WHERE run_seq = ?');
  const dropContacts = db.prepare('DELETE FROM campaign_contacts WHERE run_seq = ?');
  const decisionOf = db.prepare<[string, number], DecisionRow>(
    'SELECT * FROM campaign_decisions WHERE customer_id = ? AND run_seq = ?',
  );
  const decisionsPage = db.prepare<[number, number, number], DecisionRow>(
    'SELECT * FROM campaign_decisions WHERE run_seq = ? AND row_key > ? ORDER BY row_key LIMIT ?',
  );
  const eligiblePage = db.prepare<[number, number, number], DecisionRow>(
    'SELECT * FROM campaign_decisions WHERE run_seq = ? AND row_key > ? AND reason = 0 ORDER BY row_key LIMIT ?',
  );
  // One query per batch: the batch's identifiers as a JSON array, each looked up by the customer index (CROSS JOIN
  // keeps the batch outermost).
  const contactsOfBatch = db.prepare<[string, number], { i: number; channel: string; at_ms: number }>(
    `SELECT j.key AS i, c.channel, c.at_ms FROM json_each(?) j
     CROSS JOIN campaign_contacts c ON c.customer_id = j.value AND c.at_ms > ?
     JOIN campaign_runs r ON r.seq = c.run_seq AND r.state = 'done'`,
  );

  const seqOfRunning = (id: string): number => {
    const row = runningSeq.get(id);
    if (!row) throw new Error(`campaign run ${id} is not running`);
    return row.seq;
  };
  const appendTx = db.transaction((id: string, d: DecisionBatch, c: ContactBatch) => {
    const seq = seqOfRunning(id);
    for (let i = 0; i < d.rowKeys.length; i++) {
      insertDecision.run(
        seq,
        d.rowKeys[i]!,
        d.customerIds[i]!,
        d.passed[i]!,
        d.reason[i]!,
        d.cap[i]!,
        d.tier[i]!,
        orNull(d.propensity[i]!),
        orNull(d.risk[i]!),
        orNull(d.price[i]!),
        d.channel[i]!,
      );
    }
    for (let i = 0; i < c.customerIds.length; i++)
      insertContact.run(c.customerIds[i]!, c.atMs, c.channels[i]!, seq);
    progress.run(d.rowKeys.length, seq);
  });
  const failOne = (seq: number, code: string, message: string) => {
    dropDecisions.run(seq);
    dropContacts.run(seq);
    markFailed.run(code, message, new Date().toISOString(), seq);
  };
  const failTx = db.transaction((id: string, code: string, message: string) => {
    const row = runningSeq.get(id);
    if (row) failOne(row.seq, code, message);
  });
  const failUnfinishedTx = db.transaction((code: string, message: string) => {
    const stale = allRunning.all();
    for (const { seq } of stale) failOne(seq, code, message);
    return stale.length;
  });
  const eraseTx = sqliteRunEraser(db);
  return {
    create: async (r) =>
      void insertRun.run(
        r.id,
        r.campaign,
        r.version,
        r.digest,
        r.state,
        r.phase,
        r.processed,
        r.total,
        r.inputs ? JSON.stringify(r.inputs) : null,
        r.funnel ? JSON.stringify(r.funnel) : null,
        r.startedBy,
        r.errorCode,
        r.errorMessage,
        r.createdAt,
        r.finishedAt,
      ),
    get: async (id) => {
      const row = selectRun.get(id);
      return row ? toRun(row) : null;
    },
    list: async (campaign, limit) => runsOf.all(campaign, limit).map(toRun),
    running: async () => {
      const row = runningRun.get();
      return row ? toRun(row) : null;
    },
    begin: async (id, inputs, total) => void beginRun.run(JSON.stringify(inputs), total, seqOfRunning(id)),
    append: async (id, decisions, contacts) => appendTx(id, decisions, contacts),
    complete: async (id, funnel, inputs) => {
      const seq = seqOfRunning(id);
      markDone.run(JSON.stringify(funnel), JSON.stringify(inputs), new Date().toISOString(), seq);
      return toRun(selectRun.get(id)!);
    },
    fail: async (id, error) => failTx(id, error.code, error.message),
    failUnfinished: async (code, message) => failUnfinishedTx(code, message),
    decision: async (id, customerId) => {
      const run = doneSeq.get(id);
      const row = run ? decisionOf.get(customerId, run.seq) : undefined;
      return row ? toDecision(row) : null;
    },
    async *iterateDecisions(id, batchSize, eligibleOnly) {
      const run = doneSeq.get(id);
      if (!run) return;
      const page = eligibleOnly ? eligiblePage : decisionsPage;
      let after = Number.MIN_SAFE_INTEGER;
      for (;;) {
        const rows = page.all(run.seq, after, batchSize);
        if (rows.length === 0) return;
        yield rows.map(toDecision);
        after = rows[rows.length - 1]!.row_key;
      }
    },
    contactsOf: async (customerIds, sinceMs) =>
      contactsOfBatch
        .all(JSON.stringify(customerIds), sinceMs)
        .map((r) => ({ index: r.i, channel: r.channel, at: r.at_ms })),
    eraseCustomer: async (customerId) => eraseTx(customerId),
  };
}
