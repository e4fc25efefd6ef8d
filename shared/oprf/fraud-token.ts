/**
 * Fraud-signal tokens: a two-key oblivious PRF over ristretto255.
 *
 * Member banks share fraud signals ("how many other banks saw a loan application from this phone number this
 * week?") through the coordinator, which stores and counts signals by token. A token is a deterministic
 * pseudonym of (kind, normalised identifier) that every member computes identically, that the coordinator
 * cannot compute or invert, and that no member can compute without the coordinator's help.
 *
 * Keys. k_m (`MemberKey`) is one secret scalar shared by all member nodes and never by the coordinator.
 * k_c (`CoordinatorKey`) is held by the coordinator only. The construction is RFC 9497's OPRF mode
 * (ristretto255-SHA512 suite) with the client-side input element P replaced by P^k_m, so the PRF key is
 * effectively k_m·k_c and is split between the two sides. The group is ristretto255 (RFC 9496): prime order ℓ,
 * canonical 32-byte encodings, no cofactor.
 *
 * Protocol, one query (batches repeat it element-wise):
 *
 *  1. Node (`blind`). P = HashToGroup(x) = hash_to_ristretto255(x) (RFC 9380 App. B, expand_message_xmd with
 *     SHA-512) under DST "HashToGroup-ACCORD-FraudToken-V1-ristretto255-SHA512-" || kind, so the same string of
 *     different kinds maps to independent elements. Fresh uniform r ∈ [1, ℓ); sends B = P^(k_m·r).
 *     The node keeps (kind, x, r⁻¹) in a `BlindState`, which never leaves the process.
 *     The coordinator learns nothing about x from B: for uniform r, B is a uniform non-identity element
 *     independent of x, so two queries for the same identifier are unlinkable. P itself must never be sent —
 *     anyone can compute HashToGroup of a guessed identifier.
 *  2. Coordinator (`evaluate`). Checks that B is the canonical encoding of a non-identity ristretto255 element
 *     (RFC 9496 §4.3.1 decoding; otherwise ACCORD_OPRF_POINT_INVALID) and returns E = B^k_c.
 *     The coordinator learns only that a member asked for one evaluation; it must not learn x, P, k_m or the
 *     token of this query (it cannot link E to the token the node may submit later except by the connection it
 *     came on). Rejecting non-canonical encodings and the identity is RFC 9497 §2.1 DeserializeElement for
 *     ristretto255 (§4.1); it keeps degenerate elements out of the protocol.
 *  3. Node (`finalize`). Checks E the same way — this matters: a coordinator answering the identity would make
 *     T the identity and the token a keyless, publicly computable hash of x — computes T = E^(1/r) = P^(k_m·k_c),
 *     and
 *       token = SHA-512( I2OSP(len(kind), 2) || kind || I2OSP(len(x), 2) || x || I2OSP(len(T), 2) || T ||
 *                        "Finalize-ACCORD-FraudToken-V1-ristretto255-SHA512" )[0..32].
 *     The node learns the token of x. It could also derive P^k_c (= E^(1/(k_m·r))), one Diffie–Hellman value per
 *     evaluation it asked for; k_c itself stays hidden (one-more-DH assumption, as for any RFC 9497 client), so
 *     it still cannot compute a token without another evaluation.
 *
 * Why the input x is hashed in Finalize (as RFC 9497 §3.3.1 Finalize does, the "2HashDH" construction): the
 * outer hash over (x, T) is what makes the output a PRF in the security proofs of 2HashDH, and it binds the token
 * to the input rather than only to the group element. It costs nothing in privacy here: only the node finalizes,
 * and it knows x. The coordinator never computes tokens (it only compares them), so it need not know x; and even
 * for a guessed x it lacks k_m, so it cannot compute T. The kind is hashed as well (besides being in the DST) so
 * the token's domain separation does not rest on HashToGroup alone. 32 bytes of SHA-512 give 128-bit collision
 * resistance, enough for a key in the coordinator's signal store.
 *
 * What each party cannot do:
 *  - The coordinator cannot compute a token for a guessed identifier (needs k_m) and learns nothing from B.
 *  - A member cannot compute a token offline (needs k_c); each token costs it one coordinator evaluation, which
 *    the coordinator can rate-limit and audit per member. This online rate limit is the ONLY thing that stops a
 *    member from running a dictionary of low-entropy identifiers (phone numbers) through the coordinator and
 *    matching the results against stored tokens — the coordinator must rate-limit `evaluate` per member.
 *  - Tokens of the same identifier are equal across members (they share k_m) — that is the point.
 *  - A member colluding with the coordinator (k_m and k_c together) can compute every token: the design
 *    assumes they do not collude.
 *
 * Not provided (known limitations):
 *  - Verifiability (RFC 9497 VOPRF mode): a node cannot check that the coordinator used k_c. A misbehaving
 *    coordinator can return garbage or use per-query keys, which yields non-matching tokens (it corrupts counts,
 *    and could mark one query's token), not x.
 *  - Key rotation: changing k_m or k_c changes every token; stored signals would need a re-keying plan.
 *
 * All functions are pure (no I/O) apart from reading the CSPRNG for r. Identifiers must already be normalised
 * (`normaliseId(kind, raw)` in shared/identity/normalise.ts); `kind` is the `IdKind` passed to it. No error raised
 * here carries an identifier, an element or a scalar.
 */
