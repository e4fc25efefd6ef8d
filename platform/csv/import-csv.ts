/**
 * Streams a CSV upload into a dataset: all or nothing. Rows are parsed and type-checked as they arrive, staged in
 * batches, and made visible in one atomic step at the end; the first bad row aborts the import with its line number
 * and column, and nothing of it remains. No record is buffered beyond `record-limits.ts`'s bounds (1 MiB of values,
 * 2 000 columns): a longer or wider one aborts the import the same way.
 */
import type { Readable } from 'node:stream';
import { CsvError, parse } from 'csv-parse';
import { AccordError } from '../../primitives/errors/index.js';
import type { Cell, ColumnDef, DatasetInfo, DatasetStore, StagedRow } from '../store/types.js';
import { parseCell } from './cell-types.js';
import { type DeclaredSchema, resolveColumns } from './dataset-schema.js';
import { columnGuard, MAX_RECORD_CHARS, recordTooLarge } from './record-limits.js';

const BATCH_ROWS = 2_000;

export interface ImportRequest {
  readonly name: string;
  readonly schema: DeclaredSchema;
  readonly replace: boolean;
  /** Whether a job reads the dataset now: asked again inside the transaction that would replace it. */
  readonly inUse?: ((dataset: string) => boolean) | undefined;
  /** Called after every staged batch with rows so far; lets the API report progress. */
  readonly onProgress?: (rows: number) => void;
}

/** The end of the last record csv-parse emitted: its last line, and the empty lines skipped so far. */
interface LastRecord {
  lines: number;
  emptyLines: number;
}

function csvErrorToAccord(err: CsvError, header: readonly string[] | null, last: LastRecord): AccordError {
  const line = (err as CsvError & { lines?: number }).lines ?? 0;
  if (err.code === 'CSV_MAX_RECORD_SIZE') {
    // csv-parse reports the line on which the limit was crossed; for a quoted value spanning lines that is not the
    // line the record starts on, which is the one after the last record, past the empty lines skipped since.
    const emptyLines = (err as CsvError & { empty_lines?: number }).empty_lines ?? last.emptyLines;
    return recordTooLarge(last.lines + 1 + (emptyLines - last.emptyLines), 'chars');
  }
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
  const last: LastRecord = { lines: 0, emptyLines: 0 };
  const guard = columnGuard();
  const parser = parse({
    bom: true,
    info: true,
    skip_empty_lines: true,
    relax_quotes: false,
    max_record_size: MAX_RECORD_CHARS,
    // Called in parse order (records may wait in the stream's buffer): where the next record starts.
    on_record: (record, info) => {
      last.lines = info.lines;
      last.emptyLines = info.empty_lines;
      return record;
    },
  });
  guard.on('error', (err) => parser.destroy(err));
  body.pipe(guard).pipe(parser);
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
    return await handle.commit({ replace: request.replace, inUse: request.inUse });
  } catch (err) {
    await handle?.abort();
    body.unpipe(guard);
    guard.destroy();
    body.resume(); // drain the rest of the upload so the client gets the response instead of a reset
    if (err instanceof CsvError) throw csvErrorToAccord(err, header, last);
    throw err;
  }
}
