/**
 * Multi-party ECDH private set intersection through a relaying coordinator that does the comparison.
 *
 * Parties P_0 (initiator) .. P_{k-1}, k >= 2, each with a secret X25519 scalar k_i (fresh per session) and a set X_i;
 * the coordinator C holds no key. H = hash-to-curve (RFC 9380 Elligator 2 on Curve25519, `hash-to-curve.ts`, domain =
 * identifier kind + session id), so points of different sessions or kinds cannot be linked. Scalar multiplication of
 * u-coordinates commutes (the DH-PSI of Huberman, Franklin and Hogg 1999; Meadows 1986), so every order of keys gives
 * the same fully blinded value H(x)^{k_0...k_{k-1}}.
 *
 *  1. Open: P_0 -> C: peers, id kind, mode, reveal, |X_0|, its largest acceptable size ratio. C checks the session id
 *     was never used, the member's concurrent and daily session limits, and the announced size against its bound;
 *     C -> each peer: Invitation (participants, id kind, mode, reveal, the dataset asked for, |X_0|).
 *  2. Respond: each peer checks the invitation against its own policy (which partners, datasets and modes it allows;
 *     |X_0| against its dataset's size, and against the rows that partner brought against the dataset in the last 7
 *     days) and answers Accept {the exact participants, id kind, mode and reveal it agreed to, |X_j|, its ratio
 *     cap} or Decline {code}. C refuses an acceptance whose terms differ from the session's, then, once all accepted, checks
 *     the set sizes against every cap (largest / smallest <= min of caps: a party with a far larger set could pull a
 *     partner's customer list) and its memory budget; C -> all: SessionStart {ring order, set sizes, learners}.
 *     Every party checks the sizes against its own caps (ratio, weekly rows) again before it sends a single point.
 *  3. Ring: P_i sends S_i = { H(x)^{k_i} : x in X_i } (hop 1) in a random order only P_i knows. Each batch of origin i
 *     at hop h goes to ring[i + h]; that party checks every point (canonical, on the curve, not of low order), raises
 *     it to its key and sends it on (hop h + 1), same order, same count. At hop k the points are fully blinded,
 *     F_i = { H(x)^{k_0...k_{k-1}} }, and stay at C: no member ever receives a fully blinded value.
 *  4. Result: C intersects F_0..F_{k-1} (comparison keys: the first 16 bytes of each point) and draws one random
 *     order of the intersection. Each learner L gets SessionResult: in intersection mode, the positions in L's own
 *     sending order of its rows in the intersection, listed in that shared order (so the r-th row of every learner's
 *     alignment is the same customer); in cardinality mode, only the count.
 *  5. End: C -> all: SessionEnd {done}. Any failure, cancel or timeout: SessionEnd {failed|cancelled, error, by}.
 *
 * What each party learns (semi-honest, coordinator not colluding):
 *  - A learner: in intersection mode, which of its own rows are in every other set, aligned with the other learners'
 *    rows; in cardinality mode only how many. Every party learns the others' set sizes (SessionStart).
 *  - Nobody learns a pairwise intersection. A member holds at most ONE fully blinded set: its ring successor's, whose
 *    last key it applies (the stream of origin ring[j+1] is completed by ring[j]). It cannot compare that set with
 *    anything, because no member ever receives a fully blinded value. Every other value a member
 *    sees or computes carries a set of keys that differs between origins (the arc of the ring from the origin to the
 *    member), so values of two origins never coincide even when they encode the same identifier. The old design sent
 *    each learner its own fully blinded set, which let the last hop of a neighbour's stream compare the two and
 *    recover that pairwise intersection; `test/integration/psi-privacy.test.ts` runs that attack on every value each
 *    party sends or receives.
 *  - A non-learner: set sizes, and that the session ended.
 *  - C: blinded points only. It can compare the fully blinded sets, so it learns the sizes of all intersections
 *    (pairwise included) and which positions of each stream match, but no identifier and no row: every stream arrives
 *    in its origin's secret random order. Following the protocol, it holds no key and cannot test a guessed
 *    identifier. A MALICIOUS C could substitute a ring batch with points of its choice (H is public) and compare what
 *    the next member returns with that member's own first-hop stream: a test of as many guesses against that
 *    member's set as the substituted stream's announced size. Members bound this to that: each blinds only batches
 *    of a started session, of another party's stream whose next hop it is, in order, within the announced size.
 *  - Padding: there is none any more (learners receive positions, not points). Rows whose identifier fails
 *    normalisation or repeats are sent as H(random)^{k_i}, which lies in the same prime-order subgroup as every real
 *    value (X25519 clamps scalars to multiples of 8, clearing the cofactor), so nothing marks them.
 *  - If C colludes with a member: they hold every fully blinded set and that member's key; they learn which of that
 *    member's rows are in each other set (pairwise intersections) and every intersection size. They cannot name a
 *    customer the member does not hold. Two colluding members learn the pairwise intersection of one's set with the
 *    set the other completes (see SECURITY.md).
 *
 * Why C applies no key of its own: a last key at C would matter only if members compared fully blinded values; here
 * C compares and hands out positions, so a key of C's would hide nothing from anyone and would cost C one scalar
 * multiplication per point.
 *
 * Security of the group: X25519 clamps scalars to multiples of 8, which clears the cofactor, and Curve25519 is
 * twist-secure; points are nonetheless checked to be on the curve (not the twist), canonical and not of low order
 * before a party multiplies them by its key, so a malformed peer is rejected instead of silently answered.
 */
