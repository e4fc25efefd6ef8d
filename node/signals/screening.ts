/**
 * Batch screening jobs ("which of my customers are flagged?"): up to MAX_SCREEN_IDS identifiers per job, run in
 * the background in chunks (member elements, then one QueryBatch per chunk), two chunks in flight so that this
 * node computes the next chunk while the coordinator derives tokens and looks up the current one. Progress is polled. Jobs live in
 * this process's memory only (the identifiers are the bank's own, and results are not kept after a restart).
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from '../../platform/log/logger.js';
import { AccordError } from '../../shared/errors/index.js';
import type { IdKind } from '../../shared/identity/normalise.js';
import { MAX_SCREEN_IDS, type SignalAggregates } from '../../shared/signals/protocol.js';
import { type NodeSignals, normaliseAll } from './signals-service.js';

export const SCREEN_CHUNK = 2_000;
const IN_FLIGHT = 2;
const KEEP_JOBS = 32;

export type ScreenState = 'running' | 'done' | 'failed';

export interface ScreenHit {
  readonly index: number;
  readonly id: string;
  readonly aggregates: SignalAggregates;
}

export interface ScreenJob {
  readonly jobId: string;
  readonly idKind: IdKind;
  readonly total: number;
  state: ScreenState;
  processed: number;
  readonly hits: ScreenHit[];
  errorCode: string | null;
  readonly startedMs: number;
  finishedMs: number | null;
}

export class ScreeningJobs {
  private readonly jobs = new Map<string, ScreenJob>();

  constructor(
    private readonly signals: NodeSignals,
    private readonly log: Logger,
  ) {}

  /** Validates every identifier first (the first failure names its index), then starts the job. */
  start(idKind: IdKind, rawIds: readonly string[]): ScreenJob {
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
    this.jobs.set(job.jobId, job);
    this.forgetOld();
    void this.run(job, ids, rawIds);
    return job;
  }

  get(jobId: string): ScreenJob {
    const job = this.jobs.get(jobId);
    if (!job) throw new AccordError('ACCORD_SIGNAL_JOB_NOT_FOUND', { jobId });
    return job;
  }

  private forgetOld(): void {
    for (const [id, job] of this.jobs) {
      if (this.jobs.size <= KEEP_JOBS) return;
      if (job.state !== 'running') this.jobs.delete(id);
    }
  }

  private async run(
    job: ScreenJob,
    ids: ReturnType<typeof normaliseAll>,
    rawIds: readonly string[],
  ): Promise<void> {
    let next = 0;
    const worker = async () => {
      while (next < ids.length && job.state === 'running') {
        const start = next;
        const end = Math.min(ids.length, start + SCREEN_CHUNK);
        next = end;
        const hits = await this.signals.screenChunk(ids.slice(start, end));
        for (const h of hits) {
          job.hits.push({ index: start + h.index, id: rawIds[start + h.index]!, aggregates: h.aggregates });
        }
        job.processed += end - start;
      }
    };
    try {
      await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
      job.hits.sort((a, b) => a.index - b.index);
      job.state = 'done';
    } catch (err) {
      job.state = 'failed';
      job.errorCode = err instanceof AccordError ? err.code : 'ACCORD_INTERNAL';
      if (job.errorCode === 'ACCORD_INTERNAL') this.log.error('screening job failed', { err });
    } finally {
      job.finishedMs = Date.now();
    }
  }
}
