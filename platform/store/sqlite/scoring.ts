/**
 * SQLite storage of scoring jobs, their scores and (vertical label holder) the partners' partial logits kept for the
 * real-time fallback, and the population reads scoring needs.
 *
 * Scores are keyed by (job, row key) and partials by (job, row key, member) in WITHOUT ROWID tables, and a job
 * writes them in ascending row-key order (the scorer reads its population in that order), so a million rows are
 * appended at the end of one B-tree rather than scattered over it, and a campaign run reads them back by one range
 * scan. There is deliberately no index on the customer id: fed in random order, such an index makes every batch's
 * commit rewrite thousands of scattered pages (ten times slower at a million rows). Erasure finds a customer's rows
 * through the dataset instead (its unique index on the id), per job, and scans a job's rows only when the job's
 * dataset has been replaced or no longer holds the customer.
 *
 * A job's partials replace the model's older ones only when it is done, in the same transaction; a failed job's
 * scores and partials go in the transaction that fails it.
 */
import { AccordError } from '../../../primitives/errors/index.js';
import { alignmentStale } from '../psi-types.js';
import type {
  AlignmentIndex,
  PopulationPage,
  ScoreBatch,
  ScoreStore,
  ScoringJobRecord,
  ScoringPopulation,
  ScoringState,
} from '../scoring-types.js';
import type { Db } from './open.js';

export const SCORING_SCHEMA = [
  // `seq` is the job's compact key in the score tables; AUTOINCREMENT never reuses a value. `dataset_id` is the
  // dataset's version (its internal id: a re-import gets a new one) the job scored.
  `CREATE TABLE IF NOT EXISTS scoring_jobs (
     seq INTEGER PRIMARY KEY AUTOINCREMENT,
     id TEXT NOT NULL UNIQUE,
     model TEXT NOT NULL,
     purpose TEXT NOT NULL,
     population TEXT NOT NULL,
     dataset TEXT NOT NULL,
     dataset_id INTEGER,
     state TEXT NOT NULL CHECK (state IN ('running', 'done', 'failed')),
     total INTEGER NOT NULL,
     scored INTEGER NOT NULL,
     fingerprint TEXT,
     requested_by TEXT NOT NULL,
     error_code TEXT,
     error_message TEXT,
     created_at TEXT NOT NULL,
     finished_at TEXT
   )`,
  `CREATE INDEX IF NOT EXISTS scoring_jobs_model ON scoring_jobs (model, state, seq)`,
  `CREATE TABLE IF NOT EXISTS scores (
     job_seq INTEGER NOT NULL,
     row_key INTEGER NOT NULL,
     customer_id TEXT NOT NULL,
     score REAL NOT NULL,
     PRIMARY KEY (job_seq, row_key)
   ) WITHOUT ROWID`,
  `CREATE TABLE IF NOT EXISTS score_partials (
     job_seq INTEGER NOT NULL,
     row_key INTEGER NOT NULL,
     member TEXT NOT NULL,
     customer_id TEXT NOT NULL,
     partial REAL NOT NULL,
     PRIMARY KEY (job_seq, row_key, member)
   ) WITHOUT ROWID`,
] as const;

interface JobRow {
  seq: number;
  id: string;
  model: string;
  purpose: ScoringJobRecord['purpose'];
  population: string;
  dataset: string;
  dataset_id: number | null;
  state: ScoringState;
  total: number;
  scored: number;
  fingerprint: string | null;
  requested_by: string;
  error_code: string | null;
  error_message: string | null;
  created_at: string;
  finished_at: string | null;
}

interface RowRow {
  row_key: number;
  record_id: string;
  cells: string;
}

function toJob(row: JobRow): ScoringJobRecord {
  return {
    id: row.id,
    model: row.model,
    purpose: row.purpose,
    population: JSON.parse(row.population) as ScoringPopulation,
    state: row.state,
    total: row.total,
    scored: row.scored,
    fingerprint: row.fingerprint,
    datasetVersion: row.dataset_id,
    requestedBy: row.requested_by,
    errorCode: row.error_code,
    errorMessage: row.error_message,
    createdAt: row.created_at,
    finishedAt: row.finished_at,
  };
}

