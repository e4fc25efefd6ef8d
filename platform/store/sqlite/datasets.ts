import { AccordError } from '../../../primitives/errors/index.js';
import type {
  Cell,
  DatasetDefinition,
  DatasetImport,
  DatasetInfo,
  DatasetStore,
  StagedRow,
} from '../types.js';
import type { Db } from './open.js';

export const DATASET_SCHEMA = [
  `CREATE TABLE IF NOT EXISTS datasets (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     name TEXT NOT NULL,
     state TEXT NOT NULL CHECK (state IN ('importing', 'ready')),
     id_column TEXT NOT NULL,
     id_kind TEXT NOT NULL,
     columns TEXT NOT NULL,
     row_count INTEGER NOT NULL DEFAULT 0,
     imported_at TEXT NOT NULL
   )`,
  `CREATE UNIQUE INDEX IF NOT EXISTS datasets_ready_name ON datasets (name) WHERE state = 'ready'`,
  `CREATE TABLE IF NOT EXISTS dataset_rows (
     dataset_id INTEGER NOT NULL REFERENCES datasets (id) ON DELETE CASCADE,
     row_key INTEGER NOT NULL,
     record_id TEXT NOT NULL,
     cells TEXT NOT NULL,
     PRIMARY KEY (dataset_id, row_key)
   ) WITHOUT ROWID`,
  'CREATE UNIQUE INDEX IF NOT EXISTS dataset_rows_record ON dataset_rows (dataset_id, record_id)',
] as const;

interface DatasetRow {
  id: number;
  name: string;
  id_column: string;
  id_kind: string;
  columns: string;
  row_count: number;
  imported_at: string;
}

function toInfo(row: DatasetRow): DatasetInfo {
  return {
    name: row.name,
    idColumn: row.id_column,
    idKind: row.id_kind,
    columns: JSON.parse(row.columns),
    rowCount: row.row_count,
    importedAt: row.imported_at,
    version: row.id,
  };
}

