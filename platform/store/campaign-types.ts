/**
 * Storage of campaigns (every version and every review kept), the risk team's pricing limits, campaign runs with
 * one decision per customer, the contact history the runs make, consent per customer and purpose, and the
 * do-not-contact list. A run's decisions and contacts are written in batches beside its progress, and count only
 * once the run is done; a run that fails (or that a crash interrupted, found at the next start) loses them all in
 * the transaction that fails it.
 */
import type { CampaignSpec } from '../../primitives/campaigns/spec.js';
import type { Funnel } from '../../primitives/campaigns/funnel.js';

export const CAMPAIGN_STATES = ['draft', 'submitted', 'approved', 'rejected'] as const;
export type CampaignState = (typeof CAMPAIGN_STATES)[number];

export interface CampaignRecord {
  readonly id: string;
  readonly name: string;
  readonly product: string;
  readonly state: CampaignState;
  /** The current version (1 at creation; every edit adds one). */
  readonly version: number;
  /** The latest version a reviewer approved, or null. */
  readonly approvedVersion: number | null;
  /** Token label of the creator. */
  readonly createdBy: string;
  readonly createdAt: string;
  readonly updatedAt: string;
}

export interface CampaignVersion {
  readonly campaign: string;
  readonly version: number;
  readonly spec: CampaignSpec;
  /** SHA-256 of the spec's canonical JSON (primitives/campaigns/spec.ts campaignDigest). */
  readonly digest: string;
  readonly author: string;
  readonly createdAt: string;
}

export const REVIEW_ACTIONS = ['submit', 'approve', 'reject'] as const;
export type ReviewAction = (typeof REVIEW_ACTIONS)[number];

export interface CampaignReview {
  readonly campaign: string;
  readonly version: number;
  /** The digest of the version reviewed. */
  readonly digest: string;
  readonly action: ReviewAction;
  readonly by: string;
  readonly comment: string | null;
  readonly at: string;
}

export interface PricingLimits {
  readonly product: string;
  readonly floor: number;
  readonly ceiling: number;
  readonly maxProbabilityOfDefault: number | null;
  readonly setBy: string;
  readonly setAt: string;
}

export interface CampaignStore {
  /** Adds a campaign in draft with its first version. */
  create(record: CampaignRecord, version: CampaignVersion): Promise<void>;
  get(id: string): Promise<CampaignRecord | null>;
  /** Newest first. */
  list(limit: number): Promise<CampaignRecord[]>;
  versions(id: string): Promise<CampaignVersion[]>;
  version(id: string, version: number): Promise<CampaignVersion | null>;
  reviews(id: string): Promise<CampaignReview[]>;
  /**
   * Adds the next version and moves the campaign to draft, if its current version is still `expected` (a concurrent
   * edit makes this return null and change nothing).
   */
  addVersion(expected: number, version: CampaignVersion): Promise<CampaignRecord | null>;
  /**
   * Records a review and moves the campaign from `from` to `to`, if it is still in `from` at the review's version
   * (else returns null and changes nothing). `to = 'approved'` also sets approvedVersion.
   */
  review(review: CampaignReview, from: CampaignState, to: CampaignState): Promise<CampaignRecord | null>;
  putLimits(limits: PricingLimits): Promise<void>;
  limits(product: string): Promise<PricingLimits | null>;
  listLimits(): Promise<PricingLimits[]>;
}

export const RUN_STATES = ['running', 'done', 'failed'] as const;
export type RunState = (typeof RUN_STATES)[number];

/** What a run used, recorded when its inputs are fixed (before the first decision). */
export interface RunInputs {
  readonly runAt: string;
  readonly population: {
    readonly dataset: string;
    readonly rows: number;
    /** The dataset's version (DatasetInfo.version) the run read, and every scoring job it used had scored. */
    readonly version: number;
    readonly importedAt: string;
    /** SHA-256 over the row keys, identifiers and cells the run read (set when done). */
    readonly fingerprint: string | null;
  };
  readonly models: {
    readonly propensity: {
      readonly model: string;
      readonly scoringJob: string;
      readonly fingerprint: string | null;
    };
    readonly risk: {
      readonly model: string;
      readonly scoringJob: string;
      readonly fingerprint: string | null;
    };
  };
  readonly screeningJob: string | null;
  readonly limits: {
    readonly floor: number;
    readonly ceiling: number;
    readonly maxProbabilityOfDefault: number | null;
  };
}

