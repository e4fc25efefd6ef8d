/**
 * Vertical federated logistic regression: FATE 2.0's Coordinated-LR (hetero LR with an arbiter), with BFV
 * homomorphic encryption (`primitives/he/bfv.ts`) in place of Paillier and 8 192 rows per ciphertext.
 *
 * Parties: the label holder A (the initiator; holds the label y and columns X_A, owns the decision), feature holders
 * P_1..P_k (columns X_P about the same customers), and the coordinator C, which holds the BFV secret key and relays
 * every message (members never connect to each other). The rows are aligned beforehand by a PSI job in which every
 * participant is a learner: row r of each party's alignment is the same customer.
 *
 * Parameters (HomomorphicEncryption.org standard, 128-bit classical security): BFV, N = 8192, a 218-bit coefficient
 * modulus (SEAL's BFVDefault(8192, tc128)), plain modulus t a batching prime (`primitives/he/bfv.ts` names it).
 * FATE's default, 1024-bit Paillier, gives about 80 bits.
 *
 * Fixed point (`fixed-point.ts`): features at scale 2^FEATURE_BITS, logits and residuals at 2^LOGIT_BITS, so a
 * gradient sum is an integer at 2^(FEATURE_BITS + LOGIT_BITS) that stays inside (-t/2, t/2) for any batch.
 *
 *  1. Open and accept (the job framework, primitives/training/job-protocol.ts). Each party checks the alignment is
 *     a finished intersection between exactly the job's members with itself a learner, and its columns (the label
 *     holder also its label: binary, both classes among the validation rows). It accepts with its aligned row count,
 *     its gradient column count and a fresh X25519 box key, signed with its member certificate over (job, member,
 *     spec digest, key). C refuses to start unless every row count is equal, every training batch has at least
 *     MIN_ROWS_PER_COLUMN rows per column of the widest party (fewer, and a party could solve its exact gradient
 *     sums for the batch's residuals, i.e. the labels), and the validation rows fit MAX_EVAL_CHUNKS ciphertexts. C
 *     then holds each party to its column count.
 *  2. Start: C makes a BFV key pair for the job and sends every party the public key and every party's signed box
 *     key; each party checks the signatures against the consortium CA. Boxes between two parties are AES-256-GCM
 *     under a key from their X25519 agreement (`channel.ts`): C relays them and cannot open them, which matters
 *     because C could decrypt any HE ciphertext it saw.
 *  3. Each epoch, every party splits the aligned training rows into the same batches (a shuffle seeded by the spec's
 *     initSeed and the epoch). For each batch:
 *       partials:  C -> P: PARTIALS. P -> A (boxed): [[z_P]], its partial logits u·X_P·w_P for the batch.
 *       residuals: C -> A: the boxes. A forms [[4d]] = Σ_P [[z_P]] + 4(σ(z_A) − y): four times the residual of the
 *                  logistic loss expanded to second order around A's own logit z_A with the curvature bounded by
 *                  1/4 (models/vertical/coordinated-lr.ts), so additions only; it sends [[4d]] boxed to each P and
 *                  returns its masked gradient ciphertexts (below) for its columns and the intercept.
 *       gradients: C -> P: A's box. P returns, per column j, [[Σ_i x_ij·4d_i + m_ij]]: a plaintext-ciphertext
 *                  product summed over the batch, plus a fresh encryption of a mask m_j uniform modulo t in every
 *                  slot, noise-flooded (`primitives/he`).
 *       update:    C decrypts each masked gradient and sends its owner the slot sum modulo t; the owner subtracts
 *                  Σ m_j, divides by the scales and the batch size, and takes a gradient step with its own l2.
 *  4. Evaluation after every epoch, on the validation rows: C -> P: PARTIALS (eval); P -> A (boxed): [[z_P]]; C -> A:
 *     SCORE with the boxes; A returns [[Σ_P z_P + m]] per ciphertext with a fresh uniform mask; C decrypts and sends
 *     A the masked slots (SCORES); A removes the mask, adds z_A and computes AUC, KS, log-loss and the confusion
 *     table. A sends each P, boxed, the metrics it publishes (or none): REPORT; C relays the boxes (PROGRESS) and
 *     cannot read them (a coordinator that saw metrics could forge SCORES to shift chosen rows and read their labels
 *     off the confusion table).
 *  5. End: after the last epoch's evaluation C ends the job done; each party registers its own part (its
 *     preprocessing and weights; A's part also combines partial logits into the score) with its ONNX export, once
 *     it has taken every step of every epoch. Any failure before the end fails the job for everyone, and nobody
 *     registers anything.
 *
 * What each party learns (semi-honest, C not colluding):
 *  - A: the aligned row count; its own gradients and model part; Σ_P z_P for the validation rows of every epoch
 *    (the joint score minus its own part: the same thing scoring with the final model gives the deciding bank), and
 *    from it the metrics. Not a feature holder's features, weights, gradients, or partial logits of a training row.
 *  - P: the aligned row count, its own gradients and model part, the metrics A publishes. Not the labels, A's
 *    features or weights, residuals or any score. Its gradient is a function of the residuals (as in every
 *    Coordinated-LR): over many steps it says something about how its columns relate to the label; that is the
 *    model it is asked to train.
 *  - C: the public parameters, the row count (from ciphertext counts), and for each column of each party a sum that
 *    is uniformly random modulo t (the mask) and decryptions that are uniformly random per slot. Because each returned
 *    ciphertext is re-randomised and its noise flooded, the decryption noise tells C nothing about the features.
 *    Not any feature, label, logit, residual, gradient, weight or score.
 *  - Members are assumed to follow the protocol: C decrypts what a party hands it as masked gradients or scores, so
 *    a malicious party could have it decrypt a ciphertext it was not meant to see (SECURITY.md); C bounds this by
 *    holding each party to its declared columns and batches to MIN_ROWS_PER_COLUMN rows per column.
 *  - If C colludes with A, they decrypt [[z_P]]: every feature holder's partial logits on every training row (and,
 *    over the epochs, a linear image of its features). If C colludes with P, they decrypt [[4d]]: the residuals,
 *    from which the labels follow. Members colluding without C learn nothing more than each learns alone. SECURITY.md.
 */
