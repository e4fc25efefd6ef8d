/**
 * The `training` sections of the coordinator and node configs (federated training), kept apart from `schemas.ts` so
 * that the capability owns its settings. Units in the comments.
 */
import { z } from 'zod';
import { MEMBER_NAME_PATTERN } from '../../primitives/consortium/roles.js';
import { TRAINING_PURPOSES } from '../../primitives/training/spec.js';
import { autoAcceptListed } from './psi-schema.js';

const memberName = z.string().regex(MEMBER_NAME_PATTERN, 'must be lowercase letters, digits and dashes');

export const coordinatorTrainingSchema = z
  .strictObject({
    /** How long a job waits for every peer to accept (ms). */
    inviteTimeoutMs: z.number().int().min(1_000).default(3_600_000),
    /** How long the keys, shares and unmask stages wait for a member's answer before leaving it out (ms). */
    stageTimeoutMs: z.number().int().min(100).default(60_000),
    /** How long the vector stage waits: members train (or evaluate) before answering it (ms). */
    vectorTimeoutMs: z.number().int().min(100).default(1_800_000),
    /** Jobs a member takes part in at once (any role). */
    concurrentPerMember: z.number().int().min(1).max(100).default(2),
    /**
     * Encryption of vertical jobs: "bfv" (primitives/he/bfv.ts). "none" runs the same protocol on plaintext
     * stand-ins so a benchmark can measure what encryption costs; nodes refuse it unless their own config allows it.
     */
    verticalEncryption: z.enum(['bfv', 'none']).default('bfv'),
  })
  .prefault({});

/** What one partner may ask of this bank in training. */
const partnerPolicySchema = z.strictObject({
  /** Local datasets the partner may train on with this bank; ["*"] for any. */
  datasets: z.array(z.string().min(1).max(64)).min(1),
  /**
   * Columns a job with this partner may read (features and label); absent: any column but the dataset's identifier
   * column. List them where datasets hold columns that are identifiers in all but name (names, addresses).
   */
  columns: z.array(z.string().min(1).max(64)).min(1).optional(),
  /** Purposes allowed with this partner. */
  purposes: z
    .array(z.enum(TRAINING_PURPOSES))
    .min(1)
    .default([...TRAINING_PURPOSES]),
});

export const nodeTrainingSchema = z
  .strictObject({
    /**
     * Per partner (member name): which datasets it may train on and for which purposes. A member not listed can
     * neither invite this bank to a job nor be invited by it (ACCORD_TRAINING_POLICY_REFUSED).
     */
    partners: z.record(memberName, partnerPolicySchema).default({}),
    /** Partners whose invitations (within their policy) are accepted without an admin. */
    autoAcceptFrom: z.array(memberName).default([]),
    /** A running job that hears nothing from the coordinator for this long fails (ms). */
    idleTimeoutMs: z.number().int().min(1_000).default(3_600_000),
    /** Benchmarks only: take part in vertical jobs whose "encryption" is the plaintext stand-in. Never in production. */
    allowUnencryptedVertical: z.boolean().default(false),
    /**
     * Worker threads a feature holder computes a boosted-tree job's encrypted histograms on (its main cost); 0 keeps
     * them on the main thread. Default: one per core, at most 4.
     */
    histogramWorkers: z.number().int().min(0).max(64).optional(),
  })
  .superRefine(autoAcceptListed('training.partners', 'what it may train on'))
  .prefault({});
export type TrainingPartnerPolicy = z.infer<typeof partnerPolicySchema>;
