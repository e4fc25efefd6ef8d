/**
 * A throwaway consortium PKI for tests that run gRPC over real mutual TLS in one process: a CA, the coordinator's
 * server certificate (coordinator, localhost, 127.0.0.1) and one member's client certificate.
 */
import { X509Certificate } from 'node:crypto';
import type { TlsMaterial } from '../../platform/tls/credentials.js';
import { createAuthority, type IssuedPem, issueLeaf } from '../../platform/tls/issue.js';

export type Authority = ReturnType<typeof createAuthority>;

/** What the TLS layer loads from files, built from an issued certificate. */
export function tlsMaterial(ca: Authority, leaf: IssuedPem, name: string): TlsMaterial {
  return {
    caPem: Buffer.from(ca.certPem),
    certPem: Buffer.from(leaf.certPem),
    keyPem: Buffer.from(leaf.keyPem),
    certificate: new X509Certificate(leaf.certPem),
    name,
  };
}

/** A member's client material under `ca`. */
export function memberTls(ca: Authority, consortium: string, member: string): TlsMaterial {
  return tlsMaterial(
    ca,
    issueLeaf(ca, { commonName: member, consortium, uri: `urn:accord:member:${member}` }),
    member,
  );
}

/** A fresh CA with the coordinator's server material and `member`'s client material. */
export function coordinatorAndMemberTls(
  consortium = 'test-consortium',
  member = 'bank-a',
): { ca: Authority; serverTls: TlsMaterial; clientTls: TlsMaterial } {
  const ca = createAuthority(consortium);
  const serverTls = tlsMaterial(
    ca,
    issueLeaf(ca, {
      commonName: 'coordinator',
      consortium,
      server: { dns: ['coordinator', 'localhost'], ip: ['127.0.0.1'] },
    }),
    'coordinator',
  );
  return { ca, serverTls, clientTls: memberTls(ca, consortium, member) };
}