import { sha512 } from '@noble/hashes/sha2.js';
import { AccordError } from '../errors/index.js';
import type { CoordinatorKey } from './coordinator-key.js';
import type { MemberKey } from './member-key.js';
import { defaultBackend, isCanonicalNonZeroScalar, type RistrettoBackend } from './ristretto.js';

export const TOKEN_BYTES = 32;
export const CONTEXT_STRING = 'ACCORD-FraudToken-V1-ristretto255-SHA512';
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

/**
 * What the node keeps between `blind` and `finalize`: the kind, the identifier and r⁻¹. Opaque: it holds no
 * enumerable data (JSON and `util.inspect` show nothing), cannot be serialised or rebuilt, and must not leave
 * the process.
 */
class BlindState {
  toJSON(): string {
    return '[BlindState redacted]';
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return '[BlindState redacted]';
  }
}
export type { BlindState };

interface StateData {
  readonly kind: Uint8Array;
  readonly input: Uint8Array;
  readonly rInv: Uint8Array;
}

const stateData = new WeakMap<BlindState, StateData>();

export interface BlindResult {
  /** B = HashToGroup(x)^(k_m·r): send this (and only this) to the coordinator. */
  readonly blinded: Uint8Array;
  /** Keep locally for `finalize`. */
  readonly state: BlindState;
}

