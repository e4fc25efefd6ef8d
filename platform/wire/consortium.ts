/**
 * Wire <-> domain conversion for `proto/accord/v1/consortium.proto`. The only file that knows these message shapes;
 * both the coordinator (server) and the node (client) go through it.
 */
import { z } from 'zod';
import type { AuditAnchor, AuditHead } from '../../primitives/audit/anchors.js';
import { MEMBER_NAME_PATTERN, MEMBER_STATUS, type MemberStatus } from '../../primitives/consortium/roles.js';
import { MAX_EXTRA_FLAG_KINDS, SIGNAL_KIND_PATTERN, SIGNAL_KINDS } from '../../primitives/signals/kinds.js';
import { decodeWith } from './decode.js';

export const CONSORTIUM_PROTO = 'consortium.proto';
export const CONSORTIUM_SERVICE = 'Consortium';

const capability = z
  .string()
  .max(64)
  .regex(/^[a-z][a-z0-9-]*\/v\d+$/);

export interface Registration {
  readonly nodeVersion: string;
  readonly capabilities: readonly string[];
}
export interface RegistrationAck {
  readonly member: string;
  readonly consortium: string;
  readonly heartbeatIntervalMs: number;
  readonly serverTimeMs: number;
  /** The consortium's signal kinds, built-ins first; empty from a coordinator that predates the field. */
  readonly signalKinds: readonly string[];
}
export interface Heartbeat {
  readonly sentAtMs: number;
  /** The node's audit-log head; null for an empty log (0 and "" on the wire). */
  readonly auditHead: AuditHead | null;
}
export interface HeartbeatAck {
  readonly serverTimeMs: number;
  /** The coordinator's audit-log head; null for an empty log or a coordinator that predates the field. */
  readonly coordinatorAuditHead: AuditHead | null;
}
/** A page of the anchors the coordinator holds about the caller's log. */
export interface AuditAnchorsQuery {
  readonly afterSeq: number;
  /** 1..AUDIT_ANCHORS_PAGE_MAX (0 on the wire means the maximum). */
  readonly limit: number;
}
export interface AnchorView extends AuditAnchor {
  /** The coordinator's own `audit:anchor` entry recording it. */
  readonly entrySeq: number;
}
export interface MemberView {
  readonly name: string;
  readonly status: MemberStatus;
  readonly lastSeenMs: number;
  readonly capabilities: readonly string[];
}

const registerRequest = z.object({
  nodeVersion: z.string().max(64),
  capabilities: z.array(capability).max(64),
});
const registerResponse = z.object({
  member: z.string().regex(MEMBER_NAME_PATTERN),
  consortium: z.string(),
  heartbeatIntervalMs: z.number().int().positive(),
  serverTimeMs: z.number().int(),
  signalKinds: z
    .array(z.string().regex(SIGNAL_KIND_PATTERN))
    .max(SIGNAL_KINDS.length + MAX_EXTRA_FLAG_KINDS)
    .refine((kinds) => new Set(kinds).size === kinds.length, 'kinds must be unique'),
});
export const AUDIT_ANCHORS_PAGE_MAX = 1000;
const HASH_HEX = /^[0-9a-f]{64}$/;

/** A head on the wire is (seq, hash) with (0, "") for none; in the domain it is an object or null. */
function headOf(seq: number, hash: string): AuditHead | null {
  return seq === 0 ? null : { seq, hash };
}
const headConsistent = (seq: number, hash: string) => (seq === 0 ? hash === '' : HASH_HEX.test(hash));
const HEAD_PROBLEM = 'an audit head is a seq above 0 with a 64-hex hash, or 0 with an empty hash';

const heartbeatRequest = z
  .object({
    sentAtMs: z.number().int().nonnegative(),
    auditHeadSeq: z.number().int().nonnegative(),
    auditHeadHash: z.string(),
  })
  .refine((h) => headConsistent(h.auditHeadSeq, h.auditHeadHash), HEAD_PROBLEM)
  .transform(
    (h): Heartbeat => ({ sentAtMs: h.sentAtMs, auditHead: headOf(h.auditHeadSeq, h.auditHeadHash) }),
  );
const heartbeatResponse = z
  .object({
    serverTimeMs: z.number().int(),
    coordinatorAuditHeadSeq: z.number().int().nonnegative(),
    coordinatorAuditHeadHash: z.string(),
  })
  .refine((r) => headConsistent(r.coordinatorAuditHeadSeq, r.coordinatorAuditHeadHash), HEAD_PROBLEM)
  .transform(
    (r): HeartbeatAck => ({
      serverTimeMs: r.serverTimeMs,
      coordinatorAuditHead: headOf(r.coordinatorAuditHeadSeq, r.coordinatorAuditHeadHash),
    }),
  );
