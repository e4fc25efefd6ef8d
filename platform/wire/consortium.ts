/**
 * Wire <-> domain conversion for `proto/accord/v1/consortium.proto`. The only file that knows these message shapes;
 * both the coordinator (server) and the node (client) go through it.
 */
import { z } from 'zod';
import { MEMBER_NAME_PATTERN, MEMBER_STATUS, type MemberStatus } from '../../primitives/consortium/roles.js';
import { MAX_EXTRA_FLAG_KINDS, SIGNAL_KIND_PATTERN, SIGNAL_KINDS } from '../../primitives/signals/kinds.js';
import { decodeWith } from './decode.js';

export const CONSORTIUM_PROTO = 'consortium.proto';
export const CONSORTIUM_SERVICE = 'Consortium';

const capability = z.string().regex(/^[a-z][a-z0-9-]*\/v\d+$/);

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
  readonly auditHeadSeq: number;
  readonly auditHeadHash: string;
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
const heartbeatRequest = z.object({
  sentAtMs: z.number().int().nonnegative(),
  auditHeadSeq: z.number().int().nonnegative(),
  auditHeadHash: z.string().regex(/^([0-9a-f]{64})?$/),
});
const heartbeatResponse = z.object({ serverTimeMs: z.number().int() });
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
    toProto: (h: Heartbeat) => ({ ...h }),
    fromProto: (w: unknown): Heartbeat => decodeWith(heartbeatRequest, 'HeartbeatRequest', w),
  },
  heartbeatResponse: {
    toProto: (r: { serverTimeMs: number }) => ({ ...r }),
    fromProto: (w: unknown): { serverTimeMs: number } =>
      decodeWith(heartbeatResponse, 'HeartbeatResponse', w),
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
