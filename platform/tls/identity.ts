/**
 * A peer's member name comes from its certificate, never from a message field: the URI SAN
 * `urn:accord:member:<name>` when present, else the subject CN.
 */
import type { X509Certificate } from 'node:crypto';
import type { PeerCertificate } from 'node:tls';
import { MEMBER_NAME_PATTERN, MEMBER_URI_PREFIX } from '../../primitives/consortium/roles.js';

function fromAltNames(altNames: string | undefined): string | null {
  for (const entry of (altNames ?? '').split(/,\s*/)) {
    if (entry.startsWith(`URI:${MEMBER_URI_PREFIX}`)) return entry.slice(4 + MEMBER_URI_PREFIX.length);
  }
  return null;
}

function valid(name: string | null | undefined): string | null {
  return name && MEMBER_NAME_PATTERN.test(name) ? name : null;
}

export function memberNameOf(cert: X509Certificate): string | null {
  const cn = /(?:^|\n)CN=([^\n]+)/.exec(cert.subject)?.[1];
  return valid(fromAltNames(cert.subjectAltName)) ?? valid(cn);
}

/** Same rule for the certificate grpc-js hands us from the TLS socket. */
export function memberNameOfPeer(cert: PeerCertificate | undefined): string | null {
  if (!cert?.subject) return null;
  const cn = Array.isArray(cert.subject.CN) ? cert.subject.CN[0] : cert.subject.CN;
  return valid(fromAltNames(cert.subjectaltname)) ?? valid(cn);
}

/** Who is on the other end of a call, as its certificate says. */
export interface PeerIdentity {
  readonly member: string;
  /** The certificate serial as Node reports it (uppercase hex); '' if absent, which revocation treats as revoked. */
  readonly serial: string;
}
