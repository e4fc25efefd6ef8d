/** The Consortium gRPC service: registration, heartbeats, member list. */
import type * as grpc from '@grpc/grpc-js';
import type { Logger } from '../platform/log/logger.js';
import { type Audit, unaryHandler } from '../platform/grpc/server.js';
import { consortiumWire as wire } from '../platform/wire/consortium.js';
import { AccordError } from '../primitives/errors/index.js';
import type { Membership } from './membership.js';

export interface ConsortiumServiceDeps {
  readonly membership: Membership;
  readonly consortium: string;
  readonly heartbeatIntervalMs: number;
  /** The consortium's signal kinds, built-ins first (`primitives/signals/kinds.ts`), announced at registration. */
  readonly signalKinds: readonly string[];
  readonly audit: Audit;
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
        // heartbeat carries is kept in memory.
        auditSuccess: false,
        handle: async (request, { member }) => {
          requireMember(deps, member);
          const known = deps.membership.heartbeat(member, deps.now(), {
            seq: request.auditHeadSeq,
            hash: request.auditHeadHash,
          });
          if (!known) throw new AccordError('ACCORD_MEMBER_NOT_REGISTERED', { member });
          return { serverTimeMs: deps.now() };
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
  };
}
