/**
 * Signatures by a member's certificate key, checked by other members against the consortium CA. Used for the keys a
 * member publishes through the coordinator (secure aggregation round keys): the coordinator relays them but cannot
 * swap them, because it holds no member's private key and a receiver accepts only a certificate the CA issued to the
 * member the keys name.
 */
import { createPrivateKey, type KeyObject, sign, verify, X509Certificate } from 'node:crypto';
import type { TlsMaterial } from './credentials.js';
import { memberNameOf } from './identity.js';

export interface MemberSigner {
  /** This member's certificate (PEM), sent with what it signs. */
  readonly certificatePem: string;
  sign(message: Uint8Array): Uint8Array;
}

/** Signs with this process's TLS key (ECDSA P-256, SHA-256, DER signature). */
export function memberSigner(tls: TlsMaterial): MemberSigner {
  const key: KeyObject = createPrivateKey(tls.keyPem);
  return {
    certificatePem: tls.certPem.toString('utf8'),
    sign: (message) => sign('sha256', message, key),
  };
}

/**
 * A verifier for other members' signatures: the certificate must be issued by the consortium CA, currently valid,
 * name `member`, and its key must verify the signature. Returns a reason when it does not (never throws).
 */
export function memberVerifier(caPem: Buffer, now: () => number = Date.now) {
  const ca = new X509Certificate(caPem);
  return (
    member: string,
    certificatePem: string,
    message: Uint8Array,
    signature: Uint8Array,
  ): string | null => {
    let cert: X509Certificate;
    try {
      cert = new X509Certificate(certificatePem);
    } catch {
      return 'the certificate does not parse';
    }
    if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey))
      return 'the certificate was not issued by the consortium CA';
    const t = now();
    if (t < Date.parse(cert.validFrom) || t > Date.parse(cert.validTo))
      return 'the certificate is not valid now';
    if (memberNameOf(cert) !== member) return 'the certificate names another member';
    try {
      return verify('sha256', message, cert.publicKey, signature) ? null : 'the signature does not verify';
    } catch {
      return 'the signature does not verify';
    }
  };
}
export type MemberVerifier = ReturnType<typeof memberVerifier>;