function isUniqueViolation(err: unknown): boolean {
  return (
    (err as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE' ||
    (err as { code?: string }).code === 'SQLITE_CONSTRAINT_PRIMARYKEY'
  );
}

export function sqliteDatasetStore(db: Db): DatasetStore {
  // A crash mid-import leaves an 'importing' dataset behind: it was never visible, so dropping it is safe.
  db.prepare(`DELETE FROM datasets WHERE state = 'importing'`).run();

  const readyByName = db.prepare<[string], DatasetRow>(
    `SELECT * FROM datasets WHERE name = ? AND state = 'ready'`,
  );
  const listReady = db.prepare<[], DatasetRow>(`SELECT * FROM datasets WHERE state = 'ready' ORDER BY name`);
  const insertDataset = db.prepare(
    `INSERT INTO datasets (name, state, id_column, id_kind, columns, imported_at) VALUES (?, 'importing', ?, ?, ?, ?)`,
  );
  const insertRow = db.prepare(
    'INSERT INTO dataset_rows (dataset_id, row_key, record_id, cells) VALUES (?, ?, ?, ?)',
  );
  const findDuplicate = db.prepare<[number, string], { row_key: number }>(
    'SELECT row_key FROM dataset_rows WHERE dataset_id = ? AND record_id = ?',
  );
  const deleteDataset = db.prepare('DELETE FROM datasets WHERE id = ?');
  const publish = db.prepare(
    `UPDATE datasets SET state = 'ready', row_count = ?, imported_at = ? WHERE id = ?`,
  );
  const idsPage = db.prepare<[number, number, number], { row_key: number; record_id: string }>(
    'SELECT row_key, record_id FROM dataset_rows WHERE dataset_id = ? AND row_key > ? ORDER BY row_key LIMIT ?',
  );

  const allRowKeys = db.prepare<[number], { row_key: number }>(
    'SELECT row_key FROM dataset_rows WHERE dataset_id = ? ORDER BY row_key',
  );
  const recordIdsByKeys = db.prepare<[number, string], { row_key: number; record_id: string }>(
    'SELECT row_key, record_id FROM dataset_rows WHERE dataset_id = ? AND row_key IN (SELECT value FROM json_each(?))',
  );
  const idsByKeys = db.prepare<[number, string], { row_key: number; cells: string }>(
    'SELECT row_key, cells FROM dataset_rows WHERE dataset_id = ? AND row_key IN (SELECT value FROM json_each(?))',
  );

  const appendTx = db.transaction(
    (datasetId: number, definition: DatasetDefinition, rows: readonly StagedRow[]) => {
      for (const row of rows) {
        try {
          insertRow.run(datasetId, row.rowKey, row.id, JSON.stringify(row.cells));
        } catch (err) {
          if (!isUniqueViolation(err)) throw err;
          const first = findDuplicate.get(datasetId, row.id)?.row_key;
          throw new AccordError('ACCORD_DATASET_ROW_INVALID', {
            line: row.rowKey,
            column: definition.idColumn,
            problem: `duplicate id (first seen on line ${first ?? '?'})`,
          });
        }
      }
    },
  );

  return {
    async beginImport(definition): Promise<DatasetImport> {
      const datasetId = Number(
        insertDataset.run(
          definition.name,
          definition.idColumn,
          definition.idKind,
          JSON.stringify(definition.columns),
          new Date().toISOString(),
        ).lastInsertRowid,
      );
      let rowCount = 0;
      let finished = false;
      return {
        async append(rows) {
          appendTx(datasetId, definition, rows);
          rowCount += rows.length;
        },
        async commit({ replace, inUse }) {
          const info = db.transaction(() => {
            const existing = readyByName.get(definition.name);
            if (existing && !replace)
              throw new AccordError('ACCORD_DATASET_EXISTS', { dataset: definition.name });
            // Asked again here, in the transaction that replaces: a job that began reading the dataset after the
            // import's first check would otherwise read another version's rows under the same row keys.
            if (existing && inUse?.(definition.name))
              throw new AccordError('ACCORD_DATASET_IN_USE', { dataset: definition.name });
            if (existing) deleteDataset.run(existing.id);
            publish.run(rowCount, new Date().toISOString(), datasetId);
            return toInfo(readyByName.get(definition.name)!);
          })();
          finished = true;
          return info;
        },
        async abort() {
          if (!finished) deleteDataset.run(datasetId);
          finished = true;
        },
      };
    },
    list: async () => listReady.all().map(toInfo),
    get: async (name) => {
      const row = readyByName.get(name);
      return row ? toInfo(row) : null;
    },
    async rowKeys(name) {
      const dataset = readyByName.get(name);
      if (!dataset) throw new AccordError('ACCORD_DATASET_NOT_FOUND', { dataset: name });
      const keys = new Int32Array(dataset.row_count);
      let i = 0;
      for (const row of allRowKeys.iterate(dataset.id)) keys[i++] = row.row_key;
      return keys;
    },
    async valuesOf(name, column, rowKeys) {
      const dataset = readyByName.get(name);
      if (!dataset) throw new AccordError('ACCORD_DATASET_NOT_FOUND', { dataset: name });
      const columnIndex = (JSON.parse(dataset.columns) as Array<{ name: string }>).findIndex(
        (c) => c.name === column,
      );
      if (columnIndex < 0)
        throw new AccordError('ACCORD_DATASET_COLUMN_NOT_FOUND', { dataset: name, column });
      const byKey = new Map<number, string | null>();
      if (column === dataset.id_column) {
        for (const row of recordIdsByKeys.all(dataset.id, JSON.stringify(rowKeys)))
          byKey.set(row.row_key, row.record_id);
        return rowKeys.map((k) => byKey.get(k) ?? null);
      }
      for (const row of idsByKeys.all(dataset.id, JSON.stringify(rowKeys))) {
        const cell = (JSON.parse(row.cells) as unknown[])[columnIndex];
        byKey.set(row.row_key, cell === null || cell === undefined ? null : String(cell));
      }
      return rowKeys.map((k) => byKey.get(k) ?? null);
    },
    async *iterateColumns(name, columns, batchSize, version) {
      // The stream reads one version (the caller's, else the one ready at the start), checked to be the one ready
      // before every page in the same synchronous step as the page's read: a replace never mixes two versions.
      let pinned = version;
      const ready = (): DatasetRow => {
        const row = readyByName.get(name);
        if (!row && pinned === undefined)
          throw new AccordError('ACCORD_DATASET_NOT_FOUND', { dataset: name });
        pinned ??= row!.id;
        if (!row || row.id !== pinned)
          throw new AccordError('ACCORD_DATASET_VERSION_CHANGED', {
            dataset: name,
            expected: pinned,
            current: row ? row.id : 'none',
          });
        return row;
      };
      const dataset = ready();
      const defs = JSON.parse(dataset.columns) as Array<{ name: string; type: string }>;
      const picked = columns.map((column) => {
        const index = defs.findIndex((c) => c.name === column);
        if (index < 0) throw new AccordError('ACCORD_DATASET_COLUMN_NOT_FOUND', { dataset: name, column });
        return { index, boolean: defs[index]!.type === 'boolean' };
      });
      // json_extract returns JSON true/false as 1/0: boolean columns are turned back below. Column positions are
      // integers from the schema, never caller text, so building the statement is safe.
      const select = picked.map((p, i) => `, json_extract(cells, '$[${p.index}]') AS c${i}`).join('');
      const page = db.prepare<
        [number, number, number],
        Record<string, Cell> & { row_key: number; record_id: string }
      >(
        `SELECT row_key, record_id${select} FROM dataset_rows WHERE dataset_id = ? AND row_key > ? ORDER BY row_key LIMIT ?`,
      );
      let after = Number.MIN_SAFE_INTEGER;
      for (;;) {
        const rows = page.all(ready().id, after, batchSize);
        if (rows.length === 0) return;
        const out: Cell[][] = picked.map(() => new Array<Cell>(rows.length));
        for (let r = 0; r < rows.length; r++) {
          const row = rows[r]!;
          for (let i = 0; i < picked.length; i++) {
            const cell = row[`c${i}`] ?? null;
            out[i]![r] = picked[i]!.boolean && cell !== null ? cell === 1 : cell;
          }
        }
        yield { rowKeys: rows.map((r) => r.row_key), ids: rows.map((r) => r.record_id), columns: out };
        after = rows[rows.length - 1]!.row_key;
      }
    },
    async *iterateIds(name, batchSize) {
      const dataset = readyByName.get(name);
      if (!dataset) throw new AccordError('ACCORD_DATASET_NOT_FOUND', { dataset: name });
      let after = 0;
      for (;;) {
        const rows = idsPage.all(dataset.id, after, batchSize);
        if (rows.length === 0) return;
        yield { rowKeys: rows.map((r) => r.row_key), ids: rows.map((r) => r.record_id) };
        after = rows[rows.length - 1]!.row_key;
      }
    },
  };
}
