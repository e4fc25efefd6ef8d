/**
 * Thin ristretto255 backend for the fraud-token OPRF (see `fraud-token.ts` for the protocol).
 *
 * Everything here works on bytes: elements are 32-byte canonical ristretto255 encodings (RFC 9496 §4.3.1–4.3.2),
 * scalars are 32-byte little-endian integers in [0, ℓ) with ℓ = 2^252 + 27742317777372353535851937790883648493.
 *
 * Two implementations with identical results (checked by test/unit/oprf and the RFC 9496 vectors):
 * - `noble`: `@noble/curves` (pure TypeScript, audited). The reference; always available.
 * - `libsodium`: `libsodium-wrappers-sumo` (libsodium compiled to WebAssembly). About 8× faster per scalar
 *   multiplication, which the fraud-signal query budget needs.
 * The default is chosen once, at module load: libsodium if it loads, else noble.
 *
 * Hash-to-group is `hash_to_ristretto255` of RFC 9380 Appendix B (suite ristretto255_XMD:SHA-512_R255MAP_RO_):
 * expand_message_xmd(SHA-512, msg, DST, 64) followed by the RFC 9496 §4.3.4 element derivation; this is also
 * RFC 9497's HashToGroup for the ristretto255-SHA512 suite.
 *
 * Pure and I/O-free apart from reading the operating system's CSPRNG in `randomScalar`.
 */
import { expand_message_xmd } from '@noble/curves/abstract/hash-to-curve.js';
import { ristretto255, ristretto255_hasher } from '@noble/curves/ed25519.js';
import { bytesToNumberLE, numberToBytesLE } from '@noble/curves/utils.js';
import { sha512 } from '@noble/hashes/sha2.js';
import { randomBytes } from '@noble/hashes/utils.js';
import { AccordError } from '../errors/index.js';

export const ELEMENT_BYTES = 32;
export const SCALAR_BYTES = 32;

/** The prime order ℓ of ristretto255. */
export const GROUP_ORDER = 2n ** 252n + 27742317777372353535851937790883648493n;

export type BackendName = 'noble' | 'libsodium';

/** Which element of the protocol failed validation (used in error params; never the element itself). */
export type ElementRole = 'blinded' | 'evaluated' | 'element';

/** Why an element failed validation. */
export type ElementProblem = 'not 32 bytes' | 'non-canonical or not on the group' | 'identity';

export interface RistrettoBackend {
  readonly name: BackendName;
  /** hash_to_ristretto255(msg) with the given DST (RFC 9380 App. B); returns the element encoding. */
  hashToGroup(msg: Uint8Array, dst: Uint8Array): Uint8Array;
  /**
   * scalar · element. `scalar` must be a canonical non-zero scalar (the callers guarantee it). Throws
   * ACCORD_OPRF_POINT_INVALID if `element` is not a canonical encoding of a non-identity element.
   */
  scalarMult(scalar: Uint8Array, element: Uint8Array, role: ElementRole, index?: number): Uint8Array;
  /** scalar · generator; `scalar` must be canonical and non-zero. */
  scalarMultBase(scalar: Uint8Array): Uint8Array;
  /** true iff `bytes` is the canonical encoding of an element other than the identity. */
  isValidElement(bytes: Uint8Array): boolean;
  /** a · b mod ℓ. */
  scalarMul(a: Uint8Array, b: Uint8Array): Uint8Array;
  /** a⁻¹ mod ℓ; `a` must be non-zero. */
  scalarInvert(a: Uint8Array): Uint8Array;
  /** A uniformly random scalar in [1, ℓ), from the OS CSPRNG. */
  randomScalar(): Uint8Array;
}

// ---------------------------------------------------------------------------------------------------------------
// Backend-independent helpers

/** true iff `bytes` is 32 bytes encoding an integer in [1, ℓ) (little-endian). */
export function isCanonicalNonZeroScalar(bytes: Uint8Array): boolean {
  if (!(bytes instanceof Uint8Array) || bytes.length !== SCALAR_BYTES) return false;
  const n = bytesToNumberLE(bytes);
  return n > 0n && n < GROUP_ORDER;
}