function checkBatch(batch: ScoreBatch, customerIds: readonly string[]): void {
  if (batch.scores.length !== batch.rowKeys.length || customerIds.length !== batch.rowKeys.length)
    throw new Error('a score batch needs one score and one customer id per row key');
}

function page(rows: readonly RowRow[]): PopulationPage {
  const rowKeys = new Int32Array(rows.length);
  const ids: string[] = new Array(rows.length);
  const cells: string[] = new Array(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i]!;
    rowKeys[i] = r.row_key;
    ids[i] = r.record_id;
    cells[i] = r.cells;
  }
  return { rowKeys, ids, cells };
}

/**
 * Erasure of a customer's scores and partials, as one transaction function (better-sqlite3: called inside another
 * transaction it runs as a savepoint of it, so customer-erasure.ts erases everything of a customer at once).
 */
function scoreErasure(db: Db) {
  const runningOver = db.prepare<[], { id: string; dataset_id: number | null }>(
    `SELECT id, dataset_id FROM scoring_jobs WHERE state = 'running'`,
  );
  const allJobs = db.prepare<[], JobRow>('SELECT * FROM scoring_jobs');
  const datasetId = db.prepare<[string], { id: number }>(
    `SELECT id FROM datasets WHERE name = ? AND state = 'ready'`,
  );
  const rowKeyOf = db.prepare<[number, string], { row_key: number }>(
    'SELECT row_key FROM dataset_rows WHERE dataset_id = ? AND record_id = ?',
  );
  const eraseScoreAt = db.prepare('DELETE FROM scores WHERE job_seq = ? AND row_key = ? AND customer_id = ?');
  const erasePartialsAt = db.prepare(
    'DELETE FROM score_partials WHERE job_seq = ? AND row_key = ? AND customer_id = ?',
  );
  const eraseScoresOfJob = db.prepare('DELETE FROM scores WHERE job_seq = ? AND customer_id = ?');
  const erasePartialsOfJob = db.prepare('DELETE FROM score_partials WHERE job_seq = ? AND customer_id = ?');
  /** The customer's row key in the dataset version job `row` scored, or null (replaced, or not there). */
  const rowKeyInJob = (row: JobRow, customerId: string): number | null => {
    const current = datasetId.get(row.dataset)?.id;
    if (current === undefined || current !== row.dataset_id) return null;
    return rowKeyOf.get(current, customerId)?.row_key ?? null;
  };
  const eraseTx = db.transaction((customerId: string) => {
    // A job running over a dataset that holds the customer could write their score back after this: refuse first.
    for (const job of runningOver.all())
      if (job.dataset_id !== null && rowKeyOf.get(job.dataset_id, customerId))
        throw new AccordError('ACCORD_SCORING_ERASURE_BLOCKED', { job: job.id });
    let erased = 0;
    for (const job of allJobs.all()) {
      const key = rowKeyInJob(job, customerId);
      erased +=
        key === null
          ? eraseScoresOfJob.run(job.seq, customerId).changes +
            erasePartialsOfJob.run(job.seq, customerId).changes
          : eraseScoreAt.run(job.seq, key, customerId).changes +
            erasePartialsAt.run(job.seq, key, customerId).changes;
    }
    return erased;
  });
  return { rowKeyInJob, eraseTx };
}

/** The score store's erasure alone, as a synchronous transaction function (see scoreErasure). */
export function sqliteScoreEraser(db: Db): (customerId: string) => number {
  return scoreErasure(db).eraseTx;
}