import { z } from 'zod';
import type { AccordError } from '../errors/index.js';

/** The stages of one batch or evaluation, named the same on both sides. */
/** Training rows a batch needs per gradient column of the widest party (see step 1 of the flow). */
export const MIN_ROWS_PER_COLUMN = 8;
/** Most ciphertexts (8 192 rows each) the validation rows may fill: bounds the label holder's memory and messages. */
export const MAX_EVAL_CHUNKS = 32;

export const VERTICAL_STAGE = {
  /** C -> all: the HE public key and every party's signed box key. */
  START: 'start',
  /** C -> feature holder: its encrypted partial logits for a batch (train) or the validation rows (eval). */
  PARTIALS: 'partials',
  /** C -> label holder: the partial-logit boxes; it answers with residual boxes and its masked gradients. */
  RESIDUALS: 'residuals',
  /** C -> feature holder: the residual box; it answers with its masked gradients. */
  GRADIENTS: 'gradients',
  /** C -> party: the decrypted masked gradient sums of its columns. */
  UPDATE: 'update',
  /** C -> label holder: validation partial-logit boxes; it answers with masked joint-partial ciphertexts. */
  SCORE: 'score',
  /** C -> label holder: the decrypted masked slots of its SCORE answer. */
  SCORES: 'scores',
  /** Label holder -> C: a box per feature holder with the epoch's published metrics; C relays each as PROGRESS. */
  REPORT: 'report',
  PROGRESS: 'progress',
  /** Boosted trees (secureboost.ts): C -> party, the boxes of a round; party -> C, one box of its round message. */
  ROUND: 'round',
  /** Boosted trees: the label holder -> C, training is over. */
  FINISH: 'finish',
} as const;
export type VerticalStage = (typeof VERTICAL_STAGE)[keyof typeof VERTICAL_STAGE];

export type VerticalPhase = 'train' | 'eval';

/** Which batch a message belongs to: epoch (1-based), batch (0-based; eval: 0), phase. */
export interface BatchId {
  readonly jobId: string;
  readonly epoch: number;
  readonly batch: number;
  readonly phase: VerticalPhase;
}

/** A party's box key as it accepted the job, signed with its member certificate. */
export interface SignedBoxKey {
  readonly member: string;
  readonly boxKey: Uint8Array;
  readonly signature: Uint8Array;
  readonly certificatePem: string;
}

/** What a vertical party adds to its acceptance (or the initiator to its Open). */
export interface VerticalAcceptance {
  /** Rows of the alignment (the same at every party, or the job cannot start). */
  readonly alignedRows: number;
  /** Gradient columns this party returns per batch (its encoded width, plus the intercept at the label holder). */
  readonly columns: number;
  readonly key: SignedBoxKey;
}

/** A sealed message from one party to another, relayed by C; `part` of `parts` of one logical message. */
export interface Box {
  readonly from: string;
  readonly to: string;
  readonly part: number;
  readonly parts: number;
  readonly box: Uint8Array;
}

/** One ciphertext for C to decrypt: column `index` of the sender's gradient, or chunk `index` of its scores. */
export interface MaskedCiphertext {
  readonly index: number;
  readonly count: number;
  readonly ciphertext: Uint8Array;
}

/** Published validation metrics of one epoch (the label holder's choice). */
export interface EpochMetrics {
  readonly auc: number;
  readonly ks: number;
  readonly logLoss: number;
  readonly threshold: number;
  readonly confusion: { readonly tp: number; readonly fp: number; readonly tn: number; readonly fn: number };
  readonly positives: number;
  readonly negatives: number;
}

