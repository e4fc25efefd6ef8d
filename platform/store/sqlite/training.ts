/**
 * SQLite storage of training jobs and the model registry. A job's record is JSON (its spec holds names and settings
 * only); a model's parameters are a float64 blob and its ONNX export another. `complete` writes the model and the
 * job's done state in one transaction, so a crash leaves either both or neither.
 */
import type { ModelRecord, ModelStore, TrainingJobRecord, TrainingJobStore } from '../training-types.js';
import { trainingEndedWith } from '../training-types.js';
import type { Db } from './open.js';

export const TRAINING_SCHEMA = [
  `CREATE TABLE IF NOT EXISTS training_jobs (
     id TEXT PRIMARY KEY,
     record TEXT NOT NULL,
     state TEXT NOT NULL,
     created_at TEXT NOT NULL
   )`,
  `CREATE TABLE IF NOT EXISTS models (
     id TEXT PRIMARY KEY,
     job_id TEXT NOT NULL UNIQUE,
     record TEXT NOT NULL,
     parameters BLOB NOT NULL,
     onnx BLOB NOT NULL,
     created_at TEXT NOT NULL
   )`,
] as const;

type StoredModel = Omit<ModelRecord, 'parameters'>;

function toModel(row: { record: string; parameters: Buffer }): ModelRecord {
  const parameters = new Float64Array(row.parameters.length / 8);
  new Uint8Array(parameters.buffer).set(row.parameters);
  return { ...(JSON.parse(row.record) as StoredModel), parameters };
}

export function sqliteTrainingStores(db: Db): { trainingJobs: TrainingJobStore; models: ModelStore } {
  const insert = db.prepare('INSERT INTO training_jobs (id, record, state, created_at) VALUES (?, ?, ?, ?)');
  const select = db.prepare<[string], { record: string }>('SELECT record FROM training_jobs WHERE id = ?');
  const save = db.prepare('UPDATE training_jobs SET record = ?, state = ? WHERE id = ?');
  const recent = db.prepare<[number], { record: string }>(
    'SELECT record FROM training_jobs ORDER BY created_at DESC LIMIT ?',
  );
  const unfinished = db.prepare<[], { record: string }>(
    `SELECT record FROM training_jobs WHERE state IN ('pending_approval', 'waiting', 'running')`,
  );
  const addModel = db.prepare(
    'INSERT INTO models (id, job_id, record, parameters, onnx, created_at) VALUES (?, ?, ?, ?, ?, ?)',
  );
  const models = db.prepare<[number], { record: string; parameters: Buffer }>(
    'SELECT record, parameters FROM models ORDER BY created_at DESC LIMIT ?',
  );
  const model = db.prepare<[string], { record: string; parameters: Buffer }>(
    'SELECT record, parameters FROM models WHERE id = ?',
  );
  const onnx = db.prepare<[string], { onnx: Buffer }>('SELECT onnx FROM models WHERE id = ?');

  const get = (id: string): TrainingJobRecord | null => {
    const row = select.get(id);
    return row ? (JSON.parse(row.record) as TrainingJobRecord) : null;
  };
  const update = (id: string, patch: Partial<TrainingJobRecord>): TrainingJobRecord => {
    const current = get(id);
    if (!current) throw new Error(`no training job ${id}`);
    const next = { ...current, ...patch };
    save.run(JSON.stringify(next), next.state, id);
    return next;
  };
  const completeTx = db.transaction((id: string, m: ModelRecord, bytes: Uint8Array) => {
    const { parameters, ...rest } = m;
    addModel.run(
      m.id,
      id,
      JSON.stringify(rest),
      Buffer.from(parameters.buffer, parameters.byteOffset, parameters.byteLength),
      Buffer.from(bytes),
      m.createdAt,
    );
    return update(id, { state: 'done', modelId: m.id, finishedAt: new Date().toISOString() });
  });
  const failTx = db.transaction((code: string, message: string) => {
    const stale = unfinished.all().map((r) => JSON.parse(r.record) as TrainingJobRecord);
    for (const job of stale) update(job.id, trainingEndedWith('failed', { code, message }));
    return stale.length;
  });

  return {
    trainingJobs: {
      create: async (r) => void insert.run(r.id, JSON.stringify(r), r.state, r.createdAt),
      update: async (id, patch) => update(id, patch),
      get: async (id) => get(id),
      list: async (limit) => recent.all(limit).map((r) => JSON.parse(r.record) as TrainingJobRecord),
      complete: async (id, m, bytes) => completeTx(id, m, bytes),
      failUnfinished: async (code, message) => failTx(code, message),
    },
    models: {
      list: async (limit) => models.all(limit).map(toModel),
      get: async (id) => {
        const row = model.get(id);
        return row ? toModel(row) : null;
      },
      onnx: async (id) => onnx.get(id)?.onnx ?? null,
    },
  };
}
