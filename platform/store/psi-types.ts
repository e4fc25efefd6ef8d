/**
 * Storage of PSI jobs and their results (alignments: the local row keys of the shared customers, in the order every
 * learner shares), and the coordinator's record of PSI sessions.
 */
import { AccordError } from '../../primitives/errors/index.js';

export const PSI_JOB_STATES = [
  'pending_approval',
  'waiting',
  'running',
  'done',
  'failed',
  'cancelled',
] as const;
export type PsiJobState = (typeof PSI_JOB_STATES)[number];

export interface PsiJobRecord {
  readonly id: string;
  readonly role: 'initiator' | 'participant';
  readonly initiator: string;
  /** Every participant, initiator first. */
  readonly participants: readonly string[];
  readonly dataset: string;
  readonly idColumn: string;
  readonly idKind: string;
  readonly mode: 'intersection' | 'cardinality';
  readonly reveal: 'all' | 'initiator';
  readonly state: PsiJobState;
  /** Points hashed, blinded or re-blinded by this node so far. */
  readonly processed: number;
  readonly total: number;
  /** Rows whose identifier failed normalisation or repeated (sent as random points, never matched). */
  readonly skippedRows: number;
  /** Shared rows (intersection) or count (cardinality); null until done, and on nodes that do not learn it. */
  readonly resultSize: number | null;
  readonly errorCode: string | null;
  readonly errorMessage: string | null;
  readonly createdAt: string;
  readonly finishedAt: string | null;
  /** For an invitation: the initiator's announced set size, for the policy and the admin to judge. */
  readonly initiatorSetSize?: number;
  /** The other parties' announced set sizes, once the session started (what each partner brought against us). */
  readonly peerSizes?: Readonly<Record<string, number>>;
  /**
   * The version of `dataset` whose row keys the job aligned (its internal id, `DatasetInfo.version`: a re-import
   * gets another), set when the job completes. Absent or null on jobs completed before versions were recorded: their
   * version is unknown, so their alignments are refused as stale (`alignmentStale`).
   */
  readonly datasetVersion?: number | null;
}

export interface PsiJobStore {
  create(record: PsiJobRecord): Promise<void>;
  update(id: string, patch: Partial<Omit<PsiJobRecord, 'id'>>): Promise<PsiJobRecord>;
  get(id: string): Promise<PsiJobRecord | null>;
  list(limit: number): Promise<PsiJobRecord[]>;
  /**
   * Stores the shared rows, in the order shared by every learner of the session (row r of each learner's alignment
   * is the same customer), and marks the job done with the version of its dataset it read (`datasetVersion`), in one
   * transaction.
   */
  complete(
    id: string,
    rowKeys: readonly number[] | null,
    resultSize: number | null,
    datasetVersion: number | null,
  ): Promise<PsiJobRecord>;
  /**
   * Shared rows `offset` .. `offset + limit - 1`, in the shared order. ACCORD_PSI_ALIGNMENT_STALE when the job's
   * dataset was re-imported since (its row keys would name other customers).
   */
  alignment(id: string, offset: number, limit: number): Promise<number[]>;
  /**
   * Rows each partner brought against local `dataset` in sessions that started since `sinceIso` (running or done),
   * leaving out job `except`: what the weekly partner budget is checked against.
   */
  rowsBroughtSince(dataset: string, sinceIso: string, except: string): Promise<Record<string, number>>;
  /** At start-up: jobs left running by a crash fail with `code`; their partial results are dropped. */
  failUnfinished(code: string, message: string): Promise<number>;
}

/**
 * The one check of an alignment's currency (scoring, vertical training, the alignment export):
 * ACCORD_PSI_ALIGNMENT_STALE unless `currentVersion`, the version of the job's dataset ready now (null: none), is the
 * version the job aligned. A job with no recorded version counts as stale: nothing says its row keys still name the
 * same customers.
 */
export function alignmentStale(
  psi: Pick<PsiJobRecord, 'id' | 'dataset' | 'datasetVersion'>,
  currentVersion: number | null | undefined,
): AccordError | null {
  const aligned = psi.datasetVersion ?? null;
  return aligned !== null &&
    currentVersion !== null &&
    currentVersion !== undefined &&
    aligned === currentVersion
    ? null
    : new AccordError('ACCORD_PSI_ALIGNMENT_STALE', { dataset: psi.dataset, job: psi.id });
}

/** The fields that end a job without a result: its final state and the coded error that ended it. */
export function endedWith(
  state: 'failed' | 'cancelled',
  error: { readonly code: string; readonly message: string },
): Pick<PsiJobRecord, 'state' | 'errorCode' | 'errorMessage' | 'finishedAt'> {
  return { state, errorCode: error.code, errorMessage: error.message, finishedAt: new Date().toISOString() };
}

/** The coordinator's record of PSI sessions: every id ever opened (ids are never reused), and per-member counts. */
export interface PsiSessionStore {
  /**
   * Records a new session; false (and nothing written) when the id was ever used before, by anyone, so that a
   * session's hashing domain is never reused.
   */
  open(session: {
    id: string;
    initiator: string;
    participants: readonly string[];
    openedMs: number;
  }): Promise<boolean>;
  /** Records how a session ended. */
  end(id: string, outcome: string, errorCode: string | null, endedMs: number): Promise<void>;
  /** Sessions `initiator` opened at or after `sinceMs` (the daily limit counts these). */
  openedSince(initiator: string, sinceMs: number): Promise<number>;
  /** At start-up: sessions a crash left open are recorded as lost; returns how many. */
  endUnfinished(outcome: string, endedMs: number): Promise<number>;
}