import type { AccordError } from '../errors/index.js';
import type { IdKind } from '../identity/normalise.js';

export const PSI_MODES = ['intersection', 'cardinality'] as const;
export type PsiMode = (typeof PSI_MODES)[number];

export const PSI_REVEAL = ['all', 'initiator'] as const;
export type PsiReveal = (typeof PSI_REVEAL)[number];

export const PSI_OUTCOME = { DONE: 'done', FAILED: 'failed', CANCELLED: 'cancelled' } as const;
export type PsiOutcome = (typeof PSI_OUTCOME)[keyof typeof PSI_OUTCOME];

/** Points per ring batch: 128 KiB of points, large enough to amortise RPC cost, small enough to stream. */
export const PSI_BATCH_POINTS = 4_096;
/** Positions per result message: 256 KiB. */
export const PSI_RESULT_BATCH = 65_536;
export const PSI_MAX_PARTIES = 16;
/** Default cap on largest / smallest set size, for parties that do not set one. */
export const PSI_DEFAULT_MAX_SIZE_RATIO = 10;
/** Default cap on the rows one partner brings against one dataset over 7 days, as a multiple of its size. */
export const PSI_DEFAULT_WEEKLY_ROWS_RATIO = 20;

// ------------------------------------------------------------------------------------------------------------------
// Messages, as domain types (the wire shapes and proto3 sentinels stay in platform/wire/psi.ts)

/** Step 1, initiator -> C. */
export interface PsiOpen {
  readonly sessionId: string;
  readonly peers: readonly string[];
  readonly idKind: IdKind;
  readonly mode: PsiMode;
  readonly reveal: PsiReveal;
  readonly setSize: number;
  /** Dataset name per peer. */
  readonly peerDatasets: Readonly<Record<string, string>>;
  /** Largest size ratio the initiator accepts; undefined: the coordinator's default. */
  readonly maxSizeRatio?: number | undefined;
}

/** Step 1, C -> each peer. */
export interface PsiInvitation {
  readonly sessionId: string;
  readonly initiator: string;
  /** Every participant, initiator first. */
  readonly participants: readonly string[];
  readonly idKind: IdKind;
  readonly mode: PsiMode;
  readonly reveal: PsiReveal;
  /** The dataset the initiator asks this peer to use, if it named one. */
  readonly dataset?: string | undefined;
  /** The initiator's announced set size, so the peer's policy and admin can judge it before accepting. */
  readonly initiatorSetSize: number;
}

/** The terms a peer agrees to: they must equal the session's, participant list included. */
export interface PsiAgreedTerms {
  readonly participants: readonly string[];
  readonly idKind: IdKind;
  readonly mode: PsiMode;
  readonly reveal: PsiReveal;
}

/** Step 2, peer -> C. */
export type PsiAnswer =
  | {
      readonly kind: 'accept';
      readonly sessionId: string;
      readonly terms: PsiAgreedTerms;
      readonly setSize: number;
      /** Largest size ratio this peer accepts; undefined: the coordinator's default. */
      readonly maxSizeRatio?: number | undefined;
    }
  | { readonly kind: 'decline'; readonly sessionId: string; readonly code: string };

/** Step 2, C -> all. */
export interface PsiStart {
  readonly sessionId: string;
  readonly ring: readonly string[];
  /** Aligned with `ring`. */
  readonly setSizes: readonly number[];
  readonly learners: readonly string[];
}

/** Step 3, a party -> C: points of `origin` after `hop` keys. */
export interface PsiSend {
  readonly sessionId: string;
  readonly origin: string;
  readonly hop: number;
  readonly batchIndex: number;
  readonly count: number;
  readonly points: Buffer;
  readonly last: boolean;
}

/** Step 3, C -> the next party of the ring. */
export interface PsiRingBatch extends PsiSend {
  /** Points in the whole (origin, hop) stream. */
  readonly streamTotal: number;
}

