/** Secure aggregation (SecAgg+) primitives: the protocol is described in `protocol.ts`. */
export { SecAggClient } from './client.js';
export {
  chooseFixedPoint,
  chooseWideLimbs,
  decodeFixedPointSum,
  decodeWideSum,
  encodeFixedPoint,
  encodeWide,
  type FixedPointEncoding,
  type FixedPointParams,
  fixedPointErrorBound,
  WIDE_MAX_PARTICIPANTS,
  type WideParams,
} from './fixed-point.js';
export { pairwiseSeed, X25519KeyPair } from './key-agreement.js';
export {
  COMPLETE_GRAPH_MAX,
  compareMembers,
  defaultNeighbourCount,
  holderShortfall,
  planRound,
  type RoundParams,
  type RoundPlan,
} from './neighbours.js';
export { addMask, expandMask } from './prg.js';
export {
  type MemberSignature,
  type OwnedShare,
  type PlanId,
  type RoundKeys,
  type ShareBox,
  type SignedRoundKeys,
  selfMaskCommitment,
  signedKeysMessage,
  survivorsMessage,
  type UnmaskRequest,
  type UnmaskResponse,
  type VerifySignature,
} from './protocol.js';
export { addInPlace, subInPlace } from './ring.js';
export { type SecAggResult, SecAggServer } from './server.js';
export { combine, split } from './shamir.js';
export { BoxChannel, openShares, sealShares } from './share-box.js';
export { SECAGG_KEY, SECAGG_LABEL, SECAGG_STAGE, SECAGG_STAGES, type SecAggStage } from './stages.js';
