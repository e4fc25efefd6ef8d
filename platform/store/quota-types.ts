/**
 * Storage of the coordinator's per-member quotas on new identifiers (fraud-signal lookups): which member elements
 * each member looked up recently (a 16-byte digest, never an identifier), how many new ones it used per UTC day, and
 * the temporary grants an operator gave. Persisted, so that a restart resets nothing.
 */

/** The outcome of charging one request against a member's quota; nothing is written when not allowed. */
export interface QuotaCharge {
  readonly allowed: boolean;
  /** Distinct elements of the request the member has not looked up within the memory window. */
  readonly fresh: number;
  /** Per element of the request, in order: true for the first occurrence of each fresh one. */
  readonly isFresh: readonly boolean[];
  /** New elements already charged today, before this request. */
  readonly usedBefore: number;
  /** Today's limit: the member's base quota plus every grant in force today. */
  readonly limit: number;
}

/** One member's use on one UTC day. */
export interface QuotaUsage {
  readonly day: number;
  readonly newElements: number;
  /** Lookups answered (each element of a batch counts; repeats too). */
  readonly queries: number;
  /**
   * Lookups of NEW identifiers whose answer held anything (an application of another member, or a flag). Only new
   * ones count: repeating a known hit costs nothing, so it must not be able to dilute the enumeration alert.
   */
  readonly hits: number;
  /** True once the enumeration alert was raised for this member and day. */
  readonly alerted: boolean;
}

export interface QuotaGrant {
  readonly id: number;
  readonly member: string;
  /** New elements added to the member's daily quota on each day of the grant. */
  readonly extra: number;
  /** First and last UTC day (days since the epoch) the grant is in force. */
  readonly fromDay: number;
  readonly untilDay: number;
  readonly grantedBy: string;
  readonly reason: string;
  readonly grantedAtMs: number;
}

/** What one flush writes: each member element's last day of use, and usage added per (member, day). */
export interface QuotaWrites {
  readonly seen: ReadonlyArray<{
    readonly member: string;
    readonly digest: Uint8Array;
    readonly day: number;
  }>;
  readonly usage: ReadonlyArray<{
    readonly member: string;
    readonly day: number;
    readonly newElements: number;
    readonly queries: number;
    readonly hits: number;
    readonly alerted: boolean;
  }>;
}

/**
 * The persistent part; the coordinator keeps the counting logic and a short write-behind buffer in front of it
 * (coordinator/signals/quota-ledger.ts), so that a lookup costs no write transaction of its own.
 */
export interface QuotaStore {
  /** The last UTC day `member` used each digest, aligned with `digests` (null: never, or forgotten). */
  lastDays(member: string, digests: readonly Uint8Array[]): Promise<Array<number | null>>;
  usage(member: string, day: number): Promise<QuotaUsage>;
  /** New elements added on `day` by the grants in force for `member`. */
  grantedOn(member: string, day: number): Promise<number>;
  /** Writes a batch in one transaction: last days of use (upserted) and usage (added; `alerted` only ever set). */
  apply(writes: QuotaWrites): Promise<void>;
  grant(grant: Omit<QuotaGrant, 'id'>): Promise<QuotaGrant>;
  grants(member?: string): Promise<QuotaGrant[]>;
  /** Forgets digests not used since before `seenBeforeDay` and usage rows older than `usageBeforeDay`. */
  prune(seenBeforeDay: number, usageBeforeDay: number): Promise<number>;
}
