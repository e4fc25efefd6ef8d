/**
 * Batch screening jobs ("which of my customers are flagged?"): up to MAX_SCREEN_IDS identifiers per job, run in
 * the background in chunks (member elements, then one QueryBatch per chunk), two chunks in flight so that this
 * node computes the next chunk while the coordinator derives tokens and looks up the current one. Progress is polled.
 *
 * Jobs are kept in the node's store, not in memory, so that a client polling across a crash or restart learns the
 * job ended (ACCORD_SIGNAL_SCREEN_INTERRUPTED, set at start-up) instead of being told it never existed. A run is not
 * resumed: the identifiers are not stored (only the hits are, written with the final state in one transaction), so
 * the client submits the batch again.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from '../../platform/log/logger.js';
import type { ScreenHit, ScreenJob, ScreeningJobStore } from '../../platform/store/screening-types.js';
import { AccordError } from '../../primitives/errors/index.js';
import type { IdKind } from '../../primitives/identity/normalise.js';
import { MAX_SCREEN_IDS } from '../../primitives/signals/protocol.js';
import { type NodeSignals, normaliseAll } from './signals-service.js';

export const SCREEN_CHUNK = 2_000;
const IN_FLIGHT = 2;
/** Ended jobs beyond this many are pruned, oldest first; running jobs are never pruned. */
export const KEEP_JOBS = 32;

export class ScreeningJobs {
  constructor(
    private readonly signals: NodeSignals,
    private readonly store: ScreeningJobStore,
    private readonly log: Logger,
  ) {}

  /** Validates every identifier first (the first failure names its index), then starts the job. */
  async start(idKind: IdKind, rawIds: readonly string[]): Promise<ScreenJob> {
    if (rawIds.length > MAX_SCREEN_IDS)
      throw new AccordError('ACCORD_SIGNAL_BATCH_TOO_LARGE', { size: rawIds.length, limit: MAX_SCREEN_IDS });
    const ids = normaliseAll(rawIds.map((id) => ({ idKind, id })));
    const job: ScreenJob = {
      jobId: randomUUID(),
      idKind,
      total: ids.length,
      state: 'running',
      processed: 0,
      hits: [],
      errorCode: null,
      startedMs: Date.now(),
      finishedMs: null,
    };
    // Room is made before the row exists, so that a store failure here leaves no job that nothing will ever run.
    await this.store.prune(KEEP_JOBS - 1);
    await this.store.create(job);
    void this.run(job.jobId, ids, rawIds);
    return job;
  }

  /** The job as stored; throws ACCORD_SIGNAL_JOB_NOT_FOUND if it is unknown or was pruned. */
  async get(jobId: string): Promise<ScreenJob> {
    const job = await this.store.get(jobId);
    if (!job) throw new AccordError('ACCORD_SIGNAL_JOB_NOT_FOUND', { jobId });
    return job;
  }

  /** Never rejects: every failure ends the job with a coded error (or is logged if even that cannot be stored). */
  private async run(
    jobId: string,
    ids: ReturnType<typeof normaliseAll>,
    rawIds: readonly string[],
  ): Promise<void> {
    const hits: ScreenHit[] = [];
    let next = 0;
    let processed = 0;
    let failed = false;
    const worker = async () => {
      while (next < ids.length && !failed) {
        const start = next;
        const end = Math.min(ids.length, start + SCREEN_CHUNK);
        next = end;
        const chunkHits = await this.signals.screenChunk(ids.slice(start, end));
        for (const h of chunkHits) {
          hits.push({ index: start + h.index, id: rawIds[start + h.index]!, aggregates: h.aggregates });
        }
        processed += end - start;
        await this.store.recordProgress(jobId, processed);
      }
    };
    try {
      await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
      hits.sort((a, b) => a.index - b.index);
      await this.store.complete(jobId, hits);
    } catch (err) {
      failed = true;
      const code = err instanceof AccordError ? err.code : 'ACCORD_INTERNAL';
      if (code === 'ACCORD_INTERNAL') this.log.error('screening job failed', { err });
      try {
        await this.store.fail(jobId, code);
      } catch (storeErr) {
        // Left running in the store: the next start marks it ACCORD_SIGNAL_SCREEN_INTERRUPTED.
        this.log.error('screening job failure could not be stored', { err: storeErr });
      }
    }
  }
}
