/**
 * Joint scoring of a vertical model: the label holder (the deciding bank) asks each feature holder (a partner) for
 * its part's partial logit of aligned customers, through the coordinator, which relays sealed boxes and counts them.
 * A boosted-tree model (primitives/vertical/secureboost.ts) travels the same way with `width` values a customer in
 * place of one: the partner's split decisions, 0 or 1 for each of its split ids (models/onnx/tree-export.ts
 * `split_bits`), in one request however deep the trees; the label holder feeds them as `split_bits__<P>`. What L
 * learns then is every split decision of P for each customer asked about (not only those on the customer's path):
 * over many customers, an ordinal binning of each of P's features the trees split on, never a threshold or a value.
 * A tree model keeps no fallback partials: its real-time score needs every partner live.
 *
 * Parties: L, the label holder of a vertical model (its part takes its own columns plus one partial logit per
 * partner, models/onnx/vertical-export.ts); P, each partner (its part gives a partial logit from its own columns);
 * C, the coordinator. The model job id (the training job that made every part, `lineage.job`) names the model at
 * every party; an alignment (a finished PSI intersection between exactly the model's parties, revealed to all) gives
 * the aligned order: position i is the same customer at every party.
 *
 * Flow (one `Ask` is one request of L to one P; C relays it to P's Scoring inbox and P's `Answer` back to L):
 *   1. hello (once per model job and partner, then cached by both): L draws an X25519 box key, signs (model job,
 *      L, P, key) with its member certificate (`scoringKeyMessage`) and asks P. P checks the signature against the
 *      consortium CA, that L is the label holder of the part it holds for that model job, draws its own key, signs
 *      it the same way, and answers with it. Both derive the channel (box.ts: one AES-256-GCM key per direction,
 *      a counter nonce per box, so no agreement per request); its id is a hash of both keys.
 *   2. partials (a batch chunk of up to SCORING_CHUNK positions, or one customer in real time): L seals the aligned
 *      positions it wants for P, bound to (request id, model job, alignment, count, L, P, channel), and asks. A batch
 *      job asks in aligned order only: consecutive ranges [k·SCORING_CHUNK, (k+1)·SCORING_CHUNK) of positions,
 *      ascending, and keeps the answers by position; only then does it walk its own rows in row-key order
 *      (node/scoring/batch-run.ts), so no request carries L's row order. P opens the box and checks: L is its part's
 *      label holder; the model job names a part P holds; the alignment is a finished intersection between exactly the
 *      model's parties that P learned; every position inside it. P reads its own rows at those positions, runs its
 *      own ONNX part (`partial_logit`), and answers with the values sealed for L, bound to (request id, model job,
 *      alignment, the positions, P, L). L opens them, feeds them to its own part as `partial_logit__<P>` and stores
 *      the joint score (and, for a batch job, P's partials as the fallback of real-time scoring).
 *   A refusal travels instead of a box as a registry error: the protocol's own codes, or
 *   ACCORD_SCORING_REQUEST_REFUSED with a fixed reason, never P's dataset, columns or alignment size
 *   (node/scoring/partner.ts `wireRefusal`; the detail stays in P's log and audit). A P that lost its channel (a
 *   restart), or holds a newer one for (L, model job), answers ACCORD_SCORING_CHANNEL_UNKNOWN and L says hello again.
 *   Each side refuses a box whose counter it has seen, or that is older than its receive window (box.ts), so a
 *   replayed request is never answered twice. A hello waits up to BATCH_REQUEST_TIMEOUT_MS whatever a real-time
 *   caller's deadline; meanwhile requests join it.
 *
 * What each party learns:
 *   - L (the deciding bank): each partner's partial logit per aligned customer it asks about, i.e. a linear
 *     projection z_P = encoded(x_P) · w_P of that partner's standardised features under weights L does not know,
 *     and the joint score sigmoid(z_L + Σ z_P). Over many customers L could relate z_P to its own data (z_P is one
 *     number per customer, not P's columns), and it learns who among the aligned customers P holds (it already did
 *     from the PSI alignment). It never sees P's columns, preprocessing or weights.
 *   - P (a partner): which aligned positions L scored and when, nothing else: a batch job asks for every position in
 *     aligned order (ranges), which says nothing about L's own row order; a real-time request names one position (so
 *     P sees that customer scored at that moment). Not the joint score, not L's columns, not the label.
 *   - C (the coordinator): that L asked P, when, how many positions (count), and how large the sealed answer was;
 *     never a position, a customer, a partial logit or a score. It cannot swap keys (they are signed by member
 *     certificates it does not hold) nor open, re-address, move to another request or positions, or replay a box
 *     (bound by its associated data; replays fall to the receive window).
 * What must not happen: a partial logit, score, feature value or customer identifier in any message outside a
 * sealed box; a partner answering anyone but its part's label holder; an audit entry or error naming a customer.
 */