/** The canonical encoding of the identity element (RFC 9496: the all-zero string). */
function isAllZero(bytes: Uint8Array): boolean {
  let acc = 0;
  for (let i = 0; i < bytes.length; i++) acc |= bytes[i]!;
  return acc === 0;
}

/** Builds the ACCORD_OPRF_POINT_INVALID error. `index` is the position in a batch, if any. */
export function pointInvalid(role: ElementRole, reason: ElementProblem, index?: number): AccordError {
  return new AccordError('ACCORD_OPRF_POINT_INVALID', {
    element: role,
    reason,
    at: index === undefined ? '' : ` at batch index ${index}`,
    ...(index === undefined ? {} : { index }),
  });
}

/** Classifies an element that failed to decode or multiply. */
function problemOf(element: Uint8Array, backend: RistrettoBackend): ElementProblem {
  if (!(element instanceof Uint8Array) || element.length !== ELEMENT_BYTES) return 'not 32 bytes';
  if (isAllZero(element)) return 'identity';
  if (!backend.isValidElement(element)) return 'non-canonical or not on the group';
  // Not reachable for a prime-order group and a non-zero scalar; keep a definite answer anyway.
  return 'identity';
}

/**
 * Throws ACCORD_OPRF_POINT_INVALID unless `element` is 32 bytes, a canonical ristretto255 encoding, and not the
 * identity.
 */
export function assertValidElement(
  element: Uint8Array,
  role: ElementRole,
  index?: number,
  backend: RistrettoBackend = defaultBackend,
): void {
  if (!(element instanceof Uint8Array) || element.length !== ELEMENT_BYTES) {
    throw pointInvalid(role, 'not 32 bytes', index);
  }
  if (isAllZero(element)) throw pointInvalid(role, 'identity', index);
  if (!backend.isValidElement(element)) throw pointInvalid(role, 'non-canonical or not on the group', index);
}

// ---------------------------------------------------------------------------------------------------------------
// noble (reference)

const NoblePoint = ristretto255.Point;

function nobleScalar(bytes: Uint8Array): bigint {
  return bytesToNumberLE(bytes);
}

function nobleScalarBytes(n: bigint): Uint8Array {
  return numberToBytesLE(n, SCALAR_BYTES);
}

function mod(n: bigint): bigint {
  const r = n % GROUP_ORDER;
  return r < 0n ? r + GROUP_ORDER : r;
}

export const nobleBackend: RistrettoBackend = {
  name: 'noble',
  hashToGroup(msg, dst) {
    return ristretto255_hasher.hashToCurve(msg, { DST: dst }).toBytes();
  },
  scalarMult(scalar, element, role, index) {
    if (!(element instanceof Uint8Array) || element.length !== ELEMENT_BYTES) {
      throw pointInvalid(role, 'not 32 bytes', index);
    }
    let point: InstanceType<typeof NoblePoint>;
    try {
      point = NoblePoint.fromBytes(element);
    } catch {
      throw pointInvalid(role, 'non-canonical or not on the group', index);
    }
    if (point.is0()) throw pointInvalid(role, 'identity', index);
    return point.multiply(nobleScalar(scalar)).toBytes();
  },
  scalarMultBase(scalar) {
    return NoblePoint.BASE.multiply(nobleScalar(scalar)).toBytes();
  },
  isValidElement(bytes) {
    if (!(bytes instanceof Uint8Array) || bytes.length !== ELEMENT_BYTES) return false;
    try {
      return !NoblePoint.fromBytes(bytes).is0();
    } catch {
      return false;
    }
  },
  scalarMul(a, b) {
    return nobleScalarBytes(mod(nobleScalar(a) * nobleScalar(b)));
  },
  scalarInvert(a) {
    return nobleScalarBytes(NoblePoint.Fn.inv(mod(nobleScalar(a))));
  },
  randomScalar() {
    // 64 uniform bytes reduced mod ℓ: bias < 2^-250 (as RFC 9380 hash_to_field / RFC 9496 §4.4 do).
    for (;;) {
      const n = mod(bytesToNumberLE(randomBytes(64)));
      if (n !== 0n) return nobleScalarBytes(n);
    }
  },
};

