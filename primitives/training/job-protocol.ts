/**
 * Horizontal federated training (FedAvg, McMahan et al. 2017) with every sum taken by secure aggregation (SecAgg+,
 * Bell et al. 2020; `primitives/secagg/protocol.ts` has the masking protocol and its own "what each party learns").
 *
 * Parties: the initiator P_0 and peers P_1..P_{k-1} (banks holding the same columns about different customers), and
 * the coordinator C, which relays every message (members never connect to each other).
 *
 *  1. Open: P_0 -> C: job id, peers, the spec (columns with declared categories, label, model, rounds, optimiser,
 *     validation split, minParticipants, purpose; no data), the dataset each peer should use. C checks the members
 *     are known and online and that minParticipants <= k; C -> each peer: Invitation.
 *  2. Respond: each peer checks the spec against its policy and its dataset (every column present with a usable type,
 *     the label binary) and answers Accept {SHA-256 of the spec it saw} or Decline {code}. A decline, or an
 *     acceptance of another digest, fails the job for everyone.
 *  3. Aggregations. Each is one SecAgg+ run over the members connected at its start (at least minParticipants),
 *     driven by C through the stages setup -> share_keys -> collect_masked_vectors -> consistency_check -> unmask;
 *     C decodes the sum and sends it to every participant (AggregateResult). The tasks, and what their vectors hold (`vectors.ts`):
 *       stats (once):   per numeric column sum, sum of squares and count; per categorical column the rows that fall
 *                       to "other"; the training rows. -> the consortium's means and deviations (the preprocessing).
 *       train (round r): each member trains `localEpochs` on its training rows from the round's global model and
 *                       contributes parameters x rows / total rows, the weight rows / total rows, and its loss
 *                       weighted the same way. -> the FedAvg model of round r and its mean training loss.
 *       eval (round r): each member scores its validation rows with round r's model and contributes per-label score
 *                       histograms, its log-loss sum and row count, and how many values it clipped in round r.
 *                       -> AUC, KS, log-loss and a confusion table for the consortium's validation rows.
 *  4. End: after the last round's eval, C -> all: End {done}; each participant registers the model (the same
 *     parameters everywhere) with its lineage. Any failure, cancel, or a round with fewer than minParticipants:
 *     End {failed|cancelled, code, by}, and nobody registers anything.
 *
 * Dropping: a member whose inbox closes, or that misses a stage's deadline, is left out of the aggregation under way
 * (SecAgg+ removes its masks if it had sent its vector's keys) and of the next ones until it is connected again; it
 * rejoins at the next aggregation it is connected for, from the global model the coordinator sends with it.
 *
 * What each party learns (semi-honest, coordinator not colluding):
 *  - A member: the spec, the participants, and every aggregate: the consortium's column means and deviations, total
 *    training rows, the global model after each round, and the pooled validation metrics. Not any other member's
 *    rows, row count, update, loss or scores.
 *  - C: the same aggregates (it decodes them), which members took part in each aggregation, and masked vectors that
 *    are uniformly random on their own. Not a single member's update (see the SecAgg+ file for the argument).
 *  - If C colludes with members, they learn what the SecAgg+ threshold allows: with t - 1 colluding members nothing
 *    more; with t, the update of any member they choose (SECURITY.md).
 */
import type { AccordError } from '../errors/index.js';
import type { ShareBox, SignedRoundKeys, UnmaskRequest, UnmaskResponse } from '../secagg/protocol.js';
import type { SECAGG_STAGE } from '../secagg/stages.js';
import type { VerticalAcceptance, VerticalCall } from '../vertical/protocol.js';
import type { TrainingSpec } from './spec.js';

export type { ShareBox } from '../secagg/protocol.js';

export const AGGREGATION_TASKS = ['stats', 'train', 'eval'] as const;
export type AggregationTask = (typeof AGGREGATION_TASKS)[number];

export const TRAINING_OUTCOME = { DONE: 'done', FAILED: 'failed', CANCELLED: 'cancelled' } as const;
export type TrainingOutcome = (typeof TRAINING_OUTCOME)[keyof typeof TRAINING_OUTCOME];

/** Which aggregation a message belongs to. */
export interface AggregationId {
  readonly jobId: string;
  readonly task: AggregationTask;
  /** 1-based training round; 0 for stats. */
  readonly round: number;
}

/** A member's signed round keys as relayed, with the certificate every receiver checks them against. */
export interface SignedKeys extends SignedRoundKeys {
  readonly certificatePem: string;
}

