/**
 * Hashing identifiers to Curve25519 points for ECDH private set intersection.
 *
 * Protocol (Diffie-Hellman PSI, Meadows 1986 / Huberman-Franklin-Hogg 1999, over X25519 of RFC 7748):
 *  1. Both parties agree on a job domain (a fresh job id) and an identifier kind; each normalises its ids
 *     (`primitives/identity/normalise.ts`) and hashes them to points H(x) with this file.
 *  2. Each party raises its points to its own per-job secret: A sends H(x)^a, B sends H(y)^b.
 *  3. Each validates what it received and raises it to its own secret: H(y)^ba, H(x)^ab.
 *  4. H(x)^ab = H(y)^ba exactly when x = y, so comparing the doubly blinded sets gives the intersection.
 * Each party learns the other's set size and the intersection (as far as the doubly blinded values are revealed to
 * it); it must not learn anything about ids outside the intersection: under the DDH assumption on Curve25519, H(y)^b
 * is indistinguishable from a random point to anyone without b.
 *
 * This is RFC 9380 encode_to_curve (suite curve25519_XMD:SHA-512_ELL2_NU_, section 8.5) without its final
 * clear_cofactor step: X25519 clamps every scalar to a multiple of 8 (RFC 7748 section 5), so the blinding in step 2
 * clears the cofactor anyway, and multiplying by 8 here would only cost time. Only the u-coordinate is produced.
 *
 * The DST binds each point to the kind and the job: the same id hashed for two jobs (or as two kinds) gives unrelated
 * points, so blinded values from different jobs cannot be linked even by a party that reuses nothing else.
 */
import { AccordError } from '../errors/index.js';
import { type IdKind, ID_KINDS, isIdKind } from '../identity/normalise.js';
import { mapToCurveBatch } from './elligator2.js';
import { FieldHasher } from './expand-message.js';

export const PSI_SUITE = 'ACCORD-PSI-V1-CURVE25519_XMD:SHA-512_ELL2_NU_';
export const POINT_BYTES = 32;

// Large enough to amortise the one native inversion, small enough to keep the BigInt arrays in cache.
const BATCH = 2048;
const MAX_DOMAIN_BYTES = 160;
const CONTROL = /\p{Cc}/u;

/** The RFC 9380 domain separation tag of one job and kind: suite | kind | jobDomain. */
export function psiDst(kind: IdKind, jobDomain: string): Buffer {
  if (!isIdKind(kind)) {
    throw new AccordError('ACCORD_ID_KIND_UNKNOWN', {
      kind: String(kind).slice(0, 32),
      known: ID_KINDS.join(', '),
    });
  }
  if (typeof jobDomain !== 'string' || jobDomain.length === 0) {
    throw new AccordError('ACCORD_PSI_DOMAIN_INVALID', { reason: 'empty' });
  }
  if (CONTROL.test(jobDomain))
    throw new AccordError('ACCORD_PSI_DOMAIN_INVALID', { reason: 'control characters' });
  if (Buffer.byteLength(jobDomain, 'utf8') > MAX_DOMAIN_BYTES) {
    throw new AccordError('ACCORD_PSI_DOMAIN_INVALID', { reason: `longer than ${MAX_DOMAIN_BYTES} bytes` });
  }
  return Buffer.from(`${PSI_SUITE}|${kind}|${jobDomain}`, 'utf8');
}

/**
 * encode_to_curve without clear_cofactor, for any DST (exposed so tests can run the RFC 9380 vectors): the
 * concatenated 32-byte little-endian u-coordinates of the messages, in order.
 */
export function encodeToCurveU(messages: readonly (string | Uint8Array)[], dst: Uint8Array): Buffer {
  const hasher = new FieldHasher(dst);
  const out = Buffer.alloc(messages.length * POINT_BYTES);
  const us: bigint[] = [];
  for (let start = 0; start < messages.length; start += BATCH) {
    const end = Math.min(start + BATCH, messages.length);
    us.length = 0;
    for (let i = start; i < end; i++) {
      const m = messages[i]!;
      us.push(typeof m === 'string' ? hasher.hashString(m) : hasher.hashBytes(m));
    }
    mapToCurveBatch(us, out, start * POINT_BYTES);
  }
  return out;
}

/**
 * Hashes normalised identifiers (the output of `normaliseId`; they are not normalised again here) of one kind for
 * one job to Curve25519 points: 32 bytes per id, in input order.
 */
export function hashToCurveBatch(ids: readonly string[], kind: IdKind, jobDomain: string): Buffer {
  return encodeToCurveU(ids, psiDst(kind, jobDomain));
}

/** One id; prefer the batch form, which shares one field inversion across thousands of ids. */
export function hashToCurve(id: string, kind: IdKind, jobDomain: string): Buffer {
  return hashToCurveBatch([id], kind, jobDomain);
}
