/**
 * A gRPC server over mutual TLS, and the wrapper every handler goes through:
 *   1. the caller's member name is read from its verified client certificate (never from a message field);
 *   2. the request is decoded to a domain type by the service's `fromProto` (zod-validated), or refused;
 *   3. the handler runs; its result is encoded by `toProto`;
 *   4. the call is audited (who, what, outcome, error code) and errors are mapped to registry codes.
 * Connections that fail the TLS handshake (no certificate, another CA) never reach a handler; they are audited via
 * the underlying HTTP/2 server's `tlsClientError` event.
 */
import type { TLSSocket } from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import type { AuditDraft } from '../../shared/audit/chain.js';
import { AccordError } from '../../shared/errors/index.js';
import type { Logger } from '../log/logger.js';
import type { TlsMaterial } from '../tls/credentials.js';
import { memberNameOfPeer } from '../tls/identity.js';
import { toServiceError } from './errors.js';

export type Audit = (draft: AuditDraft) => void;

export interface CallContext {
  /** Member name from the peer certificate. */
  readonly member: string;
  readonly signal: AbortSignal;
}

export function serverCredentials(tls: TlsMaterial): grpc.ServerCredentials {
  return grpc.ServerCredentials.createSsl(
    tls.caPem,
    [{ private_key: tls.keyPem, cert_chain: tls.certPem }],
    true,
  );
}

export function peerMember(call: {
  getAuthContext(): { sslPeerCertificate?: import('node:tls').PeerCertificate } | null;
}): string {
  const member = memberNameOfPeer(call.getAuthContext()?.sslPeerCertificate);
  if (!member) throw new AccordError('ACCORD_TLS_PEER_UNIDENTIFIED');
  return member;
}

export interface HandlerOptions<Req, Res> {
  readonly name: string;
  readonly decode: (wire: unknown) => Req;
  readonly encode: (result: Res) => unknown;
  readonly handle: (request: Req, ctx: CallContext) => Promise<Res>;
  /** Target recorded in the audit entry (never a customer identifier). */
  readonly target?: (request: Req) => string;
  /** High-rate calls (heartbeats) can opt out of per-call audit; failures are still audited. */
  readonly auditSuccess?: boolean;
}

export function unaryHandler<Req, Res>(
  options: HandlerOptions<Req, Res>,
  audit: Audit,
  log: Logger,
): grpc.handleUnaryCall<unknown, unknown> {
  return (call, callback) => {
    let member = 'unidentified';
    let target = '';
    const controller = new AbortController();
    call.on('cancelled', () => controller.abort());
    (async () => {
      member = peerMember(call);
      const request = options.decode(call.request);
      target = options.target?.(request) ?? '';
      const result = await options.handle(request, { member, signal: controller.signal });
      if (options.auditSuccess !== false) {
        audit({ actor: member, action: `rpc:${options.name}`, target, outcome: 'ok', details: {} });
      }
      callback(null, options.encode(result));
    })().catch((err: unknown) => {
      const status = toServiceError(err, log, { rpc: options.name, member });
      const code = err instanceof AccordError ? err.code : 'ACCORD_INTERNAL';
      const outcome =
        code === 'ACCORD_MEMBER_UNKNOWN' || code === 'ACCORD_TLS_PEER_UNIDENTIFIED' ? 'denied' : 'failed';
      audit({ actor: member, action: `rpc:${options.name}`, target, outcome, details: { code } });
      callback(status);
    });
  };
}

/**
 * Audits TLS handshakes refused before any RPC (a certificate from another CA, or none). grpc-js keeps its HTTP/2
 * servers private; we reach them once after binding. If a future grpc-js renames the field, refused handshakes are
 * still refused, only no longer audited: the test of this behaviour will say so.
 */
export function auditRefusedHandshakes(server: grpc.Server, audit: Audit, log: Logger): void {
  const http2Servers = (
    server as unknown as { http2Servers?: Map<import('node:events').EventEmitter, unknown> }
  ).http2Servers;
  if (!http2Servers) {
    log.warn('cannot observe TLS handshakes: grpc-js internals changed');
    return;
  }
  for (const http2Server of http2Servers.keys()) {
    if ((http2Server as { __accordAudited?: boolean }).__accordAudited) continue;
    (http2Server as { __accordAudited?: boolean }).__accordAudited = true;
    http2Server.on('tlsClientError', (err: Error & { code?: string }, socket: TLSSocket) => {
      audit({
        actor: 'unidentified',
        action: 'tls:handshake',
        target: `${socket.remoteAddress ?? '?'}`,
        outcome: 'refused',
        details: { reason: err.code ?? err.message.slice(0, 120) },
      });
    });
  }
}

export async function bindServer(
  server: grpc.Server,
  host: string,
  port: number,
  credentials: grpc.ServerCredentials,
): Promise<number> {
  return new Promise((resolve, reject) => {
    server.bindAsync(`${host}:${port}`, credentials, (err, boundPort) =>
      err ? reject(err) : resolve(boundPort),
    );
  });
}

export async function shutdownServer(server: grpc.Server, graceMs = 2_000): Promise<void> {
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, graceMs);
    server.tryShutdown(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}
