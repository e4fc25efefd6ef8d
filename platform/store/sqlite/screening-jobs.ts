import type { IdKind } from '../../../primitives/identity/normalise.js';
import type { SignalAggregates } from '../../../primitives/signals/protocol.js';
import type { ScreenHit, ScreenJob, ScreenState, ScreeningJobStore } from '../screening-types.js';
import type { Db } from './open.js';

export const SCREENING_SCHEMA = [
  // `seq` orders jobs by creation for pruning; AUTOINCREMENT never reuses a value, even after the newest row goes.
  `CREATE TABLE IF NOT EXISTS screening_jobs (
     seq INTEGER PRIMARY KEY AUTOINCREMENT,
     id TEXT NOT NULL UNIQUE,
     state TEXT NOT NULL CHECK (state IN ('running', 'done', 'failed')),
     id_kind TEXT NOT NULL,
     total INTEGER NOT NULL,
     processed INTEGER NOT NULL,
     error_code TEXT,
     started_ms INTEGER NOT NULL,
     finished_ms INTEGER
   )`,
  `CREATE TABLE IF NOT EXISTS screening_hits (
     job_id TEXT NOT NULL,
     idx INTEGER NOT NULL,
     id TEXT NOT NULL,
     aggregates TEXT NOT NULL,
     PRIMARY KEY (job_id, idx)
   ) WITHOUT ROWID`,
] as const;

interface JobRow {
  id: string;
  state: ScreenState;
  id_kind: string;
  total: number;
  processed: number;
  error_code: string | null;
  started_ms: number;
  finished_ms: number | null;
}

interface HitRow {
  idx: number;
  id: string;
  aggregates: string;
}

export function sqliteScreeningJobStore(db: Db): ScreeningJobStore {
  const insert = db.prepare(
    `INSERT INTO screening_jobs (id, state, id_kind, total, processed, started_ms)
     VALUES (?, 'running', ?, ?, 0, ?)`,
  );
  const progress = db.prepare(
    `UPDATE screening_jobs SET processed = max(processed, ?) WHERE id = ? AND state = 'running'`,
  );
  const markDone = db.prepare(
    `UPDATE screening_jobs SET state = 'done', finished_ms = ? WHERE id = ? AND state = 'running'`,
  );
  const markFailed = db.prepare(
    `UPDATE screening_jobs SET state = 'failed', error_code = ?, finished_ms = ? WHERE id = ? AND state = 'running'`,
  );
  const markAllFailed = db.prepare(
    `UPDATE screening_jobs SET state = 'failed', error_code = ?, finished_ms = ? WHERE state = 'running'`,
  );
  const selectJob = db.prepare<[string], JobRow>(
    `SELECT id, state, id_kind, total, processed, error_code, started_ms, finished_ms
     FROM screening_jobs WHERE id = ?`,
  );
  const count = db.prepare<[], { n: number }>('SELECT count(*) AS n FROM screening_jobs');
  const oldestEnded = db.prepare<[number], { id: string }>(
    `SELECT id FROM screening_jobs WHERE state != 'running' ORDER BY seq LIMIT ?`,
  );
  const dropJob = db.prepare('DELETE FROM screening_jobs WHERE id = ?');
  const addHit = db.prepare('INSERT INTO screening_hits (job_id, idx, id, aggregates) VALUES (?, ?, ?, ?)');
  const dropHits = db.prepare('DELETE FROM screening_hits WHERE job_id = ?');
  const dropUnfinishedHits = db.prepare(
    `DELETE FROM screening_hits WHERE job_id IN (SELECT id FROM screening_jobs WHERE state = 'running')`,
  );
  const selectHits = db.prepare<[string], HitRow>(
    'SELECT idx, id, aggregates FROM screening_hits WHERE job_id = ? ORDER BY idx',
  );

  const completeTx = db.transaction((jobId: string, hits: readonly ScreenHit[]) => {
    dropHits.run(jobId);
    for (const h of hits) addHit.run(jobId, h.index, h.id, JSON.stringify(h.aggregates));
    // Throwing rolls the hits back: a job that already ended (failed) never gains a result.
    if (markDone.run(Date.now(), jobId).changes !== 1)
      throw new Error(`screening job ${jobId} is not running`);
  });
  const get = db.transaction((jobId: string): ScreenJob | null => {
    const row = selectJob.get(jobId);
    if (!row) return null;
    return {
      jobId: row.id,
      idKind: row.id_kind as IdKind,
      total: row.total,
      state: row.state,
      processed: row.processed,
      hits: selectHits.all(jobId).map((h) => ({
        index: h.idx,
        id: h.id,
        aggregates: JSON.parse(h.aggregates) as SignalAggregates,
      })),
      errorCode: row.error_code,
      startedMs: row.started_ms,
      finishedMs: row.finished_ms,
    };
  });
  const failUnfinishedTx = db.transaction((code: string) => {
    dropUnfinishedHits.run();
    return markAllFailed.run(code, Date.now()).changes;
  });
  const pruneTx = db.transaction((keep: number) => {
    const excess = count.get()!.n - keep;
    if (excess <= 0) return 0;
    const ids = oldestEnded.all(excess).map((r) => r.id);
    for (const id of ids) {
      dropHits.run(id);
      dropJob.run(id);
    }
    return ids.length;
  });

  return {
    create: async (job) => void insert.run(job.jobId, job.idKind, job.total, job.startedMs),
    recordProgress: async (jobId, processed) => void progress.run(processed, jobId),
    complete: async (jobId, hits) => completeTx(jobId, hits),
    fail: async (jobId, code) => void markFailed.run(code, Date.now(), jobId),
    get: async (jobId) => get(jobId),
    failUnfinished: async (code) => failUnfinishedTx(code),
    prune: async (keep) => pruneTx(keep),
  };
}
