/**
 * Streams a CSV upload into a dataset: all or nothing. Rows are parsed and type-checked as they arrive, staged in
 * batches, and made visible in one atomic step at the end; the first bad row aborts the import with its line number
 * and column, and nothing of it remains.
 */
import type { Readable } from 'node:stream';
import { CsvError, parse } from 'csv-parse';
import { AccordError } from '../../primitives/errors/index.js';
import type { Cell, ColumnDef, DatasetInfo, DatasetStore, StagedRow } from '../store/types.js';
import { parseCell } from './cell-types.js';
import { type DeclaredSchema, resolveColumns } from './dataset-schema.js';

const BATCH_ROWS = 2_000;

export interface ImportRequest {
  readonly name: string;
  readonly schema: DeclaredSchema;
  readonly replace: boolean;
  /** Called after every staged batch with rows so far; lets the API report progress. */
  readonly onProgress?: (rows: number) => void;
}

function csvErrorToAccord(err: CsvError, header: readonly string[] | null): AccordError {
  const line = (err as CsvError & { lines?: number }).lines ?? 0;
  if (err.code === 'CSV_RECORD_INCONSISTENT_FIELDS_LENGTH') {
    const fields = (err as CsvError & { record?: unknown[] }).record?.length ?? 0;
    return new AccordError('ACCORD_DATASET_ROW_INVALID', {
      line,
      column: header?.[Math.min(fields, header.length - 1)] ?? '(row)',
      problem: `the row has ${fields} fields but the header has ${header?.length ?? '?'}`,
    });
  }
  return new AccordError('ACCORD_DATASET_ROW_INVALID', {
    line,
    column: '(row)',
    problem: `malformed CSV (${err.code})`,
  });
}

function toRow(
  line: number,
  record: readonly string[],
  columns: readonly ColumnDef[],
  idIndex: number,
): StagedRow {
  const cells: Cell[] = new Array(columns.length);
  for (let i = 0; i < columns.length; i++) {
    const column = columns[i]!;
    const result = parseCell(column, record[i] ?? '');
    if (!result.ok)
      throw new AccordError('ACCORD_DATASET_ROW_INVALID', {
        line,
        column: column.name,
        problem: result.problem,
      });
    cells[i] = result.value;
  }
  return { rowKey: line, id: String(cells[idIndex]), cells };
}

export async function importCsv(
  store: DatasetStore,
  body: Readable,
  request: ImportRequest,
): Promise<DatasetInfo> {
  const parser = body.pipe(parse({ bom: true, info: true, skip_empty_lines: true, relax_quotes: false }));
  let header: string[] | null = null;
  let columns: ColumnDef[] = [];
  let idIndex = -1;
  let pending: StagedRow[] = [];
  let staged = 0;
  let handle: Awaited<ReturnType<DatasetStore['beginImport']>> | null = null;
  try {
    for await (const { record, info } of parser as AsyncIterable<{
      record: string[];
      info: { lines: number };
    }>) {
      if (header === null) {
        header = record.map((h) => h.trim());
        columns = resolveColumns(header, request.schema);
        idIndex = header.indexOf(request.schema.idColumn);
        handle = await store.beginImport({
          name: request.name,
          idColumn: request.schema.idColumn,
          idKind: request.schema.idKind,
          columns,
        });
        continue;
      }
      pending.push(toRow(info.lines, record, columns, idIndex));
      if (pending.length >= BATCH_ROWS) {
        await handle!.append(pending);
        staged += pending.length;
        pending = [];
        request.onProgress?.(staged);
      }
    }
    if (!handle) throw new AccordError('ACCORD_DATASET_HEADER_INVALID', { problems: 'the upload is empty' });
    if (pending.length) await handle.append(pending);
    staged += pending.length;
    if (staged === 0) throw new AccordError('ACCORD_DATASET_EMPTY');
    request.onProgress?.(staged);
    return await handle.commit({ replace: request.replace });
  } catch (err) {
    await handle?.abort();
    body.resume(); // drain the rest of the upload so the client gets the response instead of a reset
    if (err instanceof CsvError) throw csvErrorToAccord(err, header);
    throw err;
  }
}
