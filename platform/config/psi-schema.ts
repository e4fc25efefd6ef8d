/**
 * The `psi` sections of the coordinator and node configs (private set intersection), kept apart from `schemas.ts` so
 * that the capability owns its settings. Units in the comments. What each limit stops: SECURITY.md, "Attacks tried".
 */
import { z } from 'zod';
import { MEMBER_NAME_PATTERN } from '../../primitives/consortium/roles.js';
import {
  PSI_DEFAULT_MAX_SIZE_RATIO,
  PSI_DEFAULT_WEEKLY_ROWS_RATIO,
  PSI_MODES,
} from '../../primitives/psi/session-protocol.js';

const memberName = z.string().regex(MEMBER_NAME_PATTERN, 'must be lowercase letters, digits and dashes');
/** Largest set size over smallest; 1 means equal sizes only. */
const sizeRatio = z.number().min(1).max(1_000_000);

export const coordinatorPsiSchema = z
  .strictObject({
    /** How long a PSI session waits for every peer to accept (ms). */
    inviteTimeoutMs: z.number().int().min(1_000).default(3_600_000),
    /** A running session that moves no point for this long fails with ACCORD_PSI_TIMEOUT (ms). */
    idleTimeoutMs: z.number().int().min(1_000).default(120_000),
    /** A running session that has not finished after this long fails with ACCORD_PSI_TIMEOUT (ms). */
    runTimeoutMs: z
      .number()
      .int()
      .min(1_000)
      .default(6 * 3_600_000),
    /** Largest set one party may announce (rows); larger announcements are refused before anything is allocated. */
    maxSetSize: z.number().int().min(1).max(1_000_000_000).default(20_000_000),
    /**
     * Points the coordinator holds for all running sessions together (16 bytes each at the end of a session); a
     * session that would exceed it is refused with ACCORD_PSI_CAPACITY_EXCEEDED until others finish.
     */
    maxPointsInMemory: z.number().int().min(1).default(100_000_000),
    /** Consortium-wide cap on largest / smallest set size in a session; a party may ask for less, never more. */
    maxSizeRatio: sizeRatio.default(PSI_DEFAULT_MAX_SIZE_RATIO),
    /** Per member: sessions it takes part in at once (any role), and sessions it may open in 24 hours. */
    perMember: z
      .strictObject({
        concurrent: z.number().int().min(1).max(1_000).default(4),
        perDay: z.number().int().min(1).max(100_000).default(50),
      })
      .prefault({}),
  })
  .prefault({});

/** In a partner's `datasets`: any local dataset. */
export const ANY_DATASET = '*';

/** What one partner may do with this bank in PSI, as initiator or as peer. */
const partnerPolicySchema = z.strictObject({
  /** Local datasets the partner may intersect against; ["*"] for any. */
  datasets: z.array(z.string().min(1).max(64)).min(1),
  /** Modes allowed with this partner. */
  modes: z
    .array(z.enum(PSI_MODES))
    .min(1)
    .default([...PSI_MODES]),
  /** Largest set size over smallest this bank accepts with this partner. */
  maxSizeRatio: sizeRatio.default(PSI_DEFAULT_MAX_SIZE_RATIO),
  /**
   * Rows this partner may bring against one of this bank's datasets over any 7 days, all sessions together, as a
   * multiple of that dataset's size: the size ratio bounds one session, this bounds a partner that would cover a
   * whole number space with many (each session in intersection mode tells it which of its candidates are ours).
   */
  weeklyRowsRatio: sizeRatio.default(PSI_DEFAULT_WEEKLY_ROWS_RATIO),
});
export type PartnerPolicy = z.infer<typeof partnerPolicySchema>;

export const nodePsiSchema = z
  .strictObject({
    /**
     * Per partner (member name): which datasets it may intersect against, in which modes, with which size ratio.
     * A member not listed can neither invite this bank nor be invited by it (ACCORD_PSI_POLICY_REFUSED).
     */
    partners: z.record(memberName, partnerPolicySchema).default({}),
    /** Partners whose invitations (within their policy) are accepted without an admin. */
    autoAcceptFrom: z.array(memberName).default([]),
    /** Worker threads for hashing and blinding; 0 = one per core. */
    workers: z.number().int().min(0).max(64).default(0),
  })
  .superRefine(autoAcceptListed('psi.partners', 'what it may intersect against'))
  .prefault({});

/**
 * The refinement of a capability's node section: every member it auto-accepts must be one of its listed partners
 * (auto-acceptance applies a partner's policy, so there must be one).
 */
export function autoAcceptListed(section: string, what: string) {
  return (
    config: { autoAcceptFrom: readonly string[]; partners: Readonly<Record<string, unknown>> },
    ctx: z.RefinementCtx,
  ): void => {
    config.autoAcceptFrom.forEach((member, i) => {
      if (!config.partners[member])
        ctx.addIssue({
          code: 'custom',
          path: ['autoAcceptFrom', i],
          message: `${member} is not in ${section}: list ${what} first`,
        });
    });
  };
}
