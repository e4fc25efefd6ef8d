/**
 * Storage of scoring jobs and the scores they wrote. A scoring job scores a population (every row of a dataset, or
 * the rows of a PSI alignment) with one registered model; its scores are kept with the model, the job and the time,
 * keyed by the dataset's row key, so that a campaign run can stream them in row-key order beside the population.
 *
 * For a vertical model the label holder also keeps each partner's partial logit of every aligned customer from its
 * newest batch job (`partials`): a real-time score falls back to them when a partner is slow or down.
 */

export const SCORING_STATES = ['running', 'done', 'failed'] as const;
export type ScoringState = (typeof SCORING_STATES)[number];

/** Who is scored: every row of a local dataset, or the aligned rows of a finished PSI job (vertical models). */
export type ScoringPopulation =
  | { readonly kind: 'dataset'; readonly dataset: string }
  | { readonly kind: 'alignment'; readonly alignment: string; readonly dataset: string };

export interface ScoringJobRecord {
  readonly id: string;
  /** The registered model (a model id is its version: a registered model never changes). */
  readonly model: string;
  readonly purpose: 'risk' | 'propensity';
  readonly population: ScoringPopulation;
  readonly state: ScoringState;
  /** Rows to score, and rows scored so far (progress). */
  readonly total: number;
  readonly scored: number;
  /** SHA-256 over the scored rows' keys and the cells the model read, in row order (set when done). */
  readonly fingerprint: string | null;
  /**
   * Set by the store (createJob ignores it): the version (DatasetInfo.version) of the population's dataset the job
   * scored, fixed when the job was created; null if the dataset did not exist then. Scores are keyed by row key, so
   * they fit only that version.
   */
  readonly datasetVersion?: number | null;
  readonly requestedBy: string;
  readonly errorCode: string | null;
  readonly errorMessage: string | null;
  readonly createdAt: string;
  readonly finishedAt: string | null;
}

/** One batch of scores, in ascending row-key order. */
export interface ScoreBatch {
  readonly rowKeys: Int32Array;
  readonly scores: Float64Array;
}

export interface ScoreStore {
  createJob(job: ScoringJobRecord): Promise<void>;
  /** Appends one batch of a running job's scores (with the customers' ids) and raises its progress, atomically. */
  appendScores(job: string, batch: ScoreBatch, customerIds: readonly string[]): Promise<void>;
  /** Marks a running job done with its fingerprint. */
  complete(job: string, fingerprint: string): Promise<ScoringJobRecord>;
  /** Marks a running job failed; its scores are deleted in the same transaction. */
  fail(job: string, error: { readonly code: string; readonly message: string }): Promise<void>;
  getJob(job: string): Promise<ScoringJobRecord | null>;
  listJobs(limit: number): Promise<ScoringJobRecord[]>;
  /**
   * The newest done job of `model` whose population is over `dataset`, or null. Only jobs over the dataset as it is
   * now count: a re-import (replace) gives the rows other row keys, so scores of the old version no longer fit.
   */
  latestDone(model: string, dataset: string): Promise<ScoringJobRecord | null>;
  /** A done job's scores in ascending row-key order, `batchSize` at a time. */
  iterate(job: string, batchSize: number): AsyncIterable<ScoreBatch>;
  /** At start-up: jobs left running by a crash fail with `code`, their partial scores deleted; returns how many. */
  failUnfinished(code: string, message: string): Promise<number>;
  /**
   * Erasure: deletes every score (and fallback partial) of the customer; returns how many rows went. Refuses, erasing
   * nothing, with ACCORD_SCORING_ERASURE_BLOCKED while a job runs over a dataset that holds the customer (it would
   * write their score back).
   */
  eraseCustomer(customerId: string): Promise<number>;
  /**
   * Vertical label holder: appends one batch of a running job as `appendScores` does, together with each partner's
   * partial logits of the same rows (by member, aligned with `batch.rowKeys`), atomically. They become the model's
   * fallback partials when the job is done (replacing an older job's), and go with the job if it fails.
   */
  appendJoint(
    job: string,
    batch: ScoreBatch,
    customerIds: readonly string[],
    partials: ReadonlyMap<string, Float64Array>,
  ): Promise<void>;
  /** `member`'s partial logit of the customer from the newest done job of `model` that kept partials, or null. */
  latestPartial(model: string, member: string, customerId: string): Promise<StoredPartial | null>;
  /**
   * Population reads for scoring, each one indexed read whatever the dataset's size. `datasetPage`: up to `limit` rows
   * of a ready dataset with row key above `afterRowKey`, in row-key order (ACCORD_DATASET_NOT_FOUND if none).
   *
   * The reads of an alignment's rows (`alignedRows`, `rowsAtPositions`, `alignmentIndex`, `locate` in an alignment)
   * read the dataset version the alignment's PSI job aligned, and throw ACCORD_PSI_ALIGNMENT_STALE when the dataset
   * was re-imported since (its row keys would name other customers), checked in the same step as the read.
   */
  datasetPage(dataset: string, afterRowKey: number, limit: number): Promise<PopulationPage>;
  /** The rows of the alignment's dataset with the given row keys, in that order (a key with no row is left out). */
  alignedRows(alignment: string, rowKeys: Int32Array): Promise<PopulationPage>;
  /**
   * A partner's read: the row at each aligned position of a done alignment, in the positions' order; null if a
   * position has no row (outside the alignment).
   */
  rowsAtPositions(alignment: string, positions: Uint32Array): Promise<PopulationPage | null>;
  /**
   * A done alignment's rows as a lookup: its row keys ascending, each with its aligned position (8 bytes a row: the
   * label holder scores an alignment in row-key order, and finds a customer's position, from it).
   */
  alignmentIndex(alignment: string): Promise<AlignmentIndex>;
  /** Real time: the customer's row by its id (as imported) in a dataset, or in an alignment's dataset; or null. */
  locate(
    source: { readonly dataset: string } | { readonly alignment: string },
    customerId: string,
  ): Promise<{ readonly rowKey: number; readonly cells: string } | null>;
}

/** An alignment's row keys in ascending order, and the aligned position of each. */
export interface AlignmentIndex {
  readonly rowKeys: Int32Array;
  readonly positions: Uint32Array;
}

/** Rows of a population: row keys, customer ids and each row's cells as stored (JSON, dataset column order). */
export interface PopulationPage {
  readonly rowKeys: Int32Array;
  readonly ids: readonly string[];
  readonly cells: readonly string[];
}

/** A partner's stored partial logit of one customer, and the done batch job it came from. */
export interface StoredPartial {
  readonly job: string;
  readonly finishedAt: string;
  readonly partial: number;
}
