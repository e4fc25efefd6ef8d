/** Storage of PSI jobs and their results (alignments: the local row keys of the shared customers). */
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
}

export interface PsiJobStore {
  create(record: PsiJobRecord): Promise<void>;
  update(id: string, patch: Partial<Omit<PsiJobRecord, 'id'>>): Promise<PsiJobRecord>;
  get(id: string): Promise<PsiJobRecord | null>;
  list(limit: number): Promise<PsiJobRecord[]>;
  /** Stores shared rows and marks the job done in one transaction. */
  complete(id: string, rowKeys: readonly number[] | null, resultSize: number | null): Promise<PsiJobRecord>;
  alignment(id: string, afterRowKey: number, limit: number): Promise<number[]>;
  /** At start-up: jobs left running by a crash fail with `code`; their partial results are dropped. */
  failUnfinished(code: string, message: string): Promise<number>;
}

/** The fields that end a job without a result: its final state and the coded error that ended it. */
export function endedWith(
  state: 'failed' | 'cancelled',
  error: { readonly code: string; readonly message: string },
): Pick<PsiJobRecord, 'state' | 'errorCode' | 'errorMessage' | 'finishedAt'> {
  return { state, errorCode: error.code, errorMessage: error.message, finishedAt: new Date().toISOString() };
}
