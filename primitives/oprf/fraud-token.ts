/**
 * Fraud-signal tokens: a two-key PRF over ristretto255, evaluated in one round trip.
 *
 * Member banks share fraud signals ("how many other banks saw a loan application from this phone number this
 * week?") through the coordinator, which stores and counts signals by token. A token is a deterministic
 * pseudonym of (kind, normalised identifier) that every member derives identically, that the coordinator cannot
 * compute for a guessed identifier, and that no member can compute without the coordinator.
 *
 * Keys. k_m (`MemberKey`) is one secret scalar shared by all member nodes and never by the coordinator.
 * k_c (`CoordinatorKey`) is held by the coordinator only. The PRF key is effectively k_m·k_c, split between the
 * two sides (the 2HashDH construction behind RFC 9497's OPRF, ristretto255-SHA512 suite, RFC 9496 group: prime
 * order ℓ, canonical 32-byte encodings, no cofactor).
 *
 * Protocol, one identifier (batches repeat it element-wise):
 *
 *  1. Node (`memberElement`). P = HashToGroup(x) = hash_to_ristretto255(x) (RFC 9380 App. B, expand_message_xmd
 *     with SHA-512) under DST "HashToGroup-ACCORD-FraudToken-V2-ristretto255-SHA512-" || kind, so the same string
 *     of different kinds maps to independent elements. Sends M = P^k_m (in Publish, Query or QueryBatch).
 *     P itself must never be sent: anyone can compute HashToGroup of a guessed identifier.
 *  2. Coordinator (`tokenOf`). Checks that M is the canonical encoding of a non-identity element (RFC 9496 §4.3.1;
 *     otherwise ACCORD_OPRF_POINT_INVALID), computes T = M^k_c = P^(k_m·k_c) and
 *       token = SHA-512( I2OSP(len(T), 2) || T || "Finalize-ACCORD-FraudToken-V2-ristretto255-SHA512" )[0..32],
 *     then stores or looks up signals by token. Rate-limited and audited per member.
 *
 * Why there is no blinding scalar r (RFC 9497's client blinds P^r and unblinds the answer): r hides the input from
 * a server that never sees the output. Here the coordinator stores and compares tokens, so it sees the output of
 * every evaluation anyway; what r would hide (that two requests concern the same identifier) the token reveals.
 * Without r the coordinator can derive the token itself, which saves a round trip (one RPC per query instead of an
 * Evaluate then a Query) and a scalar multiplication. What stays protected is what the key split protects:
 *  - The coordinator cannot compute a token, or even M, for a guessed identifier (needs k_m); M is a pseudorandom
 *    function of x under k_m, so it learns nothing about x from M beyond equality with other M's.
 *  - A member cannot compute a token offline (needs k_c): each one costs a coordinator evaluation, which the
 *    coordinator audits and counts per member. That online cost is the ONLY thing that stops a member from running a
 *    dictionary of low-entropy identifiers (phone numbers) through the coordinator, so the coordinator bounds what a
 *    dictionary needs and a bank's work does not: NEW identifiers per member per day, repeats free, persisted
 *    (coordinator/signals/quota.ts; 10^8 numbers take 2 000 days at the default), and alerts on a day of many new
 *    identifiers with almost no hits.
 *  - Tokens of the same identifier are equal across members (they share k_m): that is the point.
 *  - A member colluding with the coordinator (k_m and k_c together) can compute every token; the design assumes
 *    they do not collude.
 * The input x is not hashed into the token (2HashDH's outer hash binds (x, T)); the coordinator, which derives
 * the token, does not know x. T already determines x's element under a key nobody holds alone, and the outer hash
 * over T with a domain tag keeps tokens of this version apart from any other use of the keys.
 *
 * Not provided (known limitations):
 *  - Verifiability (RFC 9497 VOPRF mode): nobody checks that the coordinator used k_c. A misbehaving coordinator
 *    can corrupt counts, not learn x.
 *  - Key rotation: changing k_m or k_c changes every token; stored signals would need a re-keying plan.
 *
 * All functions are pure (no I/O). Identifiers must already be normalised (`normaliseId(kind, raw)` in
 * primitives/identity/normalise.ts); `kind` is the `IdKind` passed to it. No error raised here carries an identifier,
 * an element or a scalar.
 */
import { sha512 } from '@noble/hashes/sha2.js';
import { AccordError } from '../errors/index.js';
import type { CoordinatorKey } from './coordinator-key.js';
import type { MemberKey } from './member-key.js';
import { defaultBackend, type RistrettoBackend } from './ristretto.js';

export const TOKEN_BYTES = 32;
export const CONTEXT_STRING = 'ACCORD-FraudToken-V2-ristretto255-SHA512';
/** Longest normalised identifier accepted, in UTF-8 bytes. */
export const MAX_INPUT_BYTES = 1024;
/** Identifier kinds: lower-case ASCII, e.g. `phone`, `email`, `iban`, `device_id`. */
export const KIND_PATTERN = /^[a-z][a-z0-9_.-]{0,31}$/;

const encoder = new TextEncoder();
const HASH_TO_GROUP_PREFIX = `HashToGroup-${CONTEXT_STRING}-`;
const FINALIZE_DST = encoder.encode(`Finalize-${CONTEXT_STRING}`);
const LONE_SURROGATE = /\p{Cs}/u;

/** One identifier to tokenise. */
export interface FraudTokenInput {
  /** The identifier kind (`IdKind`), e.g. `phone`. */
  readonly kind: string;
  /** The identifier as returned by `normaliseId(kind, raw)`. */
  readonly normalisedId: string;
}

