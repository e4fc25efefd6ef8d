/**
 * The SQLite ScoreStore (platform/store/sqlite/scoring.ts) through a real node store: a job's scores are appended in
 * batches with progress, read back in row-key order, found as the newest done job over a dataset; a failed or
 * crash-interrupted job keeps no score; the newest done vertical job's partials replace the older ones; erasure
 * deletes a customer's scores and partials everywhere, also from jobs over a dataset since replaced; the population
 * reads (pages, rows by key, rows at aligned positions, the alignment index, a customer's row).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import type {
  ScoreBatch,
  ScoringJobRecord,
  ScoringPopulation,
} from '../../../platform/store/scoring-types.js';
import { openSqliteNodeStore } from '../../../platform/store/sqlite/index.js';
import type { ColumnDef, NodeStore } from '../../../platform/store/types.js';
import { donePsi, importRows } from './fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'accord-score-store-'));
let store: NodeStore;
let n = 0;

afterAll(async () => {
  await store?.close();
  rmSync(dir, { recursive: true, force: true });
});

const columns: ColumnDef[] = [
  { name: 'id', type: 'string', nullable: false },
  { name: 'x', type: 'number', nullable: true },
];
/** Dataset `customers`: customer c<k> at row key k (k = 2..12), x = k / 10. */
const customers = (suffix = '') =>
  Array.from({ length: 11 }, (_, i) => ({
    id: `c${i + 2}`,
    cells: [`c${i + 2}`, (i + 2) / 10 + (suffix ? 1 : 0)],
  }));

beforeEach(async () => {
  await store?.close();
  store = openSqliteNodeStore(join(dir, `node-${++n}.db`));
  await importRows(store, 'customers', 'id', columns, customers());
});

function job(id: string, population: ScoringPopulation, total: number, model = 'm1'): ScoringJobRecord {
  return {
    id,
    model,
    purpose: 'propensity',
    population,
    state: 'running',
    total,
    scored: 0,
    fingerprint: null,
    requestedBy: 'marketing:ana',
    errorCode: null,
    errorMessage: null,
    createdAt: new Date().toISOString(),
    finishedAt: null,
  };
}

function batch(keys: number[], scores: number[]): ScoreBatch {
  return { rowKeys: Int32Array.from(keys), scores: Float64Array.from(scores) };
}

async function collect(jobId: string, size: number): Promise<ScoreBatch[]> {
  const out: ScoreBatch[] = [];
  for await (const b of store.scores.iterate(jobId, size)) out.push(b);
  return out;
}

const ds: ScoringPopulation = { kind: 'dataset', dataset: 'customers' };

