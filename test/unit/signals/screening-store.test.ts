/**
 * Screening jobs in the node's SQLite store: lifecycle, failure, pruning, a restart in the middle of a job, and
 * ScreeningJobs running over the real store (only the coordinator round trip, `screenChunk`, is faked).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KEEP_JOBS, SCREEN_CHUNK, ScreeningJobs } from '../../../node/signals/screening.js';
import type { NodeSignals, NormalisedId } from '../../../node/signals/signals-service.js';
import type { Logger } from '../../../platform/log/logger.js';
import type { ScreenHit, ScreenJob } from '../../../platform/store/screening-types.js';
import { openSqliteNodeStore } from '../../../platform/store/sqlite/index.js';
import type { NodeStore } from '../../../platform/store/types.js';
import { AccordError } from '../../../primitives/errors/index.js';
import type { SignalAggregates } from '../../../primitives/signals/protocol.js';

const aggregates = (n: number): SignalAggregates => ({
  applications: { d1: 0, d7: n, d30: n + 1 },
  flags: [{ kind: 'mule_account', members: n, lastSeenMs: 1_800_000_000_000 + n }],
});
const hit = (index: number): ScreenHit => ({ index, id: `c-${index}`, aggregates: aggregates(index) });
const newJob = (jobId: string, total = 10) => ({
  jobId,
  idKind: 'customer_id' as const,
  total,
  startedMs: 1,
});

let dir: string;
let path: string;
let store: NodeStore | null;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'accord-screening-'));
  path = join(dir, 'node.db');
  store = openSqliteNodeStore(path);
});
afterEach(async () => {
  await store?.close();
  store = null;
  rmSync(dir, { recursive: true, force: true });
});
const jobs = () => store!.screeningJobs;

/** Rows of screening_hits for a job, read over a connection of its own (the store API cannot see orphans). */
function rawHitCount(jobIds: readonly string[]): number {
  const db = new Database(path, { readonly: true });
  try {
    const count = db.prepare<[string], { n: number }>(
      'SELECT count(*) AS n FROM screening_hits WHERE job_id = ?',
    );
    return jobIds.reduce((sum, id) => sum + count.get(id)!.n, 0);
  } finally {
    db.close();
  }
}

describe('screening job store', () => {
  it('records progress, then completes with hits returned in index order', async () => {
    await jobs().create(newJob('j1', 6000));
    expect(await jobs().get('j1')).toMatchObject({
      jobId: 'j1',
      idKind: 'customer_id',
      total: 6000,
      state: 'running',
      processed: 0,
      hits: [],
      errorCode: null,
      startedMs: 1,
      finishedMs: null,
    });
    await jobs().recordProgress('j1', 4000);
    await jobs().recordProgress('j1', 2000); // a chunk finishing late never moves progress back
    expect((await jobs().get('j1'))!.processed).toBe(4000);

    await jobs().recordProgress('j1', 6000);
    await jobs().complete('j1', [hit(5001), hit(7), hit(2500)]);
    const done = (await jobs().get('j1'))!;
    expect(done.state).toBe('done');
    expect(done.processed).toBe(6000);
    expect(done.errorCode).toBeNull();
    expect(done.finishedMs).toBeGreaterThan(done.startedMs);
    expect(done.hits).toEqual([hit(7), hit(2500), hit(5001)]);

    await expect(jobs().complete('j1', [hit(1)])).rejects.toThrow();
    expect((await jobs().get('j1'))!.hits).toEqual([hit(7), hit(2500), hit(5001)]);
    expect(await jobs().get('unknown')).toBeNull();
  });

  it('fails a running job once, and an ended job gains neither progress nor hits', async () => {
    await jobs().create(newJob('j2'));
    await jobs().recordProgress('j2', 3);
    await jobs().fail('j2', 'ACCORD_COORDINATOR_UNAVAILABLE');
    await jobs().fail('j2', 'ACCORD_INTERNAL');
    await jobs().recordProgress('j2', 10);
    await expect(jobs().complete('j2', [hit(1)])).rejects.toThrow();
    const failed = (await jobs().get('j2'))!;
    expect(failed).toMatchObject({
      state: 'failed',
      errorCode: 'ACCORD_COORDINATOR_UNAVAILABLE',
      processed: 3,
      hits: [],
    });
    expect(failed.finishedMs).not.toBeNull();
    expect(rawHitCount(['j2'])).toBe(0);
  });

  it(`prunes the oldest ended jobs and their hits down to ${KEEP_JOBS}, never a running one`, async () => {
    expect(KEEP_JOBS).toBe(32);
    await jobs().create(newJob('running-oldest'));
    const ended = Array.from({ length: 40 }, (_, i) => `ended-${i}`);
    for (const [i, id] of ended.entries()) {
      await jobs().create(newJob(id));
      if (i % 2) await jobs().fail(id, 'ACCORD_INTERNAL');
      else await jobs().complete(id, [hit(i), hit(i + 100)]);
    }
    await jobs().create(newJob('running-newest'));
    // 42 jobs: the 10 oldest ended ones go; the oldest job of all stays because it is running.
    expect(await jobs().prune(KEEP_JOBS)).toBe(10);
    expect(await jobs().prune(KEEP_JOBS)).toBe(0);
    expect((await jobs().get('running-oldest'))!.state).toBe('running');
    expect((await jobs().get('running-newest'))!.state).toBe('running');
    for (const id of ended.slice(0, 10)) expect(await jobs().get(id)).toBeNull();
    for (const id of ended.slice(10)) expect(await jobs().get(id)).not.toBeNull();
    expect((await jobs().get('ended-10'))!.hits).toEqual([hit(10), hit(110)]);
    await store!.close();
    store = null;
    expect(rawHitCount(ended.slice(0, 10))).toBe(0);
    expect(rawHitCount(ended.slice(10))).toBe(30); // 15 completed jobs, 2 hits each
  });

  it('keeps every job while more than the limit are running', async () => {
    for (let i = 0; i < 3; i++) await jobs().create(newJob(`r${i}`));
    expect(await jobs().prune(2)).toBe(0);
    for (let i = 0; i < 3; i++) expect((await jobs().get(`r${i}`))!.state).toBe('running');
  });

  it('after a restart, marks the job that was running failed with its progress kept', async () => {
    await jobs().create(newJob('finished', 2));
    await jobs().complete('finished', [hit(1)]);
    await jobs().create(newJob('mid-job', 10_000));
    await jobs().recordProgress('mid-job', 4000);
    await store!.close();

    store = openSqliteNodeStore(path);
    expect((await jobs().get('mid-job'))!.state).toBe('running');
    expect(await jobs().failUnfinished('ACCORD_SIGNAL_SCREEN_INTERRUPTED')).toBe(1);
    expect(await jobs().failUnfinished('ACCORD_SIGNAL_SCREEN_INTERRUPTED')).toBe(0);
    const interrupted = (await jobs().get('mid-job'))!;
    expect(interrupted).toMatchObject({
      state: 'failed',
      errorCode: 'ACCORD_SIGNAL_SCREEN_INTERRUPTED',
      processed: 4000,
      total: 10_000,
      hits: [],
    });
    expect(interrupted.finishedMs).not.toBeNull();
    expect(await jobs().get('finished')).toMatchObject({ state: 'done', errorCode: null, hits: [hit(1)] });
  });
});

