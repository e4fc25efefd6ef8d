/**
 * Stage names, message field names and domain-separation labels of secure aggregation (the protocol is in
 * `protocol.ts`), defined once and imported by the node's participant and the coordinator (Flower's
 * `secaggplus_constants.py`). No handler should spell one of these strings itself.
 */

/** The five stages of a round, in the order they run. */
export const SECAGG_STAGE = {
  SETUP: 'setup',
  SHARE_KEYS: 'share_keys',
  COLLECT_MASKED_VECTORS: 'collect_masked_vectors',
  CONSISTENCY_CHECK: 'consistency_check',
  UNMASK: 'unmask',
} as const;
export type SecAggStage = (typeof SECAGG_STAGE)[keyof typeof SECAGG_STAGE];

export const SECAGG_STAGES: readonly SecAggStage[] = [
  SECAGG_STAGE.SETUP,
  SECAGG_STAGE.SHARE_KEYS,
  SECAGG_STAGE.COLLECT_MASKED_VECTORS,
  SECAGG_STAGE.CONSISTENCY_CHECK,
  SECAGG_STAGE.UNMASK,
];

/** Field names of the messages in `protocol.ts` (the domain types use exactly these property names). */
export const SECAGG_KEY = {
  STAGE: 'stage',
  SESSION: 'session',
  ROUND: 'round',
  MEMBER: 'member',
  /** Public key c: share boxes are encrypted under the agreement of c keys. */
  ENCRYPTION_KEY: 'encryptionKey',
  /** Public key s: pairwise masks are expanded from the agreement of s keys. */
  MASK_KEY: 'maskKey',
  SELF_MASK_COMMITMENT: 'selfMaskCommitment',
  SIGNATURE: 'signature',
  FROM: 'from',
  TO: 'to',
  BOX: 'box',
  MASKED_VECTOR: 'maskedVector',
  SURVIVORS: 'survivors',
  DROPPED: 'dropped',
  SIGNATURES: 'signatures',
  SELF_MASK_SHARES: 'selfMaskShares',
  MASK_KEY_SHARES: 'maskKeyShares',
  OWNER: 'owner',
  SHARE: 'share',
} as const;

/**
 * Domain-separation labels: every hash, key derivation, mask expansion and signed message of secure aggregation
 * starts from one of these, so no value of one purpose can be replayed as another. Changing one is a protocol change.
 */
export const SECAGG_LABEL = {
  /** PRG label of the self mask PRG(b_i). */
  SELF_MASK: 'accord/secagg/v1/self-mask',
  /** PRG label of the pairwise masks PRG(s_ij). */
  PAIR_MASK: 'accord/secagg/v1/pair-mask',
  /** HKDF info of the pairwise mask seed s_ij. */
  PAIR_SEED: 'accord/secagg/v1/pair-seed',
  /** HKDF info of the share-box key. */
  BOX_KEY: 'accord/secagg/v1/box-key',
  /** Associated data of a share box. */
  BOX_AAD: 'accord/secagg/v1/box',
  /** Commitment H(b_i) to the self-mask seed. */
  SELF_MASK_COMMITMENT: 'accord/secagg/v1/self-mask-commitment',
  /** The round keys a participant signs (stage 1). */
  SIGNED_KEYS: 'accord/secagg/v1/round-keys',
  /** The survivor list every survivor signs (stage 4). */
  SURVIVORS: 'accord/secagg/v1/survivors',
  /** The digest of a round plan, bound into every signed message. */
  PLAN: 'accord/secagg/v1/plan',
  /** Seed of the ring order of the neighbour graph. */
  GRAPH: 'accord/secagg/v1/graph',
} as const;