describe('sqlite score store', () => {
  it('appends batches with progress, completes, and iterates in row-key order', async () => {
    await store.scores.createJob(job('j1', ds, 5));
    await store.scores.appendScores('j1', batch([7, 9], [0.7, 0.9]), ['c7', 'c9']);
    expect((await store.scores.getJob('j1'))!.scored).toBe(2);
    await store.scores.appendScores('j1', batch([2, 3, 11], [0.2, 0.3, 0.11]), ['c2', 'c3', 'c11']);
    const done = await store.scores.complete('j1', 'f'.repeat(64));
    expect(done).toMatchObject({
      state: 'done',
      scored: 5,
      total: 5,
      fingerprint: 'f'.repeat(64),
      population: ds,
    });
    expect(done.finishedAt).not.toBeNull();
    const batches = await collect('j1', 2);
    expect(batches.map((b) => [...b.rowKeys])).toEqual([[2, 3], [7, 9], [11]]);
    expect(batches.flatMap((b) => [...b.scores])).toEqual([0.2, 0.3, 0.7, 0.9, 0.11]);
    await expect(store.scores.appendScores('j1', batch([1], [0.1]), ['c1'])).rejects.toThrow(/not running/);
    await expect(store.scores.appendScores('j1', batch([1, 2], [0.1]), ['c1'])).rejects.toThrow(/one score/);
  });

  it('finds the newest done job of a model over a dataset, and lists jobs newest first', async () => {
    await store.scores.createJob(job('a', ds, 0));
    await store.scores.complete('a', 'a'.repeat(64));
    await store.scores.createJob(job('b', ds, 0));
    await store.scores.complete('b', 'b'.repeat(64));
    await store.scores.createJob(job('c', ds, 1));
    await importRows(store, 'other', 'id', columns, customers());
    await store.scores.createJob(job('d', { kind: 'dataset', dataset: 'other' }, 0));
    await store.scores.complete('d', 'd'.repeat(64));
    await store.scores.createJob(job('e', ds, 0, 'm2'));
    await store.scores.complete('e', 'e'.repeat(64));
    expect((await store.scores.latestDone('m1', 'customers'))!.id).toBe('b');
    expect((await store.scores.latestDone('m1', 'other'))!.id).toBe('d');
    expect(await store.scores.latestDone('m3', 'customers')).toBeNull();
    // Re-imported: the done jobs scored rows that are no longer there under those keys.
    await importRows(store, 'other', 'id', columns, customers());
    expect(await store.scores.latestDone('m1', 'other')).toBeNull();
    expect((await store.scores.listJobs(10)).map((j) => j.id)).toEqual(['e', 'd', 'c', 'b', 'a']);
    expect((await store.scores.listJobs(2)).map((j) => j.id)).toEqual(['e', 'd']);
  });

  it('fails a job with its scores gone, and fails jobs left running at start-up', async () => {
    await store.scores.createJob(job('x', ds, 4));
    await store.scores.appendScores('x', batch([1, 2], [0.1, 0.2]), ['c1', 'c2']);
    await store.scores.fail('x', { code: 'ACCORD_X', message: 'broke' });
    expect(await store.scores.getJob('x')).toMatchObject({
      state: 'failed',
      errorCode: 'ACCORD_X',
      errorMessage: 'broke',
    });
    expect(await store.scores.eraseCustomer('c1')).toBe(0);

    await store.scores.createJob(job('y', ds, 4));
    await store.scores.appendScores('y', batch([1], [0.1]), ['c1']);
    await store.scores.createJob(job('z', ds, 0));
    await store.scores.complete('z', 'z'.repeat(64));
    const path = join(dir, `node-${n}.db`);
    await store.close();
    store = openSqliteNodeStore(path);
    expect(await store.scores.failUnfinished('ACCORD_CRASH', 'node restarted')).toBe(1);
    expect(await store.scores.getJob('y')).toMatchObject({ state: 'failed', errorCode: 'ACCORD_CRASH' });
    expect((await store.scores.getJob('z'))!.state).toBe('done');
    expect(await store.scores.eraseCustomer('c1')).toBe(0);
    expect(await store.scores.failUnfinished('ACCORD_CRASH', 'again')).toBe(0);
  });

  it('refuses to erase a customer while a job runs over a dataset holding them, erasing nothing', async () => {
    await store.scores.createJob(job('done', ds, 1));
    await store.scores.appendScores('done', batch([3], [0.3]), ['c3']);
    await store.scores.complete('done', 'd'.repeat(64));
    await store.scores.createJob(job('running', ds, 11));
    await expect(store.scores.eraseCustomer('c3')).rejects.toMatchObject({
      code: 'ACCORD_SCORING_ERASURE_BLOCKED',
      params: { job: 'running' },
    });
    expect((await collect('done', 10)).map((b) => [...b.rowKeys])).toEqual([[3]]);
    // A customer the dataset does not hold cannot be written back: erased at once.
    expect(await store.scores.eraseCustomer('c99')).toBe(0);
    await store.scores.complete('running', 'r'.repeat(64));
    expect(await store.scores.eraseCustomer('c3')).toBe(1);
  });

  it("keeps the newest done vertical job's partials for the fallback, and erases a customer everywhere", async () => {
    const al: ScoringPopulation = { kind: 'alignment', alignment: 'psi-1', dataset: 'customers' };
    await store.scores.createJob(job('v1', al, 2));
    await store.scores.appendJoint(
      'v1',
      batch([4, 5], [0.4, 0.5]),
      ['c4', 'c5'],
      new Map([['bank-b', Float64Array.from([1.5, -2.5])]]),
    );
    // Not done yet: no fallback from a running job.
    expect(await store.scores.latestPartial('m1', 'bank-b', 'c4')).toBeNull();
    const v1 = await store.scores.complete('v1', '1'.repeat(64));
    expect(await store.scores.latestPartial('m1', 'bank-b', 'c4')).toEqual({
      job: 'v1',
      finishedAt: v1.finishedAt,
      partial: 1.5,
    });
    expect(await store.scores.latestPartial('m1', 'bank-c', 'c4')).toBeNull();
    expect(await store.scores.latestPartial('m2', 'bank-b', 'c4')).toBeNull();

    await store.scores.createJob(job('v2', al, 2));
    await store.scores.appendJoint(
      'v2',
      batch([4, 5], [0.41, 0.51]),
      ['c4', 'c5'],
      new Map([['bank-b', Float64Array.from([3.25, 4.25])]]),
    );
    // A failed newer job changes nothing; a done one replaces v1's partials.
    await store.scores.createJob(job('v3', al, 2));
    await store.scores.appendJoint(
      'v3',
      batch([4], [0.9]),
      ['c4'],
      new Map([['bank-b', Float64Array.of(9)]]),
    );
    await store.scores.fail('v3', { code: 'ACCORD_X', message: 'x' });
    expect((await store.scores.latestPartial('m1', 'bank-b', 'c4'))!.partial).toBe(1.5);
    await store.scores.complete('v2', '2'.repeat(64));
    expect(await store.scores.latestPartial('m1', 'bank-b', 'c5')).toMatchObject({
      job: 'v2',
      partial: 4.25,
    });

    // c4: scores of v1 and v2, and v2's partial (v1's went when v2 was done).
    expect(await store.scores.eraseCustomer('c4')).toBe(3);
    expect(await store.scores.latestPartial('m1', 'bank-b', 'c4')).toBeNull();
    expect((await collect('v2', 10)).map((b) => [...b.rowKeys])).toEqual([[5]]);
    expect(await store.scores.eraseCustomer('c4')).toBe(0);
  });

  it('erases a customer from jobs over a dataset since replaced, by scanning those jobs only', async () => {
    await store.scores.createJob(job('old', ds, 2));
    await store.scores.appendScores('old', batch([3, 4], [0.3, 0.4]), ['c3', 'c4']);
    await store.scores.complete('old', 'o'.repeat(64));
    // Re-imported in another order: c3 now sits at another row key, so the old job's key for it is found by a scan.
    await importRows(store, 'customers', 'id', columns, customers('again').reverse());
    await store.scores.createJob(job('new', ds, 1));
    await store.scores.appendScores('new', batch([11], [0.9]), ['c3']);
    await store.scores.complete('new', 'n'.repeat(64));
    expect(await store.scores.eraseCustomer('c3')).toBe(2);
    expect((await collect('old', 10)).map((b) => [...b.rowKeys])).toEqual([[4]]);
    expect(await collect('new', 10)).toEqual([]);
  });

  it('reads population pages, rows by key, rows at aligned positions, the alignment index and one customer', async () => {
    const first = await store.scores.datasetPage('customers', Number.MIN_SAFE_INTEGER, 4);
    expect([...first.rowKeys]).toEqual([2, 3, 4, 5]);
    expect(first.ids).toEqual(['c2', 'c3', 'c4', 'c5']);
    expect(JSON.parse(first.cells[1]!)).toEqual(['c3', 0.3]);
    expect([...(await store.scores.datasetPage('customers', 11, 4)).rowKeys]).toEqual([12]);
    await expect(store.scores.datasetPage('nope', 0, 4)).rejects.toMatchObject({
      code: 'ACCORD_DATASET_NOT_FOUND',
    });

    // Aligned order: c9, c2, c5, c12 at positions 0..3.
    await donePsi(store, 'al', ['bank-a', 'bank-b'], 'customers', [9, 2, 5, 12]);
    const byKeys = await store.scores.alignedRows('al', Int32Array.of(7, 3, 99, 12));
    expect(byKeys.ids).toEqual(['c7', 'c3', 'c12']);
    const at = await store.scores.rowsAtPositions('al', Uint32Array.of(3, 0, 0));
    expect(at!.ids).toEqual(['c12', 'c9', 'c9']);
    expect(await store.scores.rowsAtPositions('al', Uint32Array.of(1, 4))).toBeNull();
    const index = await store.scores.alignmentIndex('al');
    expect([...index.rowKeys]).toEqual([2, 5, 9, 12]);
    expect([...index.positions]).toEqual([1, 2, 0, 3]);
    await expect(store.scores.alignmentIndex('none')).rejects.toMatchObject({
      code: 'ACCORD_PSI_JOB_NOT_FOUND',
    });

    expect(await store.scores.locate({ dataset: 'customers' }, 'c6')).toEqual({
      rowKey: 6,
      cells: JSON.stringify(['c6', 0.6]),
    });
    expect(await store.scores.locate({ alignment: 'al' }, 'c6')).toMatchObject({ rowKey: 6 });
    expect(await store.scores.locate({ dataset: 'customers' }, 'c99')).toBeNull();
  });

  it('refuses every read of an alignment whose dataset was re-imported since, or whose version is unknown', async () => {
    await donePsi(store, 'al', ['bank-a', 'bank-b'], 'customers', [9, 2, 5, 12]);
    // Recorded before versions were: unknown, so refused.
    await donePsi(store, 'legacy', ['bank-a', 'bank-b'], 'customers', [9, 2], 'intersection', null);
    expect(await store.psiJobs.alignment('al', 0, 10)).toEqual([9, 2, 5, 12]);
    await expect(store.psiJobs.alignment('legacy', 0, 10)).rejects.toMatchObject({
      code: 'ACCORD_PSI_ALIGNMENT_STALE',
      params: { job: 'legacy' },
    });
    // The same customers at other row keys: the alignment's row keys would now name other customers.
    await importRows(store, 'customers', 'id', columns, customers('again').reverse());
    const stale = { code: 'ACCORD_PSI_ALIGNMENT_STALE', params: { dataset: 'customers', job: 'al' } };
    await expect(store.psiJobs.alignment('al', 0, 10)).rejects.toMatchObject(stale);
    await expect(store.scores.alignmentIndex('al')).rejects.toMatchObject(stale);
    await expect(store.scores.alignedRows('al', Int32Array.of(2))).rejects.toMatchObject(stale);
    await expect(store.scores.rowsAtPositions('al', Uint32Array.of(0))).rejects.toMatchObject(stale);
    await expect(store.scores.locate({ alignment: 'al' }, 'c6')).rejects.toMatchObject(stale);
    await expect(store.scores.rowsAtPositions('legacy', Uint32Array.of(0))).rejects.toMatchObject({
      code: 'ACCORD_PSI_ALIGNMENT_STALE',
    });
    // Aligned again over the dataset as it is now: fine.
    await donePsi(store, 'al2', ['bank-a', 'bank-b'], 'customers', [3, 4]);
    expect((await store.scores.rowsAtPositions('al2', Uint32Array.of(1)))!.ids).toHaveLength(1);
  });
});