export interface CampaignRunRecord {
  readonly id: string;
  readonly campaign: string;
  readonly version: number;
  readonly digest: string;
  readonly state: RunState;
  /** `scoring` while a model's scores are being produced, then `deciding`. */
  readonly phase: 'scoring' | 'deciding' | 'done';
  readonly processed: number;
  readonly total: number;
  readonly inputs: RunInputs | null;
  readonly funnel: Funnel | null;
  readonly startedBy: string;
  readonly errorCode: string | null;
  readonly errorMessage: string | null;
  readonly createdAt: string;
  readonly finishedAt: string | null;
}

/** One batch of decisions, column-wise and in row-key order. */
export interface DecisionBatch {
  readonly rowKeys: readonly number[];
  readonly customerIds: readonly string[];
  /** Bitmask of the rules passed (primitives/campaigns/rules.ts). */
  readonly passed: Int32Array;
  /** First failure's reason code, 0 = eligible. */
  readonly reason: Int32Array;
  /** Index of the customer cap reached (reason CAP_CUSTOMER), else -1. */
  readonly cap: Int32Array;
  /** Index into the campaign's tiers. */
  readonly tier: Int32Array;
  /** NaN = no score. */
  readonly propensity: Float64Array;
  readonly risk: Float64Array;
  /** NaN = no price (not eligible). */
  readonly price: Float64Array;
  /** Index into the campaign's channels, -1 = none (not eligible). */
  readonly channel: Int32Array;
}

export interface StoredDecision {
  readonly rowKey: number;
  readonly customerId: string;
  readonly passed: number;
  readonly reason: number;
  readonly cap: number;
  readonly tier: number;
  readonly propensity: number | null;
  readonly risk: number | null;
  readonly price: number | null;
  readonly channel: number;
}

/** The contacts a batch makes: its eligible customers, each through its channel (by name). */
export interface ContactBatch {
  /** When the contacts count from (the run's time), in ms since the epoch. */
  readonly atMs: number;
  readonly customerIds: readonly string[];
  readonly channels: readonly string[];
}

export interface CampaignRunStore {
  create(run: CampaignRunRecord): Promise<void>;
  get(id: string): Promise<CampaignRunRecord | null>;
  /** A campaign's runs, newest first. */
  list(campaign: string, limit: number): Promise<CampaignRunRecord[]>;
  /** The running run, if any. */
  running(): Promise<CampaignRunRecord | null>;
  /** Fixes the run's inputs and total and moves it to `deciding`. */
  begin(id: string, inputs: RunInputs, total: number): Promise<void>;
  /** Writes a batch of decisions and contacts and raises the progress, in one transaction. */
  append(id: string, decisions: DecisionBatch, contacts: ContactBatch): Promise<void>;
  /** Marks the run done with its funnel and final inputs: its contacts count from now on. */
  complete(id: string, funnel: Funnel, inputs: RunInputs): Promise<CampaignRunRecord>;
  /** Marks a running run failed, deleting its decisions and contacts in the same transaction. */
  fail(id: string, error: { readonly code: string; readonly message: string }): Promise<void>;
  /** At start-up: runs left running by a crash fail with `code`, their decisions and contacts deleted. */
  failUnfinished(code: string, message: string): Promise<number>;
  /** The decision for one customer in a run, or null. */
  decision(id: string, customerId: string): Promise<StoredDecision | null>;
  /** A run's decisions in row-key order, `batchSize` at a time (eligible ones only if asked). */
  iterateDecisions(id: string, batchSize: number, eligibleOnly: boolean): AsyncIterable<StoredDecision[]>;
  /**
   * Past contacts of finished runs since `sinceMs` for a batch of customers: for each, the index of the customer
   * in `customerIds`, the channel and the time (ms). One query per batch.
   */
  contactsOf(
    customerIds: readonly string[],
    sinceMs: number,
  ): Promise<{ index: number; channel: string; at: number }[]>;
  /** Erasure: deletes the customer's decisions and contacts; returns how many of each went. */
  eraseCustomer(customerId: string): Promise<{ decisions: number; contacts: number }>;
}

