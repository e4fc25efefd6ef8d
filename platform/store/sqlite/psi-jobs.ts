import { alignmentStale, endedWith, type PsiJobRecord, type PsiJobStore } from '../psi-types.js';
import type { Db } from './open.js';

export const PSI_SCHEMA = [
  `CREATE TABLE IF NOT EXISTS psi_jobs (
     id TEXT PRIMARY KEY,
     record TEXT NOT NULL,
     state TEXT NOT NULL,
     created_at TEXT NOT NULL
   )`,
  // The shared rows of a finished job in the order every learner shares (`ordinal`): row r of each learner's
  // alignment is the same customer.
  `CREATE TABLE IF NOT EXISTS psi_rows (
     job_id TEXT NOT NULL,
     ordinal INTEGER NOT NULL,
     row_key INTEGER NOT NULL,
     PRIMARY KEY (job_id, ordinal)
   ) WITHOUT ROWID`,
] as const;

export function sqlitePsiJobStore(db: Db): PsiJobStore {
  const insert = db.prepare('INSERT INTO psi_jobs (id, record, state, created_at) VALUES (?, ?, ?, ?)');
  const select = db.prepare<[string], { record: string }>('SELECT record FROM psi_jobs WHERE id = ?');
  const save = db.prepare('UPDATE psi_jobs SET record = ?, state = ? WHERE id = ?');
  const recent = db.prepare<[number], { record: string }>(
    'SELECT record FROM psi_jobs ORDER BY created_at DESC LIMIT ?',
  );
  const since = db.prepare<[string], { record: string }>(
    `SELECT record FROM psi_jobs WHERE created_at >= ? AND state IN ('running', 'done')`,
  );
  const unfinished = db.prepare<[], { record: string }>(
    `SELECT record FROM psi_jobs WHERE state IN ('pending_approval', 'waiting', 'running')`,
  );
  const addRow = db.prepare('INSERT INTO psi_rows (job_id, ordinal, row_key) VALUES (?, ?, ?)');
  const dropRows = db.prepare('DELETE FROM psi_rows WHERE job_id = ?');
  const rows = db.prepare<[string, number, number], { row_key: number }>(
    'SELECT row_key FROM psi_rows WHERE job_id = ? AND ordinal >= ? ORDER BY ordinal LIMIT ?',
  );
  const readyVersion = db.prepare<[string], { id: number }>(
    `SELECT id FROM datasets WHERE name = ? AND state = 'ready'`,
  );

  const get = (id: string): PsiJobRecord | null => {
    const row = select.get(id);
    return row ? (JSON.parse(row.record) as PsiJobRecord) : null;
  };
  const update = (id: string, patch: Partial<PsiJobRecord>): PsiJobRecord => {
    const current = get(id);
    if (!current) throw new Error(`no PSI job ${id}`);
    const next = { ...current, ...patch };
    save.run(JSON.stringify(next), next.state, id);
    return next;
  };
  const completeTx = db.transaction(
    (
      id: string,
      rowKeys: readonly number[] | null,
      resultSize: number | null,
      datasetVersion: number | null,
    ) => {
      dropRows.run(id);
      for (const [ordinal, key] of (rowKeys ?? []).entries()) addRow.run(id, ordinal, key);
      return update(id, { state: 'done', resultSize, datasetVersion, finishedAt: new Date().toISOString() });
    },
  );
  /** The job's rows, read in the same step as the check that its dataset was not re-imported since. */
  const alignmentTx = db.transaction((id: string, offset: number, limit: number) => {
    const job = get(id);
    if (job) {
      const stale = alignmentStale(job, readyVersion.get(job.dataset)?.id);
      if (stale) throw stale;
    }
    return rows.all(id, offset, limit).map((r) => r.row_key);
  });
  const failTx = db.transaction((code: string, message: string) => {
    const stale = unfinished.all().map((r) => JSON.parse(r.record) as PsiJobRecord);
    for (const job of stale) {
      dropRows.run(job.id);
      update(job.id, endedWith('failed', { code, message }));
    }
    return stale.length;
  });

  return {
    create: async (record) =>
      void insert.run(record.id, JSON.stringify(record), record.state, record.createdAt),
    update: async (id, patch) => update(id, patch),
    get: async (id) => get(id),
    list: async (limit) => recent.all(limit).map((r) => JSON.parse(r.record) as PsiJobRecord),
    complete: async (id, rowKeys, resultSize, datasetVersion) =>
      completeTx(id, rowKeys, resultSize, datasetVersion),
    alignment: async (id, offset, limit) => alignmentTx(id, offset, limit),
    rowsBroughtSince: async (dataset, sinceIso, except) => {
      const rows: Record<string, number> = {};
      for (const { record } of since.all(sinceIso)) {
        const job = JSON.parse(record) as PsiJobRecord;
        if (job.id === except || job.dataset !== dataset) continue;
        for (const [partner, size] of Object.entries(job.peerSizes ?? {}))
          rows[partner] = (rows[partner] ?? 0) + size;
      }
      return rows;
    },
    failUnfinished: async (code, message) => failTx(code, message),
  };
}
