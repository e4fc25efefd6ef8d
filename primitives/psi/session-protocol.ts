/**
 * Multi-party ECDH private set intersection through a relaying coordinator.
 *
 * Parties P_0 (initiator) .. P_{k-1}, k >= 2, each with a secret X25519 scalar k_i (fresh per session) and a set X_i.
 * H = hash-to-curve (RFC 9380 Elligator 2 on Curve25519, domain = identifier kind + session id), so points from
 * different sessions or kinds cannot be linked. Scalar multiplication of u-coordinates commutes.
 *
 *  1. Open: P_0 -> C: peers, id kind, mode, reveal, |X_0|. C -> each peer: Invitation.
 *  2. Respond: each peer -> C: accept + the mode and reveal it agreed to (must equal the session's) + |X_j|.
 *     C -> all: SessionStart {ring order, set sizes, learners}.
 *  3. Ring: P_i sends S_i = { H(x)^{k_i} : x in X_i } (hop 1), in a random order only P_i knows. Each batch of origin
 *     i at hop h goes to ring[i + h]; that party checks every point (canonical, on the curve, not of low order),
 *     raises it to its key and sends it on (hop h + 1), same order, same count. At hop k the points are fully
 *     blinded, F_i = { H(x)^{k_0...k_{k-1}} }, and stay at C.
 *  4. Final, for each learner L: C sends U_L = (the values present in every F_j, j != L), padded with random curve
 *     points to min_{j != L} |F_j| and shuffled; then F_L (in P_L's order in intersection mode, shuffled in
 *     cardinality mode). L's shared rows are the positions p where F_L[p] is in U_L.
 *  5. End: C -> all: SessionEnd {done}. Any failure or cancel: SessionEnd {failed|cancelled, code, by}.
 *
 * What each party learns (semi-honest, coordinator not colluding):
 *  - A learner: the rows of its own set that are in every other set (intersection mode), or only their number
 *    (cardinality mode: F_L arrives shuffled, so positions mean nothing); the others' set sizes. Not the pairwise
 *    intersections (C intersects the other sets before anything reaches L; padding hides |∩_{j != L} X_j|).
 *  - A non-learner: set sizes, and that the session ended.
 *  - Any party forwarding a ring batch: random-looking points in a random order; nothing it can link to an identifier
 *    without the other keys.
 *  - C: blinded points only; from fully blinded sets it can compute the sizes of intersections between any of the
 *    sets, but not which identifiers are in them.
 *  - If C colludes with a member: together they hold all points and that member's key, but still no other key: they
 *    can learn the sizes above and which of that member's own rows are in each other set (pairwise intersections).
 *
 * Security argument for the group: X25519 clamps scalars to multiples of 8, which clears the cofactor, and Curve25519
 * is twist-secure; points are nonetheless checked to be on the curve (not the twist), canonical and not of low order
 * before a party multiplies them by its key, so a malformed peer is rejected instead of silently answered.
 */

export const PSI_MODES = ['intersection', 'cardinality'] as const;
export type PsiMode = (typeof PSI_MODES)[number];

export const PSI_REVEAL = ['all', 'initiator'] as const;
export type PsiReveal = (typeof PSI_REVEAL)[number];

/** Stage names on the wire (`PointBatch.stage`), shared by node and coordinator. */
export const PSI_STAGE = { RING: 'ring', FINAL_OTHERS: 'final_others', FINAL_OWN: 'final_own' } as const;
export type PsiStage = (typeof PSI_STAGE)[keyof typeof PSI_STAGE];

export const PSI_OUTCOME = { DONE: 'done', FAILED: 'failed', CANCELLED: 'cancelled' } as const;
export type PsiOutcome = (typeof PSI_OUTCOME)[keyof typeof PSI_OUTCOME];

/** Points per wire batch: 128 KiB of points, large enough to amortise RPC cost, small enough to stream. */
export const PSI_BATCH_POINTS = 4_096;
export const PSI_MAX_PARTIES = 16;

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
