/**
 * The node's connection to the coordinator: mutual-TLS gRPC client, registration with retry and back-off,
 * heartbeats carrying the audit-log head, and re-registration when the coordinator restarts. Keeps what the latest
 * registration told the node, including the consortium's signal kinds. Each heartbeat answer carries the
 * coordinator's audit head, which the node anchors in its own log (`anchoring`; the first after each registration
 * always), so a rewrite of the coordinator's log is detectable with the heads the nodes hold.
 */
import type { Audit } from '../platform/audit/audit-log.js';
import { auditAnchorsPage, fetchAllAnchors } from '../platform/audit/anchor-client.js';
import type { HeadAnchoring } from '../platform/audit/anchoring.js';
import type * as grpc from '@grpc/grpc-js';
import type { NodeConfig } from '../platform/config/index.js';
import { callUnary, createMtlsClient } from '../platform/grpc/client.js';
import { serviceOf } from '../platform/grpc/proto.js';
import type { Logger } from '../platform/log/logger.js';
import type { TlsMaterial } from '../platform/tls/credentials.js';
import {
  CONSORTIUM_PROTO,
  type AnchorView,
  CONSORTIUM_SERVICE,
  consortiumWire as wire,
  type MemberView,
  type RegistrationAck,
} from '../platform/wire/consortium.js';
import { COORDINATOR_NAME } from '../primitives/consortium/roles.js';
import { AccordError } from '../primitives/errors/index.js';
import { announcedKinds, BUILT_IN_KINDS, type SignalKinds } from '../primitives/signals/kinds.js';

export interface LinkStatus {
  readonly connected: boolean;
  readonly registeredAs: string | null;
  readonly lastHeartbeatMs: number;
  readonly lastErrorCode: string | null;
}

export interface CoordinatorLinkDeps {
  readonly config: Readonly<NodeConfig>;
  readonly tls: TlsMaterial;
  readonly audit: Audit;
  readonly auditHead: () => Promise<{ seq: number; hash: string } | null>;
  /** Anchors the coordinator's audit head from each heartbeat answer in the node's log. */
  readonly anchoring: HeadAnchoring;
  readonly log: Logger;
  readonly capabilities: readonly string[];
  readonly version: string;
}

export class CoordinatorLink {
  readonly address: string;
  private readonly client: grpc.Client;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private ack: RegistrationAck | null = null;
  /** From the latest registration; kept while re-registering (the coordinator checks every publish anyway). */
  private kinds: SignalKinds = BUILT_IN_KINDS;
  private lastHeartbeatMs = 0;
  private lastErrorCode: string | null = null;
  private retryMs = 250;

  constructor(
    private readonly deps: CoordinatorLinkDeps,
    addressOverride?: string,
  ) {
    this.address = addressOverride ?? deps.config.coordinator.address;
    this.client = createMtlsClient(
      serviceOf(CONSORTIUM_PROTO, CONSORTIUM_SERVICE),
      this.address,
      deps.config.coordinator.serverName,
      deps.tls,
    );
  }

  /** The channel other services reuse (one TCP+TLS connection to the coordinator). */
  get channel(): grpc.Channel {
    return this.client.getChannel() as grpc.Channel;
  }

  status(): LinkStatus {
    return {
      connected: this.ack !== null && this.lastErrorCode === null,
      registeredAs: this.ack?.member ?? null,
      lastHeartbeatMs: this.lastHeartbeatMs,
      lastErrorCode: this.lastErrorCode,
    };
  }

  /**
   * The consortium's signal kinds from the latest registration, or the built-ins before the first one. It only lets
   * the node refuse early: the coordinator checks every publish against its own list, so a stale one never lets a
   * bad kind in.
   */
  signalKinds(): SignalKinds {
    return this.kinds;
  }

  start(): void {
    this.stopped = false;
    void this.tick();
  }

  /** Resolves once registered (or rejects after `timeoutMs`); used by the CLI and tests to wait for readiness. */
  async waitRegistered(timeoutMs = 15_000): Promise<RegistrationAck> {
    const deadline = Date.now() + timeoutMs;
    while (!this.ack) {
      if (Date.now() > deadline) {
        throw new AccordError('ACCORD_COORDINATOR_UNAVAILABLE', {
          reason: this.lastErrorCode ?? 'registration timed out',
        });
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    return this.ack;
  }

  async listMembers(): Promise<MemberView[]> {
    const response = await this.call('ListMembers', wire.listMembersRequest.toProto(), 'membership');
    return wire.listMembersResponse.fromProto(response);
  }

  /** Every anchor the coordinator holds about this node's audit log (paged `AuditAnchors` calls). */
  async auditAnchors(): Promise<AnchorView[]> {
    return fetchAllAnchors((query) => auditAnchorsPage(this.client, query));
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.client.close();
  }

  /** One RPC, audited on this side too (the coordinator audits its own view). */
  private async call(method: string, request: unknown, target: string, audited = true): Promise<unknown> {
    try {
      const response = await callUnary(
        this.client,
        method.charAt(0).toLowerCase() + method.slice(1),
        request,
      );
      if (audited)
        await this.deps.audit({
          actor: this.deps.config.member,
          action: `rpc-out:${method}`,
          target,
          outcome: 'ok',
          details: {},
        });
      return response;
    } catch (err) {
      const code = err instanceof AccordError ? err.code : 'ACCORD_INTERNAL';
      await this.deps.audit({
        actor: this.deps.config.member,
        action: `rpc-out:${method}`,
        target,
        outcome: 'failed',
        details: { code },
      });
      throw err;
    }
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.tick(), ms);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    try {
      if (!this.ack) {
        const response = await this.call(
          'Register',
          wire.registerRequest.toProto({
            nodeVersion: this.deps.version,
            capabilities: this.deps.capabilities,
          }),
          'membership',
        );
        this.ack = wire.registerResponse.fromProto(response);
        this.kinds = announcedKinds(this.ack.signalKinds);
        this.deps.anchoring.registered(COORDINATOR_NAME);
        this.deps.log.info('registered with coordinator', {
          member: this.ack.member,
          consortium: this.ack.consortium,
          signalKinds: this.kinds.all.join(' '),
        });
      }
      const head = await this.deps.auditHead();
      const answer = wire.heartbeatResponse.fromProto(
        await this.call(
          'Heartbeat',
          wire.heartbeatRequest.toProto({ sentAtMs: Date.now(), auditHead: head }),
          'membership',
          false,
        ),
      );
      // Awaited: a head that cannot be anchored fails this tick (ACCORD_AUDIT_UNAVAILABLE; retried with back-off).
      await this.deps.anchoring.observe(COORDINATOR_NAME, answer.coordinatorAuditHead);
      this.lastHeartbeatMs = Date.now();
      this.lastErrorCode = null;
      this.retryMs = 250;
      this.schedule(this.ack.heartbeatIntervalMs);
    } catch (err) {
      const code = err instanceof AccordError ? err.code : 'ACCORD_INTERNAL';
      if (code !== this.lastErrorCode)
        this.deps.log.warn('coordinator link problem', { code, message: (err as Error).message });
      this.lastErrorCode = code;
      if (code === 'ACCORD_MEMBER_NOT_REGISTERED') this.ack = null;
      this.retryMs = Math.min(this.retryMs * 2, 5_000);
      this.schedule(this.retryMs);
    }
  }
}