/** Step 4, C -> a learner: one message in cardinality mode, batches of positions in intersection mode. */
export interface PsiResult {
  readonly sessionId: string;
  /** Size of the intersection of every set. */
  readonly size: number;
  readonly batchIndex: number;
  /** Positions in the learner's sending order, in the shared order (empty in cardinality mode). */
  readonly positions: Uint32Array;
  readonly last: boolean;
}

/** Step 5, C -> all. */
export type PsiEnd =
  | { readonly sessionId: string; readonly outcome: 'done' }
  | {
      readonly sessionId: string;
      readonly outcome: 'failed' | 'cancelled';
      readonly error: AccordError;
      /** The member whose failure or cancel ended it; null when C ended it (timeout, limit, lost peer). */
      readonly by: string | null;
    };

/** A party abandons a session. */
export interface PsiCancel {
  readonly sessionId: string;
  readonly code: string;
}

/** What C pushes into a member's inbox. */
export type PsiEvent =
  | { readonly kind: 'invitation'; readonly invitation: PsiInvitation }
  | { readonly kind: 'start'; readonly start: PsiStart }
  | { readonly kind: 'batch'; readonly batch: PsiRingBatch }
  | { readonly kind: 'result'; readonly result: PsiResult }
  | { readonly kind: 'end'; readonly end: PsiEnd };

// ------------------------------------------------------------------------------------------------------------------
// Rules both sides apply

/** Who receives the result. */
export function learnersOf(participants: readonly string[], reveal: PsiReveal): string[] {
  return reveal === 'all' ? [...participants] : participants.slice(0, 1);
}

/**
 * Where a batch of `origin`'s points goes after `hop` parties have blinded it: the next ring member, or `null` when
 * every party has (the coordinator keeps it).
 */
export function nextInRing(ring: readonly string[], origin: string, hop: number): string | null {
  const start = ring.indexOf(origin);
  if (start < 0 || hop < 1) throw new Error('origin not in ring or hop < 1');
  return hop >= ring.length ? null : ring[(start + hop) % ring.length]!;
}

/** Who must have sent a batch of `origin` at `hop` (the party that applied the hop-th key). */
export function expectedSender(ring: readonly string[], origin: string, hop: number): string {
  const start = ring.indexOf(origin);
  return ring[(start + hop - 1) % ring.length]!;
}

/** What is wrong with a ring batch for its stream: not the next one (or after the last), too many points, too few. */
export type StreamProblem = { readonly problem: 'order' | 'over' | 'short'; readonly received: number };

/**
 * Where each (origin, hop) stream of ring batches stands, as the coordinator and every member both check it: batches
 * in order from 0, never more points than the origin announced, exactly that many when the last batch arrives.
 */
export class RingStreams {
  private readonly streams = new Map<string, { next: number; received: number; closed: boolean }>();

  /**
   * Records `batch`, of a stream whose origin announced `announced` points; returns its problem (with the points
   * received counting this batch), or null when it is the stream's next batch and within the announced size.
   */
  accept(
    batch: Pick<PsiSend, 'origin' | 'hop' | 'batchIndex' | 'count' | 'last'>,
    announced: number,
  ): StreamProblem | null {
    const key = `${batch.origin}/${batch.hop}`;
    const stream = this.streams.get(key) ?? { next: 0, received: 0, closed: false };
    const received = stream.received + batch.count;
    if (stream.closed || batch.batchIndex !== stream.next) return { problem: 'order', received };
    if (received > announced) return { problem: 'over', received };
    if (batch.last && received !== announced) return { problem: 'short', received };
    this.streams.set(key, { next: stream.next + 1, received, closed: batch.last });
    return null;
  }
}

/** Largest set size over smallest: the figure every party's cap bounds. Infinity when a set is empty. */
export function sizeRatio(sizes: readonly number[]): number {
  const smallest = Math.min(...sizes);
  return smallest > 0 ? Math.max(...sizes) / smallest : Number.POSITIVE_INFINITY;
}

/**
 * The first term on which an acceptance differs from the session (participants in the same order included), for the
 * error message; null when the terms are exactly the session's.
 */
export function differingTerm(
  agreed: PsiAgreedTerms,
  session: PsiAgreedTerms,
): { field: string; actual: string; expected: string } | null {
  for (const field of ['idKind', 'mode', 'reveal'] as const) {
    if (agreed[field] !== session[field]) return { field, actual: agreed[field], expected: session[field] };
  }
  const same =
    agreed.participants.length === session.participants.length &&
    agreed.participants.every((p, i) => p === session.participants[i]);
  if (!same)
    return {
      field: 'participants',
      actual: agreed.participants.join(','),
      expected: session.participants.join(','),
    };
  return null;
}
