/**
 * The member key k_m of the fraud-token PRF (see `fraud-token.ts`): one secret ristretto255 scalar shared by
 * every member node of the consortium and by nobody else — never by the coordinator, which holds k_c. Anyone
 * holding both k_m and k_c can compute the token of any guessed identifier, so k_m must never be sent to the
 * coordinator, logged, or written anywhere but the member nodes' key file.
 */
import { defaultBackend, type RistrettoBackend } from './ristretto.js';
import { checkedScalar, SecretScalarKey, scalarFromBase64 } from './secret-scalar.js';

export class MemberKey extends SecretScalarKey {
  readonly role = 'member' as const;

  private constructor(scalar: Uint8Array) {
    super(scalar);
  }

  /** A fresh uniformly random key (run once per consortium, then distributed to the member nodes only). */
  static generate(backend: RistrettoBackend = defaultBackend): MemberKey {
    return new MemberKey(checkedScalar('member', backend.randomScalar()));
  }

  /**
   * Reads the key from a member node's key file (standard base64 of the 32-byte little-endian scalar).
   * Throws ACCORD_OPRF_KEY_INVALID; the error never contains the text.
   */
  static fromBase64(text: string): MemberKey {
    return new MemberKey(scalarFromBase64('member', text));
  }

  /** Rebuilds the node's key inside one of its own crypto worker threads, from `secretScalar` handed over in memory. */
  static fromWorkerBytes(bytes: Uint8Array): MemberKey {
    return new MemberKey(checkedScalar('member', bytes));
  }

  /**
   * WARNING: for tests and known-answer vectors only. Production keys come from `generate()` and `fromBase64()`;
   * a key built from fixed bytes is public and makes every token computable by anyone.
   */
  static fromBytesForTesting(bytes: Uint8Array): MemberKey {
    return new MemberKey(checkedScalar('member', bytes));
  }
}
