/**
 * The storage interface. Callers see only these types; `sqlite/` implements them over an embedded database. The
 * interface is async and row-streaming so that a PostgreSQL implementation can be added without touching callers.
 */
import type { AuditAnchor } from '../../primitives/audit/anchors.js';
import type { AuditDraft, AuditEntry } from '../../primitives/audit/chain.js';
import type {
  CampaignRunStore,
  CampaignStore,
  ConsentStore,
  CustomerErasureStore,
  DoNotContactStore,
} from './campaign-types.js';
import type { PsiJobStore, PsiSessionStore } from './psi-types.js';
import type { QuotaStore } from './quota-types.js';
import type { ScoreStore } from './scoring-types.js';
import type { ScreeningJobStore } from './screening-types.js';
import type { SignalStore } from './signal-types.js';
import type { ModelStore, TrainingJobStore } from './training-types.js';

export const COLUMN_TYPES = ['string', 'integer', 'number', 'boolean', 'date'] as const;
export type ColumnType = (typeof COLUMN_TYPES)[number];

export interface ColumnDef {
  readonly name: string;
  readonly type: ColumnType;
  /** Empty cells allowed (stored as null). */
  readonly nullable: boolean;
}

export interface DatasetDefinition {
  readonly name: string;
  readonly idColumn: string;
  /** Kind of identifier in the id column (customer_id, phone, ...): decides normalisation in PSI and signals. */
  readonly idKind: string;
  readonly columns: readonly ColumnDef[];
}

export interface DatasetInfo extends DatasetDefinition {
  readonly rowCount: number;
  readonly importedAt: string;
  /** This import of the dataset (its internal id): a re-import (replace) gets another, its row keys other customers. */
  readonly version: number;
}

export type Cell = string | number | boolean | null;

export interface StagedRow {
  /** 1-based line number in the uploaded file: the row's stable local key. */
  readonly rowKey: number;
  readonly id: string;
  readonly cells: readonly Cell[];
}

/** An import in progress: rows are staged invisibly; `commit` swaps them in atomically, `abort` drops them. */
export interface DatasetImport {
  append(rows: readonly StagedRow[]): Promise<void>;
  /**
   * Publishes the import. Replacing a ready dataset of the name needs `replace`, and is refused with
   * ACCORD_DATASET_IN_USE when `inUse` (asked inside the publishing transaction) says a job reads the dataset.
   */
  commit(options: {
    replace: boolean;
    inUse?: ((dataset: string) => boolean) | undefined;
  }): Promise<DatasetInfo>;
  abort(): Promise<void>;
}

export interface IdBatch {
  readonly rowKeys: number[];
  readonly ids: string[];
}

export interface DatasetStore {
  beginImport(definition: DatasetDefinition): Promise<DatasetImport>;
  list(): Promise<DatasetInfo[]>;
  get(name: string): Promise<DatasetInfo | null>;
  /** Streams the id column in row-key order, `batchSize` rows at a time: memory grows with the batch, not the set. */
  iterateIds(name: string, batchSize: number): AsyncIterable<IdBatch>;
  /** Every row key of the dataset, in row order (4 bytes a row: lets PSI visit rows in a random order). */
  rowKeys(name: string): Promise<Int32Array>;
  /** The values of `column` for the given rows, aligned with `rowKeys`. */
  valuesOf(name: string, column: string, rowKeys: readonly number[]): Promise<Array<string | null>>;
  /**
   * Streams the id and the cells of `columns` (typed as stored) in row-key order, `batchSize` rows at a time: one
   * ordered pass, memory bounded by the batch. Throws ACCORD_DATASET_COLUMN_NOT_FOUND for an unknown column, and
   * ACCORD_DATASET_VERSION_CHANGED when the ready dataset is not `version` (DatasetInfo.version; default: the one
   * ready when the stream starts), checked before every batch.
   */
  iterateColumns(
    name: string,
    columns: readonly string[],
    batchSize: number,
    version?: number,
  ): AsyncIterable<ColumnBatch>;
}

/** One batch of `iterateColumns`: row keys, ids and, per requested column, its cells (all aligned). */
export interface ColumnBatch {
  readonly rowKeys: number[];
  readonly ids: string[];
  readonly columns: Cell[][];
}

export interface AuditStore {
  /** Seals and appends atomically (reads the head and writes the next entry as one step). */
  append(draft: AuditDraft): Promise<AuditEntry>;
  list(options: { afterSeq?: number; limit: number }): Promise<AuditEntry[]>;
  iterate(batchSize?: number): AsyncIterable<AuditEntry>;
  /** The newest entry's sequence number and hash, or null for an empty log. */
  head(): Promise<{ seq: number; hash: string } | null>;
}

/** Another process's audit head as this process recorded it (see primitives/audit/anchors.ts). */
export interface AuditAnchorRecord extends AuditAnchor {
  /** Whose log: a member name (at the coordinator) or `coordinator` (at a node). */
  readonly party: string;
  /** Sequence number of the `audit:anchor` entry in this process's own log that recorded it. */
  readonly entrySeq: number;
}

/** Heads of other processes' audit logs, append-only, each recorded together with an entry in the own log. */
export interface AuditAnchorStore {
  /**
   * Appends `draft` to the own audit log and records the anchor, in one transaction (both or neither). Refuses an
   * anchor whose seq is not above the party's latest one.
   */
  record(draft: AuditDraft, anchor: { party: string; seq: number; hash: string }): Promise<AuditAnchorRecord>;
  /** The party's newest anchor, or null. */
  latest(party: string): Promise<AuditAnchorRecord | null>;
  /** The party's anchors with seq above `afterSeq`, oldest first. */
  list(party: string, options: { afterSeq?: number; limit: number }): Promise<AuditAnchorRecord[]>;
}

/** Small named values the process keeps across restarts (keys for masking, job counters...). */
export interface SettingsStore {
  get(key: string): Promise<string | null>;
  /** Sets `key` only if unset; returns the value now stored (so concurrent first starts agree). */
  putIfAbsent(key: string, value: string): Promise<string>;
}

export interface NodeStore {
  readonly audit: AuditStore;
  /** The coordinator's audit heads, as this node anchored them. */
  readonly anchors: AuditAnchorStore;
  readonly datasets: DatasetStore;
  readonly settings: SettingsStore;
  readonly psiJobs: PsiJobStore;
  readonly screeningJobs: ScreeningJobStore;
  readonly trainingJobs: TrainingJobStore;
  /** The model registry: every model a job of this node produced. */
  readonly models: ModelStore;
  /** Scoring jobs, their scores and the partners' fallback partials. */
  readonly scores: ScoreStore;
  /** Campaigns with every version and review, and the risk team's pricing limits. */
  readonly campaigns: CampaignStore;
  /** Campaign runs, their decisions and the contact history. */
  readonly campaignRuns: CampaignRunStore;
  /** Consent per customer and purpose. */
  readonly consent: ConsentStore;
  readonly doNotContact: DoNotContactStore;
  /** A customer's scores, decisions, consent and contacts erased in one transaction. */
  readonly erasure: CustomerErasureStore;
  close(): Promise<void>;
}

export interface CoordinatorStore {
  readonly audit: AuditStore;
  /** Every member's audit heads, as the coordinator anchored them. */
  readonly anchors: AuditAnchorStore;
  readonly settings: SettingsStore;
  readonly signals: SignalStore;
  readonly psiSessions: PsiSessionStore;
  /** Training job ids ever opened (single-use) and how each job ended; same shape as the PSI sessions. */
  readonly trainingSessions: PsiSessionStore;
  readonly quotas: QuotaStore;
  close(): Promise<void>;
}
