/**
 * Blinding: raising Curve25519 points to a party's PSI key with X25519 (RFC 7748 section 5), steps 2 and 3 of the
 * protocol in `hash-to-curve.ts`.
 *
 * X25519(k, u) is the u-coordinate of [clamp(k)] P; scalar multiplications commute, so
 * blind(b, blind(a, H(x))) = blind(a, blind(b, H(x))), which is what makes the doubly blinded sets comparable. The
 * peer learns the blinded points and nothing about the key; this party learns nothing from blinding alone.
 *
 * Points received from a peer must go through `validatePoints` first (or use `validateAndBlind`): X25519 itself
 * accepts twist points and non-canonical encodings, which a malicious peer could use to learn bits of the key.
 */
import crypto from 'node:crypto';
import { AccordError } from '../errors/index.js';
import { POINT_BYTES } from './hash-to-curve.js';
import type { PsiKey } from './psi-key.js';
import { validatePoints } from './validate-points.js';

// Importing the peer point as JWK is ~3x faster than wrapping it in SPKI DER; reusing one JWK and one options
// object per call (instead of fresh literals per point) saves another ~5% in this, the hottest loop of PSI.

/** X25519(key, u) for each 32-byte u of `points`, concatenated in order. */
export function blind(key: PsiKey, points: Buffer): Buffer {
  if (points.length % POINT_BYTES !== 0) {
    throw new AccordError('ACCORD_PSI_POINT_COUNT_MISMATCH', {
      expected: Math.floor(points.length / POINT_BYTES),
      expectedBytes: Math.floor(points.length / POINT_BYTES) * POINT_BYTES,
      actualBytes: points.length,
    });
  }
  const jwk = { kty: 'OKP', crv: 'X25519', x: '' };
  const importOptions = { key: jwk, format: 'jwk' as const };
  const exchange: { privateKey: crypto.KeyObject; publicKey: crypto.KeyObject } = {
    privateKey: key.privateKey,
    publicKey: key.privateKey,
  };
  const out = Buffer.alloc(points.length);
  for (let off = 0, i = 0; off < points.length; off += POINT_BYTES, i++) {
    let shared: Buffer;
    try {
      jwk.x = points.toString('base64url', off, off + POINT_BYTES);
      exchange.publicKey = crypto.createPublicKey(importOptions);
      shared = crypto.diffieHellman(exchange);
    } catch (cause) {
      // OpenSSL refuses an all-zero result (RFC 7748 section 6.1), which only small-order inputs produce.
      throw new AccordError('ACCORD_PSI_POINT_LOW_ORDER', { index: i }, { cause });
    }
    shared.copy(out, off);
  }
  return out;
}

/** validatePoints then blind: the one call for points received from a peer. */
export function validateAndBlind(key: PsiKey, points: Buffer, expectedCount: number): Buffer {
  validatePoints(points, expectedCount);
  return blind(key, points);
}
