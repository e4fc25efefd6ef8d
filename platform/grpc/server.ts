/**
 * A gRPC server over mutual TLS, and the wrapper every handler goes through:
 *   1. the caller's member name is read from its verified client certificate (never from a message field);
 *   2. the request is decoded to a domain type by the service's `fromProto` (zod-validated), or refused;
 *   3. the handler runs; its result is encoded by `toProto`;
 *   4. the call is audited (who, what, outcome, error code) and errors are mapped to registry codes.
 * Connections that fail the TLS handshake (no certificate, another CA) never reach a handler; they are counted via
 * the underlying HTTP/2 server's `tlsClientError` event and audited per source and window (`refused-handshakes.ts`).
 */
import { type AuthContextCall, peerCertificateOf } from './peer-certificate.js';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import type { Audit } from '../audit/audit-log.js';
import { AccordError } from '../../primitives/errors/index.js';
import type { Logger } from '../log/logger.js';
import type { TlsMaterial } from '../tls/credentials.js';
import { memberNameOfPeer } from '../tls/identity.js';
import { toServiceError, wireSafeError } from './errors.js';
import { COORDINATOR_SERVER_LIMITS } from './limits.js';
import { RefusedHandshakes, reasonOf } from './refused-handshakes.js';

export type { Audit } from '../audit/audit-log.js';

export interface CallContext {
  /** Member name from the peer certificate. */
  readonly member: string;
  readonly signal: AbortSignal;
}

/**
 * The coordinator's gRPC server: it receives at most the largest request a node sends and sends at most the largest
 * answer a node accepts (limits.ts); no channelz.
 */
export function createCoordinatorServer(interceptors: grpc.ServerInterceptor[] = []): grpc.Server {
  return new grpc.Server({ ...COORDINATOR_SERVER_LIMITS, 'grpc.enable_channelz': 0, interceptors });
}

export function serverCredentials(tls: TlsMaterial): grpc.ServerCredentials {
  return grpc.ServerCredentials.createSsl(
    tls.caPem,
    [{ private_key: tls.keyPem, cert_chain: tls.certPem }],
    true,
  );
}

export function peerMember(call: AuthContextCall): string {
  const member = memberNameOfPeer(peerCertificateOf(call));
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

/**
 * Steps 2–4 for one request from an identified member: decode, handle, audit, encode. Resolves with the encoded
 * response; rejects with a registry error only (anything else is logged here and becomes ACCORD_INTERNAL).
 * Shared by unary calls and by the calls multiplexed on one stream (`multiplexed-server.ts`).
 */
export async function runHandler<Req, Res>(
  options: HandlerOptions<Req, Res>,
  member: string | Error,
  wireRequest: unknown,
  signal: AbortSignal,
  audit: Audit,
  log: Logger,
): Promise<unknown> {
  let target = '';
  const actor = typeof member === 'string' ? member : 'unidentified';
  let result: Res;
  try {
    if (typeof member !== 'string') throw member;
    const request = options.decode(wireRequest);
    target = options.target?.(request) ?? '';
    result = await options.handle(request, { member, signal });
  } catch (err) {
    const accord = wireSafeError(err, log, { rpc: options.name, member: actor });
    const outcome = DENIED.has(accord.code) ? 'denied' : 'failed';
    // The call fails either way; if its record cannot be written either, the caller learns that instead.
    await audit({ actor, action: `rpc:${options.name}`, target, outcome, details: { code: accord.code } });
    throw accord;
  }
  // Awaited: an answer whose record cannot be written is withheld (ACCORD_AUDIT_UNAVAILABLE).
  if (options.auditSuccess !== false)
    await audit({ actor, action: `rpc:${options.name}`, target, outcome: 'ok', details: {} });
  return options.encode(result);
}

/** Codes that mean the caller was not let in (audited as `denied`, not `failed`). */
const DENIED: ReadonlySet<string> = new Set([
  'ACCORD_MEMBER_UNKNOWN',
  'ACCORD_MEMBER_REVOKED',
  'ACCORD_TLS_PEER_UNIDENTIFIED',
]);

/** The peer's member name, or the error that says why it has none (audited by `runHandler`). */
export function peerMemberOrError(call: Parameters<typeof peerMember>[0]): string | Error {
  try {
    return peerMember(call);
  } catch (err) {
    return err as Error;
  }
}

export function unaryHandler<Req, Res>(
  options: HandlerOptions<Req, Res>,
  audit: Audit,
  log: Logger,
): grpc.handleUnaryCall<unknown, unknown> {
  return (call, callback) => {
    const controller = new AbortController();
    call.on('cancelled', () => controller.abort());
    runHandler(options, peerMemberOrError(call), call.request, controller.signal, audit, log).then(
      (response) => callback(null, response),
      (err: AccordError) => callback(toServiceError(err, log, { rpc: options.name })),
    );
  };
}

/**
 * Audits TLS handshakes refused before any RPC (a certificate from another CA, or none), counted per source address
 * by `refused` (one entry per source per window; close it after shutting the server down to write what is pending).
 * grpc-js keeps its HTTP/2 servers private; we reach them once after binding. If a future grpc-js renames the field,
 * refused handshakes are still refused, only no longer audited: the test of this behaviour will say so.
 */
export function auditRefusedHandshakes(
  server: grpc.Server,
  audit: Audit,
  log: Logger,
  refused: RefusedHandshakes = new RefusedHandshakes(audit),
): RefusedHandshakes {
  const http2Servers = (
    server as unknown as { http2Servers?: Map<import('node:events').EventEmitter, unknown> }
  ).http2Servers;
  if (!http2Servers) {
    log.warn('cannot observe TLS handshakes: grpc-js internals changed');
    return refused;
  }
  for (const http2Server of http2Servers.keys()) {
    if ((http2Server as { __accordAudited?: boolean }).__accordAudited) continue;
    (http2Server as { __accordAudited?: boolean }).__accordAudited = true;
    // A socket asks the OS for its peer's address once and keeps it; a refused handshake closes the socket, after
    // which nobody can ask. So ask on connection, before the handshake, and read it from the raw socket under the
    // TLS one when the TLS socket never asked (grpc-js internals aside, `_parent` is Node's own).
    http2Server.on('connection', (raw: Socket) => void raw.remoteAddress);
    http2Server.on('tlsClientError', (err: Error & { code?: string }, socket: TLSSocket) => {
      const source = socket.remoteAddress ?? (socket as { _parent?: Socket | null })._parent?.remoteAddress;
      refused.record(source ?? '?', reasonOf(err));
    });
  }
  return refused;
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