export interface BlindBatchResult {
  /** One blinded element per input, in order: send these to the coordinator. */
  readonly blinded: Uint8Array[];
  /** One state per input, in order: keep locally for `finalizeBatch`. */
  readonly states: BlindState[];
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

function stateOf(state: BlindState, index?: number): StateData {
  const data = state instanceof BlindState ? stateData.get(state) : undefined;
  if (!data) {
    throw new AccordError('ACCORD_OPRF_STATE_INVALID', {
      at: index === undefined ? '' : ` at batch index ${index}`,
    });
  }
  return data;
}

// ---------------------------------------------------------------------------------------------------------------
// Hashes

function hashToGroupBytes(kind: KindInfo, input: Uint8Array, backend: RistrettoBackend): Uint8Array {
  return backend.hashToGroup(input, kind.dst);
}

function i2osp2(n: number): Uint8Array {
  return Uint8Array.of((n >>> 8) & 0xff, n & 0xff);
}

function finalizeHash(kind: Uint8Array, input: Uint8Array, unblinded: Uint8Array): Uint8Array {
  const h = sha512.create();
  h.update(i2osp2(kind.length)).update(kind);
  h.update(i2osp2(input.length)).update(input);
  h.update(i2osp2(unblinded.length)).update(unblinded);
  h.update(FINALIZE_DST);
  return h.digest().slice(0, TOKEN_BYTES);
}

// ---------------------------------------------------------------------------------------------------------------
// Step 1: node

function blindWith(
  kind: string,
  normalisedId: string,
  memberKey: MemberKey,
  r: Uint8Array,
  backend: RistrettoBackend,
): BlindResult {
  const info = kindInfo(kind);
  const input = encodeInput(normalisedId);
  const p = hashToGroupBytes(info, input, backend);
  // k_m and r are non-zero modulo the prime ℓ, so s is non-zero; P is the identity with probability ~2^-252,
  // in which case scalarMult throws ACCORD_OPRF_POINT_INVALID (RFC 9497 raises InvalidInputError there).
  const s = backend.scalarMul(memberKey.secretScalar, r);
  const blinded = backend.scalarMult(s, p, 'element');
  const state = new BlindState();
  stateData.set(state, { kind: info.bytes, input, rInv: backend.scalarInvert(r) });
  return { blinded, state };
}

/**
 * Step 1 (node): blinds one normalised identifier of the given kind. Send `blinded` to the coordinator, keep
 * `state` for `finalize`. Throws ACCORD_OPRF_KIND_INVALID or ACCORD_OPRF_INPUT_INVALID.
 */
export function blind(
  kind: string,
  normalisedId: string,
  memberKey: MemberKey,
  backend: RistrettoBackend = defaultBackend,
): BlindResult {
  return blindWith(kind, normalisedId, memberKey, backend.randomScalar(), backend);
}

/** Step 1 for many identifiers (of any kinds); a fresh r for each. */
export function blindBatch(
  inputs: readonly FraudTokenInput[],
  memberKey: MemberKey,
  backend: RistrettoBackend = defaultBackend,
): BlindBatchResult {
  const blinded: Uint8Array[] = [];
  const states: BlindState[] = [];
  for (const { kind, normalisedId } of inputs) {
    const one = blind(kind, normalisedId, memberKey, backend);
    blinded.push(one.blinded);
    states.push(one.state);
  }
  return { blinded, states };
}

// ---------------------------------------------------------------------------------------------------------------
// Step 2: coordinator

/**
 * Step 2 (coordinator): E = B^k_c. Throws ACCORD_OPRF_POINT_INVALID (element `blinded`) unless `blinded` is the
 * 32-byte canonical encoding of a non-identity ristretto255 element.
 */
export function evaluate(
  coordinatorKey: CoordinatorKey,
  blinded: Uint8Array,
  backend: RistrettoBackend = defaultBackend,
): Uint8Array {
  return backend.scalarMult(coordinatorKey.secretScalar, blinded, 'blinded');
}

/**
 * Step 2 for a batch, all or nothing: the first invalid element throws ACCORD_OPRF_POINT_INVALID with its
 * `index`.
 */
export function evaluateBatch(
  coordinatorKey: CoordinatorKey,
  blinded: readonly Uint8Array[],
  backend: RistrettoBackend = defaultBackend,
): Uint8Array[] {
  const k = coordinatorKey.secretScalar;
  const out: Uint8Array[] = new Array(blinded.length);
  for (let i = 0; i < blinded.length; i++) out[i] = backend.scalarMult(k, blinded[i]!, 'blinded', i);
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Step 3: node

function finalizeOne(data: StateData, evaluated: Uint8Array, backend: RistrettoBackend, index?: number) {
  const unblinded = backend.scalarMult(data.rInv, evaluated, 'evaluated', index);
  return finalizeHash(data.kind, data.input, unblinded);
}

/**
 * Step 3 (node): the 32-byte fraud token from the coordinator's answer. Throws ACCORD_OPRF_POINT_INVALID
 * (element `evaluated`) for an invalid answer and ACCORD_OPRF_STATE_INVALID for a state not made by `blind`.
 */
export function finalize(
  state: BlindState,
  evaluated: Uint8Array,
  backend: RistrettoBackend = defaultBackend,
): Uint8Array {
  return finalizeOne(stateOf(state), evaluated, backend);
}

/** Step 3 for a batch, in order; throws ACCORD_OPRF_BATCH_MISMATCH if the sizes differ. */
export function finalizeBatch(
  states: readonly BlindState[],
  evaluated: readonly Uint8Array[],
  backend: RistrettoBackend = defaultBackend,
): Uint8Array[] {
  if (states.length !== evaluated.length) {
    throw new AccordError('ACCORD_OPRF_BATCH_MISMATCH', {
      expected: states.length,
      actual: evaluated.length,
    });
  }
  const out: Uint8Array[] = new Array(states.length);
  for (let i = 0; i < states.length; i++) {
    out[i] = finalizeOne(stateOf(states[i]!, i), evaluated[i]!, backend, i);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Test helpers

/**
 * FOR TESTS ONLY: the token computed directly from both keys, T = HashToGroup(x)^(k_m·k_c). No real party holds
 * both keys; production code must never call this.
 */
export function computeTokenForTesting(
  kind: string,
  normalisedId: string,
  memberKey: MemberKey,
  coordinatorKey: CoordinatorKey,
  backend: RistrettoBackend = defaultBackend,
): Uint8Array {
  const info = kindInfo(kind);
  const input = encodeInput(normalisedId);
  const p = hashToGroupBytes(info, input, backend);
  const k = backend.scalarMul(memberKey.secretScalar, coordinatorKey.secretScalar);
  return finalizeHash(info.bytes, input, backend.scalarMult(k, p, 'element'));
}

/**
 * FOR TESTS AND KNOWN-ANSWER VECTORS ONLY: `blind` with a caller-chosen r. A reused or predictable r lets the
 * coordinator unblind B (and link queries); production code must call `blind`.
 */
export function blindWithScalarForTesting(
  kind: string,
  normalisedId: string,
  memberKey: MemberKey,
  r: Uint8Array,
  backend: RistrettoBackend = defaultBackend,
): BlindResult {
  if (!isCanonicalNonZeroScalar(r)) throw new RangeError('r must be a canonical non-zero scalar');
  return blindWith(kind, normalisedId, memberKey, Uint8Array.from(r), backend);
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
