/**
 * The coordinator's gate for revoked members, on EVERY call and stream, as one gRPC server interceptor: the TLS
 * handshake only proves "a certificate from the consortium CA", so a member the consortium let go (deny-list or CRL,
 * platform/tls/revocation.ts) would otherwise keep working until its certificate expires. The interceptor reads the
 * peer's member name and certificate serial from the connection, and when they are revoked it ends the call with the
 * registry error ACCORD_MEMBER_REVOKED before any handler runs (no message is read). Streams already open when a
 * member is revoked are ended by whoever holds them (`OpenStreams.endWhere`, the PSI inboxes) on reload.
 */
import type { PeerCertificate } from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import { AccordError } from '../../primitives/errors/index.js';
import type { Logger } from '../log/logger.js';
import { memberNameOfPeer } from '../tls/identity.js';
import { toServiceError } from './errors.js';

/** Who is on the other end of a call, as its certificate says. */
export interface PeerIdentity {
  readonly member: string;
  /** The certificate serial as Node reports it (uppercase hex); '' if absent, which revocation treats as revoked. */
  readonly serial: string;
}

/** The peer of a call or stream, or null when its certificate names no member (handlers refuse those). */
export function peerIdentity(call: {
  getAuthContext(): { sslPeerCertificate?: PeerCertificate } | null;
}): PeerIdentity | null {
  const cert = call.getAuthContext()?.sslPeerCertificate;
  const member = memberNameOfPeer(cert);
  return member ? { member, serial: cert?.serialNumber ?? '' } : null;
}

export interface RevocationCheck {
  check(peer: PeerIdentity): boolean;
}

/**
 * Refuses every call of a revoked peer with ACCORD_MEMBER_REVOKED. `refused` is told of each refusal (the
 * coordinator audits them, at most once per member per minute).
 */
export function revocationInterceptor(
  revocation: RevocationCheck,
  refused: (peer: PeerIdentity, method: string) => void,
  log: Logger,
): grpc.ServerInterceptor {
  return (method, call) =>
    new grpc.ServerInterceptingCall(call, {
      start: (next) => {
        next({
          onReceiveMetadata: (metadata, nextMetadata) => {
            const peer = peerIdentity(call);
            if (peer && revocation.check(peer)) {
              refused(peer, method.path);
              const status = toServiceError(
                new AccordError('ACCORD_MEMBER_REVOKED', { member: peer.member }),
                log,
                {},
              );
              call.sendStatus({
                code: status.code ?? grpc.status.PERMISSION_DENIED,
                details: status.details ?? '',
                metadata: status.metadata ?? new grpc.Metadata(),
              });
              return;
            }
            nextMetadata(metadata);
          },
        });
      },
    });
}
