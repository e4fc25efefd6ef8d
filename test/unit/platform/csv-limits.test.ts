/**
 * CSV record bounds (platform/csv/record-limits.ts): a record longer than MAX_RECORD_CHARS or wider than MAX_COLUMNS
 * aborts the import with ACCORD_DATASET_ROW_INVALID naming the line the record starts on, after reading only about
 * as much of the upload as the limit (an endless line is not buffered), and nothing of the upload is kept, not even
 * the batches staged before the bad row.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { importCsv } from '../../../platform/csv/import-csv.js';
import { MAX_COLUMNS, MAX_RECORD_CHARS } from '../../../platform/csv/record-limits.js';
import { openSqliteNodeStore } from '../../../platform/store/sqlite/index.js';
import type { NodeStore } from '../../../platform/store/types.js';
import { rejected } from '../../helpers/thrown.js';

let dir: string;
let store: NodeStore;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'accord-csv-limits-'));
  store = openSqliteNodeStore(join(dir, 'node.db'));
});
afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

const schema = {
  idColumn: 'id',
  idKind: 'customer_id',
  columns: 'y:integer',
  defaultType: 'number' as const,
};
const HEADER = 'id,y,x0\n';
const LONG = 'the row is longer than 1 048 576 characters';
const WIDE = 'the row has more than 2 000 columns';

function upload(body: Readable, name = 'customers') {
  return importCsv(store.datasets, body, { name, schema, replace: false });
}

function text(...parts: string[]): Readable {
  return Readable.from(parts.map((p) => Buffer.from(p)));
}

/** `head`, then `filler` repeated up to `total` bytes in 64 KiB chunks, then `tail`; counts the bytes pulled. */
function endlessLine(head: string, filler: string, total: number, tail = '\n') {
  let pulled = 0;
  const chunk = Buffer.from(filler.repeat(Math.ceil(65_536 / filler.length)));
  async function* generate() {
    yield Buffer.from(head);
    while (pulled < total) {
      pulled += chunk.length;
      yield chunk;
    }
    yield Buffer.from(tail);
  }
  return { body: Readable.from(generate()), pulled: () => pulled };
}

/** Rows and datasets in the database, staged ones included: nothing of a failed upload may remain. */
function storedRows(): { datasets: number; rows: number } {
  const db = new Database(join(dir, 'node.db'), { readonly: true });
  try {
    const count = (table: string) =>
      (db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
    return { datasets: count('datasets'), rows: count('dataset_rows') };
  } finally {
    db.close();
  }
}

describe('CSV record limits', () => {
  it('refuses a row longer than the limit with its line, after staged batches, and keeps nothing', async () => {
    // 2 500 good rows first, so that a batch of 2 000 was already staged when the long row arrives (line 2 502).
    const good = Array.from({ length: 2_500 }, (_, i) => `c-${i},1,0.5\n`).join('');
    const long = endlessLine(`${HEADER}${good}c-x,1,`, '9', 64 * 1024 * 1024);
    const err = await rejected(upload(long.body));
    expect(err.code).toBe('ACCORD_DATASET_ROW_INVALID');
    expect(err.params).toMatchObject({ line: 2_502, column: '(row)', problem: LONG });
    // Parsing stopped near the limit: the 64 MiB line was never read, let alone buffered.
    expect(long.pulled()).toBeLessThan(4 * MAX_RECORD_CHARS);
    expect(await store.datasets.get('customers')).toBeNull();
    expect(storedRows()).toEqual({ datasets: 0, rows: 0 });
  });

  it('names the line the record starts on, not where a quoted value crossed the limit', async () => {
    // A quoted id spanning many lines starts on line 3; csv-parse itself would report a later line.
    const value = 'a\n'.repeat(MAX_RECORD_CHARS / 2 + 10);
    const err = await rejected(upload(text(HEADER, 'c-1,1,0.5\n"', value, '",1,0.5\n')));
    expect(err.params).toMatchObject({ line: 3, problem: LONG });
  });

  it('counts skipped empty lines and CRLF line breaks in the line it names', async () => {
    const long = '9'.repeat(MAX_RECORD_CHARS + 1);
    const afterEmpty = await rejected(upload(text('id,y,x0\r\nc-1,1,0.5\r\n\r\n\r\nc-2,1,', long, '\r\n')));
    expect(afterEmpty.params).toMatchObject({ line: 5, problem: LONG });
    const header = await rejected(upload(text(`id,y,${long}\n`)));
    expect(header.params).toMatchObject({ line: 1, problem: LONG });
  });

  it('accepts a row of exactly the limit (values only: delimiters do not count)', async () => {
    // Cells hold at most 4 096 characters: 256 text cells, 4 characters short for the id and y.
    const cells = Array.from({ length: 256 }, (_, i) => (i === 0 ? 'v'.repeat(4_092) : 'v'.repeat(4_096)));
    expect(['c-1', '1', ...cells].join('').length).toBe(MAX_RECORD_CHARS);
    const header = ['id', 'y', ...cells.map((_, i) => `t${i}`)].join(',');
    const info = await importCsv(store.datasets, text(`${header}\n`, `c-1,1,${cells.join(',')}\n`), {
      name: 'exact',
      replace: false,
      schema: { ...schema, defaultType: 'string' },
    });
    expect(info.rowCount).toBe(1);
  });

  it('refuses an endless row of empty fields (which costs csv-parse no characters) by its column count', async () => {
    const commas = endlessLine(`${HEADER}c-1,1,0.5\nc-2`, ',', 64 * 1024 * 1024);
    const err = await rejected(upload(commas.body));
    expect(err.code).toBe('ACCORD_DATASET_ROW_INVALID');
    expect(err.params).toMatchObject({ line: 3, column: '(row)', problem: WIDE });
    expect(commas.pulled()).toBeLessThan(1024 * 1024);
    expect(storedRows()).toEqual({ datasets: 0, rows: 0 });
  });

  it('allows MAX_COLUMNS columns and refuses one more, in the header or a quoted multi-line row', async () => {
    const names = (n: number) => ['id', 'y', ...Array.from({ length: n - 2 }, (_, i) => `x${i}`)].join(',');
    const row = (n: number) => ['c-1', '1', ...Array.from({ length: n - 2 }, () => '0.5')].join(',');
    const widest = await upload(text(`${names(MAX_COLUMNS)}\n${row(MAX_COLUMNS)}\n`), 'wide');
    expect(widest.columns).toHaveLength(MAX_COLUMNS);
    const header = await rejected(upload(text(`${names(MAX_COLUMNS + 1)}\n${row(MAX_COLUMNS + 1)}\n`)));
    expect(header.params).toMatchObject({ line: 1, problem: WIDE });
    // Quoted commas and newlines are values, not delimiters; the record starts on line 3.
    const quoted = `"a,b\nc",${'1,'.repeat(MAX_COLUMNS)}1\n`;
    const row3 = await rejected(upload(text(HEADER, 'c-1,1,0.5\n', quoted)));
    expect(row3.params).toMatchObject({ line: 3, problem: WIDE });
  });
});
