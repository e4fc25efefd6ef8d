/**
 * The interface every homomorphic cipher suite implements, and the plaintext helpers around it: uniform masks, slot
 * sums and centre lifting modulo the plain modulus t.
 *
 * A suite works on vectors of integers modulo t packed `slots` to a ciphertext (slot i of the ciphertext holds value
 * i of the chunk). Values go in signed, |v| < t/2, and come out of `decrypt` as residues in [0, t); `centreLift` turns
 * a residue back into a signed value. Ciphertexts and public keys are opaque bytes (`wire.ts`) that name their suite
 * and parameter set, so a ciphertext of another suite or parameter set is refused with a coded error.
 *
 * Two suites: `bfv` (`bfv.ts`, the real one) and `plain` (`plain.ts`, the same protocol with encryption switched
 * off, for benchmarks only). Only the outputs of `maskedInnerProducts` and `maskedVector` may be given to the key
 * holder: they are masked uniformly modulo t, re-randomised and noise-flooded. Everything else a bank holds is a
 * ciphertext the key holder could read.
 */
import { randomFillSync } from 'node:crypto';

export type CipherKind = 'bfv' | 'plain';

/** A loaded public key (banks). Holds WebAssembly memory for `bfv`: call `delete()` when done with it. */
export interface PublicKeyHandle {
  readonly role: 'public';
  readonly kind: CipherKind;
  readonly parameterId: string;
  /** Frees the key (WebAssembly memory for `bfv`); using the handle afterwards throws ACCORD_HE_KEY_INVALID. */
  delete(): void;
}

/** The secret key (coordinator). Holds WebAssembly memory for `bfv`: call `delete()` when done with it. */
export interface SecretKeyHandle {
  readonly role: 'secret';
  readonly kind: CipherKind;
  readonly parameterId: string;
  /** Frees the key (WebAssembly memory for `bfv`); using the handle afterwards throws ACCORD_HE_KEY_INVALID. */
  delete(): void;
}

export interface CipherSuite {
  readonly kind: CipherKind;
  /** Values per ciphertext (8192). */
  readonly slots: number;
  /** The plain modulus t: slot values are integers modulo t. */
  readonly plainModulus: bigint;
  /** Hex SHA-256 of a canonical description of the parameter set: peers must agree on it. */
  readonly parameterId: string;

  /** Public side (banks): one ciphertext per `slots` values, the last chunk zero padded. Values |v| < t/2. */
  encrypt(publicKey: PublicKeyHandle, values: BigInt64Array): Uint8Array[];
  /** Chunk-wise ciphertext + plaintext; `values` must fill exactly `cts.length` chunks (the last one partly). */
  addPlain(cts: readonly Uint8Array[], values: BigInt64Array): Uint8Array[];
  /** Chunk-wise ciphertext + ciphertext (same chunk counts). */
  add(a: readonly Uint8Array[], b: readonly Uint8Array[]): Uint8Array[];
  /**
   * For each column j: Σ_k cts[k] ⊙ columns[j][chunk k] + Enc(masks[j]), re-randomised and noise-flooded: one
   * ciphertext per column, safe to give the key holder. Each column fills exactly `cts.length` chunks; each mask has
   * `slots` entries in [0, t). Each input ciphertext is parsed once.
   */
  maskedInnerProducts(
    publicKey: PublicKeyHandle,
    cts: readonly Uint8Array[],
    columns: readonly BigInt64Array[],
    masks: readonly BigUint64Array[],
  ): Uint8Array[];
  /** For evaluation: chunk k -> cts[k] + Enc(masks[k]), re-randomised and noise-flooded (masks[k] has `slots` entries). */
  maskedVector(
    publicKey: PublicKeyHandle,
    cts: readonly Uint8Array[],
    masks: readonly BigUint64Array[],
  ): Uint8Array[];

  /** Key holder (coordinator): a fresh key pair; `publicKey` is the bytes to send the banks. */
  generateKeys(): { publicKey: Uint8Array; secretKey: SecretKeyHandle };
  /** Throws ACCORD_HE_KEY_INVALID when the bytes do not load or are for other parameters. */
  loadPublicKey(bytes: Uint8Array): PublicKeyHandle;
  /**
   * Slot values modulo t. Throws ACCORD_HE_CIPHERTEXT_INVALID (param `from` is 'a peer': relabel it with
   * `err.withParams({ from })`) when the ciphertext does not load or belongs to another suite or parameter set.
   */
  decrypt(secretKey: SecretKeyHandle, ct: Uint8Array): BigUint64Array;
}

/** What `from` says in an ACCORD_HE_CIPHERTEXT_INVALID raised here; callers that know the sender relabel it. */
export const UNKNOWN_SENDER = 'a peer';

/** Largest t accepted by the helpers: residues must fit a BigUint64Array. */
const MAX_MODULUS = 1n << 64n;

function checkModulus(t: bigint): void {
  if (typeof t !== 'bigint' || t < 2n || t >= MAX_MODULUS) throw new RangeError('t must be in [2, 2^64)');
}

/** Bits needed to write n >= 0 in binary. */
export function bitLength(n: bigint): number {
  return n === 0n ? 0 : n.toString(2).length;
}

/** Where the high and the low 32-bit word of element i of a 64-bit typed array are in a 32-bit view of it. */
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
export const HIGH_WORD = LITTLE_ENDIAN ? 1 : 0;
export const LOW_WORD = 1 - HIGH_WORD;

/**
 * `slots` values uniform in [0, t), from the OS CSPRNG. Rejection sampling on the smallest power of two above t
 * keeps every residue exactly equally likely (a draw is kept with probability t / 2^bits > 1/2). A draw is two
 * random 32-bit words, compared with t and stored word by word (no BigInt per value).
 */
export function uniformMask(t: bigint, slots: number): BigUint64Array {
  checkModulus(t);
  if (!Number.isSafeInteger(slots) || slots < 0) throw new RangeError('slots must be a non-negative integer');
  const bits = bitLength(t - 1n);
  const highKeep = bits > 32 ? 2 ** (bits - 32) - 1 : 0;
  const lowKeep = bits >= 32 ? 0xffff_ffff : 2 ** bits - 1;
  const tHigh = Number(t >> 32n);
  const tLow = Number(t & 0xffff_ffffn);
  const out = new BigUint64Array(slots);
  const words = new Uint32Array(out.buffer);
  let pool = new Uint32Array(0);
  let at = 0;
  for (let i = 0; i < slots; ) {
    if (at >= pool.length) {
      pool = randomFillSync(new Uint32Array(2 * Math.max(64, slots - i + 16)));
      at = 0;
    }
    const high = (pool[at]! & highKeep) >>> 0;
    const low = (pool[at + 1]! & lowKeep) >>> 0;
    at += 2;
    if (high < tHigh || (high === tHigh && low < tLow)) {
      words[2 * i + HIGH_WORD] = high;
      words[2 * i + LOW_WORD] = low;
      i++;
    }
  }
  return out;
}

/** Σ values modulo t. */
export function slotSum(values: BigUint64Array, t: bigint): bigint {
  checkModulus(t);
  let sum = 0n;
  for (let i = 0; i < values.length; i++) sum += values[i]!;
  return sum % t;
}

/** The representative of v modulo t in (-t/2, t/2]. */
export function centreLift(v: bigint, t: bigint): bigint {
  if (typeof t !== 'bigint' || t < 2n) throw new RangeError('t must be at least 2');
  const r = ((v % t) + t) % t;
  return 2n * r > t ? r - t : r;
}
