/**
 * Secure aggregation: the coordinator C learns the sum of the participants' vectors and nothing else about any one
 * of them. SecAgg+ of Bell, Bonawitz, Gascón, Lepoint and Raykova, "Secure Single-Server Aggregation with
 * (Poly)Logarithmic Overhead" (CCS 2020), itself the SecAgg of Bonawitz et al. (CCS 2017) on a sparse neighbour
 * graph, in the shape Flower implements it (`secaggplus_workflow.py`, `secaggplus_mod.py`), plus SecAgg's
 * consistency check and with masks expanded by AES-256-CTR from full 256-bit seeds (Flower seeds numpy from 32 bits).
 *
 * Vectors are lanes of Z_{2^32} (`ring.ts`; reals go through `fixed-point.ts` first). Participant i (of n, sorted
 * names, x-coordinate x_i) has neighbours N(i) and holders H(i) = N(i) + {i}, threshold t, quorum q
 * (`neighbours.ts`). The participant side is `client.ts`, the coordinator's `server.ts`; both pure, no I/O.
 *
 *  1. SETUP. C -> every invited member: the RoundParams (session, round, participants, lanes, options); each member
 *     checks them against its job and computes the same RoundPlan (its digest is in every signed message below).
 *     Each participant i draws two X25519 key pairs, c_i (share encryption) and s_i (masks), and a 32-byte self-mask
 *     seed b_i, and signs with its member certificate key
 *       signedKeysMessage = label, session, round, plan digest, i, C_i, S_i, commit_i = H(label, session, round, i, b_i).
 *     i -> C: SignedRoundKeys {C_i, S_i, commit_i, signature}. U1 = those that answered.
 *  2. SHARE_KEYS. C -> each i in U1: the SignedRoundKeys of N(i) within U1 (C relays; it cannot forge them).
 *     i verifies each signature through the caller's certificate check (a swapped key fails here), refuses repeated
 *     or low-order keys, derives s_ij = HKDF(X25519(s_i, S_j), session, round, {i, j}) for every verified neighbour,
 *     Shamir-shares b_i and the secret of s_i with threshold t at the x of each of its holders, and seals the pair of
 *     shares for j with AES-256-GCM under HKDF(X25519(c_i, C_j)), bound to session, round, i and j (`share-box.ts`).
 *     i -> C: one ShareBox per verified neighbour. U2 = those that sent boxes to all their neighbours in U1.
 *  3. COLLECT_MASKED_VECTORS. C -> each i in U2: the boxes addressed to i by members of U2. i opens them (a box that
 *     does not open is ACCORD_SECAGG_SHARE_INVALID), keeps the shares, and sends
 *       y_i = x_i + PRG(b_i) + sum_{j in P(i), j < i} PRG(s_ij) - sum_{j in P(i), j > i} PRG(s_ij)   (mod 2^32)
 *     where P(i) = N(i) within U2 are the neighbours whose boxes arrived (the same relation seen from both ends, so
 *     the pairwise masks of two survivors cancel in the sum). i -> C: y_i. U3 = those whose y arrived, with the
 *     right length (else ACCORD_SECAGG_VECTOR_LENGTH). C keeps only the running sum of the y.
 *  4. CONSISTENCY_CHECK. C -> each i in U3: the survivor list L = U3. i checks it (itself in it, at least
 *     minSurvivors long, every neighbour in L one whose box it holds), signs survivorsMessage = label, session,
 *     round, plan digest, L, and i -> C: the signature. U4 = the signers; at least q are needed.
 *  5. UNMASK. C -> each i in U4: UnmaskRequest {L, dropped_i = P(i) minus L, the signatures on L}. i checks that L
 *     is the list it signed, that at least q members of L signed it, that no member is both in L and dropped, and
 *     that every partner of its is in exactly one of the two; then i -> C: UnmaskResponse {its share of b_j for
 *     each j of H(i) in L, its share of the s secret of each j in dropped_i}. C rebuilds, from t shares each,
 *     b_j of every j in L (checked against commit_j) and the s secret of every j in U2 minus L that a survivor
 *     paired with (checked against the signed S_j), and removes from the sum every PRG(b_j) and every pairwise mask
 *     between a survivor and a dropped participant:
 *       sum_{i in L} x_i = sum_{i in L} y_i - sum_{i in L} PRG(b_i) - (masks of survivor-dropped pairs).
 *     A survivor that goes silent after sending y (in U3 but not U4) still counts: its b is rebuilt from the shares
 *     others hold. A participant dropped before sending y (U2 minus U3) does not count: its s key is rebuilt to
 *     strip the masks that its neighbours added for it.
 *
 * What each party learns. C may deviate from the protocol (drop, withhold, alter or re-address any message, lie about
 * who dropped); participants follow it:
 *  - C: the signed public keys and commitments; boxes it cannot open (AES-GCM, associated data binding round and
 *    names); masked vectors, each uniform in the ring (PRG(b_i) is a one-time pad while b_i is unknown); then b_i of
 *    every i in L, the s secret of the dropped, and the sum over L, which is what the round is for.
 *  - It never gets b_i and the s secret of one participant (which would strip that vector's masks): each holder
 *    reveals one or the other per owner and never both (ACCORD_SECAGG_PROTOCOL), either needs t holders, and every
 *    honest holder answers for the same L (two lists cannot each collect q signatures from honest participants).
 *  - Nor can it isolate one vector some other way: a swapped key fails the signature check; withholding boxes
 *    leaves i at least t - 1 partners or i refuses to mask; to strip y_i it would need every partner of i outside L
 *    and still t shares of b_i from H(i) within L, but the neighbours that are not partners give at most
 *    k - (t - 1) < t shares (t is a majority of the k + 1 holders) and i gives its own only for a list in which
 *    every neighbour is a partner.
 *  - A participant: its neighbours' public keys and fewer than t shares of each of their secrets, which say nothing
 *    (Shamir); nothing about any vector.
 *  - Collusion: c participants colluding with C add c shares of each secret of their neighbours and know their own
 *    pairwise seeds; the guarantees above then need 2t > k + 1 + c and 2q > n + c (`neighbours.ts`: raise
 *    `threshold` and `minSurvivors`). As in every secure aggregation, a vector whose partners all collude is exposed
 *    to them (SecAgg+ spreads partners over a random ring so that, for a bounded fraction of colluders, this has
 *    negligible probability; with n <= 20 everyone is a partner).
 *  - Not covered: integrity (C could return a wrong sum; a participant can send any vector of the ring, so clipping
 *    bounds an honest update only), and differential privacy of the sum itself (add noise before encoding).
 */
