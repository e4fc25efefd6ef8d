/**
 * Storage of batch fraud-signal screening jobs and their hits (the bank's own identifiers that other members
 * reported, with the aggregates the coordinator answered). Kept in the node's store so that a job outlives the
 * process that ran it: after a crash it reads as cleanly failed rather than unknown.
 */
import type { IdKind } from '../../primitives/identity/normalise.js';
import type { SignalAggregates } from '../../primitives/signals/protocol.js';

export const SCREEN_STATES = ['running', 'done', 'failed'] as const;
export type ScreenState = (typeof SCREEN_STATES)[number];

export interface ScreenHit {
  /** Position of the identifier in the submitted batch. */
  readonly index: number;
  /** The identifier as submitted (raw, not normalised). */
  readonly id: string;
  readonly aggregates: SignalAggregates;
}

export interface ScreenJob {
  readonly jobId: string;
  readonly idKind: IdKind;
  readonly total: number;
  readonly state: ScreenState;
  /** Identifiers screened so far. */
  readonly processed: number;
  /** Sorted by index; empty until the job is done. */
  readonly hits: readonly ScreenHit[];
  readonly errorCode: string | null;
  readonly startedMs: number;
  readonly finishedMs: number | null;
}

export type NewScreenJob = Pick<ScreenJob, 'jobId' | 'idKind' | 'total' | 'startedMs'>;

export interface ScreeningJobStore {
  /** Adds a running job with nothing processed. */
  create(job: NewScreenJob): Promise<void>;
  /** Raises a running job's processed count (never lowers it; ended jobs are left alone). */
  recordProgress(jobId: string, processed: number): Promise<void>;
  /** Stores the hits and marks the running job done, in one transaction; throws if the job is not running. */
  complete(jobId: string, hits: readonly ScreenHit[]): Promise<void>;
  /** Marks a running job failed with a registry code (ended jobs are left alone). */
  fail(jobId: string, code: string): Promise<void>;
  /** The job with its hits in index order, or null if unknown (never started, or pruned). */
  get(jobId: string): Promise<ScreenJob | null>;
  /** At start-up: jobs left running by a crash or a stop fail with `code`; returns how many. */
  failUnfinished(code: string): Promise<number>;
  /** Deletes the oldest ended jobs and their hits until at most `keep` remain; running jobs are never deleted. */
  prune(keep: number): Promise<number>;
}