/** The request kinds of `Ask`, defined once for both sides. */
export const SCORING_STAGE = {
  HELLO: 'hello',
  PARTIALS: 'partials',
} as const;
export type ScoringStage = (typeof SCORING_STAGE)[keyof typeof SCORING_STAGE];
export const SCORING_STAGES = [SCORING_STAGE.HELLO, SCORING_STAGE.PARTIALS] as const;

/** Positions a batch job asks each partner for at once. */
export const SCORING_CHUNK = 4096;
/** Most positions one request may carry (the partner refuses more). */
export const SCORING_MAX_POSITIONS = 8192;
/** Rows a batch job reads, scores and writes at once (horizontal models). */
export const SCORING_BATCH_ROWS = 8192;
/** Real-time deadline for the partners' live partials: default and most a caller may ask for (ms). */
export const REALTIME_DEADLINE_MS = { default: 50, max: 2000 } as const;
/** Most a batch job's request to a partner may take (ms), the partner's own work included. */
export const BATCH_REQUEST_TIMEOUT_MS = 60_000;
/** Every Scoring inbox hears from the coordinator at least this often (ms). */
export const SCORING_INBOX_PING_MS = 10_000;

/** A party's X25519 box key for one model job, signed by its member certificate. */
export interface SignedScoringKey {
  readonly member: string;
  readonly boxKey: Uint8Array;
  readonly signature: Uint8Array;
  readonly certificatePem: string;
}

/** L -> P (relayed): one request. `from` is set by the coordinator from L's certificate. */
export type ScoringRequest =
  | {
      readonly stage: typeof SCORING_STAGE.HELLO;
      readonly requestId: string;
      readonly from: string;
      readonly to: string;
      readonly modelJob: string;
      readonly key: SignedScoringKey;
    }
  | {
      readonly stage: typeof SCORING_STAGE.PARTIALS;
      readonly requestId: string;
      readonly from: string;
      readonly to: string;
      readonly modelJob: string;
      readonly alignment: string;
      /** How many positions are asked for (the box holds them). */
      readonly count: number;
      /** The channel the box is sealed under (box.ts `channelId`). */
      readonly channel: Uint8Array;
      readonly box: Uint8Array;
    };

/** P -> L (relayed): the answer to one request: a key (hello), a box (partials), or a registry error. */
export type ScoringReply =
  | {
      readonly kind: 'key';
      readonly requestId: string;
      readonly from: string;
      readonly to: string;
      readonly key: SignedScoringKey;
    }
  | {
      readonly kind: 'box';
      readonly requestId: string;
      readonly from: string;
      readonly to: string;
      readonly box: Uint8Array;
    }
  | {
      readonly kind: 'error';
      readonly requestId: string;
      readonly from: string;
      readonly to: string;
      readonly code: string;
      readonly params: Readonly<Record<string, string | number>>;
    };

/** What the coordinator pushes on a node's Scoring inbox. */
export type ScoringEvent =
  | { readonly kind: 'request'; readonly request: ScoringRequest }
  | { readonly kind: 'ping' };