export const CONSENT_STATUSES = ['granted', 'withdrawn'] as const;
export type ConsentStatus = (typeof CONSENT_STATUSES)[number];

export interface ConsentRecord {
  readonly customerId: string;
  readonly purpose: string;
  readonly status: ConsentStatus;
  /** When granted. In an import a grant may leave it null (undated: the import's time, and it never replaces a
   * withdrawal). */
  readonly grantedAt: string | null;
  /** Set by the store on a withdrawn record read back: when the withdrawal was written (its updatedAt). */
  readonly withdrawnAt?: string | null;
  /** Null: does not expire. */
  readonly expiresAt: string | null;
  readonly updatedAt: string;
}

/**
 * A consent import in progress: rows staged invisibly; `commit` applies them all at once, line by line in order, and
 * answers how many applied and how many grants were kept out because the record they met is withdrawn and the grant
 * is not dated after the withdrawal (undated grants never are); `abort` drops them.
 */
export interface ConsentImport {
  append(rows: readonly ConsentRecord[]): Promise<void>;
  commit(): Promise<{ readonly applied: number; readonly kept: number }>;
  abort(): Promise<void>;
}

/** Consent state codes per customer of a batch (primitives/campaigns/rules.ts CONSENT). */
export interface ConsentStore {
  /**
   * Writes one record; returns false, changing nothing, for a grant not dated after the withdrawal of the withdrawn
   * record it would replace.
   */
  put(record: ConsentRecord): Promise<boolean>;
  beginImport(): Promise<ConsentImport>;
  forCustomer(customerId: string): Promise<ConsentRecord[]>;
  /** Whether any customer of the dataset has a consent record for `purpose`. */
  anyForDataset(purpose: string, dataset: string): Promise<boolean>;
  /**
   * The consent state of each customer for `purpose` at `atMs`: granted (and not expired), none, withdrawn or
   * expired, as CONSENT codes aligned with `customerIds`. One query per batch.
   */
  statesOf(purpose: string, customerIds: readonly string[], atMs: number): Promise<Uint8Array>;
  /** Erasure: deletes every consent record of the customer; returns how many. */
  eraseCustomer(customerId: string): Promise<number>;
}

/** A do-not-contact import in progress: identifiers staged invisibly; `commit` lists them all at once. */
export interface ListImport {
  append(customerIds: readonly string[]): Promise<void>;
  /** Returns how many customers were newly listed. */
  commit(): Promise<number>;
  abort(): Promise<void>;
}

export interface DoNotContactStore {
  /** Adds customers (already listed ones are left as they are); returns how many were new. */
  add(customerIds: readonly string[]): Promise<number>;
  beginImport(): Promise<ListImport>;
  /** Returns whether the customer was listed. */
  remove(customerId: string): Promise<boolean>;
  has(customerId: string): Promise<boolean>;
  /** 1 for each listed customer of the batch, aligned with `customerIds`. One query per batch. */
  listedOf(customerIds: readonly string[]): Promise<Uint8Array>;
  count(): Promise<number>;
}

/** What erasure deleted of one customer, per kind (rows). */
export interface ErasedCounts {
  readonly scores: number;
  readonly decisions: number;
  readonly consent: number;
  readonly contacts: number;
}

export interface CustomerErasureStore {
  /**
   * Deletes every score and fallback partial, campaign decision, consent record and contact of the customer in one
   * transaction: all of it or, on any failure (ACCORD_SCORING_ERASURE_BLOCKED while a scoring job runs over a
   * dataset holding the customer, a crash), none of it. The do-not-contact list is left as it is.
   */
  eraseCustomer(customerId: string): Promise<ErasedCounts>;
}
