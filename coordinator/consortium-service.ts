/**
 * The Consortium gRPC service: registration, heartbeats, member list, and the audit anchors.
 *
 * Audit anchoring: each heartbeat carries the member's audit head; `anchoring` records it in the coordinator's own
 * log (`audit:anchor`, with a row in the anchors table) when it moved and the interval passed, or records an
 * `audit:anchor-mismatch` when it contradicts the last anchor. The answer carries the coordinator's own head, which
 * the node anchors likewise. `AuditAnchors` lets a member read back the anchors of its own log (the member from the
 * certificate), so `accord audit verify` can detect a log that was rewritten and re-sealed.
 */
import type * as grpc from '@grpc/grpc-js';
import type { HeadAnchoring } from '../platform/audit/anchoring.js';
import type { Logger } from '../platform/log/logger.js';
import { type Audit, unaryHandler } from '../platform/grpc/server.js';
import type { AuditAnchorStore } from '../platform/store/types.js';
import { consortiumWire as wire } from '../platform/wire/consortium.js';
import type { AuditHead } from '../primitives/audit/anchors.js';
import { AccordError } from '../primitives/errors/index.js';
import type { Membership } from './membership.js';

export interface ConsortiumServiceDeps {
  readonly membership: Membership;
  readonly consortium: string;
  readonly heartbeatIntervalMs: number;
  /** The consortium's signal kinds, built-ins first (`primitives/signals/kinds.ts`), announced at registration. */
  readonly signalKinds: readonly string[];
  readonly audit: Audit;
  /** Anchors members' heads in the coordinator's log (platform/audit/anchoring.ts). */
  readonly anchoring: HeadAnchoring;
  /** The anchors held, for `AuditAnchors`. */
  readonly anchors: Pick<AuditAnchorStore, 'list'>;
  /** The coordinator's own audit head, sent back with every heartbeat. */
  readonly auditHead: () => Promise<AuditHead | null>;
  readonly log: Logger;
  readonly now: () => number;
}

function requireMember(deps: ConsortiumServiceDeps, member: string): void {
  if (!deps.membership.isMember(member)) throw new AccordError('ACCORD_MEMBER_UNKNOWN', { member });
}

export function consortiumService(deps: ConsortiumServiceDeps): grpc.UntypedServiceImplementation {
  const { audit, log } = deps;
  return {
    register: unaryHandler(
      {
        name: 'Register',
        decode: wire.registerRequest.fromProto,
        encode: wire.registerResponse.toProto,
        target: () => 'membership',
        handle: async (request, { member }) => {
          requireMember(deps, member);
          deps.membership.register(member, request.capabilities, deps.now());
          deps.anchoring.registered(member);
          log.info('member registered', { member, capabilities: request.capabilities });
          return {
            member,
            consortium: deps.consortium,
            heartbeatIntervalMs: deps.heartbeatIntervalMs,
            serverTimeMs: deps.now(),
            signalKinds: deps.signalKinds,
          };
        },
      },
      audit,
      log,
    ),
    heartbeat: unaryHandler(
      {
        name: 'Heartbeat',
        decode: wire.heartbeatRequest.fromProto,
        encode: wire.heartbeatResponse.toProto,
        // Liveness every few seconds would drown the log; failures are still audited, and the audit head each
        // heartbeat carries is anchored in the log (at most once per anchor interval).
        auditSuccess: false,
        handle: async (request, { member }) => {
          requireMember(deps, member);
          const known = deps.membership.heartbeat(member, deps.now());
          if (!known) throw new AccordError('ACCORD_MEMBER_NOT_REGISTERED', { member });
          // Awaited: a head that cannot be anchored fails the heartbeat (ACCORD_AUDIT_UNAVAILABLE); a mismatch
          // is recorded and alerted, but the heartbeat still succeeds.
          await deps.anchoring.observe(member, request.auditHead);
          return { serverTimeMs: deps.now(), coordinatorAuditHead: await deps.auditHead() };
        },
      },
      audit,
      log,
    ),
    listMembers: unaryHandler(
      {
        name: 'ListMembers',
        decode: wire.listMembersRequest.fromProto,
        encode: wire.listMembersResponse.toProto,
        handle: async (_request, { member }) => {
          requireMember(deps, member);
          return deps.membership.list(deps.now());
        },
      },
      audit,
      log,
    ),
    auditAnchors: unaryHandler(
      {
        name: 'AuditAnchors',
        decode: wire.auditAnchorsRequest.fromProto,
        encode: wire.auditAnchorsResponse.toProto,
        target: () => 'audit-anchors',
        // Only the caller's own log: the party is the member from the certificate, never a request field.
        handle: async (request, { member }) => {
          requireMember(deps, member);
          return deps.anchors.list(member, { afterSeq: request.afterSeq, limit: request.limit });
        },
      },
      audit,
      log,
    ),
  };
}
