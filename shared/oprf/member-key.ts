/**
 * The member key k_m of the fraud-token OPRF (see `fraud-token.ts`): one secret ristretto255 scalar shared by
 * every member node of the consortium and by nobody else — never by the coordinator, which holds k_c. Anyone
 * holding both k_m and k_c can compute the token of any guessed identifier, so k_m must never be sent to the
 * coordinator, logged, or written anywhere but the member nodes' config.
 */
import { defaultBackend, type RistrettoBackend } from './ristretto.js';
import { checkedScalar, inspectSymbol, scalarFromBase64, scalarToBase64 } from './secret-scalar.js';

export class MemberKey {
  readonly role = 'member' as const;
  readonly #scalar: Uint8Array;

  private constructor(scalar: Uint8Array) {
    this.#scalar = scalar;
  }

  /** A fresh uniformly random key (run once per consortium, then distributed to the member nodes only). */
  static generate(backend: RistrettoBackend = defaultBackend): MemberKey {
    return new MemberKey(checkedScalar('member', backend.randomScalar()));
  }

  /**
   * Reads the key from a member node's config (standard base64 of the 32-byte little-endian scalar).
   * Throws ACCORD_OPRF_KEY_INVALID; the error never contains the text.
   */
  static fromBase64(text: string): MemberKey {
    return new MemberKey(scalarFromBase64('member', text));
  }

  /**
   * WARNING: for tests and known-answer vectors only. Production keys come from `generate()` and `fromBase64()`;
   * a key built from fixed bytes is public and makes every token computable by anyone.
   */
  static fromBytesForTesting(bytes: Uint8Array): MemberKey {
    return new MemberKey(checkedScalar('member', bytes));
  }

  /** Rebuilds the node's key inside one of its own crypto worker threads, from `secretScalar` handed over in memory. */
  static fromWorkerBytes(bytes: Uint8Array): MemberKey {
    return new MemberKey(checkedScalar('member', bytes));
  }

  /** The base64 form for the member nodes' config file. It is the secret itself: write it only there. */
  toBase64(): string {
    return scalarToBase64(this.#scalar);
  }

  /**
   * The secret scalar (a copy; 32 bytes, little-endian). It must NEVER be sent to the coordinator or any other
   * party, logged, or put in an error — only the member nodes may hold it.
   */
  get secretScalar(): Uint8Array {
    return Uint8Array.from(this.#scalar);
  }

  /** Same key? (Not constant-time; for tests and config checks, not for secrets from the network.) */
  equals(other: MemberKey): boolean {
    return other instanceof MemberKey && this.toBase64() === other.toBase64();
  }

  toJSON(): string {
    return '[MemberKey redacted]';
  }

  toString(): string {
    return '[MemberKey redacted]';
  }

  [inspectSymbol](): string {
    return '[MemberKey redacted]';
  }
}