const auditAnchorsRequest = z
  .object({
    afterSeq: z.number().int().nonnegative(),
    limit: z.number().int().min(0).max(AUDIT_ANCHORS_PAGE_MAX),
  })
  .transform((r): AuditAnchorsQuery => ({ afterSeq: r.afterSeq, limit: r.limit || AUDIT_ANCHORS_PAGE_MAX }));
const auditAnchor = z
  .object({
    seq: z.number().int().positive(),
    hash: z.string().regex(HASH_HEX),
    anchoredAtMs: z.number().int().positive(),
    entrySeq: z.number().int().positive(),
  })
  .transform(
    (a): AnchorView => ({
      seq: a.seq,
      hash: a.hash,
      at: new Date(a.anchoredAtMs).toISOString(),
      entrySeq: a.entrySeq,
    }),
  );
const auditAnchorsResponse = z.object({
  anchors: z
    .array(auditAnchor)
    .max(AUDIT_ANCHORS_PAGE_MAX)
    .refine(
      (list) => list.every((a, i) => i === 0 || a.seq > list[i - 1]!.seq),
      'anchors must be in seq order',
    ),
});
const member = z.object({
  name: z.string().regex(MEMBER_NAME_PATTERN),
  status: z.enum([MEMBER_STATUS.ONLINE, MEMBER_STATUS.OFFLINE, MEMBER_STATUS.NEVER_SEEN]),
  lastSeenMs: z.number().int().nonnegative(),
  capabilities: z.array(z.string()),
});
const listMembersResponse = z.object({ members: z.array(member) });

export const consortiumWire = {
  registerRequest: {
    toProto: (r: Registration) => ({ nodeVersion: r.nodeVersion, capabilities: [...r.capabilities] }),
    fromProto: (w: unknown): Registration => decodeWith(registerRequest, 'RegisterRequest', w),
  },
  registerResponse: {
    toProto: (r: RegistrationAck) => ({ ...r, signalKinds: [...r.signalKinds] }),
    fromProto: (w: unknown): RegistrationAck => decodeWith(registerResponse, 'RegisterResponse', w),
  },
  heartbeatRequest: {
    toProto: (h: Heartbeat) => ({
      sentAtMs: h.sentAtMs,
      auditHeadSeq: h.auditHead?.seq ?? 0,
      auditHeadHash: h.auditHead?.hash ?? '',
    }),
    fromProto: (w: unknown): Heartbeat => decodeWith(heartbeatRequest, 'HeartbeatRequest', w),
  },
  heartbeatResponse: {
    toProto: (r: HeartbeatAck) => ({
      serverTimeMs: r.serverTimeMs,
      coordinatorAuditHeadSeq: r.coordinatorAuditHead?.seq ?? 0,
      coordinatorAuditHeadHash: r.coordinatorAuditHead?.hash ?? '',
    }),
    fromProto: (w: unknown): HeartbeatAck => decodeWith(heartbeatResponse, 'HeartbeatResponse', w),
  },
  auditAnchorsRequest: {
    toProto: (q: AuditAnchorsQuery) => ({ afterSeq: q.afterSeq, limit: q.limit }),
    fromProto: (w: unknown): AuditAnchorsQuery => decodeWith(auditAnchorsRequest, 'AuditAnchorsRequest', w),
  },
  auditAnchorsResponse: {
    toProto: (anchors: readonly AnchorView[]) => ({
      anchors: anchors.map((a) => ({
        seq: a.seq,
        hash: a.hash,
        anchoredAtMs: Date.parse(a.at),
        entrySeq: a.entrySeq,
      })),
    }),
    fromProto: (w: unknown): AnchorView[] =>
      decodeWith(auditAnchorsResponse, 'AuditAnchorsResponse', w).anchors,
  },
  listMembersRequest: {
    toProto: () => ({}),
    fromProto: (_w: unknown): Record<string, never> => ({}),
  },
  listMembersResponse: {
    toProto: (members: readonly MemberView[]) => ({
      members: members.map((m) => ({ ...m, capabilities: [...m.capabilities] })),
    }),
    fromProto: (w: unknown): MemberView[] =>
      decodeWith(listMembersResponse, 'ListMembersResponse', w).members,
  },
} as const;
