/**
 * The peer certificate of a gRPC call, read once per TLS connection.
 *
 * Why: grpc-js's `getAuthContext()` calls `TLSSocket.getPeerCertificate()` on every use, and Node parses the
 * certificate anew each time (subject, alternative names, fingerprints). The coordinator reads it at least twice per
 * call (the revocation gate, then the handler's member name); in a CPU profile of `bench:eligibility`'s real-time
 * phase (hundreds of relayed calls a second) that parsing was 13% of the coordinator's CPU. A connection's peer
 * certificate cannot change (TLS 1.3: no renegotiation), so it is kept per socket, and dropped with it.
 *
 * The socket is reached through grpc-js's call objects (`call` / `nextCall` down to the HTTP/2 stream's session):
 * internals, not API. Where they change shape no socket is found and every read falls back to `getAuthContext()`,
 * which is correct and only slower; test/unit/platform/peer-gate.test.ts checks the fast path is still taken.
 */
import { type PeerCertificate, TLSSocket } from 'node:tls';

export interface AuthContextCall {
  getAuthContext(): { sslPeerCertificate?: PeerCertificate } | null;
}

const bySocket = new WeakMap<TLSSocket, PeerCertificate | undefined>();
/** How many certificates were parsed (read through getAuthContext): for the test of the fast path. */
let parsed = 0;

/** The TLS socket under a server call, or null if grpc-js's call objects no longer lead to one. */
export function socketOfCall(call: unknown): TLSSocket | null {
  let at = call as
    | { stream?: { session?: { socket?: unknown } }; nextCall?: unknown; call?: unknown }
    | undefined;
  for (let depth = 0; depth < 8 && at; depth++) {
    const socket = at.stream?.session?.socket;
    if (socket instanceof TLSSocket) return socket;
    at = (at.nextCall ?? at.call) as typeof at;
  }
  return null;
}

/** The call's peer certificate (undefined when the peer presented none the CA accepted). */
export function peerCertificateOf(call: AuthContextCall): PeerCertificate | undefined {
  const socket = socketOfCall(call);
  if (socket && bySocket.has(socket)) return bySocket.get(socket);
  parsed++;
  const cert = call.getAuthContext()?.sslPeerCertificate;
  if (socket) bySocket.set(socket, cert);
  return cert;
}

/** Certificates parsed so far in this process (tests only). */
export function peerCertificatesParsed(): number {
  return parsed;
}