describe('ScreeningJobs over the store', () => {
  const errors: string[] = [];
  const log: Logger = {
    debug: () => {},
    info: () => {},
    warn: () => {},
    error: (msg) => void errors.push(msg),
    child: () => log,
  };
  /** Stands in for the coordinator round trip only: flags the first and last identifier of every chunk. */
  const signalsWith = (screenChunk: (ids: readonly NormalisedId[]) => Promise<unknown>) =>
    ({ screenChunk }) as unknown as NodeSignals;
  const firstAndLast = async (ids: readonly NormalisedId[]) => [
    { index: 0, aggregates: aggregates(1) },
    { index: ids.length - 1, aggregates: aggregates(2) },
  ];
  async function settled(screening: ScreeningJobs, jobId: string): Promise<ScreenJob> {
    for (let i = 0; i < 200; i++) {
      const job = await screening.get(jobId);
      if (job.state !== 'running') return job;
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error('screening job did not finish');
  }

  it('screens in chunks, stores progress and the hits with their batch index and raw id', async () => {
    const sizes: number[] = [];
    const screening = new ScreeningJobs(
      signalsWith(async (ids) => {
        sizes.push(ids.length);
        return firstAndLast(ids);
      }),
      jobs(),
      log,
    );
    const total = 2 * SCREEN_CHUNK + 500;
    const rawIds = Array.from({ length: total }, (_, i) => ` c-${i} `);
    const started = await screening.start('customer_id', rawIds);
    expect(started).toMatchObject({ state: 'running', total, processed: 0 });
    const job = await settled(screening, started.jobId);
    expect(job).toMatchObject({ state: 'done', processed: total, errorCode: null });
    expect(sizes.sort((a, b) => a - b)).toEqual([500, SCREEN_CHUNK, SCREEN_CHUNK]);
    const indices = [0, SCREEN_CHUNK - 1, SCREEN_CHUNK, 2 * SCREEN_CHUNK - 1, 2 * SCREEN_CHUNK, total - 1];
    expect(job.hits.map((h) => h.index)).toEqual(indices);
    expect(job.hits.map((h) => h.id)).toEqual(indices.map((i) => rawIds[i]));
    expect(job.hits[1]!.aggregates).toEqual(aggregates(2));
  });

  it('ends the job with the coded error, or ACCORD_INTERNAL (logged) for anything else', async () => {
    const coded = new ScreeningJobs(
      signalsWith(async () => {
        throw new AccordError('ACCORD_COORDINATOR_UNAVAILABLE', { reason: 'test' });
      }),
      jobs(),
      log,
    );
    const a = await coded.start('customer_id', ['c-1', 'c-2']);
    expect(await settled(coded, a.jobId)).toMatchObject({
      state: 'failed',
      errorCode: 'ACCORD_COORDINATOR_UNAVAILABLE',
      hits: [],
    });
    expect(errors).toEqual([]);

    const broken = new ScreeningJobs(
      signalsWith(async () => {
        throw new TypeError('boom');
      }),
      jobs(),
      log,
    );
    const b = await broken.start('customer_id', ['c-1']);
    expect(await settled(broken, b.jobId)).toMatchObject({ state: 'failed', errorCode: 'ACCORD_INTERNAL' });
    expect(errors).toEqual(['screening job failed']);
  });

  it('answers ACCORD_SIGNAL_JOB_NOT_FOUND for an unknown job, and rejects an invalid batch before storing it', async () => {
    const screening = new ScreeningJobs(signalsWith(firstAndLast), jobs(), log);
    await expect(screening.get('00000000-0000-4000-8000-000000000000')).rejects.toMatchObject({
      code: 'ACCORD_SIGNAL_JOB_NOT_FOUND',
    });
    await expect(screening.start('customer_id', ['c-1', '   '])).rejects.toMatchObject({
      code: 'ACCORD_ID_INVALID',
    });
    const db = new Database(path, { readonly: true });
    try {
      expect(db.prepare<[], { n: number }>('SELECT count(*) AS n FROM screening_jobs').get()!.n).toBe(0);
    } finally {
      db.close();
    }
  });
});
