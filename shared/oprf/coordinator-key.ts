/**
 * The coordinator key k_c of the fraud-token OPRF (see `fraud-token.ts`): one secret ristretto255 scalar held by
 * the coordinator only — never by a member node, which holds k_m. Anyone holding both k_m and k_c can compute
 * the token of any guessed identifier, so k_c must never be sent to a member, logged, or written anywhere but
 * the coordinator's config.
 */
import { defaultBackend, type RistrettoBackend } from './ristretto.js';
import { checkedScalar, inspectSymbol, scalarFromBase64, scalarToBase64 } from './secret-scalar.js';

export class CoordinatorKey {
  readonly role = 'coordinator' as const;
  readonly #scalar: Uint8Array;

  private constructor(scalar: Uint8Array) {
    this.#scalar = scalar;
  }

  /** A fresh uniformly random key (run once, on the coordinator). */
  static generate(backend: RistrettoBackend = defaultBackend): CoordinatorKey {
    return new CoordinatorKey(checkedScalar('coordinator', backend.randomScalar()));
  }

  /**
   * Reads the key from the coordinator's config (standard base64 of the 32-byte little-endian scalar).
   * Throws ACCORD_OPRF_KEY_INVALID; the error never contains the text.
   */
  static fromBase64(text: string): CoordinatorKey {
    return new CoordinatorKey(scalarFromBase64('coordinator', text));
  }

  /** Rebuilds the coordinator's key inside its own crypto worker threads, from `secretScalar` handed over in memory. */
  static fromWorkerBytes(bytes: Uint8Array): CoordinatorKey {
    return new CoordinatorKey(checkedScalar('coordinator', bytes));
  }

  /**
   * WARNING: for tests and known-answer vectors only. Production keys come from `generate()` and `fromBase64()`;
   * a key built from fixed bytes is public and lets any member compute tokens offline.
   */
  static fromBytesForTesting(bytes: Uint8Array): CoordinatorKey {
    return new CoordinatorKey(checkedScalar('coordinator', bytes));
  }

  /** The base64 form for the coordinator's config file. It is the secret itself: write it only there. */
  toBase64(): string {
    return scalarToBase64(this.#scalar);
  }

  /**
   * The secret scalar (a copy; 32 bytes, little-endian). It must NEVER be sent to a member node or any other
   * party, logged, or put in an error — only the coordinator may hold it.
   */
  get secretScalar(): Uint8Array {
    return Uint8Array.from(this.#scalar);
  }

  /** Same key? (Not constant-time; for tests and config checks, not for secrets from the network.) */
  equals(other: CoordinatorKey): boolean {
    return other instanceof CoordinatorKey && this.toBase64() === other.toBase64();
  }

  toJSON(): string {
    return '[CoordinatorKey redacted]';
  }

  toString(): string {
    return '[CoordinatorKey redacted]';
  }

  [inspectSymbol](): string {
    return '[CoordinatorKey redacted]';
  }
}
