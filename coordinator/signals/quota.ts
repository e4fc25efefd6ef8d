/**
 * Quotas on new identifiers, as pure rules (the store does the counting: platform/store/quota-types.ts).
 *
 * Why a quota on DISTINCT NEW identifiers rather than a rate: the OPRF makes every lookup cost a coordinator
 * evaluation, and that online cost is the only thing that stops a member from running a dictionary of phone numbers
 * (primitives/oprf/fraud-token.ts). A bank's real work repeats itself (the same applicants, the same customer base
 * screened again), while a dictionary run never does; so repeats within `memoryDays` are free and only new elements
 * count, per UTC day, persisted. At the default 50 000 a day, 10^8 numbers take 2 000 days; an operator raises a
 * member's quota for a while (its first screening) with an audited grant.
 *
 * The alert: a run through a dictionary finds almost nothing (most numbers are nobody's, or nobody reported them),
 * while a bank checking its own applicants sees other banks' applications now and then.
 */
import { DAY_MS } from '../../primitives/signals/protocol.js';

/** Bytes of a member element kept to recognise a repeat (the element is pseudorandom: its prefix suffices). */
export const DIGEST_BYTES = 16;

export interface QuotaSettings {
  readonly newElementsPerDay: number;
  readonly memoryDays: number;
  readonly perMember: Readonly<Record<string, { readonly newElementsPerDay?: number | undefined }>>;
  readonly enumerationAlert: { readonly minNewElements: number; readonly maxHitRate: number };
}

/** The UTC day (days since the epoch) of a time. */
export function dayOf(ms: number): number {
  return Math.floor(ms / DAY_MS);
}

/** What the quota remembers of a member element. */
export function elementDigest(element: Uint8Array): Uint8Array {
  return element.subarray(0, DIGEST_BYTES);
}

/** A member's base quota for a day (grants come on top, from the store). */
export function baseQuota(settings: QuotaSettings, member: string): number {
  return settings.perMember[member]?.newElementsPerDay ?? settings.newElementsPerDay;
}

/**
 * True when a day's use looks like a dictionary run: many new identifiers, almost none of which found anything.
 * `hits` counts hits among NEW identifiers only: repeating a known hit is free and must not dilute the rate.
 */
export function looksLikeEnumeration(
  usage: { readonly newElements: number; readonly hits: number },
  alert: QuotaSettings['enumerationAlert'],
): boolean {
  return usage.newElements >= alert.minNewElements && usage.hits <= alert.maxHitRate * usage.newElements;
}
