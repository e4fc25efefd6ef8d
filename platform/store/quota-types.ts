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

export interface QuotaStore {
  /**
   * Charges the distinct `digests` of one request to `member` on `day`, all or nothing: digests seen from this member
   * within the last `memoryDays` days are free (and their last use is refreshed), the others count against
   * `baseLimit` plus the grants in force. One transaction.
   */
  charge(
    member: string,
    digests: readonly Uint8Array[],
    day: number,
    baseLimit: number,
    memoryDays: number,
  ): Promise<QuotaCharge>;
  /** Adds answered lookups and hits among new identifiers to the day's usage; returns the usage after it. */
  recordAnswers(member: string, day: number, queries: number, hits: number): Promise<QuotaUsage>;
  /** Marks the day's enumeration alert raised; true only the first time. */
  markAlerted(member: string, day: number): Promise<boolean>;
  usage(member: string, day: number): Promise<QuotaUsage>;
  grant(grant: Omit<QuotaGrant, 'id'>): Promise<QuotaGrant>;
  grants(member?: string): Promise<QuotaGrant[]>;
  /** Forgets digests not used since before `seenBeforeDay` and usage rows older than `usageBeforeDay`. */
  prune(seenBeforeDay: number, usageBeforeDay: number): Promise<number>;
}