import { encodeFields, hashFields } from './encoding.js';
import type { RoundPlan } from './neighbours.js';
import { SECAGG_LABEL } from './stages.js';

/** What identifies a round in signed messages. */
export type PlanId = Pick<RoundPlan, 'session' | 'round' | 'digest'>;

/** Stage 1, participant -> C (unsigned part). */
export interface RoundKeys {
  readonly session: string;
  readonly round: number;
  readonly member: string;
  /** Raw X25519 public key C (share boxes). */
  readonly encryptionKey: Uint8Array;
  /** Raw X25519 public key S (pairwise masks). */
  readonly maskKey: Uint8Array;
  /** H(label, session, round, member, b): lets C check the b it rebuilds. */
  readonly selfMaskCommitment: Uint8Array;
}

/** Stage 1, participant -> C; stage 2, C -> its neighbours. */
export interface SignedRoundKeys extends RoundKeys {
  /** The member's certificate-key signature over `signedKeysMessage`. */
  readonly signature: Uint8Array;
}

/** Stage 2, participant `from` -> C; stage 3, C -> participant `to`. */
export interface ShareBox {
  readonly from: string;
  readonly to: string;
  /** Sealed shares (`share-box.ts`): opaque to C. */
  readonly box: Uint8Array;
}

export interface MemberSignature {
  readonly member: string;
  readonly signature: Uint8Array;
}

/** Stage 5, C -> each signer of the survivor list. */
export interface UnmaskRequest {
  /** L: every participant whose masked vector is in the sum, sorted. */
  readonly survivors: readonly string[];
  /** The receiver's partners that are not in L, sorted. */
  readonly dropped: readonly string[];
  /** Signatures on L by its members (at least q). */
  readonly signatures: readonly MemberSignature[];
}

export interface OwnedShare {
  /** Whose secret this is a share of. */
  readonly owner: string;
  readonly share: Uint8Array;
}

/** Stage 5, participant -> C. */
export interface UnmaskResponse {
  /** Shares of b_owner, for owners in L. */
  readonly selfMaskShares: readonly OwnedShare[];
  /** Shares of the s secret key of owners in `dropped`. */
  readonly maskKeyShares: readonly OwnedShare[];
}

/**
 * The caller's check of a member's certificate-key signature (e.g. against the consortium PKI and revocation list).
 * Must return false (or throw) unless `signature` is `member`'s over exactly `message`.
 */
export type VerifySignature = (member: string, message: Uint8Array, signature: Uint8Array) => boolean;

/** The bytes a participant signs in stage 1. */
export function signedKeysMessage(plan: PlanId, keys: Omit<RoundKeys, 'session' | 'round'>): Uint8Array {
  return encodeFields(SECAGG_LABEL.SIGNED_KEYS, [
    plan.session,
    plan.round,
    plan.digest,
    keys.member,
    keys.encryptionKey,
    keys.maskKey,
    keys.selfMaskCommitment,
  ]);
}

/** The bytes each survivor signs in stage 4: the sorted survivor list of the round. */
export function survivorsMessage(plan: PlanId, survivors: readonly string[]): Uint8Array {
  return encodeFields(SECAGG_LABEL.SURVIVORS, [
    plan.session,
    plan.round,
    plan.digest,
    survivors.length,
    ...survivors,
  ]);
}

/** commit_i = H(label, session, round, member, b). */
export function selfMaskCommitment(plan: PlanId, member: string, selfMaskSeed: Uint8Array): Uint8Array {
  return hashFields(SECAGG_LABEL.SELF_MASK_COMMITMENT, [plan.session, plan.round, member, selfMaskSeed]);
}
