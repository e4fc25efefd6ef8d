/**
 * Fraud-signal sharing: the names and limits both sides use, defined once (`as const`; no string literals in
 * handlers). The signal kinds are in `kinds.ts`, their one source. The protocol itself — numbered flow, what each party learns — is in `primitives/oprf/fraud-token.ts`
 * (token derivation) and `coordinator/signals/signals-service.ts` (publish / query / retract).
 */

export const DAY_MS = 86_400_000;

/** The application-count windows of a query answer, in days. */
export const APPLICATION_WINDOWS = { d1: 1, d7: 7, d30: 30 } as const;

/** Largest publish batch (signals per REST call and per Publish RPC). */
export const MAX_PUBLISH_BATCH = 10_000;
/** Largest screening job (identifiers per REST call). */
export const MAX_SCREEN_IDS = 100_000;
/** Largest QueryBatch RPC (elements per message); the node cuts bigger jobs into chunks of this. */
export const MAX_RPC_BATCH = 10_000;

/** Bytes of a fraud token (`TOKEN_BYTES` in fraud-token.ts) and of a signal id. */
export const SIGNAL_TOKEN_BYTES = 32;
export const SIGNAL_ID_PATTERN = /^sig_[0-9a-f]{32}$/;

/** Hex characters of a token written to the coordinator's audit log (enough to spot repeats, not to look up). */
export const AUDIT_TOKEN_PREFIX_HEX = 8;

/** One flag kind in a query answer. */
export interface FlagAggregate {
  readonly kind: string;
  /** Distinct other members that flagged the identifier with this kind. */
  readonly members: number;
  /** Newest such flag, Unix ms. */
  readonly lastSeenMs: number;
}

/** A query answer: counts of distinct OTHER members, never names. */
export interface SignalAggregates {
  readonly applications: { readonly d1: number; readonly d7: number; readonly d30: number };
  readonly flags: readonly FlagAggregate[];
}