// ---------------------------------------------------------------------------------------------------------------
// libsodium (fast path)

type Sodium = typeof import('libsodium-wrappers-sumo').default;

function makeLibsodiumBackend(sodium: Sodium): RistrettoBackend {
  const backend: RistrettoBackend = {
    name: 'libsodium',
    hashToGroup(msg, dst) {
      // RFC 9380 App. B: the 64 uniform bytes go through the RFC 9496 one-way map, which is exactly
      // crypto_core_ristretto255_from_hash.
      return sodium.crypto_core_ristretto255_from_hash(expand_message_xmd(msg, dst, 64, sha512));
    },
    scalarMult(scalar, element, role, index) {
      if (!(element instanceof Uint8Array) || element.length !== ELEMENT_BYTES) {
        throw pointInvalid(role, 'not 32 bytes', index);
      }
      try {
        // Decodes (rejecting non-canonical encodings) and fails if the result is the identity, which for a
        // non-zero scalar happens exactly when the input is the identity.
        return sodium.crypto_scalarmult_ristretto255(scalar, element);
      } catch {
        throw pointInvalid(role, problemOf(element, backend), index);
      }
    },
    scalarMultBase(scalar) {
      return sodium.crypto_scalarmult_ristretto255_base(scalar);
    },
    isValidElement(bytes) {
      if (!(bytes instanceof Uint8Array) || bytes.length !== ELEMENT_BYTES) return false;
      return !isAllZero(bytes) && sodium.crypto_core_ristretto255_is_valid_point(bytes);
    },
    scalarMul(a, b) {
      return sodium.crypto_core_ristretto255_scalar_mul(a, b);
    },
    scalarInvert(a) {
      return sodium.crypto_core_ristretto255_scalar_invert(a);
    },
    randomScalar() {
      // 64 uniform bytes from the OS CSPRNG reduced mod ℓ (bias < 2^-250). Not crypto_core_ristretto255_scalar_random:
      // through the JS wrapper its randombytes path costs ~350 µs a call, more than the rest of `blind`.
      for (;;) {
        const r = sodium.crypto_core_ristretto255_scalar_reduce(randomBytes(64));
        if (!isAllZero(r)) return r;
      }
    },
  };
  return backend;
}

async function loadLibsodium(): Promise<RistrettoBackend | null> {
  try {
    const mod = await import('libsodium-wrappers-sumo');
    const sodium = mod.default;
    await sodium.ready;
    const backend = makeLibsodiumBackend(sodium);
    // Load-time sanity check: 1·B must be the RFC 9496 generator encoding.
    const one = new Uint8Array(SCALAR_BYTES);
    one[0] = 1;
    const base = backend.scalarMultBase(one);
    const expected = NoblePoint.BASE.toBytes();
    if (base.length !== ELEMENT_BYTES || base.some((b, i) => b !== expected[i])) return null;
    return backend;
  } catch {
    return null;
  }
}

/** The libsodium backend, or null if the package is not installed or failed to initialise. */
export const libsodiumBackend: RistrettoBackend | null = await loadLibsodium();

/** The backend used when none is passed: libsodium if available, else noble. */
export const defaultBackend: RistrettoBackend = libsodiumBackend ?? nobleBackend;

/** All backends that loaded, reference first. */
export function availableBackends(): RistrettoBackend[] {
  return libsodiumBackend ? [nobleBackend, libsodiumBackend] : [nobleBackend];
}

/** A backend by name; throws ACCORD_OPRF_BACKEND_UNAVAILABLE if it did not load. */
export function getBackend(name: BackendName): RistrettoBackend {
  if (name === 'noble') return nobleBackend;
  if (libsodiumBackend) return libsodiumBackend;
  throw new AccordError('ACCORD_OPRF_BACKEND_UNAVAILABLE', { backend: name });
}
