/**
 * gRPC message size limits, defined once, fitted to the largest message the protocol can carry in each direction
 * instead of a blanket 64 MiB: a member (or whoever holds its key) can make the coordinator buffer at most one
 * largest real request per message, and a coordinator can make a node buffer at most one largest real answer.
 *
 * Every size below is an upper bound on the protobuf encoding, computed from the protocol's own maxima:
 *  - node -> coordinator (the coordinator's receive limit, the node's send limit): the largest request a node sends,
 *    a Publish of MAX_PUBLISH_BATCH signals with 32-character kinds; then Retract (MAX_PUBLISH_BATCH ids), QueryBatch
 *    (MAX_RPC_BATCH elements) and a PSI Send (PSI_BATCH_POINTS points);
 *  - coordinator -> node (the node's receive limit, the coordinator's send limit): the largest answer the coordinator
 *    sends, a QueryBatch answer of MAX_RPC_BATCH hits each carrying every flag kind (SIGNAL_KINDS + MAX_EXTRA_FLAG_KINDS,
 *    32-character names); then Publish's signal ids, PSI ring batches and results (PSI_BATCH_POINTS points,
 *    PSI_RESULT_BATCH positions) and a page of AUDIT_ANCHORS_PAGE_MAX audit anchors.
 *  - vertical training, both ways: a step carries one ciphertext or box (MAX_CIPHERTEXT_BYTES), an evaluation's
 *    decrypted slots at most MAX_EVAL_CHUNKS chunks.
 * The consortium messages (register, heartbeat, member list) are far smaller. The margin on top is a quarter
 * (`LIMIT_MARGIN`), rounded up to a whole KiB, for fields a later minor version may add.
 *
 * `test/unit/platform/grpc-limits.test.ts` encodes the largest real message of every RPC with the real proto files and
 * checks that each fits its direction's limit and that no limit is more than twice the largest message.
 */
import { PSI_BATCH_POINTS, PSI_RESULT_BATCH } from '../../primitives/psi/session-protocol.js';
import { MAX_EVAL_CHUNKS } from '../../primitives/vertical/protocol.js';
import { MAX_CIPHERTEXT_BYTES } from '../wire/vertical.js';
import { MAX_EXTRA_FLAG_KINDS, SIGNAL_KINDS } from '../../primitives/signals/kinds.js';
import { MAX_PUBLISH_BATCH, MAX_RPC_BATCH, SIGNAL_TOKEN_BYTES } from '../../primitives/signals/protocol.js';
import { AUDIT_ANCHORS_PAGE_MAX } from '../wire/consortium.js';

/** Longest signal kind name (`SIGNAL_KIND_PATTERN`). */
export const SIGNAL_KIND_MAX_CHARS = 32;
/** Length of a signal id, "sig_" + 32 hex (`SIGNAL_ID_PATTERN`). */
const SIGNAL_ID_CHARS = 36;
/** Longest member name (`MEMBER_NAME_PATTERN`). */
const MEMBER_CHARS = 63;
/** A PSI session id: a UUID. */
const SESSION_ID_CHARS = 36;
/** An audit hash in hex. */
const HASH_HEX_CHARS = 64;
const POINT_BYTES = 32;
const POSITION_BYTES = 4;
/** Flag kinds an answer can list: every kind but `application`, built-in and extra. */
const FLAG_KINDS = SIGNAL_KINDS.length - 1 + MAX_EXTRA_FLAG_KINDS;

/** What is added on top of the largest message: a quarter. */
export const LIMIT_MARGIN = 1.25;

/** Bytes of a varint holding `n` (n >= 0). */
function varintBytes(n: number): number {
  let bytes = 1;
  for (let rest = n; rest >= 128; rest = Math.floor(rest / 128)) bytes++;
  return bytes;
}
/** A length-delimited field (string, bytes, sub-message) of `n` bytes; every field number used is below 16. */
const delimited = (n: number): number => 1 + varintBytes(n) + n;
/** Varint fields at their widest (tag + value). */
const UINT32 = 1 + 5;
const INT64 = 1 + 10;
const BOOL = 1 + 1;

