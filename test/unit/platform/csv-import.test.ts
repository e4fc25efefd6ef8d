import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { importCsv } from '../../../platform/csv/import-csv.js';
import { openSqliteNodeStore } from '../../../platform/store/sqlite/index.js';
import type { NodeStore } from '../../../platform/store/types.js';
import { rejected } from '../../helpers/thrown.js';

let dir: string;
let store: NodeStore;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'accord-csv-'));
  store = openSqliteNodeStore(join(dir, 'node.db'));
});
afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

const schema = {
  idColumn: 'id',
  idKind: 'customer_id',
  columns: 'y:integer,opened:date?',
  defaultType: 'number' as const,
};

function upload(text: string, name = 'customers', replace = false) {
  return importCsv(store.datasets, Readable.from([Buffer.from(text)]), { name, schema, replace });
}

describe('CSV import', () => {
  it('imports typed rows, handling a BOM, quoted fields and empty optional cells', async () => {
    const info = await upload('\uFEFFid,y,x0,opened\n"c-1",1,0.5,2024-01-31\nc-2,0,"-1.25e-3",\n');
    expect(info).toMatchObject({ name: 'customers', rowCount: 2, idColumn: 'id' });
    expect(info.columns.map((c) => `${c.name}:${c.type}${c.nullable ? '?' : ''}`)).toEqual([
      'id:string',
      'y:integer',
      'x0:number',
      'opened:date?',
    ]);
    const ids: string[] = [];
    for await (const batch of store.datasets.iterateIds('customers', 1)) ids.push(...batch.ids);
    expect(ids).toEqual(['c-1', 'c-2']);
  });

  it('reports the line and column of a bad cell without echoing the value, and keeps nothing', async () => {
    const err = await rejected(upload('id,y,x0,opened\nc-1,1,0.5,\nc-2,1,secret-value,\n'));
    expect(err.code).toBe('ACCORD_DATASET_ROW_INVALID');
    expect(err.params).toMatchObject({ line: 3, column: 'x0' });
    expect(err.message).not.toContain('secret-value');
    expect(await store.datasets.get('customers')).toBeNull();
  });

  it('counts physical lines, so a quoted newline does not shift the reported line', async () => {
    const err = await rejected(upload('id,y,x0,opened\n"c\n1",1,0.5,\nc-2,x,0.1,\n'));
    expect(err.params).toMatchObject({ line: 4, column: 'y' });
  });

  it('refuses a row with the wrong number of fields, naming its line', async () => {
    const err = await rejected(upload('id,y,x0,opened\nc-1,1,0.5,\nc-2,1\n'));
    expect(err.code).toBe('ACCORD_DATASET_ROW_INVALID');
    expect(err.params['line']).toBe(3);
  });

  it('refuses duplicate ids with both line numbers', async () => {
    const err = await rejected(upload('id,y,x0,opened\nc-1,1,0.5,\nc-2,1,0.5,\nc-1,0,0.1,\n'));
    expect(err.params).toMatchObject({ line: 4, column: 'id' });
    expect(err.message).toContain('line 2');
  });

  it('lists every header problem at once', async () => {
    const err = await rejected(
      importCsv(store.datasets, Readable.from(['ident,y,y,z\n1,1,1,1\n']), {
        name: 'h',
        replace: false,
        schema: { idColumn: 'id', idKind: 'customer_id', columns: 'w:number', defaultType: undefined },
      }),
    );
    expect(err.code).toBe('ACCORD_DATASET_HEADER_INVALID');
    for (const bit of [
      'id column id',
      'y appears twice',
      'declared column w',
      'column z has no declared type',
    ]) {
      expect(err.message).toContain(bit);
    }
  });

  it('keeps the old dataset when a replacement fails, and swaps atomically when it succeeds', async () => {
    await upload('id,y,x0,opened\nc-1,1,0.5,\n');
    expect((await rejected(upload('id,y,x0,opened\nc-1,1,0.5,\n'))).code).toBe('ACCORD_DATASET_EXISTS');
    await rejected(upload('id,y,x0,opened\nc-9,1,0.5,\nc-8,bad,0.5,\n', 'customers', true));
    expect((await store.datasets.get('customers'))?.rowCount).toBe(1);
    await upload('id,y,x0,opened\nc-9,1,0.5,\nc-8,0,0.5,\n', 'customers', true);
    expect((await store.datasets.get('customers'))?.rowCount).toBe(2);
  });

  it('drops a half-finished import left by a crash when the store is reopened', async () => {
    const handle = await store.datasets.beginImport({
      name: 'crashy',
      idColumn: 'id',
      idKind: 'customer_id',
      columns: [],
    });
    await handle.append([{ rowKey: 2, id: 'a', cells: [] }]);
    await store.close();
    store = openSqliteNodeStore(join(dir, 'node.db'));
    expect(await store.datasets.get('crashy')).toBeNull();
    const fresh = await upload('id,y,x0,opened\nc-1,1,0.5,\n', 'crashy');
    expect(fresh.rowCount).toBe(1);
  });
});