/** C -> member: one stage of one aggregation (the SecAgg+ stages of primitives/secagg/protocol.ts). */
export type StepCall =
  | {
      readonly stage: typeof SECAGG_STAGE.SETUP;
      readonly aggregation: AggregationId;
      readonly members: readonly string[];
    }
  | {
      readonly stage: typeof SECAGG_STAGE.SHARE_KEYS;
      readonly aggregation: AggregationId;
      readonly keys: readonly SignedKeys[];
    }
  | {
      readonly stage: typeof SECAGG_STAGE.COLLECT_MASKED_VECTORS;
      readonly aggregation: AggregationId;
      readonly boxes: readonly ShareBox[];
    }
  | {
      readonly stage: typeof SECAGG_STAGE.CONSISTENCY_CHECK;
      readonly aggregation: AggregationId;
      readonly survivors: readonly string[];
    }
  | ({ readonly stage: typeof SECAGG_STAGE.UNMASK; readonly aggregation: AggregationId } & UnmaskRequest);

/** Member -> C: the answer to one stage. */
export type StepReply =
  | {
      readonly stage: typeof SECAGG_STAGE.SETUP;
      readonly aggregation: AggregationId;
      readonly keys: SignedKeys;
    }
  | {
      readonly stage: typeof SECAGG_STAGE.SHARE_KEYS;
      readonly aggregation: AggregationId;
      readonly boxes: readonly ShareBox[];
    }
  | {
      readonly stage: typeof SECAGG_STAGE.COLLECT_MASKED_VECTORS;
      readonly aggregation: AggregationId;
      readonly masked: Uint32Array;
    }
  | {
      readonly stage: typeof SECAGG_STAGE.CONSISTENCY_CHECK;
      readonly aggregation: AggregationId;
      readonly signature: Uint8Array;
    }
  | ({ readonly stage: typeof SECAGG_STAGE.UNMASK; readonly aggregation: AggregationId } & UnmaskResponse);

export interface TrainingInvitation {
  readonly jobId: string;
  readonly initiator: string;
  readonly participants: readonly string[];
  readonly spec: TrainingSpec;
  /** The dataset the initiator asks this member to use; null: one named like the initiator's (unknown to it). */
  readonly dataset: string | null;
}

export interface AggregateResult {
  readonly aggregation: AggregationId;
  readonly sum: Float64Array;
  readonly contributors: readonly string[];
}

export interface TrainingEnd {
  readonly jobId: string;
  readonly outcome: TrainingOutcome;
  readonly error: AccordError | null;
  readonly by: string | null;
  /** When done: each participant's dataset fingerprint (SHA-256 hex of its training data), by member. */
  readonly fingerprints: Readonly<Record<string, string>>;
}

/** How often the coordinator pings every training inbox; a node resubscribes after three silent intervals. */
export const TRAINING_INBOX_PING_MS = 10_000;

export type TrainingEvent =
  | { readonly kind: 'ping' }
  | { readonly kind: 'invitation'; readonly invitation: TrainingInvitation }
  | { readonly kind: 'step'; readonly step: StepCall }
  | { readonly kind: 'aggregate'; readonly aggregate: AggregateResult }
  | { readonly kind: 'end'; readonly end: TrainingEnd }
  /** A stage of a vertical job (primitives/vertical/protocol.ts). */
  | { readonly kind: 'vertical'; readonly call: VerticalCall };

export interface TrainingOpen {
  readonly jobId: string;
  readonly peers: readonly string[];
  readonly spec: TrainingSpec;
  readonly peerDatasets: Readonly<Record<string, string>>;
  /** SHA-256 (hex) of the initiator's training data. */
  readonly fingerprint: string;
  /** Vertical jobs: the initiator's aligned row count and signed box key. */
  readonly vertical?: VerticalAcceptance | undefined;
}

export type TrainingAnswer =
  | {
      readonly kind: 'accept';
      readonly jobId: string;
      readonly specDigest: string;
      readonly fingerprint: string;
      /** Vertical jobs: the peer's aligned row count and signed box key. */
      readonly vertical?: VerticalAcceptance | undefined;
    }
  | { readonly kind: 'decline'; readonly jobId: string; readonly code: string };

export interface TrainingCancel {
  readonly jobId: string;
  readonly code: string;
}

export const sameAggregation = (a: AggregationId, b: AggregationId): boolean =>
  a.jobId === b.jobId && a.task === b.task && a.round === b.round;

export const aggregationKey = (a: AggregationId): string => `${a.jobId}/${a.task}/${a.round}`;