/** C -> member. */
export type VerticalCall =
  | {
      readonly stage: typeof VERTICAL_STAGE.START;
      readonly batch: BatchId;
      readonly heParameterId: string;
      readonly publicKey: Uint8Array;
      readonly keys: readonly SignedBoxKey[];
    }
  | { readonly stage: typeof VERTICAL_STAGE.PARTIALS; readonly batch: BatchId }
  | {
      readonly stage: typeof VERTICAL_STAGE.RESIDUALS;
      readonly batch: BatchId;
      readonly boxes: readonly Box[];
    }
  | {
      readonly stage: typeof VERTICAL_STAGE.GRADIENTS;
      readonly batch: BatchId;
      readonly boxes: readonly Box[];
    }
  | {
      readonly stage: typeof VERTICAL_STAGE.UPDATE;
      readonly batch: BatchId;
      readonly sums: readonly bigint[];
    }
  | { readonly stage: typeof VERTICAL_STAGE.SCORE; readonly batch: BatchId; readonly boxes: readonly Box[] }
  | {
      readonly stage: typeof VERTICAL_STAGE.SCORES;
      readonly batch: BatchId;
      readonly slots: readonly BigUint64Array[];
    }
  | {
      readonly stage: typeof VERTICAL_STAGE.PROGRESS;
      readonly batch: BatchId;
      readonly boxes: readonly Box[];
    }
  | { readonly stage: typeof VERTICAL_STAGE.ROUND; readonly batch: BatchId; readonly boxes: readonly Box[] };

/** Member -> C. A stage's answer may come in several messages (one ciphertext each, within the message limit). */
export type VerticalReply =
  | { readonly stage: typeof VERTICAL_STAGE.PARTIALS; readonly batch: BatchId; readonly box: Box }
  | { readonly stage: typeof VERTICAL_STAGE.RESIDUALS; readonly batch: BatchId; readonly box: Box }
  | {
      readonly stage: typeof VERTICAL_STAGE.GRADIENTS;
      readonly batch: BatchId;
      readonly masked: MaskedCiphertext;
    }
  | {
      readonly stage: typeof VERTICAL_STAGE.SCORE;
      readonly batch: BatchId;
      readonly masked: MaskedCiphertext;
    }
  | { readonly stage: typeof VERTICAL_STAGE.REPORT; readonly batch: BatchId; readonly box: Box }
  | { readonly stage: typeof VERTICAL_STAGE.ROUND; readonly batch: BatchId; readonly box: Box }
  | { readonly stage: typeof VERTICAL_STAGE.FINISH; readonly batch: BatchId };

const count = z.number().int().min(0);
/** What a REPORT box holds: canonical JSON `{"metrics": EpochMetrics | null}`, checked by this schema on opening. */
export const reportSchema = z
  .object({
    metrics: z
      .object({
        auc: z.number().min(0).max(1),
        ks: z.number().min(0).max(1),
        logLoss: z.number().min(0),
        threshold: z.number().min(0).max(1),
        confusion: z.object({ tp: count, fp: count, tn: count, fn: count }).strict(),
        positives: count,
        negatives: count,
      })
      .strict()
      .nullable(),
  })
  .strict();

/**
 * The training batch sizes of an epoch: `batchSize` rows each, a last batch of fewer than half that joined to the
 * one before it (a batch of a few rows would let a party solve its gradient sums for their residuals). The same at every party and
 * at the coordinator (models/vertical/coordinated-lr.ts `epochBatches` cuts the rows along them).
 */
export function batchSizes(trainingRows: number, batchSize: number): number[] {
  if (!Number.isInteger(batchSize) || batchSize < 1)
    throw new RangeError('batchSize must be a positive integer');
  const sizes: number[] = [];
  for (let at = 0; at < trainingRows; at += batchSize) sizes.push(Math.min(batchSize, trainingRows - at));
  if (sizes.length > 1 && 2 * sizes.at(-1)! < batchSize) sizes[sizes.length - 2]! += sizes.pop()!;
  return sizes;
}

export const sameBatch = (a: BatchId, b: BatchId): boolean =>
  a.jobId === b.jobId && a.epoch === b.epoch && a.batch === b.batch && a.phase === b.phase;

export const batchKey = (b: BatchId): string => `${b.jobId}/${b.phase}/${b.epoch}/${b.batch}`;

/** A coded failure inside a vertical stage, attributed to the member that caused it. */
export interface VerticalFailure {
  readonly error: AccordError;
  readonly by: string | null;
}

/**
 * How many aligned rows train and how many validate (node/training/local-data.ts `splitRows` picks which, by the
 * spec's seed; the counts are the same): what the coordinator needs to know how many batches and chunks to expect.
 */
export function splitSizes(rows: number, fraction: number): { trainingRows: number; validationRows: number } {
  const validationRows = Math.round(rows * fraction);
  return { trainingRows: rows - validationRows, validationRows };
}
