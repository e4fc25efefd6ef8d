/**
 * The per-job secret of one party in ECDH PSI (see the protocol in `hash-to-curve.ts`): an X25519 private scalar
 * (RFC 7748 section 5), kept as a node:crypto KeyObject so that OpenSSL does the scalar multiplications.
 *
 * The party holding the key learns nothing from it alone; the peer must never learn it, because with it the peer
 * could re-blind any guessed identifier and test it against everything this party sent. A fresh key per job also
 * keeps blinded values of different jobs unlinkable.
 */
import crypto from 'node:crypto';
import { AccordError } from '../errors/index.js';

// PKCS#8 wrapping of a raw X25519 private key (RFC 8410): SEQUENCE { 0, { id-X25519 }, OCTET STRING { key } }.
// JWK import would also need the public key, which is one more scalar multiplication to compute.
const PKCS8_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');
const SECRET_BYTES = 32;

let construct: (privateKey: crypto.KeyObject) => PsiKey;

export class PsiKey {
  static {
    // Keys come only from generate() and psiKeyFromSecret(); this hands the latter the private constructor.
    construct = (privateKey) => new PsiKey(privateKey);
  }

  private constructor(readonly privateKey: crypto.KeyObject) {}

  /** A fresh random key; use one per job and party. */
  static generate(): PsiKey {
    return new PsiKey(crypto.generateKeyPairSync('x25519').privateKey);
  }

  /**
   * WARNING: a deterministic key is for tests and known-answer vectors only. A key derived from anything guessable
   * lets the peer de-blind every identifier it received.
   */
  static fromSecretForTesting(secret: Uint8Array): PsiKey {
    return psiKeyFromSecret(secret);
  }

  /** The raw 32-byte scalar. Never send this; only for handing to worker threads (see `platform/crypto-workers/pool.ts`). */
  secretBytes(): Buffer {
    const d = this.privateKey.export({ format: 'jwk' }).d;
    if (typeof d !== 'string') throw new AccordError('ACCORD_PSI_KEY_INVALID', { reason: 'not exportable' });
    return Buffer.from(d, 'base64url');
  }
}

/** Rebuilds a key from `secretBytes()`, for worker threads; anything else should use `PsiKey.generate()`. */
export function psiKeyFromSecret(secret: Uint8Array): PsiKey {
  if (!(secret instanceof Uint8Array) || secret.length !== SECRET_BYTES) {
    throw new AccordError('ACCORD_PSI_KEY_INVALID', { reason: 'must be 32 bytes' });
  }
  const der = Buffer.concat([PKCS8_PREFIX, secret]);
  try {
    return construct(crypto.createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }));
  } finally {
    der.fill(0);
  }
}