export function sqliteScoreStore(db: Db): ScoreStore {
  const insertJob = db.prepare(
    `INSERT INTO scoring_jobs (id, model, purpose, population, dataset, dataset_id, state, total, scored,
       fingerprint, requested_by, error_code, error_message, created_at, finished_at)
     VALUES (?, ?, ?, ?, ?, (SELECT id FROM datasets WHERE name = ? AND state = 'ready'), ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const selectJob = db.prepare<[string], JobRow>('SELECT * FROM scoring_jobs WHERE id = ?');
  const recent = db.prepare<[number], JobRow>('SELECT * FROM scoring_jobs ORDER BY seq DESC LIMIT ?');
  // Over the dataset as it is now: scores of a replaced version sit at other row keys.
  const newestDone = db.prepare<[string, string, string], JobRow>(
    `SELECT * FROM scoring_jobs WHERE model = ? AND state = 'done' AND dataset = ?
       AND dataset_id = (SELECT id FROM datasets WHERE name = ? AND state = 'ready')
     ORDER BY seq DESC LIMIT 1`,
  );
  const runningSeq = db.prepare<[string], { seq: number }>(
    `SELECT seq FROM scoring_jobs WHERE id = ? AND state = 'running'`,
  );
  const doneSeq = db.prepare<[string], { seq: number }>(
    `SELECT seq FROM scoring_jobs WHERE id = ? AND state = 'done'`,
  );
  const addScore = db.prepare(
    'INSERT INTO scores (job_seq, row_key, customer_id, score) VALUES (?, ?, ?, ?)',
  );
  const addPartial = db.prepare(
    'INSERT INTO score_partials (job_seq, row_key, member, customer_id, partial) VALUES (?, ?, ?, ?, ?)',
  );
  const progress = db.prepare('UPDATE scoring_jobs SET scored = scored + ? WHERE seq = ?');
  const markDone = db.prepare(
    `UPDATE scoring_jobs SET state = 'done', fingerprint = ?, finished_at = ? WHERE seq = ? AND state = 'running'`,
  );
  const markFailed = db.prepare(
    `UPDATE scoring_jobs SET state = 'failed', error_code = ?, error_message = ?, finished_at = ?
     WHERE seq = ? AND state = 'running'`,
  );
  const running = db.prepare<[], { seq: number }>(`SELECT seq FROM scoring_jobs WHERE state = 'running'`);
  const dropScores = db.prepare('DELETE FROM scores WHERE job_seq = ?');
  const dropPartials = db.prepare('DELETE FROM score_partials WHERE job_seq = ?');
  const hasPartials = db.prepare<[number], { one: number }>(
    'SELECT 1 AS one FROM score_partials WHERE job_seq = ? LIMIT 1',
  );
  // Older done jobs of the same model: their partials give way to the newer job's.
  const olderDoneOfModel = db.prepare<[number, number], { seq: number }>(
    `SELECT seq FROM scoring_jobs WHERE model = (SELECT model FROM scoring_jobs WHERE seq = ?) AND state = 'done'
     AND seq < ?`,
  );
  const scoresPage = db.prepare<[number, number, number], { row_key: number; score: number }>(
    'SELECT row_key, score FROM scores WHERE job_seq = ? AND row_key > ? ORDER BY row_key LIMIT ?',
  );
  // The newest done jobs of a model (a few: older ones' partials are dropped when a newer one is done).
  const doneOfModel = db.prepare<[string], JobRow>(
    `SELECT * FROM scoring_jobs WHERE model = ? AND state = 'done' ORDER BY seq DESC LIMIT 8`,
  );
  const partialAt = db.prepare<[number, number, string, string], { partial: number }>(
    'SELECT partial FROM score_partials WHERE job_seq = ? AND row_key = ? AND member = ? AND customer_id = ?',
  );
  const datasetId = db.prepare<[string], { id: number }>(
    `SELECT id FROM datasets WHERE name = ? AND state = 'ready'`,
  );
  const rowsAfter = db.prepare<[number, number, number], RowRow>(
    'SELECT row_key, record_id, cells FROM dataset_rows WHERE dataset_id = ? AND row_key > ? ORDER BY row_key LIMIT ?',
  );
  // An alignment's job, the version of its dataset it aligned, and the version ready now.
  const alignedVersions = db.prepare<
    [string],
    { dataset: string; aligned: number | null; current: number | null }
  >(
    `SELECT json_extract(j.record, '$.dataset') AS dataset, json_extract(j.record, '$.datasetVersion') AS aligned,
       (SELECT d.id FROM datasets d WHERE d.name = json_extract(j.record, '$.dataset') AND d.state = 'ready') AS current
     FROM psi_jobs j WHERE j.id = ?`,
  );
  const rowsIn = db.prepare<[number, string], RowRow>(
    `SELECT row_key, record_id, cells FROM dataset_rows
     WHERE dataset_id = ? AND row_key IN (SELECT value FROM json_each(?))`,
  );
  const rowsAt = db.prepare<[number, string, string], RowRow & { ordinal: number }>(
    `SELECT p.ordinal, r.row_key, r.record_id, r.cells FROM psi_rows p
     JOIN dataset_rows r ON r.dataset_id = ? AND r.row_key = p.row_key
     WHERE p.job_id = ? AND p.ordinal IN (SELECT value FROM json_each(?))`,
  );
  const alignmentSize = db.prepare<[string], { n: number; top: number | null }>(
    'SELECT count(*) AS n, max(row_key) AS top FROM psi_rows WHERE job_id = ?',
  );
  const alignmentRows = db
    .prepare<[string], [number, number]>('SELECT ordinal, row_key FROM psi_rows WHERE job_id = ?')
    .raw(true);
  const customerRow = db.prepare<[number, string], { row_key: number; cells: string }>(
    'SELECT row_key, cells FROM dataset_rows WHERE dataset_id = ? AND record_id = ?',
  );
  const idOf = (dataset: string): number => {
    const row = datasetId.get(dataset);
    if (!row) throw new AccordError('ACCORD_DATASET_NOT_FOUND', { dataset });
    return row.id;
  };
  /**
   * The dataset version (id) whose row keys `alignment` lists, if it is still the one ready now; else the coded
   * error (psi-types `alignmentStale`). Each read below calls it in the same synchronous step as its query, so no
   * re-import can slip in between.
   */
  const alignedId = (alignment: string): number => {
    const row = alignedVersions.get(alignment);
    if (!row) throw new AccordError('ACCORD_PSI_JOB_NOT_FOUND', { job: alignment });
    const stale = alignmentStale(
      { id: alignment, dataset: row.dataset, datasetVersion: row.aligned },
      row.current,
    );
    if (stale) throw stale;
    return row.current!;
  };

  const seqOfRunning = (job: string): number => {
    const row = runningSeq.get(job);
    if (!row) throw new Error(`scoring job ${job} is not running`);
    return row.seq;
  };
  const appendTx = db.transaction(
    (
      job: string,
      batch: ScoreBatch,
      customerIds: readonly string[],
      partials: ReadonlyMap<string, Float64Array> | null,
    ) => {
      checkBatch(batch, customerIds);
      const seq = seqOfRunning(job);
      const { rowKeys, scores } = batch;
      for (const values of partials?.values() ?? [])
        if (values.length !== rowKeys.length) throw new Error('a partial batch needs one value per row key');
      for (let i = 0; i < rowKeys.length; i++) {
        addScore.run(seq, rowKeys[i]!, customerIds[i]!, scores[i]!);
        for (const [member, values] of partials ?? [])
          addPartial.run(seq, rowKeys[i]!, member, customerIds[i]!, values[i]!);
      }
      progress.run(rowKeys.length, seq);
    },
  );
  const completeTx = db.transaction((job: string, fingerprint: string) => {
    const seq = seqOfRunning(job);
    markDone.run(fingerprint, new Date().toISOString(), seq);
    if (hasPartials.get(seq)) for (const older of olderDoneOfModel.all(seq, seq)) dropPartials.run(older.seq);
    return toJob(selectJob.get(job)!);
  });
  const failOne = (seq: number, code: string, message: string): void => {
    dropScores.run(seq);
    dropPartials.run(seq);
    markFailed.run(code, message, new Date().toISOString(), seq);
  };
  const failTx = db.transaction((job: string, code: string, message: string) => {
    const row = runningSeq.get(job);
    if (row) failOne(row.seq, code, message);
  });
  const failUnfinishedTx = db.transaction((code: string, message: string) => {
    const stale = running.all();
    for (const { seq } of stale) failOne(seq, code, message);
    return stale.length;
  });
  const { rowKeyInJob, eraseTx } = scoreErasure(db);

  return {
    createJob: async (job) =>
      void insertJob.run(
        job.id,
        job.model,
        job.purpose,
        JSON.stringify(job.population),
        job.population.dataset,
        job.population.dataset,
        job.state,
        job.total,
        job.scored,
        job.fingerprint,
        job.requestedBy,
        job.errorCode,
        job.errorMessage,
        job.createdAt,
        job.finishedAt,
      ),
    appendScores: async (job, batch, customerIds) => appendTx(job, batch, customerIds, null),
    appendJoint: async (job, batch, customerIds, partials) => appendTx(job, batch, customerIds, partials),
    complete: async (job, fingerprint) => completeTx(job, fingerprint),
    fail: async (job, error) => failTx(job, error.code, error.message),
    getJob: async (job) => {
      const row = selectJob.get(job);
      return row ? toJob(row) : null;
    },
    listJobs: async (limit) => recent.all(limit).map(toJob),
    latestDone: async (model, dataset) => {
      const row = newestDone.get(model, dataset, dataset);
      return row ? toJob(row) : null;
    },
    async *iterate(job, batchSize) {
      const row = doneSeq.get(job);
      if (!row) throw new Error(`scoring job ${job} is not done`);
      let after = Number.MIN_SAFE_INTEGER;
      for (;;) {
        const rows = scoresPage.all(row.seq, after, batchSize);
        if (rows.length === 0) return;
        const rowKeys = new Int32Array(rows.length);
        const scores = new Float64Array(rows.length);
        for (let i = 0; i < rows.length; i++) {
          rowKeys[i] = rows[i]!.row_key;
          scores[i] = rows[i]!.score;
        }
        yield { rowKeys, scores };
        after = rowKeys[rows.length - 1]!;
      }
    },
    failUnfinished: async (code, message) => failUnfinishedTx(code, message),
    eraseCustomer: async (customerId) => eraseTx(customerId),
    latestPartial: async (model, member, customerId) => {
      for (const job of doneOfModel.all(model)) {
        const key = rowKeyInJob(job, customerId);
        if (key === null) continue;
        const hit = partialAt.get(job.seq, key, member, customerId);
        if (hit) return { job: job.id, finishedAt: job.finished_at!, partial: hit.partial };
      }
      return null;
    },
    datasetPage: async (dataset, afterRowKey, limit) =>
      page(rowsAfter.all(idOf(dataset), afterRowKey, limit)),
    alignedRows: async (alignment, rowKeys) => {
      const found = new Map(
        rowsIn
          .all(alignedId(alignment), JSON.stringify(Array.from(rowKeys)))
          .map((r) => [r.row_key, r] as const),
      );
      return page(Array.from(rowKeys, (k) => found.get(k)).filter((r): r is RowRow => r !== undefined));
    },
    rowsAtPositions: async (alignment, positions) => {
      const found = new Map(
        rowsAt
          .all(alignedId(alignment), alignment, JSON.stringify(Array.from(positions)))
          .map((r) => [r.ordinal, r] as const),
      );
      const rows: RowRow[] = [];
      for (const p of positions) {
        const row = found.get(p);
        if (!row) return null;
        rows.push(row);
      }
      return page(rows);
    },
    alignmentIndex: async (alignment): Promise<AlignmentIndex> => {
      // Row keys are line numbers, unique per dataset: a position per key, then the keys read off in order (linear,
      // 4 bytes per line of the dataset for a moment, no sort and no object per row).
      alignedId(alignment);
      const { n, top } = alignmentSize.get(alignment)!;
      const byKey = new Int32Array((top ?? 0) + 1).fill(-1);
      for (const [ordinal, rowKey] of alignmentRows.iterate(alignment)) byKey[rowKey] = ordinal;
      const rowKeys = new Int32Array(n);
      const positions = new Uint32Array(n);
      let at = 0;
      for (let key = 0; key < byKey.length; key++)
        if (byKey[key]! >= 0) {
          rowKeys[at] = key;
          positions[at++] = byKey[key]!;
        }
      return { rowKeys, positions };
    },
    locate: async (source, customerId) => {
      const row = customerRow.get(
        'alignment' in source ? alignedId(source.alignment) : idOf(source.dataset),
        customerId,
      );
      return row ? { rowKey: row.row_key, cells: row.cells } : null;
    },
  };
}