// ---------------------------------------------------------------------------------------------------------------
// Input checks

interface KindInfo {
  readonly bytes: Uint8Array;
  readonly dst: Uint8Array;
}

const kindCache = new Map<string, KindInfo>();

function kindInfo(kind: string): KindInfo {
  const cached = kindCache.get(kind);
  if (cached) return cached;
  if (typeof kind !== 'string' || !KIND_PATTERN.test(kind)) {
    // The kind is deliberately not echoed: a swapped (normalisedId, kind) call would log the identifier.
    throw new AccordError('ACCORD_OPRF_KIND_INVALID', {
      reason: 'must be 1–32 characters of a-z, 0-9, "_", ".", "-", starting with a letter',
    });
  }
  const info = { bytes: encoder.encode(kind), dst: encoder.encode(HASH_TO_GROUP_PREFIX + kind) };
  if (kindCache.size < 256) kindCache.set(kind, info);
  return info;
}

function encodeInput(normalisedId: string): Uint8Array {
  const problem = (reason: string) =>
    new AccordError('ACCORD_OPRF_INPUT_INVALID', { reason, maxBytes: MAX_INPUT_BYTES });
  if (typeof normalisedId !== 'string') throw problem('not a string');
  if (normalisedId.length === 0) throw problem('empty');
  if (LONE_SURROGATE.test(normalisedId)) throw problem('not well-formed Unicode');
  const bytes = encoder.encode(normalisedId);
  if (bytes.length > MAX_INPUT_BYTES) throw problem('too long');
  return bytes;
}

// ---------------------------------------------------------------------------------------------------------------
// Hashes

function hashToGroupBytes(kind: KindInfo, input: Uint8Array, backend: RistrettoBackend): Uint8Array {
  return backend.hashToGroup(input, kind.dst);
}

function i2osp2(n: number): Uint8Array {
  return Uint8Array.of((n >>> 8) & 0xff, n & 0xff);
}

function finalizeHash(element: Uint8Array): Uint8Array {
  const h = sha512.create();
  h.update(i2osp2(element.length)).update(element);
  h.update(FINALIZE_DST);
  return h.digest().slice(0, TOKEN_BYTES);
}

// ---------------------------------------------------------------------------------------------------------------
// Step 1: node

/**
 * Step 1 (node): M = HashToGroup(x)^k_m for one normalised identifier of the given kind; send M, nothing else.
 * Throws ACCORD_OPRF_KIND_INVALID or ACCORD_OPRF_INPUT_INVALID.
 */
export function memberElement(
  kind: string,
  normalisedId: string,
  memberKey: MemberKey,
  backend: RistrettoBackend = defaultBackend,
): Uint8Array {
  const p = hashToGroupBytes(kindInfo(kind), encodeInput(normalisedId), backend);
  // P is the identity with probability ~2^-252; scalarMult then throws ACCORD_OPRF_POINT_INVALID.
  return backend.scalarMult(memberKey.secretScalar, p, 'element');
}

/** Step 1 for many identifiers (of any kinds), in order. */
export function memberElementBatch(
  inputs: readonly FraudTokenInput[],
  memberKey: MemberKey,
  backend: RistrettoBackend = defaultBackend,
): Uint8Array[] {
  return inputs.map(({ kind, normalisedId }) => memberElement(kind, normalisedId, memberKey, backend));
}

// ---------------------------------------------------------------------------------------------------------------
// Step 2: coordinator

/**
 * Step 2 (coordinator): the 32-byte token of a member element. Throws ACCORD_OPRF_POINT_INVALID (element
 * `blinded`) unless `element` is the canonical encoding of a non-identity ristretto255 element.
 */
export function tokenOf(
  coordinatorKey: CoordinatorKey,
  element: Uint8Array,
  backend: RistrettoBackend = defaultBackend,
  index?: number,
): Uint8Array {
  return finalizeHash(backend.scalarMult(coordinatorKey.secretScalar, element, 'blinded', index));
}

/** Step 2 for a batch, all or nothing: the first invalid element throws with its `index`. */
export function tokenBatch(
  coordinatorKey: CoordinatorKey,
  elements: readonly Uint8Array[],
  backend: RistrettoBackend = defaultBackend,
): Uint8Array[] {
  return elements.map((element, i) => tokenOf(coordinatorKey, element, backend, i));
}

// ---------------------------------------------------------------------------------------------------------------
// Test helpers

/**
 * FOR TESTS ONLY: the token computed directly from both keys, HashToGroup(x)^(k_m·k_c) then the final hash. No
 * real party holds both keys; production code must never call this.
 */
export function computeTokenForTesting(
  kind: string,
  normalisedId: string,
  memberKey: MemberKey,
  coordinatorKey: CoordinatorKey,
  backend: RistrettoBackend = defaultBackend,
): Uint8Array {
  const p = hashToGroupBytes(kindInfo(kind), encodeInput(normalisedId), backend);
  const k = backend.scalarMul(memberKey.secretScalar, coordinatorKey.secretScalar);
  return finalizeHash(backend.scalarMult(k, p, 'element'));
}

/**
 * FOR TESTS ONLY: P = HashToGroup(x) for the kind. Needs no key, so anyone can compute it for a guessed
 * identifier: it must never be sent or stored.
 */
export function hashToGroupForTesting(
  kind: string,
  normalisedId: string,
  backend: RistrettoBackend = defaultBackend,
): Uint8Array {
  return hashToGroupBytes(kindInfo(kind), encodeInput(normalisedId), backend);
}
