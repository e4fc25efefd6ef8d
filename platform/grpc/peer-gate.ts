/**
 * The coordinator's gate for revoked members, on EVERY call and stream, as one gRPC server interceptor: the TLS
 * handshake only proves "a certificate from the consortium CA", so a member the consortium let go (deny-list or CRL,
 * platform/tls/revocation.ts) would otherwise keep working until its certificate expires. The interceptor reads the
 * peer's member name and certificate serial from the connection, and when they are revoked it ends the call with the
 * registry error ACCORD_MEMBER_REVOKED before any handler runs; every later message of a call is checked again, so a
 * call opened before the revocation cannot deliver a request sent after it. Streams already open when a member is
 * revoked are ended by whoever holds them (`OpenStreams.endWhere`, the PSI inboxes) on reload.
 */
import * as grpc from '@grpc/grpc-js';
import { AccordError } from '../../primitives/errors/index.js';
import type { Logger } from '../log/logger.js';
import { memberNameOfPeer, type PeerIdentity } from '../tls/identity.js';
import { toServiceError } from './errors.js';
import { type AuthContextCall, peerCertificateOf } from './peer-certificate.js';

export type { PeerIdentity } from '../tls/identity.js';

/** The peer of a call or stream, or null when its certificate names no member (handlers refuse those). */
export function peerIdentity(call: AuthContextCall): PeerIdentity | null {
  const cert = peerCertificateOf(call);
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
  return (method, call) => {
    let ended = false;
    // Read once per call: Node parses the peer certificate anew on every getPeerCertificate(), and a stream's peer
    // does not change; revocation itself is checked again on every message.
    let peer: PeerIdentity | null | undefined;
    /** True (and the call ended with ACCORD_MEMBER_REVOKED) when the peer is revoked now. */
    const refuseIfRevoked = (): boolean => {
      if (ended) return true;
      if (peer === undefined) peer = peerIdentity(call);
      if (!peer || !revocation.check(peer)) return false;
      ended = true;
      refused(peer, method.path);
      const error = new AccordError('ACCORD_MEMBER_REVOKED', { member: peer.member });
      const status = toServiceError(error, log, {});
      call.sendStatus({
        code: status.code ?? grpc.status.PERMISSION_DENIED,
        details: status.details ?? '',
        metadata: status.metadata ?? new grpc.Metadata(),
      });
      return true;
    };
    return new grpc.ServerInterceptingCall(call, {
      start: (next) => {
        next({
          // Checked when the call opens AND on every message: a call opened before the revocation cannot carry
          // requests sent after it (headers first, body later), and a stream gets no further message through.
          onReceiveMetadata: (metadata, nextMetadata) => {
            if (!refuseIfRevoked()) nextMetadata(metadata);
          },
          onReceiveMessage: (message, nextMessage) => {
            if (!refuseIfRevoked()) nextMessage(message);
          },
        });
      },
    });
  };
}