// Node -> coordinator.
const SIGNAL_ENTRY = delimited(SIGNAL_TOKEN_BYTES) + delimited(SIGNAL_KIND_MAX_CHARS) + INT64;
/** The signals, then the flags `insecure_plaintext` and `historical`. */
const PUBLISH_REQUEST = MAX_PUBLISH_BATCH * delimited(SIGNAL_ENTRY) + 2 * BOOL;
const RETRACT_REQUEST = MAX_PUBLISH_BATCH * delimited(SIGNAL_ID_CHARS);
const QUERY_BATCH_REQUEST = UINT32 + delimited(MAX_RPC_BATCH * SIGNAL_TOKEN_BYTES) + BOOL;
const PSI_SEND_REQUEST =
  delimited(SESSION_ID_CHARS) +
  delimited(MEMBER_CHARS) +
  3 * UINT32 +
  delimited(PSI_BATCH_POINTS * POINT_BYTES) +
  BOOL;

/** A vertical training step: one box (a ciphertext, nonce and tag) or one ciphertext, with its batch and stage. */
const VERTICAL_STEP_REQUEST =
  delimited(delimited(SESSION_ID_CHARS) + 2 * UINT32 + delimited(5)) +
  delimited(16) +
  delimited(2 * delimited(MEMBER_CHARS) + 2 * UINT32 + delimited(MAX_CIPHERTEXT_BYTES + 28));

// Coordinator -> node.
const FLAG = delimited(SIGNAL_KIND_MAX_CHARS) + UINT32 + INT64;
const AGGREGATES = delimited(3 * UINT32) + FLAG_KINDS * delimited(FLAG);
const QUERY_BATCH_RESPONSE = MAX_RPC_BATCH * delimited(UINT32 + delimited(AGGREGATES));
const PUBLISH_RESPONSE = MAX_PUBLISH_BATCH * delimited(SIGNAL_ID_CHARS);
const PSI_POINT_BATCH_EVENT = delimited(
  delimited(SESSION_ID_CHARS) +
    delimited(MEMBER_CHARS) +
    3 * UINT32 +
    delimited(PSI_BATCH_POINTS * POINT_BYTES) +
    BOOL +
    INT64,
);
const PSI_RESULT_EVENT = delimited(
  delimited(SESSION_ID_CHARS) + INT64 + UINT32 + delimited(PSI_RESULT_BATCH * POSITION_BYTES) + BOOL,
);
const AUDIT_ANCHORS_RESPONSE = AUDIT_ANCHORS_PAGE_MAX * delimited(3 * INT64 + delimited(HASH_HEX_CHARS));
/** A vertical evaluation's decrypted masked slots: MAX_EVAL_CHUNKS chunks of 8 192 uint64 (the largest VerticalCall). */
const VERTICAL_SCORES_EVENT = delimited(
  delimited(SESSION_ID_CHARS) + 64 + MAX_EVAL_CHUNKS * delimited(8192 * 8),
);

/** Upper bound on the largest request a node sends the coordinator (bytes). */
export const LARGEST_NODE_REQUEST = Math.max(
  PUBLISH_REQUEST,
  RETRACT_REQUEST,
  QUERY_BATCH_REQUEST,
  PSI_SEND_REQUEST,
  VERTICAL_STEP_REQUEST,
);
/** Upper bound on the largest message the coordinator sends a node (bytes). */
export const LARGEST_COORDINATOR_MESSAGE = Math.max(
  QUERY_BATCH_RESPONSE,
  PUBLISH_RESPONSE,
  PSI_POINT_BATCH_EVENT,
  PSI_RESULT_EVENT,
  AUDIT_ANCHORS_RESPONSE,
  VERTICAL_SCORES_EVENT,
);

const withMargin = (bytes: number): number => Math.ceil((bytes * LIMIT_MARGIN) / 1024) * 1024;

/** The most the coordinator accepts in one message (= the most a node sends): 989 KiB. */
export const COORDINATOR_RECEIVE_LIMIT = withMargin(LARGEST_NODE_REQUEST);
/** The most a node accepts in one message (= the most the coordinator sends): about 42.7 MiB. */
export const NODE_RECEIVE_LIMIT = withMargin(LARGEST_COORDINATOR_MESSAGE);

/** Channel options of the coordinator's gRPC server. */
export const COORDINATOR_SERVER_LIMITS = {
  'grpc.max_receive_message_length': COORDINATOR_RECEIVE_LIMIT,
  'grpc.max_send_message_length': NODE_RECEIVE_LIMIT,
} as const;

/** Channel options of every client a node (or the CLI, on its behalf) opens to the coordinator. */
export const NODE_CLIENT_LIMITS = {
  'grpc.max_receive_message_length': NODE_RECEIVE_LIMIT,
  'grpc.max_send_message_length': COORDINATOR_RECEIVE_LIMIT,
} as const;
